// Benchmark of the eval under the API's rate limits (npm run bench), against the loopback stand-in
// in its own process: 312 examples, both sides, one judge call per output (1,248 calls) at 200 ms
// a call, --concurrency 8.
//  1. the API admits 4 calls in flight and answers the rest 429 with retry-after: 1. Lower bound
//     calls / 4 x latency = 62.4 s; target wall time within 1.25x of it;
//  2. the same with a tokens-per-minute window instead (no cap on calls in flight), set so that the
//     bound (tokens beyond the first minute's bucket, at the per-minute rate) is 62.4 s too;
//     target within 1.25x.
// Prints the figures next to their targets; asserts nothing.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { prepareEval } from '../src/node/runEval';

const LATENCY_MS = 200;
const CONCURRENCY = 8;
const ADMITTED = 4;
const EXAMPLES = 312;
const CALLS = EXAMPLES * 2 * 2;
const TARGET_RATIO = 1.25;

function git(cwd: string, ...args: string[]): void {
  execFileSync('git', args, {
    cwd,
    env: { ...process.env, GIT_AUTHOR_NAME: 'bench', GIT_AUTHOR_EMAIL: 'bench@example.com', GIT_COMMITTER_NAME: 'bench', GIT_COMMITTER_EMAIL: 'bench@example.com' },
  });
}

function writeVersion(root: string, version: number, system: string): void {
  const dir = join(root, 'prompts', 'summarisation', `v${version}`);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'system.md'), system);
  writeFileSync(join(dir, 'user.template.md'), 'Summarise the ticket.\n\n<document>{document}</document>\n');
  const lines: string[] = [];
  for (let i = 0; i < EXAMPLES; i++) {
    const doc = `Ticket ${i}: the customer was charged twice for invoice ${1000 + i}. Support confirmed the duplicate capture. A refund was issued on day ${i % 28}.`;
    lines.push(JSON.stringify({ id: `ex-${i}`, inputs: { document: doc }, reference: doc.split('. ').slice(0, 2).join('. ') }));
  }
  writeFileSync(join(dir, 'eval.jsonl'), `${lines.join('\n')}\n`);
  writeFileSync(
    join(dir, 'metadata.yaml'),
    `name: summarisation\nversion: ${version}\nmodel: claude-sonnet-4-6\nmax_output_tokens: 400\neval:\n  threshold_win_rate: 0.5\n  judge: { model: claude-opus-4-7, repeats: 1 }\n`,
  );
}

function makeRepo(): string {
  const root = mkdtempSync(join(tmpdir(), 'prompt-ci-bench-ratelimit-'));
  git(root, 'init', '-q', '-b', 'main');
  writeVersion(root, 1, 'Summarise the ticket in one sentence.');
  git(root, 'add', '-A');
  git(root, 'commit', '-q', '-m', 'v1');
  writeVersion(root, 2, 'Summarise the ticket in two sentences.');
  return root;
}

async function startStandInProcess(args: string[]): Promise<{ url: string; child: ChildProcess; served: () => Promise<string> }> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(__dirname, 'standIn.ts'), '--latency-ms', String(LATENCY_MS), ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const lines = createInterface({ input: child.stdout! });
  const url = await new Promise<string>((resolve, reject) => {
    lines.once('line', (line) => resolve(line.trim()));
    child.once('exit', (code) => reject(new Error(`the stand-in exited (${code}) before printing its URL: ${stderr}`)));
  });
  const served = async (): Promise<string> => {
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    await exited;
    return /served .*/.exec(stderr)?.[0] ?? '';
  };
  return { url, child, served };
}

interface Run {
  seconds: number;
  apiCalls: number;
  tokens: number;
  errors: number;
  lowestLimit: number;
  heldSeen: boolean;
}

async function timedRun(root: string, url: string): Promise<Run> {
  let lowestLimit = CONCURRENCY;
  let heldSeen = false;
  const prepared = await prepareEval({
    repoRoot: root,
    promptDir: 'prompts/summarisation/v2',
    concurrency: CONCURRENCY,
    noCache: true,
    env: { ANTHROPIC_API_KEY: 'test-key', ANTHROPIC_BASE_URL: url },
    onProgress: (p) => {
      if (p.throttle) {
        lowestLimit = Math.min(lowestLimit, p.throttle.limit);
        heldSeen ||= p.throttle.waitMs > 0;
      }
    },
  });
  const t0 = performance.now();
  const report = await prepared.run();
  const seconds = (performance.now() - t0) / 1000;
  return {
    seconds,
    apiCalls: report.cost.apiCalls,
    tokens: report.cost.inputTokens + report.cost.outputTokens,
    errors: report.examples.filter((e) => e.outcome === 'error').length,
    lowestLimit,
    heldSeen,
  };
}

function line(label: string, run: Run, bound: number, served: string): void {
  const ratio = run.seconds / bound;
  console.log(`  ${label}: ${run.apiCalls.toLocaleString('en-US')} API calls in ${run.seconds.toFixed(1)} s; stand-in ${served}`);
  console.log(
    `    lower bound ${bound.toFixed(1)} s; ratio wall / bound = ${ratio.toFixed(3)} (target <= ${TARGET_RATIO}); ` +
      `lowest concurrency limit seen ${run.lowestLimit}/${CONCURRENCY}${run.heldSeen ? ', held back by the headers or a retry-after' : ''}` +
      (run.errors > 0 ? `; ${run.errors} examples ended in an error` : ''),
  );
}

async function main(): Promise<void> {
  const root = makeRepo();
  try {
    console.log(`eval under rate limits: ${EXAMPLES} examples x 2 sides x (1 task + 1 judge) = ${CALLS.toLocaleString('en-US')} calls at ${LATENCY_MS} ms, --concurrency ${CONCURRENCY}`);

    const capped = await startStandInProcess(['--max-in-flight', String(ADMITTED), '--max-in-flight-retry-after', '1']);
    const first = await timedRun(root, capped.url);
    line(`API admitting ${ADMITTED} in flight (429, retry-after: 1)`, first, (CALLS / ADMITTED) * (LATENCY_MS / 1000), await capped.served());

    // Tokens-per-minute window L with a bucket of L: the bound is (T - L) / (L / 60 s); choose L for 62.4 s.
    const bound = (CALLS / ADMITTED) * (LATENCY_MS / 1000);
    const tokensPerMinute = Math.floor((60 * first.tokens) / (bound + 60));
    const windowBound = Math.max(((first.tokens - tokensPerMinute) * 60) / tokensPerMinute, (CALLS / CONCURRENCY) * (LATENCY_MS / 1000));
    const windowed = await startStandInProcess(['--tokens-per-minute', String(tokensPerMinute)]);
    const second = await timedRun(root, windowed.url);
    line(`API with ${tokensPerMinute.toLocaleString('en-US')} tokens per minute (${first.tokens.toLocaleString('en-US')} tokens in the run)`, second, windowBound, await windowed.served());
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
