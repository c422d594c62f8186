import { strict as assert } from 'node:assert';
import { buildEvalReport } from '../../src/core/eval/report';
import { promptMetadataSchema } from '../../src/core/metadataSchema';
import { DEFAULT_PRICING } from '../../src/core/repoSettings';
import type { EvalReport, ExampleResult, ExampleSide } from '../../src/shared/evalReport';
import type { HostMessage, WebviewMessage } from '../../src/shared/webviewProtocol';
import { assertNever, parseHostMessage, parsePanelState, parseWebviewMessage } from '../../src/shared/webviewProtocol';

function side(correct: boolean, output: string): ExampleSide {
  return { output, correct, score: correct ? 5 : 1, votes: [{ correct, score: correct ? 5 : 1 }], unstable: false, latencyMs: 40, cached: false, error: null };
}

function report(): EvalReport {
  const metadata = promptMetadataSchema.parse({ name: 'summary', version: 2, model: 'claude-haiku-4-5' });
  const examples: ExampleResult[] = [
    {
      id: 'x-1',
      line: 0,
      inputs: { message: '<img src=x onerror=alert(1)>' },
      reference: '</script><script>alert(2)</script>',
      tags: ['<i>tag</i>'],
      outcome: 'regressed',
      unstable: false,
      challenger: side(false, '<img src=x onerror=alert(1)>'),
      baseline: side(true, 'fine'),
    },
  ];
  return buildEvalReport({
    prompt: { name: 'summary', version: 2 },
    startedAt: '2025-05-01T10:00:00.000Z',
    durationMs: 12,
    run: { examples, cancelled: false, totals: { apiCalls: 4, cacheHits: 0, api: {}, all: {} } },
    challenger: { provenance: { source: 'working-tree', dir: 'prompts/summary/v2', ref: null, commit: null }, metadata },
    baseline: { provenance: { source: 'git', dir: 'prompts/summary/v1', ref: 'main', commit: 'b'.repeat(40) }, metadata },
    judge: { model: 'claude-haiku-4-5', repeats: 1, rubric: 'default' },
    pricing: DEFAULT_PRICING,
  });
}

const KEY = '0123456789abcdef0123456789abcdef';

function show(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    type: 'show',
    key: KEY,
    report: JSON.parse(JSON.stringify(report())),
    title: 'summary v2',
    dir: 'prompts/summary/v2',
    api: { kind: 'demo', host: '127.0.0.1:4000' },
    savedAt: '2025-05-01T10:00:01.000Z',
    run: { phase: 'idle' },
    ...overrides,
  };
}

describe('webview protocol', () => {
  describe('messages to the webview', () => {
    it('accepts a report as the extension sends it, markup in the data and all', () => {
      const message = parseHostMessage(show());
      assert.ok(message && message.type === 'show');
      assert.equal(message.report?.examples[0].challenger.output, '<img src=x onerror=alert(1)>');
      assert.equal(message.report?.examples[0].reference, '</script><script>alert(2)</script>');
    });

    it('accepts the run states and notices', () => {
      const running = { phase: 'running', stage: 'running', scope: 'all 12 examples', progress: { done: 3, total: 12, calls: 9, cacheHits: 3, errors: 0 } };
      assert.ok(parseHostMessage({ type: 'run', run: running }));
      assert.ok(parseHostMessage({ type: 'run', run: { phase: 'running', stage: 'confirming', scope: 'all 12 examples', detail: 'Baseline …', progress: null } }));
      assert.ok(parseHostMessage({ type: 'run', run: { phase: 'failed', message: 'no key' } }));
      assert.ok(parseHostMessage({ type: 'notice', kind: 'info', text: 'Copied.' }));
      assert.ok(parseHostMessage(show({ report: null, api: null, savedAt: null })));
    });

    it('rejects what does not follow the protocol', () => {
      for (const bad of [
        null,
        'show',
        { type: 'html', html: '<script>alert(1)</script>' },
        show({ key: '../../etc/passwd' }),
        show({ run: { phase: 'running', stage: 'running' } }),
        show({ api: { kind: 'demo' } }),
        { type: 'notice', kind: 'warning', text: 'x' },
        { type: 'run', run: { phase: 'running', stage: 'dreaming', scope: '', progress: null } },
      ]) {
        assert.equal(parseHostMessage(bad), undefined, JSON.stringify(bad)?.slice(0, 80));
      }
    });

    it('rejects a report that does not match the report schema', () => {
      const broken = show();
      const r = broken.report as EvalReport;
      (r.examples[0] as { outcome: string }).outcome = 'pwned';
      assert.equal(parseHostMessage(broken), undefined);
      assert.equal(parseHostMessage(show({ report: { ...report(), schema: 'prompt-ci/eval-report@2' } })), undefined);
    });
  });

  describe('messages from the webview', () => {
    it('accepts every message the panel sends', () => {
      const all: WebviewMessage[] = [
        { type: 'ready' },
        { type: 'copy-markdown' },
        { type: 'open-json' },
        { type: 'rerun', scope: 'all' },
        { type: 'rerun', scope: 'regressed' },
        { type: 'cancel-run' },
        { type: 'open-example', exampleId: 'x-1' },
      ];
      for (const message of all) assert.deepEqual(parseWebviewMessage(message), message);
    });

    it('rejects anything else: unknown types, bad fields, paths, commands', () => {
      for (const bad of [
        undefined,
        42,
        { type: 'rerun', scope: 'everything' },
        { type: 'open-example' },
        { type: 'open-example', exampleId: 7 },
        { type: 'open-file', path: '/etc/passwd' },
        { type: 'command', id: 'workbench.action.terminal.new' },
        { type: 'open-example', exampleId: 'x'.repeat(10_001) },
      ]) {
        assert.equal(parseWebviewMessage(bad), undefined, JSON.stringify(bad)?.slice(0, 80));
      }
    });
  });

  describe('saved panel state', () => {
    it('fills in the reader state it lacks', () => {
      assert.deepEqual(parsePanelState({ key: KEY }), { key: KEY, filter: 'all', search: '', expanded: [] });
      assert.deepEqual(parsePanelState({ key: KEY, filter: 'regressed', search: 'refund', expanded: ['x-1'] }), {
        key: KEY,
        filter: 'regressed',
        search: 'refund',
        expanded: ['x-1'],
      });
    });

    it('refuses state that names no stored results', () => {
      for (const bad of [undefined, {}, { key: 'not hex' }, { key: KEY, filter: 'nope' }, { key: KEY, expanded: Array(201).fill('a') }]) {
        assert.equal(parsePanelState(bad), undefined);
      }
    });
  });

  it('assertNever throws on a value the switch did not expect', () => {
    const message = { type: 'surprise' } as unknown as HostMessage;
    assert.throws(() => assertNever(message as never, 'host message'), /unexpected host message: {"type":"surprise"}/);
  });
});
