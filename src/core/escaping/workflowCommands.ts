import { sanitizeUntrusted } from './untrusted';

/**
 * The one writer of GitHub Actions workflow commands (`::error file=…,line=…::message`), with the
 * escapes of actions/toolkit's command.ts (`escapeData`, `escapeProperty`). Text is sanitised
 * first: a control character in a message is shown, not passed to the runner's log.
 */

/** Escapes a workflow command's message. */
export function escapeData(s: string): string {
  return sanitizeUntrusted(s).replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
}

/** Escapes a workflow command's property value (`file=`, `title=`). */
export function escapeProperty(s: string): string {
  return escapeData(s).replace(/:/g, '%3A').replace(/,/g, '%2C');
}

/** One annotation line, newline included. Properties keep their order. */
export function workflowCommand(level: 'error' | 'warning' | 'notice', props: Record<string, string | number>, message: string): string {
  const list = Object.entries(props).map(([k, v]) => `${k}=${escapeProperty(String(v))}`);
  return `::${level}${list.length > 0 ? ` ${list.join(',')}` : ''}::${escapeData(message)}\n`;
}
