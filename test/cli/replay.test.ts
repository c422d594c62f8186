import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SHA, commitHistory } from '../unit/promptHistory';
import { CLI, runCli } from './cliHarness';

/**
 * `prompt-ci replay` as a user runs it (the built CLI), on each exporter's span shape
 * (test/fixtures/spans/conventions, each citing the exporter source it follows): which prompt,
 * version and commit it came from, and whether the re-rendered request matches, with no inputs file.
 */
const DIR = join(__dirname, '..', 'fixtures', 'spans', 'conventions');

describe('prompt-ci replay: the spans real exporters write', function () {
  this.timeout(120_000);
  let root: string;
  let repo: string;
  before(() => {
    root = mkdtempSync(join(tmpdir(), 'prompt-ci-cli-replay-'));
    repo = join(root, 'repo');
    commitHistory(repo);
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  const cases: [string, string, string, 'span' | 'inferred', string][] = [
    ['prompt-ci-rendered-no-variables', 'prompts/summarisation/v1', SHA.b, 'span', 'match'],
    ['opentelemetry-no-sha', 'prompts/summarisation/v1', SHA.b, 'inferred', 'match'],
    ['opentelemetry-older-content', 'prompts/classification/v1', SHA.d, 'inferred', 'match'],
    ['langfuse', 'prompts/summarisation/v2', SHA.c, 'inferred', 'match'],
    ['openllmetry-managed-prompt', 'prompts/summarisation/v1', SHA.d, 'inferred', 'match'],
    ['openllmetry-association-properties', 'prompts/summarisation/v1', SHA.a, 'span', 'match'],
    ['openinference-template-variables', 'prompts/classification/v1', SHA.c, 'inferred', 'match'],
    ['openinference-message-contents', 'prompts/summarisation/v1', SHA.b, 'inferred', 'match'],
    ['no-content', 'prompts/summarisation/v2', SHA.d, 'inferred', 'nothing-recorded'],
    ['not-from-template', 'prompts/summarisation/v2', SHA.c, 'span', 'not-produced'],
  ];

  it('covers every fixture', () => {
    const files = readdirSync(DIR).filter((f) => f.endsWith('.json')).map((f) => f.replace(/\.json$/, ''));
    for (const name of files.filter((f) => !['conventions-disagree', 'variables-disagree-with-message'].includes(f))) {
      assert.ok(cases.some(([c]) => c === name), `${name} has a CLI case`);
    }
  });

  for (const [name, dir, sha, commitSource, verdict] of cases) {
    it(`${name}: ${dir} at ${sha.slice(0, 7)} (${commitSource}), ${verdict}`, () => {
      const json = runCli(['replay', join(DIR, `${name}.json`), '--json'], repo);
      assert.equal(json.status, 0, json.stderr);
      const out = JSON.parse(json.stdout);
      assert.equal(out.prompt.dir, dir);
      assert.equal(out.commit.sha, sha);
      assert.equal(out.commitSource.source, commitSource);
      assert.equal(out.verdict.kind, verdict, out.verdict.summary);

      const text = runCli(['replay', join(DIR, `${name}.json`)], repo);
      assert.equal(text.status, 0, text.stderr);
      assert.ok(text.stdout.startsWith(`${dir} at commit ${sha.slice(0, 12)} `), text.stdout);
      assert.match(text.stdout, new RegExp(`^commit ${commitSource === 'span' ? 'named by the span' : 'inferred: '}`, 'm'));
      assert.match(text.stdout, { match: /^MATCH: /m, 'nothing-recorded': /^NOTHING TO COMPARE: /m, 'not-produced': /^NOT FROM THIS TEMPLATE: /m }[verdict]!);
    });
  }

  it('reads the span from stdin and says when conventions disagree', () => {
    const text = readFileSync(join(DIR, 'conventions-disagree.json'), 'utf8');
    const run = spawnSync(process.execPath, [CLI, 'replay', '-'], { cwd: repo, input: text, encoding: 'utf8', env: { PATH: process.env.PATH ?? '' } });
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stderr, /^warning: the span's prompt identity attributes disagree: name: prompt\.name "summarisation" but gen_ai\.prompt\.name "classification"/m);
    assert.match(run.stdout, /^prompt named by prompt\.name \(prompt-ci\), prompt\.version \(prompt-ci\), prompt\.commit_sha \(prompt-ci\); disagreeing: /m);
  });

  it('--call refuses a request whose variables are not known, and says how to give them', () => {
    const run = runCli(['replay', join(DIR, 'no-content.json'), '--call'], repo, { ANTHROPIC_API_KEY: 'sk-test' });
    assert.equal(run.status, 2);
    assert.match(run.stderr, /--call needs the rendered request, but the variables are not known: NOTHING TO COMPARE.* Give them with --inputs FILE/);
  });
});
