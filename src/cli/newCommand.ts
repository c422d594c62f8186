import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { versionOfDirName } from '../core/promptLayout';
import { createNextVersion } from '../node/newVersion';
import { findRepoRoot, toRepoPath } from '../node/repoFiles';
import type { CliIo } from './cliIo';
import { EXIT_OK, UsageError } from './cliIo';
import { JSON_OUTPUT } from './options';
export { NEW_USAGE } from './usages';

/** Where PROMPT_DIR points: a prompt (`prompts/<name>`: copy its highest version) or one version (`prompts/<name>/v<N>`). */
function promptOf(rel: string): { name: string; version?: number } | undefined {
  const parts = rel.split('/');
  if (parts[0] !== 'prompts' || parts.length < 2 || parts.length > 3) return undefined;
  if (parts.length === 2) return { name: parts[1] };
  const version = versionOfDirName(parts[2]);
  return version !== undefined ? { name: parts[1], version } : undefined;
}

/**
 * `prompt-ci new PROMPT_DIR`: copies `prompts/<name>/v<N>` to `v<N+1>` with `version` bumped
 * (the highest version when PROMPT_DIR is the prompt itself). Exit 0 created, 1 refused (the target
 * exists, the metadata is unreadable), 2 usage.
 */
export async function runNewCommand(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: { ...JSON_OUTPUT.spec },
    allowPositionals: true,
    strict: true,
  });
  if (positionals.length !== 1) throw new UsageError(positionals.length === 0 ? 'PROMPT_DIR is required' : `unexpected argument "${positionals[1]}"`);
  const arg = positionals[0];
  const abs = resolve(io.cwd, arg);
  if (!existsSync(abs) || !statSync(abs).isDirectory()) throw new UsageError(`${arg}: no such directory`);
  const root = findRepoRoot(abs);
  const rel = root === undefined ? undefined : toRepoPath(root, abs);
  const target = rel === undefined ? undefined : promptOf(rel);
  if (!root || !target) {
    throw new UsageError(`${arg} is not a prompt (prompts/<name>) or prompt version (prompts/<name>/v<N>) directory of a repository`);
  }
  // A refusal (the target exists, the metadata is unreadable) is a NewVersionError: exit 1 through the error map.
  const created = await createNextVersion(root, target.name, { fromVersion: target.version });
  if (JSON_OUTPUT.read(values)) {
    io.stdout(`${JSON.stringify({ from: created.fromDir, to: created.toDir, version: created.toVersion, files: created.files })}\n`);
  } else {
    io.stdout(
      `created ${created.toDir} from ${created.fromDir} (version: ${created.toVersion}; ${created.files.join(', ')})\n` +
        `next: edit ${created.toDir}/system.md, then prompt-ci eval ${created.toDir}\n`,
    );
  }
  return EXIT_OK;
}
