import * as fs from 'fs';
import * as path from 'path';
import * as vscode from 'vscode';

/** Options for {@link waitFor}. */
export interface WaitForOptions {
  /** Fails after this many milliseconds. Default 20 000. */
  timeoutMs?: number;
  /**
   * The VS Code events after which the predicate is evaluated again. The default covers
   * diagnostics, editors, documents and extensions; pass the events your predicate depends on.
   */
  events?: readonly vscode.Event<unknown>[];
  /** Named in the timeout error. */
  description?: string;
}

function defaultEvents(): vscode.Event<unknown>[] {
  return [
    vscode.languages.onDidChangeDiagnostics,
    vscode.window.onDidChangeActiveTextEditor,
    vscode.window.onDidChangeVisibleTextEditors,
    vscode.workspace.onDidOpenTextDocument,
    vscode.workspace.onDidChangeTextDocument,
    vscode.workspace.onDidSaveTextDocument,
    vscode.extensions.onDidChange,
  ];
}

/**
 * Resolves with the predicate's first truthy value. The predicate runs once now and again
 * after each of the given VS Code events: no timers stand in for "probably ready".
 */
export function waitFor<T>(predicate: () => T | undefined | null | false, options: WaitForOptions = {}): Promise<T> {
  const { timeoutMs = 20_000, events = defaultEvents(), description = 'condition' } = options;
  return new Promise<T>((resolve, reject) => {
    const subscriptions: vscode.Disposable[] = [];
    let settled = false;
    const finish = (error: Error | undefined, value?: T): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      for (const s of subscriptions) s.dispose();
      if (error) reject(error);
      else resolve(value as T);
    };
    const check = (): void => {
      try {
        const value = predicate();
        if (value) finish(undefined, value);
      } catch (error) {
        finish(error instanceof Error ? error : new Error(String(error)));
      }
    };
    const timer = setTimeout(() => finish(new Error(`Timed out after ${timeoutMs} ms waiting for ${description}`)), timeoutMs);
    for (const event of events) subscriptions.push(event(check));
    check();
  });
}

/** Resolves with the first event that matches `filter` (default: any), or rejects on timeout. */
export function waitForEvent<T>(event: vscode.Event<T>, filter: (value: T) => boolean = () => true, timeoutMs = 20_000): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      subscription.dispose();
      reject(new Error(`Timed out after ${timeoutMs} ms waiting for an event`));
    }, timeoutMs);
    const subscription = event((value) => {
      if (!filter(value)) return;
      clearTimeout(timer);
      subscription.dispose();
      resolve(value);
    });
  });
}

/** Diagnostics of `uri` once `predicate` holds for them (e.g. a given code is present). */
export function waitForDiagnostics(
  uri: vscode.Uri,
  predicate: (diagnostics: readonly vscode.Diagnostic[]) => boolean,
  timeoutMs = 20_000,
): Promise<readonly vscode.Diagnostic[]> {
  return waitFor(
    () => {
      const diagnostics = vscode.languages.getDiagnostics(uri);
      return predicate(diagnostics) ? diagnostics : undefined;
    },
    { timeoutMs, events: [vscode.languages.onDidChangeDiagnostics], description: `diagnostics of ${uri.toString()}` },
  );
}

/*
 * Signals between the in-host tests and a browser-side script
 * (PROMPT_CI_E2E_PLAYWRIGHT_SCRIPT, see test/integration/runVscodeTests.mjs). A signal is
 * a JSON file in the directory the runner names in PROMPT_CI_E2E_SIGNAL_DIR.
 */

function signalDir(): string {
  const dir = process.env.PROMPT_CI_E2E_SIGNAL_DIR;
  if (!dir) throw new Error('PROMPT_CI_E2E_SIGNAL_DIR is not set: run through test/integration/runVscodeTests.mjs');
  return dir;
}

function signalFile(dir: string, name: string): string {
  if (!/^[A-Za-z0-9_.-]+$/.test(name)) throw new Error(`bad signal name ${JSON.stringify(name)}`);
  return path.join(dir, `${name}.json`);
}

/** Tells the browser-side script that `name` happened, with optional JSON data. */
export function signal(name: string, data: unknown = null): void {
  const dir = signalDir();
  const file = signalFile(dir, name);
  // Written then renamed so the reader never sees half a file.
  fs.writeFileSync(`${file}.tmp`, JSON.stringify({ data }));
  fs.renameSync(`${file}.tmp`, file);
}

/** Resolves with the data of the signal `name` once the browser-side script sends it. */
export function waitForSignal<T = unknown>(name: string, timeoutMs = 60_000): Promise<T> {
  const dir = signalDir();
  const file = signalFile(dir, name);
  return new Promise<T>((resolve, reject) => {
    let settled = false;
    const check = (): void => {
      if (settled || !fs.existsSync(file)) return;
      settled = true;
      clearTimeout(timer);
      watcher.close();
      try {
        resolve((JSON.parse(fs.readFileSync(file, 'utf8')) as { data: T }).data);
      } catch (error) {
        reject(error instanceof Error ? error : new Error(String(error)));
      }
    };
    const watcher = fs.watch(dir, check);
    const timer = setTimeout(() => {
      if (settled) return;
      settled = true;
      watcher.close();
      reject(new Error(`Timed out after ${timeoutMs} ms waiting for signal "${name}" from the browser side`));
    }, timeoutMs);
    check();
  });
}

/** `line:start-end code` of prompt-ci diagnostics, 0-based, sorted: a compact form to assert on. */
export function summary(diagnostics: readonly vscode.Diagnostic[]): string[] {
  return diagnostics
    .filter((d) => d.source === 'prompt-ci')
    .map((d) => `${d.range.start.line}:${d.range.start.character}-${d.range.end.character} ${String(d.code)}`)
    .sort();
}

/** A predicate for `waitForDiagnostics`: some diagnostic has `code`. */
export const hasCode = (code: string) => (diagnostics: readonly vscode.Diagnostic[]): boolean => diagnostics.some((d) => d.code === code);
