import * as vscode from 'vscode';
import { performance } from 'node:perf_hooks';
import { IndexClient } from '../node/indexClient';
import { INDEX_CACHE_TAG } from '../node/indexCache';
import { createSourceParser } from '../node/treeSitter';
import type { SourceParser } from '../node/treeSitter';
import { Authoring } from './authoring';
import { COMMANDS } from './commandTable';
import { registerEditorHelp } from './editorHelp';
import { registerEval } from './evalCommand';
import { EvalTests } from './evalTests';
import { GateView } from './gateView';
import { HarvestCommand } from './harvestCommand';
import { PromptDiagnostics } from './promptDiagnostics';
import { ReleaseDiagnostics } from './releaseDiagnostics';
import { ReplayTrace } from './replayTrace';
import { RolloutsView } from './rolloutsView';

/** Commands for the tests and the benchmark, not contributed (not in the Command Palette). */
export const INTERNAL_COMMANDS = {
  indexReport: 'promptCi.internal.indexReport',
  restartIndex: 'promptCi.internal.restartIndex',
} as const;

/** How long the last activate() took, from its first line to its return. */
let activationMs: number | undefined;

/** Clean-ups deactivate() waits for: VS Code disposes subscriptions without awaiting anything they start. */
const beforeDeactivate: (() => Promise<void>)[] = [];

/** Wires the extension: diagnostics, commands. Called by VS Code on the activation events of package.json. */
export async function activate(context: vscode.ExtensionContext): Promise<void> {
  const started = performance.now();
  let last = started;
  const took: Record<string, number> = {};
  /** How long the part of activation since the last mark took (reported with the activation time). */
  const mark = (part: string): void => {
    const now = performance.now();
    took[part] = Math.round((now - last) * 10) / 10;
    last = now;
  };
  const log = vscode.window.createOutputChannel('Prompt CI', { log: true });
  context.subscriptions.push(log);
  const wasmDir = vscode.Uri.joinPath(context.extensionUri, 'dist', 'wasm').fsPath;
  // The grammars load when something first parses here (the gate); the index parses in its worker.
  let parser: Promise<SourceParser> | undefined;
  const sourceParser = (): Promise<SourceParser> => (parser ??= createSourceParser({ wasmDir }));
  context.subscriptions.push({ dispose: () => void parser?.then((p) => p.dispose(), () => undefined) });
  const client = new IndexClient({
    workerFile: vscode.Uri.joinPath(context.extensionUri, 'dist', 'indexWorker.js').fsPath,
    wasmDir,
    // The workspace's storage (none for a window without a folder: then the cache lives in memory only).
    cacheDir: context.storageUri?.fsPath,
    cacheTag: `${context.extension.packageJSON.version as string}/${vscode.version}/${INDEX_CACHE_TAG}`,
    log,
  });
  beforeDeactivate.push(() => client.dispose());
  mark('output and index client');
  const diagnostics = new PromptDiagnostics(log, client);
  context.subscriptions.push(diagnostics, registerEditorHelp(diagnostics));
  mark('diagnostics and editor help');
  context.subscriptions.push(
    vscode.commands.registerCommand(COMMANDS.checkWorkspace.id, () => diagnostics.refreshAll('check requested')),
    vscode.commands.registerCommand(COMMANDS.showOutput.id, () => log.show()),
    // For the tests and the benchmark: how activation and the indexes went; and a restart of the
    // index worker, which then starts from the cache on disk as a reopened workspace does.
    vscode.commands.registerCommand(INTERNAL_COMMANDS.indexReport, () => ({ activationMs, activationParts: took, cacheDir: context.storageUri?.fsPath, builtBy: client.builtBy, reports: diagnostics.reports })),
    vscode.commands.registerCommand(INTERNAL_COMMANDS.restartIndex, async () => {
      await client.restart();
      await diagnostics.refreshAll('index restarted');
    }),
  );
  const replay = new ReplayTrace({ log, secrets: context.secrets, repos: diagnostics });
  context.subscriptions.push(replay);
  const releases = new ReleaseDiagnostics(log);
  context.subscriptions.push(new Authoring(log), new HarvestCommand(log, replay), releases);
  mark('replay and authoring');
  const evals = registerEval(context, log);
  context.subscriptions.push(evals, new EvalTests(evals));
  mark('eval and test explorer');
  context.subscriptions.push(new GateView(context, log, sourceParser, evals));
  context.subscriptions.push(new RolloutsView(context, log, (root, commit, dir) => replay.openPromptAtCommit(root, commit, dir)));
  beforeDeactivate.push(() => replay.removeAllWorktrees());
  mark('gate and rollouts views');
  activationMs = performance.now() - started;
  log.info(`Prompt CI ${context.extension.packageJSON.version as string} activated in ${activationMs.toFixed(1)} ms (workspace trusted: ${vscode.workspace.isTrusted})`);
  // Indexing a large repository takes seconds: activation doesn't wait for it, the Problems panel fills when it ends.
  diagnostics.refreshAll('start-up').catch((error: unknown) => log.error(`start-up check failed: ${(error as Error).stack ?? String(error)}`));
  releases.checkAll().catch((error: unknown) => log.error(`start-up check of released versions failed: ${(error as Error).stack ?? String(error)}`));
}

/** Waits for the clean-ups that can't run in a synchronous dispose (replay worktrees); `context.subscriptions` go with VS Code's disposal. */
export async function deactivate(): Promise<void> {
  await Promise.allSettled(beforeDeactivate.splice(0).map((cleanUp) => cleanUp()));
}
