import * as assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CliIo } from '../../src/cli/cliIo';
import { runReplayCommand } from '../../src/cli/replayCommand';
import type { ReplayCommandDeps } from '../../src/cli/replayCommand';
import { promptMetadataSchema } from '../../src/core/metadataSchema';
import {
  ReplayError,
  compareTexts,
  lineDiff,
  parseInputsFile,
  replayPrompt,
  toAuditMarkdown,
  toAuditRecord,
} from '../../src/core/replay';
import type { PromptSnapshot, ReplayErrorCode } from '../../src/core/replay';
import { parseSpan } from '../../src/core/span';
import { startStandIn } from '../support/standIn/server';
import { replaySpanText } from '../../src/node/replayRunner';
import { SHA, commitHistory, fileAt, git, repoState } from './promptHistory';

const FIXTURES = join(__dirname, '..', 'fixtures', 'spans');
const fixture = (name: string): string => readFileSync(join(FIXTURES, name), 'utf8');

/** A prompt snapshot at commit B of the history, built in memory (no git). */
function snapshotAtB(overrides: Partial<PromptSnapshot> = {}): PromptSnapshot {
  const metadataText = fileAt(1, 'prompts/summarisation/v1/metadata.yaml');
  return {
    name: 'summarisation',
    version: 1,
    dir: 'prompts/summarisation/v1',
    commit: {
      sha: SHA.b,
      author: 'Ada Lovelace',
      authorEmail: 'ada@example.com',
      authorDate: '2025-02-03T14:30:00+01:00',
      committer: 'Ada Lovelace',
      commitDate: '2025-02-03T14:30:00+01:00',
      subject: 'summarisation v1: ask for a sentence budget',
    },
    system: fileAt(1, 'prompts/summarisation/v1/system.md'),
    userTemplate: fileAt(1, 'prompts/summarisation/v1/user.template.md'),
    metadataText,
    metadata: promptMetadataSchema.parse({ name: 'summarisation', version: 1, model: 'claude-sonnet-4-6', temperature: 0, max_output_tokens: 600 }),
    files: [{ mode: '100644', type: 'blob', object: 'e69de29bb2d1d6434b8b29ae775ad8c2e48c5391', path: 'system.md' }],
    warnings: [],
    ...overrides,
  };
}

const DOCUMENT = 'Invoice INV-1042 was charged twice on 2 March.\nThe customer asks for a refund of the second charge.';
const USER_B = `Summarise the document below for Grace Hopper in at most 3 sentences.\n\n<document>\n${DOCUMENT}\n</document>\n`;

function replayError(fn: () => unknown, code: ReplayErrorCode): string {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof ReplayError, `expected a ReplayError, got ${String(error)}`);
    assert.equal(error.code, code, error.message);
    return error.message;
  }
  assert.fail(`expected a ReplayError ${code}`);
}

