// Benchmark of the eval engine (npm run bench), against the loopback stand-in in its own process:
//  1. 312 examples, both sides, judge repeats 3 (2,496 calls) at a fixed 200 ms per call and
//     concurrency 8: wall time divided by the lower bound calls / concurrency x latency (target <= 1.10);
//  2. the same run again, all cached: API calls (target 0) and its time;
//  3. memory of large suites, the whole `prompt-ci eval` process (dist/cli.js, so `npm run build`
//     first) writing its JSON, JUnit and Markdown reports, against the stand-in without added latency:
//     a 4,800-example suite (judge repeats 3: 38,400 calls), peak RSS (target < 150 MB); and a
//     50,000-example suite (judge repeats 1: 200,000 calls) run to the end, whose peak should stay
//     near the 4,800 one: examples are streamed from eval.jsonl and results written out as they
//     finish, so memory does not grow with the suite. Peak RSS from /usr/bin/time.
// Prints the figures; asserts nothing. `--memory` runs phase 3 alone.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { prepareEval } from '../src/node/runEval';

const LATENCY_MS = 200;
const CONCURRENCY = 8;
const REPEATS = 3;
const SMALL_SUITE = 312;
const LARGE_SUITE = 4_800;
const HUGE_SUITE = 50_000;
/** A bound on the 50,000-example run (it is meant to finish well within it; the row says if it did not). */
const HUGE_SUITE_MINUTES = 60;
/** Calls in flight for the 50,000-example run: the stand-in answers at once, so this keeps both processes busy. */
const HUGE_SUITE_CONCURRENCY = 16;
const TIME = '/usr/bin/time';
const CLI = join(__dirname, '..', 'dist', 'cli.js');

const SENTENCES = [
  'The customer was charged twice for the annual renewal on 1 March.',
  'Support confirmed two captures against the same invoice eleven minutes apart.',
  'A refund for the duplicate charge was issued on 3 March.',
  'The export job failed with a timeout after the data migration.',
  'Engineering traced the failure to a missing database index.',
  'The fix shipped on Friday and the customer confirmed the export works.',
  'The user could not log in after the password reset email arrived late.',
  'The webhook deliveries stopped when the signing secret was rotated.',
  'The customer asked for a service credit for the two days of downtime.',
  'The account manager promised an update by the end of the week.',
];

/** A ticket unique to example i (so no two examples make the same judge request). */
function ticket(i: number): string {
  const parts: string[] = [];
  for (let k = 0; k < 6; k++) {
    const sentence = SENTENCES[(i * 7 + k * 3) % SENTENCES.length];
    parts.push(`On ticket ${i}-${k}, ${sentence[0].toLowerCase()}${sentence.slice(1)}`);
  }
  return parts.join(' ');
}

function git(cwd: string, ...args: string[]): void {
  execFileSync('git', args, {
    cwd,
    env: { ...process.env, GIT_AUTHOR_NAME: 'bench', GIT_AUTHOR_EMAIL: 'bench@example.com', GIT_COMMITTER_NAME: 'bench', GIT_COMMITTER_EMAIL: 'bench@example.com' },
  });
}

function writeVersion(root: string, version: number, system: string, examples: number, repeats = REPEATS): void {
  const dir = join(root, 'prompts', 'summarisation', `v${version}`);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'system.md'), system);
  writeFileSync(join(dir, 'user.template.md'), 'Summarise the ticket for {customer_name}.\n\n<document>{document}</document>\n');
  const lines: string[] = [];
  for (let i = 0; i < examples; i++) {
    const doc = ticket(i);
    lines.push(JSON.stringify({ id: `ex-${i}`, inputs: { customer_name: `Customer ${i}`, document: doc }, reference: doc.split('. ').slice(0, 2).join('. ') }));
  }
  writeFileSync(join(dir, 'eval.jsonl'), `${lines.join('\n')}\n`);
  writeFileSync(
    join(dir, 'metadata.yaml'),
    `name: summarisation\nversion: ${version}\nmodel: claude-sonnet-4-6\nmax_output_tokens: 400\neval:\n  threshold_win_rate: 0.5\n  judge: { model: claude-opus-4-7, repeats: ${repeats} }\n`,
  );
}

