import { closeSync, constants, lstatSync, openSync, readFileSync, readSync } from 'node:fs';
import type { Stats } from 'node:fs';
import { lstat, open } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative, sep } from 'node:path';
import { linkedDirectoryRefusal } from '../core/promptLayout';
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
 *
 * Given the repository root, every directory between it and the file is checked too: a version
 * directory `prompts/x/v2 -> /etc`, or `prompts -> ../elsewhere`, is refused as the link it is
 * (the root itself may be a link: that is where the user chose to keep the checkout).
 */

/**
 * Opened without following a link in its last component (`O_NOFOLLOW`): a file that the `lstat`
 * found regular and that is swapped for a link before the read fails with ELOOP (refused as the
 * link it now is) rather than being read through it. Where the flag doesn't exist (Windows) it is 0.
 */
const NO_FOLLOW = constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0);

/**
 * A prompt file's bytes, a link in its last component refused (ELOOP), not followed. `sizeHint`,
 * the size an `lstat` of the path just gave, spares the `fstat` of the opened file: a file of that
 * size is taken as read once that many bytes came (as `readFileSync` takes the size `fstat` gave);
 * one that grew or shrank since is read to its end, in a buffer grown as needed.
 */
export function readFileNoFollowSync(absolute: string, sizeHint?: number): Buffer {
  const fd = openSync(absolute, NO_FOLLOW);
  try {
    return sizeHint === undefined || sizeHint > MAX_HINTED_BYTES ? readFileSync(fd) : readToEnd(fd, sizeHint);
  } finally {
    closeSync(fd);
  }
}

/** Above this a file is read as `readFileSync` reads it (its own size check and error for a file too large). */
const MAX_HINTED_BYTES = 2 ** 26;

function readToEnd(fd: number, sizeHint: number): Buffer {
  // One byte more than the hint, so that a file grown since shows it in the first read.
  let buffer = Buffer.allocUnsafe(sizeHint + 1);
  let length = 0;
  for (;;) {
    if (length === buffer.length) {
      const bigger = Buffer.allocUnsafe(buffer.length * 2);
      buffer.copy(bigger);
      buffer = bigger;
    }
    const read = readSync(fd, buffer, length, buffer.length - length, null);
    length += read;
    if (read === 0 || length === sizeHint) return buffer.subarray(0, length);
  }
}

/** `readFileNoFollowSync`, without blocking. */
async function readFileNoFollow(absolute: string): Promise<Buffer> {
  const handle = await open(absolute, NO_FOLLOW);
  try {
    return await handle.readFile();
  } finally {
    await handle.close();
  }
}

/** What reading one prompt file found. */
export type PromptFileRead =
  | ({ kind: 'text' } & DecodedPromptText)
  | { kind: 'missing' }
  | { kind: 'refused'; message: string };

/** The sentence for a symbolic link where a prompt file is expected. */
export function symlinkRefusal(path: string, where = ''): string {
  return `${path}${where} is a symbolic link; Prompt CI reads prompt files only as regular files (a link could point outside the repository): replace it with the file itself`;
}

/** The directories strictly between `root` and `absolute`, outermost first; none when `absolute` isn't below `root`. */
function directoriesBetween(root: string, absolute: string): { absolute: string; path: string }[] {
  const rel = relative(root, absolute);
  if (rel === '' || rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel)) return [];
  const parts = rel.split(sep).slice(0, -1);
  return parts.map((_, i) => ({ absolute: join(root, ...parts.slice(0, i + 1)), path: parts.slice(0, i + 1).join('/') }));
}

/**
 * What `linkedDirectorySync` learnt of directories, by absolute path: `link`, `dir` (anything else
 * that exists) or `missing`. A caller reading many files at one moment passes one, so that each
 * directory is looked at once; it must not outlive that moment.
 */
export type DirectoryKinds = Map<string, 'link' | 'dir' | 'missing'>;

