/**
 * The eval results panel, in the webview (a browser; no Node, no `vscode` module). It receives the
 * report through the typed protocol of `shared/webviewProtocol.ts`, validates it, and builds the
 * page with DOM calls only: every model output, input, reference, id, tag and error reaches the
 * page through `textContent` or text nodes, never as markup.
 *
 * The examples list renders lazily: a page of rows at a time as the reader scrolls, and an
 * example's details (inputs, outputs side by side with a word diff, judge votes) only when it is
 * expanded, so a report of thousands of examples opens at once.
 */
import { diffWords } from 'diff';
import { formatP } from '../core/eval/gate';
import { pointsInterval, scoreInterval, signedPoints, slicesToShow } from '../core/eval/statistics';
import type { EvalReport, ExampleOutcome, ExampleResult, ExampleSide, SideSummary, Slice } from '../shared/evalReport';
import { isFailingExample } from '../shared/evalReport';
import type { ApiSource, HostMessage, LatestVerdict, OutcomeFilter, PanelState, RunState, WebviewMessage } from '../shared/webviewProtocol';
import { MAX_SYNTHESIS_SELECTION, assertNever, parseHostMessage, parsePanelState } from '../shared/webviewProtocol';

interface VsCodeApi {
  postMessage(message: WebviewMessage): void;
  getState(): unknown;
  setState(state: PanelState): void;
}
declare function acquireVsCodeApi(): VsCodeApi;

const vscode = acquireVsCodeApi();

/** Rows added to the list at a time. */
const PAGE = 150;
/** Outputs longer than this are shown without a word diff (the diff of two huge texts is slow and unreadable). */
const MAX_DIFF_CHARS = 20_000;
const SEARCH_DEBOUNCE_MS = 150;

/** Regressed first: the examples a reviewer must read. */
const OUTCOME_ORDER: Record<ExampleOutcome, number> = {
  regressed: 0,
  error: 1,
  improved: 2,
  'both-wrong': 3,
  'both-correct': 4,
  cancelled: 5,
};
const OUTCOME_LABEL: Record<ExampleOutcome, string> = {
  regressed: 'regressed',
  error: 'error',
  improved: 'improved',
  'both-wrong': 'both wrong',
  'both-correct': 'both correct',
  cancelled: 'cancelled',
};
const OUTCOME_SYMBOL: Record<ExampleOutcome, string> = {
  regressed: '▼',
  error: '!',
  improved: '▲',
  'both-wrong': '✗',
  'both-correct': '✓',
  cancelled: '–',
};
const FILTERS: OutcomeFilter[] = ['all', 'regressed', 'improved', 'error', 'both-wrong', 'both-correct', 'cancelled'];
const METHOD_NAME: Record<EvalReport['mcnemar']['method'], string> = {
  exact: 'exact binomial',
  'chi2-corrected': 'chi-square with continuity correction',
  chi2: 'chi-square',
};
const STATUS_TEXT: Record<EvalReport['gate']['status'], string> = { pass: 'Pass', blocked: 'Blocked', inconclusive: 'Inconclusive' };
const STATUS_SYMBOL: Record<EvalReport['gate']['status'], string> = { pass: '✓', blocked: '✗', inconclusive: '⚠' };

// ---------------------------------------------------------------------------------------------
// DOM helpers: text only

type Child = Node | string | null | undefined | false;

interface Props {
  class?: string;
  text?: string;
  title?: string;
  attrs?: Record<string, string>;
}

function el<K extends keyof HTMLElementTagNameMap>(tag: K, props: Props = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (props.class) node.className = props.class;
  if (props.text !== undefined) node.textContent = props.text;
  if (props.title !== undefined) node.title = props.title;
  for (const [name, value] of Object.entries(props.attrs ?? {})) node.setAttribute(name, value);
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    node.append(typeof child === 'string' ? document.createTextNode(child) : child);
  }
  return node;
}

function button(text: string, id: string | undefined, onClick: () => void, props: Props = {}): HTMLButtonElement {
  const b = el('button', { ...props, text, attrs: { type: 'button', ...(id ? { id } : {}), ...(props.attrs ?? {}) } });
  b.addEventListener('click', onClick);
  return b;
}

const int = (n: number): string => n.toLocaleString('en-US');
const pct = (x: number | null | undefined): string => (x === null || x === undefined ? '–' : `${(x * 100).toFixed(1)}%`);
const ms = (x: number | null | undefined): string => (x === null || x === undefined ? '–' : `${int(Math.round(x))} ms`);

function usd(x: number | null): string {
  if (x === null) return 'unknown';
  if (x === 0) return '$0.00';
  if (x < 0.01) return `$${x.toFixed(4)}`;
  return `$${x.toFixed(2)}`;
}

function duration(msValue: number): string {
  if (msValue < 1000) return `${Math.round(msValue)} ms`;
  if (msValue < 60_000) return `${(msValue / 1000).toFixed(1)} s`;
  return `${Math.floor(msValue / 60_000)} min ${Math.round((msValue % 60_000) / 1000)} s`;
}

// ---------------------------------------------------------------------------------------------
// State

interface View {
  report: EvalReport | null;
  title: string;
  dir: string;
  api: ApiSource | null;
  savedAt: string | null;
  run: RunState;
  verdict?: LatestVerdict | null;
}

let view: View | undefined;
const saved = parsePanelState(vscode.getState());
let key: string | undefined = saved?.key;
let filter: OutcomeFilter = saved?.filter ?? 'all';
let search = saved?.search ?? '';
const expanded = new Set<string>(saved?.expanded ?? []);

/** The examples the list shows now, in order, and how many rows are in the DOM. */
let visible: ExampleResult[] = [];
let rendered = 0;
const haystacks = new WeakMap<ExampleResult, string>();

/** The failing examples selected for "Synthesize cases from these failures"; every regressed one when a report arrives. */
let selected = new Set<string>();
/** The report the selection belongs to (its start time). */
let selectionOf: string | undefined;
let synthesizeButton: HTMLButtonElement | undefined;
/** Whether the shown report has a failing example (then every row keeps a checkbox column). */
let anyFailing = false;

