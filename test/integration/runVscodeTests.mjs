#!/usr/bin/env node
/**
 * Runs the integration suite inside a real VS Code: code-server's Node extension host with
 * the real `vscode` API, its web workbench in headless Chromium driven by playwright-core.
 *
 * Builds nothing: run `node esbuild.mjs` (the extension, dist/extension.js) and compile the
 * suite to out/test/suite/*.js first. Then:
 *
 *   node test/integration/runVscodeTests.mjs
 *
 * What one run does: installs code-server into .cache/ if needed; copies the fixture
 * workspace to a fresh temp dir and makes it a git repo (one commit on `main`); starts
 * code-server with a fresh user-data-dir and an empty extensions dir; opens the workbench
 * with the repo as extensionDevelopmentPath and the suite as extensionTestsPath; prints the
 * extension host's console; exits with the suite's exit code. Each failing test gets a
 * screenshot of the workbench at the moment it failed, in test-results/ (a run that crashes
 * or times out gets one of its last state); a failed run keeps its temp dir (path printed).
 *
 * Environment (all optional):
 *   PROMPT_CI_TEST_WORKSPACE   fixture dir to copy (default test/fixtures/workspace)
 *   PROMPT_CI_TEST_WORKSPACE_FILE  a .code-workspace file inside that dir to open instead of the
 *                              folder (a multi-root workspace)
 *   PROMPT_CI_TEST_SETTINGS    JSON object of user settings, e.g. '{"workbench.colorTheme":"Default High Contrast"}'
 *   PROMPT_CI_TEST_GREP        run only the tests whose title matches (read by suite/index.ts)
 *   PROMPT_CI_TEST_SUITE       extensionTestsPath (default out/test/suite/index.js)
 *   PROMPT_CI_EXTENSION_PATH   extensionDevelopmentPath (default the repo root)
 *   PROMPT_CI_E2E_TIMEOUT_MS   hard limit for the whole run (default 600000)
 *   PROMPT_CI_E2E_PLAYWRIGHT_SCRIPT  a module whose default export runs in the browser
 *                              alongside the tests (see "Browser-side scripts" below)
 *   PROMPT_CI_E2E_KEEP=1       keep the temp dir even on success
 *   PROMPT_CI_E2E_VERBOSE=1    print code-server's own output too
 *   PROMPT_CI_E2E_HEADED=1     show the browser (needs a display)
 *   Every other variable, PROMPT_CI_TEST_* and ANTHROPIC_* included, reaches the extension
 *   host unchanged: it is a child of code-server, which inherits this process's environment.
 *   The runner adds PROMPT_CI_E2E_SIGNAL_DIR and PROMPT_CI_E2E_WORKSPACE for the tests.
 *
 * Browser-side scripts: PROMPT_CI_E2E_PLAYWRIGHT_SCRIPT=path/to/script.mjs, whose
 *
 *   export default async function (page, ctx) { ... }
 *
 * starts once the workbench page is loading and runs at the same time as the in-host tests.
 * `page` is playwright-core's Page. `ctx` holds:
 *   ctx.findWebviewFrame(selector, { timeoutMs })  the webview frame whose document has `selector`
 *   ctx.signal(name, data) / ctx.waitForSignal(name, timeoutMs)   talk to the in-host tests,
 *       whose side is `signal` / `waitForSignal` in test/integration/suite/waitFor.ts
 *   ctx.testsFinished   a promise of the in-host exit code
 *   ctx.workspaceDir, ctx.serverUrl, ctx.resultsDir, ctx.log(...)
 * A typical pair: the host test runs a command, then `await waitForSignal('clicked')`; the
 * script does `const frame = await ctx.findWebviewFrame('#run')`, clicks, `ctx.signal('clicked')`.
 * The run fails if the script throws, or is still running 15 s after the in-host tests end.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { format } from 'node:util';
import { launchChromium } from '../harness/browser.mjs';
import { ensureCodeServer } from '../harness/codeServerInstall.mjs';
import { remoteUri, startCodeServer, workbenchUrl } from '../harness/codeServerProcess.mjs';
import { prepareGitWorkspace } from '../harness/fixtureRepos.mjs';
import { repoRoot } from '../harness/paths.mjs';

export const resultsDir = path.join(repoRoot, 'test-results');
const SCRIPT_GRACE_MS = 15_000;

/**
 * The first frame of the page (webviews are nested iframes) whose document contains
 * `selector`. Webview frames appear and reload as panels open, so this looks again on a
 * short cadence until the timeout.
 * @param {import('playwright-core').Page} page
 * @returns {Promise<import('playwright-core').Frame>}
 */
