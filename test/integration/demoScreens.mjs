#!/usr/bin/env node
/**
 * The README's walkthrough of the whole loop, done in the real workbench `npm start` opens, with a
 * PNG of each step for the README (look at them):
 *
 *   node esbuild.mjs && node test/integration/demoScreens.mjs [--out docs/images]
 *
 * In VS Code's terminal: `cd app && npm run traffic`. Then the gate on summarisation v2, a 10%
 * rollout of v2 from the Rollouts view, the shares as the traffic gets them, a tenant pinned to v2,
 * a rollback, a span of app/spans.jsonl replayed, and Which Version for a tenant at an earlier time.
 * Each step is checked against what the traffic script wrote (its spans file), not only looked at.
 * Exits 1 when a step fails.
 */
import fs from 'node:fs';
import path from 'node:path';
import { launchChromium } from '../harness/browser.mjs';
import { remoteUri, workbenchUrl } from '../harness/codeServerProcess.mjs';
import { repoRoot } from '../harness/paths.mjs';
import { startWorkbench } from '../../scripts/start.mjs';

const outIndex = process.argv.indexOf('--out');
const outDir = path.resolve(outIndex > 0 ? process.argv[outIndex + 1] : path.join(repoRoot, 'docs', 'images'));
const viewport = { width: 1440, height: 900 };

async function command(page, title) {
  await page.keyboard.press('F1');
  const input = page.locator('.quick-input-widget input');
  await input.waitFor({ timeout: 15_000 });
  await input.fill(`>${title}`);
  await page.locator('.quick-input-list .monaco-list-row', { hasText: title }).first().waitFor({ timeout: 15_000 });
  await page.keyboard.press('Enter');
}

/** Answers the open quick input (an input box or a pick list) with `text`. */
async function answer(page, text, { title } = {}) {
  const widget = page.locator('.quick-input-widget', title ? { hasText: title } : {});
  await widget.first().waitFor({ state: 'visible', timeout: 60_000 });
  const input = page.locator('.quick-input-widget input');
  await input.fill(text);
  await page.waitForTimeout(200);
  await page.keyboard.press('Enter');
  await page.waitForTimeout(300);
}

async function shot(page, name) {
  await page.evaluate(() => {
    for (const toasts of document.querySelectorAll('.notifications-toasts')) toasts.style.visibility = 'hidden';
  });
  fs.mkdirSync(outDir, { recursive: true });
  const file = path.join(outDir, name);
  await page.screenshot({ path: file, animations: 'disabled' });
  await page.evaluate(() => {
    for (const toasts of document.querySelectorAll('.notifications-toasts')) toasts.style.visibility = '';
  });
  console.log(`saved ${path.relative(process.cwd(), file)}`);
}

/** The traffic script's spans so far: tenant, version and reason of each, with its line number. */
function spans(file) {
  if (!fs.existsSync(file)) return [];
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((line, i) => {
      const span = JSON.parse(line).resourceSpans[0].scopeSpans[0].spans[0];
      const attr = Object.fromEntries(span.attributes.map((a) => [a.key, Object.values(a.value)[0]]));
      return { line: i + 1, spanId: span.spanId, tenant: attr['tenant.id'], version: Number(attr['prompt.version']), reason: attr['prompt.selection_reason'], requestId: attr['request.id'] };
    });
}

/** Waits until the spans written after `from` (a count) hold one that `match` accepts. */
async function spanWhere(file, from, what, match, timeoutMs = 120_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const found = spans(file).slice(from).find(match);
    if (found) return found;
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`no span of the traffic script where ${what} within ${timeoutMs / 1000} s`);
}

/** The last complete round: each tenant's latest span. */
function latestByTenant(file) {
  const map = new Map();
  for (const s of spans(file)) map.set(s.tenant, s);
  return map;
}

