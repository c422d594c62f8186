import * as assert from 'assert';
import { execFileSync } from 'child_process';
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as vscode from 'vscode';
import type { StandIn } from '../../support/standIn/server';
import { startStandIn } from '../../support/standIn/server';
import type { ReplayActionOutcome, ReplayTraceOutcome } from '../../../src/vscode/replayTrace';
import { waitFor } from './waitFor';

/*
 * Replay Trace inside a real VS Code. The fixture repository (a temp copy, one commit) gets a prompt
 * with three commits of history, then staged, unstaged and untracked changes on top; spans name the
 * older commits. Every test checks that HEAD, the index and the working tree are exactly as before.
 */

const SYSTEM_A = 'You answer support tickets for Acme in two sentences.\n';
const TEMPLATE_A = 'Ticket from {customer_name}:\n\n{ticket}\n';
const RENDERED_A = 'Ticket from Ada Lovelace:\n\nMy invoice shows two charges for March.\n';
const OUTPUT_A = 'I\'m sorry about the double charge. One of them is a card authorisation hold that disappears within three days.';
const SYSTEM_B = 'You answer support tickets for Acme. Be brief and kind.\n';
const TEMPLATE_B = "Customer {customer_name} wrote:\n\n{ticket}\n\nReply in the customer's language.\n";
const SYSTEM_C = 'You answer support tickets for Acme. Be brief, kind and specific.\n';
const TEMPLATE_C = 'Customer {customer_name} ({plan} plan) wrote:\n\n{ticket}\n';
const metadata = (model: string, maxTokens: number) =>
  `name: replay-demo\nversion: 1\nmodel: ${model}\ntemperature: 0.0\nmax_output_tokens: ${maxTokens}\neval:\n  threshold_win_rate: 0.5\n`;

const DIR = 'prompts/replay-demo/v1';

const root = (): string => {
  const folder = vscode.workspace.workspaceFolders?.[0];
  assert.ok(folder, 'the fixture workspace is open');
  return folder.uri.fsPath;
};

/** git in the fixture repository; no optional locks, so reading the state doesn't rewrite the index. */
function git(...args: string[]): string {
  return execFileSync('git', args, { cwd: root(), encoding: 'utf8', env: { ...process.env, GIT_OPTIONAL_LOCKS: '0' } });
}

function writeFiles(files: Record<string, string>): void {
  for (const [rel, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(root(), rel)), { recursive: true });
    fs.writeFileSync(path.join(root(), rel), text);
  }
}

function commit(message: string, files: Record<string, string>): string {
  writeFiles(files);
  git('add', '--', ...Object.keys(files));
  git('commit', '--quiet', '--no-verify', '-m', message);
  return git('rev-parse', 'HEAD').trim();
}

/** Everything the user owns in the repository: HEAD, the index (entries and bytes), the working tree. */
function repoState(): Record<string, string> {
  const sha = (file: string) => createHash('sha256').update(fs.readFileSync(path.join(root(), file))).digest('hex');
  return {
    head: git('rev-parse', 'HEAD'),
    branch: git('symbolic-ref', '--quiet', 'HEAD'),
    status: git('status', '--porcelain=v1', '--untracked-files=all'),
    index: git('ls-files', '--stage'),
    indexFile: sha('.git/index'),
    staged: git('diff', '--cached', '--binary'),
    unstaged: git('diff', '--binary'),
    worktrees: git('worktree', 'list', '--porcelain'),
    systemMd: sha(`${DIR}/system.md`),
    templateMd: sha(`${DIR}/user.template.md`),
    metadataYaml: sha(`${DIR}/metadata.yaml`),
    scratch: sha('scratch-notes.txt'),
  };
}

async function closeEditors(): Promise<void> {
  // An unsaved untitled document would make closeAllEditors ask about saving: revert those first.
  for (const document of vscode.workspace.textDocuments) {
    if (document.isUntitled && document.isDirty) {
      await vscode.window.showTextDocument(document);
      await vscode.commands.executeCommand('workbench.action.revertAndCloseActiveEditor');
    }
  }
  await vscode.commands.executeCommand('workbench.action.closeAllEditors');
}

