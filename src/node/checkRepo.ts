import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { checkRepository } from '../core/check';
import type { FileFinding } from '../core/finding';
import { parseRepoSettings } from '../core/repoSettings';
import type { RepoSettings } from '../core/repoSettings';
import { diskSnapshot, listRepoFiles } from './repoFiles';

/** Reads `prompt-ci.yaml` at the repository root (defaults when absent), with any problems it has. */
export function readRepoSettings(root: string): { settings: RepoSettings; problems: string[] } {
  let text: string | undefined;
  try {
    text = readFileSync(join(root, 'prompt-ci.yaml'), 'utf8');
  } catch {
    text = undefined;
  }
  return parseRepoSettings(text);
}

/** Every finding for the repository at `root`, read from disk: what `prompt-ci check` prints. */
export async function checkRepoOnDisk(root: string): Promise<{ findings: FileFinding[]; settings: RepoSettings; settingsProblems: string[] }> {
  const { settings, problems } = readRepoSettings(root);
  const snapshot = diskSnapshot(root, listRepoFiles(root, 'prompts'));
  const { findings } = checkRepository(snapshot);
  return { findings, settings, settingsProblems: problems };
}
