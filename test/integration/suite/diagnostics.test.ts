import * as assert from 'assert';
import * as vscode from 'vscode';
import { hasCode, summary, waitForDiagnostics } from './waitFor';

const folder = (): vscode.Uri => {
  const first = vscode.workspace.workspaceFolders?.[0];
  assert.ok(first, 'the fixture workspace is open');
  return first.uri;
};
const uri = (relative: string): vscode.Uri => vscode.Uri.joinPath(folder(), relative);


describe('Diagnostics in the Problems panel', () => {
  const metadata = () => uri('prompts/support/v1/metadata.yaml');

  before(async () => {
    await vscode.extensions.getExtension('prompt-ci.prompt-ci')?.activate();
  });

  afterEach(async () => {
    // Leave no unsaved edits behind for the next test.
    await vscode.commands.executeCommand('workbench.action.files.revert');
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
  });

  it('shows every metadata.yaml mistake on its exact node, with source and code', async () => {
    const diagnostics = await waitForDiagnostics(metadata(), hasCode('metadata/out-of-range'));
    assert.deepStrictEqual(summary(diagnostics), [
      '3:13-18 metadata/wrong-type',
      '4:0-10 metadata/unknown-key',
      '7:22-25 metadata/out-of-range',
    ]);
    const unknown = diagnostics.find((d) => d.code === 'metadata/unknown-key');
    assert.strictEqual(unknown?.severity, vscode.DiagnosticSeverity.Warning);
    assert.match(unknown?.message ?? '', /did you mean "temperature"/);
    const wrongType = diagnostics.find((d) => d.code === 'metadata/wrong-type');
    assert.strictEqual(wrongType?.severity, vscode.DiagnosticSeverity.Error);
    assert.strictEqual(wrongType?.source, 'prompt-ci');
  });

  it('shows eval.jsonl mistakes on their lines', async () => {
    const diagnostics = await waitForDiagnostics(uri('prompts/support/v1/eval.jsonl'), hasCode('eval/duplicate-id'));
    assert.deepStrictEqual(
      summary(diagnostics).map((s) => s.replace(/:\d+-\d+/, '')),
      ['1 eval/invalid-json', '2 eval/duplicate-id'],
    );
  });

  it('follows edits as the user types, before any save', async () => {
    const document = await vscode.workspace.openTextDocument(metadata());
    const editor = await vscode.window.showTextDocument(document);
    await waitForDiagnostics(metadata(), hasCode('metadata/wrong-type'));

    // Fix the temperature: its error goes away while the file is still unsaved.
    const line = document.lineAt(3);
    await editor.edit((b) => b.replace(line.range, 'temperature: 0.3'));
    assert.ok(document.isDirty);
    let diagnostics = await waitForDiagnostics(metadata(), (d) => !hasCode('metadata/wrong-type')(d));
    assert.deepStrictEqual(summary(diagnostics), ['4:0-10 metadata/unknown-key', '7:22-25 metadata/out-of-range']);

    // Type a new mistake: it appears, at its place.
    await editor.edit((b) => b.insert(new vscode.Position(1, 0), 'owners: "@team"\n'));
    diagnostics = await waitForDiagnostics(metadata(), (d) => summary(d).some((s) => s.startsWith('1:8-15 metadata/wrong-type')));
    assert.deepStrictEqual(summary(diagnostics), [
      '1:8-15 metadata/wrong-type',
      '5:0-10 metadata/unknown-key',
      '8:22-25 metadata/out-of-range',
    ]);

    // Break the YAML itself: the syntax error replaces the schema findings.
    await editor.edit((b) => b.insert(new vscode.Position(0, 0), 'model: [unclosed\n'));
    diagnostics = await waitForDiagnostics(metadata(), hasCode('metadata/yaml-syntax'));
    assert.ok(diagnostics.every((d) => String(d.code).startsWith('metadata/yaml')));
  });

  it('drops unsaved text when the editor is reverted', async () => {
    const document = await vscode.workspace.openTextDocument(metadata());
    const editor = await vscode.window.showTextDocument(document);
    await editor.edit((b) => b.replace(document.lineAt(3).range, 'temperature: 0.5'));
    await waitForDiagnostics(metadata(), (d) => !hasCode('metadata/wrong-type')(d));
    await vscode.commands.executeCommand('workbench.action.files.revert');
    await waitForDiagnostics(metadata(), hasCode('metadata/wrong-type'));
  });

  it('reports a version directory created with files missing, and forgets it when deleted', async () => {
    const dir = uri('prompts/support/v2');
    await vscode.workspace.fs.writeFile(
      vscode.Uri.joinPath(dir, 'metadata.yaml'),
      Buffer.from('name: support\nversion: 2\nmodel: claude-sonnet-4-6\n'),
    );
    // A finding about the directory sits on its metadata.yaml, a file the editor can open.
    const metadataUri = vscode.Uri.joinPath(dir, 'metadata.yaml');
    const missingFiles = (d: readonly vscode.Diagnostic[]) => d.filter((x) => / has no /.test(x.message));
    const diagnostics = missingFiles(await waitForDiagnostics(metadataUri, (d) => missingFiles(d).length === 3));
    assert.deepStrictEqual(
      diagnostics.map((d) => d.message.replace(/;.*/, '')).sort(),
      ['prompts/support/v2 has no eval.jsonl', 'prompts/support/v2 has no system.md', 'prompts/support/v2 has no user.template.md'],
    );
    assert.deepStrictEqual(vscode.languages.getDiagnostics(dir), [], 'nothing on the directory itself');
    await vscode.workspace.fs.delete(dir, { recursive: true });
    await waitForDiagnostics(metadataUri, (d) => d.length === 0);
  });

  it('re-checks on the Check Prompts command', async () => {
    await vscode.commands.executeCommand('promptCi.checkWorkspace');
    const diagnostics = vscode.languages.getDiagnostics(metadata());
    assert.ok(hasCode('metadata/wrong-type')(diagnostics));
  });
});

