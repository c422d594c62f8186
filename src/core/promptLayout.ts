import type { FileFinding } from './finding';
import { START_OF_FILE } from './finding';

/**
 * The layout of a prompt repository (DESIGN.md section 2): `prompts/<name>/v<N>/` and the files
 * in it. This module is the one owner of the directory patterns and of the list of a version's
 * files; everything else asks it.
 */

/** The four files every prompt version holds. */
export const PROMPT_FILES = ['system.md', 'user.template.md', 'eval.jsonl', 'metadata.yaml'] as const;
/** A file a prompt version may hold: `judge.md` replaces the default judge rubric. */
export const OPTIONAL_PROMPT_FILES = ['judge.md'] as const;
/** A file of a prompt version. */
export type PromptFileName = (typeof PROMPT_FILES)[number] | (typeof OPTIONAL_PROMPT_FILES)[number];
/** The files a model request is rendered from (the eval set and the judge rubric are not part of it). */
export const REQUEST_FILES = ['system.md', 'user.template.md', 'metadata.yaml'] as const satisfies readonly PromptFileName[];

/** The texts of one prompt version directory, by field. */
export interface PromptVersionFiles {
  system: string;
  userTemplate: string;
  evalJsonl: string;
  metadataYaml: string;
  /** `judge.md`, when the directory has one: it replaces the default judge rubric. */
  judge?: string;
}

/** File names of a prompt version, by field of {@link PromptVersionFiles}. */
export const PROMPT_FILE_NAMES: Record<keyof PromptVersionFiles, PromptFileName> = {
  system: 'system.md',
  userTemplate: 'user.template.md',
  evalJsonl: 'eval.jsonl',
  metadataYaml: 'metadata.yaml',
  judge: 'judge.md',
};

/** The field of {@link PromptVersionFiles} a file name holds, or undefined for a file that is not one of them. */
export function fieldOfPromptFile(name: string): keyof PromptVersionFiles | undefined {
  return (Object.keys(PROMPT_FILE_NAMES) as (keyof PromptVersionFiles)[]).find((field) => PROMPT_FILE_NAMES[field] === name);
}

/** True for the name of a file of a prompt version (the four required ones and judge.md). */
export function isPromptFileName(name: string): name is PromptFileName {
  return (PROMPT_FILES as readonly string[]).includes(name) || (OPTIONAL_PROMPT_FILES as readonly string[]).includes(name);
}

/** A `prompts/<name>/` directory segment: lower-case, digits, `_` and `-`, not starting with either. */
export const PROMPT_NAME_PATTERN = /^[a-z0-9][a-z0-9_-]*$/;

/** The collation rank of each character a prompt name may hold: `_` < `-` < digits < letters, as Unicode's root collation orders them. */
const NAME_CHARS = /^[a-z0-9_-]*$/;
const NAME_RANK = new Map([...'_-0123456789abcdefghijklmnopqrstuvwxyz'].map((c, i) => [c, i]));

/**
 * Orders prompt names as `a.localeCompare(b)` does under the root collation (English and most
 * locales), without loading ICU's collator, whose first use costs a CLI run several milliseconds.
 * Names outside PROMPT_NAME_PATTERN's characters are compared by `localeCompare`.
 */
export function comparePromptNames(a: string, b: string): number {
  if (!NAME_CHARS.test(a) || !NAME_CHARS.test(b)) return a.localeCompare(b);
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return NAME_RANK.get(a[i])! - NAME_RANK.get(b[i])!;
  return a.length - b.length;
}
/** A version directory segment, `v<N>` with N a positive integer written without leading zeros. */
export const VERSION_DIR_PATTERN = /^v([1-9][0-9]*)$/;

/** The largest version number: beyond it, two different `v<N>` names would read as the same number. */
export const MAX_VERSION = Number.MAX_SAFE_INTEGER;

/**
 * The version number of a `v<N>` directory segment (`v2` → 2); undefined when it is not one, and
 * for an N above `MAX_VERSION` (`v99999999999999999999` would read as 100000000000000000000).
 */
export function versionOfDirName(segment: string): number | undefined {
  const match = VERSION_DIR_PATTERN.exec(segment);
  if (!match) return undefined;
  const n = Number(match[1]);
  return Number.isSafeInteger(n) ? n : undefined;
}

