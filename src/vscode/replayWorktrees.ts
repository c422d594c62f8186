import * as vscode from 'vscode';
import type { GitRunner } from '../node/git';
import type { CommitWorktree } from '../node/promptAtCommit';
import { openWorktree } from '../node/promptAtCommit';
import { Disposable } from './disposable';

/** Context key true while a replay worktree exists (shows "Remove Replay Worktrees" in the palette). */
export const WORKTREES_CONTEXT_KEY = 'promptCi.replayWorktreesOpen';

/** A worktree opened for a replay, and the repository it belongs to. */
export interface ReplayWorktree extends CommitWorktree {
  repoRoot: string;
}

/**
 * The detached worktrees "Open as Worktree" made, each in its own temporary directory. They live
 * until removed on request or the extension deactivates (`removeAll`, which `deactivate()` awaits:
 * VS Code doesn't wait for asynchronous work started in `dispose()`).
 */
export class ReplayWorktrees extends Disposable {
  private readonly open = new Map<string, ReplayWorktree>();

  constructor(
    private readonly git: GitRunner,
    private readonly log: vscode.LogOutputChannel,
  ) {
    super();
  }

  /** The worktrees that exist now. */
  get all(): ReplayWorktree[] {
    return [...this.open.values()];
  }

  /** Checks `commit` out in a new detached worktree; the user's own worktree, HEAD and index are untouched. */
  async add(repoRoot: string, commit: string): Promise<ReplayWorktree> {
    const made = await openWorktree(repoRoot, commit, { git: this.git });
    const worktree: ReplayWorktree = Object.assign(made, { repoRoot });
    this.open.set(worktree.path, worktree);
    this.log.info(`replay: worktree of ${commit.slice(0, 12)} at ${worktree.path}`);
    await this.updateContext();
    return worktree;
  }

  /** Removes one worktree (its directory and git's record of it). */
  async remove(path: string): Promise<boolean> {
    const worktree = this.open.get(path);
    if (!worktree) return false;
    this.open.delete(path);
    try {
      await worktree.dispose();
      this.log.info(`replay: removed worktree ${path}`);
    } catch (error) {
      this.log.warn(`replay: could not remove worktree ${path}: ${(error as Error).message}`);
      throw error;
    } finally {
      await this.updateContext();
    }
    return true;
  }

  /** Removes every worktree; resolves when all are gone (failures are logged, not thrown). */
  async removeAll(): Promise<string[]> {
    const paths = [...this.open.keys()];
    await Promise.allSettled(paths.map((p) => this.remove(p)));
    return paths;
  }

  override dispose(): void {
    // deactivate() awaits removeAll(); this covers a disposal without it, as far as it can.
    void this.removeAll();
    super.dispose();
  }

  private async updateContext(): Promise<void> {
    if (this.isDisposed) return;
    await vscode.commands.executeCommand('setContext', WORKTREES_CONTEXT_KEY, this.open.size > 0);
  }
}
