import * as assert from 'node:assert/strict';
import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startStandIn } from '../support/standIn/server';
import { demoAnswer } from '../support/standIn/demoAnswers';
import type { StandIn, StandInRequest } from '../support/standIn/server';
import { EVAL_EXAMPLES, SUMMARISATION_V2, git, harmlessEdit, runCliAsync, useGateRepo } from './gateRepo';

const KEY = 'drift-test-key';

function historyLines(repo: string): Array<Record<string, unknown>> {
  return readFileSync(join(repo, '.prompt-ci', 'history.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

function writeHistory(repo: string, record: Record<string, unknown>): void {
  mkdirSync(join(repo, '.prompt-ci'), { recursive: true });
  appendFileSync(join(repo, '.prompt-ci', 'history.jsonl'), `${JSON.stringify(record)}\n`);
}

const RECORD = {
  prompt: 'summarisation',
  version: 2,
  dir: SUMMARISATION_V2,
  winRate: 0.875,
  scored: 8,
  correct: 7,
  model: 'claude-sonnet-4-6',
  judgeModel: 'claude-opus-4-7',
  date: '2025-03-01T09:00:00.000Z',
  commit: 'a'.repeat(40),
  source: 'gate',
};

/** A model that changed under the prompt: task answers for half of the tickets come back cut to three words. */
function degraded(req: StandInRequest): string {
  const answer = demoAnswer(req.body);
  const user = JSON.stringify(req.body.messages);
  if (user.includes('<candidate>')) return answer;
  return user.length % 2 === 0 ? answer.split(/\s+/).slice(0, 3).join(' ') : answer;
}

describe('prompt-ci drift', function () {
  this.timeout(60_000);
  let standIn: StandIn;
  let repo: string;
  let env: Record<string, string>;

  const shared = useGateRepo(KEY);
  beforeEach(() => {
    ({ standIn, repo, env } = shared);
  });

  it('re-runs without the cache and finds no drift against the run the gate recorded', async () => {
    harmlessEdit(repo);
    git(repo, 'commit', '-qam', 'Punctuation');
    const gate = await runCliAsync(['gate'], repo, env);
    assert.equal(gate.status, 0, gate.stdout + gate.stderr);

    const calls = standIn.requests.length;
    const run = await runCliAsync(['drift', SUMMARISATION_V2], repo, env);
    assert.equal(run.status, 0, run.stdout + run.stderr);
    // Every call is made again; the two sides are the same prompt, and identical requests in flight share one call.
    const made = standIn.requests.length - calls;
    assert.ok(made >= EVAL_EXAMPLES * (1 + 3) && made <= EVAL_EXAMPLES * 2 * (1 + 3), `${made} calls`);
    assert.match(run.stdout, /^drift: re-running 1 prompt version without the cache \(threshold 3 points\)$/m);
    assert.match(run.stdout, /^prompts\/summarisation\/v2: stable · 100\.0% \(8\/8\) now vs 100\.0% \(8\/8\) on \d{4}-\d\d-\d\d at [0-9a-f]{12} · 0\.0 points$/m);
    assert.match(run.stdout, /^drift: none$/m);
    assert.equal(historyLines(repo).length, 1, 'drift records nothing without --record');
  });

  it('flags a model that got worse since the last passing run, and exits 1', async () => {
    harmlessEdit(repo);
    git(repo, 'commit', '-qam', 'Punctuation');
    assert.equal((await runCliAsync(['gate'], repo, env)).status, 0);

    const changed = await startStandIn({ port: 0, apiKey: KEY, latencyMs: 0, answer: degraded });
    try {
      const run = await runCliAsync(['drift', '--format', 'github', '--json', 'drift.json'], repo, { ...env, ANTHROPIC_BASE_URL: changed.url });
      assert.equal(run.status, 1, run.stdout + run.stderr);
      const line = /^prompts\/summarisation\/v2: DRIFT · (\d+\.\d)% \(\d\/8\) now vs 100\.0% \(8\/8\) on .+ · (-\d+\.\d) points \(more than 3\)$/m.exec(run.stdout);
      assert.ok(line, run.stdout);
      assert.ok(Number(line[2]) < -3);
      // Every prompt's highest version is re-run; classification has no recorded run to compare with.
      assert.match(run.stdout, /^prompts\/classification\/v1: no passing run recorded in \.prompt-ci\/history\.jsonl · .+ \(run with --record to keep it as the reference\)$/m);
      assert.match(run.stdout, /^drift: 1 of 2 moved more than 3 points$/m);
      assert.match(run.stdout, /^::error file=prompts\/summarisation\/v2\/metadata\.yaml,line=1,title=prompt-ci drift::prompts\/summarisation\/v2: DRIFT/m);
      const json = JSON.parse(readFileSync(join(repo, 'drift.json'), 'utf8'));
      assert.equal(json.prompts.find((p: { dir: string }) => p.dir === SUMMARISATION_V2).status, 'drifted');
    } finally {
      await changed.close();
    }
  });

  it('flags a move up as well, honours drift.thresholdPoints, and notes a changed model', async () => {
    writeHistory(repo, RECORD); // 87.5% then; the re-run scores 100%: +12.5 points
    const up = await runCliAsync(['drift', SUMMARISATION_V2], repo, env);
    assert.equal(up.status, 1, up.stdout + up.stderr);
    assert.match(up.stdout, /^prompts\/summarisation\/v2: DRIFT · 100\.0% \(8\/8\) now vs 87\.5% \(7\/8\) on 2025-03-01 at aaaaaaaaaaaa · \+12\.5 points \(more than 3\)$/m);

    appendFileSync(join(repo, 'prompt-ci.yaml'), '\ndrift:\n  thresholdPoints: 12.5\n');
    writeHistory(repo, { ...RECORD, model: 'claude-haiku-4-5' });
    const within = await runCliAsync(['drift', SUMMARISATION_V2], repo, env);
    assert.equal(within.status, 0, within.stdout + within.stderr);
    assert.match(within.stdout, /threshold 12\.5 points/);
    assert.match(within.stdout, /^prompts\/summarisation\/v2: stable · .+ · \+12\.5 points$/m);
    assert.match(within.stdout, /^ {2}note: the declared model changed since the recorded run \(claude-haiku-4-5 then, claude-sonnet-4-6 now\)$/m);
  });

  it('keeps the re-run as the new reference with --record', async () => {
    const run = await runCliAsync(['drift', '--record', 'prompts/summarisation'], repo, env);
    assert.equal(run.status, 0, run.stdout + run.stderr);
    assert.match(run.stdout, /^prompts\/summarisation\/v2: no passing run recorded in \.prompt-ci\/history\.jsonl · 100\.0% \(8\/8\) now \(recorded as the reference\)$/m);
    const [record] = historyLines(repo);
    assert.equal(record.source, 'drift');
    assert.equal(record.winRate, 1);

    const again = await runCliAsync(['drift', SUMMARISATION_V2], repo, env);
    assert.equal(again.status, 0);
    assert.match(again.stdout, /stable · 100\.0% \(8\/8\) now vs 100\.0% \(8\/8\)/);
  });

  it('exits 2 on usage and environment errors', async () => {
    const bad = await runCliAsync(['drift', 'src'], repo, env);
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /src is not a prompt \(prompts\/<name>\) or prompt version/);
    const noKey = await runCliAsync(['drift', SUMMARISATION_V2], repo, {});
    assert.equal(noKey.status, 2);
    assert.match(noKey.stderr, /no Anthropic API key/);
    const empty = mkdtempSync(join(tmpdir(), 'prompt-ci-empty-'));
    writeFileSync(join(empty, 'prompt-ci.yaml'), 'drift: { thresholdPoints: -1 }\n');
    const settings = await runCliAsync(['drift'], empty, env);
    assert.equal(settings.status, 2);
    assert.match(settings.stderr, /prompt-ci\.yaml is invalid: prompt-ci\.yaml: drift\.thresholdPoints/);
  });
});
