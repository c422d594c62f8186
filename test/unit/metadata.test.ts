import * as assert from 'node:assert/strict';
import { validateMetadata } from '../../src/core/metadata';
import type { Finding } from '../../src/core/finding';

const context = (exists: string[] = []) => ({
  promptName: 'summarisation',
  version: 2,
  versionDir: 'prompts/summarisation/v2',
  exists: (p: string) => exists.includes(p),
});

/** `line:startChar-endChar code` of each finding (1-based line, 0-based characters), sorted. */
function where(findings: Finding[]): string[] {
  return findings
    .map((f) => `${f.range.start.line + 1}:${f.range.start.character}-${f.range.end.character} ${f.severity} ${f.code}`)
    .sort();
}

const VALID = `name: summarisation
version: 2
model: claude-sonnet-4-6
temperature: 0.0
max_output_tokens: 800
output_schema: schemas/summary.json
template_format: python
eval:
  threshold_win_rate: 0.92
  threshold_p95_latency_ms: 4500
  paired_test: mcnemar
  mcnemar_exact: auto
  noise_envelope_alpha: 0.05
  judge: { model: claude-opus-4-7, repeats: 3 }
owners: ["@platform-team"]
ci: { required_reviewers: 2, block_on_eval_regression: true }
`;

describe('validateMetadata', () => {
  it('accepts the example of the design, with defaults filled', () => {
    const result = validateMetadata(VALID, context(['schemas/summary.json']));
    assert.deepEqual(result.findings, []);
    assert.equal(result.metadata?.eval.judge?.repeats, 3);
    assert.equal(result.metadata?.template_format, 'python');
    assert.equal(result.metadata?.ci.block_on_eval_regression, true);
  });

  it('finds output_schema in the prompt directory first, then at the repo root', () => {
    assert.deepEqual(validateMetadata(VALID, context(['prompts/summarisation/v2/schemas/summary.json'])).findings, []);
    const missing = validateMetadata(VALID, context([]));
    assert.deepEqual(where(missing.findings), ['6:15-35 error metadata/output-schema-missing']);
    assert.match(missing.findings[0].message, /prompts\/summarisation\/v2\/schemas\/summary\.json and schemas\/summary\.json/);
  });

  it('refuses an output_schema that climbs out of the repository', () => {
    const text = VALID.replace('schemas/summary.json', '../../../../etc/passwd');
    assert.deepEqual(where(validateMetadata(text, context()).findings), ['6:15-37 error metadata/output-schema-path']);
  });

  it('puts each finding on the exact value or key node', () => {
    const text = `name: summarisation
version: 2
model: claude-sonnet-4-6
temperature: "warm"
max_output_tokens: 2.5
template_format: jinja
eval:
  threshold_win_rate: 1.2
  noise_envelope_alpha: 0
  judge:
    model: claude-opus-4-7
    repeats: 0
  extra_knob: 1
ci: { block_on_eval_regression: "no" }
`;
    assert.deepEqual(where(validateMetadata(text, context()).findings), [
      '12:13-14 error metadata/out-of-range',
      '13:2-12 warning metadata/unknown-key',
      '14:32-36 error metadata/wrong-type',
      '4:13-19 error metadata/wrong-type',
      '5:19-22 error metadata/wrong-type',
      '6:17-22 error metadata/invalid-value',
      '8:22-25 error metadata/out-of-range',
      '9:24-25 error metadata/out-of-range',
    ]);
  });

  it('says which values are wrong and how, in words a user can act on', () => {
    const text = VALID.replace('temperature: 0.0', 'temperature: 1.5').replace('template_format: python', 'template_format: jinja');
    const messages = validateMetadata(text, context(['schemas/summary.json'])).findings.map((f) => f.message).sort();
    assert.deepEqual(messages, ['temperature: must be <= 1 (allowed: a number from 0 to 1), got the number 1.5', 'template_format: must be "python" or "mustache", got the string "jinja"']);
  });

  it('warns on unknown keys with a suggestion, and still returns the metadata', () => {
    const result = validateMetadata(VALID.replace('temperature: 0.0', 'temprature: 0.0'), context(['schemas/summary.json']));
    assert.deepEqual(where(result.findings), ['4:0-10 warning metadata/unknown-key']);
    assert.match(result.findings[0].message, /did you mean "temperature"/);
    assert.equal(result.metadata?.model, 'claude-sonnet-4-6');
  });

  it('reports name and version that disagree with the directory, on their values', () => {
    const text = VALID.replace('name: summarisation', 'name: summary').replace('version: 2', 'version: 3');
    assert.deepEqual(where(validateMetadata(text, context(['schemas/summary.json'])).findings), [
      '1:6-13 error metadata/name-mismatch',
      '2:9-10 error metadata/version-mismatch',
    ]);
  });

  it('reports a missing required key on the map that lacks it', () => {
    const findings = validateMetadata('name: summarisation\nversion: 2\neval:\n  judge: {repeats: 3}\n', context()).findings;
    assert.deepEqual(where(findings), ['1:0-19 error metadata/missing-key', '4:2-7 error metadata/missing-key']);
    assert.deepEqual(findings.map((f) => f.message).sort(), ['missing required key "model"', 'missing required key "model" in eval.judge']);
  });

  it('reports YAML syntax errors where the yaml package puts them', () => {
    const findings = validateMetadata('name: summarisation\nversion: 2\nmodel: [unclosed\n', context()).findings;
    assert.equal(findings[0].code, 'metadata/yaml-syntax');
    assert.equal(findings[0].severity, 'error');
    assert.equal(findings[0].range.start.line, 3);
  });

  it('reports duplicate keys', () => {
    const findings = validateMetadata(`${VALID}model: claude-haiku-4-5\n`, context(['schemas/summary.json'])).findings;
    assert.deepEqual(findings.map((f) => f.code), ['metadata/yaml-syntax']);
    assert.match(findings[0].message, /unique/);
  });

  it('refuses an alias bomb quickly instead of expanding it', () => {
    const bomb = [
      'a: &a ["x","x","x","x","x","x","x","x","x"]',
      'b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]',
      'c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]',
      'd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]',
      'e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]',
      'f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]',
      'g: [*f,*f,*f,*f,*f,*f,*f,*f,*f]',
    ].join('\n');
    const findings = validateMetadata(bomb, context()).findings;
    assert.deepEqual(findings.map((f) => f.code), ['metadata/alias-bomb']);
  });

  it('refuses a huge file without parsing it', () => {
    const huge = `name: summarisation\n${'# padding\n'.repeat(40_000)}`;
    assert.deepEqual(validateMetadata(huge, context()).findings.map((f) => f.code), ['metadata/too-large']);
  });

  it('reports an empty file and a file that is not a mapping', () => {
    assert.deepEqual(validateMetadata('', context()).findings.map((f) => f.code), ['metadata/empty']);
    assert.deepEqual(validateMetadata('- a\n- b\n', context()).findings.map((f) => f.code), ['metadata/wrong-type']);
  });

  it('counts positions in UTF-16 code units after non-ASCII text', () => {
    const text = VALID.replace('owners: ["@platform-team"]', 'owners: ["@équipe-☃"]\nmodel_note: 1');
    const findings = validateMetadata(text, context(['schemas/summary.json'])).findings;
    assert.deepEqual(where(findings), ['16:0-10 warning metadata/unknown-key']);
  });
});

