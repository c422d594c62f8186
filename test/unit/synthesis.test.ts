import * as assert from 'node:assert/strict';
import { SynthesisReplyError, parseSynthesisReply, planSynthesis, synthesisRequest } from '../../src/core/synthesis';
import type { ExampleResult } from '../../src/shared/evalReport';

const failure = (id: string, document: string): ExampleResult => ({
  id,
  line: 0,
  inputs: { customer_name: 'Ada Lovelace', document },
  reference: 'Refund ada@example.com',
  tags: [],
  outcome: 'regressed',
  unstable: false,
  challenger: { output: 'Call +44 20 7946 0958', correct: false, score: 2, votes: [{ correct: false, score: 2, reason: 'missed 4111 1111 1111 1111' }], unstable: false, latencyMs: 1, cached: false, error: null },
  baseline: { output: 'ok', correct: true, score: 5, votes: [], unstable: false, latencyMs: 1, cached: false, error: null },
});

describe('synthesis', () => {
  it('the request carries the failures redacted: inputs, reference, output and judge reasons', () => {
    const { request, redaction } = synthesisRequest(
      { model: 'claude-opus-4-7', template: 'Hi {customer_name}: {document}', variables: ['customer_name', 'document'], failures: [failure('a', 'IBAN DE89 3704 0044 0532 0130 00 from 10.1.2.3')], count: 2 },
      { sensitiveVariables: ['customer_name'] },
    );
    const text = JSON.stringify(request);
    for (const v of ['Ada Lovelace', 'ada@example.com', '7946 0958', '4111 1111', 'DE89 3704', '10.1.2.3']) assert.ok(!text.includes(v), v);
    assert.deepEqual(redaction.byKind, { sensitive: 1, email: 1, phone: 1, card: 1, iban: 1, ip: 1 });
    assert.equal(request.max_tokens, 4096);
  });

  it('reads cases bare or fenced, and says what is wrong otherwise', () => {
    assert.deepEqual(parseSynthesisReply('{"cases": [1]}'), [1]);
    assert.deepEqual(parseSynthesisReply('Here:\n```json\n{"cases": []}\n```'), []);
    assert.throws(() => parseSynthesisReply('no json'), SynthesisReplyError);
    assert.throws(() => parseSynthesisReply('{"cases": 3}'), /no "cases" list/);
    assert.throws(() => parseSynthesisReply('{"cases": [}'), /not valid JSON/);
  });

  it('keeps cases with exactly the template variables, redacted, not duplicating the suite, up to the count', () => {
    const document = 'The printer caught fire after the firmware update and the customer wants a replacement unit shipped today';
    const plan = planSynthesis(
      [
        { inputs: { customer_name: 'Grace', document: 'A brand new complaint about invoices being sent to grace@example.com twice a month' }, reference: 'r', exercises: ['a'] },
        { inputs: { document: 'x' } },
        { inputs: { customer_name: 'x', document: 'y', extra: 1 } },
        { inputs: { customer_name: 'Ada', document: `${document}.` } },
        'not an object',
        { inputs: { customer_name: 'Bob', document: 'Entirely different: the login page loops forever on mobile Safari since Tuesday' }, reference: 7 },
        { inputs: { customer_name: 'Bob', document: 'Entirely different: the login page loops forever on mobile Safari since Tuesday' } },
        { inputs: { customer_name: 'Cy', document: 'A third distinct case about an export job that never finishes for large workspaces' } },
      ],
      { variables: ['customer_name', 'document'], existing: [{ id: 'e1', inputs: { customer_name: 'Ada', document } }], failures: [{ id: 'a' }, { id: 'b' }], model: 'm', report: null, count: 2, sensitiveVariables: ['customer_name'] },
    );
    assert.deepEqual(plan.rejected, { 'missing-variables': 1, 'unknown-variables': 1, duplicate: 1, 'not-an-object': 1, 'bad-reference': 1, 'beyond-count': 1 });
    assert.equal(plan.lines.length, 2);
    assert.deepEqual(plan.lines[0].inputs, { customer_name: '<CUSTOMER_NAME_1>', document: 'A brand new complaint about invoices being sent to <EMAIL_1> twice a month' });
    assert.deepEqual(plan.lines[0].source, { kind: 'synthetic', from: ['a'], model: 'm', report: null });
    assert.deepEqual(plan.lines[1].source.kind === 'synthetic' && plan.lines[1].source.from, ['a', 'b']);
    assert.deepEqual(plan.lines[0].tags, ['synthetic', 'needs-review']);
  });
});
