import { mkdir, open, stat, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';

/**
 * A file we were asked to write could not be written. The message is one sentence naming the path
 * and what is wrong with it in plain words (never errno codes or a stack trace).
 */
export class OutputFileError extends Error {
  constructor(
    message: string,
    /** The absolute path that could not be written. */
    readonly path: string,
  ) {
    super(message);
    this.name = 'OutputFileError';
  }
}

/**
 * Creates the directory `dir` and any missing parents, one level at a time. Node's own
 * `mkdir(…, { recursive: true })` never returns on some paths (a missing directory under `/proc`);
 * this asks for one directory at a time, so every step either succeeds or fails at once.
 *
 * @throws OutputFileError naming `shown` (the path as the user gave it) when a part of the path is
 *   a file, can't be created, or isn't writable.
 */
export async function makeDirectories(dir: string, shown: string = dir): Promise<void> {
  const absolute = resolve(dir);
  const missing: string[] = [];
  let at = absolute;
  for (;;) {
    const kind = await kindOf(at);
    if (kind === 'directory') break;
    if (kind !== 'missing') {
      throw new OutputFileError(`cannot write ${shown}: ${at} is a file, not a folder`, absolute);
    }
    missing.push(at);
    const parent = dirname(at);
    if (parent === at) break;
    at = parent;
  }
  for (const part of missing.reverse()) {
    try {
      await mkdir(part);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST' && (await kindOf(part)) === 'directory') continue;
      const code = (error as NodeJS.ErrnoException).code;
      // ENOENT right after its parent was found: a file system that has no room for new folders (/proc).
      const reason = code === 'ENOENT' ? 'this file system does not allow it' : plainReason(error);
      throw new OutputFileError(`cannot write ${shown}: the folder ${part} could not be created (${reason})`, absolute);
    }
  }
}

/** Characters gathered before one write when a file is written in pieces. */
const WRITE_CHARS = 64 * 1024;

/**
 * Writes a report (or any file the user named) at `path`, creating its folder. The user named the
 * path, so a symbolic link there is followed (`--json /dev/stdout` works). `text` may come in
 * pieces (a large suite's report, made one example at a time): they are written as they come, so
 * the whole text is never held at once.
 *
 * @throws OutputFileError with one sentence naming `shown` (the path as the user gave it).
 */
export async function writeOutputFile(path: string, text: string | Iterable<string>, shown: string = path): Promise<void> {
  const absolute = resolve(path);
  const kind = await kindOf(absolute);
  if (kind === 'directory') throw new OutputFileError(`cannot write ${shown}: it is a folder; name a file in it instead`, absolute);
  await makeDirectories(dirname(absolute), shown);
  try {
    if (typeof text === 'string') await writeFile(absolute, text, 'utf8');
    else await writePieces(absolute, text);
  } catch (error) {
    throw new OutputFileError(`cannot write ${shown}: ${plainReason(error)}`, absolute);
  }
}

async function writePieces(absolute: string, pieces: Iterable<string>): Promise<void> {
  const file = await open(absolute, 'w');
  try {
    let pending = '';
    for (const piece of pieces) {
      pending += piece;
      if (pending.length >= WRITE_CHARS) {
        await file.write(pending, null, 'utf8');
        pending = '';
      }
    }
    if (pending !== '') await file.write(pending, null, 'utf8');
  } finally {
    await file.close();
  }
}

/** What is at `path`, links followed (a dangling link counts as missing). */
async function kindOf(path: string): Promise<'directory' | 'file' | 'missing'> {
  try {
    return (await stat(path)).isDirectory() ? 'directory' : 'file';
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return 'missing';
    // ENOTDIR: a parent is a file; the walk up reaches it and says so.
    if (code === 'ENOTDIR') return 'missing';
    throw new OutputFileError(`cannot use ${path}: ${plainReason(error)}`, path);
  }
}

/** An errno in words, for the end of a sentence. */
export function plainReason(error: unknown): string {
  switch ((error as NodeJS.ErrnoException).code) {
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'EROFS':
      return 'the file system is read-only';
    case 'ENOSPC':
      return 'the disk is full';
    case 'EDQUOT':
      return 'the disk quota is exhausted';
    case 'EISDIR':
      return 'it is a folder';
    case 'ENOTDIR':
      return 'a part of the path is a file, not a folder';
    case 'ENOENT':
      return 'the folder does not exist and cannot be created there';
    case 'ENAMETOOLONG':
      return 'the name is too long';
    case 'ELOOP':
      return 'the path goes through a loop of symbolic links';
    case 'EEXIST':
      return 'something else is already there';
    default:
      return 'the system refused it';
  }
}

/**
 * Says before any work is done whether `path` obviously can't be written: it is a folder, or a
 * part of its folder is a file. Other failures (permissions, a full disk) show when writing.
 *
 * @throws OutputFileError as writeOutputFile would.
 */
export async function checkOutputPath(path: string, shown: string = path): Promise<void> {
  const absolute = resolve(path);
  if ((await kindOf(absolute)) === 'directory') throw new OutputFileError(`cannot write ${shown}: it is a folder; name a file in it instead`, absolute);
  for (let at = dirname(absolute); ; ) {
    const kind = await kindOf(at);
    if (kind === 'directory') return;
    if (kind === 'file') throw new OutputFileError(`cannot write ${shown}: ${at} is a file, not a folder`, absolute);
    const parent = dirname(at);
    if (parent === at) return;
    at = parent;
  }
}

/** What a `.gitignore` that ignores its whole folder says. */
export const IGNORE_EVERYTHING = '# Written by Prompt CI: nothing in this folder is meant to be committed.\n*\n';

/**
 * Creates `dir` (and its parents) for files that are never committed (the response cache, the
 * embedded control plane's store), with a `.gitignore` in it that ignores the whole folder, so that
 * `git status` stays clean in a repository whose own `.gitignore` doesn't list it. An existing
 * `.gitignore` there is left as it is.
 */
export async function makeIgnoredDirectory(dir: string): Promise<void> {
  await makeDirectories(dir);
  try {
    await writeFile(join(dir, '.gitignore'), IGNORE_EVERYTHING, { encoding: 'utf8', flag: 'wx' });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
}
