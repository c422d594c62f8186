import type { FileFinding } from './finding';
import { START_OF_FILE } from './finding';

/** The four files every prompt version holds. */
export const PROMPT_FILES = ['system.md', 'user.template.md', 'eval.jsonl', 'metadata.yaml'] as const;
/** A file of a prompt version. */
export type PromptFileName = (typeof PROMPT_FILES)[number] | 'judge.md';

/** A `prompts/<name>/` directory segment: lower-case, digits, `_` and `-`, not starting with either. */
export const PROMPT_NAME_PATTERN = /^[a-z0-9][a-z0-9_-]*$/;
const VERSION_DIR_PATTERN = /^v([1-9][0-9]*)$/;

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

/**
 * Reads the layout of `prompts/` from a list of repo-relative POSIX file paths (directories are
 * implied by the files in them). Pure: the caller lists the files.
 */
export function discoverPrompts(paths: Iterable<string>): PromptLayout {
  const byDir = new Map<string, PromptVersion>();
  const findings: FileFinding[] = [];
  const reported = new Set<string>();

  for (const path of paths) {
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
    if (parts.length === 3) continue; // a file directly under prompts/<name>/ (a README, say)
    const match = VERSION_DIR_PATTERN.exec(versionDir);
    if (!match) {
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
    let version = byDir.get(dir);
    if (!version) {
      version = { name, version: Number(match[1]), dir, files: {}, missing: [] };
      byDir.set(dir, version);
    }
    if (parts.length === 4) {
      const file = parts[3] as PromptFileName;
      if ((PROMPT_FILES as readonly string[]).includes(file) || file === 'judge.md') version.files[file] = path;
    }
  }

  const versions = [...byDir.values()].sort((a, b) => a.name.localeCompare(b.name) || a.version - b.version);
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
  if (parts[0] !== 'prompts' || parts.length < 3 || !VERSION_DIR_PATTERN.test(parts[2])) return undefined;
  return parts.slice(0, 3).join('/');
}
