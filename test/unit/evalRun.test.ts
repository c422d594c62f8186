import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EvalProgress } from '../../src/core/eval/types';
import { demoAnswer } from '../support/standIn/demoAnswers';
import { startStandIn } from '../support/standIn/server';
import type { StandIn, StandInOptions, StandInRequest } from '../support/standIn/server';
import { BaselineError } from '../../src/node/baseline';
import { MissingApiKeyError, ModelCallError } from '../../src/node/modelClient';
import { EvalSetupError, prepareEval, runEval } from '../../src/node/runEval';
import type { RunEvalOptions } from '../../src/node/runEval';
import { evalReportSchema } from '../../src/shared/evalReport';
import type { ExampleResult } from '../../src/shared/evalReport';
import { compactResult } from '../../src/core/eval/report';
import { appendFileSync } from 'node:fs';

function git(cwd: string, ...args: string[]): void {
  execFileSync('git', args, {
    cwd,
    env: { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@example.com', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@example.com', HOME: cwd },
  });
}

const DOCS = [
  'The invoice was charged twice on 1 March. Support confirmed the duplicate capture. A refund of $86 was issued on 3 March. The customer asked for a receipt.',
  'The export job failed with a timeout. Engineering traced it to a missing index. The fix shipped on Friday. The customer confirmed the export now works.',
  'A user cannot log in after the password reset. The reset email arrived late. Support unlocked the account manually. The user asked about two-factor setup.',
  'The webhook deliveries stopped on Monday. The endpoint returned errors. The customer rotated the signing secret. Deliveries resumed after the change.',
  'The plan upgrade did not apply the extra seats. Billing showed the old plan. Support applied the seats by hand. The customer wants a credit for the delay.',
  'The mobile app crashes on start. The crash began with version 4.2. A hotfix is planned for next week. The customer asked for a workaround.',
];

function evalLines(docs: readonly string[], extra: (i: number) => Record<string, unknown> = () => ({})): string {
  return docs
    .map((doc, i) => {
      const sentences = doc.split('. ');
      return JSON.stringify({ id: `ex-${i + 1}`, inputs: { document: doc, ...extra(i) }, reference: `${sentences[0]}. ${sentences[1]}.` });
    })
    .join('\n');
}

function writeVersion(root: string, version: number, files: { system: string; user: string; evalJsonl: string; judge?: string; metadata?: string }): string {
  const dir = join(root, 'prompts', 'summarisation', `v${version}`);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'system.md'), files.system);
  writeFileSync(join(dir, 'user.template.md'), files.user);
  writeFileSync(join(dir, 'eval.jsonl'), files.evalJsonl);
  writeFileSync(
    join(dir, 'metadata.yaml'),
    files.metadata ??
      `name: summarisation\nversion: ${version}\nmodel: claude-sonnet-4-6\nmax_output_tokens: 300\neval:\n  threshold_win_rate: 0.5\n  judge: { model: claude-opus-4-7, repeats: 3 }\n`,
  );
  if (files.judge !== undefined) writeFileSync(join(dir, 'judge.md'), files.judge);
  return dir;
}

/** A repository whose main holds v1 (one sentence) and whose working tree adds v2 (two sentences). */
function makeRepo(options: { v1User?: string; v2Eval?: string; v2Judge?: string } = {}): string {
  const root = mkdtempSync(join(tmpdir(), 'prompt-ci-eval-'));
  git(root, 'init', '-q', '-b', 'main');
  writeVersion(root, 1, { system: 'Summarise the ticket in one sentence.', user: options.v1User ?? 'Ticket:\n<document>{document}</document>', evalJsonl: evalLines(DOCS) });
  git(root, 'add', '-A');
  git(root, 'commit', '-q', '-m', 'v1');
  writeVersion(root, 2, {
    system: 'Summarise the ticket in two sentences.',
    user: 'Ticket:\n<document>{document}</document>',
    evalJsonl: options.v2Eval ?? evalLines(DOCS),
    ...(options.v2Judge !== undefined ? { judge: options.v2Judge } : {}),
  });
  return root;
}

