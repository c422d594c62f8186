import { join } from 'node:path';
import type { SourceLanguage } from '../core/callSites';
import type { FileFinding } from '../core/finding';
import { parseRepoSettings } from '../core/repoSettings';
import type { RepoSettings } from '../core/repoSettings';
import { IndexCache, INDEX_CACHE_TAG } from './indexCache';
import type { CacheStats } from './indexCache';
import { makeIgnoredDirectory } from './outputFiles';
import { readPromptFileSync } from './promptFileRead';
import { RepoIndex, sourcesToParse } from './repoIndex';
import type { SourcesToParse } from './repoIndex';
import { diskSnapshot, listRepoFiles } from './repoFiles';
import { createSourceParser } from './treeSitter';
import type { SourceParser, SourceParserOptions } from './treeSitter';

/**
 * Where `prompt-ci check` keeps what it parsed, under a repository's root: git-ignored by a
 * `.gitignore` of its own, and safe to delete (the next check parses afresh).
 */
export const INDEX_CACHE_DIR = join('.prompt-ci', 'index');

/** The settings `readRepoSettings` reads: the settings, with their problems and warnings. */
export interface RepoSettingsRead {
  settings: RepoSettings;
  problems: string[];
  warnings: string[];
}

/** Reads `prompt-ci.yaml` at the repository root (defaults when absent), with its problems and warnings (see parseRepoSettings). */
export function readRepoSettings(root: string): RepoSettingsRead {
  const read = readPromptFileSync(join(root, 'prompt-ci.yaml'), 'prompt-ci.yaml');
  if (read.kind === 'refused') return { ...parseRepoSettings(undefined), problems: [read.message] };
  return parseRepoSettings(read.kind === 'text' ? read.text : undefined);
}

/** Options of `checkRepoOnDisk`. */
export interface CheckRepoOptions {
  /** A parser to use (and not dispose); by default one is made with the grammars the repository needs. */
  parser?: SourceParser;
  /** `readRepoSettings(root)`, when the caller has read it already. */
  settings?: RepoSettingsRead;
  /**
   * A folder for the content-hashed cache of parsed results (see IndexCache): unchanged files are
   * neither parsed nor checked again. It is made with a `.gitignore` of its own; when it can't be
   * read or written, the check runs without it and says nothing. Undefined: no cache.
   */
  cacheDir?: string;
  /**
   * For a process of its own (the CLI): with little source to parse, load the grammars on V8's
   * baseline WebAssembly compiler only (see `baselineOnly` in createSourceParser), which changes
   * V8's flags while the parser lives. Off by default: a service calling the Node API keeps its
   * engine's flags as it set them.
   */
  unoptimisedGrammarsWhenSmall?: boolean;
}

/** What `checkRepoOnDisk` parsed: the grammars it loaded, and what the cache reused. */
export interface CheckRepoParsing {
  /** The languages whose grammars were loaded (none when every call site came from the cache or no source names a render function). */
  languages: readonly SourceLanguage[];
  cache?: CacheStats;
}

/** Every finding for the repository at `root`, read from disk: what `prompt-ci check` prints. */
export async function checkRepoOnDisk(
  root: string,
  options: CheckRepoOptions = {},
): Promise<{ findings: FileFinding[]; settings: RepoSettings; settingsProblems: string[]; parsing: CheckRepoParsing }> {
  const { settings, problems, warnings } = options.settings ?? readRepoSettings(root);
  const snapshot = diskSnapshot(root, listRepoFiles(root));
  const cache = options.cacheDir === undefined ? undefined : new IndexCache({ dir: options.cacheDir, root, tag: CHECK_CACHE_TAG });
  // Grammars load only for the languages of sources that will be parsed: often none, once the cache holds them.
  const parser = options.parser ?? (await createSourceParser(parserFor(sourcesToParse(snapshot, settings, cache, BASELINE_ONLY_CHARS), options.unoptimisedGrammarsWhenSmall === true)));
  try {
    const index = new RepoIndex(root, snapshot, settings, parser, [...problems, ...warnings], cache);
    index.build();
    if (cache?.changed && options.cacheDir !== undefined) {
      // A read-only checkout or a full disk only costs the next check its speed.
      await makeIgnoredDirectory(options.cacheDir).then(
        () => cache.save(),
        () => undefined,
      );
    }
    return { findings: index.allFindings(), settings, settingsProblems: problems, parsing: { languages: parser.languages, cache: cache?.stats } };
  } finally {
    if (!options.parser) parser.dispose();
  }
}

/**
 * Below this much source text to parse, the grammars run unoptimised (see `baselineOnly`): on two
 * cores, the optimising compiler's work on the lexers pays for itself from about 1.5 million
 * characters of source.
 */
const BASELINE_ONLY_CHARS = 1024 * 1024;

function parserFor(sources: SourcesToParse, unoptimisedWhenSmall: boolean): SourceParserOptions {
  return { languages: sources.languages, baselineOnly: unoptimisedWhenSmall && sources.chars < BASELINE_ONLY_CHARS };
}

/**
 * The tag of check's cache: the CLI's version and build, so that results parsed by other code are
 * never reused. From source (tests), the build is `source`.
 */
const CHECK_CACHE_TAG = `check/${typeof PROMPT_CI_VERSION === 'string' ? PROMPT_CI_VERSION : 'source'}/${typeof PROMPT_CI_BUILD === 'string' ? PROMPT_CI_BUILD : 'source'}/${INDEX_CACHE_TAG}`;

declare const PROMPT_CI_VERSION: string | undefined;
declare const PROMPT_CI_BUILD: string | undefined;
