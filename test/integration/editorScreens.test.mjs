/**
 * The first screens of the authoring features in the real workbench, as a newcomer meets them
 * after `npm start`: the workspace npm start serves (a git copy of examples/ without broken/, the
 * demo stand-in for the API), driven through the workbench UI with Playwright.
 *
 *   node esbuild.mjs && npx mocha --timeout 600000 test/integration/editorScreens.test.mjs
 *
 * The steps run in order on one workbench: the Problems panel is empty; the Getting Started
 * walkthrough opens; **New Prompt Version** from the CodeLens makes summarisation v3 with
 * `version: 3`; the Test Explorer has a test item per prompt version and runs one example of v3;
 * the Prompt CI side bar holds the Gate view. Each step saves a PNG (look at them) in
 * test-results/editor-screens/, or in PROMPT_CI_SCREENSHOT_DIR (e.g. docs/images, for the README).
 */
import assert from 'node:assert';
import fs from 'node:fs';
import path from 'node:path';
import { launchChromium } from '../harness/browser.mjs';
import { remoteUri, workbenchUrl } from '../harness/codeServerProcess.mjs';
import { repoRoot } from '../harness/paths.mjs';
import { startWorkbench } from '../../scripts/start.mjs';
import { resultsDir, screenshotInto } from './runVscodeTests.mjs';

const outDir = process.env.PROMPT_CI_SCREENSHOT_DIR
  ? path.resolve(repoRoot, process.env.PROMPT_CI_SCREENSHOT_DIR)
  : path.join(resultsDir, 'editor-screens');
const viewport = { width: 1280, height: 800 };
const settings = { 'editor.minimap.enabled': false, 'workbench.editor.enablePreview': false, 'git.decorations.enabled': false, 'workbench.startupEditor': 'none' };

/** Runs a command from the palette by its title. */
async function command(page, title) {
  await page.keyboard.press('F1');
  const input = page.locator('.quick-input-widget input');
  await input.waitFor({ timeout: 15_000 });
  await input.fill(`>${title}`);
  await page.locator('.quick-input-list .monaco-list-row', { hasText: title }).first().waitFor({ timeout: 15_000 });
  await page.keyboard.press('Enter');
}

/** A PNG of the workbench as a user sees it, notifications hidden. */
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
  console.log(`      saved ${path.relative(repoRoot, file)}`);
}

