import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** The built CLI, as a user runs it: `node dist/cli.js`. */
export const CLI = join(__dirname, '..', '..', 'dist', 'cli.js');

/** What one run of the CLI printed and returned. */
export interface CliRun {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the built CLI in `cwd` with `args`, with no API key in its environment unless given. */
export function runCli(args: string[], cwd: string, env: Record<string, string> = {}): CliRun {
  const result = spawnSync(process.execPath, [CLI, ...args], {
    cwd,
    encoding: 'utf8',
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
    timeout: 120_000,
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** A fresh copy of a fixture repository in a temporary folder (tests never write into the repo). */
export function copyFixture(relativePath: string): string {
  const target = mkdtempSync(join(tmpdir(), 'prompt-ci-cli-'));
  cpSync(join(__dirname, '..', '..', relativePath), target, { recursive: true });
  return target;
}
