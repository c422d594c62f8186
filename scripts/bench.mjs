// npm run bench: every benchmark of the project, one after the other. Each prints its figures and
// the ratio to its target; none asserts on time (these machines are shared and noisy).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const benches = ['scripts/benchStartup.ts', 'scripts/benchIndex.ts', 'scripts/benchActivation.mjs', 'scripts/benchCheck.ts', 'scripts/benchEval.ts', 'scripts/benchReplay.ts', 'scripts/benchHarvest.ts', 'scripts/benchRateLimits.ts', 'scripts/benchRuntime.ts'].filter((f) => existsSync(join(root, f)));
// Names pick benches (`node scripts/bench.mjs benchEval`); flags are handed to each bench run (`--memory`).
const only = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const flags = process.argv.slice(2).filter((a) => a.startsWith('--'));
let failed = 0;
for (const bench of benches) {
  if (only.length && !only.some((o) => bench.includes(o))) continue;
  console.log(`\n=== ${bench}`);
  const result = spawnSync(process.execPath, ['--import', 'tsx', '--expose-gc', bench, ...flags], { cwd: root, stdio: 'inherit' });
  if (result.status !== 0) failed += 1;
}
process.exit(failed ? 1 : 0);
