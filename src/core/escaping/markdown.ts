import { sanitizeUntrusted } from './untrusted';

/**
 * The one owner of Markdown text escaping and fencing. Every function here sanitises first
 * (control characters made visible), then escapes for where the text goes.
 *
 * Two renderers read our Markdown, and they differ in one thing: HTML. GitHub (PR comments, step
 * summaries, `--markdown` reports) renders inline HTML, so `escapeMarkdown` escapes HTML as
 * entities and Markdown's inline syntax with backslashes. VS Code's hovers render Markdown with
 * HTML off and show entities literally, so `escapeMarkdownNoHtml` escapes with backslashes only,
 * and escapes every ASCII punctuation character Markdown may read (CommonMark allows it).
 */

/** Escapes text for HTML (inside `<pre>`, `<code>`, `<summary>`). */
export function escapeHtml(text: string): string {
  return sanitizeUntrusted(text)
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

/**
 * Escapes text for the middle of a Markdown line or a table cell where HTML renders (GitHub): HTML
 * first, then the characters Markdown reads as inline syntax anywhere in a line (emphasis, code,
 * links, strikethrough, cell breaks), and line breaks, which would end the line. Block syntax
 * (`#`, `-`, `1.`) only counts at the start of a line, where this text never goes.
 */
export function escapeMarkdown(text: string): string {
  return escapeHtml(text)
    .replace(/[\\`*_[\]~|]/g, (c) => (c === '|' ? '&#124;' : `\\${c}`))
    .replace(/\r?\n/g, ' ');
}

/** Escapes text for Markdown rendered with HTML off (VS Code hovers), outside code spans. */
export function escapeMarkdownNoHtml(text: string): string {
  return sanitizeUntrusted(text).replace(/[\\`*_{}[\]()#+\-.!|<>~&]/g, (c) => `\\${c}`).replace(/\r?\n/g, ' ');
}

/** Inline code for untrusted text where HTML renders: `<code>` with HTML escaped, safe inside tables too. */
export function htmlCode(text: string): string {
  return `<code>${escapeHtml(text).replace(/\|/g, '&#124;')}</code>`;
}

/** The longest run of backticks in `text`. */
function longestBacktickRun(text: string): number {
  let longest = 0;
  for (const run of text.match(/`+/g) ?? []) longest = Math.max(longest, run.length);
  return longest;
}

/** A Markdown code span holding `text` exactly, whatever backticks it contains, on one line. */
export function codeSpan(text: string): string {
  const oneLine = sanitizeUntrusted(text).replace(/\r?\n/g, ' ');
  const ticks = '`'.repeat(longestBacktickRun(oneLine) + 1);
  const pad = oneLine.startsWith('`') || oneLine.endsWith('`') || oneLine === '' ? ' ' : '';
  return `${ticks}${pad}${oneLine}${pad}${ticks}`;
}

/** A fenced block whose fence is longer than any backtick run in the text, so the text can't close it. */
export function fence(text: string, lang: string): string {
  const body = sanitizeUntrusted(text);
  const ticks = '`'.repeat(Math.max(3, longestBacktickRun(body) + 1));
  return `${ticks}${lang}\n${body}${body.endsWith('\n') ? '' : '\n'}${ticks}`;
}

/** Text for a Markdown table cell with HTML off: one line, backslashes and cell breaks escaped. */
export function tableCell(text: string): string {
  return sanitizeUntrusted(text).replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
}

/** A Markdown link; the target's characters that end or break a link destination are percent-encoded. */
export function markdownLink(label: string, target: string): string {
  const safe = sanitizeUntrusted(target).replace(/[()<> ]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return `[${escapeMarkdownNoHtml(label)}](${safe})`;
}
