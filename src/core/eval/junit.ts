import type { EvalReport, ExampleResult } from '../../shared/evalReport';
import { formatP } from './gate';

/**
 * Escapes text for XML character data and attribute values, dropping the characters XML 1.0 can't
 * hold at all (most C0 controls, lone surrogates, U+FFFE/U+FFFF): model output may contain them.
 */
export function escapeXml(text: string): string {
  return text
    .replace(/[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu, '\uFFFD')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}

function seconds(ms: number | null): string {
  return ((ms ?? 0) / 1000).toFixed(3);
}

function sideText(example: ExampleResult, side: 'challenger' | 'baseline'): string {
  const s = example[side];
  const verdict = s.correct === null ? 'not scored' : `${s.correct ? 'correct' : 'wrong'}, score ${s.score}`;
  return `${side}: ${verdict}${s.error ? `\n  error: ${s.error}` : ''}\n  output: ${s.output ?? '(none)'}`;
}

function testcase(example: ExampleResult, suite: string): string {
  const open = `    <testcase classname="${escapeXml(suite)}" name="${escapeXml(example.id)}" time="${seconds(example.challenger.latencyMs)}">`;
  const details = escapeXml(`${sideText(example, 'challenger')}\n${sideText(example, 'baseline')}`);
  switch (example.outcome) {
    case 'regressed':
      return `${open}\n      <failure message="regressed: baseline correct, challenger wrong" type="regressed">${details}</failure>\n    </testcase>`;
    case 'error': {
      const message = example.challenger.error ?? example.baseline.error ?? 'could not be scored';
      return `${open}\n      <error message="${escapeXml(message)}" type="error">${details}</error>\n    </testcase>`;
    }
    case 'cancelled':
      return `${open}\n      <skipped message="cancelled before it finished"/>\n    </testcase>`;
    default:
      return `${open}\n      <system-out>${escapeXml(`${example.outcome}\n`)}${details}</system-out>\n    </testcase>`;
  }
}

/**
 * JUnit XML: one test suite per eval, one test case per example (named by its id); a regressed
 * example is a failure, an unscored one an error, a cancelled one skipped. The verdict, the McNemar
 * result and the win rates are suite properties, so CI dashboards can show them.
 */
export function renderJunit(report: EvalReport): string {
  return [...junitPieces(report)].join('');
}

/**
 * `renderJunit`'s text in pieces: the head, then one test case at a time (for writing a large
 * suite's report). `examples`: the whole results when `report.examples` holds compact ones.
 */
export function* junitPieces(report: EvalReport, examples: Iterable<ExampleResult> = report.examples): Generator<string> {
  const suite = `prompt-ci.eval.${report.prompt.name}.v${report.prompt.version}`;
  const count = (outcome: ExampleResult['outcome']): number => report.examples.filter((e) => e.outcome === outcome).length;
  const properties: [string, string][] = [
    ['gate.status', report.gate.status],
    ...report.gate.reasons.map((r, i): [string, string] => [`gate.reason.${i + 1}`, `${r.effect}: ${r.message}`]),
    ...report.gate.notes.map((n, i): [string, string] => [`gate.note.${i + 1}`, n]),
    ['mcnemar.improved', String(report.mcnemar.improved)],
    ['mcnemar.regressed', String(report.mcnemar.regressed)],
    ['mcnemar.bothCorrect', String(report.mcnemar.bothCorrect)],
    ['mcnemar.bothWrong', String(report.mcnemar.bothWrong)],
    ['mcnemar.pValue', formatP(report.mcnemar.pValue)],
    ['mcnemar.method', report.mcnemar.method],
    ['challenger.winRate', String(report.challenger.winRate)],
    ['baseline.winRate', String(report.baseline.winRate)],
    ['challenger.dir', report.challenger.dir],
    ['baseline.dir', report.baseline.dir],
    ['baseline.commit', report.baseline.commit ?? ''],
    ['cost.apiCalls', String(report.cost.apiCalls)],
    ['cost.cacheHits', String(report.cost.cacheHits)],
    ['cancelled', String(report.cancelled)],
  ];
  const head = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="prompt-ci eval" tests="${report.examples.length}" failures="${count('regressed')}" errors="${count('error')}" skipped="${count('cancelled')}" time="${seconds(report.durationMs)}">`,
    `  <testsuite name="${escapeXml(suite)}" tests="${report.examples.length}" failures="${count('regressed')}" errors="${count('error')}" skipped="${count('cancelled')}" time="${seconds(report.durationMs)}" timestamp="${escapeXml(report.startedAt)}">`,
    '    <properties>',
    ...properties.map(([name, value]) => `      <property name="${escapeXml(name)}" value="${escapeXml(value)}"/>`),
    '    </properties>',
  ];
  yield `${head.join('\n')}\n`;
  for (const e of examples) yield `${testcase(e, suite)}\n`;
  yield '  </testsuite>\n</testsuites>\n';
}
