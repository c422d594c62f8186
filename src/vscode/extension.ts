import * as vscode from 'vscode';
import { createSourceParser } from '../node/treeSitter';
import { COMMANDS } from './commandTable';
import { registerEditorHelp } from './editorHelp';
import { PromptDiagnostics } from './promptDiagnostics';

/** Wires the extension: diagnostics, commands. Called by VS Code on the activation events of package.json. */
export async function activate(context: vscode.ExtensionContext): Promise<void> {
  const log = vscode.window.createOutputChannel('Prompt CI', { log: true });
  context.subscriptions.push(log);
  const parser = await createSourceParser({ wasmDir: vscode.Uri.joinPath(context.extensionUri, 'dist', 'wasm').fsPath });
  context.subscriptions.push({ dispose: () => parser.dispose() });
  const diagnostics = new PromptDiagnostics(log, parser);
  context.subscriptions.push(diagnostics, registerEditorHelp(diagnostics));
  context.subscriptions.push(
    vscode.commands.registerCommand(COMMANDS.checkWorkspace.id, () => diagnostics.refreshAll('check requested')),
    vscode.commands.registerCommand(COMMANDS.showOutput.id, () => log.show()),
  );
  log.info(`Prompt CI ${context.extension.packageJSON.version as string} activated (workspace trusted: ${vscode.workspace.isTrusted})`);
  await diagnostics.refreshAll('start-up');
}

/** Nothing to do: everything the extension owns is in `context.subscriptions`, which VS Code disposes. */
export function deactivate(): void {}