describe('Template variables cross-checked with the calling code', () => {
  const template = () => uri('prompts/support/v1/user.template.md');
  const python = () => uri('src/support/replies.py');

  afterEach(async () => {
    await vscode.commands.executeCommand('workbench.action.files.revert');
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
  });

  it('marks a missing variable on the call site and on the template field', async () => {
    const atCall = await waitForDiagnostics(python(), hasCode('callsite/missing-variable'));
    assert.deepStrictEqual(summary(atCall), ['6:19-32 callsite/missing-variable']);
    assert.strictEqual(atCall[0].severity, vscode.DiagnosticSeverity.Error);
    assert.strictEqual(atCall[0].relatedInformation?.[0].location.uri.toString(), template().toString());
    const atField = await waitForDiagnostics(template(), hasCode('template/variable-not-supplied'));
    assert.deepStrictEqual(summary(atField), ['2:0-8 template/variable-not-supplied']);
    assert.match(atField[0].message, /src\/support\/replies\.py:7/);
    // The TypeScript caller passes both: nothing on it.
    assert.deepStrictEqual(summary(vscode.languages.getDiagnostics(uri('src/support/inbox.ts'))), []);
  });

  it('re-checks the call sites when the template is edited, before a save', async () => {
    const document = await vscode.workspace.openTextDocument(template());
    const editor = await vscode.window.showTextDocument(document);
    await waitForDiagnostics(python(), hasCode('callsite/missing-variable'));
    // Drop {ticket} from the template: the Python call site is complete again, the TS one passes an unused variable.
    await editor.edit((b) => b.replace(document.lineAt(2).range, 'No ticket body.'));
    await waitForDiagnostics(python(), (d) => summary(d).length === 0);
    const ts = await waitForDiagnostics(uri('src/support/inbox.ts'), hasCode('callsite/unused-variable'));
    assert.deepStrictEqual(summary(ts), ['3:71-77 callsite/unused-variable']);
  });

  it('re-checks the template when a call site is edited', async () => {
    const document = await vscode.workspace.openTextDocument(python());
    const editor = await vscode.window.showTextDocument(document);
    await waitForDiagnostics(template(), hasCode('template/variable-not-supplied'));
    await editor.edit((b) => b.insert(document.lineAt(8).range.end, '\n        ticket=ticket.body,'));
    await waitForDiagnostics(template(), (d) => !hasCode('template/variable-not-supplied')(d));
    await waitForDiagnostics(python(), (d) => summary(d).length === 0);
  });
});
