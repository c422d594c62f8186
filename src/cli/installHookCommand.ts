import { realpathSync } from 'node:fs';
import { chmod, lstat, readFile, readlink, rm, writeFile } from 'node:fs/promises';
import { join, relative, resolve, sep } from 'node:path';
import { parseArgs } from 'node:util';
import { CHAIN_SCRIPT_NAME, chainLine, chainScript, isOwnHook, preHookScript } from '../core/gate/hookScript';
import type { HookScriptOptions } from '../core/gate/hookScript';
import type { GitRunner } from '../node/git';
import { gitTopLevel, runGit } from '../node/git';
import { OutputFileError, makeDirectories, plainReason } from '../node/outputFiles';
import type { CliIo } from './cliIo';
import { EXIT_FAIL, EXIT_OK, EXIT_USAGE, UsageError } from './cliIo';
import { requirePromptRepository } from './promptRepository';
export { INSTALL_HOOK_USAGE } from './usages';

/** What the command needs besides its io; tests pass their own. */
export interface InstallHookDeps {
  git?: GitRunner;
  /** The running CLI's `cli.js`, written into the hook as the last place to find the CLI. */
  cliPath?: string;
}

/**
 * Why the hook file at `path` must not be read or written, or undefined when it may: a symbolic
 * link (writing through it would create or change a file outside the hooks folder, wherever the
 * link points) or a folder.
 */
async function hookFileProblem(path: string, show: (path: string) => string): Promise<string | undefined> {
  let stats;
  try {
    stats = await lstat(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    return `cannot use ${show(path)}: ${plainReason(error)}`;
  }
  if (stats.isSymbolicLink()) {
    const target = await readlink(path).catch(() => '?');
    return `${show(path)} is a symbolic link (to ${target}): prompt-ci never writes through one; remove the link, or install the hook by hand`;
  }
  if (stats.isDirectory()) return `${show(path)} is a folder, not a hook file: remove or rename it, then run install-hook again`;
  return undefined;
}

async function readIfExists(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/** The running CLI as a file `node` can run, or undefined (in-process tests run the TypeScript source). */
function installedCli(cliPath: string | undefined): string | undefined {
  if (!cliPath || !cliPath.endsWith('.js')) return undefined;
  try {
    return realpathSync(cliPath);
  } catch {
    return undefined;
  }
}

/**
 * `prompt-ci install-hook`: writes a `pre-push` hook that runs `prompt-ci gate`, in the hooks
 * directory git uses (`core.hooksPath` when set). A pre-push hook it didn't write is never touched:
 * it writes `prompt-ci-pre-push` next to it instead and prints the line that chains it. `--uninstall`
 * removes only what it wrote. Exit 0 done, 1 when a foreign hook is in the way, 2 outside a
 * repository.
 */
export async function runInstallHookCommand(argv: string[], io: CliIo, deps: InstallHookDeps = {}): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: { uninstall: { type: 'boolean', default: false } },
    allowPositionals: true,
    strict: true,
  });
  if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
  const git = deps.git ?? runGit;

  const repoRoot = requirePromptRepository(io.cwd);
  const topLevel = await gitTopLevel(git, repoRoot);
  if (topLevel === undefined) {
    io.stderr(`prompt-ci install-hook: ${repoRoot} is not in a git repository (run git init first)\n`);
    return EXIT_USAGE;
  }
  // --git-path follows core.hooksPath (relative to the top level, as git runs hooks there) and linked worktrees.
  const hooksDir = resolve(topLevel, (await git(['rev-parse', '--git-path', 'hooks'], { cwd: topLevel })).toString('utf8').trim());
  const show = (path: string): string => {
    const rel = relative(io.cwd, path);
    return (rel.startsWith('..') ? path : rel).split(sep).join('/');
  };
  const hookPath = join(hooksDir, 'pre-push');
  const chainPath = join(hooksDir, CHAIN_SCRIPT_NAME);
  for (const path of [hookPath, chainPath]) {
    const problem = await hookFileProblem(path, show);
    if (problem) {
      io.stderr(`prompt-ci install-hook: ${problem}\n`);
      return EXIT_USAGE;
    }
  }
  const hook = await readIfExists(hookPath);
  const chain = await readIfExists(chainPath);

  if (values.uninstall) {
    const removed: string[] = [];
    if (hook !== undefined && isOwnHook(hook)) {
      await rm(hookPath);
      removed.push(show(hookPath));
    }
    if (chain !== undefined && isOwnHook(chain)) {
      await rm(chainPath);
      removed.push(show(chainPath));
    }
    if (removed.length > 0) io.stdout(`removed ${removed.join(' and ')}\n`);
    if (hook !== undefined && !isOwnHook(hook)) {
      io.stdout(
        `${show(hookPath)} was not written by prompt-ci: left as it is${chain !== undefined && isOwnHook(chain) ? `; remove the line that calls ${CHAIN_SCRIPT_NAME} from it` : ''}\n`,
      );
    }
    if (removed.length === 0 && hook === undefined) io.stdout(`no prompt-ci hook in ${show(hooksDir)}: nothing to remove\n`);
    return EXIT_OK;
  }

  const promptRoot = relative(realpathSync(topLevel), realpathSync(repoRoot)).split(sep).join('/');
  // In the bundle, this module is dist/cli/installHookCommand.js: the CLI that is running is dist/cli.js.
  const options: HookScriptOptions = { promptRoot, installedCli: installedCli(deps.cliPath ?? join(__dirname, '..', 'cli.js')) };
  const write = async (path: string, text: string): Promise<void> => {
    await makeDirectories(hooksDir, show(path));
    try {
      // `wx` after removing our own old copy: never follows a link planted in between.
      await rm(path, { force: true });
      await writeFile(path, text, { encoding: 'utf8', flag: 'wx', mode: 0o755 });
      await chmod(path, 0o755);
    } catch (error) {
      throw new OutputFileError(`cannot write ${show(path)}: ${plainReason(error)}`, path);
    }
  };

  if (hook !== undefined && !isOwnHook(hook)) {
    await write(chainPath, chainScript(options));
    io.stdout(
      [
        `${show(hookPath)} already exists and was not written by prompt-ci: left as it is.`,
        `The gate is in ${show(chainPath)}; to run it before each push, add this line to ${show(hookPath)}:`,
        '',
        `    ${chainLine()}`,
        '',
      ].join('\n'),
    );
    return EXIT_FAIL;
  }

  await write(hookPath, preHookScript(options));
  io.stdout(
    [
      `${hook !== undefined ? 'updated' : 'installed'} ${show(hookPath)}: \`git push\` now runs \`prompt-ci gate\`${promptRoot ? ` in ${promptRoot}` : ''} and stops when a changed prompt regresses`,
      'skip it once with `git push --no-verify`; remove it with `prompt-ci install-hook --uninstall`',
      '',
    ].join('\n'),
  );
  return EXIT_OK;
}
