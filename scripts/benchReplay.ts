/**
 * Benchmark of Replay Trace on a long history: builds a repository of 10,000 commits with
 * `git fast-import`, then times paste-to-rendered-prompt for spans naming an old commit and the
 * newest one. Prints figures; asserts nothing.
 *
 *   npx tsx scripts/benchReplay.ts [--commits N] [--runs N] [--keep]
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { runReplayCommand } from '../src/cli/replayCommand';
import { replayPrompt } from '../src/core/replay';
import { parseSpan } from '../src/core/span';
import { readPromptAtCommit } from '../src/node/promptAtCommit';
import { replaySpanText } from '../src/node/replayRunner';

const { values } = parseArgs({
  options: {
    commits: { type: 'string', default: '10000' },
    runs: { type: 'string', default: '40' },
    keep: { type: 'boolean', default: false },
    // `npm run bench -- --memory` hands it to every bench; this one measures time only.
    memory: { type: 'boolean', default: false },
  },
});
const COMMITS = Number(values.commits);
const RUNS = Number(values.runs);
const PROMPTS = 25; // prompt directories besides the one replayed, so trees have a realistic size
const TEMPLATE_EVERY = 400; // the replayed template changes every this many commits

const systemText = (k: number) => `You are a careful assistant that summarises customer documents.\nRevision ${k} of the house style.\n`;
const userTemplate = (k: number) => `Summarise the document below for {customer_name} (revision ${k}).\n\n<document>\n{document}\n</document>\n`;
const metadata = (k: number) =>
  `name: summarisation\nversion: 1\nmodel: claude-sonnet-4-6\ntemperature: 0.0\nmax_output_tokens: ${600 + k}\n`;

/** The fast-import stream of the whole history. */
function history(): string {
  const parts: string[] = [];
  const inline = (path: string, text: string) => {
    parts.push(`M 100644 inline ${path}\ndata ${Buffer.byteLength(text)}\n${text}\n`);
  };
  const epoch = 1_700_000_000;
  for (let i = 0; i < COMMITS; i++) {
    const message = i === 0 ? 'Initial prompts' : `Change ${i}`;
    const when = `${epoch + i * 600} +0000`;
    parts.push(`commit refs/heads/main\nmark :${i + 1}\nauthor Bench Author <bench@example.com> ${when}\ncommitter Bench Author <bench@example.com> ${when}\ndata ${Buffer.byteLength(message)}\n${message}\n`);
    if (i > 0) parts.push(`from :${i}\n`);
    if (i === 0) {
      for (let p = 0; p < PROMPTS; p++) {
        const dir = `prompts/prompt-${p}/v1`;
        inline(`${dir}/system.md`, `System prompt ${p}.\n`);
        inline(`${dir}/user.template.md`, `Task ${p}: {input}\n`);
        inline(`${dir}/metadata.yaml`, `name: prompt-${p}\nversion: 1\nmodel: claude-haiku-4-5\n`);
        inline(`${dir}/eval.jsonl`, `{"id": "p${p}-1", "inputs": {"input": "x"}}\n`);
      }
      inline('prompts/summarisation/v1/eval.jsonl', '{"id": "s-1", "inputs": {"customer_name": "Grace", "document": "x"}}\n');
    }
    if (i % TEMPLATE_EVERY === 0) {
      const k = i / TEMPLATE_EVERY;
      inline('prompts/summarisation/v1/system.md', systemText(k));
      inline('prompts/summarisation/v1/user.template.md', userTemplate(k));
      inline('prompts/summarisation/v1/metadata.yaml', metadata(k));
    }
    inline(`src/module-${i % 50}.py`, `# change ${i}\nVALUE = ${i}\n`);
    parts.push('\n');
  }
  return parts.join('');
}

function run(command: string, args: string[], cwd: string, input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`${command} ${args.join(' ')}: ${err}`))));
    child.stdin.end(input ?? '');
  });
}

