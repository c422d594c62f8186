import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, sep } from 'node:path';
import { CLI, copyFixture } from './cliHarness';

const DIST = join(__dirname, '..', '..', 'dist');

/** The packages the command bundles load from node_modules (not bundled): only the commands that use them may. */
const EXTERNAL = ['pg', '@electric-sql/pglite', '@opentelemetry/api'];

/**
 * Runs the built CLI with a preload that, at exit, writes the files the process loaded (the
 * CommonJS module cache) to a list, and returns them relative to the project (`dist/...`,
 * `node_modules/...`).
 */
function loadedFiles(args: string[], cwd: string): { status: number | null; files: string[] } {
  const dir = mkdtempSync(join(tmpdir(), 'prompt-ci-loaded-'));
  try {
    const out = join(dir, 'loaded.json');
    const preload = join(dir, 'preload.js');
    writeFileSync(preload, `process.on('exit', () => require('fs').writeFileSync(${JSON.stringify(out)}, JSON.stringify(Object.keys(require.cache))));\n`);
    const result = spawnSync(process.execPath, ['--require', preload, CLI, ...args], {
      cwd,
      encoding: 'utf8',
      env: { PATH: process.env.PATH ?? '', HOME: cwd },
      timeout: 120_000,
    });
    const project = join(__dirname, '..', '..');
    const files = (JSON.parse(readFileSync(out, 'utf8')) as string[]).filter((f) => f !== preload).map((f) => relative(project, f).split(sep).join('/'));
    return { status: result.status, files };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const externalIn = (files: string[]) => EXTERNAL.filter((p) => files.some((f) => f.includes(`node_modules/${p}/`)));

describe('prompt-ci loads a command\'s code only when it runs', () => {
  it('--version and --help load dist/cli.js alone: no command bundle, no package', () => {
    for (const args of [['--version'], ['--help']]) {
      const { status, files } = loadedFiles(args, DIST);
      assert.equal(status, 0, args.join(' '));
      assert.deepEqual(files, ['dist/cli.js'], args.join(' '));
    }
  });

  it('check loads its own bundle, no other command\'s, and neither the database drivers nor OpenTelemetry', () => {
    const repo = copyFixture('examples');
    try {
      const { status, files } = loadedFiles(['check'], repo);
      assert.equal(status, 0);
      assert.deepEqual(files.filter((f) => f.startsWith('dist/')), ['dist/cli.js', 'dist/cli/checkCommand.js']);
      assert.deepEqual(externalIn(files), []);
    } finally {
      rmSync(repo, { recursive: true, force: true });
    }
  });

  it('an unknown command is reported from the table without loading any command', () => {
    const { status, files } = loadedFiles(['no-such-command'], DIST);
    assert.equal(status, 2);
    assert.deepEqual(files, ['dist/cli.js']);
  });
});
