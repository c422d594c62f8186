import { lstatSync, readFileSync } from 'node:fs';
import { lstat, readFile } from 'node:fs/promises';
import type { DecodedPromptText } from '../core/promptText';
import { decodePromptText } from '../core/promptText';

/**
 * The one reader of prompt files from the working tree: system.md, user.template.md, eval.jsonl,
 * metadata.yaml, judge.md, output schemas and prompt-ci.yaml all come through here.
 *
 * A symbolic link is refused, wherever it points: a pull request could otherwise add a
 * `system.md` linking to `~/.aws/credentials` and have the eval send it to the model. Links
 * inside the repository are refused too (a decision: they buy little, git on Windows checks them
 * out as text files, and "inside" is easy to get wrong with `..` and nested links); git's side
 * refuses mode 120000 the same way. A directory or anything else that isn't a regular file gets a
 * sentence naming the path instead of an errno.
 */

/** What reading one prompt file found. */
export type PromptFileRead =
  | ({ kind: 'text' } & DecodedPromptText)
  | { kind: 'missing' }
  | { kind: 'refused'; message: string };

/** The sentence for a symbolic link where a prompt file is expected. */
export function symlinkRefusal(path: string, where = ''): string {
  return `${path}${where} is a symbolic link; Prompt CI reads prompt files only as regular files (a link could point outside the repository): replace it with the file itself`;
}

function classify(path: string, stat: { isSymbolicLink(): boolean; isFile(): boolean; isDirectory(): boolean } | undefined): PromptFileRead | undefined {
  if (!stat) return { kind: 'missing' };
  if (stat.isSymbolicLink()) return { kind: 'refused', message: symlinkRefusal(path) };
  if (stat.isDirectory()) return { kind: 'refused', message: `${path} is a directory, not a file` };
  if (!stat.isFile()) return { kind: 'refused', message: `${path} is not a regular file` };
  return undefined;
}

function failure(path: string, error: unknown): PromptFileRead {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOENT' || code === 'ENOTDIR') return { kind: 'missing' };
  if (code === 'ELOOP') return { kind: 'refused', message: symlinkRefusal(path) };
  if (code === 'EISDIR') return { kind: 'refused', message: `${path} is a directory, not a file` };
  if (code === 'EACCES' || code === 'EPERM') return { kind: 'refused', message: `${path} can't be read: permission denied` };
  return { kind: 'refused', message: `${path} can't be read (${code ?? (error as Error).message})` };
}

/** Reads a prompt file at `absolute`; `path` names it in messages (repo-relative, say). */
export function readPromptFileSync(absolute: string, path: string = absolute): PromptFileRead {
  try {
    const refused = classify(path, lstatSync(absolute, { throwIfNoEntry: false }));
    if (refused) return refused;
    return { kind: 'text', ...decodePromptText(readFileSync(absolute)) };
  } catch (error) {
    return failure(path, error);
  }
}

/** `readPromptFileSync`, without blocking. */
export async function readPromptFile(absolute: string, path: string = absolute): Promise<PromptFileRead> {
  try {
    const stat = await lstat(absolute).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT' || error.code === 'ENOTDIR') return undefined;
      throw error;
    });
    const refused = classify(path, stat);
    if (refused) return refused;
    return { kind: 'text', ...decodePromptText(await readFile(absolute)) };
  } catch (error) {
    return failure(path, error);
  }
}
