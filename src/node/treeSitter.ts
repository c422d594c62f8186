import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import * as path from 'node:path';
import { setFlagsFromString } from 'node:v8';
import type * as TreeSitter from 'web-tree-sitter';
import type { Tree } from 'web-tree-sitter';
import { extractCallSites, mayContainCallSites, sourceLanguageForPath } from '../core/callSites';
import type { CallSite, SourceLanguage } from '../core/callSites';
import { callSiteRegions } from '../core/sourceRegions';

/**
 * The `.wasm` files the parser needs: the runtime and one grammar per language, each the file its
 * package ships. The build copies these files, under these names, into `dist/wasm/`.
 */
export const WASM_FILES = {
  runtime: { file: 'tree-sitter.wasm', module: 'web-tree-sitter/tree-sitter.wasm' },
  python: { file: 'tree-sitter-python.wasm', module: 'tree-sitter-python/tree-sitter-python.wasm' },
  typescript: { file: 'tree-sitter-typescript.wasm', module: 'tree-sitter-typescript/tree-sitter-typescript.wasm' },
  tsx: { file: 'tree-sitter-tsx.wasm', module: 'tree-sitter-typescript/tree-sitter-tsx.wasm' },
  javascript: { file: 'tree-sitter-javascript.wasm', module: 'tree-sitter-javascript/tree-sitter-javascript.wasm' },
} as const;

type WasmKey = keyof typeof WASM_FILES;

// `require`, not `import`: web-tree-sitter's package exports an ES build under `import`, which
// finds itself through `import.meta.url`, and that is empty once bundled to CommonJS. The
// `require` condition selects its CommonJS build, which works both from source and bundled.
// Required on the first parse, not at load: a check answered from its cache never evaluates it.
let treeSitterModule: typeof TreeSitter | undefined;
function treeSitter(): typeof TreeSitter {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (treeSitterModule ??= require('web-tree-sitter') as typeof TreeSitter);
}

/** Options of `createSourceParser`. */
export interface SourceParserOptions {
  /** A directory holding the `.wasm` files of `WASM_FILES`, searched first (the extension passes its own `dist/wasm`). */
  wasmDir?: string;
  /**
   * The languages to load grammars for (default: all four). Parsing another language is an error;
   * with none, the runtime isn't even initialised (nothing will be parsed).
   */
  languages?: readonly SourceLanguage[];
  /**
   * Compile the runtime and the grammars with V8's baseline WebAssembly compiler only (Liftoff),
   * never optimising them. For a little source (a check of a small repository) optimising the
   * grammars' lexers costs more CPU than it saves, on threads that compete with the parse, and the
   * process waits for those compilations before it exits. Only the call that loads a grammar
   * decides (the grammars are loaded once per process, so a long-lived process that checked a small
   * repository first parses later ones unoptimised too: the same trees, a little slower), and V8's
   * flags are the process's own again once the parser is disposed.
   */
  baselineOnly?: boolean;
}

/** Parses Python, TypeScript, TSX and JavaScript source with the grammars' own `.wasm` builds. */
export interface SourceParser {
  /**
   * Parses `text`. The tree lives in wasm memory: the caller must `tree.delete()` it when done
   * (or use `callSitesOf`, which does). Positions and indices in the tree are UTF-16 code units.
   */
  parse(text: string, language: SourceLanguage): Tree;
  /** The language of a file by its extension (`.py`, `.ts/.mts/.cts`, `.tsx`, `.js/.mjs/.cjs/.jsx`). */
  languageForPath(filePath: string): SourceLanguage | undefined;
  /**
   * Parses `text`, extracts its call sites and frees the tree; skips the parse when no function
   * name occurs in it. Only the top-level statements holding a name are parsed where that is
   * certain to read the same calls (see `callSiteRegions`).
   */
  callSitesOf(text: string, language: SourceLanguage, functions: readonly string[]): CallSite[];
  /**
   * The tree `callSitesOf` reads its call sites from (which may hold only the statements around
   * them), with those call sites: for a reader that needs the nodes around a call as well, and the
   * same calls. The caller must `tree.delete()` it.
   */
  callSiteTree(text: string, language: SourceLanguage, functions: readonly string[]): { tree: Tree; sites: CallSite[] };
  /** The languages this parser has grammars for. */
  readonly languages: readonly SourceLanguage[];
  /** Frees the parsers; the loaded grammars stay for the next `createSourceParser`. */
  dispose(): void;
}

/**
 * Where one `.wasm` file is: `wasmDir`, then `wasm/` next to the running bundle (`dist/wasm/` for
 * `dist/extension.js`; `dist/wasm/` again for the CLI's command bundles in `dist/cli/`), then the file in its package under `node_modules`
 * (running from source, or the CLI installed with its dependencies).
 */
export function locateWasm(key: WasmKey, wasmDir?: string): string {
  const { file, module } = WASM_FILES[key];
  const candidates = [wasmDir && path.join(wasmDir, file), path.join(__dirname, 'wasm', file), path.join(__dirname, '..', 'wasm', file)];
  for (const c of candidates) if (c && existsSync(c)) return c;
  try {
    return require.resolve(module);
  } catch {
    const searched = candidates.filter(Boolean).join(', ');
    throw new Error(`Cannot find ${file}: not in ${searched}, and ${module} does not resolve`);
  }
}

