// Benchmark of the editor's index (npm run bench): a generated repository with 1,000 prompt
// versions and 5,000 source files, indexed as the extension does it, through IndexClient and the
// index worker bundle (built from the current source into out/bench/). Prints the cold index (empty
// cache), the longest stall of the calling thread meanwhile, the reopened workspace (a new worker
// reading the cache the first one wrote, to the findings on the calling thread), the p50/p95 of a
// re-check after a one-character edit, and the in-process build `prompt-ci check` does, each next
// to its target. Asserts nothing.
import { build } from 'esbuild';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { percentile } from '../src/core/stats/percentile';
import { readRepoSettings } from '../src/node/checkRepo';
import { IndexClient } from '../src/node/indexClient';
import { RepoIndex } from '../src/node/repoIndex';
import { diskSnapshot, listRepoFiles } from '../src/node/repoFiles';
import { createSourceParser } from '../src/node/treeSitter';

const PROMPTS = 250;
const VERSIONS_EACH = 4;
const SOURCE_FILES = 5_000;
const CALLING_SHARE = 0.2; // one source file in five renders a prompt
const EDITS = 200;

function generate(root: string): { templates: string[]; callers: string[] } {
  const templates: string[] = [];
  const callers: string[] = [];
  for (let p = 0; p < PROMPTS; p++) {
    for (let v = 1; v <= VERSIONS_EACH; v++) {
      const dir = join(root, 'prompts', `prompt-${p}`, `v${v}`);
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, 'system.md'), `You are assistant ${p}. Answer in ${v + 1} sentences.\n`);
      const template = `Customer {customer_name} on plan {plan} writes:\n\n{document}\n\nReply in {language:>10}.\n`;
      writeFileSync(join(dir, 'user.template.md'), template);
      const examples = Array.from({ length: 30 }, (_, i) =>
        JSON.stringify({ id: `e-${i}`, inputs: { customer_name: `C${i}`, plan: 'pro', document: `Ticket ${i} text. `.repeat(8), language: 'English' }, reference: `Reply ${i}` }),
      );
      writeFileSync(join(dir, 'eval.jsonl'), `${examples.join('\n')}\n`);
      writeFileSync(
        join(dir, 'metadata.yaml'),
        `name: prompt-${p}\nversion: ${v}\nmodel: claude-sonnet-4-6\ntemperature: 0.0\nmax_output_tokens: 400\neval:\n  threshold_win_rate: 0.9\n  judge: { model: claude-opus-4-7, repeats: 3 }\n`,
      );
      templates.push(`prompts/prompt-${p}/v${v}/user.template.md`);
    }
  }
  for (let f = 0; f < SOURCE_FILES; f++) {
    const python = f % 2 === 0;
    const calls = f % Math.round(1 / CALLING_SHARE) === 0;
    const dir = join(root, 'src', `pkg${f % 50}`);
    mkdirSync(dir, { recursive: true });
    // Each file's text is its own (a first line naming it), as in a real repository: the index's
    // cache keys parsed results by content, so identical files would be parsed once.
    const lines: string[] = [python ? `# module ${f}` : `// module ${f}`];
    for (let i = 0; i < 95; i++) {
      lines.push(python ? `def helper_${i}(x):\n    return x * ${i} + len(str(x))` : `export function helper${i}(x: number): number { return x * ${i} + String(x).length; }`);
    }
    if (calls) {
      const p = f % PROMPTS;
      lines.push(
        python
          ? `def render(t):\n    return render_prompt(\n        "prompt-${p}",\n        version=${1 + (f % VERSIONS_EACH)},\n        customer_name=t.name,\n        plan=t.plan,\n        document=t.body,\n        language="en",\n    )`
          : `export const render = (t: any) => renderPrompt('prompt-${p}', { version: ${1 + (f % VERSIONS_EACH)}, customer_name: t.name, plan: t.plan, document: t.body, language: 'en' });`,
      );
    }
    const path = `src/pkg${f % 50}/module${f}.${python ? 'py' : 'ts'}`;
    writeFileSync(join(root, path), `${lines.join('\n')}\n`);
    if (calls) callers.push(path);
  }
  return { templates, callers };
}

const cpuMs = (usage: NodeJS.CpuUsage): number => (usage.user + usage.system) / 1000;

function ms(n: number): string {
  return `${n.toFixed(n < 10 ? 2 : 0)} ms`;
}

const target = (value: number, limit: number): string => `(target ${limit} ms: ratio ${(value / limit).toFixed(2)})`;

/** The worker as the extension ships it, bundled from the current source. */
async function workerBundle(): Promise<string> {
  const repo = dirname(__dirname);
  const outfile = join(repo, 'out', 'bench', 'indexWorker.js');
  await build({ entryPoints: [join(repo, 'src', 'node', 'indexWorker.ts')], outfile, bundle: true, platform: 'node', target: 'node20', format: 'cjs', mainFields: ['module', 'main'], logLevel: 'warning' });
  return outfile;
}

