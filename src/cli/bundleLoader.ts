/* eslint-disable @typescript-eslint/no-require-imports, @typescript-eslint/consistent-type-imports -- Node's modules are required when a command loads, so `--version` and `--help` load none of them */
import { startupCacheDisabled } from './startupCache';

/**
 * Loads one command bundle of dist/cli/ (what `require(file)` would), through a V8 code cache so
 * that the bundle's megabytes of JavaScript are not compiled again at every start.
 *
 * - Node >= 22.1 has its own (`module.enableCompileCache`), which is used when present.
 * - On Node 20 the bundle is compiled as a `vm.Script` with the `cachedData` an earlier run left,
 *   and the module is registered in `require.cache` as `require` would. Without a usable cache the
 *   script is compiled from source, and its code cache is written as the process exits (or at once
 *   when V8 refused one it was given: a command changed V8's flags as it ran, e.g. eval's
 *   `--optimize-for-size`).
 * - The cache file is named by the bundle's content hash (recorded in the bundle by the build, or
 *   computed), the Node version, the architecture and the options Node was started with; it holds
 *   a checksum of its payload, and a file that fails it, is cut short or isn't ours is ignored.
 *   It lives in the user's cache folder (see `codeCacheDir`), is written atomically (beside, then
 *   renamed), replaces that bundle's earlier caches, and is skipped without a word when the folder
 *   can't be written. `PROMPT_CI_NO_STARTUP_CACHE=1` turns it off.
 */
export function requireCommandBundle(file: string): unknown {
  const Module = require('node:module') as typeof import('node:module') & ModuleInternals;
  const known = Module._cache[file];
  if (known) return known.exports;
  if (startupCacheDisabled(process.env)) return require(file);
  const dir = codeCacheDir(process.env);
  if (typeof Module.enableCompileCache === 'function') {
    Module.enableCompileCache(dir);
    return require(file);
  }
  const vm = require('node:vm') as typeof import('node:vm');
  const { readFileSync } = require('node:fs') as typeof import('node:fs');
  const { basename, dirname, join } = require('node:path') as typeof import('node:path');
  // A script's code from the cache can't `import()` by itself: the build makes the bundles' dynamic imports call this one (see esbuild.mjs).
  (globalThis as Record<symbol, unknown>)[Symbol.for('prompt-ci.import')] ??= (specifier: string) => import(specifier);

  let source: string;
  try {
    // The build makes the bundles ASCII (esbuild.mjs), so latin1 reads them exactly, and faster than UTF-8.
    source = readFileSync(file, 'latin1');
  } catch {
    return require(file); // let require say what is wrong with the file
  }
  const recorded = BUNDLE_HASH.exec(source.slice(-80))?.[1];
  const bundleHash = recorded ?? sha1(Buffer.from(source, 'latin1')).toString('hex');
  const key = sha1(Buffer.from([bundleHash, process.version, process.arch, process.execArgv.join(' '), process.env.NODE_OPTIONS ?? ''].join('\0'))).toString('hex').slice(0, 20);
  const name = basename(file, '.js');
  const cacheFile = join(dir, `${name}-${key}.bin`);
  const cachedData = readCodeCache(cacheFile);

  const script = new vm.Script(Module.wrap(source), { filename: file, cachedData });
  const mod = new Module(file, require.main) as InstanceType<typeof Module> & { filename: string; paths: string[]; loaded: boolean };
  mod.filename = file;
  mod.paths = Module._nodeModulePaths(dirname(file));
  Module._cache[file] = mod;
  try {
    const run = script.runInThisContext() as (exports: unknown, require: NodeJS.Require, module: unknown, filename: string, dirname: string) => void;
    run.call(mod.exports, mod.exports, Module.createRequire(file), mod, file, dirname(file));
  } catch (error) {
    delete Module._cache[file];
    throw error;
  }
  mod.loaded = true;

  if (cachedData === undefined) process.once('exit', () => writeCodeCache(dir, name, cacheFile, script));
  else if (script.cachedDataRejected) writeCodeCache(dir, name, cacheFile, script);
  return mod.exports;
}

