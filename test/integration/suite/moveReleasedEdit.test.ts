import * as assert from 'assert';
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import * as vscode from 'vscode';
import type { MoveEditOutcome } from '../../../src/vscode/releaseDiagnostics';
import { waitFor } from './waitFor';

/*
 * The released-version finding as a live diagnostic, and its quick fix, in a real VS Code: v1 of a
 * prompt is committed on main (so it is released), its system.md is edited on disk, the
 * `release/request-changed` diagnostic appears on that file, the quick fix is offered, and
 * "Move This Edit into a New Version" (its modal skipped with `confirmed`, as VS Code refuses
 * dialogs under test) makes v2 with the edit and gives v1 its released text back.
 *
 *   PROMPT_CI_TEST_GREP='Move This Edit into a New Version' node test/integration/runVscodeTests.mjs
 */

const NAME = 'move-demo';
const RELEASED = 'You summarise support tickets in one sentence.\n';
const EDITED = 'You summarise support tickets in two sentences, politely.\n';
const metadata = (version: number) => `name: ${NAME}\nversion: ${version}\nmodel: claude-haiku-4-5\ntemperature: 0.0\nmax_output_tokens: 200\n`;

const root = (): string => {
  const folder = vscode.workspace.workspaceFolders?.[0];
  assert.ok(folder, 'the fixture workspace is open');
  return folder.uri.fsPath;
};
const git = (...args: string[]): string => execFileSync('git', args, { cwd: root(), encoding: 'utf8', env: { ...process.env, GIT_OPTIONAL_LOCKS: '0' } }).trim();
const file = (rel: string): string => path.join(root(), 'prompts', NAME, rel);
const releaseDiagnostics = (uri: vscode.Uri): vscode.Diagnostic[] =>
  vscode.languages.getDiagnostics(uri).filter((d) => d.source === 'prompt-ci' && String(d.code).startsWith('release/'));

/** The quick fixes at `range`; asked again when VS Code cancels the request because the diagnostics of the file changed meanwhile. */
async function codeActions(uri: vscode.Uri, range: vscode.Range): Promise<vscode.CodeAction[]> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await vscode.commands.executeCommand<vscode.CodeAction[]>('vscode.executeCodeActionProvider', uri, range, vscode.CodeActionKind.QuickFix.value);
    } catch (error) {
      if (attempt >= 5 || !/Canceled/.test(String(error))) throw error;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }
}

