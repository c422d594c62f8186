/**
 * Fixture repositories: a fixture folder copied to a temp place and made a git repository,
 * so the git features (baseline refs, replay at a commit) have history to read.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

/**
 * Copies `sourceDir` to `destDir` and makes it a git repository with one commit on `main`,
 * so the git features (baseline refs, replay at a commit) have history to read.
 * With `featureBranch: { name, paths, message }`, `main` gets everything but `paths` (repo-relative)
 * and a branch `name` checked out on top of it adds them, as when a change is under review: the
 * baseline (main) then lacks what the branch adds.
 * @returns {string} the commit SHA of HEAD
 */
export function prepareGitWorkspace(sourceDir, destDir, { message = 'Fixture workspace', featureBranch } = {}) {
  if (!fs.existsSync(sourceDir)) throw new Error(`No workspace to copy at ${sourceDir}`);
  fs.mkdirSync(path.dirname(destDir), { recursive: true });
  fs.cpSync(sourceDir, destDir, { recursive: true });
  const git = (...args) => execFileSync('git', args, { cwd: destDir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
  git('init', '--quiet', '--initial-branch=main');
  // Local identity: commits made by the tests themselves must work on any machine.
  git('config', 'user.name', 'Prompt CI Tests');
  git('config', 'user.email', 'tests@prompt-ci.invalid');
  git('config', 'commit.gpgsign', 'false');
  git('add', '--all');
  for (const held of featureBranch?.paths ?? []) git('reset', '--quiet', '--', held);
  git('commit', '--quiet', '--no-verify', '-m', message);
  if (featureBranch) {
    git('checkout', '--quiet', '-b', featureBranch.name);
    git('add', '--all');
    git('commit', '--quiet', '--no-verify', '-m', featureBranch.message ?? `Add ${featureBranch.paths.join(', ')}`);
  }
  return git('rev-parse', 'HEAD');
}
