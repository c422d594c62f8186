import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { copyFixture, runCli } from './cliHarness';

const MAGIC = 'prompt-ci code cache 1\n';

/** A git repository holding the example workspace, on a branch off main, with nothing uncommitted. */
function exampleRepo(): string {
  const repo = copyFixture('examples');
  rmSync(join(repo, 'node_modules'), { recursive: true, force: true });
  rmSync(join(repo, '.prompt-ci'), { recursive: true, force: true });
  const env = { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@example.invalid', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@example.invalid' };
  const git = (...args: string[]) => execFileSync('git', args, { cwd: repo, env, stdio: 'pipe' }).toString('utf8');
  git('init', '-q', '-b', 'main');
  git('add', '-A');
  git('commit', '-q', '-m', 'prompts');
  git('checkout', '-q', '-b', 'feature');
  return repo;
}

const gitStatus = (repo: string): string => execFileSync('git', ['status', '--porcelain', '--ignored=no'], { cwd: repo }).toString('utf8');

describe('the start-up caches of prompt-ci check', () => {
  let repo: string;
  let xdg: string;
  const codeCache = () => join(xdg, 'prompt-ci', 'code-cache');
  const cacheFiles = () => (existsSync(codeCache()) ? readdirSync(codeCache()) : []);
  const check = (env: Record<string, string> = {}) => runCli(['check'], repo, { XDG_CACHE_HOME: xdg, ...env });

  beforeEach(() => {
    repo = exampleRepo();
    xdg = mkdtempSync(join(tmpdir(), 'prompt-ci-xdg-'));
  });
  afterEach(() => {
    rmSync(repo, { recursive: true, force: true });
    rmSync(xdg, { recursive: true, force: true });
  });

  it("writes the check bundle's code cache to the user's cache folder and its parsed files under .prompt-ci/index, leaving git status clean", () => {
    const first = check();
    assert.equal(first.status, 0, first.stderr);
    const files = cacheFiles();
    // Node >= 22.1 keeps its own compile cache in the folder; on Node 20 the loader writes one file per bundle.
    if (!files.some((f) => !f.endsWith('.bin'))) {
      assert.deepEqual(files.map((f) => f.replace(/-[0-9a-f]{20}\.bin$/, '')), ['checkCommand']);
      assert.equal(readFileSync(join(codeCache(), files[0])).toString('latin1', 0, MAGIC.length), MAGIC);
    }
    assert.ok(readdirSync(join(repo, '.prompt-ci', 'index')).some((f) => f.endsWith('.bin')));
    assert.equal(gitStatus(repo), '', 'nothing the check wrote shows in git status');

    const second = check();
    assert.deepEqual([second.status, second.stdout, second.stderr], [first.status, first.stdout, first.stderr]);
    assert.deepEqual(cacheFiles(), files, 'a usable cache is not rewritten');
  });

  it('ignores a corrupt, cut-short or foreign code cache, works the same, and writes a good one in its place', () => {
    const first = check();
    assert.equal(first.status, 0, first.stderr);
    const [file] = cacheFiles().filter((f) => f.endsWith('.bin'));
    if (file === undefined) return; // Node's own compile cache (Node >= 22.1) checks its files itself
    const path = join(codeCache(), file);
    const good = readFileSync(path);
    const flipped = Buffer.from(good);
    flipped[Math.floor(flipped.length * 0.6)] ^= 0xff;
    const foreign = Buffer.concat([Buffer.from(MAGIC, 'latin1'), Buffer.alloc(20), Buffer.from('cached data of something else')]);
    for (const bad of [flipped, good.subarray(0, good.length - 1000), foreign, Buffer.from('garbage'), Buffer.alloc(0)]) {
      writeFileSync(path, bad);
      const run = check();
      assert.deepEqual([run.status, run.stdout, run.stderr], [first.status, first.stdout, first.stderr]);
      const after = readFileSync(path);
      assert.equal(after.toString('latin1', 0, MAGIC.length), MAGIC, 'rewritten');
      assert.ok(after.length > 1000 && !after.equals(bad), 'rewritten whole');
    }
  });

  it('works the same when the cache folders cannot be written, and PROMPT_CI_NO_STARTUP_CACHE=1 writes neither', () => {
    const expected = check({ PROMPT_CI_NO_STARTUP_CACHE: '1' });
    assert.equal(expected.status, 0, expected.stderr);
    assert.deepEqual(cacheFiles(), []);
    assert.ok(!existsSync(join(repo, '.prompt-ci', 'index')));

    const blocked = join(xdg, 'a-file');
    writeFileSync(blocked, 'in the way');
    const unwritable = runCli(['check'], repo, { XDG_CACHE_HOME: blocked });
    assert.deepEqual([unwritable.status, unwritable.stdout, unwritable.stderr], [expected.status, expected.stdout, expected.stderr]);
  });
});
