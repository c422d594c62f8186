import * as assert from 'assert';
import * as vscode from 'vscode';
import { hasCode, summary, waitForDiagnostics } from './waitFor';

const folder = (): vscode.Uri => {
  const first = vscode.workspace.workspaceFolders?.[0];
  assert.ok(first, 'the fixture workspace is open');
  return first.uri;
};
const uri = (relative: string): vscode.Uri => vscode.Uri.joinPath(folder(), relative);
const template = () => uri('prompts/support/v1/user.template.md');
const evalSet = () => uri('prompts/support/v1/eval.jsonl');
const python = () => uri('src/support/replies.py');
const typescript = () => uri('src/support/inbox.ts');

const lacksCode = (code: string) => (diagnostics: readonly vscode.Diagnostic[]) => !hasCode(code)(diagnostics);

/** The fixture's own findings on the files these tests edit: each test starts from them. */
async function fixtureFindings(): Promise<void> {
  const same = (expected: string[]) => (d: readonly vscode.Diagnostic[]) => JSON.stringify(summary(d)) === JSON.stringify(expected);
  await waitForDiagnostics(python(), same(['6:19-32 callsite/missing-variable']));
  await waitForDiagnostics(template(), same(['2:0-8 template/variable-not-supplied']));
  await waitForDiagnostics(typescript(), same([]));
  await waitForDiagnostics(evalSet(), (d) => summary(d).every((s) => !s.includes('missing-variable')) && summary(d).length === 2);
}

async function open(target: vscode.Uri): Promise<vscode.TextEditor> {
  return vscode.window.showTextDocument(await vscode.workspace.openTextDocument(target));
}

/** The text of every Markdown hover at a position, Markdown escapes removed. */
async function hoverText(target: vscode.Uri, position: vscode.Position): Promise<string> {
  const hovers = await vscode.commands.executeCommand<vscode.Hover[]>('vscode.executeHoverProvider', target, position);
  return hovers
    .flatMap((h) => h.contents)
    .map((c) => (typeof c === 'string' ? c : 'value' in c ? c.value : ''))
    .join('\n')
    .replace(/\\(.)/g, '$1');
}

/** `relative-path:line:start-end` of locations and location links, sorted. */
function places(found: readonly (vscode.Location | vscode.LocationLink)[]): string[] {
  const root = folder().path;
  return found
    .map((l) => ('targetUri' in l ? { uri: l.targetUri, range: l.targetSelectionRange ?? l.targetRange } : l))
    .map((l) => `${l.uri.path.slice(root.length + 1)}:${l.range.start.line}:${l.range.start.character}-${l.range.end.character}`)
    .sort();
}

/** Our completion items (those describing a template variable) at a position: label → inserted text. */
async function variableCompletions(target: vscode.Uri, position: vscode.Position, trigger?: string): Promise<Record<string, string>> {
  const list = await vscode.commands.executeCommand<vscode.CompletionList>('vscode.executeCompletionItemProvider', target, position, trigger);
  const ours: Record<string, string> = {};
  for (const item of list.items) {
    if (!item.detail?.startsWith('template variable of')) continue;
    const label = typeof item.label === 'string' ? item.label : item.label.label;
    const insert = item.insertText;
    ours[label] = typeof insert === 'string' ? insert : (insert?.value ?? label);
  }
  return ours;
}

/** Applies the quick fix titled `title` offered for `diagnostic` of `target`. */
async function applyQuickFix(target: vscode.Uri, diagnostic: vscode.Diagnostic, title: string): Promise<void> {
  const actions = await vscode.commands.executeCommand<vscode.CodeAction[]>(
    'vscode.executeCodeActionProvider',
    target,
    diagnostic.range,
    vscode.CodeActionKind.QuickFix.value,
  );
  const action = actions.find((a) => a.title === title);
  assert.ok(action, `no quick fix "${title}"; offered: ${actions.map((a) => `"${a.title}"`).join(', ')}`);
  assert.strictEqual(action.kind?.value, vscode.CodeActionKind.QuickFix.value);
  // A fix is a snippet edit of the file at hand, or a command that opens the other end and inserts the snippet there.
  if (action.edit) {
    assert.ok(await vscode.workspace.applyEdit(action.edit), 'the edit applies');
  } else {
    assert.ok(action.command, 'the fix is an edit or a command');
    await vscode.commands.executeCommand(action.command.command, ...(action.command.arguments ?? []));
  }
}

