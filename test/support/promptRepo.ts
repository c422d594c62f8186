import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * A git repository in a temporary folder holding the example prompts (summarisation v1 and v2,
 * classification v1), committed once: what the runtime, bundle and rollout tests start from.
 */
export function makePromptRepo(): { root: string; commit: string; git: (...args: string[]) => string } {
  const root = mkdtempSync(join(tmpdir(), 'prompt-ci-rt-'));
  const repo = join(__dirname, '..', '..');
  cpSync(join(repo, 'examples', 'prompts'), join(root, 'prompts'), { recursive: true });
  cpSync(join(repo, 'examples', 'schemas'), join(root, 'schemas'), { recursive: true });
  const git = (...args: string[]) =>
    execFileSync('git', args, {
      cwd: root,
      encoding: 'utf8',
      env: { ...process.env, GIT_AUTHOR_NAME: 'Test', GIT_AUTHOR_EMAIL: 'test@example.com', GIT_COMMITTER_NAME: 'Test', GIT_COMMITTER_EMAIL: 'test@example.com' },
    }).trim();
  git('init', '-q', '-b', 'main');
  git('config', 'user.email', 'dev@example.com');
  git('add', '-A');
  git('commit', '-q', '-m', 'prompts');
  return { root, commit: git('rev-parse', 'HEAD'), git };
}