export async function findWebviewFrame(page, selector, { timeoutMs = 30_000 } = {}) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    for (const frame of page.frames()) {
      if (frame === page.mainFrame() || frame.isDetached()) continue;
      try {
        if (await frame.$(selector)) return frame;
      } catch {
        // navigated or detached while we looked: try the next one
      }
    }
    if (Date.now() > deadline) {
      throw new Error(`No webview frame contains ${selector} after ${timeoutMs} ms (frames: ${page.frames().map((f) => f.url()).join(', ')})`);
    }
    await Promise.race([
      page.waitForEvent('framenavigated', { timeout: 250 }).catch(() => {}),
      page.waitForEvent('frameattached', { timeout: 250 }).catch(() => {}),
    ]);
  }
}

function makeSignals(dir) {
  const file = (name) => {
    if (!/^[A-Za-z0-9_.-]+$/.test(name)) throw new Error(`bad signal name ${JSON.stringify(name)}`);
    return path.join(dir, `${name}.json`);
  };
  return {
    signal(name, data = null) {
      fs.writeFileSync(`${file(name)}.tmp`, JSON.stringify({ data }));
      fs.renameSync(`${file(name)}.tmp`, file(name));
    },
    waitForSignal(name, timeoutMs = 60_000) {
      return new Promise((resolve, reject) => {
        let done = false;
        const check = () => {
          if (done || !fs.existsSync(file(name))) return;
          done = true;
          clearTimeout(timer);
          watcher.close();
          resolve(JSON.parse(fs.readFileSync(file(name), 'utf8')).data);
        };
        const watcher = fs.watch(dir, check);
        const timer = setTimeout(() => {
          if (done) return;
          done = true;
          watcher.close();
          reject(new Error(`Timed out after ${timeoutMs} ms waiting for signal "${name}" from the extension host`));
        }, timeoutMs);
        check();
      });
    },
  };
}

/** Saves a PNG of the page into test-results/ and returns its repo-relative path. */
export async function screenshotInto(page, label) {
  fs.mkdirSync(resultsDir, { recursive: true });
  const file = path.join(resultsDir, `${label}-${new Date().toISOString().replace(/[:.]/g, '-')}.png`);
  await page.screenshot({ path: file, timeout: 10_000 });
  return path.relative(repoRoot, file);
}

/**
 * The workbench's own start-up chatter, which arrives through the same channel as the
 * extension host's console; shown only with PROMPT_CI_E2E_VERBOSE=1.
 */
const WORKBENCH_NOISE =
  /^(Resolving connection token|Resolved connection token|Creating a socket|Ignoring fetching additional builtin extensions|\[Service Worker\]|ChatSessionStore: Migrating 0|Updating additional builtin extensions cache)/;

/** The workbench sends console calls as console.log's arguments (an array, or its JSON). */
function formatAutomationLog(message) {
  let args = message;
  if (typeof message === 'string' && message.startsWith('[')) {
    try {
      args = JSON.parse(message);
    } catch {
      // not JSON: print as it came
    }
  }
  if (Array.isArray(args)) return format(...args);
  return typeof args === 'string' ? args : JSON.stringify(args);
}

function readJsonEnv(name) {
  const raw = process.env[name];
  if (!raw) return {};
  try {
    return JSON.parse(raw);
  } catch (error) {
    throw new Error(`${name} is not valid JSON: ${error.message}`);
  }
}

/**
 * Runs the suite once. Options default to the environment variables above.
 * @returns {Promise<number>} the exit code (0: all tests passed)
 */
