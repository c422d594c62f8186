import type { CandidateSpan } from '../core/span';
import { SpanError, findLlmSpans, parseSpan } from '../core/span';

/**
 * Where Replay Trace takes its span from, and whether a text there is one. Pure: texts in, a verdict
 * out; `replayTrace.ts` reads the selection, document and clipboard and walks them in order.
 */

/** The places a span can come from, in the order they are tried. */
export type SpanSourceKind = 'argument' | 'selection' | 'document' | 'paste-document' | 'clipboard';

/** What a text is, as far as Replay Trace is concerned. */
export type SpanTextVerdict =
  /** At least one LLM span (`prompt.name` present): replay it (or pick one). */
  | { kind: 'spans'; spans: CandidateSpan[] }
  /** Meant as a span export (it has span-export words or a span shape) but unusable: say why, don't look elsewhere. */
  | { kind: 'error'; error: SpanError }
  /** Not a span export at all (e.g. ordinary code or prose on the clipboard): try the next place. */
  | { kind: 'not-a-span'; why: string };

/** Words only a span export holds; a paste with one of them that fails to parse was meant as a span. */
const SPAN_EXPORT_WORDS = /"(?:resourceSpans|scopeSpans|instrumentationLibrarySpans|spanId|span_id|traceId|trace_id|traceID|spanID|parentSpanId|prompt\.name|prompt\.version|prompt\.commit_sha|gen_ai\.[a-z_.]+)"/;

/**
 * Reads `text` as a span export. `intended` says the user put the text there for this command
 * (the paste box, an argument): then every failure is an error to show, never "try elsewhere".
 */
export function classifySpanText(text: string, intended: boolean): SpanTextVerdict {
  if (text.trim() === '' && !intended) return { kind: 'not-a-span', why: 'it is empty' };
  let spans: CandidateSpan[];
  try {
    spans = findLlmSpans(text);
  } catch (error) {
    if (!(error instanceof SpanError)) throw error;
    if (intended || error.code === 'too-large' || SPAN_EXPORT_WORDS.test(text.slice(0, 1_000_000))) return { kind: 'error', error };
    return { kind: 'not-a-span', why: error.message };
  }
  if (spans.length > 0) return { kind: 'spans', spans };
  // Spans, none of them an LLM span: parseSpan words that precisely (how many spans, which have gen_ai.*).
  try {
    parseSpan(text);
  } catch (error) {
    if (error instanceof SpanError) return { kind: 'error', error };
    throw error;
  }
  return { kind: 'not-a-span', why: 'it holds no LLM span' };
}

/** How a source is named in messages. */
export function sourceLabel(kind: SpanSourceKind): string {
  switch (kind) {
    case 'argument':
      return 'the given text';
    case 'selection':
      return 'the selection';
    case 'document':
      return 'the active document';
    case 'paste-document':
      return 'the paste document';
    case 'clipboard':
      return 'the clipboard';
  }
}
