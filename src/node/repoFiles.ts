import { existsSync, lstatSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import type { FileReadNotes, RepoSnapshot } from '../core/check';
import { normalisePromptText, positionOfByte } from '../core/promptText';
import type { DirectoryKinds, KnownFile } from './promptFileRead';
import { readPromptFileSync } from './promptFileRead';

/** Directories never walked: dependencies, VCS data, build output, our own cache. */
const SKIPPED_DIRS = new Set(['node_modules', '.git', '.hg', '.svn', 'dist', 'out', '.prompt-ci', '.venv', 'venv', '__pycache__', '.cache']);

/**
 * The repository root for `start`: the nearest folder, from `start` upward, that holds
 * `prompt-ci.yaml` or a `prompts/` directory. Undefined when there is none.
 */
export function findRepoRoot(start: string): string | undefined {
  let dir = resolve(start);
  try {
    if (statSync(dir).isFile()) dir = dirname(dir);
  } catch {
    return undefined;
  }
  for (;;) {
    if (existsSync(join(dir, 'prompt-ci.yaml'))) return dir;
    try {
      if (statSync(join(dir, 'prompts')).isDirectory()) return dir;
    } catch {
      // no prompts/ here: keep going up
    }
    const parent = dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

/**
 * Every file under `root` (repo-relative POSIX paths), skipping dependency and build folders.
 * Symbolic links are listed and never walked into (reading them is refused with a finding); when a
 * directory of `under` is itself a link, that link is the one path listed.
 */
export function listRepoFiles(root: string, under = ''): string[] {
  const out: string[] = [];
  const parts = under ? under.split('/') : [];
  for (let i = 1; i <= parts.length; i++) {
    const prefix = parts.slice(0, i).join('/');
    if (isLink(join(root, prefix))) return [prefix];
  }
  const walk = (absolute: string, rel: string): void => {
    let entries;
    try {
      entries = readdirSync(absolute, { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries) {
      const childRel = rel ? `${rel}/${entry.name}` : entry.name;
      if (entry.isDirectory()) {
        if (!SKIPPED_DIRS.has(entry.name)) walk(join(absolute, entry.name), childRel);
      } else if (entry.isFile() || entry.isSymbolicLink()) out.push(childRel); // links are listed so that reading them is refused with a finding
    }
  };
  walk(under ? join(root, under) : root, under);
  return out.sort();
}

/** True when `absolute` is a symbolic link (dangling or not). */
export function isLink(absolute: string): boolean {
  try {
    return lstatSync(absolute).isSymbolicLink();
  } catch {
    return false;
  }
}

/** Converts an absolute path inside `root` to a repo-relative POSIX path; undefined outside it. */
export function toRepoPath(root: string, absolute: string): string | undefined {
  const rel = relative(root, resolve(absolute));
  if (rel === '' ) return '';
  if (rel.startsWith('..') || resolve(root, rel) !== resolve(absolute)) return undefined;
  return rel.split(sep).join('/');
}

/** How many files a snapshot remembers within one task (a version's files, with room to spare). */
const REMEMBERED_READS = 16;

/**
 * A snapshot of the files on disk; `overlay` (open editors' text) wins over the disk.
 *
 * Files are read at the time of each call (the extension keeps one snapshot while files change),
 * except that what was read is remembered while the current task runs (until its microtasks): a
 * check asks a file's notes and then its text, and a build reads thousands of files below the same
 * directories, all in one synchronous run. Only the last few files read are kept.
 */
export function diskSnapshot(
  root: string,
  paths: readonly string[],
  overlay?: (path: string) => string | undefined,
  /** What the caller (the index cache) has just learnt of a file, taken instead of looking again; see readPromptFileSync. */
  justRead?: (path: string) => KnownFile | undefined,
): RepoSnapshot {
  let turn: { reads: Map<string, { text?: string; notes?: FileReadNotes }>; dirs: DirectoryKinds } | undefined;
  const thisTurn = (): NonNullable<typeof turn> => {
    if (!turn) {
      turn = { reads: new Map(), dirs: new Map() };
      queueMicrotask(() => (turn = undefined));
    }
    return turn;
  };
  const readOnce = (path: string): { text?: string; notes?: FileReadNotes } => {
    const { reads, dirs } = thisTurn();
    const remembered = reads.get(path);
    if (remembered) {
      // A file's notes and text are each asked once per check: no need to keep it longer.
      reads.delete(path);
      return remembered;
    }
    let known: { text?: string; notes?: FileReadNotes };
    {
      const absolute = join(root, path);
      const given = justRead?.(path);
      const read = readPromptFileSync(absolute, path, root, dirs, given);
      if (read.kind === 'refused') known = { notes: { refused: read.message } };
      else if (read.kind === 'missing') known = {};
      else {
        const notes: FileReadNotes = {};
        if (read.bom) notes.bom = true;
        if (read.crlf) notes.crlf = true;
        if (read.invalidUtf8At !== undefined) notes.invalidUtf8At = positionOfByte(given?.bytes ?? readFileSync(absolute), read.invalidUtf8At);
        known = { text: read.text, notes: Object.keys(notes).length > 0 ? notes : undefined };
      }
    }
    reads.set(path, known);
    if (reads.size > REMEMBERED_READS) reads.delete(reads.keys().next().value as string);
    return known;
  };
  return {
    paths,
    today: new Date().toISOString().slice(0, 10),
    read(path) {
      const open = overlay?.(path);
      if (open !== undefined) return normalisePromptText(open);
      return readOnce(path).text;
    },
    describe(path) {
      if (overlay?.(path) !== undefined) return undefined;
      return readOnce(path).notes;
    },
    exists(path) {
      if (path.split('/').includes('..')) return false;
      return existsSync(join(root, path));
    },
    linked(path) {
      return isLink(join(root, path));
    },
  };
}
