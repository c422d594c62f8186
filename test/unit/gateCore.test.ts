import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { baseFromPush, changedCallSitePrompts, parsePushedRef, planChangedPrompts } from '../../src/core/gate/changedPrompts';
import { splitNul } from '../../src/core/gitOutput';
import type { ChangedPromptVersion } from '../../src/core/gate/changedPrompts';
import { compareDrift, formatPoints } from '../../src/core/gate/drift';
import { formatPromptResultText, gateAnnotations, overallLine, renderGateMarkdown } from '../../src/core/gate/gateReport';
import { historyRecordOf, isNewMeasurement, lastPassingRun, parseHistory } from '../../src/core/gate/history';
import type { HistoryRecord } from '../../src/core/gate/history';
import { chainLine, HOOK_MARKER, isOwnHook, preHookScript, shellQuote } from '../../src/core/gate/hookScript';
import { resultFromError, resultFromReport, resultRemoved, summariseGate } from '../../src/core/gate/verdicts';
import type { PromptGateResult } from '../../src/core/gate/verdicts';
import { DEFAULT_RENDER_FUNCTIONS } from '../../src/core/repoSettings';
import { createSourceParser } from '../../src/node/treeSitter';
import type { SourceParser } from '../../src/node/treeSitter';
import type { EvalReport, ExampleResult } from '../../src/shared/evalReport';

const VERSIONS = [
  { dir: 'prompts/summarisation/v1', name: 'summarisation', version: 1 },
  { dir: 'prompts/summarisation/v2', name: 'summarisation', version: 2 },
  { dir: 'prompts/classification/v1', name: 'classification', version: 1 },
];

function changed(dir: string, extra: Partial<ChangedPromptVersion> = {}): ChangedPromptVersion {
  const [, name, v] = dir.split('/');
  return { dir, name, version: Number(v.slice(1)), files: [`${dir}/system.md`], callSiteFiles: [], removed: false, ...extra };
}

function side(correct: boolean | null, output: string | null = 'out'): ExampleResult['challenger'] {
  return { output, correct, score: correct === null ? null : correct ? 5 : 1, votes: [], unstable: false, latencyMs: 10, cached: false, error: correct === null ? 'boom' : null };
}

function example(i: number, outcome: ExampleResult['outcome'], output = `answer ${i}`): ExampleResult {
  const [c, b] = outcome === 'regressed' ? [false, true] : outcome === 'improved' ? [true, false] : outcome === 'both-correct' ? [true, true] : [false, false];
  return { id: `ex-${i}`, line: i - 1, inputs: {}, reference: 'ref', tags: [], outcome, unstable: false, challenger: side(c, output), baseline: side(b) };
}

function report(status: 'pass' | 'blocked' | 'inconclusive', examples: ExampleResult[], winRate = 0.5): EvalReport {
  const count = (o: string): number => examples.filter((e) => e.outcome === o).length;
  const summary = (rate: number) => ({
    source: 'git' as const,
    dir: 'prompts/summarisation/v2',
    ref: 'main',
    commit: 'c'.repeat(40),
    model: 'claude-sonnet-4-6',
    scored: examples.length,
    correct: Math.round(rate * examples.length),
    winRate: rate,
    winRateInterval: null,
    meanScore: null,
    latencyMs: null,
    errors: 0,
  });
  return {
    schema: 'prompt-ci/eval-report@1',
    prompt: { name: 'summarisation', version: 2 },
    startedAt: '2025-03-01T10:00:00.000Z',
    durationMs: 5,
    cancelled: false,
    gate: {
      status,
      reasons: status === 'pass' ? [] : [{ code: 'regression', effect: status === 'blocked' ? 'blocked' : 'inconclusive', message: 'it got worse' }],
      blocking: true,
      unblockedStatus: status,
      notes: [],
      thresholds: { winRate: 0.8, p95LatencyMs: null, alpha: 0.05 },
    },
    mcnemar: { improved: count('improved'), regressed: count('regressed'), bothCorrect: count('both-correct'), bothWrong: count('both-wrong'), statistic: null, pValue: 0.25, method: 'exact' },
    challenger: { ...summary(winRate), source: 'working-tree', ref: null },
    baseline: summary(0.75),
    judge: { model: 'claude-opus-4-7', repeats: 3, rubric: 'default' },
    cost: { apiCalls: 4, cacheHits: 0, inputTokens: 1, outputTokens: 1, usd: 0, uncached: { inputTokens: 1, outputTokens: 1, usd: 0 } },
    unstableCount: 0,
    examples,
  };
}