/** The directory segment of a version: `v<N>`. */
export function versionDirName(version: number): string {
  return `v${version}`;
}

/** The repo-relative POSIX directory of a prompt version: `prompts/<name>/v<N>`. */
export function promptVersionDir(name: string, version: number): string {
  return `prompts/${name}/${versionDirName(version)}`;
}

/** A glob (VS Code document filters, file watchers) for one file of every prompt version, at any depth. */
export function promptFileGlob(file: PromptFileName): string {
  return `**/prompts/*/v*/${file}`;
}

/**
 * The order in which a prompt's versions are listed wherever Prompt CI lists them (discovery, the
 * hover of a prompt name, Go to Definition, findings naming several versions, the gate's list of
 * changed prompts): oldest first, v1, v2, v3. Ascending because VS Code's peek view of several
 * definitions orders them by file path whatever order they are given in, and the hover must read
 * the same; a version picker may still put the newest first, as the most likely choice.
 */
export function byVersionNumber(a: number, b: number): number {
  return a - b;
}

/** "v1", "v1 and v2", "v1, v2 and v3": versions as findings and hovers name them, in `byVersionNumber` order. */
export function versionList(versions: Iterable<number>): string {
  const labels = [...new Set(versions)].sort(byVersionNumber).map((v) => `v${v}`);
  return labels.length <= 1 ? labels.join('') : `${labels.slice(0, -1).join(', ')} and ${labels[labels.length - 1]}`;
}

/** The version numbers among directory names (a listing of `prompts/<name>/`), sorted ascending. */
export function versionNumbersIn(dirNames: Iterable<string>): number[] {
  const versions: number[] = [];
  for (const name of dirNames) {
    const version = versionOfDirName(name);
    if (version !== undefined) versions.push(version);
  }
  return versions.sort(byVersionNumber);
}

/**
 * The prompt version an absolute or relative path is in, from the path alone:
 * `<root>/prompts/<name>/v<N>` or a file directly in it, with either separator.
 * `root` is what precedes `prompts/` (empty for a repo-relative path).
 */
export function promptVersionOfPath(path: string): { root: string; name: string; version: number; dir: string } | undefined {
  const parts = path.split(/[\\/]/);
  for (const back of [3, 4]) {
    const at = parts.length - back;
    if (at < 0 || parts[at] !== 'prompts') continue;
    const name = parts[at + 1];
    const version = versionOfDirName(parts[at + 2]);
    if (!PROMPT_NAME_PATTERN.test(name) || version === undefined) continue;
    return { root: path.slice(0, parts.slice(0, at).join('/').length), name, version, dir: promptVersionDir(name, version) };
  }
  return undefined;
}

/** One `prompts/<name>/v<N>/` directory and what it holds. */
export interface PromptVersion {
  name: string;
  version: number;
  /** Repo-relative POSIX path, e.g. `prompts/summarisation/v2`. */
  dir: string;
  /** Which of the expected files are present. */
  files: Partial<Record<PromptFileName, string>>;
  /** The expected files it lacks. */
  missing: (typeof PROMPT_FILES)[number][];
}

/** Every prompt version found in a repository, with findings about the layout itself. */
export interface PromptLayout {
  versions: PromptVersion[];
  findings: FileFinding[];
}

/** The sentence for a symbolic link where a directory of prompt files is expected (`prompts`, a prompt, a version). */
export function linkedDirectoryRefusal(path: string, where = ''): string {
  return `${path}${where} is a symbolic link; Prompt CI reads prompt files only through real directories (a link could point outside the repository): replace it with the directory itself`;
}

/** True for a path where `prompts/`, a prompt directory or a version directory would be. */
export function isPromptDirectoryPosition(path: string): boolean {
  const parts = path.split('/');
  if (parts[0] !== 'prompts') return false;
  return parts.length === 1 || (parts.length === 2 && PROMPT_NAME_PATTERN.test(parts[1])) || (parts.length === 3 && PROMPT_NAME_PATTERN.test(parts[1]) && VERSION_DIR_PATTERN.test(parts[2]));
}

/** What discovery may ask of the lister besides the paths. */
export interface DiscoverOptions {
  /** True when a listed path is a symbolic link (the lister lists links and never walks into them). */
  linked?: (path: string) => boolean;
}

