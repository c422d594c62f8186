#!/usr/bin/env node
/**
 * Try the extension in a real VS Code in your browser:
 *
 *   node esbuild.mjs && node scripts/start.mjs
 *
 * Starts code-server (VS Code's server and web workbench, installed into .cache/ on first
 * use) on 127.0.0.1 with this repository's build as an installed extension, on a copy of
 * examples/ that is a git repository, and prints the URL to open. Builds nothing: run
 * `node esbuild.mjs` first (again after a change, then "Developer: Reload Window").
 *
 * Options:
 *   --port N          port (default: $PORT, else 8080; a free one if that is taken)
 *   --folder DIR      the workspace to copy (default examples/)
 *   --vsix            install the packaged .vsix (npm run package) instead of linking the repo
 *   --no-stand-in     use the real Anthropic API (your ANTHROPIC_API_KEY / ANTHROPIC_BASE_URL)
 *   --stand-in        use the demo server even when ANTHROPIC_API_KEY is set
 *
 * Model calls go to the project's deterministic stand-in for the Anthropic API (the results
 * panel says so) unless ANTHROPIC_API_KEY is set in this shell: then to the real API.
 * The example workspace is a repository whose `main` has summarisation v1 and classification
 * v1, with summarisation v2 on a branch `improve-summaries` checked out on top: the change
 * under review, whose baseline is v1 on main. Its service, app/, renders summarisation through
 * prompt-ci/runtime (this build's dist/runtime.js) against the workspace's embedded control plane
 * (.prompt-ci/control/, migrated here, with v1 serving 100%): `cd app && npm run traffic` in
 * VS Code's terminal sends its traffic (README: "The whole loop").
 *   --print-url-only  print only the URL on stdout (for scripts); still serves until stopped
 *
 * Ctrl+C stops everything and removes the temporary copy.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureCodeServer } from '../test/harness/codeServerInstall.mjs';
import { isPortInUse, startCodeServer, workbenchUrl } from '../test/harness/codeServerProcess.mjs';
import { linkDemoApp, prepareDemoControlPlane } from '../test/harness/demoApp.mjs';
import { prepareGitWorkspace } from '../test/harness/fixtureRepos.mjs';
import { repoRoot } from '../test/harness/paths.mjs';
import { installVsix } from '../test/harness/vsixInstall.mjs';

const manifest = JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8'));
/** Where `start` keeps the extension VS Code loads: gitignored, recreated on each start. */
const startExtensionsDir = path.join(repoRoot, '.cache', 'start', 'extensions');

/**
 * Makes the extension visible to code-server as an installed one. code-server's browser
 * sessions have no extensionDevelopmentPath, so the repo is linked into the extensions dir
 * under the folder name an install would use (or, with `vsix`, the packaged file is
 * installed the way a user installs it).
 */
