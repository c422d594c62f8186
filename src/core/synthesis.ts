import { createHash } from 'node:crypto';
import type { ExampleResult } from '../shared/evalReport';
import { isFailingExample } from '../shared/evalReport';
import type { EvalExample } from './evalSet';
import type { ModelRequest } from './eval/types';
import type { RedactionOptions, RedactionReport } from './redaction';
import { ExampleRedactor, emptyRedactionReport, mergeRedactionReports } from './redaction';
import type { SuiteLine } from './suiteGrowth';
import { DuplicateIndex, NEEDS_REVIEW_TAG, SYNTHETIC_TAG, canonicalJson, fingerprintOf } from './suiteGrowth';

/**
 * `prompt-ci synthesize` (pure half): from an eval report's failing examples, the one request that
 * asks a stronger model for new cases exercising the same failures (everything in it redacted), and
 * the validation of its answer: each case supplies exactly the template's variables, is redacted
 * again, and is dropped when it duplicates an example of the suite or another new case.
 */

/** Tokens the synthesis call may answer with. */
export const SYNTHESIS_MAX_TOKENS = 4096;

/** The system prompt of a synthesis request. */
export const SYNTHESIS_SYSTEM =
  'You write new test cases for the eval suite of an LLM prompt. Each case gives every template variable a value and a reference answer. ' +
  'Write cases that exercise the same failure as the examples shown, varied in wording and content, not copies of them. ' +
  'Placeholders such as <EMAIL_1> stand for redacted personal data: keep them as placeholders. ' +
  'Answer with one JSON object only: {"cases": [{"inputs": {...}, "reference": "...", "exercises": ["<example id>"]}]}.';

/** The examples of a report a synthesis starts from: regressed ones, and those the challenger got wrong. */
export function failingExamples(examples: readonly ExampleResult[], onlyIds?: readonly string[]): ExampleResult[] {
  if (onlyIds && onlyIds.length > 0) {
    const wanted = new Set(onlyIds);
    return examples.filter((e) => wanted.has(e.id));
  }
  return examples.filter(isFailingExample);
}

/** What the request is built from. */
export interface SynthesisInput {
  model: string;
  template: string;
  variables: readonly string[];
  failures: readonly ExampleResult[];
  count: number;
}

/** The request and what redaction replaced in it. */
export interface SynthesisRequest {
  request: ModelRequest;
  redaction: RedactionReport;
}

/** The request sent: the template, the variables, and each failing example redacted (inputs, reference, challenger output, judge reasons). */
export function synthesisRequest(input: SynthesisInput, options: RedactionOptions): SynthesisRequest {
  let redaction = emptyRedactionReport();
  const examples = input.failures.map((e) => {
    const redactor = new ExampleRedactor(options);
    const inputs = redactor.redactInputs(e.inputs);
    const shown = {
      id: e.id,
      outcome: e.outcome,
      inputs,
      reference: e.reference === null ? null : redactor.redactText(e.reference),
      challengerOutput: e.challenger.output === null ? null : redactor.redactText(e.challenger.output),
      judgeReasons: e.challenger.votes.map((v) => v.reason).filter((r): r is string => typeof r === 'string').map((r) => redactor.redactText(r)),
    };
    redaction = mergeRedactionReports(redaction, redactor.report());
    return shown;
  });
  const body = JSON.stringify({ variables: input.variables, count: input.count, examples }, null, 2);
  const user =
    `The prompt's user template:\n<template>\n${input.template}\n</template>\n\n` +
    `Write ${input.count} new case${input.count === 1 ? '' : 's'} that exercise the failures below. Every case's "inputs" has exactly these keys: ${input.variables.join(', ')}.\n\n` +
    `<synthesis_request>\n${body}\n</synthesis_request>`;
  return {
    request: { model: input.model, max_tokens: SYNTHESIS_MAX_TOKENS, system: SYNTHESIS_SYSTEM, messages: [{ role: 'user', content: user }] },
    redaction,
  };
}

/** Why a proposed case was refused. */
export type CaseRejection = 'not-an-object' | 'missing-variables' | 'unknown-variables' | 'bad-reference' | 'duplicate' | 'beyond-count';

/** The synthesised lines to append, and what was refused. */
export interface SynthesisPlan {
  lines: SuiteLine[];
  proposed: number;
  rejected: Partial<Record<CaseRejection, number>>;
  redaction: RedactionReport;
}