describe('gate: what changed', () => {
  it('splits -z output', () => {
    assert.deepEqual(splitNul('a\0b c\0prompts/x/v1/eval.jsonl\0'), ['a', 'b c', 'prompts/x/v1/eval.jsonl']);
    assert.deepEqual(splitNul(''), []);
  });

  it('maps changed files to their version directories, and marks removed ones', () => {
    const plan = planChangedPrompts({
      changedPaths: [
        'README.md',
        'prompts/summarisation/README.md',
        'prompts/summarisation/v2/system.md',
        'prompts/summarisation/v2/eval.jsonl',
        'prompts/summarisation/v3/system.md',
        'prompts/summarisation/draft/notes.md',
      ],
      versions: VERSIONS,
      callSiteChanges: [],
    });
    assert.deepEqual(plan, [
      { dir: 'prompts/summarisation/v2', name: 'summarisation', version: 2, files: ['prompts/summarisation/v2/eval.jsonl', 'prompts/summarisation/v2/system.md'], callSiteFiles: [], removed: false },
      { dir: 'prompts/summarisation/v3', name: 'summarisation', version: 3, files: ['prompts/summarisation/v3/system.md'], callSiteFiles: [], removed: true },
    ]);
  });

  it('adds the versions changed call sites name, the highest one when they name none, and skips versions that do not exist', () => {
    const plan = planChangedPrompts({
      changedPaths: ['prompts/summarisation/v2/system.md', 'src/a.py'],
      versions: VERSIONS,
      callSiteChanges: [
        { promptName: 'summarisation', file: 'src/a.py', versions: [undefined, 1] },
        { promptName: 'classification', file: 'src/b.ts', versions: [7] },
        { promptName: 'nowhere', file: 'src/b.ts', versions: [undefined] },
      ],
    });
    assert.deepEqual(
      plan.map((p) => [p.dir, p.files.length, p.callSiteFiles]),
      [
        ['prompts/summarisation/v1', 0, ['src/a.py']],
        ['prompts/summarisation/v2', 1, ['src/a.py']],
      ],
    );
  });

  it('measures a push to the base branch itself against the remote\'s commit of it', () => {
    const sha = 'a'.repeat(40);
    const zero = '0'.repeat(40);
    assert.deepEqual(parsePushedRef(`refs/heads/main=${sha}`), { remoteRef: 'refs/heads/main', remoteSha: sha });
    assert.equal(parsePushedRef('main=abc'), undefined);
    const main = [{ remoteRef: 'refs/heads/main', remoteSha: sha }];
    assert.equal(baseFromPush(main, ['origin/main', 'main'], ['origin']), sha);
    assert.equal(baseFromPush(main, ['main'], ['origin']), sha);
    assert.equal(baseFromPush(main, ['upstream/main'], ['origin', 'upstream']), sha);
    assert.equal(baseFromPush([{ remoteRef: 'refs/heads/feature', remoteSha: sha }], ['origin/main', 'main'], ['origin']), undefined);
    assert.equal(baseFromPush([{ remoteRef: 'refs/heads/main', remoteSha: zero }], ['main'], ['origin']), undefined, 'a new remote branch has no commit to compare with');
    assert.equal(baseFromPush([{ remoteRef: 'refs/heads/1.0', remoteSha: sha }], ['release/1.0'], ['origin']), undefined);
    assert.equal(baseFromPush([{ remoteRef: 'refs/heads/release/1.0', remoteSha: sha }], ['release/1.0'], ['origin']), sha);
  });

  describe('call sites', () => {
    let parser: SourceParser;
    before(async () => {
      parser = await createSourceParser();
    });
    after(() => parser.dispose());
    const side = (text: string) => ({ text, sites: parser.callSitesOf(text, 'python', DEFAULT_RENDER_FUNCTIONS) });

    const BEFORE = [
      'def summarise(t):',
      '    return render_prompt("summarisation", version=2, document=t.body, plan=t.plan)',
      '',
      'def triage(t):',
      '    return render_prompt("classification", subject=t.subject, body=t.body)',
      '',
    ].join('\n');

    it('sees an edited call, a new call and a removed call, per prompt', () => {
      const edited = BEFORE.replace('plan=t.plan', 'plan=t.plan_name');
      assert.deepEqual(changedCallSitePrompts('src/a.py', side(BEFORE), side(edited)), [{ promptName: 'summarisation', file: 'src/a.py', versions: [2] }]);
      const added = `${BEFORE}\ndef again(t):\n    return render_prompt("classification", subject=t.subject, body=t.body)\n`;
      assert.deepEqual(changedCallSitePrompts('src/a.py', side(BEFORE), side(added)), [{ promptName: 'classification', file: 'src/a.py', versions: [undefined] }]);
      assert.deepEqual(
        changedCallSitePrompts('src/a.py', side(BEFORE), side('')).map((c) => c.promptName),
        ['classification', 'summarisation'],
      );
    });

    it('sees nothing when calls only moved or were reformatted', () => {
      const moved = `import os\n\n\n${BEFORE}`;
      assert.deepEqual(changedCallSitePrompts('src/a.py', side(BEFORE), side(moved)), []);
      const wrapped = BEFORE.replace('version=2, document=t.body', 'version=2,\n        document=t.body');
      assert.deepEqual(changedCallSitePrompts('src/a.py', side(BEFORE), side(wrapped)), []);
    });

    it('counts a version switch as a change of both versions', () => {
      const switched = BEFORE.replace('version=2', 'version=1');
      assert.deepEqual(changedCallSitePrompts('src/a.py', side(BEFORE), side(switched)), [{ promptName: 'summarisation', file: 'src/a.py', versions: [1, 2] }]);
    });
  });
});

