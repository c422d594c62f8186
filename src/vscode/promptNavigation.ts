import * as vscode from 'vscode';
import type { VersionContract } from '../core/crossCheck';
import {
  callSiteAtPromptName,
  callSiteVariableAt,
  definitionTargets,
  fieldAt,
  inputKeyOffsets,
  supplyOf,
  versionsRenderedBy,
} from '../core/editorHelp';
import { parseEvalJsonl } from '../core/evalSet';
import { LineIndex } from '../core/lineIndex';
import type { PromptRepo } from './promptDiagnostics';
import type { PromptLookup } from './promptLookup';
import { SOURCE_SELECTOR, TEMPLATE_SELECTOR, corePosition } from './promptLookup';
import { toRange } from './toDiagnostic';

/**
 * Go to definition from a call site's prompt name to the template it renders, and find references
 * from a template field (or a variable passed at a call site) to every call site passing that
 * variable and every eval example supplying it.
 */
export function registerPromptNavigation(lookup: PromptLookup): vscode.Disposable {
  return vscode.Disposable.from(
    vscode.languages.registerDefinitionProvider(SOURCE_SELECTOR, {
      provideDefinition: (document, position) => templateDefinition(lookup, document, position),
    }),
    vscode.languages.registerReferenceProvider([TEMPLATE_SELECTOR, ...(SOURCE_SELECTOR as vscode.DocumentFilter[])], {
      provideReferences: (document, position, context) => variableReferences(lookup, document, position, context),
    }),
  );
}

/**
 * The template of the version the call names; for a call that names none, every version's
 * template, highest first (the cross-check holds such a call against each of them).
 */
async function templateDefinition(lookup: PromptLookup, document: vscode.TextDocument, position: vscode.Position): Promise<vscode.LocationLink[] | undefined> {
  const source = await lookup.sourceDocument(document);
  const site = source && callSiteAtPromptName(source.sites, corePosition(position));
  if (!source || !site) return undefined;
  return definitionTargets(site, lookup.contractsOf(source.repo, site.promptName)).map((contract) => {
    const lines = new LineIndex(contract.templateText);
    const whole = toRange(lines.rangeOf(0, contract.templateText.length));
    return {
      originSelectionRange: toRange(site.promptNameRange),
      targetUri: lookup.uriOf(source.repo, contract.templatePath),
      targetRange: whole,
      targetSelectionRange: new vscode.Range(0, 0, 0, 0),
    };
  });
}

async function variableReferences(
  lookup: PromptLookup,
  document: vscode.TextDocument,
  position: vscode.Position,
  context: vscode.ReferenceContext,
): Promise<vscode.Location[] | undefined> {
  const template = lookup.templateDocument(document);
  if (template) {
    const field = fieldAt(template.parsed.fields, document.offsetAt(position));
    if (!field) return undefined;
    return referencesTo(lookup, template.repo, [template.contract], field.variable, context.includeDeclaration);
  }
  const source = await lookup.sourceDocument(document);
  const at = source && callSiteVariableAt(source.sites, corePosition(position));
  if (!source || !at) return undefined;
  const contracts = versionsRenderedBy(at.site, lookup.contractsOf(source.repo, at.site.promptName));
  return referencesTo(lookup, source.repo, contracts, at.variable.name, context.includeDeclaration);
}

/**
 * Where `variable` of `contracts` is supplied: the key at each call site passing it and in each eval
 * example's `inputs`; with `includeDeclaration`, its fields in the templates too.
 */
async function referencesTo(
  lookup: PromptLookup,
  repo: PromptRepo,
  contracts: readonly VersionContract[],
  variable: string,
  includeDeclaration: boolean,
): Promise<vscode.Location[]> {
  const locations: vscode.Location[] = [];
  const seen = new Set<string>();
  const add = (uri: vscode.Uri, range: vscode.Range): void => {
    const key = `${uri.toString()}#${range.start.line}:${range.start.character}`;
    if (seen.has(key)) return;
    seen.add(key);
    locations.push(new vscode.Location(uri, range));
  };
  for (const contract of contracts) {
    if (!contract.template.variables.includes(variable)) continue;
    if (includeDeclaration) {
      const uri = lookup.uriOf(repo, contract.templatePath);
      const open = vscode.workspace.textDocuments.find((d) => d.uri.toString() === uri.toString());
      const current = open && lookup.templateDocument(open);
      const fields = current ? current.parsed.fields : contract.template.fields;
      const lines = new LineIndex(current ? open.getText() : contract.templateText);
      for (const field of fields) if (field.variable === variable) add(uri, toRange(lines.rangeOf(field.nameStart, field.nameStart + variable.length)));
    }
    const sites = await lookup.callSitesOf(repo, contract.version.name);
    for (const passing of supplyOf(contract, variable, sites).passing) add(lookup.uriOf(repo, passing.site.file), toRange(passing.range));
    if (contract.evalPath) {
      const evalDocument = await lookup.textOf(repo, contract.evalPath);
      if (!evalDocument) continue;
      for (const example of parseEvalJsonl(evalDocument.getText()).examples) {
        const key = inputKeyOffsets(evalDocument.lineAt(example.line).text, variable);
        if (key) add(evalDocument.uri, new vscode.Range(example.line, key.start, example.line, key.end));
      }
    }
  }
  return locations;
}
