#!/usr/bin/env node
/**
 * The authoring features in the real workbench, as a newcomer meets them after `npm start`, with a
 * PNG of each for the README (look at them):
 *
 *   node esbuild.mjs && node test/integration/editorScreens.mjs [--out docs/images]
 *
 * On a git copy of examples/ (the clean workspace of npm start, demo stand-in for the API): checks
 * that the Problems panel is empty, opens the Getting Started walkthrough, creates summarisation v3
 * with **New Prompt Version** from the CodeLens (and checks v3/metadata.yaml says `version: 3`),
 * opens the Test Explorer with a test item per prompt version, runs one example of v3 from it
 * and waits for its result, then opens the Prompt CI side bar. Exits 1 when a step fails.
 */
import fs from 'node:fs';
import path from 'node:path';
import { launchChromium } from '../harness/browser.mjs';
import { remoteUri, workbenchUrl } from '../harness/codeServerProcess.mjs';
import { repoRoot } from '../harness/paths.mjs';
import { startWorkbench } from '../../scripts/start.mjs';

const outIndex = process.argv.indexOf('--out');
const outDir = path.resolve(outIndex > 0 ? process.argv[outIndex + 1] : path.join(repoRoot, 'docs', 'images'));
const viewport = { width: 1280, height: 800 };

async function command(page, title) {
  await page.keyboard.press('F1');
  const input = page.locator('.quick-input-widget input');
  await input.waitFor({ timeout: 15_000 });
  await input.fill(`>${title}`);
  await page.locator('.quick-input-list .monaco-list-row', { hasText: title }).first().waitFor({ timeout: 15_000 });
  await page.keyboard.press('Enter');
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

const settings = { 'editor.minimap.enabled': false, 'workbench.editor.enablePreview': false, 'git.decorations.enabled': false, 'workbench.startupEditor': 'none' };
const workbench = await startWorkbench({ port: 0, settings, log: (line) => console.error(line) });
let browser;
let failed = false;
const check = (ok, what) => {
  console.log(`${ok ? 'ok' : 'FAILED'}: ${what}`);
  if (!ok) failed = true;
};
try {
  let page;
  ({ browser, page } = await launchChromium({ viewport }));
  const system = path.join(workbench.workspaceDir, 'prompts', 'summarisation', 'v2', 'system.md');
  await page.goto(workbenchUrl(workbench.serverUrl, workbench.workspaceDir, [['skipWelcome', 'true'], ['openFile', remoteUri(workbench.port, system)]]));
  await page.locator('.tabs-container .tab[data-resource-name="system.md"]').first().waitFor({ timeout: 90_000 });

  // 1. A clean first screen: no findings in the example workspace (examples/broken is a workspace of its own).
  check(!fs.existsSync(path.join(workbench.workspaceDir, 'broken')), 'the example workspace has no broken/ folder');
  check(typeof workbench.brokenUrl === 'string' && workbench.brokenUrl.includes('broken-examples'), 'npm start serves the broken examples as a second, named workspace');
  const lens = page.locator('.codelens-decoration a', { hasText: 'New Version' }).first();
  await lens.waitFor({ timeout: 60_000 });
  await page.keyboard.press('Control+Shift+M');
  await page.locator('.markers-panel').waitFor({ timeout: 15_000 });
  const problems = await page.locator('.markers-panel .monaco-list-row').count();
  check(problems === 0, `Problems panel is empty (${problems} rows)`);

  // 2. The Getting Started walkthrough (the panel closed, so the walkthrough has the room).
  await page.keyboard.press('Control+J');
  await command(page, 'Welcome: Open Walkthrough...');
  await page.locator('.quick-input-list .monaco-list-row', { hasText: 'Get Started with Prompt CI' }).first().waitFor({ timeout: 15_000 });
  await page.keyboard.type('Get Started with Prompt CI');
  await page.keyboard.press('Enter');
  await page.locator('.getting-started-step', { hasText: 'See a mistake caught as you type' }).first().waitFor({ timeout: 30_000 });
  check(true, 'the walkthrough opens with its steps');
  await page.locator('.getting-started-step', { hasText: 'Change a prompt in a new version' }).first().click();
  await page.waitForTimeout(500); // the step's Markdown media fades in
  await shot(page, 'walkthrough.png');

  // 3. New Prompt Version from the CodeLens: v3 with version: 3, its system.md opened.
  await page.locator('.tabs-container .tab[data-resource-name="system.md"]').first().click();
  await page.locator('.codelens-decoration a', { hasText: 'New Version' }).first().click();
  const v3 = path.join(workbench.workspaceDir, 'prompts', 'summarisation', 'v3');
  for (let i = 0; i < 300 && !fs.existsSync(path.join(v3, 'metadata.yaml')); i++) await new Promise((r) => setTimeout(r, 100));
  await page.locator('.tabs-container .tab.active[data-resource-name="system.md"]').first().waitFor({ timeout: 30_000 });
  const metadata = fs.readFileSync(path.join(v3, 'metadata.yaml'), 'utf8');
  check(/^version: 3$/m.test(metadata) && fs.readFileSync(path.join(v3, 'system.md'), 'utf8') === fs.readFileSync(system, 'utf8'), 'New Version made v3 with version: 3 and the same system.md');

  // 4. The Test Explorer: a test item per prompt version; run one example of v3.
  await command(page, 'Testing: Focus on Test Explorer View');
  const tree = page.locator('.test-explorer .monaco-list');
  await tree.locator('.monaco-list-row', { hasText: 'summarisation v3' }).first().waitFor({ timeout: 60_000 });
  const versions = await tree.locator('.monaco-list-row').allInnerTexts();
  check(['classification v1', 'summarisation v1', 'summarisation v2', 'summarisation v3'].every((v) => versions.some((t) => t.includes(v))), `a test item per prompt version (${versions.length} rows)`);
  const v3Row = tree.locator('.monaco-list-row', { hasText: 'summarisation v3' }).first();
  await v3Row.click();
  await page.keyboard.press('ArrowRight');
  const example = tree.locator('.monaco-list-row[aria-level="2"]').first();
  await example.waitFor({ timeout: 30_000 });
  const exampleName = (await example.innerText()).split('\n')[0];
  await example.hover();
  await example.locator('.action-label[aria-label^="Run Test"], .action-label.codicon-testing-run-icon').first().click();
  // The demo server answers; the item gets a result icon (passed or failed) when the run ends.
  await example.locator('.codicon-testing-passed-icon, .codicon-testing-failed-icon, .codicon-testing-error-icon').first().waitFor({ timeout: 120_000 });
  check(true, `ran one example (${exampleName}) from the Test Explorer`);
  await page.mouse.move(viewport.width - 5, viewport.height / 2);
  await shot(page, 'test-explorer.png');

  // 5. The Prompt CI view container in the activity bar, with the Gate view.
  await page.locator('.activitybar .action-item .action-label[aria-label^="Prompt CI"]').first().click();
  // Alone in its container, the Gate view has no header of its own: its welcome button shows it.
  await page.locator('.sidebar .composite.title', { hasText: 'PROMPT CI' }).first().waitFor({ timeout: 15_000 });
  await page.locator('.sidebar .welcome-view-content', { hasText: 'Run Pre-PR Gate' }).first().waitFor({ timeout: 15_000 });
  check(true, 'the Prompt CI side bar holds the Gate view');
  await shot(page, 'prompt-ci-sidebar.png');
} catch (error) {
  console.error(error);
  failed = true;
} finally {
  await browser?.close().catch(() => {});
  await workbench.stop();
}
process.exit(failed ? 1 : 0);
