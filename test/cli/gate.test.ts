import * as assert from 'node:assert/strict';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { StandIn } from '../support/standIn/server';
import { EVAL_EXAMPLES, SUMMARISATION_V2, git, harmlessEdit, regressingEdit, runCliAsync, useGateRepo } from './gateRepo';

const KEY = 'gate-test-key';

describe('prompt-ci gate', function () {
  this.timeout(60_000);
  let standIn: StandIn;
  let repo: string;
  let env: Record<string, string>;

  const shared = useGateRepo(KEY);
  beforeEach(() => {
    ({ standIn, repo, env } = shared);
  });

  it('says so and exits 0 without a call when no prompt changed', async () => {
    writeFileSync(join(repo, 'README.md'), 'Edited, but not a prompt.\n');
    const before = standIn.stats().total;
    const run = await runCliAsync(['gate'], repo, env);
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stdout, /^gate: no prompt changed since main \(merge-base [0-9a-f]{12}\): nothing to gate\n$/);
    assert.equal(standIn.stats().total, before, 'no call');
  });

  it('passes a harmless committed change, evaluating only the changed version, and records the run', async () => {
    harmlessEdit(repo);
    git(repo, 'commit', '-qam', 'Punctuation');
    const run = await runCliAsync(['gate'], repo, env);
    assert.equal(run.status, 0, run.stdout + run.stderr);
    assert.match(run.stdout, /1 prompt version changed since main/);
    assert.match(run.stdout, /^ {2}prompts\/summarisation\/v2: system\.md$/m);
    assert.match(run.stdout, /^check: 0 errors/m);
    assert.match(run.stdout, new RegExp(`^prompts/summarisation/v2: PASS · pass rate 100\\.0% \\(${EVAL_EXAMPLES}/${EVAL_EXAMPLES}\\)`, 'm'));
    assert.match(run.stdout, /^gate: PASS \(1 passed\)$/m);
    assert.doesNotMatch(run.stdout, /classification/);

    const history = readFileSync(join(repo, '.prompt-ci', 'history.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    assert.equal(history.length, 1);
    assert.deepEqual(
      { prompt: history[0].prompt, version: history[0].version, winRate: history[0].winRate, model: history[0].model, source: history[0].source },
      { prompt: 'summarisation', version: 2, winRate: 1, model: 'claude-sonnet-4-6', source: 'gate' },
    );
    assert.equal(history[0].commit, git(repo, 'rev-parse', 'HEAD').trim());

    // A second run replays the cache: no call, and the same measurement is not recorded twice.
    const calls = standIn.requests.length;
    const again = await runCliAsync(['gate'], repo, env);
    assert.equal(again.status, 0, again.stderr);
    assert.equal(standIn.requests.length, calls);
    assert.equal(readFileSync(join(repo, '.prompt-ci', 'history.jsonl'), 'utf8').trim().split('\n').length, 1);
  });

  it('blocks a committed regression and lists the regressed examples', async () => {
    regressingEdit(repo);
    git(repo, 'commit', '-qam', 'Shorter summaries');
    const run = await runCliAsync(['gate'], repo, env);
    assert.equal(run.status, 1, run.stdout + run.stderr);
    assert.match(run.stdout, /^prompts\/summarisation\/v2: BLOCKED · pass rate 0\.0% \(0\/8\) vs baseline 100\.0% \(8\/8\) · 8 regressed, 0 improved, p = 0\.007813$/m);
    assert.match(run.stdout, /^ {2}- blocked: challenger pass rate 0\.0% is below threshold_win_rate 80\.0%$/m);
    assert.match(run.stdout, /^ {2}- blocked: 8 examples regressed and 0 improved; McNemar p = 0\.007813/m);
    assert.match(run.stdout, /^ {2}regressed examples \(8\):$/m);
    for (let i = 1; i <= EVAL_EXAMPLES; i++) {
      assert.match(run.stdout, new RegExp(`^ {4}sum-00${i} \\(eval\\.jsonl line ${i}\\): baseline correct \\(score 5\\), challenger wrong`, 'm'));
    }
    assert.match(run.stdout, /^gate: BLOCKED \(1 blocked\)$/m);
    assert.ok(!existsSync(join(repo, '.prompt-ci', 'history.jsonl')), 'a blocked run is not recorded');
  });

  it('sees uncommitted changes: unstaged, staged and untracked', async () => {
    regressingEdit(repo); // unstaged
    const unstaged = await runCliAsync(['gate'], repo, env);
    assert.equal(unstaged.status, 1, unstaged.stdout + unstaged.stderr);
    assert.match(unstaged.stdout, /prompts\/summarisation\/v2: BLOCKED/);

    git(repo, 'add', '-A'); // staged
    const staged = await runCliAsync(['gate'], repo, env);
    assert.equal(staged.status, 1, staged.stdout + staged.stderr);
    assert.match(staged.stdout, /prompts\/summarisation\/v2: BLOCKED/);

    // Untracked: a new version v3 (a copy of the committed v2) is compared with v2 at main.
    git(repo, 'checkout', '-q', 'HEAD', '--', '.');
    cpSync(join(repo, SUMMARISATION_V2), join(repo, 'prompts', 'summarisation', 'v3'), { recursive: true });
    writeFileSync(
      join(repo, 'prompts', 'summarisation', 'v3', 'metadata.yaml'),
      readFileSync(join(repo, 'prompts', 'summarisation', 'v3', 'metadata.yaml'), 'utf8').replace('version: 2', 'version: 3'),
    );
    const untracked = await runCliAsync(['gate'], repo, env);
    assert.equal(untracked.status, 0, untracked.stdout + untracked.stderr);
    assert.match(untracked.stdout, /^ {2}prompts\/summarisation\/v3: eval\.jsonl, judge\.md, metadata\.yaml, system\.md, user\.template\.md$/m);
    assert.match(untracked.stdout, /^ {2}baseline: prompts\/summarisation\/v2 at main \([0-9a-f]{12}\), the highest version below v3 there$/m);
    assert.match(untracked.stdout, /^prompts\/summarisation\/v3: PASS/m);
  });

  it('holds a new prompt to its own thresholds, and lists a removed version without evaluating it', async () => {
    const faq = join(repo, 'prompts', 'faq', 'v1');
    cpSync(join(repo, SUMMARISATION_V2), faq, { recursive: true });
    writeFileSync(join(faq, 'metadata.yaml'), readFileSync(join(faq, 'metadata.yaml'), 'utf8').replace('name: summarisation', 'name: faq').replace('version: 2', 'version: 1'));
    rmSync(join(repo, 'prompts', 'summarisation', 'v1'), { recursive: true });
    const run = await runCliAsync(['gate'], repo, env);
    assert.match(run.stdout, /^ {2}prompts\/summarisation\/v1 \(removed\): eval\.jsonl, metadata\.yaml, system\.md, user\.template\.md$/m);
    assert.match(run.stdout, /^prompts\/faq\/v1: PASS · pass rate 100\.0% \(8\/8\) vs baseline 100\.0% \(8\/8\)/m);
    assert.match(run.stdout, /^ {2}baseline: none at main: a new prompt, compared with itself$/m);
    assert.match(run.stdout, /^ {2}note: new prompt: no version of it exists at the base ref, so it is held to its own thresholds only$/m);
    assert.match(run.stdout, /^prompts\/summarisation\/v1: REMOVED$/m);
    // The application code still renders summarisation v1: check reports the call, and that blocks.
    assert.match(run.stdout, /^src\/llm\/summarise\.py:\d+:\d+: error /m);
    assert.equal(run.status, 1);
  });

  it('ignores an edit that was committed and then reverted in the working tree', async () => {
    regressingEdit(repo);
    git(repo, 'commit', '-qam', 'Shorter summaries');
    git(repo, 'checkout', '-q', 'main', '--', SUMMARISATION_V2);
    const run = await runCliAsync(['gate'], repo, env);
    assert.equal(run.status, 0, run.stdout + run.stderr);
    assert.match(run.stdout, /no prompt changed since main/);
  });

  it('gates a prompt whose call sites changed, at the version they name', async () => {
    const path = join(repo, 'src', 'llm', 'triage.py');
    const text = readFileSync(path, 'utf8');
    const edited = text.replace(/render_prompt\(\s*"classification"/, (m) => m.replace('"classification"', '"classification/v1"'));
    assert.notEqual(edited, text, 'the example call site moved');
    writeFileSync(path, edited);
    const run = await runCliAsync(['gate', '--offline'], repo, env);
    assert.match(run.stdout, /^ {2}prompts\/classification\/v1: call sites in src\/llm\/triage\.py$/m);
    // Offline with an empty cache: every example is a cache miss, so the verdict is inconclusive.
    assert.match(run.stdout, /^prompts\/classification\/v1: INCONCLUSIVE/m);
    assert.equal(run.status, 1);

    // Moving a call site without editing it is no change.
    git(repo, 'checkout', '-q', '--', 'src');
    writeFileSync(path, `# A comment above everything.\n\n${text}`);
    const moved = await runCliAsync(['gate'], repo, env);
    assert.equal(moved.status, 0, moved.stdout + moved.stderr);
    assert.match(moved.stdout, /no prompt changed/);
  });

  it('blocks on check errors anywhere, and reports a prompt whose files stop its eval', async () => {
    const metadata = join(repo, 'prompts', 'classification', 'v1', 'metadata.yaml');
    writeFileSync(metadata, readFileSync(metadata, 'utf8').replace('temperature: 0.0', 'temperature: warm'));
    const run = await runCliAsync(['gate'], repo, env);
    assert.equal(run.status, 1, run.stdout + run.stderr);
    assert.match(run.stdout, /^prompts\/classification\/v1\/metadata\.yaml:4:14: error metadata\/wrong-type: /m);
    assert.match(run.stdout, /^prompts\/classification\/v1: ERROR$/m);
    assert.match(run.stdout, /^gate: BLOCKED \(1 could not run, check found 1 error\)$/m);
  });

  it('writes annotations and appends the Markdown report to $GITHUB_STEP_SUMMARY', async () => {
    regressingEdit(repo);
    git(repo, 'commit', '-qam', 'Shorter summaries');
    const summary = join(mkdtempSync(join(tmpdir(), 'prompt-ci-summary-')), 'summary.md');
    writeFileSync(summary, 'Earlier step\n');
    const run = await runCliAsync(['gate', '--format', 'github', '--markdown', 'gate.md', '--json', 'gate.json'], repo, {
      ...env,
      GITHUB_STEP_SUMMARY: summary,
    });
    assert.equal(run.status, 1, run.stdout + run.stderr);
    assert.match(run.stdout, /^::error file=prompts\/summarisation\/v2\/metadata\.yaml,line=1,title=prompt-ci gate%3A prompts\/summarisation\/v2 blocked::pass rate 0\.0%25/m);
    assert.match(run.stdout, /^::error file=prompts\/summarisation\/v2\/eval\.jsonl,line=3,title=prompt-ci gate%3A sum-003 regressed::baseline correct \(score 5\), challenger wrong/m);
    const markdown = readFileSync(summary, 'utf8');
    assert.ok(markdown.startsWith('Earlier step\n# Prompt CI gate: ❌ blocked\n'), markdown.slice(0, 200));
    assert.match(markdown, /\| <code>prompts\/summarisation\/v2<\/code> \| ❌ blocked \| 0\.0% \| 100\.0% \| 8 \/ 0 \| system\.md \|/);
    assert.match(markdown, /## Prompt CI eval: ❌ \*\*blocked\*\* — <code>summarisation<\/code> v2/);
    assert.match(markdown, /### Regressed examples \(8\)/);
    assert.equal(readFileSync(join(repo, 'gate.md'), 'utf8'), markdown.slice('Earlier step\n'.length, -1));
    const json = JSON.parse(readFileSync(join(repo, 'gate.json'), 'utf8'));
    assert.equal(json.schema, 'prompt-ci/gate-report@1');
    assert.equal(json.status, 'blocked');
    assert.equal(json.prompts[0].dir, SUMMARISATION_V2);
    assert.equal(json.prompts[0].report.mcnemar.regressed, 8);
  });

  it('exits 2 on usage and environment errors', async () => {
    const usage = await runCliAsync(['gate', '--format', 'xml'], repo, env);
    assert.equal(usage.status, 2);
    assert.match(usage.stderr, /--format must be text or github/);

    const noRef = await runCliAsync(['gate', '--base', 'release'], repo, env);
    assert.equal(noRef.status, 2);
    assert.match(noRef.stderr, /the base ref "release" does not exist in this repository/);

    harmlessEdit(repo);
    const noKey = await runCliAsync(['gate'], repo, { ANTHROPIC_BASE_URL: standIn.url });
    assert.equal(noKey.status, 2, noKey.stdout);
    assert.match(noKey.stderr, /no Anthropic API key/);

    const outside = mkdtempSync(join(tmpdir(), 'prompt-ci-empty-'));
    const noRepo = await runCliAsync(['gate'], outside, env);
    assert.equal(noRepo.status, 2);
    assert.match(noRepo.stderr, /no prompt repository here/);
  });

  it('diffs against --base and reads baselines there too', async () => {
    git(repo, 'branch', 'release', 'main');
    regressingEdit(repo);
    git(repo, 'commit', '-qam', 'Shorter summaries');
    git(repo, 'branch', '-f', 'release', 'HEAD');
    harmlessEdit(repo);
    const run = await runCliAsync(['gate', '--base', 'release'], repo, env);
    // Against release (which has the word limit), only the punctuation edit is new.
    assert.match(run.stdout, /changed since release/);
    assert.match(run.stdout, /baseline: prompts\/summarisation\/v2 at release/);
    assert.match(run.stdout, /prompts\/summarisation\/v2: BLOCKED · pass rate 0\.0% \(0\/8\) vs baseline 0\.0% \(0\/8\) · 0 regressed/);
    assert.equal(run.status, 1);
  });
});
