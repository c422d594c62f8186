import * as assert from 'assert';
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import * as vscode from 'vscode';
import { startStandIn } from '../../support/standIn/server';
import { demoAnswer } from '../../support/standIn/demoAnswers';
import type { StandIn, StandInRequest } from '../../support/standIn/server';
import type { EvalReport } from '../../../src/shared/evalReport';
import type { SynthesisCommandOutcome } from '../../../src/vscode/synthesizeCommand';
import { signal, waitFor, waitForSignal } from './waitFor';

/*
 * Run Eval vs Baseline, end to end in a real VS Code: the command, its dialogs and notification,
 * the results panel read through its own DOM by the browser-side script
 * (test/integration/evalPanel.browser.mjs), against the project's Anthropic stand-in started here,
 * in the extension host. Needs the fixture workspace test/fixtures/workspace-eval:
 *
 *   PROMPT_CI_TEST_WORKSPACE=test/fixtures/workspace-eval \
 *   PROMPT_CI_E2E_PLAYWRIGHT_SCRIPT=test/integration/evalPanel.browser.mjs \
 *   PROMPT_CI_TEST_GREP='Eval panel' node test/integration/runVscodeTests.mjs
 *
 * PROMPT_CI_RESULTS_SCREENSHOT=docs/images/results-dark.png PROMPT_CI_RESULTS_THEME='Default Dark Modern'
 * also saves a screenshot of the panel in that colour theme; PROMPT_CI_SYNTHESIS_SCREENSHOT=FILE one
 * of the panel alone with two failures selected for synthesis.
 */

const workspaceDir = process.env.PROMPT_CI_E2E_WORKSPACE ?? '';
const isEvalWorkspace = workspaceDir !== '' && fs.existsSync(path.join(workspaceDir, 'prompts', 'ticket-summary', 'v2', 'eval.jsonl'));
const API_KEY = 'eval-panel-test-key';

const file = (relative: string): vscode.Uri => vscode.Uri.file(path.join(workspaceDir, relative));
const config = (): vscode.WorkspaceConfiguration => vscode.workspace.getConfiguration('promptCi');
const git = (...args: string[]): string => execFileSync('git', args, { cwd: workspaceDir, encoding: 'utf8' }).trim();

let step = 0;
/** Asks the browser-side script to do `action` and resolves with what it found there. */
async function browser<T = unknown>(action: string, data: Record<string, unknown> = {}, timeoutMs = 45_000): Promise<T> {
  // Toasts left by earlier steps would cover the panel's buttons (unless this step is about them).
  if (!data.keepNotifications) await vscode.commands.executeCommand('notifications.clearAll');
  step += 1;
  signal(`step-${step}`, { action, ...data });
  const reply = await waitForSignal<{ ok: boolean; error?: string; result: T }>(`done-${step}`, timeoutMs);
  if (!reply.ok) throw new Error(`in the browser, ${action} failed: ${reply.error}`);
  return reply.result;
}

async function openFile(relative: string): Promise<vscode.TextEditor> {
  return vscode.window.showTextDocument(await vscode.workspace.openTextDocument(file(relative)), { viewColumn: vscode.ViewColumn.One });
}

function runEval(): Thenable<EvalReport | undefined> {
  return vscode.commands.executeCommand<EvalReport | undefined>('promptCi.runEval');
}

/**
 * The judge of these tests, so their numbers don't move with the stand-in's demo judge: correct
 * when the candidate has at least half the reference's words and at most twice as many words.
 */
function testJudge(user: string): string | undefined {
  const block = (tag: string): string | undefined => [...user.matchAll(new RegExp(`<${tag}>\\n?([\\s\\S]*?)\\n?</${tag}>`, 'g'))].at(-1)?.[1];
  const reference = block('reference');
  const candidate = block('candidate');
  if (reference === undefined || candidate === undefined) return undefined;
  const words = (text: string): Set<string> => new Set(text.toLowerCase().match(/[a-z0-9]+/g) ?? []);
  const r = words(reference);
  const c = words(candidate);
  const recall = [...r].filter((w) => c.has(w)).length / Math.max(1, r.size);
  const concise = c.size <= 2 * r.size;
  const reason = `${Math.round(recall * 100)}% of the reference's words${concise ? '' : ', more than twice as long'}`;
  return JSON.stringify({ correct: recall >= 0.5 && concise, score: Math.max(1, Math.min(5, Math.round(1 + 4 * recall) - (concise ? 0 : 2))), reason });
}

const counts = (report: EvalReport) => ({
  improved: report.mcnemar.improved,
  regressed: report.mcnemar.regressed,
  bothCorrect: report.mcnemar.bothCorrect,
  bothWrong: report.mcnemar.bothWrong,
});

