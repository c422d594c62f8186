import * as vscode from 'vscode';
import { completionFits, completionInsertText, variableCompletionContext, versionsRenderedBy } from '../core/editorHelp';
import { LineIndex } from '../core/lineIndex';
import type { PromptLookup } from './promptLookup';
import { SOURCE_SELECTOR } from './promptLookup';

/**
 * Characters after which the variable names are offered at once: the opening of an argument list
 * or literal, an entry separator, and the quote of a dict or object key (quick suggestions don't
 * open inside strings by themselves).
 */
const TRIGGER_CHARACTERS = ['(', ',', '{', '"', "'"];

/**
 * Completion of template variable names inside a call site's arguments: keyword arguments of a
 * Python call, keys of the dict or object literal passed to it, offering the variables of the
 * versions it renders that it doesn't pass yet.
 */
export function registerVariableCompletion(lookup: PromptLookup): vscode.Disposable {
  return vscode.languages.registerCompletionItemProvider(
    SOURCE_SELECTOR,
    { provideCompletionItems: (document, position) => variableCompletions(lookup, document, position) },
    ...TRIGGER_CHARACTERS,
  );
}

async function variableCompletions(lookup: PromptLookup, document: vscode.TextDocument, position: vscode.Position): Promise<vscode.CompletionItem[] | undefined> {
  // The index lags typing by a debounce, and a completion is asked for mid-word: this reads the text as it is now.
  const found = await lookup.withSourceTree(document, (root, text, sites, where) => {
    const context = variableCompletionContext(root, text, document.offsetAt(position), sites);
    return context && { context, where };
  });
  if (!found) return undefined;
  const { context, where } = found;
  const contracts = versionsRenderedBy(context.site, lookup.contractsOf(where.repo, context.site.promptName)).sort(
    (a, b) => b.version.version - a.version.version,
  );
  const range = new vscode.Range(document.positionAt(context.replaceStart), document.positionAt(context.replaceEnd));
  const items: vscode.CompletionItem[] = [];
  const offered = new Set<string>();
  for (const contract of contracts) {
    const lines = new LineIndex(contract.templateText);
    for (const name of contract.template.variables) {
      if (offered.has(name) || context.passed.has(name) || !completionFits(context, name)) continue;
      offered.add(name);
      const item = new vscode.CompletionItem({ label: name, description: `${contract.version.name} v${contract.version.version}` }, vscode.CompletionItemKind.Field);
      item.insertText = completionInsertText(context, name);
      item.filterText = name;
      item.range = range;
      item.sortText = `0${String(items.length).padStart(4, '0')}`;
      item.preselect = items.length === 0;
      item.detail = `template variable of ${contract.version.name} v${contract.version.version}`;
      const field = contract.template.fields.find((f) => f.variable === name);
      if (field) {
        const line = lines.positionAt(field.start).line;
        const text = contract.templateText.slice(lines.offsetAt({ line, character: 0 }), lines.lineEnd(line));
        item.documentation = new vscode.MarkdownString().appendText(`${contract.templatePath}:${line + 1}`).appendCodeblock(text, 'text');
      }
      items.push(item);
    }
  }
  return items;
}
