import { cp, mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { planNewVersion } from '../core/newVersion';
import { PROMPT_NAME_PATTERN, versionNumbersIn } from '../core/promptLayout';
import type { NewVersionPlan, NewVersionRefusal } from '../core/newVersion';
import { readPromptFile, symlinkRefusal } from './promptFileRead';

/** A new version could not be made: the target exists, the source is missing or its metadata is unreadable. */
export class NewVersionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NewVersionError';
  }
}

/** What `createNextVersion` did. */
export interface CreatedVersion extends NewVersionPlan {
  /** Absolute path of the new directory. */
  absoluteDir: string;
  /** File names written into it (sorted). */
  files: string[];
}

/** Options of `createNextVersion`. */
export interface CreateVersionOptions {
  /** The version to copy; undefined: the highest. */
  fromVersion?: number;
  /**
   * Texts to write instead of the source's files, by file name (`system.md`…): an editor's unsaved
   * text, or an edit of a released version being moved into the new one. `metadata.yaml` given here
   * is bumped like the source's.
   */
  overrides?: Readonly<Record<string, string>>;
  /** Number the new version one above the prompt's highest, whichever version it copies. */
  afterHighest?: boolean;
}

async function versionsOf(promptAbs: string): Promise<number[]> {
  let entries;
  try {
    entries = await readdir(promptAbs, { withFileTypes: true });
  } catch {
    return [];
  }
  return versionNumbersIn(entries.filter((e) => e.isDirectory()).map((e) => e.name));
}

/**
 * Copies `prompts/<name>/v<N>` of the repository at `root` to `v<N+1>` with `version` bumped.
 * Never overwrites: creating the target directory is the claim on it, and a failure part-way
 * removes what was written. Files other than metadata.yaml are copied byte for byte.
 */
export async function createNextVersion(root: string, name: string, options: CreateVersionOptions = {}): Promise<CreatedVersion> {
  if (!PROMPT_NAME_PATTERN.test(name)) throw new NewVersionError(`"${name}" is not a prompt name: use lower-case letters, digits, "_" and "-"`);
  const promptAbs = join(root, 'prompts', name);
  const existingVersions = await versionsOf(promptAbs);
  const fromVersion = options.fromVersion ?? (existingVersions.length > 0 ? Math.max(...existingVersions) : undefined);
  const fromAbs = join(promptAbs, `v${fromVersion}`);
  let metadataYaml = options.overrides?.['metadata.yaml'];
  if (fromVersion !== undefined && existingVersions.includes(fromVersion)) {
    // Links are refused, not copied or read through: a linked file's target would become a regular file of the repository.
    const fromDir = `prompts/${name}/v${fromVersion}`;
    const linked = (await readdir(fromAbs, { withFileTypes: true })).filter((e) => e.isSymbolicLink()).map((e) => `${fromDir}/${e.name}`);
    if (linked.length > 0) throw new NewVersionError(linked.map((path) => symlinkRefusal(path)).join('; '));
  }
  if (metadataYaml === undefined && fromVersion !== undefined && existingVersions.includes(fromVersion)) {
    const read = await readPromptFile(join(fromAbs, 'metadata.yaml'), `prompts/${name}/v${fromVersion}/metadata.yaml`, root);
    if (read.kind === 'refused') throw new NewVersionError(read.message);
    if (read.kind === 'missing') throw new NewVersionError(`prompts/${name}/v${fromVersion} has no metadata.yaml to copy`);
    metadataYaml = read.text;
  }
  const plan: NewVersionPlan | NewVersionRefusal = planNewVersion({ name, fromVersion, existingVersions, metadataYaml: metadataYaml ?? '', afterHighest: options.afterHighest });
  if ('refused' in plan) throw new NewVersionError(plan.message);

  const toAbs = join(promptAbs, `v${plan.toVersion}`);
  try {
    await mkdir(toAbs); // not recursive: fails when another process made it first
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') {
      throw new NewVersionError(`${plan.toDir} already exists and is never overwritten`);
    }
    throw new NewVersionError(`could not create ${plan.toDir}: ${(error as Error).message}`);
  }
  try {
    const entries = await readdir(fromAbs, { withFileTypes: true });
    const files: string[] = [];
    for (const entry of entries) {
      const target = join(toAbs, entry.name);
      if (entry.name === 'metadata.yaml') continue;
      const override = options.overrides?.[entry.name];
      if (override !== undefined) await writeFile(target, override, 'utf8');
      else await cp(join(fromAbs, entry.name), target, { recursive: true, errorOnExist: true, force: false });
      files.push(entry.name);
    }
    for (const [file, text] of Object.entries(options.overrides ?? {})) {
      if (file === 'metadata.yaml' || files.includes(file)) continue;
      if (file.includes('/') || file.includes('\\') || file.startsWith('.')) throw new NewVersionError(`"${file}" is not a file name of a prompt version`);
      await writeFile(join(toAbs, file), text, 'utf8');
      files.push(file);
    }
    await writeFile(join(toAbs, 'metadata.yaml'), plan.metadataYaml, 'utf8');
    files.push('metadata.yaml');
    return { ...plan, absoluteDir: toAbs, files: files.sort() };
  } catch (error) {
    await rm(toAbs, { recursive: true, force: true });
    if (error instanceof NewVersionError) throw error;
    throw new NewVersionError(`could not copy ${plan.fromDir} to ${plan.toDir}: ${(error as Error).message}`);
  }
}