/** Node's own members of `module` that `require` uses and this loader does as `require` would. */
interface ModuleInternals {
  _cache: Record<string, { exports: unknown } | undefined>;
  _nodeModulePaths(dir: string): string[];
  wrap(source: string): string;
  enableCompileCache?: (dir: string) => unknown;
}

/** The content hash the build writes on the last line of each command bundle. */
const BUNDLE_HASH = /\/\/# promptCiBundleHash=([0-9a-f]{40})\s*$/;

/** The header of a code cache file, then the SHA-1 of the payload (20 bytes), then V8's cached data. */
const MAGIC = 'prompt-ci code cache 1\n';

/**
 * The folder of the code cache: `$XDG_CACHE_HOME/prompt-ci/code-cache`, else
 * `~/.cache/prompt-ci/code-cache` (`%LOCALAPPDATA%\prompt-ci\code-cache` on Windows), else under
 * the system's temporary folder. Never the repository.
 */
export function codeCacheDir(env: Record<string, string | undefined>): string {
  const { homedir, tmpdir, userInfo } = require('node:os') as typeof import('node:os');
  const { isAbsolute, join } = require('node:path') as typeof import('node:path');
  const xdg = env.XDG_CACHE_HOME;
  if (xdg && isAbsolute(xdg)) return join(xdg, 'prompt-ci', 'code-cache');
  if (process.platform === 'win32' && env.LOCALAPPDATA && isAbsolute(env.LOCALAPPDATA)) return join(env.LOCALAPPDATA, 'prompt-ci', 'code-cache');
  let home = '';
  try {
    home = homedir();
  } catch {
    // no home folder: the temporary folder below
  }
  if (home && isAbsolute(home)) return join(home, '.cache', 'prompt-ci', 'code-cache');
  let user = 'user';
  try {
    user = String(userInfo().uid >= 0 ? userInfo().uid : userInfo().username);
  } catch {
    // keep the generic name
  }
  return join(tmpdir(), `prompt-ci-${user}`, 'code-cache');
}

function sha1(bytes: Uint8Array): Buffer {
  const { createHash } = require('node:crypto') as typeof import('node:crypto');
  return createHash('sha1').update(bytes).digest();
}

/** V8's cached data from `file`, or undefined when there is none or it isn't a whole, unaltered cache of ours. */
function readCodeCache(file: string): Buffer | undefined {
  const { readFileSync } = require('node:fs') as typeof import('node:fs');
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch {
    return undefined;
  }
  const start = MAGIC.length + 20;
  if (bytes.length <= start || bytes.toString('latin1', 0, MAGIC.length) !== MAGIC) return undefined;
  const payload = bytes.subarray(start);
  return sha1(payload).equals(bytes.subarray(MAGIC.length, start)) ? payload : undefined;
}

/** Writes the script's code cache atomically, removing this bundle's older caches; any failure leaves things as they were. */
function writeCodeCache(dir: string, name: string, file: string, script: import('node:vm').Script): void {
  const { mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } = require('node:fs') as typeof import('node:fs');
  const { basename, join } = require('node:path') as typeof import('node:path');
  const partial = `${file}.${process.pid}.partial`;
  try {
    const data = script.createCachedData();
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    writeFileSync(partial, Buffer.concat([Buffer.from(MAGIC, 'latin1'), sha1(data), data]), { mode: 0o600 });
    renameSync(partial, file);
    for (const other of readdirSync(dir)) {
      if (other.startsWith(`${name}-`) && other.endsWith('.bin') && other !== basename(file)) rmSync(join(dir, other), { force: true });
    }
  } catch {
    try {
      rmSync(partial, { force: true });
    } catch {
      // nothing more to undo
    }
  }
}
