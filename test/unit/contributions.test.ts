import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { COMMANDS } from '../../src/vscode/commandTable';

const root = join(__dirname, '..', '..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));

describe('package.json contributions', () => {
  it('contributes exactly the commands of the command table, with the same titles', () => {
    const contributed = (pkg.contributes.commands as Array<{ command: string; title: string; category: string }>)
      .map((c) => [c.command, c.title, c.category])
      .sort();
    const table = Object.values(COMMANDS)
      .map((c) => [c.id, c.title, 'Prompt CI'])
      .sort();
    assert.deepEqual(contributed, table);
  });

  it('activates narrowly, never on *', () => {
    assert.ok(!pkg.activationEvents.includes('*'));
    assert.ok(pkg.activationEvents.includes('workspaceContains:**/prompts/**/metadata.yaml'));
  });

  it('commits a JSON Schema of metadata.yaml that matches the zod schema', () => {
    // esbuild.mjs regenerates it on every build; this catches a schema change committed without it.
    execFileSync(process.execPath, [join(root, 'esbuild.mjs'), '--check-schema'], { cwd: root, stdio: 'pipe' });
  });
});