/** Polls the file system (the workbench writes it, not this process) until `file` exists. */
async function fileAppears(file, timeoutMs) {
  const until = Date.now() + timeoutMs;
  while (!fs.existsSync(file)) {
    if (Date.now() > until) throw new Error(`${file} did not appear within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('Editor screens: a newcomer in the npm start workspace', function () {
  this.timeout(180_000);
  let workbench;
  let browser;
  let page;
  let system;

  before(async function () {
    this.timeout(600_000);
    workbench = await startWorkbench({ port: 0, settings, log: () => {} });
    ({ browser, page } = await launchChromium({ viewport }));
    system = path.join(workbench.workspaceDir, 'prompts', 'summarisation', 'v2', 'system.md');
    await page.goto(workbenchUrl(workbench.serverUrl, workbench.workspaceDir, [['skipWelcome', 'true'], ['openFile', remoteUri(workbench.port, system)]]));
    await page.locator('.tabs-container .tab[data-resource-name="system.md"]').first().waitFor({ timeout: 120_000 });
  });

  after(async () => {
    await browser?.close().catch(() => {});
    await workbench?.stop();
  });

  afterEach(async function () {
    if (this.currentTest?.state === 'failed' && page) {
      console.log(`      screenshot of the failure: ${await screenshotInto(page, 'editor-screens').catch((e) => `none (${e.message})`)}`);
    }
  });

  it('opens a clean workspace: no broken/ folder, the broken examples a second named workspace, an empty Problems panel', async () => {
    assert.ok(!fs.existsSync(path.join(workbench.workspaceDir, 'broken')), 'the example workspace has no broken/ folder');
    assert.match(String(workbench.brokenUrl), /broken-examples/);
    // The extension is active once its CodeLens shows; only then does an empty panel mean "no findings".
    await page.locator('.codelens-decoration a', { hasText: 'New Version' }).first().waitFor({ timeout: 90_000 });
    await page.keyboard.press('Control+Shift+M');
    await page.locator('.markers-panel').waitFor({ timeout: 15_000 });
    assert.strictEqual(await page.locator('.markers-panel .monaco-list-row').count(), 0, 'no rows in the Problems panel');
  });

  it('opens the Getting Started walkthrough with its steps', async () => {
    await page.keyboard.press('Control+J'); // the panel closed, so the walkthrough has the room
    await command(page, 'Welcome: Open Walkthrough...');
    await page.locator('.quick-input-list .monaco-list-row', { hasText: 'Get Started with Prompt CI' }).first().waitFor({ timeout: 15_000 });
    await page.keyboard.type('Get Started with Prompt CI');
    await page.keyboard.press('Enter');
    const steps = page.locator('.getting-started-step');
    await steps.filter({ hasText: 'See a mistake caught as you type' }).first().waitFor({ timeout: 30_000 });
    // Every step of the walkthrough in package.json, in the page.
    const manifest = JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8'));
    for (const step of manifest.contributes.walkthroughs[0].steps) {
      assert.ok((await steps.filter({ hasText: step.title }).count()) > 0, `the walkthrough shows "${step.title}"`);
    }
    await steps.filter({ hasText: 'Change a prompt in a new version' }).first().click();
    await page.waitForTimeout(500); // the step's Markdown media fades in
    await shot(page, 'walkthrough.png');
  });

  it('creates v3 from the New Version CodeLens, with version: 3, and opens its system.md', async () => {
    await page.locator('.tabs-container .tab[data-resource-name="system.md"]').first().click();
    await page.locator('.codelens-decoration a', { hasText: 'New Version' }).first().click();
    const v3 = path.join(workbench.workspaceDir, 'prompts', 'summarisation', 'v3');
    await fileAppears(path.join(v3, 'metadata.yaml'), 30_000);
    await page.locator('.tabs-container .tab.active[data-resource-name="system.md"]').first().waitFor({ timeout: 30_000 });
    assert.match(fs.readFileSync(path.join(v3, 'metadata.yaml'), 'utf8'), /^version: 3$/m);
    assert.strictEqual(fs.readFileSync(path.join(v3, 'system.md'), 'utf8'), fs.readFileSync(system, 'utf8'));
    // The active editor is v3's copy: its breadcrumbs name the version's folder.
    const crumbs = page.locator('.editor-group-container.active .monaco-breadcrumbs').first();
    await crumbs.filter({ hasText: 'v3' }).waitFor({ timeout: 15_000 });
    assert.match((await crumbs.innerText()).replace(/\s+/g, ' '), /summarisation.*v3.*system\.md/);
  });

  it('lists a test item per prompt version in the Test Explorer and runs one example of v3', async () => {
    await command(page, 'Testing: Focus on Test Explorer View');
    const tree = page.locator('.test-explorer .monaco-list');
    await tree.locator('.monaco-list-row', { hasText: 'summarisation v3' }).first().waitFor({ timeout: 60_000 });
    const rows = await tree.locator('.monaco-list-row').allInnerTexts();
    for (const version of ['classification v1', 'summarisation v1', 'summarisation v2', 'summarisation v3']) {
      assert.ok(rows.some((t) => t.includes(version)), `${version} in ${JSON.stringify(rows)}`);
    }
    await tree.locator('.monaco-list-row', { hasText: 'summarisation v3' }).first().click();
    await page.keyboard.press('ArrowRight');
    const example = tree.locator('.monaco-list-row[aria-level="2"]').first();
    await example.waitFor({ timeout: 30_000 });
    await example.hover();
    await example.locator('.action-label[aria-label^="Run Test"], .action-label.codicon-testing-run-icon').first().click();
    // The demo server answers; the example gets a result icon when its run ends.
    await example.locator('.codicon-testing-passed-icon, .codicon-testing-failed-icon, .codicon-testing-error-icon').first().waitFor({ timeout: 150_000 });
    assert.strictEqual(await example.locator('.codicon-testing-error-icon').count(), 0, 'the run ended with a verdict, not an error');
    // The one verdict store: the status bar names v3 with the Test Explorer's verdict.
    await page.locator('.statusbar-item', { hasText: /summarisation v3: (pass|blocked|inconclusive)/ }).first().waitFor({ timeout: 15_000 });
    await page.mouse.move(viewport.width - 5, viewport.height / 2);
    await shot(page, 'test-explorer.png');
  });

  it('holds the Gate view in the Prompt CI side bar', async () => {
    await page.locator('.activitybar .action-item .action-label[aria-label^="Prompt CI"]').first().click();
    // Alone in its container, the Gate view has no header of its own: its welcome button shows it.
    await page.locator('.sidebar .composite.title', { hasText: 'PROMPT CI' }).first().waitFor({ timeout: 15_000 });
    await page.locator('.sidebar .welcome-view-content', { hasText: 'Run Pre-PR Gate' }).first().waitFor({ timeout: 15_000 });
    await shot(page, 'prompt-ci-sidebar.png');
  });
});