function makeRepo(examples: number, repeats = REPEATS): string {
  const root = mkdtempSync(join(tmpdir(), 'prompt-ci-bench-eval-'));
  git(root, 'init', '-q', '-b', 'main');
  writeVersion(root, 1, 'Summarise the ticket in one sentence.', examples, repeats);
  git(root, 'add', '-A');
  git(root, 'commit', '-q', '-m', 'v1');
  writeVersion(root, 2, 'Summarise the ticket in two sentences.', examples, repeats);
  return root;
}

async function startStandInProcess(latencyMs: number): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(__dirname, 'standIn.ts'), '--latency-ms', String(latencyMs)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout! });
  const url = await new Promise<string>((resolve, reject) => {
    lines.once('line', (line) => resolve(line.trim()));
    child.once('exit', (code) => reject(new Error(`the stand-in exited (${code}) before printing its URL`)));
  });
  return { url, child };
}

async function timedRun(root: string, url: string): Promise<{ seconds: number; apiCalls: number; cacheHits: number; calls: number; prepareSeconds: number }> {
  const t0 = performance.now();
  const prepared = await prepareEval({
    repoRoot: root,
    promptDir: 'prompts/summarisation/v2',
    concurrency: CONCURRENCY,
    env: { ANTHROPIC_API_KEY: 'test-key', ANTHROPIC_BASE_URL: url },
  });
  const t1 = performance.now();
  const report = await prepared.run();
  const t2 = performance.now();
  const errors = report.examples.filter((e) => e.outcome === 'error').length;
  if (errors > 0) console.log(`  (${errors} examples ended in an error: ${report.examples.find((e) => e.outcome === 'error')?.challenger.error})`);
  return {
    seconds: (t2 - t1) / 1000,
    prepareSeconds: (t1 - t0) / 1000,
    apiCalls: report.cost.apiCalls,
    cacheHits: report.cost.cacheHits,
    calls: report.cost.apiCalls + report.cost.cacheHits,
  };
}

interface CliRun {
  seconds: number;
  maxRssMb: number | null;
  finished: number;
  apiCalls: number;
  reportMb: number;
}

