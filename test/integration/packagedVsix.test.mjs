/**
 * The .vsix a user installs, in a real VS Code: packaged from the repository with
 * `npm run package` (so the .vscodeignore allow-list and the bundle are what is tested),
 * installed with `code-server --install-extension`, then opened on a workspace with a
 * broken metadata.yaml. No extensionDevelopmentPath: VS Code finds the extension the way
 * it finds any installed one, and activation is seen from the browser, in the Problems panel.
 *
 *   node esbuild.mjs && node test/integration/packagedVsix.test.mjs
 *
 * (`npx mocha test/integration/packagedVsix.test.mjs` works too.)
 *
 * PROMPT_CI_VSIX=path/to/prompt-ci.vsix tests an existing package instead of packaging.
 */
import assert from 'node:assert';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { launchChromium } from '../harness/browser.mjs';
import { ensureCodeServer } from '../harness/codeServerInstall.mjs';
import { startCodeServer, workbenchUrl } from '../harness/codeServerProcess.mjs';
import { prepareGitWorkspace } from '../harness/fixtureRepos.mjs';
import { repoRoot } from '../harness/paths.mjs';
import { installVsix } from '../harness/vsixInstall.mjs';
import { screenshotInto } from './runVscodeTests.mjs';

const execFileAsync = promisify(execFile);
const manifest = JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8'));
const extensionId = `${manifest.publisher}.${manifest.name}`.toLowerCase();

async function packageVsix(outDir) {
  const vsix = path.join(outDir, `${manifest.name}.vsix`);
  try {
    // The project's own package script (`vsce package ...`), with only the output file added.
    await execFileAsync('npm', ['run', '--silent', 'package', '--', '-o', vsix], { cwd: repoRoot, maxBuffer: 16 * 1024 * 1024 });
  } catch (error) {
    throw new Error(`vsce package failed:\n${error.stdout ?? ''}${error.stderr ?? ''}`);
  }
  return vsix;
}

function defineTests() {
  describe('the packaged extension (.vsix) in VS Code', function () {
    this.timeout(10 * 60_000);

    let tempDir;
    let server;
    let browser;
    let page;
    let extensionsDir;
    let failed = false;

    before(async function () {
      await ensureCodeServer();
      tempDir = fs.mkdtempSync(path.join(os.tmpdir(), 'prompt-ci-vsix-'));
      const vsix = process.env.PROMPT_CI_VSIX ? path.resolve(process.env.PROMPT_CI_VSIX) : await packageVsix(tempDir);
      extensionsDir = path.join(tempDir, 'extensions');
      await installVsix(vsix, extensionsDir);

      // The fixture with one deliberate contract error: the version differs from its v1 directory.
      const workspaceDir = path.join(tempDir, 'workspace');
      prepareGitWorkspace(path.join(repoRoot, 'test', 'fixtures', 'workspace'), workspaceDir);
      const metadata = path.join(workspaceDir, 'prompts', 'demo', 'v1', 'metadata.yaml');
      fs.writeFileSync(metadata, fs.readFileSync(metadata, 'utf8').replace(/^version: 1$/m, 'version: 2'));

      server = await startCodeServer({ userDataDir: path.join(tempDir, 'user-data'), extensionsDir });
      ({ browser, page } = await launchChromium());
      try {
        await page.goto(workbenchUrl(server.url, workspaceDir));
        await page.locator('.monaco-workbench .part.statusbar').waitFor({ timeout: 60_000 });
      } catch (error) {
        failed = true;
        throw error;
      }
    });

    afterEach(function () {
      if (this.currentTest?.state === 'failed') failed = true;
    });

    after(async function () {
      if (failed && page) {
        await screenshotInto(page, 'packaged-vsix').then((file) => console.log(`Screenshot: ${file}`), () => {});
      }
      await browser?.close().catch(() => {});
      await server?.stop();
      if (tempDir && !failed) fs.rmSync(tempDir, { recursive: true, force: true });
      else if (tempDir) console.log(`Kept ${tempDir}`);
    });

    it(`installs as ${extensionId}-${manifest.version}`, () => {
      const installed = JSON.parse(fs.readFileSync(path.join(extensionsDir, 'extensions.json'), 'utf8'));
      assert.deepStrictEqual(
        installed.map((entry) => `${entry.identifier.id}@${entry.version}`),
        [`${extensionId}@${manifest.version}`],
      );
      const folder = path.join(extensionsDir, `${extensionId}-${manifest.version}`);
      assert.ok(fs.existsSync(path.join(folder, manifest.main)), `${manifest.main} is not in the package`);
      // The index worker runs from its own bundle, next to the extension's.
      assert.ok(fs.existsSync(path.join(folder, 'dist', 'indexWorker.js')), 'dist/indexWorker.js is not in the package');
    });

    it('activates on the workspace and shows its diagnostic in the Problems panel', async () => {
      const panel = page.locator('.markers-panel');
      // The shortcut of "View: Toggle Problems"; pressed again if the first press reached the
      // workbench before its keybindings were ready.
      for (let attempt = 0; attempt < 3 && !(await panel.isVisible()); attempt++) {
        await page.keyboard.press('Control+Shift+M');
        await panel.waitFor({ timeout: 5_000 }).catch(() => {});
      }
      const row = panel.locator('.monaco-list-row', { hasText: 'prompt-ci' }).first();
      await row.waitFor({ timeout: 60_000 });
      const text = await row.innerText();
      assert.match(text, /prompt-ci/);
      assert.match(text, /version/i);
      const files = await panel.locator('.monaco-list-row .file-icon, .monaco-list-row .label-name').allInnerTexts();
      assert.ok(files.some((name) => name.includes('metadata.yaml')), `no metadata.yaml group in the Problems panel: ${files.join(', ')}`);
    });
  });
}

if (typeof describe === 'function') {
  // Loaded by mocha, which has defined describe/it.
  defineTests();
} else {
  // Run with plain node: mocha's API, with its globals set up for this file.
  const { default: Mocha } = await import('mocha');
  const mocha = new Mocha({ ui: 'bdd', reporter: 'spec', timeout: 10 * 60_000 });
  mocha.suite.emit('pre-require', globalThis, fileURLToPath(import.meta.url), mocha);
  defineTests();
  mocha.run((failures) => process.exit(failures > 0 ? 1 : 0));
}
