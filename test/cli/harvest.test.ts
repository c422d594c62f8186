import * as assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { commitHistory } from '../unit/promptHistory';
import { runCli } from './cliHarness';

/** `prompt-ci harvest` as a user runs it: the exporters' span fixtures into a prompt's eval.jsonl. */
const DIR = join(__dirname, '..', 'fixtures', 'spans', 'conventions');

describe('prompt-ci harvest', function () {
  this.timeout(120_000);
  let root: string;
  let repo: string;
  before(() => {
    root = mkdtempSync(join(tmpdir(), 'prompt-ci-cli-harvest-'));
    repo = join(root, 'repo');
    commitHistory(repo);
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  const spans = ['openinference-template-variables.json', 'opentelemetry-older-content.json', 'langfuse.json'].map((f) => join(DIR, f));

  it('answers --help with its usage', () => {
    const r = runCli(['harvest', '--help'], repo);
    assert.equal(r.status, 0);
    assert.match(r.stdout, /^usage: prompt-ci harvest SPANS\.\.\. --prompt PROMPT_DIR/);
  });

  it('--dry-run prints the lines it would add and the redaction report, and writes nothing', () => {
    const path = join(repo, 'prompts/classification/v1/eval.jsonl');
    const before = readFileSync(path, 'utf8');
    const r = runCli(['harvest', ...spans, '--prompt', 'prompts/classification/v1', '--dry-run'], repo);
    assert.equal(r.status, 0, r.stderr);
    const lines = r.stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));
    assert.ok(lines.length >= 1, r.stdout);
    for (const l of lines) assert.deepEqual(l.tags, ['production', 'needs-review']);
    assert.match(r.stdout, /redacted: /);
    assert.match(r.stdout, /would append \d+ examples? to prompts\/classification\/v1\/eval\.jsonl \(--dry-run: nothing written\)/);
    assert.equal(readFileSync(path, 'utf8'), before);
  });

  it('appends, then finds nothing new the second time; --json reports the counts', () => {
    const path = join(repo, 'prompts/classification/v1/eval.jsonl');
    const before = readFileSync(path, 'utf8');
    const r = runCli(['harvest', ...spans, '--prompt', 'prompts/classification', '--seed', 'x'], repo);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /appended \d+ examples? to prompts\/classification\/v1\/eval\.jsonl, tagged production and needs-review/);
    const after = readFileSync(path, 'utf8');
    assert.ok(after.startsWith(before) && after.length > before.length);
    const again = runCli(['harvest', ...spans, '--prompt', 'prompts/classification/v1', '--json'], repo);
    assert.equal(again.status, 0, again.stderr);
    const json = JSON.parse(again.stdout);
    assert.equal(json.written, 0);
    assert.ok(json.duplicates.ofExisting >= 1);
    assert.equal(json.duplicates.threshold, 0.9);
    assert.equal(readFileSync(path, 'utf8'), after);
    const check = runCli(['check', 'prompts/classification/v1'], repo);
    assert.equal(check.status, 0, check.stdout + check.stderr);
  });

  it('bad input exits 2 with a sentence naming it', () => {
    const cases: [string[], RegExp][] = [
      [['harvest', '--prompt', 'prompts/classification/v1'], /SPANS is required/],
      [['harvest', spans[0]], /--prompt PROMPT_DIR is required/],
      [['harvest', spans[0], '--prompt', 'prompts/classification/v1', '--sample', '0'], /--sample must be a positive whole number/],
      [['harvest', spans[0], '--prompt', 'prompts/classification/v1', '--since', 'yesterday'], /--since must be an ISO 8601 date or time/],
      [['harvest', 'missing.json', '--prompt', 'prompts/classification/v1'], /span file missing\.json can't be read: no such file/],
      [['harvest', spans[0], '--prompt', 'prompts/nope/v1'], /prompts\/nope\/v1: no such directory/],
    ];
    for (const [args, message] of cases) {
      const r = runCli(args, repo);
      assert.equal(r.status, 2, args.join(' '));
      assert.match(r.stderr, message);
    }
    const notJson = join(root, 'not-span.json');
    writeFileSync(notJson, '{"resourceSpans": [ {"secret": "ada@example.com" ');
    const r = runCli(['harvest', notJson, '--prompt', 'prompts/classification/v1'], repo);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /not-span\.json: /);
    assert.ok(!r.stderr.includes('ada@example.com'), r.stderr);
  });
});
