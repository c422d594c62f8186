import * as assert from 'node:assert/strict';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { NotAtBaseError, resolveBaseline } from '../../src/node/baseline';
import type { GitRunner } from '../../src/node/git';
import { missingRefMessage, runGit } from '../../src/node/git';
import { runGate } from '../../src/node/runGate';
import { git, harmlessEdit, makeGateRepo, SUMMARISATION_V2 } from '../cli/gateRepo';
import { startStandIn } from '../support/standIn/server';
import type { StandIn } from '../support/standIn/server';

describe("the gate's base: resolved once, passed down", function () {
  this.timeout(120_000);
  let repo: string;
  let standIn: StandIn;

  before(async () => {
    standIn = await startStandIn({ port: 0, apiKey: 'sk-base', latencyMs: 0 });
  });
  after(async () => {
    await standIn.close();
  });
  beforeEach(() => {
    repo = makeGateRepo();
  });
  afterEach(() => {
    rmSync(repo, { recursive: true, force: true });
  });

  it('resolves the base ref to a commit once for every prompt it gates', async () => {
    harmlessEdit(repo);
    // A second changed prompt, new on the branch: it has no version at the base.
    const v1 = join(repo, 'prompts', 'summarisation', 'v1');
    const fresh = join(repo, 'prompts', 'fresh', 'v1');
    mkdirSync(fresh, { recursive: true });
    for (const file of ['system.md', 'user.template.md', 'eval.jsonl']) writeFileSync(join(fresh, file), readFileSync(join(repo, SUMMARISATION_V2, file)));
    writeFileSync(join(fresh, 'metadata.yaml'), readFileSync(join(v1, 'metadata.yaml'), 'utf8').replace(/^name: .*$/m, 'name: fresh'));
    const resolutions: string[] = [];
    const recording: GitRunner = (args, options) => {
      if (args[0] === 'rev-parse' && args.includes('--verify')) resolutions.push(String(args[args.length - 1]));
      return runGit(args, options);
    };
    const run = await runGate({
      repoRoot: repo,
      base: 'main',
      git: recording,
      apiKey: 'sk-base',
      baseURL: standIn.url,
      recordHistory: false,
    });
    assert.deepEqual(run.results.map((r) => r.prompt.dir).sort(), ['prompts/fresh/v1', SUMMARISATION_V2]);
    assert.equal(resolutions.filter((rev) => rev === 'main^{commit}').length, 1, `resolved: ${resolutions.join(', ')}`);
    const fresher = run.results.find((r) => r.prompt.dir === 'prompts/fresh/v1');
    assert.match(fresher?.baseline ?? '', /^none at main: a new prompt/);
  });

  it('says "not at base" with its own error, and reads the base commit it is given', async () => {
    const main = git(repo, 'rev-parse', 'main').trim();
    await assert.rejects(
      resolveBaseline({ repoRoot: repo, challengerDir: 'prompts/fresh/v1', base: { ref: 'main', commit: main } }),
      (error: unknown) => error instanceof NotAtBaseError && /no baseline for prompts\/fresh\/v1/.test((error as Error).message),
    );
    // Given a commit, no ref is looked up: a baselineRef that doesn't exist is not read.
    const baseline = await resolveBaseline({ repoRoot: repo, challengerDir: SUMMARISATION_V2, baselineRef: 'no-such-ref', base: { ref: 'main', commit: main } });
    assert.equal(baseline.commit, main);
  });

  it('names a remote that exists in the fetch advice, or says there is none', async () => {
    const context = { role: 'base', refs: ['origin/main', 'main'], configured: false, instead: '--base REF' };
    assert.match(await missingRefMessage(runGit, repo, context), /has no remote to fetch it from: add one \(git remote add origin URL\) and fetch \(git fetch origin\) \(or set baselineRef in prompt-ci.yaml\), or pass --base REF$/);
    git(repo, 'remote', 'add', 'upstream', 'https://example.invalid/x.git');
    const message = await missingRefMessage(runGit, repo, context);
    assert.match(message, /^neither base ref "origin\/main" nor "main" exists in this repository\. Fetch it with: git fetch upstream origin\/main:origin\/main/);
    assert.doesNotMatch(message, /git fetch origin/);
  });
});