function saveState(): void {
  if (!key) return;
  vscode.setState({ key, filter, search, expanded: [...expanded].slice(-200) });
}

const app = document.getElementById('app') as HTMLElement;

// ---------------------------------------------------------------------------------------------
// Rendering

function render(): void {
  if (!view) return;
  app.replaceChildren();
  app.setAttribute('aria-busy', 'false');
  const { report } = view;
  app.dataset.prompt = view.dir;
  anyFailing = report?.examples.some(isFailingExample) ?? false;
  if (report && selectionOf !== report.startedAt) {
    selectionOf = report.startedAt;
    selected = new Set(report.examples.filter((e) => e.outcome === 'regressed').map((e) => e.id));
  }
  if (view.api?.kind === 'demo') app.append(demoBanner(view.api));
  app.append(header(view));
  const provenance = provenanceBanner(view);
  if (provenance) app.append(provenance);
  app.append(el('div', { class: 'notice', attrs: { id: 'notice', role: 'status', 'aria-live': 'polite' } }));
  app.append(runSection(view.run));
  if (!report) {
    app.append(el('p', { class: 'empty', text: view.run.phase === 'running' ? 'The first results appear when the run finishes.' : 'No results yet.' }));
    return;
  }
  app.append(verdict(report));
  app.append(el('div', { class: 'cards' }, mcnemarCard(report), winRateCard(report), latencyCard(report), costCard(report)));
  if (report.difference) app.append(differenceSection(report));
  app.append(examplesSection(report));
  renderList();
}

function demoBanner(api: ApiSource): HTMLElement {
  return el(
    'div',
    { class: 'banner demo', attrs: { id: 'demo-banner', role: 'note' } },
    el('strong', { text: 'Demo: ' }),
    `these answers come from a deterministic demo server on this machine (${api.host}), the project's stand-in for the Anthropic API, not from a model. Verdicts, scores and costs only show how Prompt CI works.`,
  );
}

function sideText(side: SideSummary): string {
  if (side.source === 'working-tree') return `${side.dir} (working tree${side.commit ? `, HEAD ${side.commit.slice(0, 7)}` : ''})`;
  if (side.source === 'directory') return `${side.dir} (directory)`;
  return `${side.dir} at ${side.ref ?? '?'}${side.commit ? ` (${side.commit.slice(0, 7)})` : ''}`;
}

function header(v: View): HTMLElement {
  const report = v.report;
  const title = report ? `${report.prompt.name} v${report.prompt.version}` : v.title;
  const head = el('header', { class: 'head' }, el('h1', {}, title, el('span', { class: 'subtitle', text: ' · eval vs baseline' })));
  if (!report) head.append(el('p', { class: 'meta' }, el('code', { text: v.dir })));
  if (report) {
    head.append(
      el(
        'dl',
        { class: 'sides' },
        el('dt', { text: 'Challenger' }),
        el('dd', {}, el('code', { text: sideText(report.challenger) }), ` · ${report.challenger.model}`),
        el('dt', { text: 'Baseline' }),
        el('dd', {}, el('code', { text: sideText(report.baseline) }), ` · ${report.baseline.model}`),
      ),
    );
    const when = new Date(report.startedAt);
    const meta = [
      `${int(report.examples.length)} example${report.examples.length === 1 ? '' : 's'}`,
      `ran ${Number.isNaN(when.getTime()) ? report.startedAt : when.toLocaleString()}`,
      `took ${duration(report.durationMs)}`,
      `judge ${report.judge.model} × ${report.judge.repeats} (${report.judge.rubric === 'judge.md' ? 'judge.md' : 'default rubric'})`,
    ];
    if (v.api && v.api.kind !== 'demo') meta.push(`calls to ${v.api.host}`);
    head.append(el('p', { class: 'meta', text: meta.join(' · ') }));
  }
  const running = v.run.phase === 'running';
  const regressed = report ? report.mcnemar.regressed : 0;
  const actions = el(
    'div',
    { class: 'actions', attrs: { role: 'toolbar', 'aria-label': 'Report actions' } },
    button('Copy Markdown PR comment', 'copy-markdown', () => vscode.postMessage({ type: 'copy-markdown' }), { class: 'primary' }),
    button('Open JSON report', 'open-json', () => vscode.postMessage({ type: 'open-json' }), { class: 'secondary' }),
    button('Re-run', 'rerun', () => vscode.postMessage({ type: 'rerun', scope: 'all' }), { class: 'secondary', title: 'Run every example again (cached calls cost nothing)' }),
    button(`Re-run regressed (${regressed})`, 'rerun-regressed', () => vscode.postMessage({ type: 'rerun', scope: 'regressed' }), {
      class: 'secondary',
      title: 'Run only the regressed examples again',
    }),
  );
  for (const b of actions.querySelectorAll('button')) {
    const needsReport = b.id === 'copy-markdown' || b.id === 'open-json' || b.id === 'rerun-regressed';
    b.disabled = (needsReport && !report) || (running && b.id.startsWith('rerun')) || (b.id === 'rerun-regressed' && regressed === 0);
  }
  head.append(actions);
  return head;
}

function runSection(run: RunState): HTMLElement {
  const section = el('section', { class: 'run', attrs: { id: 'run-state', 'data-phase': run.phase, 'aria-live': 'polite' } });
  switch (run.phase) {
    case 'idle':
      section.hidden = true;
      break;
    case 'running': {
      const p = run.progress;
      const bar = el('progress', { attrs: { max: String(Math.max(1, p?.total ?? 1)), 'aria-label': 'Examples done' } });
      if (p) bar.value = p.done;
      else bar.removeAttribute('value');
      const line =
        run.stage === 'preparing'
          ? [el('strong', { text: 'Preparing: ' }), 'reading the baseline, estimating the cost…']
          : run.stage === 'confirming'
            ? [el('strong', { text: 'Waiting for you: ' }), `run ${run.scope}? Answer in the notification. ${run.detail ?? ''}`]
            : [
                el('strong', { text: `Running ${run.scope}: ` }),
                p ? `${int(p.done)}/${int(p.total)} examples · ${int(p.calls)} API calls · ${int(p.cacheHits)} cache hits · ${int(p.errors)} errors` : 'starting…',
              ];
      section.append(
        el('div', { class: 'run-line' }, ...line),
        bar,
        button('Cancel', 'cancel-run', () => vscode.postMessage({ type: 'cancel-run' }), { class: 'secondary' }),
      );
      break;
    }
    case 'failed':
      section.classList.add('failed');
      section.append(el('strong', { text: 'The last run failed: ' }), run.message);
      break;
    default:
      assertNever(run, 'run state');
  }
  return section;
}

