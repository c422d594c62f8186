// Benchmark of the eval engine (npm run bench), against the loopback stand-in in its own process:
//  1. 312 examples, both sides, judge repeats 3 (2,496 calls) at a fixed 200 ms per call and
//     concurrency 8: wall time divided by the lower bound calls / concurrency x latency (target <= 1.10);
//  2. the same run again, all cached: API calls (target 0) and its time;
//  3. a 4,800-example suite in a fresh process: peak RSS (target < 300 MB), measured on an esbuild
//     bundle of this script (as the CLI and dist/api.js ship) and under tsx (which adds its loader).
// Prints the figures; asserts nothing.
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
const REPEATS = 3;
const SMALL_SUITE = 312;
const LARGE_SUITE = 4_800;

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

function writeVersion(root: string, version: number, system: string, examples: number): void {
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
    `name: summarisation\nversion: ${version}\nmodel: claude-sonnet-4-6\nmax_output_tokens: 400\neval:\n  threshold_win_rate: 0.5\n  judge: { model: claude-opus-4-7, repeats: ${REPEATS} }\n`,
  );
}

function makeRepo(examples: number): string {
  const root = mkdtempSync(join(tmpdir(), 'prompt-ci-bench-eval-'));
  git(root, 'init', '-q', '-b', 'main');
  writeVersion(root, 1, 'Summarise the ticket in one sentence.', examples);
  git(root, 'add', '-A');
  git(root, 'commit', '-q', '-m', 'v1');
  writeVersion(root, 2, 'Summarise the ticket in two sentences.', examples);
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

/** Phase 3, in its own process so its peak RSS is the eval's alone. */
async function largeSuiteChild(url: string): Promise<void> {
  const root = makeRepo(LARGE_SUITE);
  try {
    const run = await timedRun(root, url);
    const maxRssMb = process.resourceUsage().maxRSS / 1024;
    process.stdout.write(`${JSON.stringify({ ...run, maxRssMb })}\n`);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  if (process.argv[2] === '--large-suite') {
    await largeSuiteChild(process.argv[3]);
    return;
  }
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

  const fast = await startStandInProcess(0);
  const bundleDir = mkdtempSync(join(tmpdir(), 'prompt-ci-bench-bundle-'));
  try {
    console.log(`eval: ${LARGE_SUITE.toLocaleString('en-US')} examples (${(LARGE_SUITE * 2 * (1 + REPEATS)).toLocaleString('en-US')} calls), stand-in without added latency, concurrency ${CONCURRENCY}`);
    const bundle = join(bundleDir, 'benchEval.js');
    // As esbuild.mjs builds dist/: 'module' first for jsonc-parser's UMD main.
    // Imported here, not at the top: the bundle itself runs where esbuild can't be resolved.
    const { buildSync } = await import('esbuild');
    buildSync({ entryPoints: [__filename], bundle: true, platform: 'node', format: 'cjs', target: 'node20', mainFields: ['module', 'main'], external: ['esbuild'], outfile: bundle, logLevel: 'warning' });
    for (const [label, args] of [
      ['bundled', [bundle]],
      ['under tsx', ['--import', 'tsx', __filename]],
    ] as const) {
      const child = spawn(process.execPath, [...args, '--large-suite', fast.url], { stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
      const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
      if (code !== 0) throw new Error(`the large-suite process exited with ${code}`);
      const large = JSON.parse(out.trim().split('\n').pop() ?? '{}') as { seconds: number; prepareSeconds: number; apiCalls: number; maxRssMb: number };
      console.log(
        `  ${label}: ${large.apiCalls.toLocaleString('en-US')} API calls in ${large.seconds.toFixed(1)} s (prepare ${large.prepareSeconds.toFixed(1)} s), peak RSS ${large.maxRssMb.toFixed(0)} MB (target < 300 MB)`,
      );
    }
  } finally {
    fast.child.kill();
    rmSync(bundleDir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
