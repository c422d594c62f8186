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

/** Exit codes shared by every command (DESIGN.md section 6): 0 success/pass, 1 findings/blocked/refused, 2 usage or environment error. */
export const EXIT_OK = 0;
export const EXIT_FAIL = 1;
export const EXIT_USAGE = 2;

/** A usage error: printed on stderr with the command's usage line, exit code 2. */
export class UsageError extends Error {
  override name = 'UsageError';
  /** Marks a usage error across bundles: each command's bundle has its own copy of this class. */
  readonly usageError = true;
}

/** True for a {@link UsageError} from any bundle (`instanceof` sees only its own bundle's class). */
export function isUsageError(error: unknown): boolean {
  return error instanceof Error && (error as { usageError?: unknown }).usageError === true;
}

/**
 * What a thrown error means for the command's exit:
 * - `usage`: the command was called wrongly; printed with its usage line, exit 2.
 * - `refused`: the command worked and says no (a policy, a concurrent change, a version that
 *   exists already); exit 1, like a finding.
 * - `environment`: the repository, its files, git, the model API, the database or an input file
 *   is not as the command needs it; a sentence saying what and what to do, exit 2.
 */
export type ErrorKind = 'usage' | 'refused' | 'environment';

export const EXIT_CODE_OF_KIND: Record<ErrorKind, number> = { usage: EXIT_USAGE, refused: EXIT_FAIL, environment: EXIT_USAGE };

/**
 * The one map from error classes to what they mean, by the class's `name` (each command is a
 * bundle of its own with its own copy of the classes, so `instanceof` cannot be used across them).
 * An error class a command lets escape sets `name` and has its entry here; anything not listed is
 * unexpected.
 */
export const ERROR_KINDS: Readonly<Record<string, ErrorKind>> = {
  UsageError: 'usage',
  // Refusals.
  ControlPolicyError: 'refused',
  ControlConflictError: 'refused',
  NewVersionError: 'refused',
  // The repository and its files.
  NoPromptRepositoryError: 'environment',
  EvalSetupError: 'environment',
  GateSetupError: 'environment',
  BaselineError: 'environment',
  PromptFilesError: 'environment',
  OutputFileError: 'environment',
  GitError: 'environment',
  GitUnavailableError: 'environment',
  // Input files of replay, harvest and the runtime's bundle.
  HarvestError: 'environment',
  SpanError: 'environment',
  ReplayError: 'environment',
  BundleError: 'environment',
  // The model API.
  MissingApiKeyError: 'environment',
  ModelCallError: 'environment',
  // The control plane.
  ControlPlaneError: 'environment',
  ControlInputError: 'environment',
  ShareError: 'environment',
};

/** What `error` means (see {@link ErrorKind}), or undefined for an unexpected error. parseArgs's own errors are usage errors. */
export function errorKindOf(error: unknown): ErrorKind | undefined {
  if (isUsageError(error) || (error as { code?: unknown } | null)?.code?.toString().startsWith('ERR_PARSE_ARGS')) return 'usage';
  if (!(error instanceof Error)) return undefined;
  return Object.prototype.hasOwnProperty.call(ERROR_KINDS, error.name) ? ERROR_KINDS[error.name] : undefined;
}

/** The exit code of a thrown error: its kind's, and 2 for an unexpected one. */
export function exitCodeOfError(error: unknown): number {
  const kind = errorKindOf(error);
  return kind === undefined ? EXIT_USAGE : EXIT_CODE_OF_KIND[kind];
}

/**
 * Prints a thrown error as every command does, `prompt-ci COMMAND: message` on stderr (with the
 * usage line for a usage error), and gives its exit code. An unexpected error is printed the same
 * way: its message, without a stack trace.
 */
export function reportCommandError(io: Pick<CliIo, 'stderr'>, command: string, usage: string, error: unknown): number {
  const message = error instanceof Error ? error.message : String(error);
  io.stderr(`prompt-ci ${command}: ${message}${errorKindOf(error) === 'usage' ? `\nusage: ${usage}` : ''}\n`);
  return exitCodeOfError(error);
}
