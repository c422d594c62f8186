#!/usr/bin/env node
/**
 * Real VS Code for tests, screenshots and `start`: code-server from the npm registry.
 *
 * `@vscode/test-electron` downloads VS Code from Microsoft's servers, which CI machines
 * without internet cannot reach; code-server is VS Code's own server and web workbench,
 * published on npm. Its postinstall fails on such machines, so `ensureCodeServer()` runs
 * the install in the documented steps, into `.cache/code-server/` (gitignored), once.
 *
 * Library:
 *   ensureCodeServer({ log })                      -> { entryJs, version }
 *   startCodeServer({ userDataDir, extensionsDir, port, env, settings, folder, log })
 *                                                  -> { url, port, process, stop() }
 *   installVsix(vsixPath, extensionsDir)           -> installs like a user would
 *   freeLoopbackPort()                             -> a port nobody listens on right now
 *
 * CLI:
 *   node scripts/codeServer.mjs install            install (or confirm) the cached copy
 *   node scripts/codeServer.mjs path               print the entry.js path
 */
import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const CODE_SERVER_VERSION = '4.100.3';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const cacheDir = path.join(repoRoot, '.cache', 'code-server');
export const codeServerDir = path.join(cacheDir, 'node_modules', 'code-server');
export const entryJs = path.join(codeServerDir, 'out', 'node', 'entry.js');
const vscodeDir = path.join(codeServerDir, 'lib', 'vscode');
// Written last: its presence means every step below finished.
const markerFile = path.join(cacheDir, `installed-${CODE_SERVER_VERSION}.json`);
const lockDir = path.join(repoRoot, '.cache', 'code-server.lock');
const installLog = path.join(repoRoot, '.cache', 'code-server-install.log');

/**
 * A gallery with no service URL: the server then skips the marketplace lookup it would
 * otherwise log as failed on a machine without internet.
 */
export const QUIET_GALLERY_ENV = { EXTENSIONS_GALLERY: JSON.stringify({ serviceUrl: '' }) };

/** True when the cached install is complete. */
export function isCodeServerInstalled() {
  return fs.existsSync(markerFile) && fs.existsSync(entryJs);
}

/** Absolute path of a program on PATH, or undefined. */
export function which(program) {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, program);
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      if (fs.statSync(candidate).isFile()) return candidate;
    } catch {
      // not in this directory
    }
  }
  return undefined;
}

/**
 * Checks what the install needs from the system, naming the Debian package to add.
 * Checked by file rather than by dpkg so that other distributions with the same files pass.
 */
function checkSystemPrerequisites() {
  const missing = [];
  if (!which('rg')) missing.push('ripgrep (provides rg; the install links it instead of downloading one)');
  if (!fs.existsSync('/usr/include/gssapi/gssapi.h') && !which('krb5-config')) {
    missing.push('libkrb5-dev (Kerberos headers for the native module "kerberos")');
  }
  if (!which('python3')) missing.push('python3 (node-gyp)');
  if (!which('make')) missing.push('make (node-gyp)');
  if (!which('g++') && !which('c++')) missing.push('g++ (node-gyp)');
  if (!which('git')) missing.push('git');
  if (missing.length > 0) {
    throw new Error(
      'code-server cannot be installed: missing Debian package(s):\n' +
        missing.map((m) => `  - ${m}`).join('\n') +
        '\nInstall them with: apt-get update && apt-get install -y ' +
        missing.map((m) => m.split(' ')[0]).join(' '),
    );
  }
}