function verdict(report: EvalReport): HTMLElement {
  const { gate } = report;
  const section = el(
    'section',
    { class: `verdict verdict-${gate.status}`, attrs: { id: 'verdict', 'data-verdict': gate.status, 'data-started-at': report.startedAt, 'aria-label': 'Verdict' } },
    el('div', { class: 'verdict-status' }, el('span', { class: 'verdict-symbol', text: STATUS_SYMBOL[gate.status], attrs: { 'aria-hidden': 'true' } }), STATUS_TEXT[gate.status]),
  );
  if (!gate.blocking && gate.unblockedStatus !== gate.status) {
    section.append(el('p', { class: 'not-blocking', text: `Not blocking: ci.block_on_eval_regression is false; the reasons alone would give ${gate.unblockedStatus}.` }));
  }
  const reasons = el('ul', { class: 'reasons' });
  if (gate.reasons.length === 0) reasons.append(el('li', { text: 'No gate condition was hit.' }));
  for (const reason of gate.reasons) {
    reasons.append(el('li', { attrs: { 'data-code': reason.code } }, el('span', { class: `effect effect-${reason.effect}`, text: reason.effect }), ' ', reason.message));
  }
  section.append(reasons);
  const floor = baselineFloorNote(report);
  if (floor) section.append(floor);
  for (const note of gate.notes) section.append(el('p', { class: 'note', text: note }));
  if (report.cancelled) {
    const finished = report.examples.filter((e) => e.outcome !== 'cancelled').length;
    section.append(
      el(
        'p',
        { class: 'banner cancelled', attrs: { id: 'cancelled-banner', 'data-finished': String(finished), 'data-total': String(report.examples.length) } },
        el('strong', { text: 'Cancelled. ' }),
        `${int(finished)} of ${int(report.examples.length)} examples finished before the run was cancelled; they are kept below and the rest are marked cancelled. Every response is cached, so Re-run resumes where this one stopped.`,
      ),
    );
  }
  if (report.partial) {
    const n = report.partial.onlyExampleIds.length;
    section.append(
      el('p', { class: 'banner partial', attrs: { id: 'partial-banner' } }, `Only ${int(n)} selected example${n === 1 ? ' was' : 's were'} run (for instance the regressed ones of the last run). Re-run for all of them.`),
    );
  }
  return section;
}

function card(title: string, id: string, ...children: Child[]): HTMLElement {
  return el('section', { class: 'card', attrs: { id, 'aria-label': title } }, el('h2', { text: title }), ...children);
}

function mcnemarCard(report: EvalReport): HTMLElement {
  const t = report.mcnemar;
  const paired = t.improved + t.regressed + t.bothCorrect + t.bothWrong;
  const cell = (value: number, name: string, extra?: string): HTMLTableCellElement =>
    el('td', { class: `num cell-${name}`, attrs: { 'data-cell': name } }, String(value), extra ? el('span', { class: 'cell-label', text: ` ${extra}` }) : null);
  const table = el(
    'table',
    { class: 'mcnemar' },
    el('caption', { text: `Paired outcomes of ${int(paired)} example${paired === 1 ? '' : 's'}` }),
    el('thead', {}, el('tr', {}, el('td'), el('th', { text: 'Baseline correct', attrs: { scope: 'col' } }), el('th', { text: 'Baseline wrong', attrs: { scope: 'col' } }))),
    el(
      'tbody',
      {},
      el('tr', {}, el('th', { text: 'Challenger correct', attrs: { scope: 'row' } }), cell(t.bothCorrect, 'both-correct'), cell(t.improved, 'improved', '▲ improved')),
      el('tr', {}, el('th', { text: 'Challenger wrong', attrs: { scope: 'row' } }), cell(t.regressed, 'regressed', '▼ regressed'), cell(t.bothWrong, 'both-wrong')),
    ),
  );
  const p = el(
    'p',
    { class: 'pvalue', attrs: { id: 'pvalue' } },
    el('strong', { text: `p = ${formatP(t.pValue)}` }),
    ` (${METHOD_NAME[t.method]}${t.statistic !== null ? `, statistic ${Number(t.statistic.toPrecision(6))}` : ''}; alpha ${report.gate.thresholds.alpha})`,
  );
  return card('McNemar test', 'mcnemar', table, p, t.note ? el('p', { class: 'note', text: t.note }) : null);
}

function rateBar(side: SideSummary, threshold: number, who: string): HTMLElement {
  const bar = el('div', { class: 'bar', attrs: { role: 'img' } });
  const rate = side.winRate;
  const interval = side.winRateInterval;
  bar.setAttribute(
    'aria-label',
    `${who} pass rate ${pct(rate)}${interval ? `, 95% interval ${pct(interval.low)} to ${pct(interval.high)}` : ''}, threshold ${pct(threshold)}`,
  );
  if (interval) {
    const span = el('div', { class: 'bar-interval' });
    span.style.left = `${interval.low * 100}%`;
    span.style.width = `${Math.max(0.5, (interval.high - interval.low) * 100)}%`;
    bar.append(span);
  }
  if (rate !== null) {
    const point = el('div', { class: 'bar-point' });
    point.style.left = `${rate * 100}%`;
    bar.append(point);
  }
  const mark = el('div', { class: 'bar-threshold', title: `threshold ${pct(threshold)}` });
  mark.style.left = `${threshold * 100}%`;
  bar.append(mark);
  return bar;
}

