import * as assert from 'assert';
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import * as vscode from 'vscode';
import type { StandIn } from '../../support/standIn/server';
import { startStandIn } from '../../support/standIn/server';
import type { GateRun } from '../../../src/node/runGate';

/*
 * Run Pre-PR Gate inside a real VS Code, on the fixture repository (a temp copy with one commit on
 * main, checked out). Model calls go to a stand-in started here. Every test puts back what it changed.
 */

const root = (): string => {
  const folder = vscode.workspace.workspaceFolders?.[0];
  assert.ok(folder, 'the fixture workspace is open');
  return folder.uri.fsPath;
};

describe('Run Pre-PR Gate', function () {
  this.timeout(60_000);
  let standIn: StandIn;
  const saved = { key: process.env.ANTHROPIC_API_KEY, url: process.env.ANTHROPIC_BASE_URL };
  const history = (): string => path.join(root(), '.prompt-ci', 'history.jsonl');
  let historyBefore: string | undefined;

  before(async () => {
    await vscode.extensions.getExtension('prompt-ci.prompt-ci')?.activate();
    standIn = await startStandIn({ apiKey: 'gate-key' });
    process.env.ANTHROPIC_API_KEY = 'gate-key';
    process.env.ANTHROPIC_BASE_URL = standIn.url;
    historyBefore = fs.existsSync(history()) ? fs.readFileSync(history(), 'utf8') : undefined;
  });

  after(async () => {
    for (const [name, value] of [['ANTHROPIC_API_KEY', saved.key], ['ANTHROPIC_BASE_URL', saved.url]] as const) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
    if (historyBefore === undefined) fs.rmSync(history(), { force: true });
    else fs.writeFileSync(history(), historyBefore);
    await standIn.close();
  });

  it('is contributed with its view', async () => {
    const commands = await vscode.commands.getCommands(true);
    assert.ok(commands.includes('promptCi.runGate'));
    assert.ok(commands.includes('promptCi.gate.focus'), 'the Prompt CI Gate view is registered');
  });

  it('says nothing changed on a clean checkout, without a call', async function () {
    // Suites share the workspace; if one left changes behind, "nothing changed" is not this suite's to assert.
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=all', '--', 'prompts', 'src'], { cwd: root(), encoding: 'utf8' });
    if (dirty.trim() !== '') this.skip();
    const calls = standIn.requests.length;
    const run = (await vscode.commands.executeCommand('promptCi.runGate')) as GateRun | undefined;
    assert.ok(run, 'the gate ran');
    assert.deepStrictEqual(run.results, []);
    assert.strictEqual(run.summary.status, 'pass');
    assert.strictEqual(standIn.requests.length, calls);
  });

  it('blocks an in-place edit of a released prompt (demo v1 is on main) before any call, naming the version to create', async () => {
    const file = path.join(root(), 'prompts', 'demo', 'v1', 'system.md');
    const original = fs.readFileSync(file, 'utf8');
    fs.writeFileSync(file, `${original.trimEnd()} Keep it under 3 words.\n`);
    try {
      const calls = standIn.requests.length;
      const run = (await vscode.commands.executeCommand('promptCi.runGate')) as GateRun | undefined;
      assert.ok(run, 'the gate ran');
      const result = run.results.find((r) => r.prompt.dir === 'prompts/demo/v1');
      assert.ok(result, `gated: ${run.results.map((r) => r.prompt.dir).join(', ')}`);
      assert.strictEqual(result.verdict, 'blocked');
      assert.strictEqual(result.report, undefined, 'no eval for a change that cannot be merged');
      assert.strictEqual(standIn.requests.length, calls);
      const finding = (run.findings ?? []).find((f) => f.code === 'release/request-changed');
      assert.ok(finding, 'the policy finding is in the run');
      assert.strictEqual(finding.file, 'prompts/demo/v1/system.md');
      assert.match(finding.message, /v1 is released \(it is on main\); create v2 instead/);
      assert.strictEqual(run.summary.status, 'blocked');
    } finally {
      fs.writeFileSync(file, original);
    }
  });

  it('evaluates a released prompt whose eval suite grew, against the committed version', async () => {
    const file = path.join(root(), 'prompts', 'demo', 'v1', 'eval.jsonl');
    const original = fs.readFileSync(file, 'utf8');
    const added = { id: 'demo-gate-added', inputs: { document: 'The parcel arrived damaged; a replacement is on its way.', customer_name: 'Lin' }, reference: 'A replacement for your damaged parcel is on its way.' };
    fs.writeFileSync(file, `${original.trimEnd()}\n${JSON.stringify(added)}\n`);
    try {
      const run = (await vscode.commands.executeCommand('promptCi.runGate')) as GateRun | undefined;
      assert.ok(run, 'the gate ran');
      assert.strictEqual(run.changes.onBaseBranch, true, 'HEAD is main itself: only the uncommitted edit is gated');
      const result = run.results.find((r) => r.prompt.dir === 'prompts/demo/v1');
      assert.ok(result, `gated: ${run.results.map((r) => r.prompt.dir).join(', ')}`);
      assert.deepStrictEqual(result.prompt.files, ['prompts/demo/v1/eval.jsonl']);
      assert.ok(result.report, 'the eval ran');
      assert.strictEqual(result.report.baseline.ref, 'main');
      assert.ok(standIn.requests.length > 0);
      assert.ok(['pass', 'blocked', 'inconclusive'].includes(result.verdict), result.verdict);
      assert.ok(!(run.findings ?? []).some((f) => f.code.startsWith('release/')), 'a suite that grows is no policy matter');
      // The fixture keeps check errors for the diagnostics tests: the gate counts them wherever they are.
      const checkErrors = (run.findings ?? []).filter((f) => f.severity === 'error').length;
      assert.strictEqual(run.summary.checkErrors, checkErrors);
      if (checkErrors > 0 || result.verdict === 'blocked') assert.strictEqual(run.summary.status, 'blocked');
      else if (result.verdict === 'inconclusive') assert.notStrictEqual(run.summary.status, 'pass');
    } finally {
      fs.writeFileSync(file, original);
    }
  });
});