function run(log, step, cwd, command, args, extraEnv = {}) {
  const started = Date.now();
  log(`  [${step}] ${path.relative(repoRoot, cwd) || '.'}$ ${command} ${args.join(' ')}`);
  fs.appendFileSync(installLog, `\n\n### ${step}: (cwd ${cwd}) ${command} ${args.join(' ')}\n`);
  return new Promise((resolve, reject) => {
    const out = fs.openSync(installLog, 'a');
    const child = spawn(command, args, {
      cwd,
      env: { ...process.env, ...extraEnv },
      stdio: ['ignore', out, out],
    });
    child.on('error', (error) => {
      fs.closeSync(out);
      reject(error);
    });
    child.on('exit', (code, signal) => {
      fs.closeSync(out);
      if (code === 0) {
        log(`        done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
        resolve();
        return;
      }
      const tail = fs.readFileSync(installLog, 'utf8').split('\n').slice(-40).join('\n');
      reject(
        new Error(
          `code-server install step "${step}" failed (${signal ?? `exit code ${code}`}).\n` +
            `Last lines of ${path.relative(repoRoot, installLog)}:\n${tail}`,
        ),
      );
    });
  });
}

/** Creates (or replaces) a symbolic link `linkPath` -> `target`, like `ln -sfn`. */
function symlinkForce(target, linkPath) {
  try {
    fs.rmSync(linkPath, { force: true, recursive: false });
  } catch {
    // a directory there: leave it to symlinkSync to report
  }
  fs.symlinkSync(target, linkPath);
}

function processAlive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return error.code === 'EPERM';
  }
}

/**
 * Serialises installs across processes (several test runs may start at once): `mkdir` is
 * atomic; a lock whose owner died is taken over.
 */
async function withInstallLock(log, body) {
  fs.mkdirSync(path.dirname(lockDir), { recursive: true });
  let announced = false;
  for (;;) {
    try {
      fs.mkdirSync(lockDir);
      fs.writeFileSync(path.join(lockDir, 'pid'), String(process.pid));
      break;
    } catch (error) {
      if (error.code !== 'EEXIST') throw error;
      let owner = NaN;
      try {
        owner = Number(fs.readFileSync(path.join(lockDir, 'pid'), 'utf8'));
      } catch {
        // the owner is between mkdir and writing its pid
      }
      if (Number.isInteger(owner) && owner > 0 && !processAlive(owner)) {
        fs.rmSync(lockDir, { recursive: true, force: true });
        continue;
      }
      if (!announced) {
        log(`Another process (pid ${owner}) is installing code-server; waiting for it.`);
        announced = true;
      }
      // Waiting for another process has no event to listen to; check twice a second.
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }
  try {
    return await body();
  } finally {
    fs.rmSync(lockDir, { recursive: true, force: true });
  }
}

/**
 * Installs code-server into `.cache/code-server/` unless the marker says it is complete.
 * Idempotent: a half-finished install is redone step by step (each step is safe to repeat).
 * @returns {Promise<{ entryJs: string, version: string }>}
 */
export async function ensureCodeServer({ log = (line) => console.log(line) } = {}) {
  if (isCodeServerInstalled()) return { entryJs, version: CODE_SERVER_VERSION };
  checkSystemPrerequisites();
  return withInstallLock(log, async () => {
    if (isCodeServerInstalled()) return { entryJs, version: CODE_SERVER_VERSION };
    const started = Date.now();
    log(`Installing code-server ${CODE_SERVER_VERSION} into ${path.relative(repoRoot, cacheDir)}/ (a few minutes, once).`);
    log(`  full output: ${path.relative(repoRoot, installLog)}`);
    fs.mkdirSync(cacheDir, { recursive: true });
    fs.writeFileSync(installLog, `code-server ${CODE_SERVER_VERSION} install, ${new Date().toISOString()}\n`);
    // Its own package.json, so npm installs here and not into the repository's node_modules.
    fs.writeFileSync(
      path.join(cacheDir, 'package.json'),
      JSON.stringify({ name: 'prompt-ci-code-server-cache', private: true, description: 'code-server for integration tests; see scripts/codeServer.mjs' }, null, 2) + '\n',
    );
    // The npmrc may say yes=false; node-pty's install script runs `npx node-gyp`.
    const yes = { npm_config_yes: 'true' };

    await run(log, '1/7 code-server without install scripts', cacheDir, 'npm', [
      'install', '--ignore-scripts', '--no-audit', '--no-fund', `code-server@${CODE_SERVER_VERSION}`,
    ]);
    await run(log, "2/7 VS Code's dependencies", vscodeDir, 'npm', [
      'install', '--unsafe-perm', '--omit=dev', '--ignore-scripts', '--no-audit', '--no-fund',
    ]);

    log("  [3/7] link Debian's rg where @vscode/ripgrep would download one");
    const rgBin = path.join(vscodeDir, 'node_modules', '@vscode', 'ripgrep', 'bin');
    fs.mkdirSync(rgBin, { recursive: true });
    symlinkForce(which('rg'), path.join(rgBin, 'rg'));

    await run(log, '4/7 rebuild native modules', vscodeDir, 'npm', ['rebuild', '--unsafe-perm'], yes);

    log('  [5/7] links code-server expects from its release build');
    symlinkForce('node_modules', path.join(vscodeDir, 'node_modules.asar'));
    symlinkForce('code-linux.sh', path.join(vscodeDir, 'bin', 'remote-cli', 'code-server'));
    symlinkForce('browser-linux.sh', path.join(vscodeDir, 'bin', 'helpers', 'browser.sh'));

    await run(log, '6/7 built-in extensions', path.join(vscodeDir, 'extensions'), 'npm', [
      'install', '--unsafe-perm', '--omit=dev', '--no-audit', '--no-fund',
    ]);
    await run(log, '7/7 rebuild code-server (argon2)', cacheDir, 'npm', ['rebuild', '--unsafe-perm'], yes);

    if (!fs.existsSync(entryJs)) throw new Error(`code-server install finished but ${entryJs} is missing`);
    const seconds = (Date.now() - started) / 1000;
    fs.writeFileSync(
      markerFile,
      JSON.stringify({ version: CODE_SERVER_VERSION, node: process.version, installedAt: new Date().toISOString(), seconds }, null, 2) + '\n',
    );
    log(`code-server ${CODE_SERVER_VERSION} installed in ${seconds.toFixed(0)} s.`);
    return { entryJs, version: CODE_SERVER_VERSION };
  });
}

/** A TCP port free on 127.0.0.1 at the time of the call. */
export function freeLoopbackPort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** True if something accepts connections on 127.0.0.1:port. */
export function isPortInUse(port) {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** Writes `<userDataDir>/User/settings.json` (code-server keeps user settings server-side). */
export function writeUserSettings(userDataDir, settings) {
  const userDir = path.join(userDataDir, 'User');
  fs.mkdirSync(userDir, { recursive: true });
  fs.writeFileSync(path.join(userDir, 'settings.json'), JSON.stringify(settings, null, 2) + '\n');
}

/**
 * Settings for a calm, reproducible workbench: no welcome page, no tips, no telemetry
 * prompts, no git auto-fetch. Callers merge their own over these.
 */
export const QUIET_SETTINGS = {
  'workbench.startupEditor': 'none',
  'workbench.tips.enabled': false,
  'workbench.enableExperiments': false,
  'telemetry.telemetryLevel': 'off',
  'update.mode': 'none',
  'extensions.autoUpdate': false,
  'extensions.autoCheckUpdates': false,
  'extensions.ignoreRecommendations': true,
  'git.autofetch': false,
  'git.openRepositoryInParentFolders': 'never',
  'security.workspace.trust.enabled': false,
  'chat.disableAIFeatures': true,
  // Local servers (the Anthropic stand-in, test servers) are not ports to forward.
  'remote.autoForwardPorts': false,
};

/**
 * Starts code-server on loopback and resolves once `/healthz` answers.
 *
 * The extension host is a child of this server and inherits `env`: that is how tests pass
 * PROMPT_CI_TEST_* variables (or ANTHROPIC_BASE_URL) to the extension.
 *
 * @param {object} options
 * @param {string} options.userDataDir   fresh per run; `settings` are written into it
 * @param {string} options.extensionsDir user extensions (empty dir for development runs)
 * @param {number} [options.port=0]      0 picks a free loopback port
 * @param {Record<string,string>} [options.env] added to this process's environment
 * @param {Record<string,unknown>} [options.settings] user settings (merged over QUIET_SETTINGS)
 * @param {string[]} [options.args]      extra code-server arguments
 * @param {(line: string) => void} [options.log] receives the server's output lines
 * @param {number} [options.timeoutMs=60000]
 * @returns {Promise<{ url: string, port: number, process: import('node:child_process').ChildProcess, stop: () => Promise<void> }>}
 */
export async function startCodeServer({
  userDataDir,
  extensionsDir,
  port = 0,
  env = {},
  settings = {},
  args = [],
  log = () => {},
  timeoutMs = 60_000,
}) {
  if (!userDataDir || !extensionsDir) throw new Error('startCodeServer needs userDataDir and extensionsDir');
  await ensureCodeServer();
  fs.mkdirSync(userDataDir, { recursive: true });
  fs.mkdirSync(extensionsDir, { recursive: true });
  writeUserSettings(userDataDir, { ...QUIET_SETTINGS, ...settings });
  // An explicit config file keeps code-server from creating ~/.config/code-server/config.yaml.
  const configFile = path.join(userDataDir, 'code-server.yaml');
  fs.writeFileSync(configFile, 'auth: none\ncert: false\n');
  const chosenPort = port || (await freeLoopbackPort());

  const child = spawn(
    process.execPath,
    [
      entryJs,
      '--config', configFile,
      '--auth', 'none',
      '--bind-addr', `127.0.0.1:${chosenPort}`,
      '--disable-telemetry',
      '--disable-update-check',
      '--disable-workspace-trust',
      '--disable-getting-started-override',
      '--user-data-dir', userDataDir,
      '--extensions-dir', extensionsDir,
      ...args,
    ],
    {
      env: { ...process.env, ...QUIET_GALLERY_ENV, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
      // Own process group: stop() ends the server with its extension host and watchers.
      detached: true,
    },
  );
  liveServers.add(child);
  installCleanupHandlers();

  let exited = false;
  const exitPromise = new Promise((resolve) => {
    child.on('exit', (code, signal) => {
      exited = true;
      liveServers.delete(child);
      resolve({ code, signal });
    });
  });
  const recent = [];
  let onListening;
  const listening = new Promise((resolve) => (onListening = resolve));
  for (const stream of [child.stdout, child.stderr]) {
    let buffered = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk) => {
      buffered += chunk;
      const lines = buffered.split('\n');
      buffered = lines.pop();
      for (const line of lines) {
        recent.push(line);
        if (recent.length > 60) recent.shift();
        log(line);
        if (/HTTP server listening on/.test(line)) onListening();
      }
    });
  }

  const url = `http://127.0.0.1:${chosenPort}`;
  const stop = async () => {
    if (exited) return;
    killGroup(child, 'SIGTERM');
    const timer = setTimeout(() => killGroup(child, 'SIGKILL'), 5000);
    await exitPromise;
    clearTimeout(timer);
  };

  const ready = (async () => {
    await listening;
    // The log line comes when the socket listens; /healthz confirms it serves HTTP.
    const response = await fetch(`${url}/healthz`);
    if (!response.ok) throw new Error(`code-server /healthz answered ${response.status}`);
  })();
  let timer;
  const outcome = await Promise.race([
    ready.then(() => 'ready'),
    exitPromise.then(({ code, signal }) => `exited (${signal ?? `code ${code}`})`),
    new Promise((resolve) => (timer = setTimeout(() => resolve(`not serving after ${timeoutMs / 1000} s`), timeoutMs))),
  ]);
  clearTimeout(timer);
  if (outcome !== 'ready') {
    await stop();
    throw new Error(`code-server ${outcome}. Its last output:\n${recent.join('\n')}`);
  }
  return { url, port: chosenPort, process: child, stop };
}

/** Servers not yet stopped; ended with this process however it ends. */
const liveServers = new Set();
let cleanupHandlersInstalled = false;

/**
 * code-server runs in its own process group (so its extension host and watchers can be
 * stopped with it), which also means Ctrl+C in a terminal does not reach it. These handlers
 * end every live server when this process exits or is signalled. Ending the process itself
 * is left to other listeners (start.mjs, Playwright's); without one it exits within 2 s
 * as the signal would have made it.
 */
function installCleanupHandlers() {
  if (cleanupHandlersInstalled) return;
  cleanupHandlersInstalled = true;
  const killAll = () => {
    for (const child of liveServers) killGroup(child, 'SIGKILL');
  };
  process.on('exit', killAll);
  for (const [signal, number] of [['SIGINT', 2], ['SIGTERM', 15], ['SIGHUP', 1]]) {
    process.on(signal, () => {
      killAll();
      setTimeout(() => process.exit(128 + number), 2000).unref();
    });
  }
}

function killGroup(child, signal) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    try {
      child.kill(signal);
    } catch {
      // already gone
    }
  }
}

/**
 * Installs a .vsix into `extensionsDir` the way a user does (`code-server --install-extension`).
 */
export async function installVsix(vsixPath, extensionsDir, { userDataDir } = {}) {
  await ensureCodeServer();
  fs.mkdirSync(extensionsDir, { recursive: true });
  const scratch = userDataDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'prompt-ci-install-'));
  fs.mkdirSync(scratch, { recursive: true });
  const configFile = path.join(scratch, 'code-server.yaml');
  if (!fs.existsSync(configFile)) fs.writeFileSync(configFile, 'auth: none\ncert: false\n');
  try {
    return execFileSync(
      process.execPath,
      [
        entryJs,
        '--config', configFile,
        '--user-data-dir', scratch,
        '--extensions-dir', extensionsDir,
        '--install-extension', path.resolve(vsixPath),
        '--force',
      ],
      { env: { ...process.env, ...QUIET_GALLERY_ENV }, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] },
    );
  } catch (error) {
    throw new Error(`Installing ${vsixPath} failed:\n${error.stdout ?? ''}${error.stderr ?? ''}`);
  } finally {
    if (!userDataDir) fs.rmSync(scratch, { recursive: true, force: true });
  }
}

/** A `vscode-remote://` URI for a path on the code-server machine (payload arguments need them). */
export function remoteUri(port, absolutePath) {
  return `vscode-remote://127.0.0.1:${port}${pathToFileURL(absolutePath).pathname}`;
}

/**
 * The workbench URL opening `folder`, with optional payload entries
 * (e.g. [['extensionDevelopmentPath', remoteUri(...)], ['skipWelcome', 'true']]).
 */
export function workbenchUrl(serverUrl, folder, payload) {
  // Slashes stay readable: the printed URL shows the folder it opens. A `.code-workspace` file
  // opens as a (multi-root) workspace.
  const kind = folder.endsWith('.code-workspace') ? 'workspace' : 'folder';
  let url = `${serverUrl}/?${kind}=${encodeURIComponent(folder).replace(/%2F/g, '/')}`;
  if (payload && payload.length > 0) url += `&payload=${encodeURIComponent(JSON.stringify(payload))}`;
  return url;
}

/**
 * Copies `sourceDir` to `destDir` and makes it a git repository with one commit on `main`,
 * so the git features (baseline refs, replay at a commit) have history to read.
 * With `featureBranch: { name, paths, message }`, `main` gets everything but `paths` (repo-relative)
 * and a branch `name` checked out on top of it adds them, as when a change is under review: the
 * baseline (main) then lacks what the branch adds.
 * @returns {string} the commit SHA of HEAD
 */
export function prepareGitWorkspace(sourceDir, destDir, { message = 'Fixture workspace', featureBranch } = {}) {
  if (!fs.existsSync(sourceDir)) throw new Error(`No workspace to copy at ${sourceDir}`);
  fs.mkdirSync(path.dirname(destDir), { recursive: true });
  fs.cpSync(sourceDir, destDir, { recursive: true });
  const git = (...args) => execFileSync('git', args, { cwd: destDir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
  git('init', '--quiet', '--initial-branch=main');
  // Local identity: commits made by the tests themselves must work on any machine.
  git('config', 'user.name', 'Prompt CI Tests');
  git('config', 'user.email', 'tests@prompt-ci.invalid');
  git('config', 'commit.gpgsign', 'false');
  git('add', '--all');
  for (const held of featureBranch?.paths ?? []) git('reset', '--quiet', '--', held);
  git('commit', '--quiet', '--no-verify', '-m', message);
  if (featureBranch) {
    git('checkout', '--quiet', '-b', featureBranch.name);
    git('add', '--all');
    git('commit', '--quiet', '--no-verify', '-m', featureBranch.message ?? `Add ${featureBranch.paths.join(', ')}`);
  }
  return git('rev-parse', 'HEAD');
}

/** Chromium flags for a headless workbench on a machine without a GPU or network. */
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-dev-shm-usage',
];

/**
 * Launches the system Chromium (Debian package `chromium`) through playwright-core and
 * opens a page. CHROMIUM_PATH overrides the executable.
 * @returns {Promise<{ browser: import('playwright-core').Browser, page: import('playwright-core').Page }>}
 */
export async function launchChromium({ viewport = { width: 1400, height: 900 }, headless = true } = {}) {
  const executablePath = process.env.CHROMIUM_PATH ?? which('chromium') ?? which('chromium-browser');
  if (!executablePath) throw new Error('Chromium not found: install the Debian package "chromium" (or set CHROMIUM_PATH).');
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({ executablePath, headless, args: CHROMIUM_ARGS });
  const context = await browser.newContext({ viewport, deviceScaleFactor: 1 });
  const page = await context.newPage();
  return { browser, page };
}

async function main(argv) {
  const [command] = argv;
  if (command === 'install') {
    const started = Date.now();
    const already = isCodeServerInstalled();
    await ensureCodeServer();
    console.log(
      already
        ? `code-server ${CODE_SERVER_VERSION} is already installed in ${path.relative(repoRoot, cacheDir)}/ (checked in ${Date.now() - started} ms).`
        : `Ready: ${path.relative(repoRoot, entryJs)}`,
    );
  } else if (command === 'path') {
    await ensureCodeServer({ log: (line) => console.error(line) });
    console.log(entryJs);
  } else {
    console.error('usage: node scripts/codeServer.mjs install | path');
    process.exitCode = 2;
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).catch((error) => {
    console.error(error.message ?? error);
    process.exit(1);
  });
}
