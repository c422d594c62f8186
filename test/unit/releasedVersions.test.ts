import * as assert from 'node:assert/strict';
import { RELEASE_EVAL_SHRANK, RELEASE_REQUEST_CHANGED, releasedVersionFindings } from '../../src/core/gate/releasedVersions';
import type { ReleasedVersionInput, VersionTexts } from '../../src/core/gate/releasedVersions';
import { parseRepoSettings } from '../../src/core/repoSettings';

const METADATA = `name: summarisation
version: 2
model: claude-sonnet-4-6
temperature: 0.0
max_output_tokens: 800
eval:
  threshold_win_rate: 0.80
owners: ["@support"]
ci: { required_reviewers: 2 }
`;

const EVAL = ['{"id": "sum-001", "inputs": {"document": "a"}}', '{"id": "sum-002", "inputs": {"document": "b"}}', '{"id": "sum-003", "inputs": {"document": "c"}}'].join('\n');

const RELEASED: VersionTexts = {
  'system.md': 'Summarise the ticket.\nNo greeting.\n',
  'user.template.md': 'Customer: {customer_name}\n\n{document}\n',
  'metadata.yaml': METADATA,
  'eval.jsonl': `${EVAL}\n`,
};

function findings(current: VersionTexts, extra: Partial<ReleasedVersionInput> = {}) {
  return releasedVersionFindings({
    dir: 'prompts/summarisation/v2',
    version: 2,
    baseRef: 'main',
    released: RELEASED,
    current: { ...RELEASED, ...current },
    nextVersion: 3,
    mode: 'immutable',
    ...extra,
  });
}

describe('released versions are immutable', () => {
  it('finds nothing when the version is as released', () => {
    assert.deepEqual(findings({}), []);
  });

  it('blocks an edit of system.md, on the first changed character, with the version to create', () => {
    const [f, ...rest] = findings({ 'system.md': 'Summarise the ticket.\nNo greeting, ever.\n' });
    assert.deepEqual(rest, []);
    assert.equal(f.code, RELEASE_REQUEST_CHANGED);
    assert.equal(f.severity, 'error');
    assert.equal(f.file, 'prompts/summarisation/v2/system.md');
    assert.deepEqual(f.range, { start: { line: 1, character: 11 }, end: { line: 1, character: 18 } });
    assert.match(f.message, /^system\.md changed, which changes what production sends: v2 is released \(it is on main\); create v3 instead \(prompt-ci new prompts\/summarisation\/v2/);
  });

  it('blocks a deleted template, and names the next free version', () => {
    const [f] = findings({ 'user.template.md': undefined }, { nextVersion: 5 });
    assert.equal(f.file, 'prompts/summarisation/v2/user.template.md');
    assert.match(f.message, /^user\.template\.md was deleted, .*create v5 instead/);
  });

  it('blocks each request key of metadata.yaml that changed, on its value', () => {
    const edited = METADATA.replace('model: claude-sonnet-4-6', 'model: claude-opus-4-7').replace('max_output_tokens: 800', 'max_output_tokens: 900');
    const got = findings({ 'metadata.yaml': edited });
    assert.deepEqual(
      got.map((f) => [f.code, f.file, f.range.start.line, f.range.start.character, f.message.split(':')[0]]),
      [
        [RELEASE_REQUEST_CHANGED, 'prompts/summarisation/v2/metadata.yaml', 2, 7, 'model changed from "claude-sonnet-4-6" to "claude-opus-4-7"'],
        [RELEASE_REQUEST_CHANGED, 'prompts/summarisation/v2/metadata.yaml', 4, 19, 'max_output_tokens changed from 800 to 900'],
      ],
    );
  });

  it('lets owners, ci and eval settings change, and reads a default as the value it stands for', () => {
    const edited = METADATA.replace('threshold_win_rate: 0.80', 'threshold_win_rate: 0.85')
      .replace('"@support"', '"@support", "@platform"')
      .replace('required_reviewers: 2', 'required_reviewers: 1')
      // template_format absent means python; 0.0 and 0 are the same temperature
      .replace('temperature: 0.0', 'temperature: 0\ntemplate_format: python');
    assert.deepEqual(findings({ 'metadata.yaml': edited }), []);
    const mustache = findings({ 'metadata.yaml': `${METADATA}template_format: mustache\n` });
    assert.equal(mustache.length, 1);
    assert.match(mustache[0].message, /^template_format changed from "python" to "mustache"/);
    const schema = findings({ 'metadata.yaml': `${METADATA}output_schema: schemas/summary.json\n` });
    assert.match(schema[0].message, /^output_schema changed from \(not set\) to "schemas\/summary\.json"/);
  });

  it('leaves a metadata.yaml that is no longer YAML to check', () => {
    assert.deepEqual(findings({ 'metadata.yaml': 'model: [unclosed\n' }), []);
  });

  it('warns when the eval suite lost examples, and not when it grew', () => {
    const [f, ...rest] = findings({ 'eval.jsonl': EVAL.split('\n')[1] });
    assert.deepEqual(rest, []);
    assert.equal(f.code, RELEASE_EVAL_SHRANK);
    assert.equal(f.severity, 'warning');
    assert.equal(f.file, 'prompts/summarisation/v2/eval.jsonl');
    assert.match(f.message, /lost 2 examples it had on main \("sum-001", "sum-003"\)/);
    assert.deepEqual(findings({ 'eval.jsonl': `${EVAL}\n{"id": "sum-004", "inputs": {"document": "d"}}\n` }), []);
  });

  it('only warns about request changes under releasedVersions: warn', () => {
    const got = findings({ 'system.md': 'Other.\n' }, { mode: 'warn' });
    assert.equal(got.length, 1);
    assert.equal(got[0].severity, 'warning');
    assert.match(got[0].message, /releasedVersions: warn in prompt-ci\.yaml, so this does not block/);
  });

  it('reads releasedVersions from prompt-ci.yaml, immutable by default', () => {
    assert.equal(parseRepoSettings(undefined).settings.releasedVersions, 'immutable');
    assert.equal(parseRepoSettings('releasedVersions: warn\n').settings.releasedVersions, 'warn');
    assert.match(parseRepoSettings('releasedVersions: sometimes\n').problems.join(), /releasedVersions/);
  });
});
