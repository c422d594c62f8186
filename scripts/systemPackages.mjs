// Installs the Debian packages that running VS Code (code-server) here needs, when they are missing:
// chromium (the browser the tests drive), ripgrep (VS Code's search), libkrb5-dev (headers for a
// native module of code-server), git and python3, and postgresql (the control-plane tests start a
// throwaway server of their own). As root with apt-get it installs them; otherwise it
// prints the command to run and exits 1.
//   node scripts/systemPackages.mjs [--browser]   (--browser: chromium too; `npm start` needs no browser)
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';

const has = (cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
const wanted = [
  ['ripgrep', () => has('rg')],
  ['libkrb5-dev', () => existsSync('/usr/include/gssapi/gssapi.h') || has('krb5-config')],
  ['git', () => has('git')],
  ['python3', () => has('python3')],
  ['make', () => has('make')],
  ['g++', () => has('g++')],
  ['postgresql', () => existsSync('/usr/lib/postgresql') && readdirSync('/usr/lib/postgresql').some((v) => existsSync(`/usr/lib/postgresql/${v}/bin/initdb`))],
];
if (process.argv.includes('--browser')) wanted.push(['chromium', () => has('chromium')]);

const missing = wanted.filter(([, present]) => !present()).map(([name]) => name);
if (missing.length === 0) process.exit(0);

const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
if (!isRoot || !has('apt-get')) {
  console.error(`Missing system packages: ${missing.join(', ')}.\nInstall them, e.g.: sudo apt-get install -y ${missing.join(' ')}`);
  process.exit(1);
}
console.log(`Installing ${missing.join(', ')} with apt-get…`);
const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
execFileSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...missing], { stdio: 'inherit', env });
