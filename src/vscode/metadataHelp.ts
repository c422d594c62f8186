import * as vscode from 'vscode';
import { modelLifecycle, selectableModels } from '../core/modelCatalog';
import { promptFileGlob } from '../core/promptLayout';
import { suggestionFix } from './quickFixes';
import { DIAGNOSTIC_SOURCE } from './toDiagnostic';

const METADATA_SELECTOR: vscode.DocumentFilter = { scheme: 'file', pattern: promptFileGlob('metadata.yaml') };

/** A value position of `model:` (top level or in `judge`), where model ids are completed. */
const MODEL_KEY = /^(\s*)(model|judge:\s*\{[^}]*\bmodel)\s*:\s*[^\s,}#]*$/;

/**
 * metadata.yaml help from the model catalog: completion of model ids (current ones first, with
 * their limits and prices), and the quick fix of every "did you mean …?" finding (an unknown key
 * such as `temprature`, an unknown model id).
 */
export function registerMetadataHelp(): vscode.Disposable {
  const completion = vscode.languages.registerCompletionItemProvider(METADATA_SELECTOR, {
    provideCompletionItems(document, position) {
      const before = document.lineAt(position.line).text.slice(0, position.character);
      if (!MODEL_KEY.test(before)) return [];
      const word = document.getWordRangeAtPosition(position, /[A-Za-z0-9._-]+/);
      const today = new Date().toISOString().slice(0, 10);
      return selectableModels(today).map((model, i) => {
        const item = new vscode.CompletionItem(model.id, vscode.CompletionItemKind.Value);
        const lifecycle = modelLifecycle(model.id, today);
        item.detail = `${model.displayName}${lifecycle === 'active' ? '' : ` (${lifecycle}${model.retires ? `, retires ${model.retires}` : ''})`}`;
        const facts = [
          model.maxOutputTokens ? `max output ${model.maxOutputTokens.toLocaleString('en-US')} tokens` : undefined,
          model.price ? `$${model.price.input} / $${model.price.output} per million input / output tokens` : undefined,
        ].filter(Boolean);
        item.documentation = facts.join(' · ');
        item.sortText = String(i).padStart(3, '0');
        if (word) item.range = word;
        if (lifecycle === 'deprecated') item.tags = [vscode.CompletionItemTag.Deprecated];
        return item;
      });
    },
  });
  const fixes = vscode.languages.registerCodeActionsProvider(
    METADATA_SELECTOR,
    {
      provideCodeActions(document, _range, context) {
        const actions: vscode.CodeAction[] = [];
        for (const diagnostic of context.diagnostics) {
          if (diagnostic.source !== DIAGNOSTIC_SOURCE) continue;
          const fix = suggestionFix(document, diagnostic);
          if (fix) actions.push(fix);
        }
        return actions;
      },
    },
    { providedCodeActionKinds: [vscode.CodeActionKind.QuickFix] },
  );
  return vscode.Disposable.from(completion, fixes);
}
