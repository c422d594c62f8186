// Benchmark of `check` on large eval sets (npm run bench): one prompt version whose eval.jsonl has
// 10k, 100k and 1M lines, each line supplying the template's variables, plus one call site. Prints
// the time of a whole repository check next to a linear target (20 µs a line). Asserts nothing.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { checkRepoOnDisk } from '../src/node/checkRepo';
import { createSourceParser } from '../src/node/treeSitter';

const SIZES = process.env.BENCH_CHECK_SIZES ? process.env.BENCH_CHECK_SIZES.split(",").map(Number) : [10_000, 100_000, 1_000_000];
const TARGET_US_PER_LINE = 20;

function generate(root: string, lines: number): void {
  const dir = join(root, 'prompts', 'support', 'v1');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'system.md'), 'You answer support tickets.\n');
  writeFileSync(join(dir, 'user.template.md'), 'Customer {customer_name} on plan {plan} writes:\n\n{document}\n');
  writeFileSync(
    join(dir, 'metadata.yaml'),
    'name: support\nversion: 1\nmodel: claude-sonnet-4-6\ntemperature: 0.0\nmax_output_tokens: 400\neval:\n  threshold_win_rate: 0.9\n',
  );
  const chunk: string[] = [];
  const parts: string[] = [];
  for (let i = 0; i < lines; i++) {
    chunk.push(JSON.stringify({ id: `e-${i}`, inputs: { customer_name: `C${i}`, plan: 'pro', document: `Ticket ${i}.` }, reference: `Reply ${i}` }));
    if (chunk.length === 10_000) parts.push(`${chunk.splice(0).join('\n')}\n`);
  }
  if (chunk.length > 0) parts.push(`${chunk.join('\n')}\n`);
  writeFileSync(join(dir, 'eval.jsonl'), parts.join(''));
  mkdirSync(join(root, 'src'), { recursive: true });
  writeFileSync(join(root, 'src', 'reply.py'), 'def reply(t):\n    return render_prompt("support", customer_name=t.name, plan=t.plan, document=t.body)\n');
}

async function main(): Promise<void> {
  const parser = await createSourceParser();
  console.log('check on large eval sets');
  try {
    for (const lines of SIZES) {
      const root = mkdtempSync(join(tmpdir(), 'prompt-ci-bench-check-'));
      try {
        generate(root, lines);
        const started = performance.now();
        const { findings } = await checkRepoOnDisk(root, { parser });
        const ms = performance.now() - started;
        const target = (lines * TARGET_US_PER_LINE) / 1000;
        console.log(
          `  ${lines.toLocaleString('en-US')} eval lines: ${ms.toFixed(0)} ms, ${findings.length} findings (target ${target.toFixed(0)} ms: ratio ${(ms / target).toFixed(2)})`,
        );
      } finally {
        rmSync(root, { recursive: true, force: true });
      }
    }
  } finally {
    parser.dispose();
  }
}

void main();
