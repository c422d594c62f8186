import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import type { RepoSnapshot } from '../core/check';

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

/** Every file under `root` (repo-relative POSIX paths), skipping dependency and build folders. */
export function listRepoFiles(root: string, under = ''): string[] {
  const out: string[] = [];
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
      } else if (entry.isFile()) out.push(childRel);
    }
  };
  walk(under ? join(root, under) : root, under);
  return out.sort();
}

/** Converts an absolute path inside `root` to a repo-relative POSIX path; undefined outside it. */
export function toRepoPath(root: string, absolute: string): string | undefined {
  const rel = relative(root, resolve(absolute));
  if (rel === '' ) return '';
  if (rel.startsWith('..') || resolve(root, rel) !== resolve(absolute)) return undefined;
  return rel.split(sep).join('/');
}

/** A snapshot of the files on disk; `overlay` (open editors' text) wins over the disk. */
export function diskSnapshot(root: string, paths: readonly string[], overlay?: (path: string) => string | undefined): RepoSnapshot {
  return {
    paths,
    today: new Date().toISOString().slice(0, 10),
    read(path) {
      const open = overlay?.(path);
      if (open !== undefined) return open;
      try {
        return readFileSync(join(root, path), 'utf8');
      } catch {
        return undefined;
      }
    },
    exists(path) {
      if (path.split('/').includes('..')) return false;
      return existsSync(join(root, path));
    },
  };
}
