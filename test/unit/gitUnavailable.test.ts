import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { prepareEval, replaySpanText } from '../../src/api';
import { GitError, GitUnavailableError, dubiousOwnershipIn, gitTopLevel, resolveCommit, runGit, topLevelAndCommit } from '../../src/node/git';

const EXAMPLES = join(__dirname, '..', '..', 'examples');
const SPAN = join(__dirname, '..', 'fixtures', 'spans', 'otlp-span.json');

describe('git unavailable', () => {
  describe("git's refusal of a repository owned by someone else", () => {
    it('reads the repository from both wordings git has used', () => {
      // git 2.36+ (recorded from git 2.39.5).
      assert.equal(
        dubiousOwnershipIn("fatal: detected dubious ownership in repository at '/srv/prompts'\nTo add an exception for this directory, call:\n\n\tgit config --global --add safe.directory /srv/prompts\n"),
        '/srv/prompts',
      );
      // git 2.35.2 to 2.35.x.
      assert.equal(dubiousOwnershipIn("fatal: unsafe repository ('/srv/prompts' is owned by someone else)\n"), '/srv/prompts');
      assert.equal(dubiousOwnershipIn('fatal: not a git repository (or any of the parent directories): .git\n'), undefined);
    });

    it('quotes a path with spaces in the suggested command', () => {
      const error = new GitUnavailableError(['status'], 'dubious-ownership', '', '/srv/my prompts');
      assert.match(error.message, /safe\.directory "\/srv\/my prompts"/);
    });
  });

  describe('through the Node API, with git not on PATH', function () {
    this.timeout(60_000);
    let repo: string;
    let bin: string;
    let savedPath: string | undefined;
    before(() => {
      repo = mkdtempSync(join(tmpdir(), 'prompt-ci-nogit-'));
      cpSync(EXAMPLES, repo, { recursive: true });
      const env = { PATH: process.env.PATH ?? '', HOME: repo, GIT_CONFIG_NOSYSTEM: '1', GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@example.com', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@example.com' };
      for (const args of [['init', '-q', '-b', 'main'], ['add', '-A'], ['commit', '-qm', 'examples']]) execFileSync('git', args, { cwd: repo, env, stdio: 'pipe' });
      bin = mkdtempSync(join(tmpdir(), 'prompt-ci-bin-'));
      symlinkSync(process.execPath, join(bin, 'node'));
      savedPath = process.env.PATH;
      process.env.PATH = bin;
    });
    after(() => {
      process.env.PATH = savedPath;
      rmSync(repo, { recursive: true, force: true });
      rmSync(bin, { recursive: true, force: true });
    });

    it('gitTopLevel, resolveCommit and topLevelAndCommit throw instead of answering "not a repository"', async () => {
      await assert.rejects(gitTopLevel(runGit, repo), (error: unknown) => error instanceof GitUnavailableError && error.reason === 'not-installed');
      await assert.rejects(resolveCommit(runGit, repo, 'HEAD'), GitUnavailableError);
      await assert.rejects(topLevelAndCommit(runGit, repo, 'main'), GitUnavailableError);
    });

    it('prepareEval says git is missing', async () => {
      await assert.rejects(
        prepareEval({ repoRoot: repo, promptDir: 'prompts/classification/v1', offline: true }),
        (error: unknown) => error instanceof GitUnavailableError && /^git is not installed or not on PATH: .*Install git/.test(error.message),
      );
    });

    it('replaySpanText says git is missing', async () => {
      await assert.rejects(replaySpanText(readFileSync(SPAN, 'utf8'), { repoRoot: repo }), GitUnavailableError);
    });

    it('a working folder that does not exist is not "git is not installed"', async () => {
      await assert.rejects(runGit(['status'], { cwd: join(repo, 'gone') }), (error: unknown) => error instanceof GitError && !(error instanceof GitUnavailableError) && /folder .*gone does not exist/.test(error.message));
    });
  });
});