describe('gate: verdicts', () => {
  it('is blocked by a blocked prompt or by check errors, inconclusive by an inconclusive or failed one, else passes', () => {
    const pass = resultFromReport(changed('prompts/summarisation/v2'), report('pass', [example(1, 'both-correct')]), 'v2 at main', false);
    const blocked = resultFromReport(changed('prompts/summarisation/v2'), report('blocked', [example(1, 'regressed')]), 'v2 at main', false);
    const inconclusive = resultFromReport(changed('prompts/summarisation/v2'), report('inconclusive', []), 'v2 at main', false);
    const error = resultFromError(changed('prompts/classification/v1'), 'metadata.yaml is not usable');
    const removed = resultRemoved(changed('prompts/summarisation/v3', { removed: true }));
    assert.deepEqual(summariseGate([], 0), { status: 'pass', exitCode: 0, checkErrors: 0, counts: { pass: 0, blocked: 0, inconclusive: 0, error: 0, removed: 0 } });
    assert.equal(summariseGate([pass, removed], 0).status, 'pass');
    assert.equal(summariseGate([pass], 1).status, 'blocked');
    assert.equal(summariseGate([pass, inconclusive], 0).status, 'inconclusive');
    assert.equal(summariseGate([pass, error], 0).status, 'inconclusive');
    assert.equal(summariseGate([inconclusive, blocked], 0).status, 'blocked');
    assert.equal(summariseGate([inconclusive, blocked], 0).exitCode, 1);
    assert.equal(overallLine(summariseGate([pass, blocked, error], 2)), 'gate: BLOCKED (1 blocked, 1 could not run, 1 passed, check found 2 errors)');
  });

  it('notes a new prompt, compared with itself', () => {
    const result = resultFromReport(changed('prompts/faq/v1'), report('pass', [example(1, 'both-correct')]), 'none', true);
    assert.match(result.notes[0], /^new prompt: /);
  });
});