function winRateCard(report: EvalReport): HTMLElement {
  const threshold = report.gate.thresholds.winRate;
  const row = (who: string, side: SideSummary, id: string): HTMLElement =>
    el(
      'div',
      { class: 'rate', attrs: { id } },
      el(
        'div',
        { class: 'rate-line' },
        el('span', { class: 'who', text: who }),
        el('strong', { class: 'rate-value', text: pct(side.winRate) }),
        el('span', { class: 'muted', text: side.winRateInterval ? ` [${pct(side.winRateInterval.low)}, ${pct(side.winRateInterval.high)}]` : '' }),
        el('span', { class: 'muted', text: ` ${side.correct}/${side.scored}${side.meanScore !== null ? ` · mean score ${side.meanScore.toFixed(2)}` : ''}` }),
      ),
      rateBar(side, threshold, who),
    );
  return card(
    'Pass rate',
    'win-rate',
    row('Challenger', report.challenger, 'win-rate-challenger'),
    row('Baseline', report.baseline, 'win-rate-baseline'),
    el('p', { class: 'muted small', text: `Wilson 95% intervals over paired examples; the mark is threshold_win_rate ${pct(threshold)}.` }),
  );
}

function latencyCard(report: EvalReport): HTMLElement {
  const limit = report.gate.thresholds.p95LatencyMs;
  const row = (who: string, side: SideSummary): HTMLTableRowElement =>
    el('tr', {}, el('th', { text: who, attrs: { scope: 'row' } }), el('td', { class: 'num', text: ms(side.latencyMs?.p50) }), el('td', { class: 'num', text: ms(side.latencyMs?.p95) }));
  return card(
    'Latency',
    'latency',
    el(
      'table',
      {},
      el('thead', {}, el('tr', {}, el('td'), el('th', { text: 'p50', attrs: { scope: 'col' } }), el('th', { text: 'p95', attrs: { scope: 'col' } }))),
      el('tbody', {}, row('Challenger', report.challenger), row('Baseline', report.baseline)),
    ),
    el('p', { class: 'muted small', text: `Task calls only${limit !== null ? `; the gate's p95 limit is ${ms(limit)}` : ''}. Cached calls keep the latency they had.` }),
  );
}

function costCard(report: EvalReport): HTMLElement {
  const c = report.cost;
  const rows: [string, string, string][] = [
    ['api-calls', 'API calls', int(c.apiCalls)],
    ['cache-hits', 'Cache hits', int(c.cacheHits)],
    ['tokens', 'Tokens', `${int(c.inputTokens)} in · ${int(c.outputTokens)} out`],
    ['usd', 'Cost of this run', usd(c.usd)],
    ['uncached', 'Uncached, the whole eval', usd(c.uncached.usd)],
  ];
  if (c.estimate) rows.push(['estimate', 'Estimated before', `${usd(c.estimate.usdTypical)} typical, ${usd(c.estimate.usdMax)} at most`]);
  if (report.unstableCount > 0) rows.push(['unstable', 'Unstable judge votes', `${int(report.unstableCount)} example${report.unstableCount === 1 ? '' : 's'}`]);
  const body = rows.map(([id, k, v]) => el('tr', { attrs: { 'data-row': id } }, el('th', { text: k, attrs: { scope: 'row' } }), el('td', { class: 'num', text: v })));
  return card('Cost', 'cost', el('table', { class: 'kv' }, el('tbody', {}, ...body)));
}

// ---------------------------------------------------------------------------------------------
// Difference, power and slices (DESIGN.md section 9): one axis of win-rate differences in
// percentage points, zero and minus the non-inferiority margin marked, the suite's difference on
// top and each tag's below it, so a regression confined to one slice stands out.

const SVG_NS = 'http://www.w3.org/2000/svg';
/** Slices drawn; the JSON report has every tag. */
const MAX_SLICE_ROWS = 12;

function svg<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Record<string, string | number>): SVGElementTagNameMap[K] {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, String(value));
  return node;
}

interface AxisRange {
  low: number;
  high: number;
}

/** The range every row shares: every bound, zero and minus the margin, padded and within [-1, 1]. */
function axisRange(values: number[]): AxisRange {
  const low = Math.min(0, ...values);
  const high = Math.max(0, ...values);
  const pad = Math.max(0.01, (high - low) * 0.06);
  return { low: Math.max(-1, low - pad), high: Math.min(1, high + pad) };
}

function axisX(range: AxisRange, x: number): number {
  return ((x - range.low) / (range.high - range.low)) * 1000;
}

function tickStep(range: AxisRange): number {
  const span = range.high - range.low;
  return [0.01, 0.02, 0.05, 0.1, 0.2, 0.25, 0.5].find((step) => span / step <= 6) ?? 0.5;
}

/** One interval on the shared axis: a band from lower to upper, a tick at the estimate, zero and the margin as lines. */
function intervalPlot(range: AxisRange, d: { estimate: number; lower: number; upper: number }, margin: number | undefined, label: string): SVGSVGElement {
  const tone = d.upper < 0 ? 'worse' : d.lower > 0 ? 'better' : 'unclear';
  const plot = svg('svg', { class: `diff-plot diff-${tone}`, viewBox: '0 0 1000 20', preserveAspectRatio: 'none', role: 'img', 'aria-label': label });
  plot.append(svg('line', { class: 'diff-zero', x1: axisX(range, 0), x2: axisX(range, 0), y1: 0, y2: 20 }));
  if (margin !== undefined) plot.append(svg('line', { class: 'diff-margin', x1: axisX(range, -margin), x2: axisX(range, -margin), y1: 0, y2: 20 }));
  const x1 = axisX(range, Math.max(range.low, d.lower));
  const x2 = axisX(range, Math.min(range.high, d.upper));
  plot.append(svg('rect', { class: 'diff-band', x: x1, y: 6, width: Math.max(2, x2 - x1), height: 8, rx: 2 }));
  plot.append(svg('rect', { class: 'diff-estimate', x: axisX(range, d.estimate) - 3, y: 2, width: 6, height: 16 }));
  return plot;
}

function intervalRow(
  range: AxisRange,
  name: string,
  d: { estimate: number; lower: number; upper: number },
  margin: number | undefined,
  detail: string,
  attrs: Record<string, string>,
  flag?: string,
): HTMLElement {
  const text = `${name}: ${pointsInterval(d)}${detail ? `, ${detail}` : ''}`;
  return el(
    'div',
    {
      class: `diff-row${flag ? ' diff-flagged' : ''}`,
      attrs: { ...attrs, 'data-estimate': String(d.estimate), 'data-lower': String(d.lower), 'data-upper': String(d.upper) },
    },
    el('span', { class: 'diff-label', text: name, title: name }),
    intervalPlot(range, d, margin, text),
    el('span', { class: 'diff-value' }, pointsInterval(d), detail ? el('span', { class: 'muted', text: ` ${detail}` }) : null, flag ? el('span', { class: 'diff-flag', text: ` ${flag}` }) : null),
  );
}