export async function installExtensionForStart({ vsix = false, extensionsDir = startExtensionsDir, log = console.log } = {}) {
  fs.rmSync(extensionsDir, { recursive: true, force: true });
  fs.mkdirSync(extensionsDir, { recursive: true });
  if (vsix) {
    const file = path.join(path.dirname(extensionsDir), `${manifest.name}.vsix`);
    log('Packaging the extension (npm run package)...');
    // The project's own package script, so `start --vsix` runs the package a release ships.
    execFileSync('npm', ['run', '--silent', 'package', '--', '-o', file], {
      cwd: repoRoot,
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    await installVsix(file, extensionsDir);
  } else {
    fs.symlinkSync(repoRoot, path.join(extensionsDir, `${manifest.publisher}.${manifest.name}-${manifest.version}`), 'dir');
  }
  return extensionsDir;
}

/**
 * Environment for the extension host (a child of code-server). A local Anthropic stand-in
 * answers the eval calls, so the demo needs no key and no network, unless `standIn` is false,
 * or undefined with ANTHROPIC_API_KEY set (a real key means the real API).
 * @returns {Promise<{ env: Record<string,string>, close: () => Promise<void>, description: string }>}
 */
export async function demoEnvironment({ standIn, env = process.env } = {}) {
  // ---- Anthropic stand-in for the demo: ANTHROPIC_BASE_URL / PROMPT_CI_DEMO ----
  if (standIn === false) return { env: {}, close: async () => {}, description: 'the real Anthropic API (your ANTHROPIC_* environment)' };
  if (standIn === undefined && env.ANTHROPIC_API_KEY) {
    return { env: {}, close: async () => {}, description: 'the real Anthropic API: ANTHROPIC_API_KEY is set (--stand-in uses the demo server instead)' };
  }
  const source = path.join(repoRoot, 'test', 'support', 'standIn', 'server.ts');
  if (!fs.existsSync(source)) return { env: {}, close: async () => {}, description: 'no stand-in (test/support/standIn/server.ts not found)' };
  const { tsImport } = await import('tsx/esm/api');
  const { startStandIn } = await tsImport(source, import.meta.url);
  const apiKey = 'prompt-ci-demo-key';
  const server = await startStandIn({ port: 0, apiKey });
  return {
    env: { ANTHROPIC_BASE_URL: server.url, ANTHROPIC_API_KEY: apiKey, PROMPT_CI_DEMO: '1' },
    close: () => server.close(),
    description: `the demo server at ${server.url}: the project's deterministic stand-in for the Anthropic API, not a model (set ANTHROPIC_API_KEY for the real API)`,
  };
  // ---- end of the stand-in section ----
}

async function choosePort(requested) {
  if (requested !== undefined) return requested;
  const preferred = Number(process.env.PORT ?? 8080);
  return (await isPortInUse(preferred)) ? 0 : preferred;
}

/** The folder name of the second workspace: what it is, in its name. */
export const BROKEN_WORKSPACE_NAME = 'broken-examples-with-findings-on-purpose';

/** Copies `from` to `to` without the top-level entries named in `skip`. */
function copyWithout(from, to, skip) {
  fs.cpSync(from, to, { recursive: true, filter: (src) => !skip.includes(path.relative(from, src).split(path.sep)[0]) });
  return to;
}

/**
 * Starts code-server on a fresh git copy of `folder` with the extension installed.
 * Used by `start` and by test/integration/screenshot.mjs.
 * @returns {Promise<{ url: string, serverUrl: string, port: number, workspaceDir: string, stop: () => Promise<void> }>}
 */
export async function startWorkbench({
  folder = path.join(repoRoot, 'examples'),
  port,
  vsix = false,
  standIn,
  settings = {},
  /** For examples/: migrate the embedded control plane and record v1 at 100% (takes a while). */
  controlPlane = true,
  log = console.log,
} = {}) {
  const mainFile = path.resolve(repoRoot, manifest.main);
  if (!fs.existsSync(mainFile)) throw new Error(`${manifest.main} is missing: build first with \`node esbuild.mjs\`.`);
  await ensureCodeServer({ log });
  const tempDir = fs.mkdtempSync(path.join(os.tmpdir(), 'prompt-ci-start-'));
  const workspaceDir = path.join(tempDir, path.basename(path.resolve(folder)));
  let demo;
  let server;
  let brokenDir;
  try {
    const isExamples = path.resolve(folder) === path.join(repoRoot, 'examples');
    // The example workspace is the clean team repository: examples/broken/ (every kind of mistake,
    // on purpose) is a second workspace of its own, so a newcomer's first screen has no findings.
    const source = isExamples ? copyWithout(path.resolve(folder), path.join(tempDir, 'source'), ['broken']) : path.resolve(folder);
    prepareGitWorkspace(source, workspaceDir, {
      message: 'Example prompts',
      // The change under review: summarisation v2, whose baseline is v1 on main.
      ...(isExamples ? { featureBranch: { name: 'improve-summaries', paths: ['prompts/summarisation/v2'], message: 'summarisation v2: an action items line' } } : {}),
    });
    if (isExamples) {
      brokenDir = path.join(tempDir, BROKEN_WORKSPACE_NAME);
      prepareGitWorkspace(path.join(repoRoot, 'examples', 'broken'), brokenDir, { message: 'Broken examples: every kind of mistake, on purpose' });
      fs.rmSync(path.join(tempDir, 'source'), { recursive: true, force: true });
      linkDemoApp(workspaceDir);
      if (controlPlane) {
        log('Preparing the control plane of the demo (migrating .prompt-ci/control/; v1 of summarisation at 100%)...');
        prepareDemoControlPlane(workspaceDir);
      }
    }
    const extensionsDir = await installExtensionForStart({ vsix, log });
    demo = await demoEnvironment({ standIn });
    server = await startCodeServer({
      userDataDir: path.join(tempDir, 'user-data'),
      extensionsDir,
      port: await choosePort(port),
      settings,
      env: demo.env,
    });
  } catch (error) {
    await demo?.close();
    fs.rmSync(tempDir, { recursive: true, force: true });
    throw error;
  }
  let stopped = false;
  return {
    url: workbenchUrl(server.url, workspaceDir),
    /** The second workspace, examples/broken/ (findings on purpose); undefined for another --folder. */
    brokenUrl: brokenDir ? workbenchUrl(server.url, brokenDir) : undefined,
    serverUrl: server.url,
    /** The demo service's folder (examples/app/), when the workspace has it. */
    demoApp: fs.existsSync(path.join(workspaceDir, 'app', 'node_modules')) ? path.join(workspaceDir, 'app') : undefined,
    port: server.port,
    workspaceDir,
    apiDescription: demo.description,
    stop: async () => {
      if (stopped) return;
      stopped = true;
      await server.stop();
      await demo.close();
      fs.rmSync(tempDir, { recursive: true, force: true });
    },
  };
}

function parseArgs(argv) {
  const options = { vsix: false, standIn: undefined, printUrlOnly: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--vsix') options.vsix = true;
    else if (arg === '--no-stand-in') options.standIn = false;
    else if (arg === '--stand-in') options.standIn = true;
    else if (arg === '--print-url-only') options.printUrlOnly = true;
    else if (arg === '--port') options.port = Number(argv[++i]);
    else if (arg === '--folder') options.folder = argv[++i];
    else if (arg === '--help' || arg === '-h') options.help = true;
    else throw new Error(`unknown option ${arg} (see --help)`);
  }
  if (options.port !== undefined && !(Number.isInteger(options.port) && options.port >= 0 && options.port < 65536)) {
    throw new Error('--port needs a port number');
  }
  return options;
}

async function main() {
  const options = parseArgs(process.argv.slice(2));
  if (options.help) {
    const source = fs.readFileSync(fileURLToPath(import.meta.url), 'utf8');
    console.log(source.slice(source.indexOf('/**') + 3, source.indexOf('*/')).replace(/^ \* ?/gm, '').trim());
    return;
  }
  // With --print-url-only, stdout carries the URL alone; progress goes to stderr.
  const log = options.printUrlOnly ? (line) => console.error(line) : (line) => console.log(line);
  const workbench = await startWorkbench({ ...options, log });
  const shutdown = async () => {
    await workbench.stop();
    process.exit(0);
  };
  process.on('SIGINT', shutdown);
  process.on('SIGTERM', shutdown);
  if (options.printUrlOnly) {
    console.log(workbench.url);
    return;
  }
  const rule = '='.repeat(Math.min(100, workbench.url.length + 4));
  log('');
  log(rule);
  log('  Prompt CI in VS Code: open');
  log('');
  log(`  ${workbench.url}`);
  log(rule);
  log(`Workspace: ${workbench.workspaceDir} (a git copy of ${path.relative(repoRoot, path.resolve(options.folder ?? 'examples')) || '.'}/; no findings: start with Help > Get Started > Prompt CI)`);
  if (workbench.brokenUrl) log(`Every kind of mistake, on purpose (examples/broken/, listed in its EXPECTED.md), in a second workspace:\n  ${workbench.brokenUrl}`);
  if (workbench.demoApp) log(`The whole loop (README): in VS Code's terminal, \`cd app && npm run traffic\` sends the service's requests; then the Rollouts view.`);
  log(`Model calls go to ${workbench.apiDescription}.`);
  log('Ctrl+C stops the server.');
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((error) => {
    console.error(error.message ?? error);
    process.exit(1);
  });
}