describe('gate: reports', () => {
  const hostile = '<script>alert(1)</script> | **bold** %0A::error::';
  const blocked: PromptGateResult = resultFromReport(
    changed('prompts/summarisation/v2'),
    report('blocked', [example(1, 'both-correct'), example(2, 'regressed', `line one\n${hostile}`), example(3, 'regressed')]),
    'prompts/summarisation/v2 at main (cccccccccccc)',
    false,
  );

  it('lists the regressed examples in the text, one line each with what the challenger said', () => {
    const text = formatPromptResultText(blocked, (p) => `app/${p}`);
    assert.equal(
      text,
      [
        'app/prompts/summarisation/v2: BLOCKED · pass rate 50.0% (2/3) vs baseline 75.0% (2/3) · 2 regressed, 0 improved, p = 0.25',
        '  baseline: prompts/summarisation/v2 at main (cccccccccccc)',
        '  - blocked: it got worse',
        '  regressed examples (2):',
        '    ex-2 (eval.jsonl line 2): baseline correct (score 5), challenger wrong (score 1)',
        `      challenger said: line one ${hostile}`,
        '    ex-3 (eval.jsonl line 3): baseline correct (score 5), challenger wrong (score 1)',
        '      challenger said: answer 3',
        '',
      ].join('\n'),
    );
  });

  it('escapes model output in annotations: a message cannot start a workflow command of its own', () => {
    const out = gateAnnotations([blocked]);
    const lines = out.trimEnd().split('\n');
    assert.equal(lines.length, 3);
    for (const line of lines) assert.match(line, /^::error file=prompts\/summarisation\/v2\/(metadata\.yaml|eval\.jsonl),line=\d+,title=[^:]*::/);
    assert.ok(lines[1].endsWith('%0Achallenger said: line one <script>alert(1)</script> | **bold** %250A::error::'), lines[1]);
  });

  it('escapes model output in Markdown and keeps the report under GitHub\'s size limit', () => {
    const md = renderGateMarkdown({ baseRef: 'main', mergeBase: 'm'.repeat(40), findings: [], results: [blocked], summary: summariseGate([blocked], 0) });
    assert.ok(md.startsWith('# Prompt CI gate: ❌ blocked\n'));
    assert.ok(!md.includes('<script>'));
    const long = 'word '.repeat(4000);
    const many = Array.from({ length: 40 }, (_, i) =>
      resultFromReport(changed(`prompts/p${i}/v1`), report('blocked', Array.from({ length: 10 }, (_, j) => example(j + 1, 'regressed', long))), 'b', false),
    );
    const big = renderGateMarkdown({ baseRef: 'main', mergeBase: 'm'.repeat(40), findings: null, results: many, summary: summariseGate(many, 0) });
    assert.ok(big.length < 65_536, `${big.length} characters`);
    assert.match(big, /did not fit here/);
  });
});

describe('gate: history', () => {
  const record: HistoryRecord = {
    prompt: 'summarisation',
    version: 2,
    dir: 'prompts/summarisation/v2',
    winRate: 0.5,
    scored: 2,
    correct: 1,
    model: 'claude-sonnet-4-6',
    judgeModel: 'claude-opus-4-7',
    date: '2025-03-01T10:00:00.000Z',
    commit: 'c'.repeat(40),
    source: 'gate',
  };

  it('records passing runs only', () => {
    assert.deepEqual(historyRecordOf(report('pass', [example(1, 'both-correct'), example(2, 'both-wrong')]), 'prompts/summarisation/v2', 'gate'), record);
    assert.equal(historyRecordOf(report('blocked', [example(1, 'regressed')]), 'prompts/summarisation/v2', 'gate'), undefined);
  });

  it('reads the file line by line, skipping what is not a record, and finds the last run of a version', () => {
    const text = [JSON.stringify(record), 'not json', JSON.stringify({ prompt: 'x' }), JSON.stringify({ ...record, winRate: 0.75 }), JSON.stringify({ ...record, version: 1, winRate: 0.1 }), ''].join('\n');
    const { records, skipped } = parseHistory(text);
    assert.equal(skipped, 2);
    assert.equal(lastPassingRun(records, 'summarisation', 2)?.winRate, 0.75);
    assert.equal(lastPassingRun(records, 'summarisation', 3), undefined);
  });

  it('does not record the same measurement twice', () => {
    assert.equal(isNewMeasurement([record], { ...record, date: '2025-04-01T00:00:00.000Z', commit: 'd'.repeat(40) }), false);
    assert.equal(isNewMeasurement([record], { ...record, winRate: 1, correct: 2 }), true);
    assert.equal(isNewMeasurement([record], { ...record, version: 3 }), true);
  });
});

