/**
 * The command table: every command the extension contributes, in one place. A unit test checks it
 * against package.json `contributes.commands`.
 */
export const COMMANDS = {
  checkWorkspace: { id: 'promptCi.checkWorkspace', title: 'Check Prompts in Workspace' },
  showOutput: { id: 'promptCi.showOutput', title: 'Show Output' },
} as const;

/** The id of a command of the table. */
export type CommandId = (typeof COMMANDS)[keyof typeof COMMANDS]['id'];
