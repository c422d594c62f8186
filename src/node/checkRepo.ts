import { join } from 'node:path';
import type { FileFinding } from '../core/finding';
import { parseRepoSettings } from '../core/repoSettings';
import type { RepoSettings } from '../core/repoSettings';
import { readPromptFileSync } from './promptFileRead';
import { RepoIndex } from './repoIndex';
import { diskSnapshot, listRepoFiles } from './repoFiles';
import { createSourceParser } from './treeSitter';
import type { SourceParser } from './treeSitter';

/** Reads `prompt-ci.yaml` at the repository root (defaults when absent), with its problems and warnings (see parseRepoSettings). */
export function readRepoSettings(root: string): { settings: RepoSettings; problems: string[]; warnings: string[] } {
  const read = readPromptFileSync(join(root, 'prompt-ci.yaml'), 'prompt-ci.yaml');
  if (read.kind === 'refused') return { ...parseRepoSettings(undefined), problems: [read.message] };
  return parseRepoSettings(read.kind === 'text' ? read.text : undefined);
}

/** Every finding for the repository at `root`, read from disk: what `prompt-ci check` prints. */
export async function checkRepoOnDisk(
  root: string,
  options: { parser?: SourceParser } = {},
): Promise<{ findings: FileFinding[]; settings: RepoSettings; settingsProblems: string[] }> {
  const { settings, problems, warnings } = readRepoSettings(root);
  const parser = options.parser ?? (await createSourceParser());
  try {
    const index = new RepoIndex(root, diskSnapshot(root, listRepoFiles(root)), settings, parser, [...problems, ...warnings]);
    index.build();
    return { findings: index.allFindings(), settings, settingsProblems: problems };
  } finally {
    if (!options.parser) parser.dispose();
  }
}
