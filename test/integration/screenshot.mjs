#!/usr/bin/env node
/**
 * A PNG of the extension at work in VS Code, for the README:
 *
 *   node esbuild.mjs
 *   node test/integration/screenshot.mjs --folder examples/broken --file src/billing/refund_replies.py \
 *     --line 7 --hover --problems --out docs/images/diagnostics.png
 *
 * Opens a git copy of the folder (default examples/) in code-server with the built extension
 * installed (as scripts/start.mjs does), opens the file, waits until the editor shows
 * squiggles, and saves the page.
 *
 * Options:
 *   --file PATH       file to open, relative to the folder (required)
 *   --out PATH        PNG to write (required)
 *   --folder DIR      workspace to copy (default examples/)
 *   --theme NAME      workbench.colorTheme, e.g. "Default Dark Modern", "Default High Contrast"
 *   --size WxH        viewport (default 1280x800)
 *   --line N          put the cursor on line N (1-based)
 *   --wait KIND       error | warning | info | any (default) | none: the squiggle to wait for
 *   --hover           hover the first squiggle and wait for its message
 *   --problems        open the Problems panel too
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { launchChromium } from '../harness/browser.mjs';
import { remoteUri, workbenchUrl } from '../harness/codeServerProcess.mjs';
import { repoRoot } from '../harness/paths.mjs';
import { startWorkbench } from '../../scripts/start.mjs';

function parseArgs(argv) {
  const options = { folder: path.join(repoRoot, 'examples'), size: '1280x800', wait: 'any', hover: false, problems: false };
  const valued = new Set(['--file', '--out', '--folder', '--theme', '--size', '--wait', '--line']);
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (valued.has(arg)) {
      if (argv[i + 1] === undefined) throw new Error(`${arg} needs a value`);
      options[arg.slice(2)] = argv[++i];
    } else if (arg === '--hover') options.hover = true;
    else if (arg === '--problems') options.problems = true;
    else throw new Error(`unknown option ${arg}`);
  }
  if (!options.file || !options.out) throw new Error('usage: screenshot.mjs --file PATH --out PNG [--folder DIR] [--theme NAME] [--size WxH] [--line N] [--wait error|warning|info|any|none] [--hover] [--problems]');
  const size = /^(\d+)x(\d+)$/.exec(options.size);
  if (!size) throw new Error('--size is WIDTHxHEIGHT, e.g. 1280x800');
  options.viewport = { width: Number(size[1]), height: Number(size[2]) };
  if (!['error', 'warning', 'info', 'any', 'none'].includes(options.wait)) throw new Error(`--wait ${options.wait}?`);
  return options;
}

const SQUIGGLE = {
  error: '.squiggly-error',
  warning: '.squiggly-warning',
  info: '.squiggly-info',
  any: '.squiggly-error, .squiggly-warning, .squiggly-info',
};

/**
 * Takes the screenshot; returns the path written.
 * @param {ReturnType<typeof parseArgs>} options
 */
export async function takeScreenshot(options) {
  const folder = path.resolve(options.folder);
  if (!fs.existsSync(path.join(folder, options.file))) throw new Error(`${options.file} is not in ${folder}`);
  const settings = {
    'workbench.colorTheme': options.theme,
    // A README image: no minimap or breadcrumbs crowding the text.
    'editor.minimap.enabled': false,
    'breadcrumbs.enabled': false,
    'workbench.editor.enablePreview': false,
    'git.decorations.enabled': false,
  };
  if (!options.theme) delete settings['workbench.colorTheme'];
  const workbench = await startWorkbench({ folder, port: 0, settings, log: (line) => console.error(line) });
  let browser;
  try {
    let page;
    ({ browser, page } = await launchChromium({ viewport: options.viewport }));
    const file = path.join(workbench.workspaceDir, options.file);
    const payload = [['skipWelcome', 'true']];
    if (options.line) payload.push(['openFile', remoteUri(workbench.port, `${file}:${options.line}:1`)], ['gotoLineMode', 'true']);
    else payload.push(['openFile', remoteUri(workbench.port, file)]);
    await page.goto(workbenchUrl(workbench.serverUrl, workbench.workspaceDir, payload));

    const editor = page.locator('.editor-instance .monaco-editor').first();
    await page.locator(`.tabs-container .tab[data-resource-name="${path.basename(file)}"]`).first().waitFor({ timeout: 60_000 });
    await editor.locator('.view-lines').waitFor({ timeout: 60_000 });
    if (options.wait !== 'none') {
      await editor.locator(SQUIGGLE[options.wait]).first().waitFor({ state: 'attached', timeout: 60_000 });
    }
    if (options.problems) {
      const panel = page.locator('.markers-panel');
      for (let attempt = 0; attempt < 3 && !(await panel.isVisible()); attempt++) {
        await page.keyboard.press('Control+Shift+M');
        await panel.waitFor({ timeout: 5_000 }).catch(() => {});
      }
      await panel.locator('.monaco-list-row').first().waitFor({ timeout: 30_000 });
      // Clear the list's selection (Escape) and focus the editor again, so no row stands out.
      await page.keyboard.press('Escape');
      await page.keyboard.press('Control+1');
    }
    if (options.hover && options.wait !== 'none') {
      const squiggle = editor.locator(SQUIGGLE[options.wait]).first();
      await squiggle.hover({ force: true });
      await page.locator('.monaco-hover .hover-contents, .monaco-hover .marker').first().waitFor({ timeout: 15_000 });
    } else {
      // Park the pointer where no hover or tooltip appears.
      await page.mouse.move(options.viewport.width - 5, options.viewport.height / 2);
    }
    // Toasts (e.g. a git notice) are not part of what the image is about.
    await page.evaluate(() => {
      for (const toasts of document.querySelectorAll('.notifications-toasts')) toasts.style.visibility = 'hidden';
    });
    const out = path.resolve(options.out);
    fs.mkdirSync(path.dirname(out), { recursive: true });
    // Hovers fade in: finish CSS animations first, or the image shows a half-transparent hover.
    await page.screenshot({ path: out, animations: 'disabled' });
    return out;
  } finally {
    await browser?.close().catch(() => {});
    await workbench.stop();
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    const out = await takeScreenshot(parseArgs(process.argv.slice(2)));
    console.log(`Saved ${path.relative(process.cwd(), out)}`);
    process.exit(0);
  } catch (error) {
    console.error(error.message ?? error);
    process.exit(1);
  }
}
