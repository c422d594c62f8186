import * as assert from 'node:assert/strict';
import { parseEvalJsonl } from '../../src/core/evalSet';

describe('parseEvalJsonl', () => {
  it('reads every good line, with its 0-based line number, skipping blank lines', () => {
    const text = [
      '{"id": "sum-001", "inputs": {"document": "Printer on fire", "customer_name": "Ada"}, "reference": "Fire.", "tags": ["golden"]}',
      '',
      '   ',
      '{"id": "sum-002", "inputs": {"document": "Login loop"}}',
    ].join('\n');
    const { examples, findings } = parseEvalJsonl(text);
    assert.deepEqual(findings, []);
    assert.deepEqual(
      examples.map((e) => [e.id, e.line, e.reference, e.tags]),
      [
        ['sum-001', 0, 'Fire.', ['golden']],
        ['sum-002', 3, undefined, undefined],
      ],
    );
    assert.equal(examples[1].offset, text.indexOf('{"id": "sum-002"'));
  });

  it('makes one finding per bad line and keeps every other line', () => {
    const text = [
      '{"id": "a", "inputs": {"x": "1"}}',
      'not json at all',
      '[1, 2]',
      '"a string"',
      '{"inputs": {"x": "1"}}',
      '{"id": "b"}',
      '{"id": "c", "inputs": ["x"]}',
      '{"id": "a", "inputs": {"x": "2"}}',
      '{"id": 7, "inputs": {}}',
      '{"id": "d", "inputs": {"x": "1"}, "reference": 42}',
      '{"id": "e", "inputs": {"x": "1"}',
      '{"id": "f", "inputs": {"x": "1"}, "tags": "golden"}',
      '{"id": "g", "inputs": {"x": "1"}}',
    ].join('\r\n');
    const { examples, findings } = parseEvalJsonl(text);
    assert.deepEqual(examples.map((e) => e.id), ['a', 'g']);
    assert.deepEqual(
      findings.map((f) => `${f.range.start.line + 1} ${f.code}`),
      [
        '2 eval/invalid-json',
        '3 eval/not-object',
        '4 eval/not-object',
        '5 eval/missing-id',
        '6 eval/missing-inputs',
        '7 eval/invalid-inputs',
        '8 eval/duplicate-id',
        '9 eval/invalid-id',
        '10 eval/invalid-reference',
        '11 eval/invalid-json',
        '12 eval/invalid-tags',
      ],
    );
    assert.ok(findings.every((f) => f.severity === 'error'));
    assert.match(findings[6].message, /repeats line 1/);
    // Ranges stay on their own line and never include the \r of a CRLF ending.
    for (const f of findings) {
      assert.equal(f.range.start.line, f.range.end.line);
    }
    assert.equal(findings[1].range.end.character, '[1, 2]'.length);
  });

  it('points a JSON syntax error at the offending character', () => {
    const line = '{"id": "a", "inputs": {"x": "1",}}';
    const [finding] = parseEvalJsonl(line).findings;
    assert.equal(finding.code, 'eval/invalid-json');
    assert.equal(finding.range.start.character, line.indexOf('}}'));
    assert.match(finding.message, /^not valid JSON: .+ at column 33$/);
  });

  it('puts a truncated line on its last character', () => {
    const line = '{"id": "a", "inputs": {"x": "1"}';
    const [finding] = parseEvalJsonl(`${line}\n`).findings;
    assert.equal(finding.range.start.character, line.length - 1);
    assert.equal(finding.range.end.character, line.length);
  });

  it('refuses comments, which JSON does not have', () => {
    assert.equal(parseEvalJsonl('{"id": "a", "inputs": {}} // note').findings[0].code, 'eval/invalid-json');
  });

  it('gives no examples and no findings for an empty file', () => {
    assert.deepEqual(parseEvalJsonl(''), { examples: [], findings: [] });
  });
});