describe('replayPrompt', () => {
  it('rebuilds the exact Messages API request and matches the recorded input byte for byte', () => {
    const result = replayPrompt(parseSpan(fixture('otlp-export.json')), snapshotAtB());
    assert.deepEqual(result.request, {
      model: 'claude-sonnet-4-6',
      max_tokens: 600,
      temperature: 0,
      system: fileAt(1, 'prompts/summarisation/v1/system.md'),
      messages: [{ role: 'user', content: USER_B }],
    });
    assert.deepEqual(Object.keys(result.request), ['model', 'max_tokens', 'temperature', 'system', 'messages']);
    assert.equal(result.rendered.user, USER_B);
    assert.equal(result.rendered.matchesRecorded, true);
    assert.deepEqual(result.comparison?.compared, ['system', 'user']);
    assert.deepEqual(result.mismatches, []);
    assert.equal(result.variables.source, 'span');
    assert.deepEqual(result.variables.required, ['customer_name', 'max_sentences', 'document']);
    assert.deepEqual(result.warnings, []);
  });

  it('reports a model that differs from the metadata, and uses what the span says was sent', () => {
    const result = replayPrompt(parseSpan(fixture('attribute-map.json')), snapshotAtB());
    assert.deepEqual(result.mismatches, [{ parameter: 'model', span: 'claude-sonnet-4-5', metadata: 'claude-sonnet-4-6', used: 'span' }]);
    assert.equal(result.request.model, 'claude-sonnet-4-5');
    assert.match(result.warnings.join('\n'), /the span's model \(claude-sonnet-4-5\) differs from metadata\.yaml at f5ab86dcbfb5 \(claude-sonnet-4-6\)/);
  });

  it('shows a line diff when the recorded input differs', () => {
    const result = replayPrompt(parseSpan(fixture('attribute-map.json')), snapshotAtB());
    assert.equal(result.rendered.matchesRecorded, false);
    assert.equal(result.comparison?.user?.matches, true);
    const system = result.comparison?.system;
    assert.equal(system?.matches, false);
    assert.equal(
      system?.diff,
      " You are a careful assistant that summarises customer documents.\n Keep the customer's own terms for products and plans.\n-Never invent facts that are not in the document.\n",
    );
    assert.deepEqual(system?.firstDifference, { offset: 118, line: 3, column: 1 });
  });

  it('compares nothing when nothing was recorded', () => {
    const result = replayPrompt(parseSpan(fixture('otlp-instrumentation-library.json')), snapshotAtB({ userTemplate: fileAt(0, 'prompts/summarisation/v1/user.template.md') }));
    assert.equal(result.rendered.matchesRecorded, null);
    assert.equal(result.comparison, null);
  });

  it('a span with no content still shows the prompt and request, and says which attribute would allow a comparison', () => {
    const span = parseSpan(JSON.stringify({ 'prompt.name': 'summarisation', 'prompt.version': 1, 'prompt.commit_sha': SHA.b }));
    const result = replayPrompt(span, snapshotAtB());
    assert.equal(result.verdict.kind, 'nothing-recorded');
    assert.match(result.verdict.summary, /^NOTHING TO COMPARE: the span recorded neither the messages nor the variables\. A span with gen_ai\.input\.messages with gen_ai\.system_instructions/);
    assert.doesNotMatch(result.verdict.summary, /--/);
    assert.equal(result.rendered.user, null);
    assert.equal(result.rendered.matchesRecorded, null);
    assert.equal(result.request.messages[0].content, fileAt(1, 'prompts/summarisation/v1/user.template.md'), 'the template, unrendered');
    assert.equal(result.request.system, fileAt(1, 'prompts/summarisation/v1/system.md'));
    assert.deepEqual(result.variables.missing, ['customer_name', 'max_sentences', 'document']);
    assert.equal(result.variables.source, 'none');
  });

  it('an inputs file that lacks variables is refused, naming what it has', () => {
    const span = parseSpan(JSON.stringify({ 'prompt.name': 'summarisation', 'prompt.version': 1, 'prompt.commit_sha': SHA.b }));
    const partial = replayError(
      () => replayPrompt(span, snapshotAtB(), { values: { customer_name: 'Grace', document: 'x' }, source: 'inputs.json' }),
      'missing-variables',
    );
    assert.equal(
      partial,
      'prompts/summarisation/v1/user.template.md at commit f5ab86dcbfb5 needs variable "max_sentences" that is not supplied: the span records no variables; inputs.json has "customer_name", "document"',
    );
  });

  it('takes variables from an inputs file over the span, and warns about unused ones', () => {
    const span = parseSpan(fixture('otlp-export.json'));
    const result = replayPrompt(span, snapshotAtB(), { values: { max_sentences: 5, extra: 'x' }, source: 'inputs.json' });
    assert.equal(result.variables.source, 'span+inputs');
    assert.match(result.rendered.user ?? '', /at most 5 sentences/);
    assert.equal(result.rendered.matchesRecorded, false);
    assert.deepEqual(result.variables.unused, ['extra']);
    assert.match(result.warnings.join('\n'), /variables not used by the template at f5ab86dcbfb5: extra/);
  });

  it("gives CPython's message for a malformed template at the commit, with its line and column", () => {
    const span = parseSpan(fixture('otlp-export.json'));
    const message = replayError(() => replayPrompt(span, snapshotAtB({ userTemplate: 'Hello\n{customer_name' })), 'template-error');
    assert.match(message, /^prompts\/summarisation\/v1\/user\.template\.md at commit f5ab86dcbfb5 is not a valid python template: expected '\}' before end of string \(line 2, column 1\)$/);
  });

  it('reports a rendering error with the template language’s own message', () => {
    const span = parseSpan(JSON.stringify({ 'prompt.name': 'summarisation', 'prompt.version': 1, 'prompt.commit_sha': SHA.b, 'prompt.variables': '{"customer": "Grace"}' }));
    const message = replayError(() => replayPrompt(span, snapshotAtB({ userTemplate: '{customer[name]}' })), 'render-error');
    assert.match(message, /TypeError: string indices must be integers/);
  });

  it('leaves system out of the request when the version had no system.md', () => {
    const span = parseSpan(fixture('otlp-export.json'));
    const result = replayPrompt(span, snapshotAtB({ system: undefined }));
    assert.equal('system' in result.request, false);
    assert.equal(result.rendered.system, null);
    assert.equal(result.comparison?.system?.matches, false, 'the span recorded a system prompt the version did not have');
  });

  it('counts extra recorded messages (a conversation) as a difference', () => {
    const messages = [
      { role: 'user', parts: [{ type: 'text', content: 'earlier question' }] },
      { role: 'assistant', parts: [{ type: 'text', content: 'earlier answer' }] },
      { role: 'user', parts: [{ type: 'text', content: USER_B }] },
    ];
    const span = parseSpan(
      JSON.stringify({
        'prompt.name': 'summarisation',
        'prompt.version': 1,
        'prompt.commit_sha': SHA.b,
        'prompt.variables': JSON.stringify({ customer_name: 'Grace Hopper', document: DOCUMENT, max_sentences: 3 }),
        'gen_ai.input.messages': JSON.stringify(messages),
      }),
    );
    const result = replayPrompt(span, snapshotAtB());
    assert.equal(result.comparison?.user?.matches, true);
    assert.equal(result.comparison?.extraMessages?.length, 2);
    assert.equal(result.rendered.matchesRecorded, false);
  });
});

describe('compareTexts and lineDiff', () => {
  it('names differences a line diff shows badly', () => {
    assert.equal(compareTexts('a\nb\n', 'a\nb').note, 'they differ only in trailing whitespace or a final newline');
    assert.equal(compareTexts('a\r\nb', 'a\nb').note, 'they differ only in line endings (CRLF against LF)');
    assert.equal(compareTexts(' a', 'a').note, 'they differ only in leading or trailing whitespace');
    assert.equal(compareTexts('a  b', 'a b').note, 'they differ only in whitespace');
    assert.equal(compareTexts('a', 'b').note, undefined);
    assert.deepEqual(compareTexts('same', 'same'), { matches: true, recorded: 'same', rendered: 'same' });
  });

  it('marks a missing final newline as git does', () => {
    assert.equal(lineDiff('a\nb\n', 'a\nb'), ' a\n-b\n+b\n\\ No newline at end of text\n');
    assert.equal(lineDiff('x\n', 'y\n'), '-x\n+y\n');
  });
});

describe('parseInputsFile', () => {
  it('reads an object of variables, or one eval example', () => {
    assert.deepEqual(parseInputsFile('{"document": "x"}', 'in.json'), { document: 'x' });
    assert.deepEqual(parseInputsFile('{"id": "sum-001", "inputs": {"document": "x"}, "reference": "y"}\n', 'in.jsonl'), { document: 'x' });
  });

  it('refuses anything else with a message', () => {
    const err = (text: string) => replayError(() => parseInputsFile(text, 'in.json'), 'bad-inputs-file');
    assert.match(err('{"a": 1}\n{"a": 2}\n'), /holds 2 lines; give one JSON object/);
    assert.match(err('nope'), /in\.json is not JSON/);
    assert.match(err('["a"]'), /must hold a JSON object of variables/);
  });
});

describe('audit record', () => {
  it('holds everything needed to say how the output was produced', () => {
    const result = replayPrompt(parseSpan(fixture('otlp-export.json')), snapshotAtB());
    const record = toAuditRecord(result, { generatedAt: '2025-06-01T00:00:00.000Z' });
    assert.equal(record.schema, 'prompt-ci/replay-audit@1');
    assert.equal(record.prompt.commit.sha, SHA.b);
    assert.equal(record.prompt.commit.author, 'Ada Lovelace');
    assert.equal(record.prompt.commit.authorDate, '2025-02-03T14:30:00+01:00');
    assert.equal(record.prompt.userTemplate, fileAt(1, 'prompts/summarisation/v1/user.template.md'));
    assert.equal(record.prompt.system, fileAt(1, 'prompts/summarisation/v1/system.md'));
    assert.deepEqual(record.inputs.values, { customer_name: 'Grace Hopper', document: DOCUMENT, max_sentences: 3 });
    assert.equal(record.model, 'claude-sonnet-4-6');
    assert.deepEqual(record.parameters, { temperature: 0, max_tokens: 600 });
    assert.deepEqual(record.span, {
      shape: 'OTLP/JSON export',
      traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
      spanId: '00f067aa0ba902b7',
      spanName: 'chat claude-sonnet-4-6',
      tenantId: 'acme-corp',
      requestId: 'req_7f3a9c2e41',
    });
    assert.equal(record.verdict.matchesRecorded, true);

    const markdown = toAuditMarkdown(record);
    for (const needle of [SHA.b, 'Ada Lovelace <ada@example.com>', '2025-02-03T14:30:00+01:00', 'acme-corp', 'req_7f3a9c2e41', '00f067aa0ba902b7', '4bf92f3577b34da6a3ce929d0e0e4736', 'claude-sonnet-4-6', '| Temperature | 0 |', '| Max tokens | 600 |', 'MATCH: the re-rendered system message and user message are byte for byte what the span recorded.', '| Commit found | named by the span (prompt.commit_sha, prompt-ci) |']) {
      assert.ok(markdown.includes(needle), needle);
    }
    const embedded = /## Record \(JSON\)\n\n```json\n([\s\S]*)\n```\n$/.exec(markdown);
    assert.deepEqual(JSON.parse(embedded![1]), record);
  });

  it('fences text that holds backticks with a longer fence, and escapes table cells', () => {
    const result = replayPrompt(
      parseSpan(fixture('otlp-export.json')),
      snapshotAtB({ system: 'Use ```json fences``` and ```` four.\n', commit: { ...snapshotAtB().commit, subject: 'a | b' } }),
    );
    const markdown = toAuditMarkdown(toAuditRecord(result, { generatedAt: 'now' }));
    assert.ok(markdown.includes('`````markdown\nUse ```json fences``` and ```` four.\n`````'));
    assert.ok(markdown.includes('| Commit subject | a \\| b |'));
  });
});

describe('replay from a real repository', function () {
  let root: string;
  let repo: string;
  let untouched: Record<string, string>;

  before(() => {
    root = mkdtempSync(join(tmpdir(), 'prompt-ci-replay-'));
    repo = join(root, 'repo');
    assert.deepEqual(commitHistory(repo), [SHA.a, SHA.b, SHA.c, SHA.d]);
    // Work in progress that the replay must neither read nor touch.
    writeFileSync(join(repo, 'prompts/summarisation/v1/user.template.md'), 'Edited in the working tree: {document}\n');
    writeFileSync(join(repo, 'prompts/summarisation/v1/system.md'), 'Staged system prompt\n');
    git(repo, ['add', 'prompts/summarisation/v1/system.md']);
    writeFileSync(join(repo, 'scratch.txt'), 'untracked\n');
    git(repo, ['update-index', '-q', '--refresh']);
    untouched = repoState(repo);
  });

  after(() => {
    assert.deepEqual(repoState(repo), untouched, 'HEAD, refs, index, status and working tree are byte for byte unchanged');
    rmSync(root, { recursive: true, force: true });
  });

  const expectations: [string, boolean | null, string][] = [
    ['otlp-export.json', true, SHA.b],
    ['otlp-collector-file-exporter.json', true, SHA.a],
    ['otlp-span.json', true, SHA.d],
    ['otlp-instrumentation-library.json', null, SHA.a],
    ['jaeger.json', true, SHA.c],
    ['zipkin-v2.json', true, SHA.c],
    ['otel-console.json', true, SHA.d],
    ['attribute-map.json', false, SHA.b],
  ];
  for (const [name, matches, commit] of expectations) {
    it(`${name}: renders the prompt of commit ${commit.slice(0, 7)} ${matches === true ? 'identical to what was sent' : matches === false ? 'and shows how it differs' : '(nothing recorded)'}`, async () => {
      const result = await replaySpanText(fixture(name), { repoRoot: repo });
      assert.equal(result.prompt.commit.sha, commit);
      assert.equal(result.rendered.matchesRecorded, matches, JSON.stringify(result.comparison, null, 2));
      if (matches) {
        assert.equal(result.request.system, result.span.recorded?.system);
        assert.equal(result.request.messages[0].content, result.span.recorded?.user);
      }
    });
  }

  it('uses the mustache template and metadata of summarisation v2 at its commit', async () => {
    const result = await replaySpanText(fixture('jaeger.json'), { repoRoot: repo });
    assert.deepEqual(result.request, {
      model: 'claude-haiku-4-5',
      max_tokens: 400,
      temperature: 0.2,
      system: 'You summarise support documents in plain English.\n',
      messages: [{ role: 'user', content: `Summarise for Grace Hopper (Team plan):\n\n${DOCUMENT}\n` }],
    });
  });
});

describe('prompt-ci replay (in process)', function () {
  let root: string;
  let repo: string;
  let untouched: Record<string, string>;

  before(() => {
    root = mkdtempSync(join(tmpdir(), 'prompt-ci-replay-cli-'));
    repo = join(root, 'repo');
    commitHistory(repo);
    writeFileSync(join(repo, 'README.md'), 'local edit\n');
    mkdirSync(join(repo, 'spans'));
    writeFileSync(join(repo, 'spans', 'export.json'), fixture('otlp-export.json'));
    git(repo, ['update-index', '-q', '--refresh']);
    untouched = repoState(repo);
  });

  after(() => {
    assert.deepEqual(repoState(repo), untouched);
    rmSync(root, { recursive: true, force: true });
  });

  /** Runs the command with a fake io; stdin is `stdin` when given. */
  async function run(argv: string[], options: { stdin?: string; stdinOverLimit?: boolean; env?: Record<string, string>; cwd?: string; deps?: ReplayCommandDeps } = {}) {
    let stdout = '';
    let stderr = '';
    const io: CliIo = {
      stdout: (t) => (stdout += t),
      stderr: (t) => (stderr += t),
      isTty: false,
      env: options.env ?? {},
      cwd: options.cwd ?? repo,
      signal: new AbortController().signal,
    };
    const deps: ReplayCommandDeps = {
      readStdin: async () => ({ text: options.stdin ?? '', overLimit: options.stdinOverLimit ?? false }),
      now: () => new Date('2025-06-01T00:00:00Z'),
      ...options.deps,
    };
    const code = await runReplayCommand(argv, io, deps);
    return { code, stdout, stderr };
  }

  it('--json prints { span, rendered, request, metadata } for a span file', async () => {
    const { code, stdout, stderr } = await run(['spans/export.json', '--json']);
    assert.equal(code, 0, stderr);
    const out = JSON.parse(stdout);
    assert.deepEqual(
      { ...out.span, traceId: undefined, spanId: undefined, shape: undefined },
      { promptName: 'summarisation', promptVersion: 1, commitSha: SHA.b, model: 'claude-sonnet-4-6', tenantId: 'acme-corp', requestId: 'req_7f3a9c2e41', traceId: undefined, spanId: undefined, shape: undefined, startTime: out.span.startTime },
    );
    assert.deepEqual(out.rendered, { system: fileAt(1, 'prompts/summarisation/v1/system.md'), user: USER_B, matchesRecorded: true });
    assert.equal(out.request.max_tokens, 600);
    assert.equal(out.metadata.model, 'claude-sonnet-4-6');
    assert.equal(out.metadata.max_output_tokens, 600);
    assert.equal(out.commit.sha, SHA.b);
  });

  it('reads the span from stdin (no FILE, or -), and prints a summary', async () => {
    for (const argv of [[], ['-']]) {
      const { code, stdout } = await run(argv, { stdin: fixture('jaeger.json') });
      assert.equal(code, 0);
      assert.match(stdout, /^prompts\/summarisation\/v2 at commit bcf22543399e "Add summarisation v2 \(mustache\) and classification v1" by Ada Lovelace, 2025-03-10T10:15:00\+00:00\n/);
      assert.match(stdout, /span f1c3a5b7d9e2f4a6 trace 7d2c1f0e9b8a7c6d5e4f3a2b1c0d9e8f \(Jaeger JSON\)/);
      assert.match(stdout, /MATCH: the re-rendered system message and user message are byte for byte what the span recorded\./);
      assert.match(stdout, /── user ──\nSummarise for Grace Hopper \(Team plan\):/);
    }
  });

  it('shows the difference when the recorded input differs', async () => {
    const { code, stdout, stderr } = await run([join(FIXTURES, 'attribute-map.json')]);
    assert.equal(code, 0);
    assert.match(stdout, /DIFFERENT: the system message differs at line 3, column 1: recorded "/);
    assert.match(stdout, /── system: recorded \(-\) against re-rendered \(\+\), first difference at line 3, column 1 ──\n/);
    assert.match(stdout, /-Never invent facts that are not in the document\./);
    assert.match(stderr, /warning: the span's model \(claude-sonnet-4-5\) differs/);
  });

  it('--span-id picks one of several LLM spans', async () => {
    const several = join(FIXTURES, 'several-llm-spans.json');
    const refused = await run([several]);
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /^prompt-ci replay: this paste holds 2 LLM spans; choose one by its span id/);
    const chosen = await run([several, '--span-id', 'd4e5f6a7b8c9d0e1', '--json']);
    assert.equal(chosen.code, 0, chosen.stderr);
    assert.equal(JSON.parse(chosen.stdout).span.promptName, 'classification');
  });

  it('--inputs supplies variables the span lacks', async () => {
    const span = JSON.stringify({ 'prompt.name': 'classification', 'prompt.version': 1, 'prompt.commit_sha': SHA.c });
    const missing = await run(['-'], { stdin: span });
    assert.equal(missing.code, 0, missing.stderr);
    assert.match(missing.stdout, /NOTHING TO COMPARE: the span recorded neither the messages nor the variables/);
    assert.match(missing.stdout, /── user \(the template, not rendered\) ──\nTicket from \{customer\[name\]\} on the/);
    const inputs = join(root, 'inputs.jsonl');
    writeFileSync(inputs, `${JSON.stringify({ id: 'cls-001', inputs: { customer: { name: 'Alan', plan: 'Free' }, ticket: 'Refund please' } })}\n`);
    const ok = await run(['-', '--inputs', inputs, '--json'], { stdin: span });
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(JSON.parse(ok.stdout).rendered.user, 'Ticket from Alan on the Free plan:\n\nRefund please\n');
    assert.equal(JSON.parse(ok.stdout).rendered.matchesRecorded, null);
  });

  it('--audit writes the Markdown record, or the JSON one for a .json name', async () => {
    const md = join(root, 'audit.md');
    const json = join(root, 'audit.json');
    assert.equal((await run(['spans/export.json', '--audit', md])).code, 0);
    assert.equal((await run(['spans/export.json', '--audit', json])).code, 0);
    assert.match(readFileSync(md, 'utf8'), /^# Replay audit: summarisation v1 at f5ab86dcbfb5\n/);
    const record = JSON.parse(readFileSync(json, 'utf8'));
    assert.equal(record.generatedAt, '2025-06-01T00:00:00.000Z');
    assert.equal(record.prompt.commit.subject, 'summarisation v1: ask for a sentence budget');
  });

  describe('--call', () => {
    it('sends the rebuilt request unchanged and diffs the new output with the recorded one', async () => {
      const standIn = await startStandIn({ answer: () => 'Grace Hopper was charged twice for invoice INV-1042 and wants one charge refunded.' });
      try {
        const { code, stdout, stderr } = await run(['spans/export.json', '--call', '--json'], { env: { ANTHROPIC_API_KEY: 'test-key', ANTHROPIC_BASE_URL: standIn.url } });
        assert.equal(code, 0, stderr);
        const out = JSON.parse(stdout);
        assert.equal(standIn.requests.length, 1);
        const { stream: _stream, ...sent } = standIn.requests[0].body;
        assert.deepEqual(sent, out.request, 'the body on the wire is the rebuilt request');
        assert.equal(out.replay.text, 'Grace Hopper was charged twice for invoice INV-1042 and wants one charge refunded.');
        assert.equal(out.replay.comparedWithRecorded.matches, false);
        assert.match(out.replay.comparedWithRecorded.diff, /^-Grace Hopper was charged twice for invoice INV-1042 on 2 March/m);
        const text = await run(['spans/export.json', '--call'], { env: { ANTHROPIC_API_KEY: 'test-key', ANTHROPIC_BASE_URL: standIn.url } });
        assert.match(text.stdout, /new output: differs from the recorded output/);
      } finally {
        await standIn.close();
      }
    });

    it('needs an API key, and reports an API error as exit 2', async () => {
      const noKey = await run(['spans/export.json', '--call']);
      assert.equal(noKey.code, 2);
      assert.match(noKey.stderr, /--call needs ANTHROPIC_API_KEY/);
      const standIn = await startStandIn({ apiKey: 'right-key' });
      try {
        const wrong = await run(['spans/export.json', '--call'], { env: { ANTHROPIC_API_KEY: 'wrong-key', ANTHROPIC_BASE_URL: standIn.url } });
        assert.equal(wrong.code, 2);
        assert.match(wrong.stderr, /^prompt-ci replay: the replayed call failed: the Anthropic API refused the API key \(401 /);
      } finally {
        await standIn.close();
      }
    });
  });

  describe('every bad input: exit 2 with the reason on stderr', () => {
    const bad: [string, string[], { stdin?: string; stdinOverLimit?: boolean; cwd?: string }, RegExp][] = [
      ['a missing file', ['nope.json'], {}, /span file nope\.json can't be read: no such file/],
      ['a directory', ['spans'], {}, /span file spans is not a file/],
      ['not JSON', ['-'], { stdin: 'trace: 4bf92f35' }, /is not JSON: unexpected "t" at line 1, column 1/],
      ['truncated JSON', ['-'], { stdin: fixture('otlp-export.json').slice(0, 3000) }, /truncated JSON/],
      ['no LLM span', [join(FIXTURES, 'no-llm-span.json')], {}, /no LLM span found: looked for a span that names a prompt \(prompt\.name, gen_ai\.prompt\.name/],
      ['over 20 MB on stdin', ['-'], { stdinOverLimit: true }, /stdin holds more than 20 MB/],
      ['a SHA with shell characters', ['-'], { stdin: JSON.stringify({ 'prompt.name': 'summarisation', 'prompt.version': 1, 'prompt.commit_sha': 'abc123; rm -rf /' }) }, /prompt\.commit_sha "abc123; rm -rf \/" is not a commit SHA/],
      ['a SHA with a command substitution', ['-'], { stdin: JSON.stringify({ 'prompt.name': 'summarisation', 'prompt.version': 1, 'prompt.commit_sha': '$(touch x)' }) }, /"\$\(touch x\)" is not a commit SHA/],
      ['a SHA not in the repository', ['-'], { stdin: JSON.stringify({ 'prompt.name': 'summarisation', 'prompt.version': 1, 'prompt.commit_sha': 'abc1234' }) }, /commit abc1234 is not in this repository, and the repository has no remote to fetch it from/],
      ['a name with ../', ['-'], { stdin: JSON.stringify({ 'prompt.name': '../../etc', 'prompt.version': 1, 'prompt.commit_sha': SHA.a }) }, /prompt\.name "\.\.\/\.\.\/etc" is not a prompt name/],
      ['a version that is not an integer', ['-'], { stdin: JSON.stringify({ 'prompt.name': 'summarisation', 'prompt.version': 'latest', 'prompt.commit_sha': SHA.a }) }, /prompt\.version "latest" is not a version/],
      ['a version not at the commit', ['-'], { stdin: JSON.stringify({ 'prompt.name': 'summarisation', 'prompt.version': 2, 'prompt.commit_sha': SHA.a }) }, /prompts\/summarisation\/v2 does not exist at commit 1754a881f90c; versions of "summarisation" there: v1/],
      ['an unknown flag', ['--frobnicate'], {}, /Unknown option '--frobnicate'/],
      ['two files', ['a.json', 'b.json'], {}, /one span file at a time/],
      ['a missing inputs file', ['spans/export.json', '--inputs', 'missing.json'], {}, /inputs file missing\.json can't be read/],
    ];
    for (const [what, argv, options, expected] of bad) {
      it(what, async () => {
        const { code, stdout, stderr } = await run(argv, options);
        assert.equal(code, 2, stdout);
        assert.equal(stdout, '');
        assert.match(stderr, /^prompt-ci replay: /);
        assert.match(stderr, expected);
      });
    }

    it('a 50 MB span file is refused before it is read', async () => {
      const big = join(root, 'big.json');
      writeFileSync(big, Buffer.alloc(50 * 1024 * 1024, 0x20));
      const { code, stderr } = await run([big]);
      assert.equal(code, 2);
      assert.match(stderr, /span file .*big\.json is 50\.0 MB, over the 20 MB limit/);
      rmSync(big);
    });

    it('outside a git repository', async () => {
      const outside = mkdtempSync(join(tmpdir(), 'prompt-ci-not-a-repo-'));
      try {
        const { code, stderr } = await run([join(FIXTURES, 'otlp-export.json')], { cwd: outside });
        assert.equal(code, 2);
        assert.match(stderr, /is not inside a git repository/);
      } finally {
        rmSync(outside, { recursive: true, force: true });
      }
    });
  });
});
