#!/usr/bin/env node
/**
 * The cached code-server install: real VS Code for tests, screenshots and `npm start`.
 *
 * `@vscode/test-electron` downloads VS Code from Microsoft's servers, which CI machines
 * without internet cannot reach; code-server is VS Code's own server and web workbench,
 * published on npm. Its postinstall fails on such machines, so `ensureCodeServer()` runs
 * the install in the documented steps, into `.cache/code-server/` (gitignored), once,
 * holding a lock so that parallel runs wait for one install.
 *
 * CLI:
 *   node test/harness/codeServerInstall.mjs install   install (or confirm) the cached copy
 *   node test/harness/codeServerInstall.mjs path      print the entry.js path
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { withDirectoryLock } from './installLock.mjs';
import { repoRoot, which } from './paths.mjs';

export const CODE_SERVER_VERSION = '4.100.3';
export const cacheDir = path.join(repoRoot, '.cache', 'code-server');
export const codeServerDir = path.join(cacheDir, 'node_modules', 'code-server');
export const entryJs = path.join(codeServerDir, 'out', 'node', 'entry.js');
const vscodeDir = path.join(codeServerDir, 'lib', 'vscode');
// Written last: its presence means every step below finished.
const markerFile = path.join(cacheDir, `installed-${CODE_SERVER_VERSION}.json`);
const lockDir = path.join(repoRoot, '.cache', 'code-server.lock');
const installLog = path.join(repoRoot, '.cache', 'code-server-install.log');

/** True when the cached install is complete. */
export function isCodeServerInstalled() {
  return fs.existsSync(markerFile) && fs.existsSync(entryJs);
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

/**
 * Installs code-server into `.cache/code-server/` unless the marker says it is complete.
 * Idempotent: a half-finished install is redone step by step (each step is safe to repeat).
 * @returns {Promise<{ entryJs: string, version: string }>}
 */
export async function ensureCodeServer({ log = (line) => console.log(line) } = {}) {
  if (isCodeServerInstalled()) return { entryJs, version: CODE_SERVER_VERSION };
  checkSystemPrerequisites();
  return withDirectoryLock(lockDir, { log, waitingFor: 'installing code-server' }, async () => {
    if (isCodeServerInstalled()) return { entryJs, version: CODE_SERVER_VERSION };
    const started = Date.now();
    log(`Installing code-server ${CODE_SERVER_VERSION} into ${path.relative(repoRoot, cacheDir)}/ (a few minutes, once).`);
    log(`  full output: ${path.relative(repoRoot, installLog)}`);
    fs.mkdirSync(cacheDir, { recursive: true });
    fs.writeFileSync(installLog, `code-server ${CODE_SERVER_VERSION} install, ${new Date().toISOString()}\n`);
    // Its own package.json, so npm installs here and not into the repository's node_modules.
    fs.writeFileSync(
      path.join(cacheDir, 'package.json'),
      JSON.stringify({ name: 'prompt-ci-code-server-cache', private: true, description: 'code-server for integration tests; see test/harness/codeServerInstall.mjs' }, null, 2) + '\n',
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
    console.error('usage: node test/harness/codeServerInstall.mjs install | path');
    process.exitCode = 2;
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).catch((error) => {
    console.error(error.message ?? error);
    process.exit(1);
  });
}
