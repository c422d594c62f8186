import * as assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
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

describe('what ships', () => {
  it('the npm package holds the built bundles and assets, no sources, tests or the API stand-in', function () {
    this.timeout(60_000);
    const out = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    const files = (JSON.parse(out) as Array<{ files: Array<{ path: string }> }>)[0].files.map((f) => f.path);
    assert.ok(files.includes('package.json'));
    const unwanted = files.filter((f) => /^(src|test|scripts|examples|docs)\//.test(f) || /standIn/i.test(f));
    assert.deepEqual(unwanted, []);
  });

  it('.vscodeignore is an allow-list that admits nothing from src/, test/ or scripts/', () => {
    const lines = readFileSync(join(root, '.vscodeignore'), 'utf8').split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));
    assert.equal(lines[0], '**');
    const admitted = lines.filter((l) => l.startsWith('!')).map((l) => l.slice(1));
    assert.deepEqual(admitted.filter((p) => /^(src|test|scripts)\b/.test(p) || p.startsWith('**')), []);
  });

  it('nothing in src/ imports test or demo code', () => {
    // git grep exits 1 when nothing matches, 0 with the files that do.
    const grep = spawnSync('git', ['grep', '-l', '-E', "from '(\\.\\./)+(test|scripts)/", '--', 'src'], { cwd: root, encoding: 'utf8' });
    assert.equal(grep.status, 1, `src/ files importing test or demo code:\n${grep.stdout}${grep.stderr}`);
  });
});
