import { strict as assert } from 'node:assert';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseRepoSettings } from '../../src/core/repoSettings';
import { GitError, runGit } from '../../src/node/git';
import type { GitRunner } from '../../src/node/git';
import { checkReleasedVersions, findReleaseChanges } from '../../src/node/releasedVersions';
import { git } from '../support/git';


function writePrompt(root: string, dir: string, system: string): void {
  const abs = join(root, dir);
  mkdirSync(abs, { recursive: true });
  const [, name, v] = /([^/]+)\/v(\d+)$/.exec(dir) ?? [];
  writeFileSync(join(abs, 'system.md'), system);
  writeFileSync(join(abs, 'user.template.md'), 'user {document}\n');
  writeFileSync(join(abs, 'eval.jsonl'), '{"id": "a", "inputs": {"document": "x"}}\n');
  writeFileSync(join(abs, 'metadata.yaml'), `name: ${name}\nversion: ${v}\nmodel: claude-sonnet-4-6\n`);
}

/** `main` holds summarisation v1; HEAD is branch `feature`, one commit (outside prompts/) past it. */
function makeRepo(): string {
  const root = mkdtempSync(join(tmpdir(), 'prompt-ci-release-changes-'));
  git(root, 'init', '-q', '-b', 'main');
  writePrompt(root, 'prompts/summarisation/v1', 'Summarise.\n');
  git(root, 'add', '-A');
  git(root, 'commit', '-q', '-m', 'prompts');
  git(root, 'checkout', '-q', '-b', 'feature');
  writeFileSync(join(root, 'README.md'), 'Prompts.\n');
  git(root, 'add', '-A');
  git(root, 'commit', '-q', '-m', 'readme');
  return root;
}

/** The real git, with each invocation's subcommand recorded. */
function recording(asked: string[], refuse?: (args: readonly string[]) => boolean): GitRunner {
  return async (args, options) => {
    asked.push(args[0]);
    // What git before 2.30 answers to an option it doesn't know.
    if (refuse?.(args)) throw new GitError([...args], 129, `error: invalid option: ${args.find((a) => a.startsWith('--merge-base'))}`);
    return runGit(args, options);
  };
}

describe("check's released-version changes", () => {
  const settings = parseRepoSettings('baselineRef: main\n').settings;
  const roots: string[] = [];
  const repo = (): string => {
    const root = makeRepo();
    roots.push(root);
    return root;
  };
  after(() => {
    for (const root of roots) rmSync(root, { recursive: true, force: true });
  });

  it('asks git two questions when no version directory changed: the base commit, and the diff from its merge-base', async () => {
    const root = repo();
    const asked: string[] = [];
    const changes = await findReleaseChanges(root, settings, recording(asked));
    assert.deepEqual(changes?.changed, []);
    assert.deepEqual(asked, ['rev-parse', 'diff']);
    assert.deepEqual(await checkReleasedVersions(root, settings, recording([]), Promise.resolve(changes)), []);
  });

  it('compares a released version edited in the working tree with its merge-base', async () => {
    const root = repo();
    writeFileSync(join(root, 'prompts/summarisation/v1/system.md'), 'Summarise, briefly.\n');
    const asked: string[] = [];
    const changes = await findReleaseChanges(root, settings, recording(asked));
    const main = git(root, 'rev-parse', 'main');
    assert.deepEqual(changes, { base: { baseRef: 'main', baseCommit: main, mergeBase: main }, changed: ['prompts/summarisation/v1'] });
    assert.deepEqual(asked, ['rev-parse', 'diff', 'merge-base']);
    const findings = await checkReleasedVersions(root, settings, runGit, Promise.resolve(changes));
    assert.deepEqual(findings.map((f) => [f.code, f.file]), [['release/request-changed', 'prompts/summarisation/v1/system.md']]);
  });

  it('gives the same answers through merge-base and diff when git refuses --merge-base (git before 2.30)', async () => {
    const root = repo();
    const refuse = (args: readonly string[]): boolean => args.includes('--merge-base');
    const unchanged = await findReleaseChanges(root, settings, recording([], refuse));
    assert.deepEqual(unchanged?.changed, []);
    writeFileSync(join(root, 'prompts/summarisation/v1/system.md'), 'Summarise, briefly.\n');
    const asked: string[] = [];
    const main = git(root, 'rev-parse', 'main');
    assert.deepEqual(await findReleaseChanges(root, settings, recording(asked, refuse)), {
      base: { baseRef: 'main', baseCommit: main, mergeBase: main },
      changed: ['prompts/summarisation/v1'],
    });
    assert.deepEqual(asked, ['rev-parse', 'diff', 'merge-base', 'diff']);
  });

  it('finds no base when the branch shares no history with the base ref', async () => {
    const root = repo();
    git(root, 'checkout', '-q', '--orphan', 'island');
    git(root, 'commit', '-q', '-m', 'unrelated');
    assert.equal(await findReleaseChanges(root, settings, runGit), undefined);
  });
});