export async function runVscodeTests({
  workspace = process.env.PROMPT_CI_TEST_WORKSPACE ?? path.join(repoRoot, 'test', 'fixtures', 'workspace'),
  workspaceFile = process.env.PROMPT_CI_TEST_WORKSPACE_FILE,
  settings = readJsonEnv('PROMPT_CI_TEST_SETTINGS'),
  env = {},
  extensionDevelopmentPath = process.env.PROMPT_CI_EXTENSION_PATH ?? repoRoot,
  extensionTestsPath = process.env.PROMPT_CI_TEST_SUITE ?? path.join(repoRoot, 'out', 'test', 'suite', 'index.js'),
  playwrightScript = process.env.PROMPT_CI_E2E_PLAYWRIGHT_SCRIPT,
  timeoutMs = Number(process.env.PROMPT_CI_E2E_TIMEOUT_MS ?? 600_000),
  label = 'integration',
  keep = process.env.PROMPT_CI_E2E_KEEP === '1',
  verbose = process.env.PROMPT_CI_E2E_VERBOSE === '1',
  headless = process.env.PROMPT_CI_E2E_HEADED !== '1',
  log = (line) => console.log(line),
} = {}) {
  const started = Date.now();
  extensionDevelopmentPath = path.resolve(extensionDevelopmentPath);
  extensionTestsPath = path.resolve(extensionTestsPath);
  const manifest = JSON.parse(fs.readFileSync(path.join(extensionDevelopmentPath, 'package.json'), 'utf8'));
  const mainFile = path.resolve(extensionDevelopmentPath, manifest.main ?? 'dist/extension.js');
  if (!fs.existsSync(mainFile) && !fs.existsSync(`${mainFile}.js`)) {
    throw new Error(`${path.relative(repoRoot, mainFile)} is missing: build the extension first (node esbuild.mjs).`);
  }
  if (!fs.existsSync(extensionTestsPath)) {
    throw new Error(
      `${path.relative(repoRoot, extensionTestsPath)} is missing: compile the suite first, e.g.\n` +
        '  npx esbuild test/integration/suite/*.ts --outdir=out/test/suite --format=cjs --platform=node --external:vscode --external:mocha --bundle',
    );
  }
  const scriptModule = playwrightScript ? await import(pathToFileURL(path.resolve(playwrightScript)).href) : undefined;
  if (scriptModule && typeof scriptModule.default !== 'function') {
    throw new Error(`${playwrightScript} has no default export function (page, ctx)`);
  }

  await ensureCodeServer({ log });
  const tempDir = fs.mkdtempSync(path.join(os.tmpdir(), 'prompt-ci-e2e-'));
  const workspaceDir = path.join(tempDir, 'workspace');
  const signalDir = path.join(tempDir, 'signals');
  fs.mkdirSync(signalDir);
  prepareGitWorkspace(workspace, workspaceDir);

  // Interrupted runs (Ctrl+C, SIGTERM) leave nothing behind; failed runs keep their files.
  let interrupted = false;
  let finished = false;
  const onSignal = () => (interrupted = true);
  const removeIfUnfinished = () => {
    if (!finished) fs.rmSync(tempDir, { recursive: true, force: true });
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('exit', removeIfUnfinished);

  const serverOutput = [];
  let server;
  let browser;
  let page;
  let exitCode = 1;
  // The hard limit counts from here: code-server's start, the browser, the page and the tests.
  let overallTimer;
  let screenshotWatcher;
  const timedOut = new Promise((resolve) => {
    overallTimer = setTimeout(() => resolve('timeout'), timeoutMs);
  });
  const timeoutMessage = `Integration run did not finish within ${timeoutMs / 1000} s (PROMPT_CI_E2E_TIMEOUT_MS).`;
  const beforeDeadline = async (promise) => {
    const outcome = await Promise.race([promise, timedOut]);
    if (outcome === 'timeout') throw new Error(timeoutMessage);
    return outcome;
  };
  try {
    server = await beforeDeadline(startCodeServer({
      userDataDir: path.join(tempDir, 'user-data'),
      extensionsDir: path.join(tempDir, 'extensions'),
      // Tests keep edits unsaved on purpose; a delayed auto-save would write them into the fixture.
      settings: { 'files.autoSave': 'off', ...settings },
      env: { ...env, PROMPT_CI_E2E_SIGNAL_DIR: signalDir, PROMPT_CI_E2E_WORKSPACE: workspaceDir },
      log: (line) => {
        serverOutput.push(line);
        if (serverOutput.length > 300) serverOutput.shift();
        if (verbose) log(`[code-server] ${line}`);
      },
    }));
    ({ browser, page } = await beforeDeadline(launchChromium({ headless })));

    let resolveExit;
    const testsFinished = new Promise((resolve) => (resolveExit = resolve));
    await page.exposeFunction('codeAutomationLog', (type, message) => {
      const text = formatAutomationLog(message);
      if (!verbose && WORKBENCH_NOISE.test(text)) return;
      for (const line of text.replace(/\n$/, '').split('\n')) log(type === 'error' || type === 'warn' ? `[${type}] ${line}` : line);
    });
    await page.exposeFunction('codeAutomationExit', (code) => resolveExit(Number(code)));
    page.on('pageerror', (error) => log(`[workbench page error] ${error.message}`));

    const url = workbenchUrl(server.url, workspaceFile ? path.join(workspaceDir, workspaceFile) : workspaceDir, [
      ['extensionDevelopmentPath', remoteUri(server.port, extensionDevelopmentPath)],
      ['extensionTestsPath', remoteUri(server.port, extensionTestsPath)],
      ['skipWelcome', 'true'],
    ]);
    log(`VS Code (code-server) at ${server.url}, workspace ${workspaceDir}`);

    // Failing in-host tests ask for a screenshot at the moment of failure (suite/index.ts).
    const requested = new Set();
    screenshotWatcher = fs.watch(signalDir, (_event, filename) => {
      if (!filename?.endsWith('.request') || requested.has(filename)) return;
      requested.add(filename);
      const { title } = JSON.parse(fs.readFileSync(path.join(signalDir, filename), 'utf8'));
      const slug = title.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '').slice(0, 80);
      screenshotInto(page, `${label}-${slug}`)
        .then((file) => log(`Screenshot of "${title}": ${file}`), (error) => log(`(no screenshot of "${title}": ${error.message})`))
        .finally(() => fs.writeFileSync(path.join(signalDir, filename.replace(/\.request$/, '.done')), ''));
    });

    const signals = makeSignals(signalDir);
    const ctx = {
      serverUrl: server.url,
      workspaceDir,
      resultsDir,
      testsFinished,
      log: (...parts) => log(`[browser script] ${parts.join(' ')}`),
      findWebviewFrame: (selector, options) => findWebviewFrame(page, selector, options),
      ...signals,
    };

    await beforeDeadline(page.goto(url));
    const scriptRun = scriptModule
      ? Promise.resolve()
          .then(() => scriptModule.default(page, ctx))
          .then(
            () => undefined,
            (error) => error,
          )
      : Promise.resolve(undefined);

    const hostOutcome = await Promise.race([testsFinished, timedOut]);
    if (hostOutcome === 'timeout') {
      log(timeoutMessage);
      exitCode = 1;
    } else {
      exitCode = hostOutcome;
      if (scriptModule) {
        let graceTimer;
        const scriptOutcome = await Promise.race([
          scriptRun.then((error) => ({ error })),
          new Promise((resolve) => (graceTimer = setTimeout(() => resolve({ late: true }), SCRIPT_GRACE_MS))),
        ]);
        clearTimeout(graceTimer);
        if (scriptOutcome.late) {
          log(`The browser-side script ${playwrightScript} was still running ${SCRIPT_GRACE_MS / 1000} s after the tests ended.`);
          exitCode ||= 1;
        } else if (scriptOutcome.error) {
          log(`The browser-side script ${playwrightScript} failed: ${scriptOutcome.error.stack ?? scriptOutcome.error}`);
          exitCode ||= 1;
        }
      }
    }
    if (exitCode !== 0 && requested.size === 0) {
      try {
        log(`Screenshot: ${await screenshotInto(page, label)}`);
      } catch (error) {
        log(`(no screenshot: ${error.message})`);
      }
    }
  } catch (error) {
    exitCode = 1;
    log(`Integration run failed: ${error.stack ?? error}`);
    if (page) await screenshotInto(page, label).then((file) => log(`Screenshot: ${file}`), () => {});
  } finally {
    clearTimeout(overallTimer);
    screenshotWatcher?.close();
    await browser?.close().catch(() => {});
    await server?.stop();
    if (exitCode !== 0 && !verbose && serverOutput.length > 0) {
      log('Last lines of code-server output:');
      for (const line of serverOutput.slice(-40)) log(`  ${line}`);
    }
    finished = true;
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    process.off('exit', removeIfUnfinished);
    if (interrupted) {
      log('Interrupted.');
      fs.rmSync(tempDir, { recursive: true, force: true });
    } else if (exitCode !== 0 || keep) {
      log(`Kept ${tempDir} (workspace, user-data with logs/).`);
    } else {
      fs.rmSync(tempDir, { recursive: true, force: true });
    }
  }
  log(`Integration run ${exitCode === 0 ? 'passed' : `failed (exit code ${exitCode})`} in ${((Date.now() - started) / 1000).toFixed(1)} s.`);
  return exitCode;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  runVscodeTests().then(
    (code) => process.exit(code),
    (error) => {
      console.error(error.message ?? error);
      process.exit(1);
    },
  );
}
