import type { CallSite } from './callSites';
import type { EvalExample } from './evalSet';
import type { FileFinding, Range, RelatedLocation } from './finding';
import { LineIndex } from './lineIndex';
import { MAX_VERSION } from './promptLayout';
import type { PromptVersion } from './promptLayout';
import type { ParsedTemplate, TemplateField } from './template/template';

/** A call site and the repo-relative POSIX path of the source file it is in. */
export interface LocatedCallSite extends CallSite {
  file: string;
}

/** What the cross-check knows of one prompt version: its parsed template and its eval examples. */
export interface VersionContract {
  version: PromptVersion;
  /** Repo-relative path of user.template.md. */
  templatePath: string;
  templateText: string;
  template: ParsedTemplate;
  /** Repo-relative path of eval.jsonl, when the version has one. */
  evalPath?: string;
  examples: EvalExample[];
}

const MAX_LISTED = 5;

/**
 * Cross-checks one prompt's templates against the call sites that render it and the eval examples
 * that exercise it (DESIGN.md section 3). Findings sit on both ends where both exist: the call site
 * (or eval line) and the template field. `versions` are the prompt's versions (empty when the
 * prompt does not exist), `callSites` the sites naming `promptName`.
 */
export function crossCheckPrompt(
  promptName: string,
  versions: readonly VersionContract[],
  callSites: readonly LocatedCallSite[],
): FileFinding[] {
  const findings: FileFinding[] = [];
  const templateLines = new Map(versions.map((v) => [v.templatePath, new LineIndex(v.templateText)]));
  const fieldRange = (v: VersionContract, field: TemplateField): Range =>
    templateLines.get(v.templatePath)!.rangeOf(field.start, field.end);
  const firstField = (v: VersionContract, variable: string): TemplateField | undefined =>
    v.template.fields.find((f) => f.variable === variable);
  const siteLabel = (s: LocatedCallSite): string => `${s.file}:${s.range.start.line + 1} (${s.callee})`;

  // Which variables of each version someone supplies (a call site or an eval example). Only
  // whether anyone does is reported, so this is a set, not a list of who: a large eval set must not
  // cost an object per line and variable.
  const supplied = new Map<VersionContract, Set<string>>();
  const supply = (v: VersionContract, variable: string): void => {
    const variables = supplied.get(v) ?? new Set<string>();
    supplied.set(v, variables);
    variables.add(variable);
  };
  // Template end of missing-variable findings: variable → who leaves it out.
  const missingAt = new Map<VersionContract, Map<string, RelatedLocation[]>>();
  const leaveOut = (v: VersionContract, variable: string, where: RelatedLocation): void => {
    const byVariable = missingAt.get(v) ?? new Map<string, RelatedLocation[]>();
    missingAt.set(v, byVariable);
    const list = byVariable.get(variable);
    if (list) list.push(where);
    else byVariable.set(variable, [where]);
  };

  for (const site of callSites) {
    if (versions.length === 0) {
      findings.push({
        file: site.file,
        code: 'callsite/unknown-prompt',
        severity: 'error',
        range: site.promptNameRange,
        message: `there is no prompt "${promptName}" (no prompts/${promptName}/v<N>/ directory)`,
      });
      continue;
    }
    if (site.versionTooLarge) {
      findings.push({
        file: site.file,
        code: 'callsite/unknown-version',
        severity: 'error',
        range: site.versionTooLarge.range,
        message: `"${site.versionTooLarge.text}" is beyond the largest version number, ${MAX_VERSION}: prompt "${promptName}" has ${versions.map((v) => `v${v.version.version}`).join(', ')}`,
      });
      continue;
    }
    let targets = versions.filter((v) => v.template.errors.length === 0);
    if (site.version !== undefined) {
      const target = versions.find((v) => v.version.version === site.version);
      if (!target) {
        findings.push({
          file: site.file,
          code: 'callsite/unknown-version',
          severity: 'error',
          range: site.versionRange ?? site.promptNameRange,
          message: `prompt "${promptName}" has no version ${site.version}; it has ${versions.map((v) => `v${v.version.version}`).join(', ')}`,
        });
        continue;
      }
      targets = target.template.errors.length === 0 ? [target] : [];
    }
    if (site.dynamic) {
      findings.push({
        file: site.file,
        code: 'callsite/dynamic',
        severity: 'information',
        range: site.dynamic.range,
        message: `${site.callee}("${promptName}"): ${site.dynamic.reason}; this call site is not cross-checked`,
      });
      continue;
    }
    if (!site.passesVariables) continue;

    const passed = new Set(site.variables.map((v) => v.name));
    const at = (v: VersionContract, variable: string): RelatedLocation => {
      const field = firstField(v, variable);
      return {
        file: v.templatePath,
        range: field ? fieldRange(v, field) : { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } },
        message: `{${variable}} in ${v.templatePath}`,
      };
    };
    const siteLocation: RelatedLocation = { file: site.file, range: site.calleeRange, message: siteLabel(site) };
    for (const v of targets) {
      for (const variable of site.variables) {
        if (v.template.variables.includes(variable.name)) {
          supply(v, variable.name);
        }
      }
      for (const variable of v.template.variables) {
        if (passed.has(variable)) continue;
        findings.push({
          file: site.file,
          code: 'callsite/missing-variable',
          severity: 'error',
          range: site.calleeRange,
          message: `${site.callee}("${promptName}") does not pass "${variable}", which ${v.templatePath} uses`,
          related: [at(v, variable)],
        });
        leaveOut(v, variable, siteLocation);
      }
    }
    for (const variable of site.variables) {
      if (targets.length === 0 || targets.some((v) => v.template.variables.includes(variable.name))) continue;
      findings.push({
        file: site.file,
        code: 'callsite/unused-variable',
        severity: 'warning',
        range: variable.range,
        message: `"${variable.name}" is passed but ${targets.map((v) => v.templatePath).join(' and ')} ${targets.length === 1 ? 'does' : 'do'} not use it`,
      });
    }
  }

  for (const v of versions) {
    if (v.template.errors.length > 0) continue;
    for (const example of v.examples) {
      for (const variable of v.template.variables) {
        if (Object.prototype.hasOwnProperty.call(example.inputs, variable)) {
          supply(v, variable);
          continue;
        }
        const field = firstField(v, variable)!;
        findings.push({
          file: v.evalPath!,
          code: 'eval/missing-variable',
          severity: 'error',
          range: exampleRange(example),
          message: `example "${example.id}" has no input "${variable}", which ${v.templatePath} uses`,
          related: [{ file: v.templatePath, range: fieldRange(v, field), message: `{${variable}} in ${v.templatePath}` }],
        });
        leaveOut(v, variable, { file: v.evalPath!, range: exampleRange(example), message: `eval example "${example.id}"` });
      }
    }

    const reportedField = new Set<string>();
    const required = new Set(v.template.variables);
    for (const field of v.template.fields) {
      // A mustache name used only inside a section is looked up in the section's item first: it is
      // not required of callers, so nobody supplying it at the top level is no finding.
      if (!required.has(field.variable) || reportedField.has(field.variable)) continue;
      reportedField.add(field.variable);
      const range = fieldRange(v, field);
      const missing = missingAt.get(v)?.get(field.variable) ?? [];
      if (missing.length > 0) {
        findings.push({
          file: v.templatePath,
          code: 'template/variable-not-supplied',
          severity: 'error',
          range,
          message: `"${field.variable}" is not supplied by ${listed(missing.map((m) => m.message))}`,
          related: missing,
        });
      }
      if (!supplied.get(v)?.has(field.variable) && missing.length === 0) {
        findings.push({
          file: v.templatePath,
          code: 'template/unsupplied-variable',
          severity: 'warning',
          range,
          message: `no call site and no eval example supplies "${field.variable}"`,
        });
      }
    }
  }
  return findings;
}

/** The range of an eval example's line (its first character to its last). */
function exampleRange(example: EvalExample): Range {
  return { start: { line: example.line, character: 0 }, end: { line: example.line, character: example.length } };
}

function listed(items: string[]): string {
  const unique = [...new Set(items)];
  if (unique.length <= MAX_LISTED) return unique.join(', ');
  return `${unique.slice(0, MAX_LISTED).join(', ')} and ${unique.length - MAX_LISTED} more`;
}
