import * as assert from 'assert';
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import * as vscode from 'vscode';
import type { HarvestCommandOutcome } from '../../../src/vscode/harvestCommand';
import type { ReplayTraceOutcome } from '../../../src/vscode/replayTrace';

/*
 * "Prompt CI: Add Spans to Eval Suite…" in a real VS Code: an OTLP/JSON export with planted e-mail
 * addresses and phone numbers is opened in an editor, the command runs, the version is picked in the
 * quick pick (the modal confirmation is skipped with `confirmed`, as VS Code refuses dialogs under
 * test, and its text checked); the lines on disk are then checked.
 *
 *   PROMPT_CI_TEST_GREP='Add Spans to Eval Suite' node test/integration/runVscodeTests.mjs
 *
 * The spans follow the shape of test/fixtures/workspace/spans/otlp-export-commit-a.json (OTLP/JSON
 * with the GenAI semantic conventions' gen_ai.input.messages and the prompt.* attributes).
 */

const NAME = 'harvest-demo';
const TEMPLATE = 'Ticket from {customer_name}:\n\n{ticket}\n';
const metadata = (version: number) =>
  `name: ${NAME}\nversion: ${version}\nmodel: claude-haiku-4-5\ntemperature: 0.0\nmax_output_tokens: 300\neval:\n  threshold_win_rate: 0.5\n`;
const EXISTING = '{"id":"hand-1","inputs":{"customer_name":"Grace","ticket":"Where is my parcel?"},"reference":"It ships tomorrow."}\n';

/** Planted personal data: none of it may reach eval.jsonl. */
const PLANTED = ['ada.lovelace@example.com', 'grace.hopper@example.org', '+44 20 7946 0958', '(415) 555-2671'];
const TICKETS = [
  'My invoice shows two charges for March. Write to ada.lovelace@example.com or call +44 20 7946 0958.',
  'Order ORD-2026-000123 never arrived; reach me at grace.hopper@example.org.',
  'Please call me back on (415) 555-2671 about the refund of 2026-11-30.',
];

/** The replayed span's ticket, and its planted values. */
const REPLAYED_TICKET = 'The export job fails every night; mail edsger.dijkstra@example.net or ring +1 415 555 2672.';
const REPLAYED_PLANTED = ['edsger.dijkstra@example.net', '+1 415 555 2672', '4155552672'];

/** Resolves with the first visible editor that `match` accepts, waiting for it to appear. */
async function waitForEditor(match: (e: vscode.TextEditor) => boolean, timeoutMs = 20_000): Promise<vscode.TextEditor> {
  const found = (): vscode.TextEditor | undefined => vscode.window.visibleTextEditors.find(match);
  for (const deadline = Date.now() + timeoutMs; Date.now() < deadline; ) {
    const editor = found();
    if (editor) {
      await vscode.window.showTextDocument(editor.document, { viewColumn: editor.viewColumn, preview: false });
      return vscode.window.activeTextEditor ?? editor;
    }
    await new Promise<void>((resolve) => {
      const listener = vscode.window.onDidChangeVisibleTextEditors(() => {
        listener.dispose();
        resolve();
      });
      setTimeout(() => {
        listener.dispose();
        resolve();
      }, 500);
    });
  }
  throw new Error('the replay document did not open');
}

const root = (): string => {
  const folder = vscode.workspace.workspaceFolders?.[0];
  assert.ok(folder, 'the fixture workspace is open');
  return folder.uri.fsPath;
};
const git = (...args: string[]): string => execFileSync('git', args, { cwd: root(), encoding: 'utf8', env: { ...process.env, GIT_OPTIONAL_LOCKS: '0' } }).trim();

function writeFiles(files: Record<string, string>): void {
  for (const [rel, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(root(), rel)), { recursive: true });
    fs.writeFileSync(path.join(root(), rel), text);
  }
}

const str = (key: string, value: string) => ({ key, value: { stringValue: value } });

/** An OTLP/JSON export of one LLM span per ticket, of harvest-demo v1 at `commit`. */
function otlpExport(commit: string, tickets: readonly string[] = TICKETS, first = 0): string {
  const spans = tickets.map((ticket, n) => {
    const i = first + n;
    const name = ['Ada Lovelace', 'Grace Hopper', 'Alan Turing', 'Edsger Dijkstra'][i];
    const user = TEMPLATE.replace('{customer_name}', name).replace('{ticket}', ticket);
    return {
      traceId: `5b8efff798038103d269b633813fc6${String(i).padStart(2, '0')}`,
      spanId: `b7ad6b71692033${String(i).padStart(2, '0')}`,
      name: 'chat claude-haiku-4-5',
      kind: 3,
      startTimeUnixNano: `${1764547200 + i * 60}000000000`,
      endTimeUnixNano: `${1764547201 + i * 60}000000000`,
      attributes: [
        str('gen_ai.operation.name', 'chat'),
        str('gen_ai.provider.name', 'anthropic'),
        str('gen_ai.request.model', 'claude-haiku-4-5'),
        str('gen_ai.input.messages', JSON.stringify([{ role: 'user', parts: [{ type: 'text', content: user }] }])),
        str('gen_ai.output.messages', JSON.stringify([{ role: 'assistant', parts: [{ type: 'text', content: `Thanks ${name}, we are on it.` }], finish_reason: 'stop' }])),
        str('prompt.name', NAME),
        { key: 'prompt.version', value: { intValue: '1' } },
        str('prompt.commit_sha', commit),
        str('tenant.id', i === 2 ? 'globex' : 'acme-corp'),
      ],
      status: { code: 1 },
    };
  });
  return JSON.stringify({ resourceSpans: [{ resource: { attributes: [str('service.name', 'support-assistant')] }, scopeSpans: [{ scope: { name: 'support_assistant.llm' }, spans }] }] }, null, 2);
}

