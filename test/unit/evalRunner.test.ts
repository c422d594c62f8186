import { strict as assert } from 'node:assert';
import { runPairedEval, taskRequest } from '../../src/core/eval/runner';
import type { EvalSideConfig, PairedEvalOptions } from '../../src/core/eval/runner';
import type { EvalProgress, ModelCallOptions, ModelGateway, ModelReply, ModelRequest } from '../../src/core/eval/types';
import type { EvalExample } from '../../src/core/evalSet';

const challenger: EvalSideConfig = {
  role: 'challenger',
  system: 'C',
  userTemplate: 'Summarise {document}',
  metadata: { model: 'task-model', temperature: 0, max_output_tokens: 100, template_format: 'python' },
};
const baseline: EvalSideConfig = {
  role: 'baseline',
  system: 'B',
  userTemplate: 'Old: {document}',
  metadata: { model: 'old-model', temperature: 0.5, max_output_tokens: 50, template_format: 'python' },
};
const judge = { model: 'judge-model', repeats: 3, maxTokens: 64 };

function example(id: string, document: string, line = 0): EvalExample {
  return { id, inputs: { document }, reference: `ref ${id}`, line, offset: 0, length: 0 };
}

/**
 * A gateway scripted by request: the task reply is `<system>|<document>`; the judge reply is what
 * `verdicts` says for that candidate and repeat (default: correct, score 4).
 */
function scriptedGateway(
  verdicts: (candidate: string, repeat: number) => string = () => '{"correct": true, "score": 4}',
  hooks: { onCall?: (request: ModelRequest, options: ModelCallOptions) => void | Promise<void> } = {},
): ModelGateway & { calls: { request: ModelRequest; options: ModelCallOptions }[] } {
  const calls: { request: ModelRequest; options: ModelCallOptions }[] = [];
  return {
    calls,
    async complete(request, options): Promise<ModelReply> {
      calls.push({ request, options });
      await hooks.onCall?.(request, options);
      const content = request.messages[0].content;
      if (options.purpose === 'judge') {
        const candidate = /<candidate>\n([\s\S]*?)\n<\/candidate>/.exec(content)?.[1] ?? '';
        return { text: verdicts(candidate, options.repeat), inputTokens: 20, outputTokens: 5, latencyMs: 10, fromCache: false };
      }
      const doc = content.replace(/^(Summarise|Old:) /, '');
      return { text: `${request.system}|${doc}`, inputTokens: 10, outputTokens: 3, latencyMs: doc.length, fromCache: false };
    },
  };
}

function options(overrides: Partial<PairedEvalOptions>): PairedEvalOptions {
  return { examples: [], challenger, baseline, judge, gateway: scriptedGateway(), ...overrides };
}