describe('Move This Edit into a New Version', function () {
  this.timeout(120_000);
  let fixtureHead: string;

  before(async () => {
    await vscode.extensions.getExtension('prompt-ci.prompt-ci')?.activate();
    fixtureHead = git('rev-parse', 'HEAD');
    fs.mkdirSync(file('v1'), { recursive: true });
    fs.writeFileSync(file('v1/system.md'), RELEASED);
    fs.writeFileSync(file('v1/user.template.md'), 'Ticket:\n\n{ticket}\n');
    fs.writeFileSync(file('v1/metadata.yaml'), metadata(1));
    git('add', '--', `prompts/${NAME}`);
    git('commit', '--quiet', '--no-verify', '-m', 'Release move-demo v1');
  });

  after(async () => {
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    git('reset', '--quiet', '--hard', fixtureHead);
    fs.rmSync(path.join(root(), 'prompts', NAME), { recursive: true, force: true });
  });

  it('shows the released-version diagnostic and moves the edit into v2', async () => {
    const system = vscode.Uri.file(file('v1/system.md'));
    const head = git('rev-parse', 'HEAD');
    assert.deepStrictEqual(releaseDiagnostics(system), [], 'the released text has no finding');

    fs.writeFileSync(file('v1/system.md'), EDITED);
    const [diagnostic] = await waitFor(() => {
      const found = releaseDiagnostics(system);
      return found.length > 0 && found;
    }, { timeoutMs: 30_000, description: 'the release/request-changed diagnostic on v1/system.md' });
    assert.strictEqual(diagnostic.code, 'release/request-changed');
    assert.strictEqual(diagnostic.severity, vscode.DiagnosticSeverity.Error);
    assert.match(diagnostic.message, /^system\.md changed, which changes what production sends: v1 is released \(it is on main\); create v2 instead/);
    assert.strictEqual(diagnostic.range.start.line, 0);

    await vscode.window.showTextDocument(system);
    const actions = await codeActions(system, diagnostic.range);
    const fix = actions.find((a) => a.title === 'Move the edit to v2');
    assert.ok(fix, `the quick fix is offered: ${actions.map((a) => a.title).join(', ')}`);
    assert.strictEqual(fix.command?.command, 'promptCi.moveEditToNewVersion');

    // The fix's own arguments, plus `confirmed` for the modal VS Code refuses under test.
    const args = { ...(fix.command?.arguments?.[0] as object), confirmed: true };
    const outcome = await vscode.commands.executeCommand<MoveEditOutcome>('promptCi.moveEditToNewVersion', args);
    assert.ok(outcome.status === 'moved', JSON.stringify(outcome));
    assert.strictEqual(outcome.from, `prompts/${NAME}/v1`);
    assert.strictEqual(outcome.to, `prompts/${NAME}/v2`);
    assert.deepStrictEqual(outcome.moved, ['system.md']);
    assert.strictEqual(outcome.confirmation.message, `Move the edit of ${NAME} v1 into a new version, v2?`);
    assert.match(outcome.confirmation.detail, /v1 \(released on main\) gets its released text back/);

    assert.strictEqual(fs.readFileSync(file('v2/system.md'), 'utf8'), EDITED);
    assert.strictEqual(fs.readFileSync(file('v2/user.template.md'), 'utf8'), 'Ticket:\n\n{ticket}\n');
    assert.match(fs.readFileSync(file('v2/metadata.yaml'), 'utf8'), /^version: 2$/m);
    assert.strictEqual(fs.readFileSync(file('v1/system.md'), 'utf8'), RELEASED);
    assert.strictEqual(fs.readFileSync(file('v1/metadata.yaml'), 'utf8'), metadata(1));

    await waitFor(() => releaseDiagnostics(system).length === 0, { description: 'the diagnostic to go' });
    assert.deepStrictEqual(releaseDiagnostics(vscode.Uri.file(file('v2/system.md'))), [], 'v2 is not released');
    // Git's index and HEAD are untouched: v2 is untracked, v1 matches HEAD again.
    assert.strictEqual(git('rev-parse', 'HEAD'), head);
    assert.strictEqual(git('diff', '--cached', '--name-only'), '');
    assert.strictEqual(git('status', '--porcelain', '--', `prompts/${NAME}`), `?? prompts/${NAME}/v2/`);
  });

  it('moves an unsaved edit: the new version gets the editor\'s text, the editor the released text, and a deleted file comes back', async () => {
    const system = vscode.Uri.file(file('v1/system.md'));
    const head = git('rev-parse', 'HEAD');
    const document = await vscode.workspace.openTextDocument(system);
    await vscode.window.showTextDocument(document, { preview: false });
    const unsaved = 'You summarise support tickets in three short bullet points.\n';
    // The previous test put the released text back on disk. Until the editor has reloaded it, a
    // reload can land on top of the edit below and merge the two texts ("ohree shert bulletns").
    await waitFor(() => document.getText() === RELEASED && !document.isDirty, { timeoutMs: 30_000, description: 'the editor to show the released text again' });
    // An edit of a version that is still being replaced is ignored: try again.
    let applied = false;
    for (let attempt = 0; attempt < 20 && !applied; attempt++) {
      if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, 250));
      const edit = new vscode.WorkspaceEdit();
      edit.replace(system, new vscode.Range(document.positionAt(0), document.positionAt(document.getText().length)), unsaved);
      applied = await vscode.workspace.applyEdit(edit);
    }
    assert.ok(applied, 'the edit applies');
    assert.strictEqual(document.getText(), unsaved);
    assert.ok(document.isDirty, 'the edit is unsaved');
    assert.strictEqual(fs.readFileSync(file('v1/system.md'), 'utf8'), RELEASED, 'the disk still holds the released text');
    fs.rmSync(file('v1/user.template.md'));

    const outcome = await vscode.commands.executeCommand<MoveEditOutcome>('promptCi.moveEditToNewVersion', { uri: system.toString(), confirmed: true });
    assert.ok(outcome.status === 'moved', JSON.stringify(outcome));
    assert.strictEqual(outcome.to, `prompts/${NAME}/v3`);
    assert.deepStrictEqual(outcome.moved, ['system.md']);
    assert.deepStrictEqual(outcome.restored, ['user.template.md']);
    assert.deepStrictEqual(outcome.reverted, ['system.md']);
    assert.match(outcome.confirmation.detail, /user\.template\.md included\. The unsaved text of system\.md is what moves; its editor then shows the released text\./);

    assert.strictEqual(fs.readFileSync(file('v3/system.md'), 'utf8'), unsaved, 'the new version has the editor\'s text');
    assert.strictEqual(fs.existsSync(file('v3/user.template.md')), false, 'the deletion went to the new version');
    assert.match(fs.readFileSync(file('v3/metadata.yaml'), 'utf8'), /^version: 3$/m);
    assert.strictEqual(fs.readFileSync(file('v1/system.md'), 'utf8'), RELEASED);
    assert.strictEqual(fs.readFileSync(file('v1/user.template.md'), 'utf8'), 'Ticket:\n\n{ticket}\n', 'the deleted file is restored');
    assert.strictEqual(document.isDirty, false, 'no unsaved change is left behind');
    assert.strictEqual(document.getText(), RELEASED, 'the editor shows the released text');
    assert.strictEqual(git('rev-parse', 'HEAD'), head);
    assert.strictEqual(git('diff', '--cached', '--name-only'), '');
    assert.deepStrictEqual(git('status', '--porcelain', '--', `prompts/${NAME}`).split('\n').sort(), [`?? prompts/${NAME}/v2/`, `?? prompts/${NAME}/v3/`]);
  });

  it('says why when the version is not released', async () => {
    const outcome = await vscode.commands.executeCommand<MoveEditOutcome>('promptCi.moveEditToNewVersion', { uri: vscode.Uri.file(file('v2/system.md')).toString(), confirmed: true });
    assert.strictEqual(outcome.status, 'failed');
    assert.match((outcome as { message: string }).message, new RegExp(`^prompts/${NAME}/v2 is not released: it is not on main, so it can be edited in place$`));
  });
});
