import * as vscode from 'vscode';
import type { LocatedCallSite } from '../core/crossCheck';
import {
  addEvalInputInsertion,
  addEvalInputsInsertion,
  addVariablesInsertion,
  fieldAt,
  missingInputs,
  missingVariables,
  renameEvalInputReplacement,
  renameVariableReplacement,
  supplyOf,
  unusedVariables,
} from '../core/editorHelp';
import { closestName, misspeltAs, suggestionIn } from '../core/closestName';
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
 * Every inserted value is a snippet tab stop the author types (a name that may not be in scope,
 * or an empty string, would turn the finding green and break the code); where a passed key is a
 * misspelling of the missing one, "Rename … to …" comes first. A misspelt prompt name gets
 * "Change to …" (the finding's "did you mean").
 */
export function registerQuickFixes(lookup: PromptLookup): vscode.Disposable {
  return vscode.Disposable.from(registerInsertSnippet(), registerCodeActions(lookup));
}

function registerCodeActions(lookup: PromptLookup): vscode.Disposable {
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
  for (const diagnostic of ours('callsite/unknown-prompt')) {
    const fix = suggestionFix(document, diagnostic);
    if (fix) actions.push(fix);
  }
  return actions;
}

/**
 * The fix of a finding that says `did you mean "x"?` about the text it sits on (an unknown
 * prompt name, metadata key or model id): replace that text with the suggestion. None when the
 * text has changed since (it is no longer a near miss of the suggestion).
 */
export function suggestionFix(document: vscode.TextDocument, diagnostic: vscode.Diagnostic): vscode.CodeAction | undefined {
  const suggested = suggestionIn(diagnostic.message);
  if (!suggested) return undefined;
  const current = document.getText(diagnostic.range);
  if (closestName(current, [suggested], Math.max(current.length, suggested.length)) !== suggested) return undefined;
  const edit = new vscode.WorkspaceEdit();
  edit.replace(document.uri, diagnostic.range, suggested);
  return quickFix(`Change to "${suggested}"`, edit, [diagnostic], true);
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

/** Marks a value in an insertion's text that the user types: it becomes a snippet placeholder. */
const HOLE = /\u0001([^\u0002]*)\u0002/g;
const hole = (defaultText: string): string => `\u0001${defaultText}\u0002`;

/** Insertion text with holes as a snippet: the text as written, each hole a tab stop with its default selected. */
export function snippetOf(text: string): vscode.SnippetString {
  const snippet = new vscode.SnippetString();
  let at = 0;
  let stop = 1;
  for (const match of text.matchAll(HOLE)) {
    snippet.appendText(text.slice(at, match.index));
    snippet.appendPlaceholder(match[1], stop++);
    at = (match.index ?? 0) + match[0].length;
  }
  snippet.appendText(text.slice(at));
  return snippet;
}

/** An eval insertion with the empty string values (`"name": ""`) as tab stops inside the quotes. */
function evalSnippetText(text: string): string {
  return text.replace(/(":\s?)""/g, `$1"${hole('')}"`);
}

/**
 * A fix that inserts `text` as a snippet (its holes as tab stops) through the editor, not as a
 * workspace edit: only the editor's insertion keeps the text's own indentation, which already
 * matches the line it goes on.
 */
function snippetFix(title: string, uri: vscode.Uri, position: vscode.Position, text: string, diagnostics: vscode.Diagnostic[], preferred: boolean): vscode.CodeAction {
  const action = new vscode.CodeAction(title, vscode.CodeActionKind.QuickFix);
  action.command = { title, command: INSERT_SNIPPET_COMMAND, arguments: [uri, position, text] };
  action.diagnostics = diagnostics;
  action.isPreferred = preferred;
  return action;
}

async function callSiteFixes(lookup: PromptLookup, document: vscode.TextDocument, diagnostics: vscode.Diagnostic[]): Promise<vscode.CodeAction[]> {
  const source = await lookup.sourceDocument(document);
  if (!source) return [];
  const actions: vscode.CodeAction[] = [];
  for (const site of source.sites) {
    const onSite = diagnostics.filter((d) => isSiteOfDiagnostic(site, d));
    if (onSite.length === 0) continue;
    const contracts = lookup.contractsOf(source.repo, site.promptName);
    const missing = missingVariables(site, contracts);
    const unused = unusedVariables(site, contracts);
    const call = `${site.callee}("${site.promptName}")`;
    // A misspelt key first: renaming it fixes the call without inventing a value.
    for (const name of missing) {
      const from = misspeltAs(name, unused);
      const rename = from ? renameVariableReplacement(site, from, name, (p) => document.offsetAt(new vscode.Position(p.line, p.character))) : undefined;
      if (!from || !rename) continue;
      const edit = new vscode.WorkspaceEdit();
      edit.replace(document.uri, new vscode.Range(document.positionAt(rename.offset), document.positionAt(rename.offset + rename.length)), rename.text);
      actions.push(quickFix(`Rename ${from} to ${name}`, edit, about(onSite, name), true));
    }
    const fixable: string[] = [];
    for (const name of missing) {
      // The value is a tab stop: the author types what to pass (the variable's name may not be in scope).
      const insertion = addVariablesInsertion(site, [name], hole);
      if (!insertion) continue;
      fixable.push(name);
      actions.push(snippetFix(`Pass "${name}" to ${call}…`, document.uri, document.positionAt(insertion.offset), insertion.text, about(onSite, name), actions.length === 0 && missing.length === 1));
    }
    const all = fixable.length > 1 ? addVariablesInsertion(site, fixable, hole) : undefined;
    if (all) {
      actions.push(snippetFix(`Pass all missing variables to ${call}: ${fixable.join(', ')}…`, document.uri, document.positionAt(all.offset), all.text, onSite, actions.length === 0));
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
    const unused = Object.keys(example.inputs).filter((k) => !variables.includes(k));
    const lineActions: vscode.CodeAction[] = [];
    for (const name of missing) {
      const from = misspeltAs(name, unused);
      const rename = from ? renameEvalInputReplacement(lineText, from, name) : undefined;
      if (!from || !rename) continue;
      const edit = new vscode.WorkspaceEdit();
      edit.replace(document.uri, new vscode.Range(line, rename.offset, line, rename.offset + rename.length), rename.text);
      lineActions.push(quickFix(`Rename ${from} to ${name}`, edit, about(onLine, name), true));
    }
    const fixable: string[] = [];
    for (const name of missing) {
      const insertion = addEvalInputInsertion(lineText, name);
      if (!insertion) continue;
      fixable.push(name);
      lineActions.push(
        snippetFix(`Add input "${name}" to example "${example.id}"…`, document.uri, new vscode.Position(line, insertion.offset), evalSnippetText(insertion.text), about(onLine, name), lineActions.length === 0 && missing.length === 1),
      );
    }
    const all = fixable.length > 1 ? addEvalInputsInsertion(lineText, fixable) : undefined;
    if (all) {
      lineActions.push(
        snippetFix(`Add all missing inputs to example "${example.id}": ${fixable.join(', ')}…`, document.uri, new vscode.Position(line, all.offset), evalSnippetText(all.text), onLine, lineActions.length === 0),
      );
    }
    actions.push(...lineActions);
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
    // Each fix opens the place and inserts a snippet there, the value a tab stop for the author to type:
    // a value written for them (the variable's name, an empty string) would silence the finding and break the code.
    for (const place of places.slice(0, MAX_PLACES_LISTED)) {
      const action = new vscode.CodeAction(place.title, vscode.CodeActionKind.QuickFix);
      action.diagnostics = [diagnostic];
      action.command = { title: place.title, command: INSERT_SNIPPET_COMMAND, arguments: [place.uri, place.position, place.text] };
      action.isPreferred = places.length === 1;
      actions.push(action);
    }
  }
  return actions;
}

/** Internal command of the template-side fixes: opens `uri` and inserts the snippet `text` (holes as tab stops) at `position`. */
export const INSERT_SNIPPET_COMMAND = 'promptCi.insertSnippetAt';

/** Registers `INSERT_SNIPPET_COMMAND`. */
export function registerInsertSnippet(): vscode.Disposable {
  return vscode.commands.registerCommand(INSERT_SNIPPET_COMMAND, async (uri: unknown, position: unknown, text: unknown) => {
    if (!(uri instanceof vscode.Uri) || !(position instanceof vscode.Position) || typeof text !== 'string') return;
    const editor = await vscode.window.showTextDocument(uri, { preview: false });
    await editor.insertSnippet(snippetOf(text), position, { undoStopBefore: true, undoStopAfter: true, keepWhitespace: true });
  });
}

function callSitePlace(lookup: PromptLookup, repo: PromptRepo, site: LocatedCallSite, variable: string): Place[] {
  const insertion = addVariablesInsertion(site, [variable], hole);
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
      text: evalSnippetText(insertion.text),
    });
  }
  return places;
}
