import { existsSync, readFileSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';
import type { PromptBundle, VersionSource } from '../../core/runtime/bundle';
import { BundleError, buildBundle, parseBundle } from '../../core/runtime/bundle';
import { discoverPrompts } from '../../core/promptLayout';
import { readPromptFileSync } from '../promptFileRead';
import { isLink, listRepoFiles } from '../repoFiles';

/**
 * Where the runtime's prompts come from at start: a bundle file of `prompt-ci bundle`, or, in
 * development, a `prompts/` directory read from disk with the commit of the repository's HEAD.
 * Nothing here runs git: HEAD is read from the `.git` files, so the runtime never spawns a process.
 */

/** The largest bundle file read: prompts are text, and a bundle of every version of a large repository is a few MiB. */
export const MAX_BUNDLE_BYTES = 64 * 1024 * 1024;

/** The prompt versions of a repository's working tree (`prompts/<name>/v<N>/`). */
export function readPromptTree(repoRoot: string): VersionSource[] {
  // Through the one reader: a linked system.md (or version directory) would otherwise be packed into the production bundle.
  const layout = discoverPrompts(listRepoFiles(repoRoot, 'prompts'), { linked: (path) => isLink(join(repoRoot, path)) });
  const linked = layout.findings.find((f) => f.code === 'file/refused');
  if (linked) throw new BundleError(linked.message);
  const read = (path: string | undefined): string | undefined => {
    if (path === undefined) return undefined;
    const file = readPromptFileSync(join(repoRoot, path), path, repoRoot);
    if (file.kind === 'refused') throw new BundleError(file.message);
    if (file.kind === 'text' && file.invalidUtf8At !== undefined) throw new BundleError(`${path} is not valid UTF-8 (first bad byte at offset ${file.invalidUtf8At})`);
    return file.kind === 'text' ? file.text : undefined;
  };
  return layout.versions.map((v) => ({
    name: v.name,
    version: v.version,
    dir: v.dir,
    system: read(v.files['system.md']),
    userTemplate: read(v.files['user.template.md']),
    metadataYaml: read(v.files['metadata.yaml']),
  }));
}

/**
 * The commit HEAD names, read from the repository's `.git` (a worktree's `.git` file, symbolic
 * refs, loose and packed refs). Undefined when `repoRoot` is not inside a git repository.
 */
export function readHeadCommit(repoRoot: string): string | undefined {
  let dir = resolve(repoRoot);
  let gitDir: string | undefined;
  for (;;) {
    const candidate = join(dir, '.git');
    if (existsSync(candidate)) {
      gitDir = candidate;
      break;
    }
    const parent = dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
  if (statSync(gitDir).isFile()) {
    const pointer = /^gitdir:\s*(.+)$/m.exec(readFileSync(gitDir, 'utf8'));
    if (!pointer) return undefined;
    gitDir = isAbsolute(pointer[1].trim()) ? pointer[1].trim() : resolve(dir, pointer[1].trim());
  }
  // A linked worktree keeps HEAD in its own folder and refs in the common one.
  const commonFile = join(gitDir, 'commondir');
  const commonDir = existsSync(commonFile) ? resolve(gitDir, readFileSync(commonFile, 'utf8').trim()) : gitDir;
  let head = readFileSync(join(gitDir, 'HEAD'), 'utf8').trim();
  for (let depth = 0; depth < 5; depth++) {
    if (/^[0-9a-f]{40,64}$/.test(head)) return head;
    const ref = /^ref:\s*(.+)$/.exec(head)?.[1]?.trim();
    if (!ref) return undefined;
    const loose = [join(gitDir, ref), join(commonDir, ref)].find((p) => existsSync(p));
    if (loose) {
      head = readFileSync(loose, 'utf8').trim();
      continue;
    }
    const packed = join(commonDir, 'packed-refs');
    if (!existsSync(packed)) return undefined;
    const line = readFileSync(packed, 'utf8').split('\n').find((l) => l.endsWith(` ${ref}`));
    return line?.split(' ')[0];
  }
  return undefined;
}

/** A loaded prompt source. */
export interface LoadedPrompts {
  bundle: PromptBundle;
  /** `bundle` for a bundle file, `directory` for a prompts/ folder. */
  kind: 'bundle' | 'directory';
  /** The repository root (directory mode) or the bundle file's folder. */
  baseDir: string;
}

/**
 * Loads the runtime's prompts from a bundle file or a `prompts/` directory (or a repository root holding one).
 * @throws BundleError with what is wrong and what to do.
 */
export async function loadPrompts(path: string, cwd = process.cwd()): Promise<LoadedPrompts> {
  const absolute = resolve(cwd, path);
  let info;
  try {
    info = statSync(absolute);
  } catch {
    throw new BundleError(`prompts: ${path} does not exist; give a bundle file from \`prompt-ci bundle\` or a prompts/ directory`);
  }
  if (info.isFile()) {
    // Read whole, so bounded first: a huge file would otherwise fail deep in the string code instead of with a sentence.
    if (info.size > MAX_BUNDLE_BYTES) {
      throw new BundleError(`prompts: ${path} is ${info.size} bytes; a prompt bundle over ${MAX_BUNDLE_BYTES} bytes (64 MiB) is refused unread: give the file \`prompt-ci bundle\` wrote`);
    }
    return { bundle: parseBundle(await readFile(absolute, 'utf8'), path), kind: 'bundle', baseDir: dirname(absolute) };
  }
  const repoRoot = basename(absolute) === 'prompts' ? dirname(absolute) : absolute;
  if (!existsSync(join(repoRoot, 'prompts'))) throw new BundleError(`prompts: ${path} is a directory without prompts/; give a bundle file or a prompts/ directory`);
  const commitSha = readHeadCommit(repoRoot);
  if (!commitSha) {
    throw new BundleError(`prompts: ${path} is not inside a git repository with a commit, so spans could not name one; commit the prompts, or use a bundle from \`prompt-ci bundle\``);
  }
  const bundle = buildBundle({
    versions: readPromptTree(repoRoot),
    commitSha,
    // Whether the files differ from HEAD is not checked without git: a directory is for development.
    dirty: false,
    builtAt: new Date().toISOString(),
    exists: (p) => existsSync(join(repoRoot, p)),
  });
  return { bundle, kind: 'directory', baseDir: repoRoot };
}