const addSpans = (args?: { confirmed: boolean }): Thenable<HarvestCommandOutcome> => vscode.commands.executeCommand<HarvestCommandOutcome>('promptCi.addSpansToEvalSuite', args);

/**
 * Runs the command confirmed, accepting the version quick pick's first item (the newest, v2) until
 * it returns: no event says the quick pick is open.
 */
async function addSpansToNewestVersion(): Promise<HarvestCommandOutcome> {
  const pending = addSpans({ confirmed: true });
  let settled = false;
  void pending.then(() => (settled = true), () => (settled = true));
  for (const deadline = Date.now() + 45_000; !settled && Date.now() < deadline; ) {
    await vscode.commands.executeCommand('workbench.action.acceptSelectedQuickOpenItem');
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return pending;
}

async function open(relative: string): Promise<vscode.TextEditor> {
  return vscode.window.showTextDocument(await vscode.workspace.openTextDocument(vscode.Uri.file(path.join(root(), relative))), { preview: false });
}

describe('Add Spans to Eval Suite', function () {
  this.timeout(120_000);
  let fixtureHead: string;
  let commit: string;

  before(async () => {
    await vscode.extensions.getExtension('prompt-ci.prompt-ci')?.activate();
    fixtureHead = git('rev-parse', 'HEAD');
    writeFiles({
      [`prompts/${NAME}/v1/system.md`]: 'You answer support tickets.\n',
      [`prompts/${NAME}/v1/user.template.md`]: TEMPLATE,
      [`prompts/${NAME}/v1/metadata.yaml`]: metadata(1),
      [`prompts/${NAME}/v2/system.md`]: 'You answer support tickets, kindly.\n',
      [`prompts/${NAME}/v2/user.template.md`]: TEMPLATE,
      [`prompts/${NAME}/v2/metadata.yaml`]: metadata(2),
      [`prompts/${NAME}/v2/eval.jsonl`]: EXISTING,
    });
    git('add', '--', `prompts/${NAME}`);
    git('commit', '--quiet', '--no-verify', '-m', 'Harvest demo prompt');
    commit = git('rev-parse', 'HEAD');
    writeFiles({
      'harvest-spans.json': otlpExport(commit),
      'not-spans.json': '{"hello": "world"}\n',
      'http-only-spans.json': JSON.stringify({ resourceSpans: [{ scopeSpans: [{ spans: [{ traceId: '5b8efff798038103d269b633813fc60c', spanId: 'eee19b7ec3c1b174', name: 'POST /v1/tickets', attributes: [str('http.request.method', 'POST')] }] }] }] }),
    });
  });

  afterEach(async () => {
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
  });

  after(() => {
    git('reset', '--quiet', '--hard', fixtureHead);
    fs.rmSync(path.join(root(), 'prompts', NAME), { recursive: true, force: true });
    for (const f of ['harvest-spans.json', 'not-spans.json', 'http-only-spans.json']) fs.rmSync(path.join(root(), f), { force: true });
  });

  it('appends the spans redacted and tagged to the chosen version', async () => {
    await open('harvest-spans.json');
    // VS Code refuses modal dialogs under test: `confirmed` skips it, and the outcome carries its text.
    const outcome = await addSpansToNewestVersion();
    assert.ok(outcome.status === 'appended', JSON.stringify(outcome));
    assert.strictEqual(outcome.written, 3);
    const { message, detail } = outcome.confirmation;
    assert.strictEqual(message, `Append 3 examples from harvest-spans.json to prompts/${NAME}/v2/eval.jsonl?`);
    assert.match(detail, /^3 lines will be appended, tagged production and needs-review/);
    assert.match(detail, /Redacted: 2 e-mail addresses, 2 phone numbers in 3 examples\.$/m);
    for (const value of PLANTED) assert.ok(!`${message}${detail}`.includes(value), `the confirmation does not show ${value}`);

    const onDisk = fs.readFileSync(path.join(root(), 'prompts', NAME, 'v2', 'eval.jsonl'), 'utf8');
    assert.ok(onDisk.startsWith(EXISTING), 'the existing line is kept as it was');
    for (const value of PLANTED) {
      assert.ok(!onDisk.includes(value), `${value} is not on disk`);
      const digits = value.replace(/\D/g, '');
      if (digits.length > 6) assert.ok(!onDisk.replace(/\D/g, '').includes(digits), `the digits of ${value} are not on disk`);
    }
    const added = onDisk.trimEnd().split('\n').slice(1).map((line) => JSON.parse(line) as { id: string; tags: string[]; inputs: Record<string, string>; reference: string; source: Record<string, unknown> });
    assert.strictEqual(added.length, 3);
    for (const line of added) {
      assert.deepStrictEqual(line.tags, ['production', 'needs-review']);
      assert.strictEqual(line.source.version, 1);
      assert.strictEqual(line.source.commit, commit);
      assert.match(String(line.source.spanId), /^b7ad6b71692033\d\d$/);
    }
    const tickets = added.map((l) => l.inputs.ticket).sort();
    assert.ok(tickets.some((t) => /Write to <EMAIL_1> or call <PHONE_1>\.$/.test(t)), tickets.join(' | '));
    assert.ok(tickets.some((t) => t.includes('ORD-2026-000123') && t.includes('<EMAIL_1>')), 'the order number survives');
    assert.ok(tickets.some((t) => t.includes('<PHONE_1>') && t.includes('2026-11-30')), 'the date survives');

    // eval.jsonl is open at the first appended line.
    const editor = vscode.window.activeTextEditor;
    assert.ok(editor, 'an editor is active');
    assert.strictEqual(path.relative(root(), editor.document.uri.fsPath), path.join('prompts', NAME, 'v2', 'eval.jsonl'));
    assert.strictEqual(editor.selection.active.line, 1);
    assert.strictEqual(outcome.firstLine, 1);
  });

  it('appends the span of a replay document, redacted', async () => {
    // A fourth span, replayed from text: the replay keeps the parsed span in memory, nothing on disk.
    const replayed = otlpExport(commit, [REPLAYED_TICKET], 3);
    const shown = await vscode.commands.executeCommand<ReplayTraceOutcome>('promptCi.replayTrace', { text: replayed });
    assert.ok(shown.status === 'shown', JSON.stringify(shown));
    const editor = await waitForEditor((e) => e.document.uri.toString() === shown.uri);
    assert.strictEqual(editor.document.uri.scheme, 'prompt-ci-replay');
    const evalFile = path.join(root(), 'prompts', NAME, 'v2', 'eval.jsonl');
    const before = fs.readFileSync(evalFile);

    const outcome = await addSpansToNewestVersion();
    assert.ok(outcome.status === 'appended', JSON.stringify(outcome));
    assert.strictEqual(outcome.written, 1);
    assert.strictEqual(outcome.confirmation.message, `Append 1 example from the replayed span b7ad6b7169203303 to prompts/${NAME}/v2/eval.jsonl?`);
    assert.match(outcome.confirmation.detail, /Redacted: 1 e-mail address, 1 phone number in 1 example\.$/m);

    const after = fs.readFileSync(evalFile);
    assert.ok(after.subarray(0, before.length).equals(before), 'the lines already there are kept byte for byte');
    const text = after.subarray(before.length).toString('utf8');
    for (const value of REPLAYED_PLANTED) assert.ok(!after.toString('utf8').includes(value), `${value} is not on disk`);
    const line = JSON.parse(text) as { inputs: Record<string, string>; tags: string[]; source: Record<string, unknown> };
    assert.deepStrictEqual(line.tags, ['production', 'needs-review']);
    assert.strictEqual(line.source.spanId, 'b7ad6b7169203303');
    assert.strictEqual(line.source.commit, commit);
    assert.strictEqual(line.inputs.ticket, 'The export job fails every night; mail <EMAIL_1> or ring <PHONE_1>.');
    // Nothing unredacted was written anywhere in the workspace (the index and caches included).
    const walk = (dir: string): string[] =>
      // Regular files only: an earlier suite may leave the embedded store's socket in the workspace.
      fs.readdirSync(dir, { withFileTypes: true }).flatMap((d) => (d.name === '.git' ? [] : d.isDirectory() ? walk(path.join(dir, d.name)) : d.isFile() ? [path.join(dir, d.name)] : []));
    for (const f of walk(root())) {
      const content = fs.readFileSync(f).toString('latin1');
      for (const value of REPLAYED_PLANTED) assert.ok(!content.includes(value), `${value} is not in ${path.relative(root(), f)}`);
    }
  });

  it('says what is wrong with a file that is not a span export', async () => {
    await open('not-spans.json');
    const outcome = await addSpans();
    assert.strictEqual(outcome.status, 'failed');
    assert.match((outcome as { message: string }).message, /^not-spans\.json: no spans found: the file is JSON but not a span export/);
  });

  it('says what is wrong with spans of no prompt', async () => {
    await open('http-only-spans.json');
    const outcome = await addSpans();
    assert.strictEqual(outcome.status, 'failed');
    assert.match((outcome as { message: string }).message, /^http-only-spans\.json holds no LLM span .*prompt\.name/);
  });
});
