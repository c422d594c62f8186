import type { ReplayCallOutcome, ReplayResult, TextComparison } from '../core/replay';
import { spanShapeLabel } from '../core/span';

/**
 * The text of a replay document (the `prompt-ci-replay:` virtual document): where the prompt came
 * from, the verdict against the recorded input with its diff, the rendered messages, the exact
 * Messages API request and, once sent, the replayed call. Markdown, so the editor colours it and the
 * Markdown preview can show it; everything from the span or the repository sits in fenced blocks or
 * escaped table cells, so it reads as text whatever it holds.
 *
 * No `vscode` here: a plain function of the replay, kept next to the document provider that uses it.
 */
export function replayMarkdown(result: ReplayResult, call?: ReplayCallOutcome): string {
  const { span, prompt, request, comparison } = result;
  const c = prompt.commit;
  const out: string[] = [];
  out.push(`# Replay of ${prompt.name} v${prompt.version} at ${c.sha.slice(0, 12)}`, '');
  out.push(`> ${verdictLine(result)}`, '');

  const variablesFrom = {
    span: "the span's prompt.variables",
    inputs: result.variables.inputsSource ?? 'the inputs file',
    'span+inputs': `the span's prompt.variables, overridden by ${result.variables.inputsSource ?? 'the inputs file'}`,
  }[result.variables.source];
  const rows: [string, string][] = [
    ['Prompt', code(`${prompt.dir}`)],
    ['Commit', `${code(c.sha)} ${cell(c.subject)}`],
    ['Author', cell(`${c.author} <${c.authorEmail}>`)],
    ['Date', cell(c.authorDate)],
    ['Model', code(request.model)],
    ['Max tokens', String(request.max_tokens)],
    ['Temperature', String(request.temperature)],
    ['Template format', cell(result.metadata.template_format)],
    ['Span', cell([span.spanId ? `span ${span.spanId}` : 'span without id', span.traceId ? `trace ${span.traceId}` : undefined, `(${spanShapeLabel(span.shape)})`].filter(Boolean).join(', '))],
    ['Span name', cell(span.spanName ?? '(none)')],
    ['Tenant', cell(span.tenantId ?? '(none)')],
    ['Request id', cell(span.requestId ?? '(none)')],
    ['Variables from', cell(`${variablesFrom}: ${result.variables.required.join(', ') || '(the template needs none)'}`)],
  ];
  if (span.usage) {
    rows.push(['Recorded usage', `${span.usage.inputTokens ?? '?'} input / ${span.usage.outputTokens ?? '?'} output tokens`]);
  }
  out.push('| | |', '|---|---|');
  for (const [k, v] of rows) out.push(`| ${k} | ${v} |`);

  for (const m of result.mismatches) {
    out.push('', `- The span's \`${m.parameter}\` (${cell(String(m.span))}) differs from metadata.yaml at the commit (${cell(String(m.metadata))}); the request uses the span's value, which is what was sent.`);
  }

  if (comparison && result.rendered.matchesRecorded === false) {
    out.push('', '## Differences from the recorded input');
    for (const [label, cmp] of [['System message', comparison.system], ['User message', comparison.user]] as [string, TextComparison | undefined][]) {
      if (!cmp || cmp.matches) continue;
      const where = cmp.firstDifference ? `, first difference at line ${cmp.firstDifference.line}, column ${cmp.firstDifference.column}` : '';
      out.push('', `### ${label}: recorded (-) against re-rendered (+)${where}`);
      if (cmp.note) out.push('', cmp.note);
      if (cmp.diff) out.push('', fence(cmp.diff, 'diff'));
    }
    if (comparison.extraMessages?.length) {
      out.push('', `The span recorded ${comparison.extraMessages.length} more input message(s) (${comparison.extraMessages.map((m) => m.role).join(', ')}) than the template renders.`);
    }
  }

  out.push('', `## System message (system.md at ${c.sha.slice(0, 7)})`, '', request.system === undefined ? '(this version has no system prompt)' : fence(request.system, 'text'));
  out.push('', `## User message (user.template.md at ${c.sha.slice(0, 7)}, rendered)`, '', fence(request.messages[0]?.content ?? '', 'text'));
  out.push('', '## Messages API request', '', fence(JSON.stringify(request, null, 2), 'json'));
  out.push('', '## Recorded output', '', span.recorded?.output === undefined ? '(the span recorded no output)' : fence(span.recorded.output, 'text'));

  if (call) {
    out.push('', '## Replayed call', '');
    out.push(`Model ${code(call.model)}, ${call.latencyMs} ms, ${call.usage.inputTokens} input / ${call.usage.outputTokens} output tokens, stop reason ${call.stopReason ?? '(none)'}.`);
    const cmp = call.comparedWithRecorded;
    out.push(
      '',
      !cmp
        ? 'The span recorded no output to compare with.'
        : cmp.matches
          ? 'The new output is identical to the recorded output.'
          : 'The new output differs from the recorded output: recorded (-) against new (+) below.',
    );
    out.push('', fence(call.text, 'text'));
    if (cmp && !cmp.matches && cmp.diff) out.push('', fence(cmp.diff, 'diff'));
  }

  if (result.warnings.length) {
    out.push('', '## Warnings', '');
    for (const w of result.warnings) out.push(`- ${oneLine(w)}`);
  }
  out.push('');
  return out.join('\n');
}

/** One sentence: does the re-rendered prompt match what the span recorded? */
export function verdictLine(result: ReplayResult): string {
  const comparison = result.comparison;
  if (result.rendered.matchesRecorded === null || !comparison) {
    return 'The span recorded no input messages: nothing to compare the re-rendered prompt with.';
  }
  const compared = comparison.compared.map((p) => (p === 'system' ? 'system message' : 'user message')).join(' and ');
  return result.rendered.matchesRecorded
    ? `MATCH: the re-rendered ${compared} ${comparison.compared.length === 1 ? 'is' : 'are'} byte for byte what the span recorded.`
    : `DIFFERENT: the re-rendered prompt is not what the span recorded (compared: ${compared}); see the differences below.`;
}

/** A fenced block whose fence is longer than any backtick run in the text, so the text can't close it. */
function fence(text: string, lang: string): string {
  let longest = 0;
  for (const run of text.match(/`+/g) ?? []) longest = Math.max(longest, run.length);
  const ticks = '`'.repeat(Math.max(3, longest + 1));
  return `${ticks}${lang}\n${text}${text.endsWith('\n') ? '' : '\n'}${ticks}`;
}

/** Inline code that no backtick in the value can end early. */
function code(text: string): string {
  const value = oneLine(text);
  let longest = 0;
  for (const run of value.match(/`+/g) ?? []) longest = Math.max(longest, run.length);
  const ticks = '`'.repeat(longest + 1);
  const pad = value.startsWith('`') || value.endsWith('`') ? ' ' : '';
  return `${ticks}${pad}${value.replace(/\|/g, '\\|')}${pad}${ticks}`;
}

function cell(text: string): string {
  return oneLine(text).replace(/\\/g, '\\\\').replace(/\|/g, '\\|');
}

function oneLine(text: string): string {
  return text.replace(/\r?\n/g, ' ');
}