const replay = (options?: Record<string, unknown>) =>
  vscode.commands.executeCommand<ReplayTraceOutcome>('promptCi.replayTrace', ...(options ? [options] : []));
const action = (id: string, ...args: unknown[]) => vscode.commands.executeCommand<ReplayActionOutcome>(id, ...args);

function shown(outcome: ReplayTraceOutcome): Extract<ReplayTraceOutcome, { status: 'shown' }> {
  assert.strictEqual(outcome.status, 'shown', `expected a replay, got ${JSON.stringify(outcome)}`);
  return outcome as Extract<ReplayTraceOutcome, { status: 'shown' }>;
}

describe('Replay Trace', function () {
  this.timeout(60_000);
  let fixtureHead: string;
  let commitA: string;
  let commitB: string;
  let untouched: Record<string, string>;
  const spans: Record<string, string> = {};
  const tempFiles: string[] = [];

  const assertRepoUntouched = () => assert.deepStrictEqual(repoState(), untouched, 'HEAD, index or working tree changed');

  before(async () => {
    await vscode.extensions.getExtension('prompt-ci.prompt-ci')?.activate();
    fixtureHead = git('rev-parse', 'HEAD').trim();
    commitA = commit('Replay demo prompt: first wording', {
      [`${DIR}/system.md`]: SYSTEM_A,
      [`${DIR}/user.template.md`]: TEMPLATE_A,
      [`${DIR}/metadata.yaml`]: metadata('claude-haiku-4-5', 300),
    });
    commitB = commit('Replay demo prompt: kinder, in the customer\'s language', {
      [`${DIR}/system.md`]: SYSTEM_B,
      [`${DIR}/user.template.md`]: TEMPLATE_B,
      [`${DIR}/metadata.yaml`]: metadata('claude-sonnet-4-6', 500),
    });
    commit('Replay demo prompt: name the plan', {
      [`${DIR}/system.md`]: SYSTEM_C,
      [`${DIR}/user.template.md`]: TEMPLATE_C,
    });
    // The user's work in progress: a staged edit, an unstaged edit on top, another unstaged file, an untracked file.
    writeFiles({ [`${DIR}/system.md`]: `${SYSTEM_C}Staged line.\n` });
    git('add', '--', `${DIR}/system.md`);
    writeFiles({
      [`${DIR}/system.md`]: `${SYSTEM_C}Staged line.\nUnstaged line.\n`,
      [`${DIR}/user.template.md`]: `${TEMPLATE_C}\nDraft: sign off with the agent's name.\n`,
      'scratch-notes.txt': 'not tracked\n',
    });
    untouched = repoState();

    for (const name of fs.readdirSync(path.join(root(), 'spans'))) {
      spans[name.replace(/\.json$/, '')] = fs
        .readFileSync(path.join(root(), 'spans', name), 'utf8')
        .replace(/COMMIT_A/g, commitA)
        .replace(/COMMIT_B/g, commitB);
    }
  });

  afterEach(async () => {
    await closeEditors();
  });

  after(async () => {
    await vscode.commands.executeCommand('promptCi.replayRemoveWorktrees');
    // Back to the fixture as it was, for the suites that run after this one.
    git('reset', '--quiet', '--hard', fixtureHead);
    fs.rmSync(path.join(root(), 'scratch-notes.txt'), { force: true });
    fs.rmSync(path.join(root(), 'prompts', 'replay-demo'), { recursive: true, force: true });
    for (const file of tempFiles) fs.rmSync(file, { recursive: true, force: true });
  });

  it('replays an OTLP/JSON export from the clipboard with the prompt of its commit, not the working tree', async () => {
    await vscode.env.clipboard.writeText(spans['otlp-export-commit-a']);
    const outcome = shown(await replay());
    assert.strictEqual(outcome.source, 'clipboard');
    assert.strictEqual(outcome.commit, commitA);
    assert.strictEqual(outcome.promptDir, DIR);
    assert.strictEqual(outcome.matchesRecorded, true);

    const editor = vscode.window.activeTextEditor;
    assert.ok(editor, 'the replay document is open');
    assert.strictEqual(editor.document.uri.scheme, 'prompt-ci-replay');
    assert.strictEqual(editor.document.uri.toString(), outcome.uri);
    assert.strictEqual(editor.document.languageId, 'markdown');
    const text = editor.document.getText();
    assert.ok(text.includes(`# Replay of replay-demo v1 at ${commitA.slice(0, 12)}`), text);
    assert.ok(text.includes('MATCH: the re-rendered system message and user message are byte for byte what the span recorded.'), text);
    assert.ok(text.includes(`\`\`\`text\n${SYSTEM_A}\`\`\``), 'system.md of commit A');
    assert.ok(text.includes(`\`\`\`text\n${RENDERED_A}\`\`\``), 'user.template.md of commit A, rendered');
    assert.ok(text.includes(`| Commit | \`${commitA}\` Replay demo prompt: first wording |`), text);
    assert.ok(text.includes('| Author | Prompt CI Tests <tests@prompt-ci.invalid> |'), text);
    assert.match(text, /\| Date \| \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d \|/);
    assert.ok(text.includes('| Model | `claude-haiku-4-5` |'), text);
    assert.ok(text.includes('| Max tokens | 300 |'), text);
    assert.ok(text.includes('| Tenant | acme-corp |') && text.includes('| Request id | req_a1b2c3 |'), text);
    const request = JSON.parse(/## Messages API request\n\n```json\n([\s\S]*?)\n```/.exec(text)?.[1] ?? 'null');
    assert.deepStrictEqual(request, {
      model: 'claude-haiku-4-5',
      max_tokens: 300,
      temperature: 0,
      system: SYSTEM_A,
      messages: [{ role: 'user', content: RENDERED_A }],
    });
    assert.ok(text.includes(OUTPUT_A), 'the recorded output');
    for (const later of ['Be brief and kind', 'Be brief, kind and specific', 'plan} plan', 'Staged line', 'Draft: sign off']) {
      assert.ok(!text.includes(later), `text of a later commit or the working tree: ${later}`);
    }

    // Read-only: an edit leaves the text as it was.
    await editor.edit((b) => b.insert(new vscode.Position(0, 0), 'x'));
    assert.strictEqual(editor.document.getText(), text);

    const lenses = await vscode.commands.executeCommand<vscode.CodeLens[]>('vscode.executeCodeLensProvider', editor.document.uri);
    assert.deepStrictEqual(
      lenses.filter((l) => l.command?.command.startsWith('promptCi.')).map((l) => [l.command?.title, l.command?.command, ...(l.command?.arguments ?? [])]),
      [
        ['$(diff) Compare template', 'promptCi.replayCompareTemplate', outcome.replayId, 'user.template.md'],
        ['$(diff) Compare system prompt', 'promptCi.replayCompareTemplate', outcome.replayId, 'system.md'],
        ['$(go-to-file) Open files at commit', 'promptCi.replayOpenFiles', outcome.replayId],
        ['$(play) Replay call…', 'promptCi.replayCall', outcome.replayId],
        ['$(save) Save audit record…', 'promptCi.replaySaveAudit', outcome.replayId],
        ['$(repo-clone) Open as worktree', 'promptCi.replayOpenWorktree', outcome.replayId],
      ],
    );
    assertRepoUntouched();
  });

  it('replays a Zipkin v2 span from the selection and shows how it differs from the recorded input', async () => {
    const file = path.join(os.tmpdir(), `prompt-ci-zipkin-${process.pid}.json`);
    tempFiles.push(file);
    fs.writeFileSync(file, spans['zipkin-v2-commit-b']);
    const editor = await vscode.window.showTextDocument(vscode.Uri.file(file));
    const all = editor.document.lineAt(editor.document.lineCount - 1).range.end;
    editor.selection = new vscode.Selection(new vscode.Position(0, 0), all);
    await vscode.env.clipboard.writeText('the clipboard holds something else');

    const outcome = shown(await replay());
    assert.strictEqual(outcome.source, 'selection');
    assert.strictEqual(outcome.commit, commitB);
    assert.strictEqual(outcome.matchesRecorded, false);
    const text = vscode.window.activeTextEditor?.document.getText() ?? '';
    assert.ok(text.includes('> DIFFERENT: the user message differs at line 5, column 33: recorded "loops.\\\\n\\\\nReply in the customer\'s language!\\\\n", re-rendered "loops.\\\\n\\\\nReply in the customer\'s language.\\\\n".'), text);
    assert.ok(text.includes('### User message: recorded (-) against re-rendered (+), first difference at line 5, column 33'), text);
    assert.ok(text.includes("-Reply in the customer's language!\n+Reply in the customer's language.\n"), text);
    assert.ok(!text.includes('### System message: recorded'), 'the system message matched');
    assert.ok(text.includes('Customer Lin wrote:\n\nSSO login loops.\n\nReply in the customer\'s language.\n'), 'template of commit B');
    assert.ok(text.includes('| Max tokens | 500 |') && text.includes('(Zipkin v2)'), text);
    assertRepoUntouched();
  });

  it('compares the template at the commit with the working file in a diff editor', async () => {
    const outcome = shown(await replay({ text: spans['otlp-export-commit-a'] }));
    const compared = await action('promptCi.replayCompareTemplate', outcome.replayId);
    assert.strictEqual(compared.status, 'compared', JSON.stringify(compared));
    const working = vscode.Uri.file(path.join(root(), DIR, 'user.template.md'));
    const tab = await waitFor(
      () =>
        vscode.window.tabGroups.all
          .flatMap((g) => g.tabs)
          .find((t) => t.input instanceof vscode.TabInputTextDiff && t.input.original.scheme === 'prompt-ci-git' && t.input.modified.fsPath === working.fsPath),
      { events: [vscode.window.tabGroups.onDidChangeTabs], description: 'the diff tab' },
    );
    assert.strictEqual(tab.label, `user.template.md (${commitA.slice(0, 7)}) ↔ working tree`);
    const original = (tab.input as vscode.TabInputTextDiff).original;
    assert.strictEqual((await vscode.workspace.openTextDocument(original)).getText(), TEMPLATE_A);

    const system = await action('promptCi.replayCompareTemplate', outcome.replayId, 'system.md');
    assert.strictEqual(system.status, 'compared');
    const left = vscode.Uri.parse((system as { left: string }).left);
    assert.strictEqual((await vscode.workspace.openTextDocument(left)).getText(), SYSTEM_A);
    assertRepoUntouched();
  });

  it('opens the prompt files at the commit, read-only', async () => {
    const outcome = shown(await replay({ text: spans['zipkin-v2-commit-b'] }));
    const opened = await action('promptCi.replayOpenFiles', outcome.replayId);
    assert.strictEqual(opened.status, 'opened');
    const uris = (opened as { uris: string[] }).uris.map((u) => vscode.Uri.parse(u));
    assert.deepStrictEqual(uris.map((u) => path.posix.basename(u.path)), ['system.md', 'user.template.md', 'metadata.yaml']);
    const docs = await Promise.all(uris.map((u) => vscode.workspace.openTextDocument(u)));
    assert.deepStrictEqual(docs.map((d) => d.getText()), [SYSTEM_B, TEMPLATE_B, metadata('claude-sonnet-4-6', 500)]);
    assert.deepStrictEqual(docs.map((d) => d.languageId), ['markdown', 'prompt-template', 'yaml']);
    const templateEditor = await vscode.window.showTextDocument(docs[1]);
    await templateEditor.edit((b) => b.insert(new vscode.Position(0, 0), 'x'));
    assert.strictEqual(templateEditor.document.getText(), TEMPLATE_B);
    assertRepoUntouched();
  });

  it('names a commit that is not in the repository, from the open span file', async () => {
    await vscode.window.showTextDocument(vscode.Uri.file(path.join(root(), 'spans', 'jaeger-commit-not-in-repository.json')));
    const outcome = await replay();
    assert.deepStrictEqual(outcome, {
      status: 'error',
      message: "commit 0badc0ffee0badc0ffee0badc0ffee0badc0ffee is not in this repository, and the repository has no remote to fetch it from: replay in a clone of the repository the span's service was built from",
      code: 'commit-not-found',
      source: 'document',
    });
    // With a remote, the hint names that one (not an "origin" the repository doesn't have).
    git('remote', 'add', 'upstream', 'https://example.invalid/support.git');
    try {
      const withRemote = await replay();
      assert.strictEqual((withRemote as { message: string }).message, 'commit 0badc0ffee0badc0ffee0badc0ffee0badc0ffee is not in this repository; `git fetch upstream` may bring it');
    } finally {
      git('remote', 'remove', 'upstream');
    }
    assert.ok(!vscode.window.visibleTextEditors.some((e) => e.document.uri.scheme === 'prompt-ci-replay'), 'no replay document');
    assertRepoUntouched();
  });

  it('refuses a commit SHA with shell characters before running git', async () => {
    await vscode.env.clipboard.writeText(spans['zipkin-v2-shell-characters-in-sha']);
    const outcome = await replay();
    assert.deepStrictEqual(outcome, {
      status: 'error',
      message: 'prompt.commit_sha "abc1234; rm -rf ~" is not a commit SHA: expected 7 to 40 hexadecimal digits',
      code: 'bad-commit-sha',
      source: 'clipboard',
    });
    assertRepoUntouched();
  });

  it('says what is wrong with a truncated paste on the clipboard', async () => {
    const whole = spans['otlp-export-commit-a'];
    await vscode.env.clipboard.writeText(whole.slice(0, Math.floor(whole.length / 2)));
    const outcome = await replay();
    assert.strictEqual(outcome.status, 'error');
    assert.strictEqual((outcome as { code?: string }).code, 'truncated-json');
    assert.match((outcome as { message: string }).message, /truncated|ends/i);
  });

  it('lets the user pick among several LLM spans', async () => {
    await vscode.env.clipboard.writeText(spans['several-llm-spans']);
    const pending = replay();
    let settled = false;
    void pending.then(() => (settled = true), () => (settled = true));
    // No event says the quick pick is open: accept its first item until the command returns.
    for (const deadline = Date.now() + 15_000; !settled && Date.now() < deadline; ) {
      await vscode.commands.executeCommand('workbench.action.acceptSelectedQuickOpenItem');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const first = shown(await pending);
    assert.strictEqual(first.commit, commitA);

    const second = shown(await replay({ text: spans['several-llm-spans'], spanId: 'c8be7c827a314442' }));
    assert.strictEqual(second.commit, commitB);
    const missing = await replay({ text: spans['several-llm-spans'], spanId: '0000000000000000' });
    assert.strictEqual(missing.status, 'error');
    assert.match((missing as { message: string }).message, /^no span with id "0000000000000000" in this paste\. LLM spans in it: span b7ad6b7169203331/);
    assertRepoUntouched();
  });

  it('asks for an inputs file when the span carries no variables, and replays with it', async () => {
    const outcome = shown(await replay({ text: spans['attribute-map-without-variables'] }));
    assert.strictEqual(outcome.verdict, 'nothing-recorded');
    assert.strictEqual(outcome.variablesSource, 'none');
    assert.match(outcome.summary, /^NOTHING TO COMPARE: the span recorded neither the messages nor the variables\. A span with gen_ai\.input\.messages/);
    assert.doesNotMatch(outcome.summary, /--/, 'no command-line flag in an editor message');
    const unrendered = vscode.window.activeTextEditor?.document.getText() ?? '';
    assert.ok(unrendered.includes('not rendered: its variables are not known'), unrendered);
    assert.ok(unrendered.includes(TEMPLATE_A), 'the template of the commit is shown as it is');

    const inputs = path.join(os.tmpdir(), `prompt-ci-inputs-${process.pid}.json`);
    tempFiles.push(inputs);
    fs.writeFileSync(inputs, JSON.stringify({ id: 'x', inputs: { customer_name: 'Grace', ticket: 'Export my data.' } }));
    const withInputs = shown(await replay({ text: spans['attribute-map-without-variables'], inputs: vscode.Uri.file(inputs) }));
    assert.strictEqual(withInputs.matchesRecorded, null);
    const text = vscode.window.activeTextEditor?.document.getText() ?? '';
    assert.ok(text.includes('Ticket from Grace:\n\nExport my data.\n'), text);
    assert.ok(text.includes(`| Variables from | prompt-ci-inputs-${process.pid}.json: customer_name, ticket |`), text);
    assert.ok(text.includes('NOTHING TO COMPARE: the span recorded no messages'), text);
  });

  it('opens a paste document when neither selection nor clipboard holds a span, and replays what is pasted', async () => {
    await vscode.env.clipboard.writeText('function notASpan() { return 1; }');
    const outcome = await replay();
    assert.strictEqual(outcome.status, 'awaiting-paste', JSON.stringify(outcome));
    const editor = vscode.window.activeTextEditor;
    assert.ok(editor && editor.document.uri.scheme === 'prompt-ci-paste' && editor.document.languageId === 'json', 'a JSON paste document kept in memory');
    assert.strictEqual(editor.document.uri.toString(), (outcome as { uri: string }).uri);

    await editor.edit((b) => b.insert(new vscode.Position(0, 0), spans['otlp-export-commit-a']));
    const replayed = await waitFor(() => vscode.window.activeTextEditor?.document.uri.scheme === 'prompt-ci-replay' && vscode.window.activeTextEditor.document, {
      events: [vscode.window.onDidChangeActiveTextEditor],
      description: 'the replay of the pasted span',
    });
    assert.ok(replayed.getText().includes(RENDERED_A));
    const paste = vscode.workspace.textDocuments.find((d) => d.uri.toString() === (outcome as { uri: string }).uri);
    assert.ok(paste);
    await waitFor(() => !paste.isDirty || undefined, { events: [vscode.workspace.onDidSaveTextDocument], description: 'the paste document kept without asking to be saved' });
    assertRepoUntouched();
  });

  it('gives two replays of one commit distinct tab titles', async () => {
    const first = shown(await replay({ text: spans['otlp-export-commit-a'] }));
    const second = shown(await replay({ text: spans['otlp-export-commit-a'] }));
    assert.notStrictEqual(vscode.Uri.parse(first.uri).path, vscode.Uri.parse(second.uri).path);
    assert.match(vscode.Uri.parse(second.uri).path, /-span-[0-9a-f]{8}-[0-9]+\.md$/);
  });

  describe('replaying the call', () => {
    let standIn: StandIn;
    const saved = { key: process.env.ANTHROPIC_API_KEY, url: process.env.ANTHROPIC_BASE_URL };

    before(async () => {
      standIn = await startStandIn({ answer: () => OUTPUT_A });
      process.env.ANTHROPIC_API_KEY = 'test-key';
      process.env.ANTHROPIC_BASE_URL = standIn.url;
    });

    after(async () => {
      await standIn.close();
      for (const [name, value] of [['ANTHROPIC_API_KEY', saved.key], ['ANTHROPIC_BASE_URL', saved.url]] as const) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
    });

    it('sends exactly the rebuilt request and compares the new output with the recorded one', async () => {
      const outcome = shown(await replay({ text: spans['otlp-export-commit-a'] }));
      const document = vscode.window.activeTextEditor?.document;
      assert.ok(document);
      const updated = new Promise<void>((resolve) => {
        const sub = vscode.workspace.onDidChangeTextDocument((e) => {
          if (e.document === document && document.getText().includes('## Replayed call')) {
            sub.dispose();
            resolve();
          }
        });
      });
      const called = await action('promptCi.replayCall', outcome.replayId, { confirmed: true });
      assert.deepStrictEqual(called, { status: 'called', matchesRecorded: true, text: OUTPUT_A, model: 'claude-haiku-4-5' });
      assert.strictEqual(standIn.requests.length, 1);
      const { body } = standIn.requests[0];
      assert.deepStrictEqual(
        { model: body.model, max_tokens: body.max_tokens, temperature: body.temperature, system: body.system, messages: body.messages },
        { model: 'claude-haiku-4-5', max_tokens: 300, temperature: 0, system: SYSTEM_A, messages: [{ role: 'user', content: RENDERED_A }] },
      );
      await updated;
      assert.ok(document.getText().includes('The new output is identical to the recorded output.'));
      const lenses = await vscode.commands.executeCommand<vscode.CodeLens[]>('vscode.executeCodeLensProvider', document.uri);
      const compare = lenses.find((l) => l.command?.title === '$(diff) Compare outputs');
      assert.ok(compare?.command, 'a CodeLens compares the outputs');
      await vscode.commands.executeCommand(compare.command.command, ...(compare.command.arguments ?? []));
      const diff = vscode.window.tabGroups.activeTabGroup.activeTab?.input;
      assert.ok(diff instanceof vscode.TabInputTextDiff, 'the outputs diff is open');
      assert.strictEqual((await vscode.workspace.openTextDocument(diff.original)).getText(), OUTPUT_A);
      assert.strictEqual((await vscode.workspace.openTextDocument(diff.modified)).getText(), OUTPUT_A);
      assertRepoUntouched();
    });

    it('reports a refused key with the API error', async () => {
      process.env.ANTHROPIC_API_KEY = 'wrong-key';
      try {
        const outcome = shown(await replay({ text: spans['otlp-export-commit-a'] }));
        const called = await action('promptCi.replayCall', outcome.replayId, { confirmed: true });
        assert.strictEqual(called.status, 'error');
        assert.match((called as { message: string }).message, /^the replayed call failed: the Anthropic API refused the API key \(401 /);
      } finally {
        process.env.ANTHROPIC_API_KEY = 'test-key';
      }
    });
  });

  it('saves the audit record as Markdown and JSON', async () => {
    const outcome = shown(await replay({ text: spans['zipkin-v2-commit-b'] }));
    const target = vscode.Uri.file(path.join(os.tmpdir(), `prompt-ci-audit-${process.pid}.md`));
    tempFiles.push(target.fsPath, target.fsPath.replace(/\.md$/, '.json'));
    const saved = await action('promptCi.replaySaveAudit', outcome.replayId, { target });
    assert.deepStrictEqual(saved, { status: 'saved', files: [target.toString(), target.with({ path: target.path.replace(/\.md$/, '.json') }).toString()] });
    const record = JSON.parse(fs.readFileSync(target.fsPath.replace(/\.md$/, '.json'), 'utf8'));
    assert.strictEqual(record.schema, 'prompt-ci/replay-audit@1');
    assert.strictEqual(record.prompt.commit.sha, commitB);
    assert.strictEqual(record.prompt.commit.author, 'Prompt CI Tests');
    assert.strictEqual(record.prompt.userTemplate, TEMPLATE_B);
    assert.strictEqual(record.span.tenantId, 'globex');
    assert.strictEqual(record.verdict.matchesRecorded, false);
    const markdown = fs.readFileSync(target.fsPath, 'utf8');
    assert.ok(markdown.startsWith(`# Replay audit: replay-demo v1 at ${commitB.slice(0, 12)}`), markdown.slice(0, 200));
    assertRepoUntouched();
  });

  it('opens the commit as a detached worktree and removes it on request', async () => {
    const outcome = shown(await replay({ text: spans['otlp-export-commit-a'] }));
    const opened = await action('promptCi.replayOpenWorktree', outcome.replayId);
    assert.strictEqual(opened.status, 'worktree', JSON.stringify(opened));
    const worktree = (opened as { path: string }).path;
    assert.strictEqual(fs.readFileSync(path.join(worktree, DIR, 'user.template.md'), 'utf8'), TEMPLATE_A);
    assert.ok(git('worktree', 'list', '--porcelain').includes(`worktree ${worktree}\nHEAD ${commitA}\ndetached`));
    // The worktree is git's only record of it; the user's HEAD, index and files are as they were.
    assert.deepStrictEqual({ ...repoState(), worktrees: '' }, { ...untouched, worktrees: '' });

    const removed = await action('promptCi.replayRemoveWorktrees');
    assert.deepStrictEqual(removed, { status: 'removed', paths: [worktree] });
    assert.ok(!fs.existsSync(worktree));
    assertRepoUntouched();
  });
});

/*
 * Pasting the spans real exporters write (test/fixtures/spans/conventions, each citing the exporter
 * source it follows) into the paste document. The prompts of the scripted history
 * (test/fixtures/spans/prompt-history.json) are committed with their own dates on top of the fixture,
 * so spans without a SHA find their commit from their start time, as in production.
 */
describe('Replay Trace: pasting each exporter shape', function () {
  this.timeout(120_000);
  let fixtureHead: string;
  let extensionPath: string;
  const shas: string[] = [];

  before(async () => {
    const extension = vscode.extensions.getExtension('prompt-ci.prompt-ci');
    assert.ok(extension);
    await extension.activate();
    extensionPath = extension.extensionPath;
    fixtureHead = git('rev-parse', 'HEAD').trim();
    assert.strictEqual(git('symbolic-ref', '--short', 'HEAD').trim(), 'main', 'the fixture works on main, the baseline ref');
    const history = JSON.parse(fs.readFileSync(path.join(extensionPath, 'test', 'fixtures', 'spans', 'prompt-history.json'), 'utf8')) as {
      commits: { date: string; message: string; files: Record<string, string | null> }[];
    };
    for (const c of history.commits) {
      const files = Object.fromEntries(Object.entries(c.files).filter(([p, t]) => p.startsWith('prompts/') && t !== null)) as Record<string, string>;
      writeFiles(files);
      git('add', '--', ...Object.keys(files));
      execFileSync('git', ['commit', '--quiet', '--no-verify', '-m', c.message], { cwd: root(), env: { ...process.env, GIT_AUTHOR_DATE: c.date, GIT_COMMITTER_DATE: c.date } });
      shas.push(git('rev-parse', 'HEAD').trim());
    }
  });

  afterEach(async () => {
    await closeEditors();
  });

  after(() => {
    git('reset', '--quiet', '--hard', fixtureHead);
    for (const dir of ['summarisation', 'classification']) fs.rmSync(path.join(root(), 'prompts', dir), { recursive: true, force: true });
  });

  const read = (name: string) => fs.readFileSync(path.join(extensionPath, 'test', 'fixtures', 'spans', 'conventions', `${name}.json`), 'utf8');
  // [fixture, prompt dir, index of the commit in the history, verdict, variables]
  const cases: [string, string, number, string, string][] = [
    ['opentelemetry-no-sha', 'prompts/summarisation/v1', 1, 'match', 'span'],
    ['opentelemetry-older-content', 'prompts/classification/v1', 3, 'match', 'recovered'],
    ['langfuse', 'prompts/summarisation/v2', 2, 'match', 'recovered'],
    ['openllmetry-managed-prompt', 'prompts/summarisation/v1', 3, 'match', 'span'],
    ['openinference-template-variables', 'prompts/classification/v1', 2, 'match', 'span'],
    ['openinference-message-contents', 'prompts/summarisation/v1', 1, 'match', 'recovered'],
    ['no-content', 'prompts/summarisation/v2', 3, 'nothing-recorded', 'none'],
  ];
  for (const [name, dir, index, verdict, variables] of cases) {
    it(`${name}: pasted, says ${dir} at the inferred commit, ${verdict}`, async () => {
      const span = read(name);
      const outcome = shown(await replay({ text: span }));
      assert.strictEqual(outcome.promptDir, dir);
      assert.strictEqual(outcome.commit, shas[index]);
      assert.strictEqual(outcome.commitSource, 'inferred');
      assert.strictEqual(outcome.verdict, verdict, outcome.summary);
      assert.strictEqual(outcome.variablesSource, variables);
      await closeEditors();

      await vscode.env.clipboard.writeText('no span here');
      const awaiting = await replay();
      assert.strictEqual(awaiting.status, 'awaiting-paste', JSON.stringify(awaiting));
      const editor = vscode.window.activeTextEditor;
      assert.ok(editor);
      await editor.edit((b) => b.insert(new vscode.Position(0, 0), span));
      const document = await waitFor(() => vscode.window.activeTextEditor?.document.uri.scheme === 'prompt-ci-replay' && vscode.window.activeTextEditor.document, {
        events: [vscode.window.onDidChangeActiveTextEditor],
        description: `the replay of the pasted ${name} span`,
      });
      const text = document.getText();
      assert.ok(text.startsWith(`# Replay of ${dir.split('/')[1]} ${dir.split('/')[2]} at ${shas[index].slice(0, 12)}`), text.slice(0, 200));
      assert.ok(text.includes('| Commit found | inferred: '), text);
      assert.ok(text.includes(outcome.summary.slice(0, 40)), text);
      assert.ok(!/--[a-z]/.test(outcome.summary), 'no command-line flag in what the editor shows');
    });
  }
});
