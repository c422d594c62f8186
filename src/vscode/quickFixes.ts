import * as vscode from 'vscode';
import type { LocatedCallSite } from '../core/crossCheck';
import {
  addEvalInputInsertion,
  addEvalInputsInsertion,
  addVariablesInsertion,
  fieldAt,
  missingInputs,
  missingVariables,
  supplyOf,
} from '../core/editorHelp';
import { parseEvalJsonl } from '../core/evalSet';
import type { EvalExample } from '../core/evalSet';
import type { PromptLookup } from './promptLookup';
import { EVAL_SELECTOR, SOURCE_SELECTOR, TEMPLATE_SELECTOR, isSiteOfDiagnostic } from './promptLookup';
import type { PromptRepo } from './promptDiagnostics';
import { DIAGNOSTIC_SOURCE } from './toDiagnostic';

/** At most this many single-place fixes are listed for a template field; "everywhere" covers the rest. */
const MAX_PLACES_LISTED = 10;

/**
 * Quick fixes of missing template variables, from either end of the finding: at a call site, add
 * the key to the call's keyword arguments or dict/object literal; on an eval line, add the input
 * to its `inputs`; on the template field, do either at every place that leaves the variable out.
 * A call site gets the variable's own name as the value (`ticket=ticket`, `{ ticket }`), an eval
 * input an empty string: see `placeholderValue` for why.
 */
export function registerQuickFixes(lookup: PromptLookup): vscode.Disposable {
  return vscode.languages.registerCodeActionsProvider(
    [...(SOURCE_SELECTOR as vscode.DocumentFilter[]), EVAL_SELECTOR, TEMPLATE_SELECTOR],
    { provideCodeActions: (document, _range, context) => quickFixes(lookup, document, context) },
    { providedCodeActionKinds: [vscode.CodeActionKind.QuickFix] },
  );
}

async function quickFixes(lookup: PromptLookup, document: vscode.TextDocument, context: vscode.CodeActionContext): Promise<vscode.CodeAction[]> {
  if (context.only && !context.only.contains(vscode.CodeActionKind.QuickFix)) return [];
  const ours = (code: string) => context.diagnostics.filter((d) => d.source === DIAGNOSTIC_SOURCE && d.code === code);
  const actions: vscode.CodeAction[] = [];
  const atCallSites = ours('callsite/missing-variable');
  if (atCallSites.length > 0) actions.push(...(await callSiteFixes(lookup, document, atCallSites)));
  const atEval = ours('eval/missing-variable');
  if (atEval.length > 0) actions.push(...evalFixes(lookup, document, atEval));
  const atTemplate = ours('template/variable-not-supplied');
  if (atTemplate.length > 0) actions.push(...(await templateFixes(lookup, document, atTemplate)));
  return actions;
}

function quickFix(title: string, edit: vscode.WorkspaceEdit, diagnostics: vscode.Diagnostic[], preferred = false): vscode.CodeAction {
  const action = new vscode.CodeAction(title, vscode.CodeActionKind.QuickFix);
  action.edit = edit;
  action.diagnostics = diagnostics;
  action.isPreferred = preferred;
  return action;
}

/** The diagnostics among `diagnostics` about `variable` (its name is quoted in the message), else all of them. */
function about(diagnostics: vscode.Diagnostic[], variable: string): vscode.Diagnostic[] {
  const matching = diagnostics.filter((d) => d.message.includes(`"${variable}"`));
  return matching.length > 0 ? matching : diagnostics;
}

async function callSiteFixes(lookup: PromptLookup, document: vscode.TextDocument, diagnostics: vscode.Diagnostic[]): Promise<vscode.CodeAction[]> {
  const source = await lookup.sourceDocument(document);
  if (!source) return [];
  const actions: vscode.CodeAction[] = [];
  for (const site of source.sites) {
    const onSite = diagnostics.filter((d) => isSiteOfDiagnostic(site, d));
    if (onSite.length === 0) continue;
    const missing = missingVariables(site, lookup.contractsOf(source.repo, site.promptName));
    const call = `${site.callee}("${site.promptName}")`;
    const fixable: string[] = [];
    for (const name of missing) {
      const insertion = addVariablesInsertion(site, [name]);
      if (!insertion) continue;
      fixable.push(name);
      const edit = new vscode.WorkspaceEdit();
      edit.insert(document.uri, document.positionAt(insertion.offset), insertion.text);
      actions.push(quickFix(`Pass "${name}" to ${call}`, edit, about(onSite, name), missing.length === 1));
    }
    const all = fixable.length > 1 ? addVariablesInsertion(site, fixable) : undefined;
    if (all) {
      const edit = new vscode.WorkspaceEdit();
      edit.insert(document.uri, document.positionAt(all.offset), all.text);
      actions.push(quickFix(`Pass all missing variables to ${call}: ${fixable.join(', ')}`, edit, onSite, true));
    }
  }
  return actions;
}