describe('gate: drift', () => {
  const reference: HistoryRecord = {
    prompt: 'p', version: 1, dir: 'prompts/p/v1', winRate: 0.9, scored: 100, correct: 90, model: 'm', judgeModel: 'j', date: 'd', commit: null, source: 'gate',
  };
  const now = (winRate: number | null) => ({ winRate, scored: 100, model: 'm', judgeModel: 'j' });

  it('flags a move of more than the threshold, either way, and not one of exactly the threshold', () => {
    assert.equal(compareDrift(now(0.87), reference, 3).status, 'stable');
    assert.equal(compareDrift(now(0.93), reference, 3).status, 'stable');
    assert.equal(compareDrift(now(0.869), reference, 3).status, 'drifted');
    assert.equal(compareDrift(now(0.931), reference, 3).status, 'drifted');
    assert.equal(compareDrift(now(0.93), reference, 3).deltaPoints, 3);
  });

  it('has nothing to compare without a reference or a score, and notes what makes it unlike', () => {
    assert.equal(compareDrift(now(0.5), undefined, 3).status, 'no-reference');
    assert.equal(compareDrift(now(null), reference, 3).status, 'unscored');
    assert.deepEqual(compareDrift({ winRate: 0.9, scored: 90, model: 'm2', judgeModel: 'j' }, reference, 3).notes, [
      'the declared model changed since the recorded run (m then, m2 now)',
      'the recorded run scored 100 examples, this one 90',
    ]);
  });

  it('formats points with a sign', () => {
    assert.deepEqual([formatPoints(4.16), formatPoints(-3.1), formatPoints(0), formatPoints(-0.01)], ['+4.2', '-3.1', '0.0', '0.0']);
  });
});

describe('gate: the pre-push hook script', () => {
  it('quotes for sh and knows its own hooks by the marker', () => {
    assert.equal(shellQuote("it's here"), `'it'\\''s here'`);
    assert.ok(isOwnHook(preHookScript({ promptRoot: '' })));
    assert.ok(!isOwnHook('#!/bin/sh\necho hi\n'));
    assert.equal(chainLine(), '"$(dirname "$0")/prompt-ci-pre-push" "$@" || exit $?');
  });

  it('lets a push that only deletes refs through, and otherwise runs the CLI it finds, with its exit code', function () {
    if (process.platform === 'win32') this.skip();
    const dir = mkdtempSync(join(tmpdir(), 'prompt-ci-hook-'));
    execFileSync('git', ['init', '-q'], { cwd: dir });
    const cli = join(dir, 'fake-cli.js');
    writeFileSync(cli, 'require("fs").writeFileSync("ran", process.argv.slice(2).join(" ")); process.exit(1);\n');
    const hook = join(dir, 'hook');
    writeFileSync(hook, preHookScript({ promptRoot: '', installedCli: cli }));
    chmodSync(hook, 0o755);
    const run = (input: string): number => {
      try {
        execFileSync(hook, ['origin', 'url'], { cwd: dir, input, env: { PATH: process.env.PATH ?? '' }, stdio: ['pipe', 'pipe', 'pipe'] });
        return 0;
      } catch (error) {
        return (error as { status: number }).status;
      }
    };
    const zero = '0'.repeat(40);
    assert.equal(run(`(delete) ${zero} refs/heads/old ${'1'.repeat(40)}\n`), 0);
    assert.equal(run(`refs/heads/f ${'2'.repeat(40)} refs/heads/f ${zero}\nrefs/heads/main ${'3'.repeat(40)} refs/heads/main ${'4'.repeat(40)}\n`), 1);
    assert.equal(readFileSync(join(dir, 'ran'), 'utf8'), `gate --pushing refs/heads/f=${zero} --pushing refs/heads/main=${'4'.repeat(40)}`);
    assert.equal(run(''), 1, 'nothing on stdin (another hook read it): gate anyway');
    assert.ok(preHookScript({ promptRoot: 'app' }).includes(`root="$top"/'app'`));
    assert.ok(preHookScript({ promptRoot: '' }).includes(HOOK_MARKER));
  });
});