describe('eval runner', () => {
  it('builds each side’s task request from its own metadata and template', () => {
    assert.deepEqual(taskRequest(challenger, { inputs: { document: 'doc' } }), {
      model: 'task-model',
      max_tokens: 100,
      system: 'C',
      messages: [{ role: 'user', content: 'Summarise doc' }],
    });
    assert.deepEqual(taskRequest(baseline, { inputs: { document: 'doc' } }).max_tokens, 50);
    // metadata.yaml's temperature is not sent: the API version the SDK speaks refuses sampling parameters.
    assert.equal('temperature' in taskRequest(baseline, { inputs: { document: 'doc' } }), false);
    const mustache: EvalSideConfig = { ...challenger, system: '', userTemplate: 'Hi {{name}}', metadata: { ...challenger.metadata, template_format: 'mustache' } };
    assert.deepEqual(taskRequest(mustache, { inputs: { name: 'Ada' } }).messages[0].content, 'Hi Ada');
    assert.equal('system' in taskRequest(mustache, { inputs: { name: 'Ada' } }), false);
  });

  it('pairs the outcomes: improved, regressed, both correct, both wrong', async () => {
    // Candidates containing "bad" are judged wrong.
    const gateway = scriptedGateway((candidate) => (candidate.includes('bad') ? '{"correct": false, "score": 1}' : '```json\n{"correct": true, "score": 5}\n```'));
    const baselineBad: EvalSideConfig = { ...baseline, userTemplate: 'Old: {document} {flag}' };
    const examples = [
      { ...example('a', 'fine'), inputs: { document: 'fine', flag: 'bad' } }, // baseline wrong, challenger right: improved
      { ...example('b', 'bad'), inputs: { document: 'bad', flag: '' } }, // both wrong
      { ...example('c', 'fine'), inputs: { document: 'fine', flag: '' } }, // both correct
    ];
    const result = await runPairedEval(options({ examples, gateway, baseline: baselineBad }));
    assert.deepEqual(result.examples.map((e) => [e.id, e.outcome]), [
      ['a', 'improved'],
      ['b', 'both-wrong'],
      ['c', 'both-correct'],
    ]);
    const a = result.examples[0];
    assert.equal(a.challenger.output, 'C|fine');
    assert.equal(a.challenger.correct, true);
    assert.equal(a.challenger.score, 5);
    assert.deepEqual(a.challenger.votes.length, 3);
    assert.equal(a.baseline.correct, false);
    assert.equal(a.reference, 'ref a');
    // 3 examples x 2 sides x (1 task + 3 judge)
    assert.equal(gateway.calls.length, 24);
    assert.equal(result.totals.apiCalls, 24);
    assert.deepEqual(result.totals.api['judge-model'], { inputTokens: 18 * 20, outputTokens: 18 * 5 });
    assert.deepEqual(result.totals.api['task-model'], { inputTokens: 30, outputTokens: 9 });
    // Judge repeats are distinct cache entries.
    assert.deepEqual(gateway.calls.filter((c) => c.options.purpose === 'judge').map((c) => c.options.repeat).slice(0, 3).sort(), [0, 1, 2]);
    assert.equal(result.cancelled, false);
  });

  it('regressed when only the baseline is right; disagreeing votes are unstable', async () => {
    const gateway = scriptedGateway((candidate, repeat) =>
      candidate.startsWith('C|') ? `{"correct": ${repeat === 0}, "score": ${repeat + 1}}` : '{"correct": true, "score": 4}',
    );
    const result = await runPairedEval(options({ examples: [example('x', 'doc')], gateway }));
    const x = result.examples[0];
    assert.equal(x.outcome, 'regressed');
    assert.equal(x.challenger.correct, false);
    assert.equal(x.challenger.score, 2);
    assert.equal(x.challenger.unstable, true);
    assert.equal(x.unstable, true);
  });

  it('a judge answering prose, or a score of 7, is an error for that example only, quoting the judge', async () => {
    const gateway = scriptedGateway((candidate) =>
      candidate.includes('prose') ? 'I think it is quite good.' : candidate.includes('seven') ? '{"correct": true, "score": 7}' : '{"correct": true, "score": 4}',
    );
    const examples = [example('p', 'prose'), example('s', 'seven'), example('ok', 'fine')];
    const result = await runPairedEval(options({ examples, gateway, judge: { ...judge, repeats: 1 } }));
    const [p, s, ok] = result.examples;
    assert.equal(p.outcome, 'error');
    assert.match(p.challenger.error ?? '', /judge reply has no JSON object .*"I think it is quite good\."/);
    assert.equal(p.challenger.output, 'C|prose', 'the output is kept');
    assert.equal(s.outcome, 'error');
    assert.match(s.challenger.error ?? '', /"score": 7, not a number from 1 to 5/);
    assert.equal(ok.outcome, 'both-correct');
  });

  it('an example the baseline template cannot render is an error for that example, not a crash', async () => {
    const oldTemplate: EvalSideConfig = { ...baseline, userTemplate: 'Old: {document} for {customer_name}' };
    const examples = [{ ...example('has', 'doc'), inputs: { document: 'doc', customer_name: 'Ada' } }, example('lacks', 'doc')];
    const result = await runPairedEval(options({ examples, baseline: oldTemplate }));
    assert.equal(result.examples[0].outcome, 'both-correct');
    const lacks = result.examples[1];
    assert.equal(lacks.outcome, 'error');
    assert.match(lacks.baseline.error ?? '', /^the baseline template can't be rendered with this example's inputs: .*customer_name/);
    assert.equal(lacks.challenger.correct, true, 'the challenger side still ran');
  });

  it('a failed call is an error for its example; the others go on', async () => {
    const gateway = scriptedGateway(undefined, {
      onCall: (request) => {
        if (request.messages[0].content.includes('boom')) throw new Error('500 api_error: Internal server error (still failing after 7 attempts)');
      },
    });
    const result = await runPairedEval(options({ examples: [example('boom', 'boom'), example('fine', 'fine')], gateway }));
    assert.equal(result.examples[0].outcome, 'error');
    assert.match(result.examples[0].challenger.error ?? '', /challenger task call failed: 500 api_error/);
    assert.equal(result.examples[1].outcome, 'both-correct');
  });

  it('a fatal error stops the run: nothing new starts and the error is rethrown', async () => {
    let calls = 0;
    const gateway = scriptedGateway(undefined, {
      onCall: () => {
        calls += 1;
        if (calls === 3) throw Object.assign(new Error('cannot reach the Anthropic API'), { fatal: true });
      },
    });
    const examples = Array.from({ length: 50 }, (_, i) => example(`e${i}`, `doc ${i}`));
    await assert.rejects(runPairedEval(options({ examples, gateway, window: 2 })), /cannot reach the Anthropic API/);
    assert.ok(calls < 10, `calls kept starting after the fatal error: ${calls}`);
  });

  it('cancellation keeps finished examples, marks the rest cancelled, and starts no call after it', async () => {
    const controller = new AbortController();
    let callsAtAbort = -1;
    const gateway = scriptedGateway();
    const examples = Array.from({ length: 30 }, (_, i) => example(`e${i}`, `doc ${i}`));
    const result = await runPairedEval(
      options({
        examples,
        gateway,
        window: 3,
        signal: controller.signal,
        onProgress: (p) => {
          if (p.done === 5 && !controller.signal.aborted) {
            controller.abort();
            callsAtAbort = gateway.calls.length;
          }
        },
      }),
    );
    assert.equal(result.cancelled, true);
    assert.equal(gateway.calls.length, callsAtAbort, 'no call started after the abort');
    const finished = result.examples.filter((e) => e.outcome !== 'cancelled');
    assert.ok(finished.length >= 5);
    assert.ok(finished.every((e) => e.outcome === 'both-correct'));
    const rest = result.examples.filter((e) => e.outcome === 'cancelled');
    assert.equal(finished.length + rest.length, 30);
    assert.ok(rest.length >= 20);
    assert.match(rest[rest.length - 1].challenger.error ?? '', /cancelled/);
  });

  it('reports progress up to done = total, counting calls, tokens and errors', async () => {
    const events: EvalProgress[] = [];
    const oldTemplate: EvalSideConfig = { ...baseline, userTemplate: '{missing}' };
    await runPairedEval(options({ examples: [example('a', 'x'), example('b', 'y')], baseline: oldTemplate, onProgress: (p) => events.push(p) }));
    const last = events[events.length - 1];
    assert.deepEqual(last, { done: 2, total: 2, calls: 8, cacheHits: 0, inputTokens: 2 * 10 + 6 * 20, outputTokens: 2 * 3 + 6 * 5, errors: 2 });
    for (let i = 1; i < events.length; i++) assert.ok(events[i].done >= events[i - 1].done && events[i].calls >= events[i - 1].calls);
  });

  it('keeps at most `window` examples in flight', async () => {
    const started = new Set<string>();
    let done = 0;
    let peak = 0;
    const gateway = scriptedGateway(undefined, {
      onCall: async (request) => {
        const id = /doc (\d+)/.exec(request.messages[0].content)?.[1];
        if (id !== undefined) started.add(id);
        peak = Math.max(peak, started.size - done);
        await Promise.resolve();
      },
    });
    const examples = Array.from({ length: 20 }, (_, i) => example(`e${i}`, `doc ${i}`));
    const result = await runPairedEval(options({ examples, gateway, window: 4, onProgress: (p) => (done = p.done) }));
    assert.equal(peak, 4);
    assert.equal(result.examples.length, 20);
    assert.deepEqual(result.examples.map((e) => e.id), examples.map((e) => e.id), 'results keep the input order');
  });
});
