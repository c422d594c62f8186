import { JUDGE_REASON_LIMIT } from '../../shared/evalReport';
import type { JudgeVote } from '../../shared/evalReport';
import { median } from '../stats/percentile';
import type { ModelRequest } from './types';

/** The judge every example is graded by, for both sides alike (so outcomes stay paired). */
export interface JudgeConfig {
  model: string;
  repeats: number;
  /** `judge.md` of the challenger directory; `{reference}` and `{candidate}` are substituted literally. */
  template?: string;
  /** max_tokens of each judge call. */
  maxTokens: number;
}

/** max_tokens of a judge call: room for a sentence of reasoning around the JSON object. */
export const DEFAULT_JUDGE_MAX_TOKENS = 512;

/** System prompt of every judge call. */
export const JUDGE_SYSTEM =
  'You grade the output of a language model against a reference answer. ' +
  'Reply with a single JSON object and nothing else.';

/** The default rubric; `judge.md` replaces it. */
export const DEFAULT_JUDGE_RUBRIC = [
  'Compare the candidate answer with the reference answer.',
  '',
  '<reference>',
  '{reference}',
  '</reference>',
  '',
  '<candidate>',
  '{candidate}',
  '</candidate>',
  '',
  'The candidate is correct when it conveys what the reference conveys, without contradicting it or adding claims the reference does not support. Wording and length may differ.',
  'Score it from 1 (wrong or useless) to 5 (as good as the reference).',
  'If the reference is empty, judge whether the candidate is a correct, complete answer on its own.',
  '',
  'Answer with only this JSON object: {"correct": true or false, "score": 1 to 5, "reason": "one short sentence saying why"}',
].join('\n');

/** Substitutes `{reference}` and `{candidate}` in one pass, so text inside either is never re-read. */
export function fillJudgeTemplate(template: string, reference: string, candidate: string): string {
  return template.replace(/\{(reference|candidate)\}/g, (_m, name: string) => (name === 'reference' ? reference : candidate));
}

/** The judge request for one output. Temperature is left to the API default so repeats are independent samples. */
export function judgeRequest(judge: JudgeConfig, reference: string, candidate: string): ModelRequest {
  return {
    model: judge.model,
    max_tokens: judge.maxTokens,
    system: JUDGE_SYSTEM,
    messages: [{ role: 'user', content: fillJudgeTemplate(judge.template ?? DEFAULT_JUDGE_RUBRIC, reference, candidate) }],
  };
}

/** A judge reply read as a vote, or why it can't be one (with the reply quoted). */
export type ParsedJudgeReply = { ok: true; vote: JudgeVote } | { ok: false; error: string };

const QUOTE_LIMIT = 300;

/** The judge's text, quoted for an error message, cut at `QUOTE_LIMIT` characters. */
export function quoteReply(text: string): string {
  const cut = text.length > QUOTE_LIMIT ? `${text.slice(0, QUOTE_LIMIT)}…` : text;
  return JSON.stringify(cut);
}

/**
 * Reads `{"correct": bool, "score": 1..5, "reason"?: string}` from a judge reply. Tolerates a code fence and prose
 * around the object; the first object with a `correct` or `score` key decides. A reply with no
 * such object, a non-boolean `correct` or a score outside 1..5 is an error, never a guess.
 */
export function parseJudgeReply(text: string): ParsedJudgeReply {
  for (const candidate of jsonCandidates(text)) {
    let value: unknown;
    try {
      value = JSON.parse(candidate);
    } catch {
      continue;
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) continue;
    const record = value as Record<string, unknown>;
    if (!('correct' in record) && !('score' in record)) continue;
    const { correct, score } = record;
    if (typeof correct !== 'boolean') {
      return { ok: false, error: `judge reply has "correct": ${describe(correct)}, not true or false: ${quoteReply(text)}` };
    }
    if (typeof score !== 'number' || !Number.isFinite(score) || score < 1 || score > 5) {
      return { ok: false, error: `judge reply has "score": ${describe(score)}, not a number from 1 to 5: ${quoteReply(text)}` };
    }
    const reason = typeof record.reason === 'string' ? shortReason(record.reason) : undefined;
    return { ok: true, vote: reason ? { correct, score, reason } : { correct, score } };
  }
  return {
    ok: false,
    error: `judge reply has no JSON object {"correct": bool, "score": 1..5}: ${quoteReply(text)}`,
  };
}

/** A judge's reason on one line, cut at `JUDGE_REASON_LIMIT`; undefined when empty. */
function shortReason(text: string): string | undefined {
  const line = text.replace(/\s+/g, ' ').trim();
  if (line === '') return undefined;
  return line.length > JUDGE_REASON_LIMIT ? `${line.slice(0, JUDGE_REASON_LIMIT)}…` : line;
}

function describe(value: unknown): string {
  return value === undefined ? 'missing' : JSON.stringify(value);
}

/** Texts that may be the JSON object: the whole reply, each fenced block, then each balanced `{…}`. */
function* jsonCandidates(text: string): Generator<string> {
  yield text.trim();
  const fence = /```[a-zA-Z0-9_-]*[^\S\n]*\n?([\s\S]*?)```/g;
  for (let m = fence.exec(text); m !== null; m = fence.exec(text)) yield m[1].trim();
  for (let start = text.indexOf('{'); start !== -1; start = text.indexOf('{', start + 1)) {
    const end = balancedObjectEnd(text, start);
    if (end !== -1) yield text.slice(start, end + 1);
  }
}

/** The index of the `}` closing the object opened at `start`, skipping braces inside JSON strings; -1 if none. */
function balancedObjectEnd(text: string, start: number): number {
  let depth = 0;
  let inString = false;
  for (let i = start; i < text.length; i++) {
    const ch = text[i];
    if (inString) {
      if (ch === '\\') i++;
      else if (ch === '"') inString = false;
    } else if (ch === '"') inString = true;
    else if (ch === '{') depth++;
    else if (ch === '}') {
      depth--;
      if (depth === 0) return i;
    }
  }
  return -1;
}

/** The verdict of a set of votes: majority for `correct` (a tie is not correct), median for `score`. */
export interface AggregatedVerdict {
  correct: boolean;
  score: number;
  /** The votes disagreed on `correct`. */
  unstable: boolean;
}

/** Combines the votes of the judge's repeats. */
export function aggregateVotes(votes: readonly JudgeVote[]): AggregatedVerdict {
  if (votes.length === 0) throw new Error('aggregateVotes needs at least one vote');
  const yes = votes.filter((v) => v.correct).length;
  return {
    correct: yes * 2 > votes.length,
    score: median(votes.map((v) => v.score)),
    unstable: yes !== 0 && yes !== votes.length,
  };
}