/** An OTLP/JSON export as a collector writes it, with the LLM span naming `sha` and recording what was sent. */
function spanExport(sha: string | null, k: number, options: { variables?: boolean; startUnixSeconds?: number } = {}): string {
  const vars = { customer_name: 'Grace Hopper', document: 'Invoice INV-1042 was charged twice.' };
  const user = userTemplate(k).replace('{customer_name}', vars.customer_name).replace('{document}', vars.document);
  const s = (v: string) => ({ stringValue: v });
  const attrs = {
    'gen_ai.operation.name': s('chat'),
    'gen_ai.request.model': s('claude-sonnet-4-6'),
    'gen_ai.request.max_tokens': { intValue: String(600 + k) },
    'gen_ai.system_instructions': s(JSON.stringify([{ type: 'text', content: systemText(k) }])),
    'gen_ai.input.messages': s(JSON.stringify([{ role: 'user', parts: [{ type: 'text', content: user }] }])),
    'prompt.name': s('summarisation'),
    'prompt.version': { intValue: '1' },
    ...(sha !== null ? { 'prompt.commit_sha': s(sha) } : {}),
    ...(options.variables === false ? {} : { 'prompt.variables': s(JSON.stringify(vars)) }),
    'tenant.id': s('acme-corp'),
    'request.id': s('req_bench'),
  };
  const http = { traceId: 'ab'.repeat(16), spanId: '01'.repeat(8), name: 'POST /v1/summaries', kind: 2, attributes: [{ key: 'http.request.method', value: s('POST') }] };
  const start = options.startUnixSeconds !== undefined ? { startTimeUnixNano: `${options.startUnixSeconds}000000000` } : {};
  const llm = { traceId: 'ab'.repeat(16), spanId: '02'.repeat(8), parentSpanId: '01'.repeat(8), name: 'chat claude-sonnet-4-6', kind: 3, ...start, attributes: Object.entries(attrs).map(([key, value]) => ({ key, value })) };
  return JSON.stringify({ resourceSpans: [{ resource: { attributes: [{ key: 'service.name', value: s('bench') }] }, scopeSpans: [{ scope: { name: 'bench' }, spans: [http, llm] }] }] });
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
const fmt = (ms: number) => `${ms.toFixed(ms < 1 ? 2 : 1)} ms`;

async function timeRuns(label: string, fn: () => Promise<unknown>): Promise<void> {
  const first = performance.now();
  await fn();
  const cold = performance.now() - first;
  const times: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const t = performance.now();
    await fn();
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  console.log(`${label.padEnd(44)} first ${fmt(cold).padStart(9)}   p50 ${fmt(percentile(times, 50)).padStart(9)}   p95 ${fmt(percentile(times, 95)).padStart(9)}   max ${fmt(times[times.length - 1]).padStart(9)}`);
}

async function main(): Promise<void> {
  const root = mkdtempSync(join(tmpdir(), 'prompt-ci-bench-replay-'));
  const repo = join(root, 'repo');
  try {
    await run('git', ['init', '-q', '-b', 'main', repo], root);
    const started = performance.now();
    const stream = history();
    const marks = join(root, 'marks');
    await run('git', ['fast-import', '--quiet', `--export-marks=${marks}`], repo, stream);
    await run('git', ['reset', '-q', '--hard', 'main'], repo);
    const built = performance.now() - started;
    const shaOf = new Map<number, string>();
    for (const line of readFileSync(marks, 'utf8').split('\n')) {
      const m = /^:(\d+) ([0-9a-f]+)$/.exec(line);
      if (m) shaOf.set(Number(m[1]) - 1, m[2]);
    }
    const count = (await run('git', ['rev-list', '--count', 'HEAD'], repo)).trim();
    console.log(`repository: ${count} commits, ${PROMPTS + 1} prompts, built with git fast-import in ${fmt(built)} (stream ${(stream.length / 1e6).toFixed(1)} MB)`);
    console.log(`runs: ${RUNS} after one first run, per case\n`);

    const oldIndex = 137;
    const oldSha = shaOf.get(oldIndex)!;
    const newIndex = COMMITS - 1;
    const newSha = shaOf.get(newIndex)!;
    const oldSpan = spanExport(oldSha, Math.floor(oldIndex / TEMPLATE_EVERY));
    const newSpan = spanExport(newSha, Math.floor(newIndex / TEMPLATE_EVERY));
    const oldShort = spanExport(oldSha.slice(0, 8), Math.floor(oldIndex / TEMPLATE_EVERY));

    const check = await replaySpanText(oldSpan, { repoRoot: repo });
    console.log(`old commit #${oldIndex} ${oldSha.slice(0, 12)}: matchesRecorded=${check.rendered.matchesRecorded}, max_tokens=${check.request.max_tokens}\n`);

    await timeRuns(`paste → rendered, commit #${oldIndex} (full SHA)`, () => replaySpanText(oldSpan, { repoRoot: repo }));
    await timeRuns(`paste → rendered, commit #${oldIndex} (8-digit SHA)`, () => replaySpanText(oldShort, { repoRoot: repo }));
    await timeRuns(`paste → rendered, commit #${newIndex} (newest)`, () => replaySpanText(newSpan, { repoRoot: repo }));
    // A span in the OpenTelemetry shape with no SHA and no variables: the commit is inferred from its
    // start time and the variables are recovered from the recorded message.
    const inferredSpan = spanExport(null, Math.floor(oldIndex / TEMPLATE_EVERY), { variables: false, startUnixSeconds: 1_700_000_000 + oldIndex * 600 + 60 });
    const inferred = await replaySpanText(inferredSpan, { repoRoot: repo });
    console.log(`no SHA, no variables: commit ${inferred.prompt.commit.sha.slice(0, 12)} (${inferred.commit.source}), variables ${inferred.variables.source}, ${inferred.verdict.kind}\n`);
    await timeRuns(`paste → rendered, commit inferred at #${oldIndex}, variables recovered`, () => replaySpanText(inferredSpan, { repoRoot: repo }));
    await timeRuns('  of which: parseSpan', async () => parseSpan(oldSpan));
    const span = parseSpan(oldSpan);
    await timeRuns('  of which: readPromptAtCommit (git)', () =>
      readPromptAtCommit(repo, { commitSha: span.commitSha!, promptName: span.promptName, promptVersion: span.promptVersion }),
    );
    const prompt = await readPromptAtCommit(repo, { commitSha: span.commitSha!, promptName: span.promptName, promptVersion: span.promptVersion });
    await timeRuns('  of which: replayPrompt (render, compare)', async () => replayPrompt(span, prompt));
    const io = { stdout: () => undefined, stderr: () => undefined, isTty: false, env: {}, cwd: repo, signal: new AbortController().signal };
    await timeRuns('prompt-ci replay --json, in process', () =>
      runReplayCommand(['-', '--json'], io, { readStdin: async () => ({ text: oldSpan, overLimit: false }) }),
    );
  } finally {
    if (values.keep) console.log(`\nkept ${root}`);
    else rmSync(root, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