function axisRow(range: AxisRange, margin: number | undefined): HTMLElement {
  const ticks = el('div', { class: 'diff-ticks', attrs: { 'aria-hidden': 'true' } });
  const step = tickStep(range);
  for (let k = Math.ceil(range.low / step); k * step <= range.high + 1e-12; k++) {
    const x = k * step;
    const tick = el('span', { class: `diff-tick${k === 0 ? ' diff-tick-zero' : ''}`, text: signedPoints(x) });
    tick.style.left = `${axisX(range, x) / 10}%`;
    ticks.append(tick);
  }
  if (margin !== undefined) {
    const mark = el('span', { class: 'diff-tick diff-tick-margin', text: `−margin`, title: `minus non_inferiority_margin: ${signedPoints(-margin)} points` });
    mark.style.left = `${axisX(range, -margin) / 10}%`;
    ticks.append(mark);
  }
  return el('div', { class: 'diff-row diff-axis' }, el('span', { class: 'diff-label muted', text: 'points' }), ticks, el('span'));
}

function differenceSection(report: EvalReport): HTMLElement {
  const d = report.difference as NonNullable<EvalReport['difference']>;
  const margin = report.nonInferiority?.margin;
  const { shown, hidden } = slicesToShow(report.slices ?? [], MAX_SLICE_ROWS);
  const bounds = [d.winRate, d.clustered, ...shown.map((s) => s.difference)].flatMap((x) => (x ? [x.lower, x.upper] : []));
  if (margin !== undefined) bounds.push(-margin);
  const range = axisRange(bounds);
  const section = el('section', { class: 'card difference', attrs: { id: 'difference', 'aria-label': 'Difference' } }, el('h2', { text: 'Challenger − baseline, with 95% intervals' }));
  const rows = el('div', { class: 'diff-rows' });
  if (d.winRate) rows.append(intervalRow(range, 'Pass rate', d.winRate, margin, 'Newcombe, paired', { id: 'difference-win-rate' }));
  if (d.clustered) rows.append(intervalRow(range, 'Clustered', d.clustered, margin, `${d.clustered.clusters} clusters`, { id: 'difference-clustered' }));
  if (shown.length > 0) rows.append(el('div', { class: 'diff-heading muted', text: 'By tag' }));
  for (const slice of shown) rows.append(sliceRow(range, slice, margin));
  rows.append(axisRow(range, margin));
  section.append(rows);
  if (hidden > 0) section.append(el('p', { class: 'muted small', text: `${int(hidden)} more tag${hidden === 1 ? '' : 's'} in the JSON report; drawn here are the tags where an example changed outcome.` }));
  section.append(statisticsFacts(report));
  return section;
}

function sliceRow(range: AxisRange, slice: Slice, margin: number | undefined): HTMLElement {
  return intervalRow(
    range,
    slice.tag,
    slice.difference,
    margin,
    `n ${int(slice.n)} · ${slice.regressed} regressed, ${slice.improved} improved`,
    { 'data-slice': slice.tag },
    slice.concentrated ? '▼ regression concentrated here' : undefined,
  );
}

/** Power, non-inferiority, the score difference and test, judge agreement: one line each. */
function statisticsFacts(report: EvalReport): HTMLElement {
  const list = el('ul', { class: 'facts' });
  const fact = (id: string, title: string, text: string): void => {
    list.append(el('li', { attrs: { id } }, el('strong', { text: `${title}: ` }), text));
  };
  const info = report.informational;
  if (info) {
    const examples = info.count === 1 ? 'example' : 'examples';
    fact('informational', 'Awaiting review', `${int(info.count)} ${examples} tagged ${info.tag} ran (${info.improved} improved, ${info.regressed} regressed) but are informational: not in the table, the pass rates or the verdict until the tag is removed`);
  }
  if (report.power) fact('power', 'Power', report.power.summary);
  const ni = report.nonInferiority;
  if (ni) {
    const item = el('li', { attrs: { id: 'non-inferiority', 'data-status': ni.status } }, el('strong', { text: 'Non-inferiority: ' }), el('span', { class: `effect effect-${ni.status === 'pass' ? 'pass' : ni.status}`, text: ni.status }), ` ${ni.message}`);
    list.append(item);
  }
  const score = report.difference?.score;
  if (score) {
    const test = report.scoreTest;
    fact(
      'score-difference',
      'Mean judge score',
      `${scoreInterval(score)} (paired t)${test ? `; Wilcoxon signed-rank p = ${formatP(test.pValue)} (${test.method === 'exact' ? 'exact' : 'normal approximation'}, ${test.n} non-zero)${test.gating ? ', gating' : ''}` : ''}`,
    );
  }
  const holm = report.mcnemar.holm;
  if (holm) fact('holm', 'Several prompts', `McNemar p = ${formatP(report.mcnemar.pValue)}, Holm-adjusted over ${holm.prompts} prompts: ${formatP(holm.adjustedPValue)}`);
  const j = report.judge;
  if (j.unanimousShare !== undefined && j.unanimousShare !== null) {
    fact('judge-agreement', 'Judge agreement', `${pct(j.unanimousShare)} of outputs unanimous over ${j.repeats} repeats; Fleiss' kappa ${j.fleissKappa === null || j.fleissKappa === undefined ? '–' : j.fleissKappa.toFixed(2)}`);
  }
  return list;
}

// ---------------------------------------------------------------------------------------------
// Examples

let listEl: HTMLOListElement | undefined;
let moreEl: HTMLElement | undefined;
let countEl: HTMLElement | undefined;
let observer: IntersectionObserver | undefined;

