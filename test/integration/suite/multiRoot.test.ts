import * as assert from 'assert';
import * as vscode from 'vscode';
import { waitForDiagnostics } from './waitFor';

/** Runs only in the multi-root pass of scripts/test.mjs (test/fixtures/multiroot/team.code-workspace). */
describe('multi-root workspaces', function () {
  const folder = (name: string): vscode.Uri => {
    const found = vscode.workspace.workspaceFolders?.find((f) => f.name === name);
    assert.ok(found, `workspace folder ${name}`);
    return found.uri;
  };

  before(function () {
    if ((vscode.workspace.workspaceFolders?.length ?? 0) < 2) this.skip();
  });

  afterEach(async () => {
    await vscode.commands.executeCommand('workbench.action.files.revert');
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
  });

  it('checks the prompt repository of every folder', async () => {
    const triage = vscode.Uri.joinPath(folder('support-service'), 'prompts/triage/v1/metadata.yaml');
    const diagnostics = await waitForDiagnostics(triage, (d) => d.some((x) => x.code === 'metadata/version-mismatch'));
    assert.deepStrictEqual(diagnostics.map((d) => `${d.range.start.line}:${d.range.start.character} ${String(d.code)}`), ['1:9 metadata/version-mismatch']);
    const invoice = vscode.Uri.joinPath(folder('billing-service'), 'prompts/invoice-reminder/v1/metadata.yaml');
    assert.deepStrictEqual(vscode.languages.getDiagnostics(invoice), []);
  });

  it('keeps each folder to itself when one of them is edited', async () => {
    const invoice = vscode.Uri.joinPath(folder('billing-service'), 'prompts/invoice-reminder/v1/metadata.yaml');
    const triage = vscode.Uri.joinPath(folder('support-service'), 'prompts/triage/v1/metadata.yaml');
    await waitForDiagnostics(triage, (d) => d.length === 1);
    const document = await vscode.workspace.openTextDocument(invoice);
    const editor = await vscode.window.showTextDocument(document);
    await editor.edit((b) => b.replace(document.lineAt(0).range, 'name: triage'));
    const diagnostics = await waitForDiagnostics(invoice, (d) => d.length === 1);
    assert.strictEqual(diagnostics[0].code, 'metadata/name-mismatch');
    // The other folder's prompt of the same name is another repository: nothing changes there.
    assert.deepStrictEqual(vscode.languages.getDiagnostics(triage).map((d) => d.code), ['metadata/version-mismatch']);
  });
});
