import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { callSiteSourceMatcher, sourceLanguageForPath } from '../core/callSites';
import { checkRepository, crossCheckRepository } from '../core/check';
import type { LocatedCallSite } from '../core/crossCheck';
import type { FileFinding } from '../core/finding';
import { START_OF_FILE } from '../core/finding';
import { parseRepoSettings } from '../core/repoSettings';
import type { RepoSettings } from '../core/repoSettings';
import type { RepoSnapshot } from '../core/check';
import { diskSnapshot, listRepoFiles } from './repoFiles';
import { createSourceParser } from './treeSitter';
import type { SourceParser } from './treeSitter';

/** Source files larger than this are not parsed for call sites (generated bundles, vendored code). */
export const MAX_SOURCE_BYTES = 1024 * 1024;

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

/** The call sites of one source file, located; empty for files that aren't sources or are too large. */
export function callSitesOfFile(parser: SourceParser, settings: RepoSettings, path: string, text: string): LocatedCallSite[] {
  const language = sourceLanguageForPath(path);
  if (!language || text.length > MAX_SOURCE_BYTES) return [];
  return parser.callSitesOf(text, language, settings.callSites.functions).map((site) => ({ ...site, file: path }));
}

/** The source files of a repository whose calls count as call sites under `settings`. */
export function callSiteSources(paths: readonly string[], settings: RepoSettings): string[] {
  const matches = callSiteSourceMatcher(settings.callSites);
  return paths.filter((p) => sourceLanguageForPath(p) !== undefined && matches(p));
}

/** Every finding of a repository snapshot: layout, metadata, eval sets, templates, and the cross-check with the calling code. */
export function checkSnapshot(snapshot: RepoSnapshot, settings: RepoSettings, parser: SourceParser): FileFinding[] {
  const { versions, findings } = checkRepository(snapshot);
  const callSites: LocatedCallSite[] = [];
  for (const path of callSiteSources(snapshot.paths, settings)) {
    const text = snapshot.read(path);
    if (text !== undefined) callSites.push(...callSitesOfFile(parser, settings, path, text));
  }
  for (const list of crossCheckRepository(versions, callSites).values()) findings.push(...list);
  return findings;
}

/** Every finding for the repository at `root`, read from disk: what `prompt-ci check` prints. */
export async function checkRepoOnDisk(
  root: string,
  options: { parser?: SourceParser } = {},
): Promise<{ findings: FileFinding[]; settings: RepoSettings; settingsProblems: string[] }> {
  const { settings, problems } = readRepoSettings(root);
  const parser = options.parser ?? (await createSourceParser());
  try {
    const findings = checkSnapshot(diskSnapshot(root, listRepoFiles(root)), settings, parser);
    for (const problem of problems) {
      findings.push({ file: 'prompt-ci.yaml', code: 'settings/invalid', severity: 'warning', range: START_OF_FILE, message: problem });
    }
    return { findings, settings, settingsProblems: problems };
  } finally {
    if (!options.parser) parser.dispose();
  }
}