/** One whole `prompt-ci eval` process on `root`'s v2, writing the three reports; peak RSS from /usr/bin/time. */
async function cliEval(root: string, url: string, extra: string[] = [], concurrency = CONCURRENCY): Promise<CliRun> {
  const rssFile = join(root, 'rss.txt');
  const args = [CLI, 'eval', 'prompts/summarisation/v2', '--concurrency', String(concurrency), '--json', 'out/report.json', '--junit', 'out/junit.xml', '--markdown', 'out/comment.md', ...extra];
  const timed = existsSync(TIME);
  const t0 = performance.now();
  const child = spawn(timed ? TIME : process.execPath, timed ? ['-f', '%M', '-o', rssFile, process.execPath, ...args] : args, {
    cwd: root,
    env: { ...process.env, ANTHROPIC_API_KEY: 'test-key', ANTHROPIC_BASE_URL: url },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  const seconds = (performance.now() - t0) / 1000;
  if (code !== 0 && code !== 1) throw new Error(`prompt-ci eval exited with ${code}:\n${out.slice(-2000)}`);
  const report = JSON.parse(readFileSync(join(root, 'out', 'report.json'), 'utf8')) as { examples: { outcome: string }[]; cost: { apiCalls: number } };
  return {
    seconds,
    maxRssMb: timed ? Number(readFileSync(rssFile, 'utf8').trim().split('\n').pop()) / 1024 : null,
    finished: report.examples.filter((e) => e.outcome !== 'cancelled').length,
    apiCalls: report.cost.apiCalls,
    reportMb: statSync(join(root, 'out', 'report.json')).size / 1024 / 1024,
  };
}

const mb = (x: number | null): string => (x === null ? '– (no /usr/bin/time)' : `${x.toFixed(0)} MB`);

async function main(): Promise<void> {
  // --memory: phase 3 alone.
  if (!process.argv.includes('--memory')) await speed();
  await memory();
}

async function speed(): Promise<void> {
  const slow = await startStandInProcess(LATENCY_MS);
  const root = makeRepo(SMALL_SUITE);
  try {
    const expectedCalls = SMALL_SUITE * 2 * (1 + REPEATS);
    const bound = (expectedCalls / CONCURRENCY) * (LATENCY_MS / 1000);
    console.log(`eval: ${SMALL_SUITE} examples x 2 sides x (1 task + ${REPEATS} judge) = ${expectedCalls.toLocaleString('en-US')} calls at ${LATENCY_MS} ms, concurrency ${CONCURRENCY}`);
    const cold = await timedRun(root, slow.url);
    console.log(`  uncached: ${cold.apiCalls.toLocaleString('en-US')} API calls in ${cold.seconds.toFixed(2)} s (prepare ${cold.prepareSeconds.toFixed(2)} s)`);
    console.log(`  lower bound calls / concurrency x latency = ${bound.toFixed(2)} s`);
    console.log(`  ratio wall / bound = ${(cold.seconds / bound).toFixed(3)} (target <= 1.10); with prepare ${((cold.seconds + cold.prepareSeconds) / bound).toFixed(3)}`);
    const warm = await timedRun(root, slow.url);
    console.log(
      `  cached re-run: ${warm.apiCalls} API calls (target 0), ${warm.cacheHits.toLocaleString('en-US')} cache hits, run ${warm.seconds.toFixed(2)} s, prepare ${warm.prepareSeconds.toFixed(2)} s`,
    );
  } finally {
    slow.child.kill();
    rmSync(root, { recursive: true, force: true });
  }
}

async function memory(): Promise<void> {
  if (!existsSync(CLI)) {
    console.log('eval memory: dist/cli.js is missing; run `npm run build` first');
    return;
  }
  const fast = await startStandInProcess(0);
  try {
    const large = makeRepo(LARGE_SUITE);
    let largeRss: number | null = null;
    try {
      console.log(`eval memory, the whole prompt-ci eval process with its three reports; stand-in without added latency`);
      const run = await cliEval(large, fast.url);
      largeRss = run.maxRssMb;
      console.log(
        `  ${LARGE_SUITE.toLocaleString('en-US')} examples (${run.apiCalls.toLocaleString('en-US')} API calls, judge repeats ${REPEATS}, concurrency ${CONCURRENCY}): peak RSS ${mb(run.maxRssMb)} (target < 150 MB), ` +
          `${run.seconds.toFixed(1)} s, JSON report ${run.reportMb.toFixed(1)} MB`,
      );
    } finally {
      rmSync(large, { recursive: true, force: true });
    }
    const huge = makeRepo(HUGE_SUITE, 1);
    try {
      const run = await cliEval(huge, fast.url, ['--max-minutes', String(HUGE_SUITE_MINUTES)], HUGE_SUITE_CONCURRENCY);
      const complete = run.finished === HUGE_SUITE ? 'all finished' : `stopped by --max-minutes ${HUGE_SUITE_MINUTES} with ${run.finished.toLocaleString('en-US')} finished`;
      const ratio = run.maxRssMb !== null && largeRss !== null ? `, ${(run.maxRssMb / largeRss).toFixed(2)}x the ${LARGE_SUITE.toLocaleString('en-US')}-example peak (flat memory: near 1)` : '';
      console.log(
        `  ${HUGE_SUITE.toLocaleString('en-US')} examples (${run.apiCalls.toLocaleString('en-US')} API calls, judge repeats 1, concurrency ${HUGE_SUITE_CONCURRENCY}; ${complete}): peak RSS ${mb(run.maxRssMb)}${ratio}, ` +
          `${run.seconds.toFixed(1)} s, JSON report ${run.reportMb.toFixed(1)} MB`,
      );
    } finally {
      rmSync(huge, { recursive: true, force: true });
    }
  } finally {
    fast.child.kill();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