// web-tree-sitter's runtime is one emscripten module per process: it is initialised once, and the
// grammars loaded into it are shared by every parser.
let runtimeReady: Promise<void> | undefined;
const languages = new Map<string, Promise<TreeSitter.Language>>();

function initRuntime(wasmDir: string | undefined): Promise<void> {
  if (!runtimeReady) {
    const runtime = locateWasm('runtime', wasmDir);
    runtimeReady = treeSitter().Parser.init({ locateFile: () => runtime }).catch((e: unknown) => {
      runtimeReady = undefined;
      throw e;
    });
  }
  return runtimeReady;
}

function loadLanguage(key: SourceLanguage, wasmDir: string | undefined): Promise<TreeSitter.Language> {
  const file = locateWasm(key, wasmDir);
  let loaded = languages.get(file);
  if (!loaded) {
    loaded = readFile(file).then((bytes) => treeSitter().Language.load(new Uint8Array(bytes)));
    loaded.catch(() => languages.delete(file));
    languages.set(file, loaded);
  }
  return loaded;
}

/**
 * Turns V8's `--liftoff-only` on, for the grammars that `createSourceParser({ baselineOnly })`
 * loads and the functions they compile lazily as they parse; returns what turns it off again. The
 * flags are part of what V8's code caches are checked against (the CLI's command bundles have one,
 * written as the process exits), so they must be Node's own again once the parse is done. Nothing
 * is changed when Node was started with a WebAssembly flag of its own.
 */
function baselineOnlyFlags(): () => void {
  const own = [...process.execArgv, process.env.NODE_OPTIONS ?? ''].some((a) => /liftoff|wasm/.test(a));
  if (own) return () => undefined;
  setFlagsFromString('--liftoff-only');
  let restored = false;
  return () => {
    if (restored) return;
    restored = true;
    // --liftoff-only turned these two off as well: each is put back to its default.
    for (const flag of ['--no-liftoff-only', '--wasm-tier-up', '--wasm-dynamic-tiering']) setFlagsFromString(flag);
  };
}

const ALL_LANGUAGES: readonly SourceLanguage[] = ['python', 'typescript', 'tsx', 'javascript'];

/** Initialises the runtime and loads the grammars of `options.languages` (all four by default); resolves to a parser for them. */
export async function createSourceParser(options: SourceParserOptions = {}): Promise<SourceParser> {
  const wanted = ALL_LANGUAGES.filter((l) => (options.languages ?? ALL_LANGUAGES).includes(l));
  const parsers = new Map<SourceLanguage, TreeSitter.Parser>();
  let restoreFlags = (): void => undefined;
  if (wanted.length > 0) {
    if (options.baselineOnly) restoreFlags = baselineOnlyFlags();
    try {
      await initRuntime(options.wasmDir);
      const loaded = await Promise.all(wanted.map((l) => loadLanguage(l, options.wasmDir)));
      wanted.forEach((l, i) => parsers.set(l, new (treeSitter().Parser)().setLanguage(loaded[i])));
    } catch (error) {
      restoreFlags();
      throw error;
    }
  }

  const parse = (text: string, language: SourceLanguage): Tree => {
    const parser = parsers.get(language);
    if (!parser) throw new Error(`No parser for ${language}`);
    const tree = parser.parse(text);
    if (!tree) throw new Error(`Parsing ${language} source returned no tree`);
    return tree;
  };

  /**
   * The tree `extractCallSites` needs: of the statements that hold a render function's name only
   * (`callSiteRegions`), or of the whole file when the scan can't be sure of them or the statements
   * alone don't parse cleanly. A call site lies inside its statement, so it is read the same from
   * either tree; except that a syntax error in another statement (which the whole file's parse may
   * recover from by taking in the lines around it) no longer hides a call that parses on its own.
   */
  const parseForCallSites = (text: string, language: SourceLanguage, functions: readonly string[]): Tree => {
    const regions = callSiteRegions(text, language, functions);
    if (!regions || regions.length === 0) return parse(text, language);
    const parser = parsers.get(language);
    if (!parser) throw new Error(`No parser for ${language}`);
    const includedRanges = regions.map((r) => ({
      startIndex: r.start,
      endIndex: r.end,
      startPosition: { row: r.startLine, column: 0 },
      endPosition: { row: r.endLine, column: r.endColumn },
    }));
    const tree = parser.parse(text, null, { includedRanges });
    if (tree && !tree.rootNode.hasError) return tree;
    tree?.delete();
    return parse(text, language);
  };

  const callSiteTree = (text: string, language: SourceLanguage, functions: readonly string[]): { tree: Tree; sites: CallSite[] } => {
    const tree = parseForCallSites(text, language, functions);
    try {
      return { tree, sites: extractCallSites(tree.rootNode, text, language, functions) };
    } catch (error) {
      tree.delete();
      throw error;
    }
  };

  return {
    parse,
    languages: wanted,
    languageForPath: sourceLanguageForPath,
    callSitesOf(text, language, functions) {
      if (!mayContainCallSites(text, functions)) return [];
      const { tree, sites } = callSiteTree(text, language, functions);
      tree.delete();
      return sites;
    },
    callSiteTree,
    dispose() {
      for (const p of parsers.values()) p.delete();
      parsers.clear();
      restoreFlags();
    },
  };
}
