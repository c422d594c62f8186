// The one build: the extension (node, cjs, `vscode` external) and its index worker, the CLI (node, with a shebang),
// the Node API, the webview (browser), the in-VS-Code test suite, the tree-sitter grammars and
// the generated JSON Schema of metadata.yaml.
//   node esbuild.mjs            build once
//   node esbuild.mjs --watch    rebuild on change
//   node esbuild.mjs --check-schema   fail if media/metadata.schema.json is stale
import { build, context } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const watch = process.argv.includes('--watch');
const production = process.argv.includes('--production');

const common = {
  bundle: true,
  sourcemap: production ? false : 'linked',
  minify: production,
  logLevel: 'warning',
  define: { PROMPT_CI_VERSION: JSON.stringify(pkg.version), PROMPT_CI_BUILD: JSON.stringify(buildId()) },
  absWorkingDir: root,
};
// 'module' first: jsonc-parser's UMD main requires its files dynamically, which a bundle can't follow.
// ES modules in the bundle (PGlite) find their files with `new URL('./pglite.wasm', import.meta.url)`:
// in a CommonJS bundle that is the bundle's own URL, and those files are copied next to each bundle.
const importMetaUrl = 'var __prompt_ci_import_meta_url = require("url").pathToFileURL(__filename).href;';
const nodeCommon = {
  ...common,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  mainFields: ['module', 'main'],
  define: { ...common.define, 'import.meta.url': '__prompt_ci_import_meta_url' },
  banner: { js: importMetaUrl },
};

/** Packages the runtime and the CLI load from node_modules rather than bundle. */
const RUNTIME_EXTERNAL = ['pg', 'pg-native', '@electric-sql/pglite', '@electric-sql/pglite-socket', '@opentelemetry/api'];

/**
 * The CLI: dist/cli.js holds the command table and the usage lines only; every module the table
 * loads with a literal `require('./x')` is a bundle of its own, dist/cli/x.js, required when its
 * command runs (so `--version` and `--help` load neither the SDK, the parsers nor the database drivers).
 */
const cliMain = join(root, 'src/cli/main.ts');
const cliCommandModules = [...new Set([...readFileSync(cliMain, 'utf8').matchAll(/require\('\.\/(\w+)'\)/g)].map((m) => m[1]))];
// Each such require becomes a call of the loader that goes through the V8 code cache (src/cli/bundleLoader.ts).
const bundleLoader = join(root, 'src/cli/bundleLoader.ts');
const cliCommandsExternal = {
  name: 'cli-commands-external',
  setup(b) {
    b.onResolve({ filter: /^\.\/\w+$/ }, (args) =>
      args.kind === 'require-call' && args.importer === cliMain ? { path: args.path.slice(2), namespace: 'cli-command' } : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: 'cli-command' }, (args) => ({
      contents: `module.exports = require(${JSON.stringify(bundleLoader)}).requireCommandBundle(require('path').join(__dirname, 'cli', ${JSON.stringify(`${args.path}.js`)}));`,
      resolveDir: root,
      loader: 'js',
    }));
  },
};

/** A hash of the sources and the lockfile: check's cache of parsed files is tagged with it, so another build parses afresh. */
function buildId() {
  const hash = createHash('sha1');
  const walk = (dir) => {
    for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else hash.update(`${path.slice(root.length)}\0`).update(readFileSync(path));
    }
  };
  walk(join(root, 'src'));
  hash.update(readFileSync(join(root, 'package-lock.json')));
  return hash.digest('hex').slice(0, 16);
}

/**
 * Finishes each command bundle for its loader (src/cli/bundleLoader.ts), which compiles it as a
 * vm.Script with a V8 code cache:
 * - its last line is its content's hash, which names that cache (so the loader needn't hash
 *   megabytes at every start);
 * - its dynamic imports (`import("pkg")`: PGlite is an ES module) go through the loader's own
 *   `import()`, since a script's code from the cache can't import by itself; the banner falls back to
 *   the bundle's own when it is loaded by plain `require`;
 * - it is ASCII, since the loader reads it as latin1 (a one-byte string, decoded at once): esbuild
 *   escapes every non-ASCII character of the code (its default charset) but keeps comments as
 *   they are, and those few are escaped here (in a comment an escape means nothing; anywhere else
 *   `\\uXXXX` means the character itself).
 */