function examplesSection(report: EvalReport): HTMLElement {
  const counts = new Map<OutcomeFilter, number>([['all', report.examples.length]]);
  for (const e of report.examples) counts.set(e.outcome, (counts.get(e.outcome) ?? 0) + 1);
  if (filter !== 'all' && !counts.get(filter)) filter = 'all';

  const chips = el('div', { class: 'chips', attrs: { role: 'group', 'aria-label': 'Filter by outcome' } });
  for (const f of FILTERS) {
    const n = counts.get(f) ?? 0;
    if (f !== 'all' && n === 0) continue;
    const chip = button('', undefined, () => {
      filter = f;
      for (const other of chips.querySelectorAll('button')) other.setAttribute('aria-pressed', String(other.dataset.filter === f));
      saveState();
      renderList();
    });
    if (f !== 'all') chip.append(el('span', { class: 'chip-symbol', text: OUTCOME_SYMBOL[f], attrs: { 'aria-hidden': 'true' } }), ' ');
    chip.append(`${f === 'all' ? 'All' : OUTCOME_LABEL[f]} ${int(n)}`);
    chip.className = `chip${f !== 'all' ? ` outcome-${f}` : ''}`;
    chip.dataset.filter = f;
    chip.setAttribute('aria-pressed', String(f === filter));
    chips.append(chip);
  }

  const input = el('input', { attrs: { id: 'search', type: 'search', placeholder: 'Search ids, tags, inputs, outputs, errors', 'aria-label': 'Search examples' } });
  input.value = search;
  let timer: ReturnType<typeof setTimeout> | undefined;
  input.addEventListener('input', () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      search = input.value;
      saveState();
      renderList();
    }, SEARCH_DEBOUNCE_MS);
  });

  countEl = el('span', { class: 'muted', attrs: { id: 'shown-count', 'aria-live': 'polite' } });
  listEl = el('ol', { class: 'examples-list', attrs: { id: 'examples' } });
  moreEl = el('div', { class: 'more', attrs: { id: 'more' } });
  observer?.disconnect();
  observer = new IntersectionObserver((entries) => {
    if (entries.some((e) => e.isIntersecting)) appendPage();
  });
  observer.observe(moreEl);
  return el(
    'section',
    { class: 'examples', attrs: { 'aria-label': 'Examples' } },
    el('h2', { text: 'Examples' }),
    el('div', { class: 'toolbar' }, chips, input, countEl),
    synthesisBar(report),
    listEl,
    moreEl,
  );
}

/**
 * "Synthesize cases from these failures": the failing examples carry a checkbox (every regressed
 * one checked when the report arrives); the extension checks the ids against its own copy of the
 * report, asks before spending as Run Eval does, and appends the new cases.
 */
function synthesisBar(report: EvalReport): HTMLElement | null {
  const failing = report.examples.filter(isFailingExample);
  if (failing.length === 0) return null;
  const regressed = failing.filter((e) => e.outcome === 'regressed');
  const setAll = (ids: Iterable<string>): void => {
    selected = new Set(ids);
    for (const box of listEl?.querySelectorAll<HTMLInputElement>('input.select-example') ?? []) box.checked = selected.has(box.dataset.exampleId ?? '');
    updateSynthesizeButton();
  };
  synthesizeButton = button('', 'synthesize', () => {
    const ids = report.examples.filter((e) => selected.has(e.id)).map((e) => e.id);
    if (ids.length > 0) vscode.postMessage({ type: 'synthesize', exampleIds: ids });
  }, { class: 'primary' });
  updateSynthesizeButton();
  return el(
    'div',
    { class: 'synthesis-bar', attrs: { id: 'synthesis-bar', role: 'group', 'aria-label': 'Synthesize cases from failures' } },
    el('span', { class: 'muted', text: `${int(failing.length)} failing (${int(regressed.length)} regressed): check the ones to learn from.` }),
    button(`Select all regressed (${int(regressed.length)})`, 'select-regressed', () => setAll(regressed.map((e) => e.id)), { class: 'secondary' }),
    button('Clear selection', 'select-none', () => setAll([]), { class: 'secondary' }),
    synthesizeButton,
  );
}

function updateSynthesizeButton(): void {
  if (!synthesizeButton) return;
  const n = selected.size;
  synthesizeButton.textContent = `Synthesize cases from ${n === 1 ? 'this failure' : `these ${int(n)} failures`}`;
  synthesizeButton.disabled = n === 0 || n > MAX_SYNTHESIS_SELECTION;
  synthesizeButton.title =
    n > MAX_SYNTHESIS_SELECTION
      ? `Select at most ${MAX_SYNTHESIS_SELECTION}: each example is sent in the request`
      : 'Ask the synthesis model for new cases that exercise the same failures (redacted; the cost is estimated first); they are appended to eval.jsonl tagged synthetic and needs-review';
}

function selectBox(e: ExampleResult): HTMLInputElement {
  const box = el('input', { class: 'select-example', attrs: { type: 'checkbox', 'aria-label': `Select ${e.id} for synthesis`, 'data-example-id': e.id } });
  box.checked = selected.has(e.id);
  box.addEventListener('change', () => {
    if (box.checked) selected.add(e.id);
    else selected.delete(e.id);
    updateSynthesizeButton();
  });
  return box;
}

function haystackOf(e: ExampleResult): string {
  let text = haystacks.get(e);
  if (text === undefined) {
    text = [
      e.id,
      e.tags.join(' '),
      JSON.stringify(e.inputs),
      e.reference ?? '',
      e.challenger.output ?? '',
      e.baseline.output ?? '',
      e.challenger.error ?? '',
      e.baseline.error ?? '',
    ]
      .join('\n')
      .toLowerCase();
    haystacks.set(e, text);
  }
  return text;
}

function renderList(): void {
  const report = view?.report;
  if (!report || !listEl || !moreEl || !countEl) return;
  const needle = search.trim().toLowerCase();
  visible = report.examples
    .filter((e) => (filter === 'all' || e.outcome === filter) && (needle === '' || haystackOf(e).includes(needle)))
    .sort((a, b) => OUTCOME_ORDER[a.outcome] - OUTCOME_ORDER[b.outcome] || a.line - b.line);
  rendered = 0;
  listEl.replaceChildren();
  countEl.textContent = `${int(visible.length)} of ${int(report.examples.length)} shown`;
  if (visible.length === 0) listEl.append(el('li', { class: 'empty', text: 'No example matches.' }));
  appendPage();
}