/**
 * Reads the layout of `prompts/` from a list of repo-relative POSIX file paths (directories are
 * implied by the files in them). Pure: the caller lists the files. A listed link where `prompts/`,
 * a prompt or a version directory would be is one `file/refused` error (nothing under it is read).
 */
export function discoverPrompts(paths: Iterable<string>, options: DiscoverOptions = {}): PromptLayout {
  const byDir = new Map<string, PromptVersion>();
  const findings: FileFinding[] = [];
  const reported = new Set<string>();

  for (const path of paths) {
    if (options.linked && isPromptDirectoryPosition(path) && options.linked(path)) {
      findings.push({ file: path, code: 'file/refused', severity: 'error', range: START_OF_FILE, message: linkedDirectoryRefusal(path) });
      continue;
    }
    const parts = path.split('/');
    if (parts[0] !== 'prompts' || parts.length < 3) continue;
    const [, name, versionDir] = parts;
    if (!PROMPT_NAME_PATTERN.test(name)) {
      const dir = `prompts/${name}`;
      if (!reported.has(dir)) {
        reported.add(dir);
        findings.push({
          file: dir,
          code: 'layout/invalid-name',
          severity: 'error',
          range: START_OF_FILE,
          message: `prompt directory "${name}" is not a valid name: use lower-case letters, digits, "_" and "-", starting with a letter or digit`,
        });
      }
      continue;
    }
    if (parts.length === 3) {
      // A file directly under prompts/<name>/ (a README, say) is fine, unless it sits where a version directory would be.
      if (VERSION_DIR_PATTERN.test(versionDir)) {
        findings.push({ file: path, code: 'layout/not-a-directory', severity: 'error', range: START_OF_FILE, message: `${path} is a file; a prompt version is a directory (${path}/metadata.yaml, system.md, …)` });
      }
      continue;
    }
    if (!VERSION_DIR_PATTERN.test(versionDir)) {
      const dir = `prompts/${name}/${versionDir}`;
      if (!reported.has(dir)) {
        reported.add(dir);
        findings.push({
          file: dir,
          code: 'layout/invalid-version-dir',
          severity: 'warning',
          range: START_OF_FILE,
          message: `"${versionDir}" is not a version directory (v1, v2, …); Prompt CI ignores it`,
        });
      }
      continue;
    }
    const dir = `prompts/${name}/${versionDir}`;
    const versionNumber = versionOfDirName(versionDir);
    if (versionNumber === undefined) {
      if (!reported.has(dir)) {
        reported.add(dir);
        findings.push({
          file: dir,
          code: 'layout/version-too-large',
          severity: 'error',
          range: START_OF_FILE,
          message: `"${versionDir}" is beyond the largest version number, ${MAX_VERSION}; Prompt CI ignores it: renumber it`,
        });
      }
      continue;
    }
    let version = byDir.get(dir);
    if (!version) {
      version = { name, version: versionNumber, dir, files: {}, missing: [] };
      byDir.set(dir, version);
    }
    if (parts.length === 4) {
      const file = parts[3];
      if (isPromptFileName(file)) version.files[file] = path;
    }
  }

  const versions = [...byDir.values()].sort((a, b) => comparePromptNames(a.name, b.name) || byVersionNumber(a.version, b.version));
  for (const version of versions) {
    version.missing = PROMPT_FILES.filter((file) => !version.files[file]);
    for (const file of version.missing) {
      findings.push({
        file: version.dir,
        code: 'layout/missing-file',
        severity: 'error',
        range: START_OF_FILE,
        message: `${version.dir} has no ${file}; every prompt version needs ${PROMPT_FILES.join(', ')}`,
      });
    }
  }
  return { versions, findings };
}

/** The prompt version directory a repo-relative path belongs to, if any (`prompts/x/v2/eval.jsonl` → `prompts/x/v2`). */
export function versionDirOf(path: string): string | undefined {
  const parts = path.split('/');
  if (parts[0] !== 'prompts' || parts.length < 3 || !PROMPT_NAME_PATTERN.test(parts[1]) || versionOfDirName(parts[2]) === undefined) return undefined;
  return parts.slice(0, 3).join('/');
}
