// Benchmark of the repository index (npm run bench): a generated repository with 1,000 prompt
// versions and 5,000 source files. Prints the cold index time, peak memory, and the p50/p95 time
// to re-check after a one-character edit of a template and of a source file. Asserts nothing.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { percentile } from '../src/core/stats/percentile';
import { readRepoSettings } from '../src/node/checkRepo';
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
    const lines: string[] = [];
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

function ms(n: number): string {
  return `${n.toFixed(n < 10 ? 2 : 0)} ms`;
}

async function main(): Promise<void> {
  const root = mkdtempSync(join(tmpdir(), 'prompt-ci-bench-index-'));
  try {
    const { templates, callers } = generate(root);
    const rssBefore = process.memoryUsage().rss;

    const overlay = new Map<string, string>();
    const started = performance.now();
    const parser = await createSourceParser();
    const { settings, problems } = readRepoSettings(root);
    const index = new RepoIndex(root, diskSnapshot(root, listRepoFiles(root), (p) => overlay.get(p)), settings, parser, problems);
    index.build();
    const cold = performance.now() - started;
    // The process's high-water mark: the index is built synchronously, so a sampler would never run.
    const peakRss = process.resourceUsage().maxRSS * 1024;

    const recheck = (paths: string[], edit: (text: string, i: number) => string): number[] => {
      const times: number[] = [];
      for (let i = 0; i < EDITS; i++) {
        const path = paths[i % paths.length];
        overlay.set(path, edit(readFileSync(join(root, path), 'utf8'), i));
        const t0 = performance.now();
        index.update(path);
        times.push(performance.now() - t0);
        overlay.delete(path);
        index.update(path);
      }
      return times;
    };
    // One character typed into a field name (a new variable appears), and into a source line.
    const templateTimes = recheck(templates, (text) => text.replace('{plan}', '{plans}'));
    const sourceTimes = recheck(callers, (text) => text.replace('plan=t.plan', 'plan=t.plans').replace('plan: t.plan', 'plan: t.plans'));

    const findings = index.allFindings().length;
    console.log('Repository index');
    console.log(`  repository: ${templates.length} prompt versions, ${SOURCE_FILES} source files (${callers.length} render a prompt), ${index.callSites().length} call sites, ${findings} findings`);
    console.log(`  cold index: ${ms(cold)} (target 3000 ms: ratio ${(cold / 3000).toFixed(2)})`);
    console.log(`  peak RSS of the process: ${(peakRss / 2 ** 20).toFixed(0)} MB (${(rssBefore / 2 ** 20).toFixed(0)} MB before indexing, after generating the repository)`);
    for (const [label, times] of [
      ['template edit', templateTimes],
      ['source edit', sourceTimes],
    ] as const) {
      const p95 = percentile(times, 95);
      console.log(`  re-check after a ${label}: p50 ${ms(percentile(times, 50))}, p95 ${ms(p95)} over ${times.length} edits (target p95 15 ms: ratio ${(p95 / 15).toFixed(2)})`);
    }
    parser.dispose();
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

void main();