async function main(): Promise<void> {
  const root = mkdtempSync(join(tmpdir(), 'prompt-ci-bench-index-'));
  const cacheDir = join(root, '..', `${root.split('/').pop()}-storage`);
  const silent = { info: () => {}, warn: (m: string) => console.log(`  (worker) ${m}`), error: (m: string) => console.log(`  (worker) ${m}`) };
  try {
    const { templates, callers } = generate(root);
    const workerFile = await workerBundle();
    const load = loadavg()[0];

    // Cold: a new worker, an empty cache folder. The calling thread's event loop is watched meanwhile.
    const delay = monitorEventLoopDelay({ resolution: 10 });
    delay.enable();
    let cpuAt = process.cpuUsage();
    let t0 = performance.now();
    const coldClient = new IndexClient({ workerFile, cacheDir, cacheTag: 'bench', log: silent });
    const cold = await coldClient.index(root, []);
    const coldMs = performance.now() - t0;
    const coldCpuMs = cpuMs(process.cpuUsage(cpuAt));
    delay.disable();
    const stallMs = delay.max / 1e6;

    // Re-checks after one-character edits, through the worker (the editor's text is sent, the delta comes back).
    const recheck = async (paths: string[], edit: (text: string) => string): Promise<number[]> => {
      const times: number[] = [];
      for (let i = 0; i < EDITS; i++) {
        const path = paths[i % paths.length];
        const t = performance.now();
        cold.mirror.apply(await coldClient.update(root, path, edit(readFileSync(join(root, path), 'utf8'))));
        times.push(performance.now() - t);
        cold.mirror.apply(await coldClient.update(root, path, null));
      }
      return times;
    };
    const templateTimes = await recheck(templates, (text) => text.replace('{plan}', '{plans}'));
    const sourceTimes = await recheck(callers, (text) => text.replace('plan=t.plan', 'plan=t.plans').replace('plan: t.plan', 'plan: t.plans'));
    await coldClient.dispose(); // writes the cache, as closing the workspace does

    // Warm: the workspace reopened, a new worker with nothing in memory, the cache on disk.
    cpuAt = process.cpuUsage();
    t0 = performance.now();
    const warmClient = new IndexClient({ workerFile, cacheDir, cacheTag: 'bench', log: silent });
    const warm = await warmClient.index(root, []);
    const warmMs = performance.now() - t0;
    const warmCpuMs = cpuMs(process.cpuUsage(cpuAt));
    await warmClient.dispose();

    // In-process, as `prompt-ci check` builds it (no cache).
    const cpu0 = process.cpuUsage();
    t0 = performance.now();
    const parser = await createSourceParser();
    const { settings, problems } = readRepoSettings(root);
    const index = new RepoIndex(root, diskSnapshot(root, listRepoFiles(root)), settings, parser, problems);
    index.build();
    const inProcessMs = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    parser.dispose();

    const findings = cold.mirror.allFindings().length;
    console.log('Editor index');
    console.log(`  repository: ${templates.length} prompt versions, ${SOURCE_FILES} source files (${callers.length} render a prompt), ${cold.mirror.callSites().length} call sites, ${findings} findings; load average ${load.toFixed(1)} at the start`);
    console.log(`  cold index in the worker, to the findings on the calling thread: ${ms(coldMs)} ${target(coldMs, 1500)}, ${ms(coldCpuMs)} of CPU in all threads; the worker's build ${ms(cold.stats.ms)}, ${cold.stats.cache.misses} files and versions parsed, ${cold.stats.threads === 1 ? 'on one thread' : `split across ${cold.stats.threads} threads (${cold.stats.shardedPieces} pieces done by the shard threads)`}`);
    console.log(`  longest stall of the calling thread meanwhile: ${ms(stallMs)} (target 50 ms: ratio ${(stallMs / 50).toFixed(2)})`);
    console.log(
      `  reopened workspace (new worker, cache on disk) to the findings: ${ms(warmMs)} ${target(warmMs, 300)}, ${ms(warmCpuMs)} of CPU in all threads; the worker's build ${ms(warm.stats.ms)}, ` +
        `cache ${warm.stats.cache.loaded}${warm.stats.cache.reusedBuild ? ', last build published as it was' : ''}: ${warm.stats.cache.hits} reused, ${warm.stats.cache.misses} parsed, ${warm.stats.cache.unread} files not read`,
    );
    for (const [label, times] of [
      ['template edit', templateTimes],
      ['source edit', sourceTimes],
    ] as const) {
      const p95 = percentile(times, 95);
      console.log(`  re-check after a ${label}, through the worker: p50 ${ms(percentile(times, 50))}, p95 ${ms(p95)} over ${times.length} edits (target p95 15 ms: ratio ${(p95 / 15).toFixed(2)})`);
    }
    console.log(`  in-process build (prompt-ci check, no cache): ${ms(inProcessMs)} ${target(inProcessMs, 1500)}, ${ms(cpuMs(cpu))} of CPU`);
  } finally {
    rmSync(root, { recursive: true, force: true });
    rmSync(cacheDir, { recursive: true, force: true });
  }
}

void main();
