import { quoteForMessage } from './span';

/**
 * The one reader of git's machine output (`ls-tree -z`, `show -s --format`, `-z` path lists).
 * Pure: the node side runs git and hands the text in; tested on recorded output.
 */

/** One entry of a `git ls-tree` listing. */
export interface TreeEntry {
  /** `100644`, `100755`, `120000` (a symbolic link), `040000` (a tree), `160000` (a submodule). */
  mode: string;
  type: 'blob' | 'tree' | 'commit';
  object: string;
  /** Path as listed (relative to the tree listed). */
  path: string;
}

/**
 * Reads `git ls-tree -z` output: NUL-terminated records `<mode> SP <type> SP <object> TAB <path>`.
 * With `-z` paths are verbatim (no quoting), so any byte but NUL may appear in them.
 * @throws Error on a record that is not of that shape (git's output changed, or it isn't ls-tree's).
 */
export function parseLsTree(output: string): TreeEntry[] {
  const entries: TreeEntry[] = [];
  for (const record of output.split('\0')) {
    if (record === '') continue;
    const tab = record.indexOf('\t');
    const [mode, type, object] = record.slice(0, tab).split(' ');
    if (tab < 0 || !mode || !object || (type !== 'blob' && type !== 'tree' && type !== 'commit')) {
      throw new Error(`unexpected git ls-tree output: ${quoteForMessage(record, 120)}`);
    }
    entries.push({ mode, type, object, path: record.slice(tab + 1) });
  }
  return entries;
}

/** True for the entry of a symbolic link: git stores the link's target text as a blob of mode 120000. */
export function isSymlinkEntry(entry: TreeEntry): boolean {
  return entry.mode === '120000';
}

/** A commit as `git show -s` describes it. */
export interface CommitInfo {
  sha: string;
  author: string;
  authorEmail: string;
  /** ISO 8601 with the author's offset, as git prints `%aI`. */
  authorDate: string;
  committer: string;
  commitDate: string;
  subject: string;
}

/** The `--format` of `git show -s` that `parseCommitInfo` reads: NUL-separated fields. */
export const COMMIT_INFO_FORMAT = '%H%x00%an%x00%ae%x00%aI%x00%cn%x00%cI%x00%s';

/** Reads the output of `git show -s --format=COMMIT_INFO_FORMAT`. */
export function parseCommitInfo(output: string): CommitInfo {
  const fields = output.replace(/\n$/, '').split('\0');
  if (fields.length < 7 || !/^[0-9a-f]{40,64}$/.test(fields[0])) {
    throw new Error(`unexpected git show output: ${quoteForMessage(output, 120)}`);
  }
  const [sha, author, authorEmail, authorDate, committer, commitDate, ...subject] = fields;
  return { sha, author, authorEmail, authorDate, committer, commitDate, subject: subject.join('\0') };
}

/** Splits the output of a git command run with `-z` into its paths (empty entries dropped). */
export function splitNul(output: string): string[] {
  return output.split('\0').filter((p) => p !== '');
}
