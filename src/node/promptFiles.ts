import { lstat } from 'node:fs/promises';
import { isAbsolute, join, relative, sep } from 'node:path';
import type { PromptVersionFiles } from '../core/promptLayout';
import { PROMPT_FILE_NAMES, PROMPT_FILES } from '../core/promptLayout';
import { normalisePromptText } from '../core/promptText';
import { promptFileRefusal, readPromptFile } from './promptFileRead';

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
  /**
   * eval.jsonl is only checked (there, a regular file), not read: the caller streams it
   * (`readEvalJsonl`), and `evalJsonl` is then the empty string. An unsaved override is still used.
   */
  streamEval?: boolean;
}

/** The texts read, checked for the files `options` insists on. `where` names the directory in the message. */
export function assemblePromptFiles(
  where: string,
  texts: Partial<Record<keyof PromptVersionFiles, string>>,
  options: ReadPromptOptions,
): PromptVersionFiles {
  const required: (keyof PromptVersionFiles)[] = ['metadataYaml', 'system', 'userTemplate'];
  if (options.requireEval ?? true) required.push('evalJsonl');
  const missing = required.filter((k) => texts[k] === undefined).map((k) => PROMPT_FILE_NAMES[k]);
  if (missing.length > 0) {
    throw new PromptFilesError(`${where} has no ${missing.join(', ')}: a prompt version needs ${PROMPT_FILES.slice(0, -1).join(', ')} and ${PROMPT_FILES[PROMPT_FILES.length - 1]}`);
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
 * @throws PromptFilesError naming the missing files, or a file refused (a symbolic link, a directory, bytes that are not UTF-8).
 */
export async function readPromptVersionFromDisk(
  dir: string,
  options: ReadPromptOptions & {
    overrides?: Partial<PromptVersionFiles>;
    /** The repository root: a symbolic link among the directories between it and `dir` (or `dir` itself) is refused. */
    root?: string;
  } = {},
): Promise<PromptVersionFiles> {
  const texts: Partial<Record<keyof PromptVersionFiles, string>> = {};
  const refused = new Set<string>(); // a linked directory is one refusal, not one per file under it
  // Messages name files as the repository does when the root is known.
  const named = (absolute: string): string => {
    const rel = options.root === undefined ? undefined : relative(options.root, absolute);
    return rel === undefined || rel === '' || rel.startsWith('..') || isAbsolute(rel) ? absolute : rel.split(sep).join('/');
  };
  const stat = await lstat(dir).catch(() => undefined);
  if (stat?.isFile()) throw new PromptFilesError(`${named(dir)} is a file; a prompt version is a directory`);
  await Promise.all(
    (Object.keys(PROMPT_FILE_NAMES) as (keyof PromptVersionFiles)[]).map(async (field) => {
      const override = options.overrides?.[field];
      if (override !== undefined) {
        texts[field] = normalisePromptText(override);
        return;
      }
      const path = join(dir, PROMPT_FILE_NAMES[field]);
      if (field === 'evalJsonl' && options.streamEval) {
        const refusal = await promptFileRefusal(path, named(path), options.root);
        if (refusal?.kind === 'refused') refused.add(refusal.message);
        else if (refusal === undefined) texts[field] = '';
        return;
      }
      const read = await readPromptFile(path, named(path), options.root);
      if (read.kind === 'refused') refused.add(read.message);
      else if (read.kind === 'text' && read.invalidUtf8At !== undefined) refused.add(`${named(path)} is not valid UTF-8 (first bad byte at offset ${read.invalidUtf8At})`);
      else if (read.kind === 'text') texts[field] = read.text;
    }),
  );
  if (refused.size > 0) throw new PromptFilesError([...refused].sort().join('; '));
  return assemblePromptFiles(dir, texts, options);
}
