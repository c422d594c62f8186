import type { CallSite } from './callSites';
import type { EvalExample } from './evalSet';
import type { FileFinding, Range, RelatedLocation } from './finding';
import { LineIndex } from './lineIndex';
import { closestName, didYouMean, misspeltAs } from './closestName';
import { MAX_VERSION, byVersionNumber, versionList } from './promptLayout';
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
 * (or eval line) and the template field. `unsortedVersions` are the prompt's versions (empty when
 * the prompt does not exist), `callSites` the sites naming `promptName`, `otherPrompts` the names
 * of the repository's prompts (for "did you mean" on an unknown one).
 *
 * A call that names no version is held against every version, but what it leaves out is one
 * finding per call site naming the versions (not one per version), with "did you mean" where a
 * passed name is a misspelling of a missing one; the template end of it sits on the newest of
 * those versions' templates only.
 */
export function crossCheckPrompt(
  promptName: string,
  unsortedVersions: readonly VersionContract[],
  callSites: readonly LocatedCallSite[],
  otherPrompts: readonly string[] = [],
): FileFinding[] {
  const versions = [...unsortedVersions].sort((a, b) => byVersionNumber(a.version.version, b.version.version));
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

  // Variables of a version whose only leaving-out was reported on a newer version's template.
  const groupedAway = new Map<VersionContract, Set<string>>();
  const leftOutElsewhere = (v: VersionContract, variable: string): void => {
    const variables = groupedAway.get(v) ?? new Set<string>();
    groupedAway.set(v, variables);
    variables.add(variable);
  };

  const declared = versions.map((v) => v.version.version);
  for (const site of callSites) {
    if (versions.length === 0) {
      const near = closestName(promptName, otherPrompts);
      findings.push({
        file: site.file,
        code: 'callsite/unknown-prompt',
        severity: 'error',
        // The name alone, without a "/vN" in the same literal: what a "did you mean" fix replaces.
        range: nameOnly(site),
        message: `there is no prompt "${promptName}" (no prompts/${promptName}/v<N>/ directory)${near ? `; ${didYouMean(near)}` : ''}`,
      });
      continue;
    }
    if (site.versionTooLarge) {
      findings.push({
        file: site.file,
        code: 'callsite/unknown-version',
        severity: 'error',
        range: site.versionTooLarge.range,
        message: `"${site.versionTooLarge.text}" is beyond the largest version number, ${MAX_VERSION}: prompt "${promptName}" has ${declared.map((v) => `v${v}`).join(', ')}`,
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
          message: `prompt "${promptName}" has no version ${site.version}; it has ${declared.map((v) => `v${v}`).join(', ')}`,
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
    // What this call leaves out, grouped over the versions it renders: variable → the versions using it.
    const missingHere = new Map<string, VersionContract[]>();
    for (const v of targets) {
      for (const variable of site.variables) {
        if (v.template.variables.includes(variable.name)) supply(v, variable.name);
      }
      for (const variable of v.template.variables) {
        if (passed.has(variable)) continue;
        const using = missingHere.get(variable);
        if (using) using.push(v);
        else missingHere.set(variable, [v]);
      }
    }
    const unused = [...passed].filter((name) => targets.length > 0 && !targets.some((v) => v.template.variables.includes(name)));
    const misspelt = new Map<string, string>();
    for (const variable of missingHere.keys()) {
      const from = misspeltAs(variable, unused.filter((u) => ![...misspelt.values()].includes(u)));
      if (from) misspelt.set(variable, from);
    }
    if (missingHere.size > 0) {
      findings.push({
        file: site.file,
        code: 'callsite/missing-variable',
        severity: 'error',
        range: site.calleeRange,
        message: missingMessage(`${site.callee}("${promptName}")`, missingHere, misspelt),
        related: [...missingHere].flatMap(([variable, using]) => using.map((v) => at(v, variable))),
      });
      for (const [variable, using] of missingHere) {
        // The template end goes on one template, the newest this call renders with the variable:
        // one typo in an unpinned call is one finding there, not one per version.
        const [newest, ...others] = [...using].sort((a, b) => byVersionNumber(b.version.version, a.version.version));
        const label = others.length === 0 ? siteLabel(site) : `${site.file}:${site.range.start.line + 1} (${site.callee}, for ${versionList(using.map((v) => v.version.version))})`;
        leaveOut(newest, variable, { file: site.file, range: site.calleeRange, message: label });
        for (const v of others) leftOutElsewhere(v, variable);
      }
    }
    const reportedUnused = new Set(misspelt.values());
    for (const variable of site.variables) {
      if (!unused.includes(variable.name) || reportedUnused.has(variable.name)) continue;
      findings.push({
        file: site.file,
        code: 'callsite/unused-variable',
        severity: 'warning',
        range: variable.range,
        message: `"${variable.name}" is passed but ${targets.length === 1 ? `${targets[0].templatePath} does` : `${versionList(targets.map((v) => v.version.version))} do`} not use it`,
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
        const from = misspeltAs(variable, Object.keys(example.inputs).filter((k) => !v.template.variables.includes(k)));
        findings.push({
          file: v.evalPath!,
          code: 'eval/missing-variable',
          severity: 'error',
          range: exampleRange(example),
          message: `example "${example.id}" has no input "${variable}", which ${v.templatePath} uses${from ? `; it has "${from}": ${didYouMean(variable)}` : ''}`,
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
      // Left out by a call whose finding sits on a newer version's template: neither a second
      // "not supplied" here nor a "nobody supplies".
      if (!supplied.get(v)?.has(field.variable) && missing.length === 0 && !groupedAway.get(v)?.has(field.variable)) {
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

/** The prompt-name part of a site's name literal (`support_replly` of `"support_replly/v2"`). */
function nameOnly(site: LocatedCallSite): Range {
  const { start, end } = site.promptNameRange;
  if (start.line !== end.line || end.character - start.character < site.promptName.length) return site.promptNameRange;
  return { start, end: { line: start.line, character: start.character + site.promptName.length } };
}

/**
 * `render("x") does not pass "a" or "b", which prompts/x/v1/user.template.md uses`; with several
 * versions, `…, which v1 and v2 use`, or per variable when they differ (`"a" (v1 and v2) or "b"
 * (v2)`); then the misspellings: `; it passes "customer_nmae": did you mean "customer_name"?`.
 */
function missingMessage(call: string, missing: ReadonlyMap<string, readonly VersionContract[]>, misspelt: ReadonlyMap<string, string>): string {
  const entries = [...missing];
  const versionsOf = (using: readonly VersionContract[]) => using.map((v) => v.version.version).join(',');
  const sameVersions = entries.every(([, using]) => versionsOf(using) === versionsOf(entries[0][1]));
  const or = (items: string[]): string => (items.length <= 1 ? items.join('') : `${items.slice(0, -1).join(', ')} or ${items[items.length - 1]}`);
  let text: string;
  if (sameVersions) {
    const using = entries[0][1];
    const where = using.length === 1 ? `${using[0].templatePath} uses` : `${versionList(using.map((v) => v.version.version))} use`;
    text = `${call} does not pass ${or(entries.map(([name]) => `"${name}"`))}, which ${where}`;
  } else {
    text = `${call} does not pass ${or(entries.map(([name, using]) => `"${name}" (${versionList(using.map((v) => v.version.version))})`))}`;
  }
  for (const [variable, from] of misspelt) text += `; it passes "${from}": ${didYouMean(variable)}`;
  return text;
}
