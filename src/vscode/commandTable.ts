/**
 * The command table: every command the extension contributes, in one place. A unit test checks it
 * against package.json `contributes.commands`.
 */
export const COMMANDS = {
  checkWorkspace: { id: 'promptCi.checkWorkspace', title: 'Check Prompts in Workspace' },
  showOutput: { id: 'promptCi.showOutput', title: 'Show Output' },
  runGate: { id: 'promptCi.runGate', title: 'Run Pre-PR Gate' },
  runEval: { id: 'promptCi.runEval', title: 'Run Eval vs Baseline' },
  showEvalResults: { id: 'promptCi.showEvalResults', title: 'Show Eval Results' },
  setApiKey: { id: 'promptCi.setApiKey', title: 'Set Anthropic API Key' },
  clearApiKey: { id: 'promptCi.clearApiKey', title: 'Clear Anthropic API Key' },
  replayTrace: { id: 'promptCi.replayTrace', title: 'Replay Trace…' },
  addSpansToEvalSuite: { id: 'promptCi.addSpansToEvalSuite', title: 'Add Spans to Eval Suite…' },
  synthesizeFromFailures: { id: 'promptCi.synthesizeFromFailures', title: 'Synthesize Cases from Failures…' },
  replayCompareTemplate: { id: 'promptCi.replayCompareTemplate', title: 'Compare Replayed Template with Working Tree' },
  replayOpenFiles: { id: 'promptCi.replayOpenFiles', title: 'Open Replayed Prompt Files at Commit' },
  replayCall: { id: 'promptCi.replayCall', title: 'Replay the Call…' },
  replaySaveAudit: { id: 'promptCi.replaySaveAudit', title: 'Save Replay Audit Record…' },
  replayOpenWorktree: { id: 'promptCi.replayOpenWorktree', title: 'Open Replayed Commit as Worktree' },
  replayRemoveWorktrees: { id: 'promptCi.replayRemoveWorktrees', title: 'Remove Replay Worktrees' },
  moveEditToNewVersion: { id: 'promptCi.moveEditToNewVersion', title: 'Move This Edit into a New Version' },
  newPromptVersion: { id: 'promptCi.newPromptVersion', title: 'New Prompt Version' },
  compareWithPrevious: { id: 'promptCi.compareWithPrevious', title: 'Compare with Previous Version' },
  compareWithProduction: { id: 'promptCi.compareWithProduction', title: 'Compare with Production' },
  rolloutsRefresh: { id: 'promptCi.rollouts.refresh', title: 'Refresh Rollouts' },
  rolloutsStart: { id: 'promptCi.rollouts.start', title: 'Start or Change Rollout…' },
  rolloutsPromote: { id: 'promptCi.rollouts.promote', title: 'Promote to 100%…' },
  rolloutsRollback: { id: 'promptCi.rollouts.rollback', title: 'Roll Back…' },
  rolloutsPin: { id: 'promptCi.rollouts.pin', title: 'Pin Tenant…' },
  rolloutsUnpin: { id: 'promptCi.rollouts.unpin', title: 'Unpin Tenant' },
  whichVersion: { id: 'promptCi.whichVersion', title: 'Which Version Did a Tenant Get…?' },
  setDatabaseUrl: { id: 'promptCi.setDatabaseUrl', title: 'Set Control-Plane Database URL' },
  clearDatabaseUrl: { id: 'promptCi.clearDatabaseUrl', title: 'Clear Control-Plane Database URL' },
} as const;

/** The id of a command of the table. */
export type CommandId = (typeof COMMANDS)[keyof typeof COMMANDS]['id'];
