import * as assert from 'assert';
import * as vscode from 'vscode';

const extensionId = 'prompt-ci.prompt-ci';

describe('Prompt CI in VS Code', () => {
  it('is installed', () => {
    assert.ok(vscode.extensions.getExtension(extensionId), `${extensionId} is not among the extensions`);
  });

  it('activates without an error', async () => {
    const extension = vscode.extensions.getExtension(extensionId);
    assert.ok(extension);
    // Already activating through workspaceContains on the fixture; activate() joins that.
    await extension.activate();
    assert.strictEqual(extension.isActive, true);
  });

  it('registers promptCi.checkWorkspace', async () => {
    const commands = await vscode.commands.getCommands(true);
    assert.ok(commands.includes('promptCi.checkWorkspace'), 'promptCi.checkWorkspace is not registered');
  });

  it('registers every command package.json contributes', async () => {
    const extension = vscode.extensions.getExtension(extensionId);
    assert.ok(extension);
    await extension.activate();
    const contributed = ((extension.packageJSON.contributes?.commands ?? []) as { command: string }[]).map((c) => c.command);
    const registered = new Set(await vscode.commands.getCommands(true));
    assert.deepStrictEqual(
      contributed.filter((command) => !registered.has(command)),
      [],
      'contributed in package.json but not registered on activation',
    );
  });

  it('opens the fixture workspace', () => {
    const folders = vscode.workspace.workspaceFolders ?? [];
    assert.strictEqual(folders.length, 1);
  });
});