const CALLS_PER_EXAMPLE = 2 * (1 + 3);

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

const isJudge = (req: StandInRequest): boolean => JSON.stringify(req.body.messages).includes('<candidate>');

describe('runEval against the stand-in', () => {
  const roots: string[] = [];
  let standIn: StandIn | undefined;
  const repo = (options?: Parameters<typeof makeRepo>[0]): string => {
    const root = makeRepo(options);
    roots.push(root);
    return root;
  };
  const start = async (options: StandInOptions = {}): Promise<StandIn> => (standIn = await startStandIn(options));
  const opts = (root: string, server: StandIn | undefined, extra: Partial<RunEvalOptions> = {}): RunEvalOptions => ({
    repoRoot: root,
    promptDir: 'prompts/summarisation/v2',
    env: server ? { ANTHROPIC_API_KEY: 'test-key', ANTHROPIC_BASE_URL: server.url } : {},
    client: { backoff: { baseMs: 1, maxMs: 2 } },
    ...extra,
  });

  afterEach(async () => {
    await standIn?.close();
    standIn = undefined;
  });
  after(() => {
    for (const root of roots) rmSync(root, { recursive: true, force: true });
  });

  it('runs both sides and the judge, then a re-run of the unchanged eval makes no API call', async () => {
    const root = repo();
    const server = await start();
    const report = await runEval(opts(root, server));
    assert.ok(evalReportSchema.safeParse(report).success);
    assert.equal(report.examples.length, DOCS.length);
    assert.equal(report.cost.apiCalls, DOCS.length * CALLS_PER_EXAMPLE);
    assert.equal(server.requests.length, DOCS.length * CALLS_PER_EXAMPLE);
    assert.equal(report.cost.cacheHits, 0);
    assert.ok(report.examples.every((e) => e.outcome !== 'error' && e.outcome !== 'cancelled'), JSON.stringify(report.examples.map((e) => e.challenger.error ?? e.baseline.error)));
    assert.equal(report.baseline.ref, 'main');
    assert.equal(report.baseline.dir, 'prompts/summarisation/v1');
    assert.equal(report.challenger.dir, 'prompts/summarisation/v2');
    assert.equal(report.challenger.source, 'working-tree');
    assert.equal(report.judge.rubric, 'default');
    // Each side with its own prompt; both on the challenger's examples.
    const tasks = server.requests.filter((r) => !isJudge(r));
    assert.equal(tasks.filter((r) => r.body.system === 'Summarise the ticket in one sentence.').length, DOCS.length);
    assert.equal(tasks.filter((r) => r.body.system === 'Summarise the ticket in two sentences.').length, DOCS.length);
    assert.ok(server.requests.filter(isJudge).every((r) => r.body.model === 'claude-opus-4-7'));
    assert.ok(report.cost.estimate && report.cost.estimate.calls === DOCS.length * CALLS_PER_EXAMPLE);
    assert.equal(report.cost.estimate?.cachedCalls, 0);

    const again = await runEval(opts(root, server));
    assert.equal(server.requests.length, DOCS.length * CALLS_PER_EXAMPLE, 'the re-run made no API call');
    assert.equal(again.cost.apiCalls, 0);
    assert.equal(again.cost.cacheHits, DOCS.length * CALLS_PER_EXAMPLE);
    assert.equal(again.cost.usd, 0);
    assert.deepEqual(again.examples.map((e) => e.outcome), report.examples.map((e) => e.outcome));
    assert.deepEqual(again.examples.map((e) => e.challenger.latencyMs), report.examples.map((e) => e.challenger.latencyMs), 'latency as recorded');
    assert.ok(again.examples.every((e) => e.challenger.cached && e.baseline.cached));
    assert.equal(again.cost.estimate?.cachedCalls, DOCS.length * CALLS_PER_EXAMPLE);
  });

  it('rides out a 429 storm and 500s: every call retried through the one pool, nothing lost', async () => {
    const root = repo();
    const server = await start({
      behaviour: (req) =>
        req.index < 20 ? { kind: 'rate-limit', retryAfterSeconds: 0.01 } : req.index % 7 === 0 ? { kind: 'server-error' } : req.index % 11 === 0 ? { kind: 'overloaded' } : undefined,
    });
    const report = await runEval(opts(root, server, { concurrency: 3 }));
    assert.ok(report.examples.every((e) => e.outcome !== 'error'), JSON.stringify(report.examples.map((e) => e.challenger.error ?? e.baseline.error)));
    assert.equal(report.cost.apiCalls, DOCS.length * CALLS_PER_EXAMPLE);
    const stats = server.stats();
    assert.equal(stats.byStatus[200], DOCS.length * CALLS_PER_EXAMPLE);
    assert.equal(stats.byStatus[429], 20);
    assert.ok(stats.byStatus[500] > 0 && stats.byStatus[529] > 0);
    assert.ok(stats.maxConcurrent <= 3, `at most 3 in flight, saw ${stats.maxConcurrent}`);
  });

  it('a fully cached re-run needs no API key at all', async () => {
    const root = repo();
    const server = await start();
    await runEval(opts(root, server));
    const report = await runEval({ ...opts(root, undefined), env: { ANTHROPIC_BASE_URL: `${server.url}/` } });
    assert.equal(report.cost.apiCalls, 0);
    assert.equal(server.requests.length, DOCS.length * CALLS_PER_EXAMPLE);
  });

  it('the cache is per endpoint: a stand-in’s answers are never served for another base URL', async () => {
    const root = repo();
    const server = await start();
    await runEval(opts(root, server));
    const other = await startStandIn();
    try {
      const report = await runEval({ ...opts(root, undefined), env: { ANTHROPIC_API_KEY: 'test-key', ANTHROPIC_BASE_URL: other.url } });
      assert.equal(report.cost.cacheHits, 0);
      assert.equal(other.requests.length, DOCS.length * CALLS_PER_EXAMPLE);
    } finally {
      await other.close();
    }
  });

  it('no API key: a clear error before any call', async () => {
    const root = repo();
    const server = await start();
    await assert.rejects(runEval({ ...opts(root, server), env: { ANTHROPIC_BASE_URL: server.url } }), (error: unknown) => {
      assert.ok(error instanceof MissingApiKeyError);
      assert.match((error as Error).message, /no Anthropic API key: set ANTHROPIC_API_KEY/);
      return true;
    });
    assert.equal(server.stats().total, 0);
  });

  it('a wrong base URL stops the run with a message naming it', async () => {
    const root = repo();
    const port = await closedPort();
    await assert.rejects(
      runEval({ ...opts(root, undefined), env: { ANTHROPIC_API_KEY: 'k', ANTHROPIC_BASE_URL: `http://127.0.0.1:${port}` }, client: { maxRetries: 1, backoff: { baseMs: 1, maxMs: 1 } } }),
      (error: unknown) => {
        assert.ok(error instanceof ModelCallError && error.fatal);
        assert.match((error as Error).message, new RegExp(`cannot reach the Anthropic API at http://127.0.0.1:${port}: connection refused`));
        return true;
      },
    );
  });

  it('the judge answering prose is an error for those examples, quoting the judge; the run goes on', async () => {
    const root = repo();
    const server = await start({ answer: (req) => (isJudge(req) ? 'Both summaries look fine to me, I would call it a pass.' : 'A summary.') });
    const report = await runEval(opts(root, server));
    assert.ok(report.examples.every((e) => e.outcome === 'error'));
    assert.match(report.examples[0].challenger.error ?? '', /judge repeat 1 of 3: judge reply has no JSON object \{"correct": bool, "score": 1\.\.5\}: "Both summaries look fine to me/);
    assert.equal(report.examples[0].challenger.output, 'A summary.');
    assert.equal(report.gate.status, 'inconclusive');
    assert.deepEqual(report.gate.reasons.map((r) => r.code), ['unscored']);
  });

  it('a judge reply the parser rejects is not cached: the next run asks the judge again, and scores', async () => {
    const root = repo();
    let prose = true;
    const server = await start({ answer: (req) => (isJudge(req) && prose ? 'Looks fine to me.' : demoAnswer(req.body)) });
    const first = await runEval(opts(root, server));
    assert.ok(first.examples.every((e) => e.outcome === 'error'));
    const judgeCalls = server.requests.filter(isJudge).length;
    assert.equal(judgeCalls, DOCS.length * 2 * 3);
    prose = false;
    const second = await runEval(opts(root, server));
    // The task answers were cached; every judge call was made again, and now reads.
    assert.equal(server.requests.filter(isJudge).length, judgeCalls * 2);
    assert.equal(second.cost.apiCalls, judgeCalls);
    assert.ok(second.examples.every((e) => e.outcome !== 'error'), second.examples.map((e) => e.challenger.error).join('; '));
    // Readable replies are cached as before: a third run makes no call.
    const third = await runEval(opts(root, server));
    assert.equal(third.cost.apiCalls, 0);
  });

  it('a judge score of 7 is an error for that example', async () => {
    const root = repo();
    const server = await start({
      answer: (req) => {
        if (!isJudge(req)) return 'A summary.';
        return JSON.stringify(req.body.messages).includes('export') ? '{"correct": true, "score": 7}' : '{"correct": true, "score": 4}';
      },
    });
    const report = await runEval(opts(root, server));
    const [bad] = report.examples.filter((e) => e.outcome === 'error');
    assert.equal(bad.id, 'ex-2');
    assert.match(bad.challenger.error ?? '', /"score": 7, not a number from 1 to 5/);
    assert.equal(report.examples.filter((e) => e.outcome === 'both-correct').length, DOCS.length - 1);
  });

  it('judge.md replaces the rubric, with the placeholders filled in', async () => {
    const root = repo({ v2Judge: 'Grade it.\n<reference>{reference}</reference>\n<candidate>{candidate}</candidate>\nJSON only.' });
    const server = await start();
    const report = await runEval(opts(root, server));
    assert.equal(report.judge.rubric, 'judge.md');
    const judged = server.requests.filter(isJudge);
    assert.ok(judged.length > 0);
    assert.match(judged[0].body.messages[0].content, /^Grade it\.\n<reference>.+<\/reference>\n<candidate>.+<\/candidate>\nJSON only\.$/s);
  });

  it('an eval line the baseline template cannot render is an error for that example, not a crash', async () => {
    // v1 needed {audience}; v2 dropped it and only some examples still carry it.
    const root = repo({
      v1User: 'For {audience}:\n<document>{document}</document>',
      v2Eval: evalLines(DOCS, (i) => (i % 2 === 0 ? { audience: 'agents' } : {})),
    });
    const server = await start();
    const report = await runEval(opts(root, server));
    const errors = report.examples.filter((e) => e.outcome === 'error');
    assert.deepEqual(errors.map((e) => e.id), ['ex-2', 'ex-4', 'ex-6']);
    assert.match(errors[0].baseline.error ?? '', /^the baseline template can't be rendered with this example's inputs: .*audience/);
    assert.ok(errors.every((e) => e.challenger.correct !== null), 'the challenger side still ran');
    assert.equal(report.gate.status, 'inconclusive');
  });

  it('cancellation keeps finished examples and cache entries; the next run resumes from the cache', async () => {
    const root = repo();
    const server = await start({ latencyMs: 5 });
    const controller = new AbortController();
    const first = await runEval(
      opts(root, server, {
        concurrency: 2,
        signal: controller.signal,
        onProgress: (p: EvalProgress) => {
          if (p.done >= 2) controller.abort();
        },
      }),
    );
    assert.equal(first.cancelled, true);
    const finished = first.examples.filter((e) => e.outcome !== 'cancelled');
    assert.ok(finished.length >= 2 && finished.length < DOCS.length, `${finished.length} finished`);
    assert.equal(first.gate.status, 'inconclusive');
    assert.ok(first.gate.reasons.some((r) => r.code === 'cancelled'));

    const second = await runEval(opts(root, server));
    assert.equal(second.cancelled, false);
    assert.equal(second.cost.cacheHits, first.cost.apiCalls, 'everything the first run finished came from the cache');
    assert.equal(first.cost.apiCalls + second.cost.apiCalls, DOCS.length * CALLS_PER_EXAMPLE, 'no call was paid twice');
    for (const done of finished) {
      const redo = second.examples.find((e) => e.id === done.id);
      assert.equal(redo?.outcome, done.outcome);
      assert.equal(redo?.challenger.cached, true);
    }
  });

  it('an empty eval set is a clear error before any call', async () => {
    const root = repo({ v2Eval: '\n\n' });
    const server = await start();
    await assert.rejects(runEval(opts(root, server)), (error: unknown) => {
      assert.ok(error instanceof EvalSetupError);
      assert.match((error as Error).message, /eval\.jsonl has no examples/);
      return true;
    });
    assert.equal(server.stats().total, 0);
  });

  it('an invalid eval line is a clear error naming the line', async () => {
    const root = repo({ v2Eval: `${evalLines(DOCS.slice(0, 1))}\n{"id": "x", "inputs": ` });
    await assert.rejects(runEval(opts(root, undefined)), /eval\.jsonl has 1 invalid line \(line 2: not valid JSON/);
  });

  it('a baseline that does not exist is a clear error before any call', async () => {
    const root = repo();
    const server = await start();
    await assert.rejects(runEval(opts(root, server, { baseline: 'main:prompts/summarisation/v7' })), (error: unknown) => {
      assert.ok(error instanceof BaselineError);
      assert.match((error as Error).message, /prompts\/summarisation\/v7 is not a directory at main/);
      return true;
    });
    // A brand-new prompt: nothing at the ref to compare with.
    const fresh = join(root, 'prompts', 'fresh', 'v1');
    mkdirSync(fresh, { recursive: true });
    writeFileSync(join(fresh, 'system.md'), 'x');
    writeFileSync(join(fresh, 'user.template.md'), '{document}');
    writeFileSync(join(fresh, 'eval.jsonl'), evalLines(DOCS));
    writeFileSync(join(fresh, 'metadata.yaml'), 'name: fresh\nversion: 1\nmodel: claude-sonnet-4-6\n');
    await assert.rejects(runEval(opts(root, server, { promptDir: 'prompts/fresh/v1' })), /^BaselineError: no baseline for prompts\/fresh\/v1: prompts\/fresh\/v1\/ does not exist at main/);
    assert.equal(server.stats().total, 0);
  });

  it('offline: served from the cache only; a miss is an error for that example, and no key is needed', async () => {
    const root = repo();
    const report = await runEval(opts(root, undefined, { offline: true }));
    assert.ok(report.examples.every((e) => e.outcome === 'error'));
    assert.match(report.examples[0].challenger.error ?? '', /offline: no cached response/);
  });

  it('no-cache: every call reaches the API even when cached', async () => {
    const root = repo();
    const server = await start();
    await runEval(opts(root, server));
    const report = await runEval(opts(root, server, { noCache: true }));
    assert.equal(report.cost.apiCalls, DOCS.length * CALLS_PER_EXAMPLE);
    assert.equal(server.requests.length, 2 * DOCS.length * CALLS_PER_EXAMPLE);
  });

  it('unsaved editor text is the challenger, and onlyExampleIds re-runs a subset', async () => {
    const root = repo();
    const server = await start();
    const report = await runEval(
      opts(root, server, { challengerOverrides: { system: 'Summarise the ticket in three sentences.' }, onlyExampleIds: ['ex-3', 'ex-5'] }),
    );
    assert.deepEqual(report.examples.map((e) => e.id), ['ex-3', 'ex-5']);
    assert.deepEqual(report.partial, { onlyExampleIds: ['ex-3', 'ex-5'] });
    assert.ok(server.requests.some((r) => r.body.system === 'Summarise the ticket in three sentences.'));
    await assert.rejects(runEval(opts(root, server, { onlyExampleIds: ['nope'] })), /no example with id "nope"/);
  });

  it('takes the judge repeats from an option over the prompt\'s metadata', async () => {
    const root = repo();
    const server = await start();
    const prepared = await prepareEval({ ...opts(root, server), judgeRepeats: 1 });
    assert.equal(prepared.judge.repeats, 1);
    assert.equal(prepared.estimate.calls, DOCS.length * 2 * (1 + 1));
    const report = await prepared.run();
    assert.equal(report.judge.repeats, 1);
    assert.ok(report.examples.every((e) => e.challenger.votes.length === 1 && e.baseline.votes.length === 1));
  });

  it('prepareEval estimates before any call, counting what the cache holds', async () => {
    const root = repo();
    const server = await start();
    const prepared = await prepareEval(opts(root, server));
    assert.equal(server.stats().total, 0);
    assert.equal(prepared.estimate.calls, DOCS.length * CALLS_PER_EXAMPLE);
    assert.equal(prepared.estimate.cachedCalls, 0);
    assert.ok(prepared.estimate.inputTokens > 0);
    assert.ok(prepared.estimate.outputTokensMax >= DOCS.length * 2 * 300);
    assert.ok(prepared.estimate.usdTypical !== null && prepared.estimate.usdMax !== null && prepared.estimate.usdTypical <= prepared.estimate.usdMax);
    assert.equal(prepared.baseline.how, 'lower-version');
    await prepared.run();
    const cached = await prepareEval(opts(root, server));
    assert.equal(cached.estimate.cachedCalls, cached.estimate.calls);
    assert.equal(cached.estimate.usdTypical, 0);
  });

  it('run({ onResult }) hands over each whole result in order and keeps what it returns; the statistics are those of the whole results', async () => {
    const root = repo();
    const server = await start();
    const full = await runEval(opts(root, server));
    const seen: ExampleResult[] = [];
    const compact = await (await prepareEval(opts(root, server))).run({
      onResult: (result, index) => {
        assert.equal(index, seen.length);
        seen.push(result);
        return compactResult(result);
      },
    });
    assert.deepEqual(seen.map((e) => e.id), full.examples.map((e) => e.id));
    assert.deepEqual(seen.map((e) => [e.outcome, e.challenger.output, e.baseline.output]), full.examples.map((e) => [e.outcome, e.challenger.output, e.baseline.output]));
    assert.ok(compact.examples.every((e) => e.challenger.output === null && e.reference === null));
    const { examples: _a, startedAt: _b, durationMs: _c, cost: _d, ...rest } = compact;
    const { examples: _e, startedAt: _f, durationMs: _g, cost: _h, ...fullRest } = full;
    assert.deepEqual(rest, fullRest);
  });

  it('an eval.jsonl changed between the estimate and the run is a clear error, not a run of other examples', async () => {
    const root = repo();
    const server = await start();
    const prepared = await prepareEval(opts(root, server));
    appendFileSync(join(root, 'prompts/summarisation/v2/eval.jsonl'), `${JSON.stringify({ id: 'added-later', inputs: { customer_name: 'X', document: 'y' } })}\n`);
    await assert.rejects(prepared.run(), /eval\.jsonl changed after the eval was prepared \(its cost estimated\); start the eval again/);
    assert.equal(server.stats().total, 0);
  });
});
