import * as assert from 'node:assert/strict';
import { parse as parseJsonc } from 'jsonc-parser';
import type { ParseError } from 'jsonc-parser';
import { parseEvalJsonl, parseJsonLine } from '../../src/core/evalSet';

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

  it('reads each line as the strict JSONC parse does, value and errors, on the lines where the engine\'s JSON.parse would differ', () => {
    const lines = [
      '{"id": "a", "inputs": {"x": 1}}',
      '{"id": "a", "id": "b", "inputs": {}}',
      '{"__proto__": {"id": "from-prototype"}, "inputs": {}}',
      '{"id": "a", "inputs": {"nested": [{"__proto__": {"polluted": true}}]}}',
      '{"id": "a", "inputs": {"\\u005f_proto__": {"x": 1}}}',
      '{"id": "a", "inputs": {"__proto__": 3}}',
      '{"id": "-0", "inputs": {"n": -0, "big": 1e400, "small": 5e-324, "long": 12345678901234567890}}',
      '{"id": "\\ud800\\u00e9\\n\\t\\/", "inputs": {}}',
      '\u00a0{"id": "a", "inputs": {}}',
      '\u000b{"id": "a", "inputs": {}}',
      '{"id": "a", "inputs": {},}',
      '{"id": "a", "inputs": {}} // note',
      '{"id": "a", "inputs": {"s": "tab\tinside"}}',
      '{"id": 01, "inputs": {}}',
      '{"id": "a", "inputs": {"n": 1.}}',
      '[1, 2]',
      '"text"',
      'null',
      '{"id": "a"',
      '{"id": "a", "inputs": {}} {"id": "b"}',
      `${'['.repeat(500)}${']'.repeat(500)}`,
    ];
    for (const line of lines) {
      const errors: ParseError[] = [];
      const expectedErrors: ParseError[] = [];
      const expected: unknown = parseJsonc(line, expectedErrors, { disallowComments: true, allowTrailingComma: false });
      assert.deepStrictEqual(shape(parseJsonLine(line, errors)), shape(expected), line.slice(0, 80));
      assert.deepStrictEqual(errors, expectedErrors, line.slice(0, 80));
    }
  });

});

/** A parsed value as plain data, each object's prototype spelled out (deepStrictEqual compares prototypes by reference). */
function shape(value: unknown): unknown {
  if (typeof value !== 'object' || value === null) return Object.is(value, -0) ? '-0' : value;
  if (Array.isArray(value)) return value.map(shape);
  const prototype: unknown = Object.getPrototypeOf(value);
  return { own: Object.entries(Object.getOwnPropertyDescriptors(value)).map(([k, d]) => [k, shape(d.value)]), prototype: prototype === Object.prototype ? 'Object' : shape(prototype) };
}
