import { readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { VersionTexts } from '../core/gate/releasedVersions';
import { versionNumbersIn, versionOfDirName } from '../core/promptLayout';
import type { RepoSettings } from '../core/repoSettings';
import type { GitRunner } from './git';
import { runGit } from './git';
import type { CreatedVersion } from './newVersion';
import { NewVersionError, createNextVersion } from './newVersion';
import { RELEASED_VERSION_FILES, findReleaseBase, releasedTextsOf } from './releasedVersions';

/** The edit can't be moved: the directory isn't a released version, or has no edit to move. */
export class MoveEditError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MoveEditError';
  }
}

/** What a move would do (the plan the confirmation names) and, once done, did. */
export interface MoveEditPlan {
  /** `prompts/summarisation/v1` */
  dir: string;
  name: string;
  version: number;
  /** The version the edit goes to: one above the prompt's highest. */
  toVersion: number;
  /** The ref the version is released on. */
  baseRef: string;
  /** The edited files (differing from the released text), by file name, with their current text (an editor's unsaved text first). */
  edited: Record<string, string>;
  /** Released files that are gone from the directory (and open in no editor): restored, and not in the new version. */
  deleted: string[];
  /** The released text each file is restored to on disk: the edited ones, the deleted ones, and any whose file on disk differs. */
  released: Record<string, string>;
  /** The text the new version gets instead of a copy of the file on disk: the edited files, and any an editor holds unsaved. */
  newTexts: Record<string, string>;
}

/** Options of {@link planMoveEdit}. */
export interface PlanMoveEditOptions {
  /** The current text of a file of the directory, by file name, when an editor holds it unsaved; undefined: the file on disk. */
  unsaved?: (file: string) => string | undefined;
  git?: GitRunner;
}

/**
 * The edit of released version `dir` (repo-relative, `prompts/<name>/v<N>`): its files whose
 * current text (an editor's unsaved text, else the file on disk) differs from the texts the
 * released-version findings compare with (see `releasedTextsOf`), and those deleted. Reads only.
 */
export async function planMoveEdit(repoRoot: string, settings: RepoSettings, dir: string, options: PlanMoveEditOptions = {}): Promise<MoveEditPlan> {
  const git = options.git ?? runGit;
  const [top, name, v, ...rest] = dir.split('/');
  const version = v === undefined ? undefined : versionOfDirName(v);
  if (top !== 'prompts' || !name || version === undefined || rest.length > 0) throw new MoveEditError(`${dir} is not a prompt version directory (prompts/<name>/v<N>)`);
  const base = await findReleaseBase(repoRoot, settings, git);
  if (!base) throw new MoveEditError(`${dir} is not released: there is no baseline ref (baselineRef in prompt-ci.yaml, origin/main or main) to compare with`);
  const releasedTexts: VersionTexts | undefined = await releasedTextsOf(repoRoot, base, dir, git);
  if (!releasedTexts) throw new MoveEditError(`${dir} is not released: it is not on ${base.baseRef}, so it can be edited in place`);
  const edited: Record<string, string> = {};
  const deleted: string[] = [];
  const released: Record<string, string> = {};
  const newTexts: Record<string, string> = {};
  for (const file of RELEASED_VERSION_FILES) {
    const before = releasedTexts[file];
    const onDisk = await readFile(join(repoRoot, dir, file), 'utf8').catch(() => undefined);
    const unsaved = options.unsaved?.(file);
    const now = unsaved ?? onDisk;
    if (unsaved !== undefined) newTexts[file] = unsaved;
    if (before === undefined) continue;
    if (now === undefined) deleted.push(file);
    else if (now !== before) edited[file] = newTexts[file] = now;
    if (onDisk !== before || now !== before) released[file] = before;
  }
  if (Object.keys(edited).length === 0 && deleted.length === 0) {
    throw new MoveEditError(`${dir} holds no edit of its released files (${RELEASED_VERSION_FILES.join(', ')}): nothing to move`);
  }
  // A version needs its metadata.yaml: one deleted from the released version is the new version's too.
  if (deleted.includes('metadata.yaml')) newTexts['metadata.yaml'] = released['metadata.yaml'];
  const dirs = (await readdir(join(repoRoot, 'prompts', name), { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => e.name);
  const toVersion = Math.max(version, ...versionNumbersIn(dirs)) + 1;
  return { dir, name, version, toVersion, baseRef: base.baseRef, edited, deleted, released, newTexts };
}

/**
 * Moves the edit of a released version into a new version: creates `v<N+1>` (one above the highest)
 * from `dir` with the plan's current texts (a file deleted from `dir` stays out of it), then writes
 * the released texts back into `dir`, deleted files included. The new directory is made first, so a
 * failure leaves the edit where it was, or in the new version as well. Never touches git's index or
 * HEAD.
 */
export async function moveEditToNewVersion(repoRoot: string, plan: MoveEditPlan): Promise<CreatedVersion> {
  let created: CreatedVersion;
  try {
    created = await createNextVersion(repoRoot, plan.name, { fromVersion: plan.version, overrides: plan.newTexts, afterHighest: true });
  } catch (error) {
    if (error instanceof NewVersionError) throw new MoveEditError(error.message);
    throw error;
  }
  for (const [file, text] of Object.entries(plan.released)) {
    try {
      await writeFile(join(repoRoot, plan.dir, file), text, 'utf8');
    } catch (error) {
      throw new MoveEditError(`${created.toDir} was created with the edit, but ${plan.dir}/${file} could not be restored to its released text: ${(error as Error).message}`);
    }
  }
  return created;
}
