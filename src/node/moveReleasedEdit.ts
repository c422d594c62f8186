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
  /** The edited files (differing from the released text), by file name, with the working tree's text. */
  edited: Record<string, string>;
  /** The released text each edited file is restored to. */
  released: Record<string, string>;
}

/**
 * The edit of released version `dir` (repo-relative, `prompts/<name>/v<N>`): its files that differ
 * from the texts the released-version findings compare with (see `releasedTextsOf`). Reads only.
 */
export async function planMoveEdit(repoRoot: string, settings: RepoSettings, dir: string, git: GitRunner = runGit): Promise<MoveEditPlan> {
  const [top, name, v, ...rest] = dir.split('/');
  const version = v === undefined ? undefined : versionOfDirName(v);
  if (top !== 'prompts' || !name || version === undefined || rest.length > 0) throw new MoveEditError(`${dir} is not a prompt version directory (prompts/<name>/v<N>)`);
  const base = await findReleaseBase(repoRoot, settings, git);
  if (!base) throw new MoveEditError(`${dir} is not released: there is no baseline ref (baselineRef in prompt-ci.yaml, origin/main or main) to compare with`);
  const releasedTexts: VersionTexts | undefined = await releasedTextsOf(repoRoot, base, dir, git);
  if (!releasedTexts) throw new MoveEditError(`${dir} is not released: it is not on ${base.baseRef}, so it can be edited in place`);
  const edited: Record<string, string> = {};
  const released: Record<string, string> = {};
  for (const file of RELEASED_VERSION_FILES) {
    const before = releasedTexts[file];
    const now = await readFile(join(repoRoot, dir, file), 'utf8').catch(() => undefined);
    if (before === undefined || now === undefined || before === now) continue;
    edited[file] = now;
    released[file] = before;
  }
  if (Object.keys(edited).length === 0) throw new MoveEditError(`${dir} holds no edit of its released files (${RELEASED_VERSION_FILES.join(', ')}): nothing to move`);
  const dirs = (await readdir(join(repoRoot, 'prompts', name), { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => e.name);
  const toVersion = Math.max(version, ...versionNumbersIn(dirs)) + 1;
  return { dir, name, version, toVersion, baseRef: base.baseRef, edited, released };
}

/**
 * Moves the edit of a released version into a new version: creates `v<N+1>` (one above the highest)
 * from `dir` with the edited texts, then writes the released texts back into `dir`. The new
 * directory is made first, so a failure leaves the edit where it was. Never touches git's index or
 * HEAD. A deleted file is not moved (restoring it is `git checkout`'s job).
 */
export async function moveEditToNewVersion(repoRoot: string, plan: MoveEditPlan): Promise<CreatedVersion> {
  let created: CreatedVersion;
  try {
    created = await createNextVersion(repoRoot, plan.name, { fromVersion: plan.version, overrides: plan.edited, afterHighest: true });
  } catch (error) {
    if (error instanceof NewVersionError) throw new MoveEditError(error.message);
    throw error;
  }
  for (const [file, text] of Object.entries(plan.released)) {
    try {
      await writeFile(join(repoRoot, plan.dir, file), text, 'utf8');
    } catch (error) {
      throw new MoveEditError(`${created.toDir} was created, but ${plan.dir}/${file} could not be restored to its released text: ${(error as Error).message}`);
    }
  }
  return created;
}
