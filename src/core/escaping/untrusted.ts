/**
 * The one sanitiser of untrusted text: model output, repository content (file names, eval ids,
 * metadata values), span content. Everything that reaches a terminal, a Markdown report, a step
 * summary or an annotation passes through `sanitizeUntrusted` first (the CLI's output streams,
 * the Markdown and workflow-command escapes all call it), so a model answer such as
 * `\x1b[2J\x1b[H\x1b[32mgate: PASS` can't clear the screen or forge a line.
 *
 * Control characters are shown, never emitted: C0 controls as their Unicode control pictures
 * (ESC → ␛, BEL → ␇, a lone CR → ␍, DEL → ␡), C1 controls and the bidirectional overrides that
 * reorder what a reader sees (Trojan Source) as `\uXXXX`. Tab and line feed stay; CRLF becomes LF.
 */

const UNSAFE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

/** `text` with every control character replaced by a visible stand-in (see the module comment). */
export function sanitizeUntrusted(text: string): string {
  if (!hasUnsafeCharacters(text)) return text;
  return text.replace(/\r\n/g, '\n').replace(UNSAFE, (c) => {
    const code = c.charCodeAt(0);
    if (code < 0x20) return String.fromCharCode(0x2400 + code);
    if (code === 0x7f) return '\u2421';
    return `\\u${code.toString(16).padStart(4, '0')}`;
  });
}

/** True when `text` holds a character `sanitizeUntrusted` would replace. */
export function hasUnsafeCharacters(text: string): boolean {
  UNSAFE.lastIndex = 0;
  const found = UNSAFE.test(text);
  UNSAFE.lastIndex = 0;
  return found;
}
