import { fence, tableCell } from './escaping/markdown';
import type { ReplayCallOutcome, ReplayResult, TextComparison } from './replay';
import { describeCommitSource, describeVariablesSource, identityLine } from './replay';
import { spanShapeLabel } from './span';

/**
 * The text of a replay document (the `prompt-ci-replay:` virtual document): where the prompt came
 * from, the verdict against the recorded input with its diff, the rendered messages, the exact
 * Messages API request and, once sent, the replayed call. Markdown, so the editor colours it and the
 * Markdown preview can show it; everything from the span or the repository sits in fenced blocks or
 * escaped table cells, so it reads as text whatever it holds.
 *
 * A plain function of the replay (no editor types): the extension's document provider shows it.
 */
export function replayMarkdown(result: ReplayResult, call?: ReplayCallOutcome): string {
  const { span, prompt, request, comparison } = result;
  const c = prompt.commit;
  const out: string[] = [];
  out.push(`# Replay of ${prompt.name} v${prompt.version} at ${c.sha.slice(0, 12)}`, '');
  out.push(`> ${cell(verdictLine(result))}`, '');

  const variablesFrom = describeVariablesSource(result.variables);
  const rows: [string, string][] = [
    ['Prompt', code(`${prompt.dir}`)],
    ['Commit', `${code(c.sha)} ${cell(c.subject)}`],
    ['Commit found', cell(describeCommitSource(result.commit))],
    ['Prompt named by', cell(identityLine(span.identity))],
    ['Author', cell(`${c.author} <${c.authorEmail}>`)],
    ['Date', cell(c.authorDate)],
    ['Model', code(request.model)],
    ['Max tokens', String(request.max_tokens)],
    ['Temperature', request.temperature !== undefined ? String(request.temperature) : `${result.metadata.temperature} in metadata.yaml, not sent`],
    ['Template format', cell(result.metadata.template_format)],
    ['Span', cell([span.spanId ? `span ${span.spanId}` : 'span without id', span.traceId ? `trace ${span.traceId}` : undefined, `(${spanShapeLabel(span.shape)})`].filter(Boolean).join(', '))],
    ['Span name', cell(span.spanName ?? '(none)')],
    ['Tenant', cell(span.tenantId ?? '(none)')],
    ['Request id', cell(span.requestId ?? '(none)')],
    ['Variables from', cell(`${variablesFrom}: ${result.variables.required.join(', ') || '(the template needs none)'}`)],
  ];
  if (span.startTime) rows.push(['Span start', cell(span.startTime)]);
  if (result.variables.missing.length) rows.push(['Variables not known', cell(result.variables.missing.join(', '))]);
  if (span.usage) {
    rows.push(['Recorded usage', `${span.usage.inputTokens ?? '?'} input / ${span.usage.outputTokens ?? '?'} output tokens`]);
  }
  out.push('| | |', '|---|---|');
  for (const [k, v] of rows) out.push(`| ${k} | ${v} |`);

  for (const m of result.mismatches) {
    out.push('', `- The span's \`${m.parameter}\` (${cell(String(m.span))}) differs from metadata.yaml at the commit (${cell(String(m.metadata))}); the request uses the span's value, which is what was sent.`);
  }

  const v = result.verdict;
  if (v.kind === 'not-produced') {
    out.push('', '## Why the recorded message is not from this template', '', cell(v.reason), '');
    out.push(`At line ${v.at.line}, column ${v.at.column} of the recorded user message:`, '', 'Recorded:', '', fence(v.around.recorded, 'text'), '', 'The template has there:', '', fence(v.around.template || '(the end of its text)', 'text'));
  }
  if (result.variables.recoveryNotes?.length) {
    out.push('', '## Variables recovered from the recorded message', '');
    for (const note of result.variables.recoveryNotes) out.push(`- ${cell(note)}`);
  }
  if (comparison && result.rendered.matchesRecorded === false) {
    out.push('', '## Differences from the recorded input');
    for (const [label, cmp] of [['System message', comparison.system], ['User message', comparison.user]] as [string, TextComparison | undefined][]) {
      if (!cmp || cmp.matches) continue;
      const where = cmp.firstDifference ? `, first difference at line ${cmp.firstDifference.line}, column ${cmp.firstDifference.column}` : '';
      out.push('', `### ${label}: recorded (-) against re-rendered (+)${where}`);
      if (cmp.note) out.push('', cmp.note);
      if (cmp.around) out.push('', 'Recorded, around the first difference:', '', fence(cmp.around.recorded, 'text'), '', 'Re-rendered:', '', fence(cmp.around.rendered, 'text'));
      if (cmp.diff) out.push('', fence(cmp.diff, 'diff'));
    }
    if (comparison.extraMessages?.length) {
      out.push('', `The span recorded ${comparison.extraMessages.length} more input message(s) (${comparison.extraMessages.map((m) => m.role).join(', ')}) than the template renders.`);
    }
  }

  out.push('', `## System message (system.md at ${c.sha.slice(0, 7)})`, '', request.system === undefined ? '(this version has no system prompt)' : fence(request.system, 'text'));
  out.push(
    '',
    result.rendered.user === null
      ? `## User message (user.template.md at ${c.sha.slice(0, 7)}, not rendered: its variables are not known)`
      : `## User message (user.template.md at ${c.sha.slice(0, 7)}, rendered)`,
    '',
    fence(request.messages[0]?.content ?? '', 'text'),
  );
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

/** One sentence: does the re-rendered prompt match what the span recorded? (The verdict's own sentence.) */
export function verdictLine(result: ReplayResult): string {
  return result.verdict.summary;
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

const cell = tableCell;

function oneLine(text: string): string {
  return text.replace(/\r?\n/g, ' ');
}
