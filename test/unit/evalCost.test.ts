import { strict as assert } from 'node:assert';
import { approxTokens, estimateCost, formatUsd, planSideCalls, priceTokens, sized } from '../../src/core/eval/cost';
import { DEFAULT_JUDGE_RUBRIC, JUDGE_SYSTEM } from '../../src/core/eval/judge';
import type { EvalSideConfig } from '../../src/core/eval/runner';
import type { EvalExample } from '../../src/core/evalSet';
import { DEFAULT_PRICING } from '../../src/core/repoSettings';

const side: EvalSideConfig = {
  role: 'challenger',
  system: 'S'.repeat(400),
  userTemplate: 'Doc: {document}',
  metadata: { model: 'claude-sonnet-4-6', temperature: 0, max_output_tokens: 800, template_format: 'python' },
};
const judge = { model: 'claude-opus-4-7', repeats: 3, maxTokens: 512 };
const example: EvalExample = { id: 'a', inputs: { document: 'd'.repeat(1995) }, reference: 'r'.repeat(400), line: 0, offset: 0, length: 0 };

describe('eval cost', () => {
  it('approximates tokens as characters / 4, rounded up', () => {
    assert.equal(approxTokens(0), 0);
    assert.equal(approxTokens(1), 1);
    assert.equal(approxTokens(400), 100);
  });

  it('plans the task call and the judge repeats of one side, sized from the prompt and the reference', () => {
    const plan = planSideCalls(side, judge, example);
    assert.ok(plan.task);
    // 400 system + "Doc: " + 1995 = 2400 chars
    assert.equal(plan.task.inputTokens, 600);
    assert.equal(plan.task.outputTokensMax, 800);
    assert.equal(plan.task.outputTokensTypical, 100, 'typical output: as long as the reference');
    assert.equal(plan.judge.length, 3);
    assert.deepEqual(plan.judge.map((c) => c.repeat), [0, 1, 2]);
    const rubricChars = JUDGE_SYSTEM.length + DEFAULT_JUDGE_RUBRIC.length - '{reference}'.length - '{candidate}'.length;
    assert.equal(plan.judge[0].inputTokens, approxTokens(rubricChars + 400 + 400));
    assert.equal(plan.judge[0].inputTokensMax, plan.judge[0].inputTokens + 700, 'a candidate as long as max_output_tokens allows');
    assert.equal(plan.judge[0].outputTokensMax, 512);
  });

  it('with a known candidate (a cached output), judge calls are sized exactly', () => {
    const plan = planSideCalls(side, judge, example, 'c'.repeat(80));
    assert.equal(plan.task?.outputTokensTypical, 20);
    assert.equal(plan.judge[0].inputTokens, plan.judge[0].inputTokensMax);
  });

  it('plans nothing for a side whose template cannot render the example', () => {
    const plan = planSideCalls({ ...side, userTemplate: '{missing}' }, judge, example);
    assert.equal(plan.task, undefined);
    assert.deepEqual(plan.judge, []);
  });

  it('estimates calls, tokens and dollars, counting cached calls as free', () => {
    const plan = planSideCalls(side, judge, example);
    const calls = [sized(plan.task!), ...plan.judge.map((c, i) => sized(c, i === 0))];
    const estimate = estimateCost(calls, DEFAULT_PRICING);
    assert.equal(estimate.calls, 4);
    assert.equal(estimate.cachedCalls, 1);
    assert.equal(estimate.inputTokens, 600 + 2 * plan.judge[0].inputTokens);
    assert.equal(estimate.outputTokensMax, 800 + 2 * 512);
    // The catalog's list prices: claude-sonnet-4-6 $3/$15, claude-opus-4-7 $5/$25 per million tokens.
    const usdTypical = (600 * 3 + 100 * 15 + 2 * (plan.judge[0].inputTokens * 5 + 40 * 25)) / 1e6;
    assert.ok(Math.abs((estimate.usdTypical ?? 0) - usdTypical) < 1e-12);
    assert.ok((estimate.usdMax ?? 0) > (estimate.usdTypical ?? 0));
    assert.deepEqual(estimate.unpricedModels, []);
  });

  it('a model without a price makes the dollars unknown, and says which', () => {
    const estimate = estimateCost([{ model: 'claude-unknown', inputTokens: 10, inputTokensMax: 10, outputTokensTypical: 1, outputTokensMax: 5 }], DEFAULT_PRICING);
    assert.equal(estimate.usdTypical, null);
    assert.deepEqual(estimate.unpricedModels, ['claude-unknown']);
    assert.deepEqual(priceTokens({ 'claude-unknown': { inputTokens: 0, outputTokens: 0 } }, DEFAULT_PRICING), { usd: 0, unpricedModels: [] });
  });

  it('formats dollars', () => {
    assert.equal(formatUsd(0), '$0.00');
    assert.equal(formatUsd(0.0042), '$0.0042');
    assert.equal(formatUsd(12.345), '$12.35');
    assert.match(formatUsd(null), /unknown/);
  });
});