function finishCommandBundles() {
  const dir = join(root, 'dist/cli');
  for (const name of readdirSync(dir).filter((f) => f.endsWith('.js'))) {
    const path = join(dir, name);
    const text = readFileSync(path, 'utf8')
      .replace(/[^\x00-\x7f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
      .replace(/(?<![\w$.])import\("/g, '__prompt_ci_import("');
    // Any other dynamic import (of a computed name) would fail from the cache: refuse to build one.
    const left = /(?<![\w$.])import\((?![)']|specifier\))/.exec(text);
    if (left) throw new Error(`${path}: a dynamic import the command loader can't route: ${text.slice(left.index, left.index + 60)}`);
    writeFileSync(path, `${text}\n//# promptCiBundleHash=${createHash('sha1').update(text, 'latin1').digest('hex')}\n`, 'latin1');
  }
}

const suiteDir = join(root, 'test/integration/suite');
const suiteEntries = existsSync(suiteDir)
  ? readdirSync(suiteDir).filter((f) => f.endsWith('.ts')).map((f) => join(suiteDir, f))
  : [];

const builds = [
  { ...nodeCommon, entryPoints: ['src/vscode/extension.ts'], outfile: 'dist/extension.js', external: ['vscode'] },
  // The index worker: the extension reads, parses and checks repositories in this thread of its own.
  { ...nodeCommon, entryPoints: ['src/node/indexWorker.ts'], outfile: 'dist/indexWorker.js' },
  { ...nodeCommon, entryPoints: ['src/cli/index.ts'], outfile: 'dist/cli.js', banner: { js: `#!/usr/bin/env node\n${importMetaUrl}` }, plugins: [cliCommandsExternal] },
  {
    ...nodeCommon,
    entryPoints: cliCommandModules.map((m) => `src/cli/${m}.ts`),
    outdir: 'dist/cli',
    banner: { js: `${importMetaUrl}\nvar __prompt_ci_import = globalThis[Symbol.for('prompt-ci.import')] ?? ((specifier) => import(specifier));` },
    external: RUNTIME_EXTERNAL,
  },
  { ...nodeCommon, entryPoints: ['src/api.ts'], outfile: 'dist/api.js' },
  // The production runtime (`prompt-ci/runtime`): its database drivers and the OpenTelemetry API stay
  // the application's own packages (one OpenTelemetry API instance per process; PGlite loads its
  // WebAssembly from its package). The metafile lets a test check what went into the bundle.
  { ...nodeCommon, entryPoints: ['src/runtime.ts'], outfile: 'dist/runtime.js', external: RUNTIME_EXTERNAL, metafile: true },
  existsSync(join(root, 'src/webview/main.ts')) && {
    ...common,
    platform: 'browser',
    target: 'es2022',
    format: 'iife',
    entryPoints: ['src/webview/main.ts'],
    outfile: 'dist/webview/main.js',
  },
  suiteEntries.length > 0 && {
    ...nodeCommon,
    entryPoints: suiteEntries,
    outdir: 'out/test/suite',
    external: ['vscode', 'mocha'],
  },
].filter(Boolean);

/** The grammars' own .wasm files, next to the bundles that load them. */
function copyWasm() {
  const files = {
    'tree-sitter.wasm': 'web-tree-sitter/tree-sitter.wasm',
    'tree-sitter-python.wasm': 'tree-sitter-python/tree-sitter-python.wasm',
    'tree-sitter-typescript.wasm': 'tree-sitter-typescript/tree-sitter-typescript.wasm',
    'tree-sitter-tsx.wasm': 'tree-sitter-typescript/tree-sitter-tsx.wasm',
    'tree-sitter-javascript.wasm': 'tree-sitter-javascript/tree-sitter-javascript.wasm',
  };
  mkdirSync(join(root, 'dist/wasm'), { recursive: true });
  for (const [name, from] of Object.entries(files)) copyFileSync(require.resolve(from), join(root, 'dist/wasm', name));
}

/** PGlite's WebAssembly and data files, next to every Node bundle that may open the embedded control plane. */
function copyPgliteFiles() {
  const dir = dirname(require.resolve('@electric-sql/pglite'));
  for (const target of ['dist', 'out/test/suite']) {
    mkdirSync(join(root, target), { recursive: true });
    for (const name of ['pglite.wasm', 'pglite.data', 'initdb.wasm']) copyFileSync(join(dir, name), join(root, target, name));
  }
}

/** The JSON Schema of metadata.yaml, generated from the zod schema (the single source of truth). */
async function generatedSchema() {
  const result = await build({ ...nodeCommon, entryPoints: ['src/core/metadataSchema.ts'], write: false, sourcemap: false, minify: false, banner: {}, define: common.define });
  const module = { exports: {} };
  new Function('module', 'exports', 'require', result.outputFiles[0].text)(module, module.exports, require);
  return `${JSON.stringify(module.exports.metadataJsonSchema(), null, 2)}\n`;
}

const schemaPath = join(root, 'media/metadata.schema.json');
if (process.argv.includes('--check-schema')) {
  const committed = existsSync(schemaPath) ? readFileSync(schemaPath, 'utf8') : '';
  if (committed !== (await generatedSchema())) {
    console.error('media/metadata.schema.json is stale: run `node esbuild.mjs` and commit it');
    process.exit(1);
  }
  process.exit(0);
}

mkdirSync(join(root, 'media'), { recursive: true });
writeFileSync(schemaPath, await generatedSchema());
copyWasm();
copyPgliteFiles();
if (watch) {
  for (const options of builds) await (await context(options)).watch();
  console.log('watching for changes');
} else {
  const results = await Promise.all(builds.map((options) => build(options)));
  const runtime = results[builds.findIndex((b) => b.outfile === 'dist/runtime.js')];
  writeFileSync(join(root, 'dist/runtime.meta.json'), JSON.stringify(runtime.metafile));
  finishCommandBundles();
  runtimeDeclarations();
}

/** The runtime's .d.ts files, from tsc's emitDeclarationOnly over its entry (a test compiles a consumer against them). */
function runtimeDeclarations() {
  // Emitted afresh: a declaration file of a module the runtime no longer reaches would still be published.
  rmSync(join(root, 'dist', 'types'), { recursive: true, force: true });
  execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', 'tsconfig.runtime.json'], { cwd: root, stdio: 'inherit' });
}