function appendPage(): void {
  if (!listEl || !moreEl) return;
  const end = Math.min(visible.length, rendered + PAGE);
  const fragment = document.createDocumentFragment();
  for (let i = rendered; i < end; i++) fragment.append(exampleRow(visible[i]));
  listEl.append(fragment);
  rendered = end;
  moreEl.replaceChildren();
  const left = visible.length - rendered;
  if (left > 0) moreEl.append(button(`Show ${int(Math.min(PAGE, left))} more (${int(left)} not shown yet)`, 'show-more', appendPage, { class: 'secondary' }));
}

function snippet(e: ExampleResult): string {
  const text = e.challenger.error ?? e.baseline.error ?? e.challenger.output ?? e.baseline.output ?? '';
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > 200 ? `${line.slice(0, 200)}…` : line;
}

function score(side: ExampleSide): string {
  return side.score === null ? '–' : String(side.score);
}

function exampleRow(e: ExampleResult): HTMLLIElement {
  const details = el('details', { class: `example outcome-${e.outcome}`, attrs: { 'data-example-id': e.id, 'data-outcome': e.outcome } });
  const summary = el(
    'summary',
    {},
    el('span', { class: `badge outcome-${e.outcome}` }, el('span', { text: OUTCOME_SYMBOL[e.outcome], attrs: { 'aria-hidden': 'true' } }), ` ${OUTCOME_LABEL[e.outcome]}`),
    el('code', { class: 'example-id', text: e.id }),
    pairSummary(e),
    e.unstable ? el('span', { class: 'flag', text: 'unstable', title: 'The judge votes disagreed' }) : null,
    ...e.tags.slice(0, 4).map((tag) => el('span', { class: 'tag', text: tag })),
    el('span', { class: 'snippet', text: snippet(e) }),
  );
  details.append(summary);
  details.addEventListener('toggle', () => {
    if (details.open) {
      if (details.childElementCount === 1) details.append(exampleDetail(e));
      expanded.add(e.id);
    } else {
      expanded.delete(e.id);
    }
    saveState();
  });
  if (expanded.has(e.id)) {
    details.append(exampleDetail(e));
    details.open = true;
  }
  if (isFailingExample(e)) return el('li', { class: 'selectable' }, selectBox(e), details);
  // Rows without a checkbox keep the column, so the outcomes line up.
  if (anyFailing) return el('li', { class: 'selectable' }, el('span', { class: 'select-spacer', attrs: { 'aria-hidden': 'true' } }), details);
  return el('li', {}, details);
}

function valueText(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value, null, 2);
}

/** The two outputs as panes: words only in the baseline in `<del>`, words only in the challenger in `<ins>`. */
function diffPanes(baseline: string | null, challenger: string | null): [HTMLElement, HTMLElement] {
  const left = el('pre', { class: 'output', attrs: { 'data-side': 'baseline' } });
  const right = el('pre', { class: 'output', attrs: { 'data-side': 'challenger' } });
  if (baseline === null || challenger === null || baseline.length > MAX_DIFF_CHARS || challenger.length > MAX_DIFF_CHARS) {
    left.append(baseline ?? '');
    right.append(challenger ?? '');
    if (baseline === null) left.append(el('span', { class: 'muted', text: 'no output' }));
    if (challenger === null) right.append(el('span', { class: 'muted', text: 'no output' }));
    return [left, right];
  }
  const changes = diffWords(baseline, challenger, { timeout: 1000 });
  if (!changes) {
    left.append(baseline);
    right.append(challenger);
    return [left, right];
  }
  left.classList.add('diff');
  right.classList.add('diff');
  for (const change of changes) {
    if (change.added) right.append(el('ins', { text: change.value }));
    else if (change.removed) left.append(el('del', { text: change.value }));
    else {
      left.append(change.value);
      right.append(change.value);
    }
  }
  return [left, right];
}

function votes(side: ExampleSide): HTMLElement {
  const list = el('ul', { class: 'votes', attrs: { 'aria-label': 'Judge votes' } });
  side.votes.forEach((vote, i) =>
    list.append(
      el(
        'li',
        { class: vote.correct ? 'vote vote-correct' : 'vote vote-wrong', title: `repeat ${i + 1}: ${vote.correct ? 'correct' : 'wrong'}, score ${vote.score}` },
        el('span', { class: 'vote-mark', text: `${vote.correct ? '✓' : '✗'} ${vote.score}` }),
        voteReason(vote.reason),
      ),
    ),
  );
  if (side.votes.length === 0) list.append(el('li', { class: 'muted', text: 'no votes' }));
  return list;
}

// ---------------------------------------------------------------------------------------------
// Why a verdict is what it is: the judge's reasons, the paired outcome in words, the floor, provenance

/** The judge's short reason for one vote, as text. */
function voteReason(reason: string | undefined): HTMLElement | null {
  return reason ? el('span', { class: 'vote-reason', text: reason }) : null;
}

function sideVerdictWord(side: ExampleSide): string {
  return side.correct === null ? 'not judged' : side.correct ? 'correct' : 'wrong';
}

/**
 * The row's paired outcome in words ("baseline correct (3) → challenger wrong (3)"): the outcome is
 * decided by the judges' majority on `correct`, so equal scores can still be a regression.
 */
function pairSummary(e: ExampleResult): HTMLElement {
  const text = `baseline ${sideVerdictWord(e.baseline)} (${score(e.baseline)}) → challenger ${sideVerdictWord(e.challenger)} (${score(e.challenger)})`;
  return el('span', {
    class: 'scores',
    text,
    title: 'Judge verdict and median score (1 to 5) of each side. The outcome follows the majority verdict on "correct"; the score is the judge\'s grade beside it.',
  });
}

