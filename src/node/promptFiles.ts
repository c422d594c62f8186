import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseLsTree } from '../core/eval/lsTree';
import type { TreeEntry } from '../core/eval/lsTree';
import type { GitRunner } from './git';
import { GitError } from './git';

/** The texts of one prompt version directory. */
export interface PromptVersionFiles {
  system: string;
  userTemplate: string;
  evalJsonl: string;
  metadataYaml: string;
  /** `judge.md`, when the directory has one: it replaces the default judge rubric. */
  judge?: string;
}

/** File names of a prompt version, by field. */
export const PROMPT_FILE_NAMES: Record<keyof PromptVersionFiles, string> = {
  system: 'system.md',
  userTemplate: 'user.template.md',
  evalJsonl: 'eval.jsonl',
  metadataYaml: 'metadata.yaml',
  judge: 'judge.md',
};

/** A prompt version directory that lacks a file it needs. */
export class PromptFilesError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PromptFilesError';
  }
}

/** Which files a read insists on. The baseline's eval.jsonl is never used (both sides run the challenger's). */
export interface ReadPromptOptions {
  requireEval?: boolean;
}

function assemble(
  where: string,
  texts: Partial<Record<keyof PromptVersionFiles, string>>,
  options: ReadPromptOptions,
): PromptVersionFiles {
  const required: (keyof PromptVersionFiles)[] = ['metadataYaml', 'system', 'userTemplate'];
  if (options.requireEval ?? true) required.push('evalJsonl');
  const missing = required.filter((k) => texts[k] === undefined).map((k) => PROMPT_FILE_NAMES[k]);
  if (missing.length > 0) {
    throw new PromptFilesError(`${where} has no ${missing.join(', ')}: a prompt version needs system.md, user.template.md, eval.jsonl and metadata.yaml`);
  }
  return {
    system: texts.system as string,
    userTemplate: texts.userTemplate as string,
    evalJsonl: texts.evalJsonl ?? '',
    metadataYaml: texts.metadataYaml as string,
    ...(texts.judge !== undefined ? { judge: texts.judge } : {}),
  };
}

/**
 * Reads a prompt version directory from disk. `overrides` (unsaved editor text) win over the files.
 * @throws PromptFilesError naming the missing files.
 */
export async function readPromptVersionFromDisk(
  dir: string,
  options: ReadPromptOptions & { overrides?: Partial<PromptVersionFiles> } = {},
): Promise<PromptVersionFiles> {
  const texts: Partial<Record<keyof PromptVersionFiles, string>> = {};
  await Promise.all(
    (Object.keys(PROMPT_FILE_NAMES) as (keyof PromptVersionFiles)[]).map(async (field) => {
      const override = options.overrides?.[field];
      if (override !== undefined) {
        texts[field] = override;
        return;
      }
      try {
        texts[field] = await readFile(join(dir, PROMPT_FILE_NAMES[field]), 'utf8');
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code !== 'ENOENT' && code !== 'ENOTDIR') throw error;
      }
    }),
  );
  return assemble(dir, texts, options);
}

/**
 * Reads a prompt version directory at a commit with `git cat-file` (never a checkout: the working
 * tree, index and HEAD are untouched). `path` is relative to the repository's top level.
 * @throws PromptFilesError naming the missing files.
 */
export async function readPromptVersionFromGit(
  git: GitRunner,
  topLevel: string,
  commit: string,
  path: string,
  options: ReadPromptOptions = {},
): Promise<PromptVersionFiles> {
  const names = await listTree(git, topLevel, commit, path);
  const texts: Partial<Record<keyof PromptVersionFiles, string>> = {};
  await Promise.all(
    (Object.keys(PROMPT_FILE_NAMES) as (keyof PromptVersionFiles)[]).map(async (field) => {
      const name = PROMPT_FILE_NAMES[field];
      if (names.get(name) !== 'blob') return;
      texts[field] = (await git(['cat-file', 'blob', `${commit}:${path}/${name}`], { cwd: topLevel })).toString('utf8');
    }),
  );
  return assemble(`${path} at ${commit.slice(0, 12)}`, texts, options);
}

/**
 * The names of the blobs directly in `path` at `commit`; empty when the path is not a directory there.
 */
export async function listTree(git: GitRunner, topLevel: string, commit: string, path: string): Promise<Map<string, TreeEntry['type']>> {
  let raw: Buffer;
  try {
    raw = await git(['ls-tree', '-z', '--end-of-options', `${commit}:${path}`], { cwd: topLevel });
  } catch (error) {
    if (error instanceof GitError) return new Map();
    throw error;
  }
  return new Map(parseLsTree(raw.toString('utf8')).map((e) => [e.name, e.type]));
}
