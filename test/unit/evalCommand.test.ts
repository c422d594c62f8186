import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CliIo } from '../../src/cli/cliIo';
import { runEvalCommand } from '../../src/cli/evalCommand';
import { startStandIn } from '../support/standIn/server';
import type { StandIn, StandInOptions } from '../support/standIn/server';
import { evalReportSchema } from '../../src/shared/evalReport';

function git(cwd: string, ...args: string[]): void {
  execFileSync('git', args, {
    cwd,
    env: { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@example.com', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@example.com', HOME: cwd },
  });
}

const DOCS = [
  'The invoice was charged twice on 1 March. Support confirmed the duplicate capture. A refund was issued on 3 March.',
  'The export job failed with a timeout. Engineering traced it to a missing index. The fix shipped on Friday.',
  'A user cannot log in after the password reset. The reset email arrived late. Support unlocked the account.',
  'The webhook deliveries stopped on Monday. The endpoint returned errors. Deliveries resumed after a fix.',
];

function writeVersion(root: string, version: number, system: string, thresholds = 'threshold_win_rate: 0.5'): void {
  const dir = join(root, 'prompts', 'summarisation', `v${version}`);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'system.md'), system);
  writeFileSync(join(dir, 'user.template.md'), '<document>{document}</document>');
  writeFileSync(
    join(dir, 'eval.jsonl'),
    DOCS.map((d, i) => JSON.stringify({ id: `t-${i + 1}`, inputs: { document: d }, reference: d.split('. ').slice(0, 2).join('. ') })).join('\n'),
  );
  writeFileSync(
    join(dir, 'metadata.yaml'),
    `name: summarisation\nversion: ${version}\nmodel: claude-sonnet-4-6\nmax_output_tokens: 200\neval:\n  ${thresholds}\n  judge: { model: claude-opus-4-7, repeats: 1 }\n`,
  );
}

function makeRepo(v2Thresholds?: string): string {
  const root = mkdtempSync(join(tmpdir(), 'prompt-ci-cli-eval-'));
  git(root, 'init', '-q', '-b', 'main');
  writeFileSync(join(root, 'prompt-ci.yaml'), 'eval:\n  concurrency: 4\n');
  writeVersion(root, 1, 'Summarise the ticket in one sentence.');
  git(root, 'add', '-A');
  git(root, 'commit', '-q', '-m', 'v1');
  writeVersion(root, 2, 'Summarise the ticket in two sentences.', v2Thresholds);
  return root;
}

interface Captured extends CliIo {
  out: string;
  err: string;
}

function io(cwd: string, env: Record<string, string | undefined>, extra: Partial<CliIo> = {}): Captured {
  const captured: Captured = {
    out: '',
    err: '',
    stdout: (text) => (captured.out += text),
    stderr: (text) => (captured.err += text),
    isTty: false,
    env,
    cwd,
    signal: new AbortController().signal,
    ...extra,
  };
  return captured;
}