const settings = {
  'editor.minimap.enabled': false,
  'workbench.editor.enablePreview': false,
  'git.decorations.enabled': false,
  'workbench.startupEditor': 'none',
  'terminal.integrated.fontSize': 12,
  'editor.wordWrap': 'on',
  // File > Open File… as a quick input (the browser's own file picker can't be driven).
  'files.simpleDialog.enable': true,
};
const workbench = await startWorkbench({ port: 0, settings, log: (line) => console.error(line) });
const spansFile = path.join(workbench.workspaceDir, 'app', 'spans.jsonl');
let browser;
let failed = false;
const check = (ok, what) => {
  console.log(`${ok ? 'ok' : 'FAILED'}: ${what}`);
  if (!ok) failed = true;
};
try {
  let page;
  ({ browser, page } = await launchChromium({ viewport }));
  const service = path.join(workbench.workspaceDir, 'app', 'service.ts');
  await page.goto(workbenchUrl(workbench.serverUrl, workbench.workspaceDir, [['skipWelcome', 'true'], ['openFile', remoteUri(workbench.port, service)]]));
  await page.locator('.tabs-container .tab[data-resource-name="service.ts"]').first().waitFor({ timeout: 90_000 });
  await page.waitForTimeout(3000);
  // A wider side bar, so the Rollouts rows' descriptions show whole.
  const sidebar = await page.locator('.part.sidebar').first().boundingBox();
  if (sidebar) {
    await page.mouse.move(sidebar.x + sidebar.width + 1, sidebar.y + 300);
    await page.mouse.down();
    await page.mouse.move(sidebar.x + sidebar.width + 200, sidebar.y + 300, { steps: 10 });
    await page.mouse.up();
  }

  // 1. The traffic, from VS Code's terminal, as the README says.
  await command(page, 'Terminal: Create New Terminal');
  await page.locator('.terminal-wrapper').first().waitFor({ timeout: 30_000 });
  // On a loaded machine the terminal takes focus late: click into it, so the command goes to the shell.
  await page.locator('.terminal-wrapper .xterm-screen').first().waitFor({ timeout: 60_000 });
  await page.waitForTimeout(2000);
  await page.locator('.terminal-wrapper .xterm-screen').first().click();
  await page.waitForTimeout(500);
  await page.keyboard.type('cd app && npm run traffic\n', { delay: 20 });
  const first = await spanWhere(spansFile, 0, 'a tenant is served v1 (production)', (s) => s.version === 1, 180_000);
  check(first.reason === 'rollout', `the traffic script runs from the terminal: ${first.tenant} got v1 (${first.reason})`);

  // 2. The gate on v2 (the branch's change), from the Prompt CI side bar.
  // The Prompt CI container appears once the extension has activated (slow on a loaded machine).
  const container = page.locator('.activitybar .action-item .action-label[aria-label^="Prompt CI"]').first();
  await container.waitFor({ timeout: 900_000 });
  await container.click();
  await command(page, 'Prompt CI: Run Pre-PR Gate');
  const gatePane = page.locator('.pane', { has: page.locator('.pane-header', { hasText: /^Gate|GATE/ }) });
  const gateRow = gatePane.locator('.monaco-list-row', { hasText: /summarisation v2.*(pass|fail|block|error)/is }).first();
  await gateRow.waitFor({ timeout: 300_000 });
  const gateRows = await gatePane.locator('.monaco-list-row').allInnerTexts();
  check(true, `the gate ran on summarisation v2: ${gateRows.slice(0, 4).join(' | ').replace(/\s+/g, ' ')}`);
  // Expanded, the row lists the gate's reasons.
  await gateRow.locator('.monaco-tl-twistie').first().click();
  await page.waitForTimeout(1500);
  await page.mouse.move(viewport.width - 5, 200);
  await shot(page, 'demo-gate.png');
  await gateRow.locator('.monaco-tl-twistie').first().click();

  // 3. A 10% rollout of v2 from the Rollouts view (the version row's own action).
  const rollouts = page.locator('.pane', { has: page.locator('.pane-header', { hasText: /Rollouts|ROLLOUTS/ }) });
  const header = page.locator('.pane-header', { hasText: /Rollouts|ROLLOUTS/ }).first();
  if ((await header.getAttribute('aria-expanded')) === 'false') await header.click();
  const v2Row = rollouts.locator('.monaco-list-row', { hasText: /^v2/ }).first();
  await v2Row.waitFor({ timeout: 60_000 });
  await v2Row.hover();
  await v2Row.locator('.action-label[aria-label^="Start or Change Rollout"]').first().click();
  await answer(page, '10'); // share
  // The gate blocked v2, so the rollout asks first, naming why.
  const gateDialog = page.locator('.monaco-dialog-box');
  await gateDialog.waitFor({ timeout: 15_000 });
  const gateText = (/The gate has not passed summarisation v2[^\n]*/.exec(await gateDialog.innerText()) ?? [''])[0];
  check(/Roll out summarisation v2 to 10% of summarisation anyway\?/.test(gateText), `the rollout of a version the gate blocked asks first: ${gateText}`);
  await gateDialog.locator('.monaco-button', { hasText: 'Roll Out Anyway' }).first().click();
  await answer(page, ''); // excluded tiers: none
  await answer(page, 'soak v2 with 10% of tenants'); // reason
  const before = spans(spansFile).length;
  const onV2 = await spanWhere(spansFile, before, 'a tenant gets v2 by the rollout', (s) => s.version === 2 && s.reason === 'rollout');
  check(true, `the rollout reaches the running service: ${onV2.tenant} now gets v2`);
  const rolledOutAt = new Date().toISOString();
  await page.waitForTimeout(4000);
  const round = latestByTenant(spansFile);
  const v2Tenants = [...round.values()].filter((s) => s.version === 2).map((s) => s.tenant);
  check(v2Tenants.length >= 1 && v2Tenants.length < round.size, `shares as served: ${v2Tenants.length} of ${round.size} tenants on v2 (${v2Tenants.join(', ')})`);

  // 4. Pin a tenant that is on v1 to v2, from the v2 row; its own row appears under v2.
  const pinned = [...round.values()].find((s) => s.version === 1).tenant;
  await v2Row.hover();
  await v2Row.locator('.action-label[aria-label^="Pin Tenant"]').first().click();
  await answer(page, pinned);
  const expiry = new Date(Date.now() + 10 * 86_400_000).toISOString().slice(0, 10);
  await answer(page, expiry);
  await answer(page, 'wants the action items line now');
  const pinSpan = await spanWhere(spansFile, spans(spansFile).length, `${pinned} is pinned`, (s) => s.tenant === pinned && s.reason === 'pin');
  check(pinSpan.version === 2, `the pin holds: ${pinned} gets v2 (pin)`);
  const pinRow = rollouts.locator('.monaco-list-row', { hasText: pinned }).first();
  await pinRow.waitFor({ timeout: 30_000 });
  check(true, `the pinned tenant ${pinned} shows as its own row under v2`);
  await page.waitForTimeout(3500);
  await page.mouse.move(viewport.width - 5, 200);
  await shot(page, 'rollouts-soak.png');

  // 5. Roll back from the prompt row: the modal names the version traffic returns to.
  const promptRow = rollouts.locator('.monaco-list-row', { hasText: /^summarisation/ }).first();
  await promptRow.hover();
  await promptRow.locator('.action-label[aria-label^="Roll Back"]').first().click();
  const dialog = page.locator('.monaco-dialog-box');
  await dialog.waitFor({ timeout: 15_000 });
  const dialogText = (/Roll back summarisation\?[^\n]*/.exec(await dialog.innerText()) ?? [''])[0];
  check(/returns to v1/.test(dialogText), `the rollback asks first: ${dialogText}`);
  await dialog.locator('.monaco-button', { hasText: 'Roll Back to v1' }).first().click();
  await answer(page, 'the action items line invents owners');
  const afterRollback = spans(spansFile).length;
  await spanWhere(spansFile, afterRollback, 'a tenant is served the rollback', (s) => s.reason === 'rollback');
  await page.waitForTimeout(4000);
  const back = [...latestByTenant(spansFile).values()];
  check(back.every((s) => s.version === 1 && s.reason === 'rollback'), `the traffic returns: every tenant, ${pinned} too, gets v1 (rollback)`);
  await rollouts.locator('.monaco-list-row', { hasText: 'rollback in force' }).first().waitFor({ timeout: 30_000 });
  await page.mouse.move(viewport.width - 5, 200);
  await shot(page, 'rollouts-rolled-back.png');

  // 6. Open a span from the file and replay it: the line of one of v2's requests, then Replay Trace.
  const v2Span = spans(spansFile).find((s) => s.version === 2 && s.reason === 'rollout');
  // From the Explorer (the file is gitignored, so Quick Open doesn't list it).
  await page.keyboard.press('Control+Shift+E');
  const explorer = page.locator('.explorer-folders-view');
  await explorer.waitFor({ timeout: 15_000 });
  const spansRow = explorer.locator('.monaco-list-row', { hasText: /^spans\.jsonl$/ }).first();
  // app/ may be open already (it holds service.ts); only a closed one is clicked, or the click would close it.
  const appRow = explorer.locator('.monaco-list-row', { hasText: /^app$/ }).first();
  await appRow.waitFor({ timeout: 30_000 });
  if ((await appRow.getAttribute('aria-expanded')) === 'false') await appRow.click();
  await spansRow.waitFor({ timeout: 30_000 });
  await spansRow.click();
  await page.locator('.tabs-container .tab[data-resource-name="spans.jsonl"]').first().waitFor({ timeout: 30_000 });
  await page.waitForTimeout(1500);
  await page.locator('.editor-group-container.active .view-lines').first().click();
  await page.keyboard.press('Control+G');
  await answer(page, `:${v2Span.line}`);
  await page.keyboard.press('Control+L'); // the whole (wrapped) line
  await command(page, 'Prompt CI: Replay Trace…');
  let editorText = '';
  for (let i = 0; i < 120 && !/MATCH/.test(editorText); i++) {
    await page.waitForTimeout(500);
    editorText = await page.locator('.editor-group-container.active .view-lines').first().innerText().catch(() => '');
  }
  await page.waitForTimeout(1500);
  check(/MATCH/.test(editorText) && editorText.includes(v2Span.tenant), `the span of ${v2Span.tenant} (${v2Span.spanId}) replays: ${(/MATCH[^\n]*/.exec(editorText) ?? ['no MATCH line'])[0].slice(0, 100)}`);
  await shot(page, 'demo-replay.png');

  // 7. Which version did a tenant get, at the time the rollout was being watched?
  await command(page, 'Prompt CI: Which Version Did a Tenant Get…?');
  await answer(page, onV2.tenant);
  await answer(page, 'summarisation');
  await answer(page, rolledOutAt);
  await page.waitForTimeout(1500);
  const picker = page.locator('.quick-input-widget');
  if (await picker.isVisible()) {
    const rows = await picker.locator('.monaco-list-row').allInnerTexts();
    check(rows.some((t) => /v2/.test(t)), `Which Version lists the intervals around then: ${rows.join(' | ').replace(/\s+/g, ' ').slice(0, 200)}`);
    await shot(page, 'demo-which-version-pick.png');
    await picker.locator('.monaco-list-row', { hasText: 'v2' }).first().click();
  }
  const answerToast = page.locator('.notifications-toasts .notification-list-item', { hasText: `${onV2.tenant} got summarisation` });
  await answerToast
    .first()
    .waitFor({ timeout: 60_000 })
    .catch(async (error) => {
      console.error(`notifications: ${(await page.locator('.notifications-toasts').allInnerTexts()).join(' | ')}`);
      throw error;
    });
  const toastText = await answerToast.first().innerText();
  check(/got summarisation v2/.test(toastText), `Which Version answers: ${toastText.split('\n')[0]}`);
} catch (error) {
  console.error(error);
  failed = true;
  try {
    const page = browser?.contexts()[0]?.pages()[0];
    if (page) await page.screenshot({ path: path.join(outDir, 'demo-failure.png') });
  } catch {
    // no screenshot of the failure
  }
} finally {
  await browser?.close().catch(() => {});
  await workbench.stop();
}
process.exit(failed ? 1 : 0);
