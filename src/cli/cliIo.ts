/** What a CLI command may touch of its process: streams, environment, working directory. Passed in so tests can drive commands in-process. */
export interface CliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  /** True when stdout is a terminal (progress lines are drawn only then). */
  isTty: boolean;
  env: Record<string, string | undefined>;
  cwd: string;
  /** Aborted on Ctrl-C. */
  signal: AbortSignal;
}

/** Exit codes shared by every command: 0 success/pass, 1 findings/blocked, 2 usage or environment error. */
export const EXIT_OK = 0;
export const EXIT_FAIL = 1;
export const EXIT_USAGE = 2;

/** A usage error: printed on stderr with the command's usage line, exit code 2. */
export class UsageError extends Error {
  /** Marks a usage error across bundles: each command's bundle has its own copy of this class. */
  readonly usageError = true;
}

/** True for a {@link UsageError} from any bundle (`instanceof` sees only its own bundle's class). */
export function isUsageError(error: unknown): boolean {
  return error instanceof Error && (error as { usageError?: unknown }).usageError === true;
}