/** "production v1 scores 77.8%, also below 80%: …" when the baseline itself is under the floor. */
function baselineFloorNote(report: EvalReport): HTMLElement | null {
  const floor = report.gate.thresholds.winRate;
  const rate = report.baseline.winRate;
  if (rate === null || rate >= floor) return null;
  const b = report.baseline;
  const version = /\/v([0-9]+)$/.exec(b.dir)?.[1];
  const who = b.source === 'git' ? `production${version ? ` v${version}` : ` ${b.dir}`}` : `the baseline ${b.dir}`;
  return el('p', {
    class: 'note floor-note',
    attrs: { id: 'baseline-floor-note' },
    text: `${who} scores ${pct(rate)}, also below ${pct(floor)}: the floor may be too high for this suite.`,
  });
}

/** Where the shown verdict came from, and whether it still holds: stale, unsaved edits, the gate, a failed run. */
function provenanceBanner(v: View): HTMLElement | null {
  const latest = v.verdict;
  if (!latest) return null;
  const parts: Child[] = [];
  if (latest.status === 'error') {
    parts.push(el('strong', { text: 'The latest run failed: ' }), latest.error ?? 'no verdict.', v.report ? ' The results below are from an earlier run.' : '');
  } else {
    const from = latest.source === 'gate' ? 'the pre-PR gate' : latest.source === 'test' ? 'the Test Explorer' : 'Run Eval vs Baseline';
    parts.push(`From ${from}, `, verdictTime(latest.savedAt), '.');
    if (latest.unsavedFiles.length > 0) parts.push(' ', el('strong', { text: 'Unsaved edits: ' }), `the challenger was the editor text of ${latest.unsavedFiles.join(', ')}, not the files on disk.`);
  }
  if (latest.stale) parts.push(' ', el('strong', { text: 'Stale: ' }), 'the prompt\'s files changed since; run it again.');
  const kind = latest.status === 'error' ? 'failed' : latest.stale ? 'stale' : latest.unsavedFiles.length > 0 ? 'unsaved' : 'plain';
  return el('p', { class: `banner provenance provenance-${kind}`, attrs: { id: 'provenance', 'data-source': latest.source, 'data-stale': String(latest.stale), 'data-unsaved': String(latest.unsavedFiles.length > 0) } }, ...parts);
}

/** When a verdict was recorded, in the viewer's local time (`<time>` keeps the exact instant). */
function verdictTime(savedAt: string): HTMLElement {
  const at = new Date(savedAt);
  if (Number.isNaN(at.getTime())) return el('span', { text: 'at an unknown time' });
  const sameDay = at.toDateString() === new Date().toDateString();
  const clock = at.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' });
  const text = sameDay ? `today at ${clock}` : `${at.toLocaleDateString(undefined, { day: 'numeric', month: 'short', year: 'numeric' })} at ${clock}`;
  return el('time', { text, attrs: { datetime: at.toISOString() } });
}

function sidePane(name: 'Baseline' | 'Challenger', side: ExampleSide, output: HTMLElement): HTMLElement {
  const verdictText = side.correct === null ? 'not judged' : side.correct ? '✓ correct' : '✗ wrong';
  return el(
    'div',
    { class: `side side-${name.toLowerCase()}` },
    el(
      'div',
      { class: 'side-head' },
      el('h4', { text: name }),
      el('span', { class: side.correct === null ? 'muted' : side.correct ? 'ok' : 'bad', text: verdictText }),
      el('span', { class: 'muted', text: ` · score ${score(side)} · ${ms(side.latencyMs)}${side.cached ? ' · cached' : ''}${side.unstable ? ' · unstable' : ''}` }),
    ),
    output,
    votes(side),
    side.error !== null ? el('p', { class: 'error' }, el('strong', { text: 'Error: ' }), side.error) : null,
  );
}

function exampleDetail(e: ExampleResult): HTMLElement {
  const inputs = el('dl', { class: 'inputs' });
  for (const [name, value] of Object.entries(e.inputs)) inputs.append(el('dt', {}, el('code', { text: name })), el('dd', {}, el('pre', { text: valueText(value) })));
  if (Object.keys(e.inputs).length === 0) inputs.append(el('dd', { class: 'muted', text: 'no inputs' }));
  const [baseline, challenger] = diffPanes(e.baseline.output, e.challenger.output);
  return el(
    'div',
    { class: 'detail' },
    el(
      'div',
      { class: 'detail-actions' },
      button(`Open eval.jsonl line ${e.line + 1}`, undefined, () => vscode.postMessage({ type: 'open-example', exampleId: e.id }), { class: 'link open-line' }),
    ),
    el('h3', {}, 'Outputs ', el('span', { class: 'muted small', text: '(words only in the baseline struck through, words only in the challenger underlined)' })),
    el('div', { class: 'outputs' }, sidePane('Baseline', e.baseline, baseline), sidePane('Challenger', e.challenger, challenger)),
    el('h3', { text: 'Reference' }),
    e.reference === null ? el('p', { class: 'muted', text: 'No reference.' }) : el('pre', { class: 'reference', text: e.reference }),
    el('h3', { text: 'Inputs' }),
    inputs,
  );
}

// ---------------------------------------------------------------------------------------------
// Messages

function showNotice(kind: 'info' | 'error', text: string): void {
  const notice = document.getElementById('notice');
  if (!notice) return;
  notice.className = `notice notice-${kind}`;
  notice.textContent = text;
}

function onMessage(message: HostMessage): void {
  switch (message.type) {
    case 'show': {
      const { type: _type, key: shownKey, ...rest } = message;
      key = shownKey;
      view = rest;
      saveState();
      render();
      return;
    }
    case 'run': {
      if (!view) return;
      const wasRunning = view.run.phase === 'running';
      view = { ...view, run: message.run };
      const old = document.getElementById('run-state');
      if (old) old.replaceWith(runSection(message.run));
      // Buttons depend on whether a run is in progress.
      if (wasRunning !== (message.run.phase === 'running')) {
        const head = app.querySelector('header.head');
        if (head) head.replaceWith(header(view));
      }
      return;
    }
    case 'notice':
      showNotice(message.kind, message.text);
      return;
    default:
      assertNever(message, 'host message');
  }
}

window.addEventListener('message', (event: MessageEvent<unknown>) => {
  const message = parseHostMessage(event.data);
  if (!message) {
    console.warn('Prompt CI results: ignored a message that does not follow the protocol');
    return;
  }
  onMessage(message);
});

vscode.postMessage({ type: 'ready' });
