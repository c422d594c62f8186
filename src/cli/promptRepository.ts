import { findRepoRoot } from '../node/repoFiles';

/** A command run where no prompt repository is: exit 2, without the usage line (the command was called rightly, in the wrong place). */
export class NoPromptRepositoryError extends Error {
  override name = 'NoPromptRepositoryError';
}

/**
 * The prompt repository holding `start` (the nearest folder upward with prompt-ci.yaml or a
 * prompts/ directory), or a {@link NoPromptRepositoryError}; `shown` names `start` in the message
 * when the user gave it.
 */
export function requirePromptRepository(start: string, shown?: string): string {
  const root = findRepoRoot(start);
  if (!root) throw new NoPromptRepositoryError(`${shown !== undefined ? `${shown}: ` : ''}no prompt repository here (looked upward for prompt-ci.yaml or a prompts/ directory)`);
  return root;
}
