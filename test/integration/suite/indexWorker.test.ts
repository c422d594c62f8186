import * as assert from 'assert';
import * as fs from 'fs';
import * as vscode from 'vscode';
import { hasCode, waitFor, waitForDiagnostics } from './waitFor';

/** What the extension's internal command reports (see INTERNAL_COMMANDS in src/vscode/extension.ts). */
interface IndexReport {
  activationMs?: number;
  activationParts?: Record<string, number>;
  cacheDir?: string;
  builtBy: 'worker' | 'in-process';
  reports: {
    root: string;
    builtBy: 'worker' | 'in-process';
    build: { ms: number; cache: { hits: number; misses: number; unread: number; loaded: string } };
    toDiagnosticsMs: number;
  }[];
}

const report = async (): Promise<IndexReport> => (await vscode.commands.executeCommand('promptCi.internal.indexReport')) as IndexReport;
const folder = (): vscode.Uri => {
  const first = vscode.workspace.workspaceFolders?.[0];
  assert.ok(first, 'the fixture workspace is open');
  return first.uri;
};
const uri = (relative: string): vscode.Uri => vscode.Uri.joinPath(folder(), relative);

describe('The index worker and its cache', () => {
  const metadata = () => uri('prompts/support/v1/metadata.yaml');

  before(async () => {
    await vscode.extensions.getExtension('prompt-ci.prompt-ci')?.activate();
  });

  afterEach(async () => {
    await vscode.commands.executeCommand('workbench.action.files.revert');
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
  });

  it('builds the index in the worker; its diagnostics follow edits; a restarted worker starts from the cache on disk', async () => {
    await waitForDiagnostics(metadata(), hasCode('metadata/wrong-type'));
    const first = await report();
    assert.strictEqual(first.builtBy, 'worker');
    assert.ok(first.reports.length > 0, 'an index was built');
    assert.ok(first.reports.every((r) => r.builtBy === 'worker'), JSON.stringify(first.reports));
    assert.strictEqual(typeof first.activationMs, 'number');
    console.log(`[bench] activation ${JSON.stringify({ activationMs: first.activationMs, activationParts: first.activationParts, firstIndex: first.reports[0] })}`);

    // An edit goes through the worker's incremental update.
    const document = await vscode.workspace.openTextDocument(metadata());
    const editor = await vscode.window.showTextDocument(document);
    await editor.edit((b) => b.replace(document.lineAt(3).range, 'temperature: 0.3'));
    await waitForDiagnostics(metadata(), (d) => !hasCode('metadata/wrong-type')(d));
    await vscode.commands.executeCommand('workbench.action.files.revert');
    await waitForDiagnostics(metadata(), hasCode('metadata/wrong-type'));

    // The cache file is in the workspace's storage, outside the repository.
    const { cacheDir } = first;
    assert.ok(cacheDir, 'the workspace has a storage folder');
    assert.ok(!cacheDir.startsWith(folder().fsPath), `${cacheDir} is outside the workspace`);
    await waitFor(() => fs.existsSync(cacheDir) && fs.readdirSync(cacheDir).some((name) => /^index-[0-9a-f]+\.bin$/.test(name)), { description: `a cache file in ${cacheDir}` });

    // A new worker with nothing in memory: every parsed result comes from the cache file, none is parsed again.
    const before = (await report()).reports.length;
    await vscode.commands.executeCommand('promptCi.internal.restartIndex');
    const after = await report();
    const warm = after.reports.slice(before);
    assert.ok(warm.length > 0, 'the restart indexed again');
    for (const r of warm) {
      assert.strictEqual(r.builtBy, 'worker');
      assert.strictEqual(r.build.cache.loaded, 'loaded', JSON.stringify(r));
      assert.ok(r.build.cache.hits > 0, JSON.stringify(r));
      assert.strictEqual(r.build.cache.misses, 0, JSON.stringify(r));
    }
    console.log(`[bench] warm ${JSON.stringify(warm[0])}`);
    // And its diagnostics are the same.
    await waitForDiagnostics(metadata(), hasCode('metadata/wrong-type'));
  });
});