/** A model answer that holds no readable list of cases. */
export class SynthesisReplyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SynthesisReplyError';
  }
}

/** The `cases` of a reply: a JSON object, bare or in a fenced block. Throws `SynthesisReplyError`. */
export function parseSynthesisReply(text: string): unknown[] {
  const fenced = /```(?:json)?\s*([\s\S]*?)```/.exec(text);
  const body = (fenced ? fenced[1] : text).trim();
  const start = body.indexOf('{');
  const end = body.lastIndexOf('}');
  if (start < 0 || end < start) throw new SynthesisReplyError('the model answered without a JSON object of cases');
  let value: unknown;
  try {
    value = JSON.parse(body.slice(start, end + 1));
  } catch (error) {
    throw new SynthesisReplyError(`the model's answer is not valid JSON (${(error as Error).message})`);
  }
  const cases = (value as { cases?: unknown }).cases;
  if (!Array.isArray(cases)) throw new SynthesisReplyError('the model\'s JSON has no "cases" list');
  return cases;
}

/** What `planSynthesis` checks the cases against. */
export interface SynthesisPlanOptions extends RedactionOptions {
  variables: readonly string[];
  existing: readonly Pick<EvalExample, 'id' | 'inputs'>[];
  failures: readonly Pick<ExampleResult, 'id'>[];
  model: string;
  report: { prompt: string; startedAt: string } | null;
  /** At most this many lines. */
  count: number;
}

/** Validates, redacts and deduplicates the proposed cases into lines tagged synthetic and needs-review. */
export function planSynthesis(cases: readonly unknown[], options: SynthesisPlanOptions): SynthesisPlan {
  const rejected: Partial<Record<CaseRejection, number>> = {};
  const reject = (why: CaseRejection) => (rejected[why] = (rejected[why] ?? 0) + 1);
  const redactionOptions = { sensitiveVariables: options.sensitiveVariables, phoneRegion: options.phoneRegion };
  const dedup = new DuplicateIndex();
  for (const e of options.existing) dedup.add(fingerprintOf(new ExampleRedactor(redactionOptions).redactInputs(e.inputs)), true);
  const ids = new Set(options.existing.map((e) => e.id));
  const failureIds = options.failures.map((f) => f.id);
  const lines: SuiteLine[] = [];
  let redaction = emptyRedactionReport();
  for (const raw of cases) {
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
      reject('not-an-object');
      continue;
    }
    const c = raw as { inputs?: unknown; reference?: unknown; exercises?: unknown };
    if (typeof c.inputs !== 'object' || c.inputs === null || Array.isArray(c.inputs)) {
      reject('not-an-object');
      continue;
    }
    const inputs = c.inputs as Record<string, unknown>;
    if (options.variables.some((v) => !(v in inputs) || inputs[v] === null || inputs[v] === undefined)) {
      reject('missing-variables');
      continue;
    }
    if (Object.keys(inputs).some((k) => !options.variables.includes(k))) {
      reject('unknown-variables');
      continue;
    }
    if (c.reference !== undefined && typeof c.reference !== 'string') {
      reject('bad-reference');
      continue;
    }
    const redactor = new ExampleRedactor(redactionOptions);
    const clean = redactor.redactInputs(inputs);
    const fingerprint = fingerprintOf(clean);
    if (dedup.find(fingerprint)) {
      reject('duplicate');
      continue;
    }
    if (lines.length >= options.count) {
      reject('beyond-count');
      continue;
    }
    dedup.add(fingerprint, false);
    const exercised = Array.isArray(c.exercises) ? c.exercises.filter((x): x is string => typeof x === 'string' && failureIds.includes(x)) : [];
    let id = `syn-${createHash('sha256').update(canonicalJson(clean), 'utf8').digest('hex').slice(0, 16)}`;
    while (ids.has(id)) id = `${id}-x`;
    ids.add(id);
    lines.push({
      id,
      inputs: clean,
      ...(typeof c.reference === 'string' ? { reference: redactor.redactText(c.reference) } : {}),
      tags: [SYNTHETIC_TAG, NEEDS_REVIEW_TAG],
      source: { kind: 'synthetic', from: exercised.length > 0 ? exercised : failureIds, model: options.model, report: options.report },
    });
    redaction = mergeRedactionReports(redaction, redactor.report());
  }
  return { lines, proposed: cases.length, rejected, redaction };
}
