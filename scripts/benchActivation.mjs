// Benchmark of the extension in a real VS Code (npm run bench): builds, runs the VS Code test of
// the index worker (test/integration/suite/indexWorker.test.ts) in code-server, and prints what the
// extension measured of itself there: activate() from its first line to its return, by part; the
// first index (in the worker, to the findings in the Problems panel); and a restarted worker reading
// the cache on disk (a reopened workspace), to its findings. Each next to its target. Asserts nothing.
import { spawnSync } from 'node:child_process';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const built = spawnSync(process.execPath, ['esbuild.mjs'], { cwd: root, stdio: 'inherit' });
if (built.status !== 0) process.exit(1);
const run = spawnSync(process.execPath, ['test/integration/runVscodeTests.mjs'], {
  cwd: root,
  encoding: 'utf8',
  env: { ...process.env, PROMPT_CI_TEST_GREP: 'The index worker and its cache' },
  maxBuffer: 64 * 1024 * 1024,
});
const output = `${run.stdout}\n${run.stderr}`;
const figure = (label) => {
  const line = output.split('\n').find((l) => l.includes(`[bench] ${label} `));
  return line && JSON.parse(line.slice(line.indexOf(`[bench] ${label} `) + `[bench] ${label} `.length));
};
const activation = figure('activation');
const warm = figure('warm');
if (run.status !== 0 || !activation || !warm) {
  console.log(output.split('\n').slice(-40).join('\n'));
  console.log('The VS Code run failed: no figures.');
  process.exit(1);
}
const ratio = (value, limit) => `(target ${limit} ms: ratio ${(value / limit).toFixed(2)})`;
const ms = (n) => `${n.toFixed(n < 10 ? 1 : 0)} ms`;
console.log('Extension in VS Code (code-server, the test fixture workspace)');
console.log(`  activation, activate() to its return: ${ms(activation.activationMs)} ${ratio(activation.activationMs, 50)}`);
console.log(`    by part: ${Object.entries(activation.activationParts ?? {}).map(([k, v]) => `${k} ${v} ms`).join(', ')}`);
const first = activation.firstIndex;
console.log(`  first index in the worker, to the Problems panel: ${ms(first.toDiagnosticsMs)} (the worker's build ${ms(first.build.ms)}, grammars loaded with it)`);
console.log(
  `  reopened workspace (restarted worker, cache on disk), to the Problems panel: ${ms(warm.toDiagnosticsMs)} ${ratio(warm.toDiagnosticsMs, 300)}; ` +
    `cache ${warm.build.cache.loaded}: ${warm.build.cache.hits} reused, ${warm.build.cache.misses} parsed`,
);