function evalFixes(lookup: PromptLookup, document: vscode.TextDocument, diagnostics: vscode.Diagnostic[]): vscode.CodeAction[] {
  const evalSet = lookup.evalDocument(document);
  if (!evalSet) return [];
  const variables = evalSet.contract.template.variables;
  const actions: vscode.CodeAction[] = [];
  for (const line of new Set(diagnostics.map((d) => d.range.start.line))) {
    const example = evalSet.examples.find((e) => e.line === line);
    if (!example) continue;
    const onLine = diagnostics.filter((d) => d.range.start.line === line);
    const lineText = document.lineAt(line).text;
    const missing = missingInputs(example, variables);
    const fixable: string[] = [];
    for (const name of missing) {
      const insertion = addEvalInputInsertion(lineText, name);
      if (!insertion) continue;
      fixable.push(name);
      const edit = new vscode.WorkspaceEdit();
      edit.insert(document.uri, new vscode.Position(line, insertion.offset), insertion.text);
      actions.push(quickFix(`Add input "${name}" to example "${example.id}"`, edit, about(onLine, name), missing.length === 1));
    }
    const all = fixable.length > 1 ? addEvalInputsInsertion(lineText, fixable) : undefined;
    if (all) {
      const edit = new vscode.WorkspaceEdit();
      edit.insert(document.uri, new vscode.Position(line, all.offset), all.text);
      actions.push(quickFix(`Add all missing inputs to example "${example.id}": ${fixable.join(', ')}`, edit, onLine, true));
    }
  }
  return actions;
}

/** One place that leaves a variable out, and the insertion that supplies it there. */
interface Place {
  title: string;
  uri: vscode.Uri;
  position: vscode.Position;
  text: string;
}

async function templateFixes(lookup: PromptLookup, document: vscode.TextDocument, diagnostics: vscode.Diagnostic[]): Promise<vscode.CodeAction[]> {
  const template = lookup.templateDocument(document);
  if (!template) return [];
  const { repo, contract } = template;
  const sites = await lookup.callSitesOf(repo, contract.version.name);
  const actions: vscode.CodeAction[] = [];
  for (const diagnostic of diagnostics) {
    const field = fieldAt(template.parsed.fields, document.offsetAt(diagnostic.range.start));
    if (!field) continue;
    const variable = field.variable;
    const supply = supplyOf(contract, variable, sites);
    const places = [
      ...supply.missing.flatMap((site) => callSitePlace(lookup, repo, site, variable)),
      ...(await evalPlaces(lookup, repo, contract.evalPath, variable)),
    ];
    for (const place of places.slice(0, MAX_PLACES_LISTED)) {
      const edit = new vscode.WorkspaceEdit();
      edit.insert(place.uri, place.position, place.text);
      actions.push(quickFix(place.title, edit, [diagnostic], places.length === 1));
    }
    if (places.length > 1) {
      const edit = new vscode.WorkspaceEdit();
      for (const place of places) edit.insert(place.uri, place.position, place.text);
      actions.push(quickFix(`Supply "${variable}" everywhere it is missing (${places.length} places)`, edit, [diagnostic], true));
    }
  }
  return actions;
}

function callSitePlace(lookup: PromptLookup, repo: PromptRepo, site: LocatedCallSite, variable: string): Place[] {
  const insertion = addVariablesInsertion(site, [variable]);
  if (!insertion || !site.insertion) return [];
  const { line, character } = site.insertion.position;
  return [
    {
      title: `Pass "${variable}" at ${site.file}:${site.range.start.line + 1}`,
      uri: lookup.uriOf(repo, site.file),
      position: new vscode.Position(line, character),
      text: insertion.text,
    },
  ];
}

async function evalPlaces(lookup: PromptLookup, repo: PromptRepo, evalPath: string | undefined, variable: string): Promise<Place[]> {
  if (!evalPath) return [];
  // The eval file as it is now (an open editor's unsaved text included), not as last indexed.
  const evalDocument = await lookup.textOf(repo, evalPath);
  if (!evalDocument) return [];
  const places: Place[] = [];
  const lacking = (e: EvalExample): boolean => missingInputs(e, [variable]).length > 0;
  for (const example of parseEvalJsonl(evalDocument.getText()).examples.filter(lacking)) {
    const insertion = addEvalInputInsertion(evalDocument.lineAt(example.line).text, variable);
    if (!insertion) continue;
    places.push({
      title: `Add input "${variable}" to eval example "${example.id}"`,
      uri: evalDocument.uri,
      position: new vscode.Position(example.line, insertion.offset),
      text: insertion.text,
    });
  }
  return places;
}