describe('prompt-ci eval', () => {
  const roots: string[] = [];
  let standIn: StandIn | undefined;
  const repo = (thresholds?: string): string => {
    const root = makeRepo(thresholds);
    roots.push(root);
    return root;
  };
  const start = async (options: StandInOptions = {}): Promise<StandIn> => (standIn = await startStandIn(options));
  const env = (server: StandIn): Record<string, string> => ({ ANTHROPIC_API_KEY: 'test-key', ANTHROPIC_BASE_URL: server.url });

  afterEach(async () => {
    await standIn?.close();
    standIn = undefined;
  });
  after(() => {
    for (const root of roots) rmSync(root, { recursive: true, force: true });
  });

  it('prints the baseline, the estimate, then the verdict, McNemar table, p-value, win rates, latency and cost; writes the three reports', async () => {
    const root = repo();
    const server = await start();
    const cli = io(root, env(server));
    const code = await runEvalCommand(
      ['prompts/summarisation/v2', '--json', 'out/report.json', '--markdown', 'out/comment.md', '--junit', 'out/junit.xml'],
      cli,
    );
    assert.equal(cli.err, '');
    const report = evalReportSchema.parse(JSON.parse(readFileSync(join(root, 'out/report.json'), 'utf8')));
    assert.equal(code, report.gate.status === 'pass' ? 0 : 1);
    const out = cli.out;
    assert.match(out, /^challenger: prompts\/summarisation\/v2 \(working tree\)\n/);
    assert.match(out, /\nbaseline: {3}prompts\/summarisation\/v1 at main \([0-9a-f]{12}\), the highest lower version there\n/);
    assert.match(out, /\nexamples: {3}4 · judge claude-opus-4-7 × 1 \(default rubric\) · concurrency 4\n/);
    assert.match(out, /\nestimate: {3}16 calls \(0 cached, 16 to make\) · ~[\d,]+ input tokens · output ~[\d,]+ typical, at most [\d,]+ · ~\$[\d.]+ typical, at most \$[\d.]+\n/);
    assert.match(out, /\n4\/4 examples · 16 calls · 0 cached · [\d,]+ tokens · 0 errors\n/, 'plain progress lines when not a terminal');
    assert.match(out, new RegExp(`\\nverdict: ${report.gate.status.toUpperCase()}\\n`));
    assert.match(out, /McNemar \(paired, 4 examples\)\n {22}baseline correct {2}baseline wrong\n {2}challenger correct {2}/);
    assert.match(out, / {2}p = [\d.e-]+ \(exact binomial, statistic \d+\)/);
    assert.match(out, /pass rate \(threshold 50\.0%, Wilson 95%\)\n {2}challenger {2}[\d.]+% \[[\d.]+%, [\d.]+%\] \(\d\/4\)/);
    assert.match(out, /latency\n {2}challenger {2}p50 [\d,]+ ms · p95 [\d,]+ ms\n/);
    assert.match(out, /cost: 16 API calls, 0 cache hits · [\d,]+ input \+ [\d,]+ output tokens · \$[\d.]+\n/);
    assert.match(out, /reports: out\/report\.json, out\/comment\.md, out\/junit\.xml\n$/);
    assert.match(readFileSync(join(root, 'out/comment.md'), 'utf8'), /^## Prompt CI eval: /);
    assert.match(readFileSync(join(root, 'out/junit.xml'), 'utf8'), /<testsuite name="prompt-ci\.eval\.summarisation\.v2" tests="4"/);

    // Unchanged: a second run is all cache.
    const again = io(root, env(server));
    await runEvalCommand(['prompts/summarisation/v2'], again);
    assert.match(again.out, /estimate: {3}16 calls, all in the cache: no API call, \$0\.00/);
    assert.match(again.out, /cost: 0 API calls, 16 cache hits/);
    assert.equal(server.requests.length, 16);
  });

  it('on the example workspace, prints the difference with its interval and the suite’s detectable regression', async function () {
    // 288 calls to the stand-in: seconds on an idle machine, more on a shared one.
    this.timeout(120_000);
    const root = mkdtempSync(join(tmpdir(), 'prompt-ci-example-'));
    roots.push(root);
    cpSync(join(__dirname, '..', '..', 'examples'), root, { recursive: true });
    const server = await start();
    const cli = io(root, env(server));
    await runEvalCommand(['prompts/summarisation/v2', '--baseline', 'prompts/summarisation/v1', '--json', 'report.json'], cli);
    const report = evalReportSchema.parse(JSON.parse(readFileSync(join(root, 'report.json'), 'utf8')));
    const w = report.difference?.winRate;
    const power = report.power;
    assert.ok(w && power && power.detectableRegression !== null);
    const sp = (x: number): string => {
      const p = String(Number((x * 100).toFixed(1)));
      return x > 0 && p !== '0' ? `+${p}` : p;
    };
    assert.ok(
      cli.out.includes(`\ndifference (challenger − baseline, 95%)\n  pass rate   ${sp(w.estimate)} points [${sp(w.lower)}, ${sp(w.upper)}] (Newcombe, paired)\n`),
      cli.out,
    );
    assert.match(cli.out, /\n {2}mean score {2}[+-]?\d\.\d\d \[[+-]?\d\.\d\d, [+-]?\d\.\d\d\] \(paired t\)\n/);
    assert.ok(cli.out.includes(`\n  power       ${power.summary}\n`));
    assert.match(power.summary, /^36 examples can detect a drop of \d+(\.\d)? points \(80% power\); detecting 3 points needs about [\d,]+$/);
  });

  it('exits 1 when the gate blocks', async () => {
    const root = repo('threshold_win_rate: 1.0\n  threshold_p95_latency_ms: 0.001');
    const server = await start();
    const cli = io(root, env(server));
    assert.equal(await runEvalCommand([join(root, 'prompts/summarisation/v2')], cli), 1);
    assert.match(cli.out, /verdict: BLOCKED\n {2}- blocked: challenger p95 latency/);
  });

  it('draws one progress line on a terminal', async () => {
    const root = repo();
    const server = await start();
    const cli = io(root, env(server), { isTty: true });
    await runEvalCommand(['prompts/summarisation/v2'], cli);
    assert.match(cli.out, /\r\x1b\[2K4\/4 examples · 16 calls/);
    const drawn = cli.out.split('/4 examples').length - 1;
    assert.equal(cli.out.split('\r\x1b[2K').length - 1, drawn, 'every progress line redraws the same terminal line');
  });

  it('Ctrl-C keeps finished results and cache entries, exits 1, and the next run resumes', async () => {
    const root = repo();
    let arrived!: () => void;
    const firstAnswered = new Promise<void>((resolve) => (arrived = resolve));
    let count = 0;
    const server = await start({
      latencyMs: 2,
      behaviour: () => {
        count += 1;
        if (count === 6) arrived();
        return { kind: 'ok' };
      },
    });
    const controller = new AbortController();
    const cli = io(root, env(server), { signal: controller.signal });
    const running = runEvalCommand(['prompts/summarisation/v2', '--concurrency', '1', '--json', 'r.json'], cli);
    await firstAnswered;
    controller.abort();
    assert.equal(await running, 1);
    assert.match(cli.out, /verdict: INCONCLUSIVE/);
    assert.match(cli.out, /cancelled: \d of 4 examples finished; they and every cached response are kept, and a re-run resumes from the cache/);
    const first = JSON.parse(readFileSync(join(root, 'r.json'), 'utf8'));
    assert.equal(first.cancelled, true);

    const resumed = io(root, env(server));
    await runEvalCommand(['prompts/summarisation/v2'], resumed);
    assert.match(resumed.out, new RegExp(`cost: ${16 - first.cost.apiCalls} API calls, ${first.cost.apiCalls} cache hits`));
  });

  it('usage and setup errors exit 2 with a clear message', async () => {
    const root = repo();
    const cases: [string[], RegExp][] = [
      [[], /which prompt version\? give its directory\nusage: prompt-ci eval <prompt-dir>/],
      [['a', 'b'], /give exactly one prompt directory/],
      [['prompts/summarisation/v2', '--offline', '--no-cache'], /--offline and --no-cache contradict each other/],
      [['prompts/summarisation/v2', '--concurrency', '0'], /--concurrency must be a positive integer, not "0"/],
      [['prompts/summarisation/v2', '--frobnicate'], /Unknown option '--frobnicate'/],
      [['prompts/nothing/v1'], /prompts\/nothing\/v1: no such directory/],
      [['prompts/summarisation/v2', '--baseline', 'main:prompts/summarisation/v9'], /--baseline main:prompts\/summarisation\/v9: prompts\/summarisation\/v9 is not a directory at main/],
    ];
    for (const [args, expected] of cases) {
      const cli = io(root, {});
      assert.equal(await runEvalCommand(args, cli), 2, args.join(' '));
      assert.match(cli.err, expected);
    }
  });

  it('refuses report paths that are a folder or under a file before any call, with a sentence naming the path', async () => {
    const root = repo();
    const server = await start();
    const cases: [string[], string][] = [
      [['--json', root], `prompt-ci eval: --json cannot write ${root}: it is a folder; name a file in it instead\n`],
      [
        ['--markdown', 'prompts/summarisation/v2/system.md/x.md'],
        `prompt-ci eval: --markdown cannot write prompts/summarisation/v2/system.md/x.md: ${join(root, 'prompts/summarisation/v2/system.md')} is a file, not a folder\n`,
      ],
    ];
    for (const [args, expected] of cases) {
      const cli = io(root, env(server));
      assert.equal(await runEvalCommand(['prompts/summarisation/v2', ...args], cli), 2, args.join(' '));
      assert.equal(cli.err, expected);
      assert.doesNotMatch(cli.err, /\bat \w|EISDIR|ENOTDIR/);
    }
    assert.equal(server.requests.length, 0, 'no call made');
  });

  it('a report that cannot be written after the verdict: one sentence, the verdict and the other reports delivered, exit 2; never hangs', async () => {
    const root = repo();
    const server = await start();
    const cli = io(root, env(server));
    // Node's recursive mkdir never returns on this path; the folders are made one at a time.
    const code = await runEvalCommand(['prompts/summarisation/v2', '--markdown', '/proc/nonexistent/x.md', '--json', 'out/report.json'], cli);
    assert.equal(code, 2);
    assert.equal(cli.err, 'prompt-ci eval: --markdown cannot write /proc/nonexistent/x.md: the folder /proc/nonexistent could not be created (this file system does not allow it)\n');
    assert.match(cli.out, /\nverdict: (PASS|BLOCKED|INCONCLUSIVE)\n/);
    assert.match(cli.out, /reports: out\/report\.json\n$/);
    evalReportSchema.parse(JSON.parse(readFileSync(join(root, 'out/report.json'), 'utf8')));
    // The cache made by the run ignores itself: git status shows the prompt and the report, not the cache.
    const status = execFileSync('git', ['status', '--porcelain', '--untracked-files=all'], { cwd: root, encoding: 'utf8' });
    assert.ok(!status.includes('.prompt-ci/cache'), status);
    assert.match(status, /out\/report\.json/);
  });

  it('no API key: exit 2 after the estimate, with no call made', async () => {
    const root = repo();
    const server = await start();
    const cli = io(root, { ANTHROPIC_BASE_URL: server.url });
    assert.equal(await runEvalCommand(['prompts/summarisation/v2'], cli), 2);
    assert.match(cli.out, /estimate: /);
    assert.match(cli.err, /^prompt-ci eval: no Anthropic API key: set ANTHROPIC_API_KEY/);
    assert.equal(server.stats().total, 0);
  });

  it('on a terminal, an expensive run needs --yes', async () => {
    const root = repo();
    writeFileSync(join(root, 'prompt-ci.yaml'), 'pricing:\n  claude-sonnet-4-6: { input: 900000, output: 900000 }\n');
    const server = await start();
    const cli = io(root, env(server), { isTty: true });
    assert.equal(await runEvalCommand(['prompts/summarisation/v2'], cli), 2);
    assert.match(cli.err, /the estimate is over \$5\.00; re-run with --yes to spend it/);
    assert.equal(server.stats().total, 0);
    const yes = io(root, env(server), { isTty: true });
    assert.notEqual(await runEvalCommand(['prompts/summarisation/v2', '--yes'], yes), 2);
  });
});