(isEvalWorkspace ? describe : describe.skip)('Eval panel: Run Eval vs Baseline in VS Code', function () {
  this.timeout(90_000);
  let standIn: StandIn;
  /** Extra latency of every answer, for the cancellation test. */
  let delayMs = 0;
  const waiters: { count: number; resolve: () => void }[] = [];
  const requestsSince = (n: number): StandInRequest[] => standIn.requests.slice(n);
  let firstReport: EvalReport | undefined;
  const envNames = ['ANTHROPIC_API_KEY', 'ANTHROPIC_BASE_URL', 'PROMPT_CI_DEMO'] as const;
  const savedEnv = Object.fromEntries(envNames.map((name) => [name, process.env[name]]));
  const restoreEnv = (): void => {
    for (const name of envNames) {
      if (savedEnv[name] === undefined) delete process.env[name];
      else process.env[name] = savedEnv[name];
    }
  };

  before(async () => {
    await vscode.extensions.getExtension('prompt-ci.prompt-ci')?.activate();
    // The change under review: main has ticket-summary v1 only, a branch adds v2.
    git('rm', '-r', '-q', '--cached', 'prompts/ticket-summary/v2');
    git('commit', '-q', '--no-verify', '-m', 'main without ticket-summary v2');
    git('checkout', '-q', '-b', 'improve-ticket-summary');
    git('add', '--all');
    git('commit', '-q', '--no-verify', '-m', 'ticket-summary v2');
    // The key must come from SecretStorage (set below), not from the environment.
    for (const name of envNames) delete process.env[name];
    standIn = await startStandIn({
      apiKey: API_KEY,
      behaviour: (req) => {
        for (const w of waiters.splice(0)) {
          if (req.index + 1 >= w.count) w.resolve();
          else waiters.push(w);
        }
        return delayMs > 0 ? { kind: 'delay', ms: delayMs } : undefined;
      },
      answer: (req) => {
        const system = typeof req.body.system === 'string' ? req.body.system : '';
        const last = req.body.messages?.[req.body.messages.length - 1]?.content;
        const user = typeof last === 'string' ? last : '';
        // The markup prompt: its task calls echo the message; its judge can't read one of them.
        if (system.includes("repeat the customer's message")) return user.trim();
        if (user.includes('<candidate>') && user.includes('Hello <b onmouseover=alert(3)>')) return '<img src=x onerror=alert(3)> is not a verdict';
        return testJudge(user) ?? demoAnswer(req.body);
      },
    });
    await config().update('anthropicBaseUrl', standIn.url, vscode.ConfigurationTarget.Global);
    await config().update('eval.confirmAboveUsd', 1000, vscode.ConfigurationTarget.Global);
  });

  after(async () => {
    restoreEnv();
    for (const key of ['anthropicBaseUrl', 'eval.confirmAboveUsd', 'eval.concurrency', 'eval.judgeRepeats']) {
      await config().update(key, undefined, vscode.ConfigurationTarget.Global);
    }
    await standIn?.close();
  });

  /** Resolves once the stand-in has received `count` requests in all. */
  const requestsReach = (count: number): Promise<void> => new Promise((resolve) => (standIn.requests.length >= count ? resolve() : waiters.push({ count, resolve })));

  it('stores the API key typed into its password box', async () => {
    const command = vscode.commands.executeCommand('promptCi.setApiKey');
    await browser('type-api-key', { key: API_KEY, keepNotifications: true });
    await command;
  });

  it('shows the resolved baseline and the estimate before spending, and sends nothing when declined', async () => {
    await config().update('eval.confirmAboveUsd', 0, vscode.ConfigurationTarget.Global);
    try {
      await openFile('prompts/ticket-summary/v2/metadata.yaml');
      const command = runEval();
      const dialog = await browser<{ text: string; panel: string }>('decline-cost-notification', { keepNotifications: true, title: 'Run the eval of ticket-summary v2?' });
      assert.strictEqual(await command, undefined);
      assert.match(dialog.text, /Baseline: prompts\/ticket-summary\/v1 at main \([0-9a-f]{12}\), the highest version below v2 there\./);
      assert.match(dialog.text, /96 calls to make, ~\$0\.\d+ typical, at most \$\d+\.\d\d, above promptCi\.eval\.confirmAboveUsd \(\$0\.00\)/);
      assert.match(dialog.panel, /Waiting for you: run all 12 examples\?/);
      assert.strictEqual(standIn.requests.length, 0, 'no call before the user agrees');
    } finally {
      await config().update('eval.confirmAboveUsd', 1000, vscode.ConfigurationTarget.Global);
    }
  });

  it('runs on the active prompt version and shows the verdict, the 2x2 table and a word diff', async () => {
    await openFile('prompts/ticket-summary/v2/metadata.yaml');
    const report = await runEval();
    assert.ok(report, 'the command returns the report');
    firstReport = report;
    assert.strictEqual(report.baseline.dir, 'prompts/ticket-summary/v1');
    assert.strictEqual(report.baseline.ref, 'main');
    assert.strictEqual(report.challenger.source, 'working-tree');
    assert.deepStrictEqual(counts(report), { improved: 3, regressed: 3, bothCorrect: 3, bothWrong: 3 });
    assert.strictEqual(report.gate.status, 'blocked');
    assert.ok(standIn.requests.length > 0);
    for (const request of standIn.requests) {
      assert.strictEqual(request.headers.authorization, `Bearer ${API_KEY}`, 'the key from SecretStorage');
    }

    const seen = await browser<{
      verdict: string;
      reasons: string[];
      cells: Record<string, string>;
      outcomes: string[];
      pValue: string;
      winRate: string;
      demoBanner: boolean;
      statusBar: string;
      expandedId: string;
      inserted: string[];
      deleted: string[];
      challengerText: string;
      keyInPage: boolean;
    }>('read-panel', { prompt: 'prompts/ticket-summary/v2', key: API_KEY });
    assert.strictEqual(seen.verdict, 'blocked');
    assert.deepStrictEqual(seen.reasons, report.gate.reasons.map((r) => `${r.effect} ${r.message}`));
    assert.deepStrictEqual(seen.cells, { 'both-correct': '3', improved: '3', regressed: '3', 'both-wrong': '3' });
    assert.match(seen.pValue, /^p = 1 \(exact binomial/);
    assert.match(seen.winRate, /^Challenger50\.0% \[/);
    assert.strictEqual(seen.outcomes.length, 12);
    assert.deepStrictEqual(seen.outcomes.slice(0, 3), ['regressed', 'regressed', 'regressed'], 'regressed first');
    assert.strictEqual(seen.demoBanner, false, 'no demo banner when the calls go to a configured base URL');
    assert.match(seen.statusBar, /ticket-summary v2: blocked/);
    // ts-001: the challenger's second sentence is the whole difference.
    assert.strictEqual(seen.expandedId, 'ts-001');
    assert.deepStrictEqual(seen.deleted, []);
    assert.match(seen.inserted.join(''), /Since the outage on Monday our sync jobs fail with timeout errors/);
    assert.strictEqual(seen.challengerText, report.examples.find((e) => e.id === 'ts-001')?.challenger.output);
    assert.strictEqual(seen.keyInPage, false, 'the API key never reaches the webview');
  });

  it("says why: the pass rate, the baseline under the floor, where and when the verdict came from, the judges' reasons", async () => {
    assert.ok(firstReport);
    const example = firstReport.examples.find((e) => e.id === 'ts-001')!;
    const seen = await browser<{
      rateTitle: string;
      rateLabel: string;
      floorNote: string | null;
      provenance: string;
      provenanceSource: string;
      provenanceTime: string;
      pair: string;
      baselineReasons: string[];
      challengerReasons: string[];
    }>('read-why', { prompt: 'prompts/ticket-summary/v2', exampleId: 'ts-001' });
    assert.strictEqual(seen.rateTitle, 'Pass rate');
    assert.strictEqual(seen.rateLabel, 'Pass rate');
    // v1 on main is 6 of 12 (both-correct 3 + regressed 3), under threshold_win_rate 0.75.
    assert.strictEqual(firstReport.baseline.winRate, 0.5);
    assert.strictEqual(seen.floorNote, 'production v1 scores 50.0%, also below 75.0%: the floor may be too high for this suite.');
    assert.strictEqual(seen.provenanceSource, 'eval');
    assert.match(seen.provenance, /^From Run Eval vs Baseline, (today at|[0-9]{1,2} [A-Z][a-z]{2} [0-9]{4} at) [0-9]{2}:[0-9]{2}( [AP]M)?\.$/);
    const at = Date.parse(seen.provenanceTime);
    assert.ok(at >= Date.parse(firstReport.startedAt) && at <= Date.now(), `recorded after the run started: ${seen.provenanceTime} vs ${firstReport.startedAt}`);
    // Regressed with the same median score on both sides: the words say which side the judges found wrong.
    assert.match(seen.pair, /^baseline correct \([0-9.]+\) → challenger wrong \([0-9.]+\)$/);
    assert.deepStrictEqual(seen.baselineReasons, example.baseline.votes.map((v) => v.reason));
    assert.deepStrictEqual(seen.challengerReasons, example.challenger.votes.map((v) => v.reason));
    assert.ok(seen.challengerReasons.length === 3 && seen.challengerReasons.every((r) => /% of the reference's words/.test(r)), JSON.stringify(seen.challengerReasons));
  });

  it('draws its newer parts in the High Contrast theme from the theme colours', async () => {
    const workbench = vscode.workspace.getConfiguration('workbench');
    const before = workbench.inspect<string>('colorTheme')?.globalValue;
    await workbench.update('colorTheme', 'Default High Contrast', vscode.ConfigurationTarget.Global);
    try {
      await waitFor(() => vscode.window.activeColorTheme.kind === vscode.ColorThemeKind.HighContrast, {
        events: [vscode.window.onDidChangeActiveColorTheme],
        description: 'the High Contrast theme',
      });
      type Style = { color: string; borderTopColor: string; borderTopStyle: string; borderTopWidth: string; background: string };
      const seen = await browser<{
        bodyClass: string;
        vars: Record<string, string>;
        rawContrastBorder: string;
        provenance: Style;
        floorNote: Style;
        voteReason: Style;
        pair: Style;
        card: Style;
      }>('read-contrast', { prompt: 'prompts/ticket-summary/v2', exampleId: 'ts-001', out: 'test-results/results-high-contrast.png' });
      assert.match(seen.bodyClass, /\bvscode-high-contrast\b/);
      const v = seen.vars;
      // High Contrast draws a contrast border round everything, and defines one (#6FC3DF).
      assert.notStrictEqual(seen.rawContrastBorder, '', '--vscode-contrastBorder is defined');
      assert.notStrictEqual(v['--vscode-contrastBorder'], 'rgba(0, 0, 0, 0)');
      // The verdict's provenance line: a solid border in the theme's contrast colour, text in the foreground.
      assert.strictEqual(seen.provenance.borderTopStyle, 'solid');
      assert.strictEqual(seen.provenance.borderTopColor, v['--vscode-contrastBorder']);
      assert.strictEqual(seen.provenance.color, v['--vscode-foreground']);
      // The judges' reasons and the paired outcome in words: the foreground, not a dimmed grey.
      assert.strictEqual(seen.voteReason.color, v['--vscode-foreground']);
      // The note that the baseline is under the floor: the theme's warning colour.
      assert.strictEqual(seen.floorNote.color, v['--vscode-editorWarning-foreground']);
      assert.strictEqual(seen.pair.color, v['--vscode-descriptionForeground']);
      // The pass-rate card: bordered in the theme's panel border, which High Contrast makes visible.
      assert.strictEqual(seen.card.borderTopColor, v['--vscode-panel-border']);
      assert.notStrictEqual(seen.card.borderTopColor, 'rgba(0, 0, 0, 0)');
    } finally {
      await workbench.update('colorTheme', before, vscode.ConfigurationTarget.Global);
      await waitFor(() => vscode.window.activeColorTheme.kind !== vscode.ColorThemeKind.HighContrast, {
        events: [vscode.window.onDidChangeActiveColorTheme],
        description: 'the theme restored',
      });
    }
  });

  it('draws the difference and its interval on an axis with zero, and the slices as rows of the same kind', async () => {
    assert.ok(firstReport?.difference?.winRate && firstReport.power);
    const w = firstReport.difference.winRate;
    type Row = { id: string | null; slice: string | null; label: string; value: string; estimate: number; lower: number; upper: number; svgNamespace: string | null; ariaLabel: string; bandFrom: number; bandWidth: number; estimateAt: number; zeroAt: number };
    const seen = await browser<{ rows: Row[]; ticks: string[]; power: string | null; score: string | null; markup: number }>('read-difference', { prompt: 'prompts/ticket-summary/v2' });
    const [suite, ...slices] = seen.rows;
    assert.strictEqual(suite.id, 'difference-win-rate');
    assert.strictEqual(suite.label, 'Pass rate');
    assert.deepStrictEqual([suite.estimate, suite.lower, suite.upper], [w.estimate, w.lower, w.upper]);
    assert.strictEqual(suite.svgNamespace, 'http://www.w3.org/2000/svg');
    // 3 improved, 3 regressed: the estimate sits on zero, inside its band, on one shared axis.
    assert.strictEqual(w.estimate, 0);
    assert.ok(Math.abs(suite.estimateAt - suite.zeroAt) < 1e-9);
    assert.ok(suite.bandFrom < suite.zeroAt && suite.zeroAt < suite.bandFrom + suite.bandWidth);
    assert.ok(seen.ticks.includes('0'));
    const changed = (firstReport.slices ?? []).filter((s) => s.improved + s.regressed > 0);
    assert.deepStrictEqual(slices.map((r) => r.slice).sort(), changed.map((s) => s.tag).sort(), 'a row per tag where an example changed outcome');
    for (const row of slices) {
      const slice = changed.find((s) => s.tag === row.slice);
      assert.ok(slice);
      assert.strictEqual(row.label, slice.tag);
      assert.deepStrictEqual([row.estimate, row.lower, row.upper], [slice.difference.estimate, slice.difference.lower, slice.difference.upper]);
      assert.strictEqual(row.zeroAt, suite.zeroAt, 'every row on the same axis');
      assert.match(row.ariaLabel, new RegExp(`^${slice.tag}: `));
    }
    assert.strictEqual(seen.power, `Power: ${firstReport.power.summary}`);
    assert.match(seen.score ?? '', /^Mean judge score: [+-]?\d\.\d\d \[/);
    assert.strictEqual(seen.markup, 0);
  });

  it('re-runs from the panel with nothing changed without an API call', async () => {
    assert.ok(firstReport);
    const before = standIn.requests.length;
    const seen = await browser<{ apiCalls: string; cacheHits: string; verdict: string }>('click-and-wait-for-new-run', {
      prompt: 'prompts/ticket-summary/v2',
      button: '#rerun',
      previousStartedAt: firstReport.startedAt,
    });
    assert.strictEqual(standIn.requests.length, before, 'the stand-in got no request');
    assert.strictEqual(seen.apiCalls, '0');
    assert.strictEqual(seen.cacheHits, '96');
    assert.strictEqual(seen.verdict, 'blocked');
  });

  it('re-runs only the regressed examples', async () => {
    const before = standIn.requests.length;
    const seen = await browser<{ outcomes: string[]; partial: boolean }>('rerun-regressed', { prompt: 'prompts/ticket-summary/v2' });
    assert.deepStrictEqual(seen.outcomes, ['regressed', 'regressed', 'regressed']);
    assert.strictEqual(seen.partial, true);
    assert.strictEqual(standIn.requests.length, before);
  });

  it("opens an example's line in eval.jsonl", async () => {
    const opened = waitFor(
      () => {
        const editor = vscode.window.activeTextEditor;
        return editor?.document.uri.fsPath.endsWith(path.join('ticket-summary', 'v2', 'eval.jsonl')) ? editor : undefined;
      },
      { description: 'eval.jsonl in the active editor' },
    );
    await browser('open-example-line', { prompt: 'prompts/ticket-summary/v2', exampleId: 'ts-005' });
    const editor = await opened;
    assert.strictEqual(editor.selection.start.line, 4);
    assert.match(editor.document.lineAt(4).text, /"id": "ts-005"/);
  });

  it('copies the Markdown PR comment and opens the JSON report', async () => {
    const copied = await browser<{ notice: string }>('copy-markdown', { prompt: 'prompts/ticket-summary/v2' });
    assert.match(copied.notice, /copied/i);
    assert.match(await vscode.env.clipboard.readText(), /^## Prompt CI eval: .*blocked.*ticket-summary.* v2/);
    const opened = waitFor(() => {
      const editor = vscode.window.activeTextEditor;
      return editor?.document.uri.fsPath.endsWith('.json') ? editor : undefined;
    });
    await browser('click', { prompt: 'prompts/ticket-summary/v2', selector: '#open-json' });
    const json = JSON.parse((await opened).document.getText()) as EvalReport;
    assert.strictEqual(json.schema, 'prompt-ci/eval-report@1');
    assert.strictEqual(json.prompt.name, 'ticket-summary');
  });

  it('runs unsaved edits as the challenger, and cancelling keeps what finished', async () => {
    await config().update('eval.concurrency', 1, vscode.ConfigurationTarget.Global);
    await config().update('eval.judgeRepeats', 1, vscode.ConfigurationTarget.Global);
    const editor = await openFile('prompts/ticket-summary/v2/system.md');
    const edited = editor.document;
    await editor.edit((b) => b.insert(new vscode.Position(2, 0), 'Mention the customer by name.\n'));
    assert.ok(editor.document.isDirty);
    const start = standIn.requests.length;
    // Wide enough a window for the browser to find the notification and click Cancel on a busy machine.
    delayMs = 500;
    try {
      const command = runEval();
      await requestsReach(start + 8);
      await browser('cancel-from-notification', { title: 'Eval ticket-summary v2 vs', keepNotifications: true });
      const report = await command;
      assert.ok(report);
      assert.strictEqual(report.cancelled, true);
      const finished = report.examples.filter((e) => e.outcome !== 'cancelled');
      const cancelled = report.examples.filter((e) => e.outcome === 'cancelled');
      assert.ok(finished.length >= 1, 'some examples finished before the cancel');
      assert.ok(cancelled.length >= 1, 'some examples never ran');
      assert.strictEqual(report.judge.repeats, 1, 'promptCi.eval.judgeRepeats');
      const sent = requestsSince(start);
      assert.ok(sent.some((r) => String(r.body.system).includes('Mention the customer by name.')), 'the unsaved text was sent');

      const seen = await browser<{ finished: string; total: string; cancelledRows: number; rows: number }>('read-cancelled', {
        prompt: 'prompts/ticket-summary/v2',
        startedAt: report.startedAt,
      });
      assert.strictEqual(Number(seen.finished), finished.length);
      assert.strictEqual(Number(seen.total), 12);
      assert.strictEqual(seen.cancelledRows, cancelled.length);
      assert.strictEqual(seen.rows, 12);
    } finally {
      delayMs = 0;
      await vscode.window.showTextDocument(edited, { viewColumn: vscode.ViewColumn.One });
      await vscode.commands.executeCommand('workbench.action.files.revert');
      assert.strictEqual(edited.isDirty, false, 'the edit is reverted');
      await config().update('eval.concurrency', undefined, vscode.ConfigurationTarget.Global);
      await config().update('eval.judgeRepeats', undefined, vscode.ConfigurationTarget.Global);
    }
  });

  it('renders markup in outputs, inputs, tags and errors as text and runs none of it; the demo says so', async () => {
    // The demo's environment, as npm start sets it: base URL and key of the stand-in, PROMPT_CI_DEMO=1.
    await config().update('anthropicBaseUrl', undefined, vscode.ConfigurationTarget.Global);
    process.env.PROMPT_CI_DEMO = '1';
    process.env.ANTHROPIC_BASE_URL = standIn.url;
    process.env.ANTHROPIC_API_KEY = API_KEY;
    try {
      await openFile('prompts/xss/v1/system.md');
      const report = await runEval();
      assert.ok(report);
      const byId = new Map(report.examples.map((e) => [e.id, e]));
      assert.strictEqual(byId.get('xss-img')?.challenger.output, '<img src=x onerror=alert(1)>');
      assert.strictEqual(byId.get('xss-script')?.challenger.output, '</script><script>alert(2)</script>');
      assert.strictEqual(byId.get('xss-judge')?.outcome, 'error');
      const seen = await browser<{
        outputs: string[];
        errors: string[];
        tags: string[];
        images: number;
        scripts: { src: string; text: string }[];
        dialogs: string[];
        refused: string[];
        demoBanner: string;
      }>(
        'read-markup',
        { prompt: 'prompts/xss/v1' },
      );
      assert.ok(seen.outputs.includes('<img src=x onerror=alert(1)>'), JSON.stringify(seen.outputs));
      assert.ok(seen.outputs.includes('</script><script>alert(2)</script>'), JSON.stringify(seen.outputs));
      assert.ok(seen.errors.some((e) => e.includes('<img src=x onerror=alert(3)>')), JSON.stringify(seen.errors));
      assert.ok(seen.tags.includes('<i>tag</i>'));
      assert.strictEqual(seen.images, 0, 'no <img> element in the page');
      // The panel's script, and the one VS Code puts in every webview (acquireVsCodeApi); nothing else.
      assert.deepStrictEqual(
        seen.scripts.filter((script) => !script.src.endsWith('/dist/webview/main.js') && !script.text.includes('acquireVsCodeApi')),
        [],
      );
      assert.ok(seen.scripts.every((script) => !script.text.includes('alert(')));
      assert.deepStrictEqual(seen.dialogs, [], 'no alert ran');
      // Nothing even tried: markup rendered as text never asks the browser for an image or a script.
      assert.deepStrictEqual(seen.refused, [], 'nothing was refused by the content security policy');
      assert.match(seen.demoBanner, /deterministic demo server .* not from a model/);
    } finally {
      for (const name of envNames) delete process.env[name];
      await config().update('anthropicBaseUrl', standIn.url, vscode.ConfigurationTarget.Global);
    }
  });

  it('renders, filters and searches 5,000 examples a page at a time', async () => {
    assert.ok(firstReport);
    const timing = await browser<{ renderMs: number; rows: number; filterMs: number; searchMs: number; searchRows: number; expandMs: number }>(
      'large-report',
      { report: firstReport, examples: 5000 },
      90_000,
    );
    console.log(`      5,000 examples: ${JSON.stringify(timing)}`);
    // The list renders a page of rows, not all 5,000.
    assert.strictEqual(timing.rows, 150);
    // The timings are printed, not asserted: this machine is shared, and speed belongs in the benchmarks.
    assert.ok(timing.searchRows > 0 && timing.searchRows <= 150);
  });

  it('takes a screenshot of the panel (PROMPT_CI_RESULTS_SCREENSHOT)', async function () {
    const out = process.env.PROMPT_CI_RESULTS_SCREENSHOT;
    if (!out) this.skip();
    // The theme is set here: the test window does not apply one given in its user settings at start.
    const theme = process.env.PROMPT_CI_RESULTS_THEME;
    if (theme) {
      const kind = /high contrast light/i.test(theme)
        ? vscode.ColorThemeKind.HighContrastLight
        : /high contrast/i.test(theme)
          ? vscode.ColorThemeKind.HighContrast
          : /light/i.test(theme)
            ? vscode.ColorThemeKind.Light
            : vscode.ColorThemeKind.Dark;
      await vscode.workspace.getConfiguration('workbench').update('colorTheme', theme, vscode.ConfigurationTarget.Global);
      await waitFor(() => vscode.window.activeColorTheme.kind === kind, { events: [vscode.window.onDidChangeActiveColorTheme], description: `the ${theme} theme` });
    }
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    await openFile('prompts/ticket-summary/v2/metadata.yaml');
    const report = await runEval();
    assert.ok(report && !report.cancelled && report.cost.apiCalls === 0);
    await vscode.commands.executeCommand('workbench.action.closeSidebar');
    await vscode.commands.executeCommand('workbench.action.closePanel');
    await vscode.commands.executeCommand('workbench.action.focusSecondEditorGroup');
    await vscode.commands.executeCommand('workbench.action.toggleMaximizeEditorGroup');
    await browser('screenshot', { prompt: 'prompts/ticket-summary/v2', out, expand: 'ts-001' });
  });

  it('synthesizes cases from the failures selected in the panel, after the same cost question as Run Eval', async () => {
    const prompt = 'prompts/ticket-summary/v2';
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    await openFile(`${prompt}/metadata.yaml`);
    const report = await runEval();
    assert.ok(report && !report.cancelled);
    const regressed = report.examples.filter((e) => e.outcome === 'regressed').map((e) => e.id);
    const bothWrong = report.examples.filter((e) => e.outcome === 'both-wrong').map((e) => e.id);
    assert.deepStrictEqual([regressed.length, bothWrong.length], [3, 3]);
    // One regressed example and one both sides got wrong: both are failures of the challenger.
    const chosen = [regressed[1], bothWrong[0]];
    const screenshot = process.env.PROMPT_CI_SYNTHESIS_SCREENSHOT;
    if (screenshot) {
      await vscode.commands.executeCommand('workbench.action.closeSidebar');
      await vscode.commands.executeCommand('workbench.action.focusSecondEditorGroup');
      await vscode.commands.executeCommand('workbench.action.toggleMaximizeEditorGroup');
    }
    type Selection = { selectable: string[]; checked: string[]; button: string; disabled: boolean };
    const seen = await browser<{ initial: Selection; cleared: Selection; chosen: Selection; openedBefore: string[]; opened: string[] }>('select-for-synthesis', {
      prompt,
      ids: chosen,
      out: screenshot ?? 'test-results/synthesis-selection.png',
    });
    if (screenshot) await vscode.commands.executeCommand('workbench.action.toggleMaximizeEditorGroup');
    assert.deepStrictEqual([...seen.initial.selectable].sort(), [...regressed, ...bothWrong].sort(), 'a checkbox on each failing example, none on the others');
    assert.deepStrictEqual([...seen.initial.checked].sort(), [...regressed].sort(), 'every regressed example selected at first');
    assert.strictEqual(seen.initial.button, 'Synthesize cases from these 3 failures');
    assert.deepStrictEqual([seen.cleared.checked, seen.cleared.disabled], [[], true]);
    assert.deepStrictEqual([...seen.chosen.checked].sort(), [...chosen].sort());
    assert.deepStrictEqual([seen.chosen.button, seen.chosen.disabled], ['Synthesize cases from these 2 failures', false]);
    assert.deepStrictEqual(seen.opened, seen.openedBefore, 'a checkbox click opens no example');

    const evalPath = path.join(workspaceDir, prompt, 'eval.jsonl');
    const before = fs.readFileSync(evalPath);
    const sentBefore = standIn.requests.length;
    try {
      // Above the threshold the panel's action asks first, as Run Eval does; Cancel sends nothing.
      await config().update('eval.confirmAboveUsd', 0, vscode.ConfigurationTarget.Global);
      try {
        const declined = await browser<{ text: string; notice: string }>('synthesize-and-decline', { prompt, title: 'Synthesize 5 cases for ticket-summary v2?', keepNotifications: true });
        assert.match(declined.text, /From 2 failing examples, model [\w.-]+: 1 call to make, ~\$[0-9.]+ typical, at most \$[0-9.]+, above promptCi\.eval\.confirmAboveUsd \(\$0\.00\)/);
        assert.match(declined.notice, /Nothing was sent: the cost was not confirmed/);
        assert.strictEqual(standIn.requests.length, sentBefore, 'no call before the user agrees');
        assert.ok(fs.readFileSync(evalPath).equals(before));
      } finally {
        await config().update('eval.confirmAboveUsd', 1000, vscode.ConfigurationTarget.Global);
      }

      // The same action on the same selection, confirmed.
      const outcome = await vscode.commands.executeCommand<SynthesisCommandOutcome>('promptCi.synthesizeFromFailures', {
        uri: file(`${prompt}/metadata.yaml`),
        exampleIds: chosen,
        confirmed: true,
      });
      assert.ok(outcome.status === 'appended', JSON.stringify(outcome));
      const sent = standIn.requests.slice(sentBefore);
      assert.strictEqual(sent.length, 1, 'one synthesis request');
      const user = String(sent[0].body.messages?.at(-1)?.content ?? '');
      const asked = JSON.parse(/<synthesis_request>([\s\S]*?)<\/synthesis_request>/.exec(user)?.[1] ?? 'null') as { variables: string[]; count: number; examples: { id: string }[] };
      assert.deepStrictEqual(asked.variables, ['customer', 'ticket']);
      assert.strictEqual(asked.count, 5);
      assert.deepStrictEqual(asked.examples.map((e) => e.id).sort(), [...chosen].sort(), 'the selected examples, and only them');

      const after = fs.readFileSync(evalPath);
      assert.ok(after.subarray(0, before.length).equals(before), 'the lines already there are kept byte for byte');
      const added = after.subarray(before.length).toString('utf8').split('\n').filter((line) => line.trim() !== '').map((line) => JSON.parse(line) as { id: string; inputs: Record<string, unknown>; tags: string[]; source: { kind: string; from: string[] } });
      assert.ok(outcome.appended >= 1);
      assert.strictEqual(added.length, outcome.appended);
      for (const line of added) {
        assert.deepStrictEqual(line.tags, ['synthetic', 'needs-review']);
        assert.deepStrictEqual(Object.keys(line.inputs).sort(), ['customer', 'ticket'], 'exactly the template\'s variables');
        assert.strictEqual(line.source.kind, 'synthetic');
        assert.ok(line.source.from.length > 0 && line.source.from.every((id) => chosen.includes(id)), JSON.stringify(line.source));
      }
      // The stand-in adds a case lacking a variable and one repeating an example after the real ones.
      assert.strictEqual(outcome.invalid, 1);
      assert.ok(outcome.duplicates >= 1);
      assert.strictEqual(outcome.appended + outcome.duplicates + outcome.invalid + outcome.beyondCount, 7);
      assert.match(outcome.message, new RegExp(`^${outcome.appended} cases? appended to ${prompt}/eval\\.jsonl, ${outcome.duplicates} dropped as duplicates, 1 invalid, tagged synthetic and needs-review`));
      const oldLines = before.toString('utf8').split('\n').length - 1;
      assert.strictEqual(outcome.firstLine, oldLines);
      const editor = vscode.window.activeTextEditor;
      assert.ok(editor?.document.uri.fsPath === evalPath, 'eval.jsonl is open');
      assert.strictEqual(editor.selection.start.line, oldLines, 'at the first new line');
      assert.strictEqual(JSON.parse(editor.document.lineAt(oldLines).text).id, added[0].id);

      // Clicked again from the panel: the answer comes from the cache, and every case is now a duplicate.
      const again = await browser<{ notice: string }>('synthesize-and-read-notice', { prompt });
      assert.strictEqual(
        again.notice,
        `0 cases appended to ${prompt}/eval.jsonl, ${outcome.appended + outcome.duplicates} dropped as duplicates, 1 invalid (the answer came from the cache).`,
      );
      assert.strictEqual(standIn.requests.length, sentBefore + 1, 'no new request');
      assert.ok(fs.readFileSync(evalPath).equals(after), 'nothing written');
    } finally {
      fs.writeFileSync(evalPath, before);
    }
  });
});
