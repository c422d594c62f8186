import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
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

  describe('a span export over the 20 MB limit of one JSON document', () => {
    const LIMIT = 20 * 1024 * 1024;
    /** One OTLP/JSON document of HTTP spans (no LLM span), about 100 KB on one line. */
    const padding = (n: number): string =>
      JSON.stringify({
        resourceSpans: [
          {
            scopeSpans: [
              {
                spans: Array.from({ length: 50 }, (_, i) => ({
                  traceId: (n * 100 + i).toString(16).padStart(32, '0'),
                  spanId: (n * 100 + i + 1).toString(16).padStart(16, '0'),
                  name: 'GET /v1/tickets',
                  attributes: [{ key: 'http.url', value: { stringValue: `https://api.example.com/v1/tickets?page=${'x'.repeat(1950)}` } }],
                })),
              },
            ],
          },
        ],
      });
    /** The LLM span fixtures, one compact JSON document per line, with HTTP spans around them past the limit. */
    const llmLines = (): string[] => spans.map((f) => JSON.stringify(JSON.parse(readFileSync(f, 'utf8'))));
    const pastLimit = (lines: string[]): string[] => {
      const out = [...lines];
      let bytes = out.reduce((n, l) => n + l.length + 1, 0);
      for (let n = 0; bytes <= LIMIT + 512 * 1024; n++) {
        const line = padding(n);
        out.splice(Math.floor(out.length / 2), 0, line);
        bytes += line.length + 1;
      }
      return out;
    };

    it('is streamed a line at a time when it is JSON lines, with the result of reading the spans whole', () => {
      const big = join(root, 'spans-large.jsonl');
      writeFileSync(big, `${pastLimit(llmLines()).join('\n')}\n`);
      assert.ok(statSync(big).size > LIMIT);
      // The suite as committed (the tests above appended to it), so that there is something to add.
      const evalPath = join(repo, 'prompts/classification/v1/eval.jsonl');
      const current = readFileSync(evalPath);
      writeFileSync(evalPath, execFileSync('git', ['show', 'HEAD:prompts/classification/v1/eval.jsonl'], { cwd: repo }));
      let a;
      let b;
      try {
        const streamed = runCli(['harvest', big, '--prompt', 'prompts/classification/v1', '--dry-run', '--json', '--seed', 'big'], repo);
        assert.equal(streamed.status, 0, streamed.stderr);
        const whole = runCli(['harvest', ...spans, '--prompt', 'prompts/classification/v1', '--dry-run', '--json', '--seed', 'big'], repo);
        assert.equal(whole.status, 0, whole.stderr);
        a = JSON.parse(streamed.stdout);
        b = JSON.parse(whole.stdout);
      } finally {
        writeFileSync(evalPath, current);
      }
      assert.ok(b.added.length >= 1, 'something to add');
      for (const key of ['spans', 'candidates', 'skipped', 'strata', 'duplicates', 'redaction', 'added']) assert.deepEqual(a[key], b[key], key);
    });

    it('is refused with what to do when it is one JSON document', () => {
      const pretty = join(root, 'spans-large-pretty.json');
      const doc = { resourceSpans: pastLimit([]).map((line) => JSON.parse(line).resourceSpans[0]) };
      writeFileSync(pretty, JSON.stringify(doc, null, 1));
      const r = runCli(['harvest', pretty, '--prompt', 'prompts/classification/v1', '--dry-run'], repo);
      assert.equal(r.status, 2);
      assert.match(
        r.stderr,
        /^prompt-ci harvest: .*spans-large-pretty\.json is 2\d(\.\d)? MB, over the 20 MB limit of one JSON document, so it is read a line at a time, one JSON document per line .*but its line 1 is not a whole JSON document: it looks like one large document\. Export it as JSON lines .*or split it into files under 20 MB\n$/,
      );
      const oneLine = join(root, 'spans-large-one-line.json');
      writeFileSync(oneLine, JSON.stringify(doc));
      const r2 = runCli(['harvest', oneLine, '--prompt', 'prompts/classification/v1', '--dry-run'], repo);
      assert.equal(r2.status, 2);
      assert.match(r2.stderr, /spans-large-one-line\.json is 2\d(\.\d)? MB, over the 20 MB limit of one JSON document, and its line 1 is over 20 MB too: .*split that line's document into smaller ones\n$/);
    });
  });
});
