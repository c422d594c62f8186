import * as vscode from 'vscode';
import { createSourceParser } from '../node/treeSitter';
import { Authoring } from './authoring';
import { COMMANDS } from './commandTable';
import { registerEditorHelp } from './editorHelp';
import { registerEval } from './evalCommand';
import { EvalTests } from './evalTests';
import { GateView } from './gateView';
import { PromptDiagnostics } from './promptDiagnostics';
import { ReplayTrace } from './replayTrace';
import { RolloutsView } from './rolloutsView';

/** Clean-ups deactivate() waits for: VS Code disposes subscriptions without awaiting anything they start. */
const beforeDeactivate: (() => Promise<void>)[] = [];

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
  const replay = new ReplayTrace({ log, secrets: context.secrets, repos: diagnostics });
  context.subscriptions.push(replay);
  context.subscriptions.push(new Authoring(log));
  const evals = registerEval(context, log);
  context.subscriptions.push(evals, new EvalTests(evals));
  context.subscriptions.push(new GateView(context, log, parser, evals));
  context.subscriptions.push(new RolloutsView(context, log, (root, commit, dir) => replay.openPromptAtCommit(root, commit, dir)));
  beforeDeactivate.push(() => replay.removeAllWorktrees());
  log.info(`Prompt CI ${context.extension.packageJSON.version as string} activated (workspace trusted: ${vscode.workspace.isTrusted})`);
  // Indexing a large repository takes seconds: activation doesn't wait for it, the Problems panel fills when it ends.
  diagnostics.refreshAll('start-up').catch((error: unknown) => log.error(`start-up check failed: ${(error as Error).stack ?? String(error)}`));
}

/** Waits for the clean-ups that can't run in a synchronous dispose (replay worktrees); `context.subscriptions` go with VS Code's disposal. */
export async function deactivate(): Promise<void> {
  await Promise.allSettled(beforeDeactivate.splice(0).map((cleanUp) => cleanUp()));
}