describe('validateMetadata and the model catalog', () => {
  const ctx = { ...context(['schemas/summary.json']), today: '2026-12-01' };
  const messages = (text: string) => validateMetadata(text, ctx).findings.map((f) => `${f.range.start.line + 1} ${f.severity} ${f.code}: ${f.message}`);

  it('warns on an unknown model with the closest known id, on the value', () => {
    assert.deepEqual(messages(VALID.replace('model: claude-sonnet-4-6', 'model: claude-sonet-4-6')), [
      '3 warning metadata/unknown-model: model "claude-sonet-4-6" is not a model Prompt CI knows; did you mean "claude-sonnet-4-6"?',
    ]);
  });

  it('warns on a deprecated model and refuses a retired one, judge included', () => {
    assert.deepEqual(messages(VALID.replace('model: claude-sonnet-4-6', 'model: claude-opus-4-5').replace('model: claude-opus-4-7', 'model: claude-sonnet-4-5')), [
      '3 warning metadata/deprecated-model: model claude-opus-4-5 is deprecated and retires on 2027-01-22',
      '14 error metadata/retired-model: judge model claude-sonnet-4-5 was retired on 2026-11-30: requests to it fail; Anthropic recommends claude-sonnet-4-6',
    ]);
  });

  it("refuses max_output_tokens above the model's limit, stating the limit", () => {
    assert.deepEqual(messages(VALID.replace('max_output_tokens: 800', 'max_output_tokens: 100000')), [
      '5 error metadata/max-output-tokens-above-limit: max_output_tokens 100000 is above the 64000 that claude-sonnet-4-6 can write; use 1 to 64000',
    ]);
  });

  it('warns that a non-zero temperature is not sent under the API version the SDK speaks', () => {
    assert.deepEqual(messages(VALID.replace('temperature: 0.0', 'temperature: 0.7')), [
      '4 warning metadata/sampling-not-sent: temperature 0.7 is not sent: the Messages API version 2026-10-21 has no sampling parameters (it refuses temperature, top_p and top_k for every model); steer the output with the prompt instead',
    ]);
  });

  it('states the whole allowed range of an out-of-range value', () => {
    assert.deepEqual(messages(VALID.replace('threshold_win_rate: 0.92', 'threshold_win_rate: 1.5')), [
      '9 error metadata/out-of-range: eval.threshold_win_rate: must be <= 1 (allowed: a number from 0 to 1), got the number 1.5',
    ]);
  });
});
