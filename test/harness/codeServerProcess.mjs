/**
 * A code-server's lifetime: started on loopback with quiet settings, ready once `/healthz`
 * answers, stopped with its process group, and ended with this process however that ends.
 * Also the URLs that open a folder (and test payloads) in it.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { ensureCodeServer, entryJs } from './codeServerInstall.mjs';

/**
 * A gallery with no service URL: the server then skips the marketplace lookup it would
 * otherwise log as failed on a machine without internet.
 */
export const QUIET_GALLERY_ENV = { EXTENSIONS_GALLERY: JSON.stringify({ serviceUrl: '' }) };

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