/** The refusal for the first directory between `root` and `absolute` that is a symbolic link, if any. */
export function linkedDirectorySync(root: string, absolute: string, known?: DirectoryKinds): PromptFileRead | undefined {
  // A directory is noted as `dir` only once every directory above it (below `root`) was: a file in
  // one is below no link, and its siblings needn't walk the path again.
  if (known?.get(dirname(absolute)) === 'dir') return undefined;
  for (const dir of directoriesBetween(root, absolute)) {
    let kind = known?.get(dir.absolute);
    if (kind === undefined) {
      const stat = lstatSync(dir.absolute, { throwIfNoEntry: false });
      kind = !stat ? 'missing' : stat.isSymbolicLink() ? 'link' : 'dir';
      known?.set(dir.absolute, kind);
    }
    if (kind === 'missing') return undefined;
    if (kind === 'link') return { kind: 'refused', message: linkedDirectoryRefusal(dir.path) };
  }
  return undefined;
}

async function linkedDirectory(root: string, absolute: string): Promise<PromptFileRead | undefined> {
  for (const dir of directoriesBetween(root, absolute)) {
    const stat = await lstat(dir.absolute).catch(() => undefined);
    if (!stat) return undefined;
    if (stat.isSymbolicLink()) return { kind: 'refused', message: linkedDirectoryRefusal(dir.path) };
  }
  return undefined;
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

/**
 * What a caller reading many files at one moment already knows of one (the index cache, which has
 * just looked at it and hashed it): taken instead of looking again.
 */
export interface KnownFile {
  /** Its bytes, as just read. */
  bytes?: Uint8Array;
  /** Its `lstat`, as just taken (`stat` undefined: nothing was there). */
  lstat?: { stat: Stats | undefined };
}

/**
 * Reads a prompt file at `absolute`; `path` names it in messages (repo-relative, say). With `root`
 * (the repository root), a symbolic link among the directories below it is refused too. What the
 * caller already knows of the file (`given`) is taken for what it says: its `lstat` for the file's
 * kind, its bytes (once the file has passed the same checks) for its content.
 */
export function readPromptFileSync(absolute: string, path: string = absolute, root?: string, known?: DirectoryKinds, given?: KnownFile): PromptFileRead {
  try {
    const linked = root === undefined ? undefined : linkedDirectorySync(root, absolute, known);
    if (linked) return linked;
    const stat = given?.lstat ? given.lstat.stat : lstatSync(absolute, { throwIfNoEntry: false });
    const refused = classify(path, stat);
    if (refused) return refused;
    return { kind: 'text', ...decodePromptText(given?.bytes ?? readFileNoFollowSync(absolute, stat?.size)) };
  } catch (error) {
    return failure(path, error);
  }
}

/**
 * Whether the prompt file at `absolute` may be read, before a reader that takes it in pieces opens
 * it: the refusal (a link, a linked directory, a directory) or `missing`, as `readPromptFile` would
 * say; undefined when it is a regular file.
 */
export async function promptFileRefusal(absolute: string, path: string = absolute, root?: string): Promise<Exclude<PromptFileRead, { kind: 'text' }> | undefined> {
  try {
    const linked = root === undefined ? undefined : await linkedDirectory(root, absolute);
    if (linked) return linked as Exclude<PromptFileRead, { kind: 'text' }>;
    const stat = await lstat(absolute).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT' || error.code === 'ENOTDIR') return undefined;
      throw error;
    });
    return classify(path, stat) as Exclude<PromptFileRead, { kind: 'text' }> | undefined;
  } catch (error) {
    return failure(path, error) as Exclude<PromptFileRead, { kind: 'text' }>;
  }
}

/** The open-time failure of a file `promptFileRefusal` let through (removed or replaced in between), as a refusal. */
export function promptFileFailure(path: string, error: unknown): PromptFileRead {
  return failure(path, error);
}

/** `readPromptFileSync`, without blocking. */
export async function readPromptFile(absolute: string, path: string = absolute, root?: string): Promise<PromptFileRead> {
  try {
    const linked = root === undefined ? undefined : await linkedDirectory(root, absolute);
    if (linked) return linked;
    const stat = await lstat(absolute).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT' || error.code === 'ENOTDIR') return undefined;
      throw error;
    });
    const refused = classify(path, stat);
    if (refused) return refused;
    return { kind: 'text', ...decodePromptText(await readFileNoFollow(absolute)) };
  } catch (error) {
    return failure(path, error);
  }
}
