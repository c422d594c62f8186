import { existsSync } from 'node:fs';
import { join, relative, resolve, sep } from 'node:path';
import { parseArgs } from 'node:util';
import * as z from 'zod';
import { sortFindings } from '../core/check';
import type { FileFinding } from '../core/finding';
import { discoverPrompts } from '../core/promptLayout';
import { INDEX_CACHE_DIR, checkRepoOnDisk, readRepoSettings } from '../node/checkRepo';
import { checkControlPlanePolicies } from '../node/controlPlanePolicies';
import { runGit } from '../node/git';
import { checkReleasedVersions, findReleaseChanges, versionDirsRemovedSinceRelease } from '../node/releasedVersions';
import { listRepoFiles, toRepoPath } from '../node/repoFiles';
import type { CliIo } from './cliIo';
import { EXIT_FAIL, EXIT_OK, UsageError } from './cliIo';
import { findingsToGithub, findingsToJson, findingsToText } from './findingsFormat';
import type { FindingsFormat } from './findingsFormat';
import { CHECK_FORMAT } from './options';
import { requirePromptRepository } from './promptRepository';
import { startupCacheDisabled } from './startupCache';
export { CHECK_USAGE } from './usages';

/**
 * `prompt-ci check`: validates every prompt version of the repositories holding PATHs (default:
 * the current directory) and prints the findings under those paths. Exit 0 clean, 1 errors.
 */
export async function runCheckCommand(argv: string[], io: CliIo, env: Record<string, string | undefined> = process.env): Promise<number> {
  // zod compiles a parser for each object schema (new Function) the first time it parses with it,
  // which pays off over many objects; check validates one prompt-ci.yaml and a few metadata.yaml.
  z.config({ jitless: true });
  const { values, positionals } = parseArgs({
    args: argv,
    options: { ...CHECK_FORMAT.spec },
    allowPositionals: true,
    strict: true,
  });
  const format: FindingsFormat = CHECK_FORMAT.read(values);

  const targets = (positionals.length ? positionals : ['.']).map((p) => resolve(io.cwd, p));
  const byRoot = new Map<string, string[]>();
  for (const target of targets) {
    if (!existsSync(target)) throw new UsageError(`${relative(io.cwd, target) || target}: no such file or directory`);
    const root = requirePromptRepository(target, relative(io.cwd, target) || '.');
    byRoot.set(root, [...(byRoot.get(root) ?? []), toRepoPath(root, target) ?? '']);
  }

  const shown: Array<FileFinding & { root: string }> = [];
  const statusLines: string[] = [];
  let versionCount = 0;
  for (const [root, scopes] of byRoot) {
    const settings = readRepoSettings(root);
    // git's answers (the release base, what changed since) are asked once, while the repository is read and parsed.
    const release = findReleaseChanges(root, settings.settings, runGit);
    release.catch(() => undefined); // awaited below, where a rejection is reported
    const { findings: repoFindings } = await checkRepoOnDisk(root, { settings, cacheDir: startupCacheDisabled(env) ? undefined : join(root, INDEX_CACHE_DIR), unoptimisedGrammarsWhenSmall: true });
    // The control plane's policies (a serving version deleted, pins on retiring models or expiring): checked, or said why not.
    const removed = await versionDirsRemovedSinceRelease(root, settings.settings, runGit, release);
    const controlPlane = await checkControlPlanePolicies({ repoRoot: root, settings: settings.settings, env, removed });
    statusLines.push(controlPlane.status);
    const findings = [...repoFindings, ...(await checkReleasedVersions(root, settings.settings, runGit, release)), ...controlPlane.findings];
    const inScope = (file: string): boolean => scopes.some((s) => s === '' || file === s || file.startsWith(`${s}/`));
    const touches = (dir: string): boolean => inScope(dir) || scopes.some((s) => s.startsWith(`${dir}/`));
    versionCount += discoverPrompts(listRepoFiles(root, 'prompts')).versions.filter((v) => touches(v.dir)).length;
    // A directory that is not a prompt or a version (an invalid name): its finding counts for the paths below it too.
    const covers = (f: FileFinding): boolean =>
      inScope(f.file) || ((f.code === 'layout/invalid-name' || f.code === 'layout/invalid-version-dir') && scopes.some((s) => s.startsWith(`${f.file}/`)));
    for (const f of findings) if (covers(f)) shown.push({ ...f, root });
  }
  sortFindings(shown);

  // Text and annotations name files as the user's terminal (or the workflow's checkout) can open them.
  const forDisplay = shown.map(({ root, ...f }) => ({ ...f, file: relative(io.cwd, resolve(root, f.file)).split(sep).join('/') }));
  // First, so the summary stays the last line; JSON and annotations keep stdout to themselves, so there it goes to stderr.
  for (const line of statusLines) (format === 'text' ? io.stdout : io.stderr)(`${line}\n`);
  if (format === 'json') io.stdout(findingsToJson(shown.map(({ root: _root, ...f }) => f)));
  else if (format === 'github') io.stdout(findingsToGithub(forDisplay));
  else io.stdout(findingsToText(forDisplay, versionCount));

  return shown.some((f) => f.severity === 'error') ? EXIT_FAIL : EXIT_OK;
}