describe('Editor help for templates and call sites', () => {
  // code-server saves after a delay by default: these tests' edits must stay unsaved, or the next
  // test would start from them.
  let autoSave: string | undefined;

  before(async () => {
    await vscode.extensions.getExtension('prompt-ci.prompt-ci')?.activate();
    const files = vscode.workspace.getConfiguration('files');
    autoSave = files.inspect<string>('autoSave')?.globalValue;
    await files.update('autoSave', 'off', vscode.ConfigurationTarget.Global);
  });

  after(async () => {
    await vscode.workspace.getConfiguration('files').update('autoSave', autoSave, vscode.ConfigurationTarget.Global);
  });

  beforeEach(fixtureFindings);

  afterEach(async () => {
    // Leave no unsaved edits behind: revert every document a test changed (quick fixes edit files
    // that aren't in the active editor), then wait until the findings are the fixture's again.
    for (const document of vscode.workspace.textDocuments.filter((d) => d.isDirty)) {
      await vscode.window.showTextDocument(document);
      await vscode.commands.executeCommand('workbench.action.files.revert');
    }
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    await fixtureFindings();
  });

  it('hovers a template field with the call sites that pass it, those that do not, and the eval coverage', async () => {
    const ticket = await hoverText(template(), new vscode.Position(2, 3));
    assert.match(ticket, /`\{ticket\}`: variable of `support` v1/);
    assert.match(ticket, /Passed by 1 of 2 call sites: \[src\/support\/inbox\.ts:4\]\(file:\/\/[^)]*\/src\/support\/inbox\.ts#L4%2C72\)/);
    assert.match(ticket, /\*\*Not passed\*\* by \[src\/support\/replies\.py:7\]\(file:\/\/[^)]*\/src\/support\/replies\.py#L7%2C20\)/);
    assert.match(ticket, /1 of 1 eval example supplies it\./);

    const customer = await hoverText(template(), new vscode.Position(0, 15));
    assert.match(customer, /Passed by 2 of 2 call sites/);
    assert.doesNotMatch(customer, /Not passed/);
    assert.strictEqual(await hoverText(template(), new vscode.Position(0, 3)), '', 'no hover outside a field');
  });

  it('hovers a call site prompt name with its versions, variables and what the call leaves out', async () => {
    const text = await hoverText(python(), new vscode.Position(7, 12));
    assert.match(text, /Prompt `support`: 1 version, this call renders every version/);
    // Its metadata.yaml has errors, so no model is shown.
    assert.match(text, /- \[v1\]\(file:\/\/[^)]*\/prompts\/support\/v1\/user\.template\.md\): `customer_name`, `ticket`/);
    assert.match(text, /\*\*Missing\*\* here: `ticket`/);
    assert.doesNotMatch(await hoverText(typescript(), new vscode.Position(3, 24)), /Missing/);
  });

  it('goes from a call site prompt name to the template, in Python and TypeScript', async () => {
    for (const [source, position] of [
      [python(), new vscode.Position(7, 12)],
      [typescript(), new vscode.Position(3, 24)],
    ] as const) {
      const found = await vscode.commands.executeCommand<(vscode.Location | vscode.LocationLink)[]>('vscode.executeDefinitionProvider', source, position);
      assert.deepStrictEqual(places(found), ['prompts/support/v1/user.template.md:0:0-0'], source.path);
      const link = found[0] as vscode.LocationLink;
      assert.ok(link.originSelectionRange, 'the whole prompt name is the link');
      assert.strictEqual(link.originSelectionRange.end.character - link.originSelectionRange.start.character, 'support'.length);
    }
  });

  it('finds the references of a template field: call sites passing it, eval inputs, the field itself', async () => {
    const found = await vscode.commands.executeCommand<vscode.Location[]>('vscode.executeReferenceProvider', template(), new vscode.Position(0, 15));
    assert.deepStrictEqual(places(found), [
      'prompts/support/v1/eval.jsonl:0:25-40',
      'prompts/support/v1/user.template.md:0:13-26',
      'src/support/inbox.ts:3:35-48',
      'src/support/replies.py:8:8-21',
    ]);
    // From a variable passed at a call site: the same places.
    const fromCall = await vscode.commands.executeCommand<vscode.Location[]>('vscode.executeReferenceProvider', python(), new vscode.Position(8, 12));
    assert.deepStrictEqual(places(fromCall), places(found));
    // `{ticket}`: only the TypeScript caller passes it.
    const ticket = await vscode.commands.executeCommand<vscode.Location[]>('vscode.executeReferenceProvider', template(), new vscode.Position(2, 2));
    assert.deepStrictEqual(places(ticket), [
      'prompts/support/v1/eval.jsonl:0:49-57',
      'prompts/support/v1/user.template.md:2:1-7',
      'src/support/inbox.ts:3:71-77',
    ]);
  });

  it('completes the variables a call does not pass yet, as a keyword argument or an object key', async () => {
    const py = await open(python());
    await py.edit((b) => b.insert(py.document.lineAt(8).range.end, '\n        '));
    assert.deepStrictEqual(await variableCompletions(python(), new vscode.Position(9, 8)), { ticket: 'ticket=' });

    const ts = await open(typescript());
    const line = ts.document.lineAt(3).text;
    const start = line.indexOf('ticket: ticket.body');
    await ts.edit((b) => b.replace(new vscode.Range(3, start, 3, start + 'ticket: ticket.body'.length), 'ti'));
    assert.deepStrictEqual(await variableCompletions(typescript(), new vscode.Position(3, start + 2)), { ticket: 'ticket: ' });
    // Typed right after the comma, before any word: offered on the trigger character.
    await ts.edit((b) => b.replace(new vscode.Range(3, start, 3, start + 2), ''));
    assert.deepStrictEqual(await variableCompletions(typescript(), new vscode.Position(3, start), ','), { ticket: 'ticket: ' });
    // Not in a value position.
    assert.deepStrictEqual(await variableCompletions(typescript(), new vscode.Position(3, start - 3)), {});
  });

  it('marks the missing variable on the call site and the template field, and the quick fix clears both', async () => {
    const atCall = await waitForDiagnostics(python(), hasCode('callsite/missing-variable'));
    assert.strictEqual(atCall[0].severity, vscode.DiagnosticSeverity.Error);
    const atField = await waitForDiagnostics(template(), hasCode('template/variable-not-supplied'));
    assert.strictEqual(atField[0].severity, vscode.DiagnosticSeverity.Error);

    const editor = await open(python());
    await applyQuickFix(python(), atCall[0], 'Pass "ticket" to render_prompt("support")…');
    assert.deepStrictEqual(editor.document.getText().split('\n').slice(6, 11), [
      '    system, user = render_prompt(',
      '        "support",',
      '        customer_name=ticket.customer_name,',
      '        ticket=ticket,',
      '    )',
    ]);
    await waitForDiagnostics(python(), (d) => summary(d).length === 0);
    await waitForDiagnostics(template(), lacksCode('template/variable-not-supplied'));
    assert.deepStrictEqual(summary(vscode.languages.getDiagnostics(template())), []);
  });

  it('fixes the missing variable from the template field too, editing the call site', async () => {
    const [atField] = await waitForDiagnostics(template(), hasCode('template/variable-not-supplied'));
    await open(template());
    await applyQuickFix(template(), atField, 'Pass "ticket" at src/support/replies.py:7');
    await waitForDiagnostics(template(), (d) => summary(d).length === 0);
    await waitForDiagnostics(python(), (d) => summary(d).length === 0);
    const document = vscode.workspace.textDocuments.find((d) => d.uri.toString() === python().toString());
    assert.strictEqual(document?.lineAt(9).text, '        ticket=ticket,');
  });

  it('adds a missing key to a TypeScript object literal, with its value to type', async () => {
    const ts = await open(typescript());
    const line = ts.document.lineAt(3).text;
    const start = line.indexOf(', ticket: ticket.body');
    await ts.edit((b) => b.delete(new vscode.Range(3, start, 3, start + ', ticket: ticket.body'.length)));
    const [missing] = await waitForDiagnostics(typescript(), hasCode('callsite/missing-variable'));
    await applyQuickFix(typescript(), missing, 'Pass "ticket" to renderPrompt("support")…');
    // Not the shorthand `ticket`: that compiles only where a variable of that name is in scope.
    assert.strictEqual(ts.document.lineAt(3).text, "  return renderPrompt('support', { customer_name: ticket.customerName, ticket: ticket });");
    await waitForDiagnostics(typescript(), (d) => summary(d).length === 0);
  });

  it('adds a missing input to an eval example, on its line', async () => {
    const editor = await open(evalSet());
    const line = editor.document.lineAt(0).text;
    const drop = ', "ticket": "My invoice shows two charges."';
    const start = line.indexOf(drop);
    await editor.edit((b) => b.delete(new vscode.Range(0, start, 0, start + drop.length)));
    const diagnostics = await waitForDiagnostics(evalSet(), hasCode('eval/missing-variable'));
    const missing = diagnostics.find((d) => d.code === 'eval/missing-variable')!;
    assert.strictEqual(missing.severity, vscode.DiagnosticSeverity.Error);
    await applyQuickFix(evalSet(), missing, 'Add input "ticket" to example "s-1"…');
    assert.strictEqual(
      editor.document.lineAt(0).text,
      '{"id": "s-1", "inputs": {"customer_name": "Ada", "ticket": ""}, "reference": "Apologise and explain the authorisation hold."}',
    );
    assert.strictEqual(editor.document.lineCount, 4, 'still one example a line');
    await waitForDiagnostics(evalSet(), lacksCode('eval/missing-variable'));
  });

  it('gives one finding for a misspelt key in a call that renders two versions, with "did you mean" and the rename fix', async () => {
    // A second version on disk, for this test only: the call in inbox.ts names no version, so it renders both.
    const v1 = uri('prompts/support/v1');
    const v2 = uri('prompts/support/v2');
    await vscode.workspace.fs.copy(v1, v2);
    try {
      const metadata = vscode.Uri.joinPath(v2, 'metadata.yaml');
      const text = new TextDecoder().decode(await vscode.workspace.fs.readFile(metadata));
      await vscode.workspace.fs.writeFile(metadata, new TextEncoder().encode(text.replace('version: 1', 'version: 2')));
      const templateV2 = vscode.Uri.joinPath(v2, 'user.template.md');
      // replies.py leaves {ticket} out of both versions: one finding, on the newer template.
      await waitForDiagnostics(templateV2, (d) => summary(d).join() === '2:0-8 template/variable-not-supplied');
      await waitForDiagnostics(template(), lacksCode('template/variable-not-supplied'));

      const ts = await open(typescript());
      const at = ts.document.lineAt(3).text.indexOf('customer_name:');
      await ts.edit((b) => b.replace(new vscode.Range(3, at, 3, at + 'customer_name'.length), 'customer_nmae'));
      const atCall = await waitForDiagnostics(typescript(), hasCode('callsite/missing-variable'));
      assert.deepStrictEqual(summary(atCall), ['3:9-21 callsite/missing-variable'], 'one finding, no "passed but unused" warning beside it');
      assert.strictEqual(
        atCall[0].message,
        'renderPrompt("support") does not pass "customer_name", which v1 and v2 use; it passes "customer_nmae": did you mean "customer_name"?',
      );
      // The template end: once, on v2, naming both versions; nothing new on v1.
      const onV2 = await waitForDiagnostics(templateV2, (d) => d.length === 2);
      assert.match(onV2.find((d) => d.range.start.line === 0)!.message, /^"customer_name" is not supplied by src\/support\/inbox\.ts:4 \(renderPrompt, for v1 and v2\)$/);
      assert.deepStrictEqual(summary(vscode.languages.getDiagnostics(template())), []);

      await applyQuickFix(typescript(), atCall[0], 'Rename customer_nmae to customer_name');
      assert.strictEqual(ts.document.lineAt(3).text, "  return renderPrompt('support', { customer_name: ticket.customerName, ticket: ticket.body });");
      await waitForDiagnostics(typescript(), (d) => summary(d).length === 0);
      await waitForDiagnostics(templateV2, (d) => summary(d).join() === '2:0-8 template/variable-not-supplied');
    } finally {
      await vscode.workspace.fs.delete(v2, { recursive: true, useTrash: false });
    }
  });

  it('suggests the prompt a misspelt name means, and the fix changes it', async () => {
    const ts = await open(typescript());
    const at = ts.document.lineAt(3).text.indexOf("'support'") + 1;
    await ts.edit((b) => b.replace(new vscode.Range(3, at, 3, at + 'support'.length), 'suport'));
    const [unknown] = await waitForDiagnostics(typescript(), hasCode('callsite/unknown-prompt'));
    assert.strictEqual(unknown.message, 'there is no prompt "suport" (no prompts/suport/v<N>/ directory); did you mean "support"?');
    await applyQuickFix(typescript(), unknown, 'Change to "support"');
    assert.strictEqual(ts.document.lineAt(3).text.slice(at - 1, at + 'support'.length + 1), "'support'");
    await waitForDiagnostics(typescript(), (d) => summary(d).length === 0);
  });
});
