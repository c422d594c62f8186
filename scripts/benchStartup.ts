// Benchmark of the CLI's start-up (npm run bench; needs `npm run build` first): the whole process
// of `node dist/cli.js` for `--version`, `--help`, `check` on a small repository (a git copy of the
// example workspace) and `gate` with nothing changed since the base. Median wall time of 5 runs,
// and the median peak resident memory where /usr/bin/time is installed. Asserts nothing.
// `check` and `gate` are measured twice: the first run (no start-up cache: each run starts with an
// empty code cache and no .prompt-ci/index/, as a fresh CI job does) and warm (the caches an
// earlier run left: what a developer's pre-push hook and editor tasks pay after the first time).
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';

const root = join(__dirname, '..');
const CLI = join(root, 'dist', 'cli.js');
const RUNS = 5;
const TARGET_MS = 120;
const TIME = '/usr/bin/time';

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function smallRepo(): string {
  const dir = mkdtempSync(join(tmpdir(), 'prompt-ci-bench-startup-'));
  cpSync(join(root, 'examples'), dir, { recursive: true, filter: (src) => !/[\\/](node_modules|\.prompt-ci|broken)$/.test(src) });
  const env = { PATH: process.env.PATH ?? '', HOME: dir, GIT_CONFIG_NOSYSTEM: '1', GIT_AUTHOR_NAME: 'b', GIT_AUTHOR_EMAIL: 'b@example.invalid', GIT_COMMITTER_NAME: 'b', GIT_COMMITTER_EMAIL: 'b@example.invalid' };
  const git = (...args: string[]) => execFileSync('git', args, { cwd: dir, env, stdio: 'ignore' });
  git('init', '-q', '-b', 'main');
  git('add', '-A');
  git('commit', '-q', '-m', 'prompts');
  git('checkout', '-q', '-b', 'feature');
  return dir;
}

function measure(
  args: string[],
  cwd: string,
  script: string[] = [CLI],
  options: { env?: Record<string, string>; before?: () => void } = {},
): { ms: number; mb: number | undefined; cpuMs: number | undefined; status: number | null } {
  const times: number[] = [];
  const rss: number[] = [];
  const cpu: number[] = [];
  let status: number | null = null;
  const withTime = existsSync(TIME);
  for (let i = 0; i < RUNS; i++) {
    options.before?.();
    const command = withTime ? TIME : process.execPath;
    const argv = withTime ? ['-f', '%M %U %S', process.execPath, ...script, ...args] : [...script, ...args];
    const started = performance.now();
    const result = spawnSync(command, argv, { cwd, encoding: 'utf8', env: { PATH: process.env.PATH ?? '', HOME: cwd, ...options.env } });
    times.push(performance.now() - started);
    status = result.status;
    if (withTime) {
      const [kb, user, system] = (result.stderr.trim().split('\n').pop() ?? '').split(' ').map(Number);
      rss.push(kb / 1024);
      cpu.push((user + system) * 1000);
    }
  }
  return { ms: median(times), mb: rss.length ? median(rss) : undefined, cpuMs: cpu.length ? median(cpu) : undefined, status };
}

function main(): void {
  if (!existsSync(CLI)) {
    console.log('CLI start-up: dist/cli.js is missing; run `npm run build` first');
    process.exitCode = 1;
    return;
  }
  const repo = smallRepo();
  // The code cache goes to the user's cache folder: here a folder of its own, outside the repository.
  const xdg = mkdtempSync(join(tmpdir(), 'prompt-ci-bench-xdg-'));
  const env = { XDG_CACHE_HOME: xdg };
  const noCache = () => {
    rmSync(xdg, { recursive: true, force: true });
    rmSync(join(repo, '.prompt-ci', 'index'), { recursive: true, force: true });
  };
  try {
    console.log(`CLI start-up, whole process, median of ${RUNS}; load average ${loadavg().map((l) => l.toFixed(2)).join(' ')} at the start`);
    // Node's own start-up, the floor under every row: on a loaded machine it is most of each figure.
    const floor = measure([], repo, ['-e', '0']);
    // CPU time (user + system, 10 ms resolution) moves less than wall time when other processes share the cores.
    const cpuOf = (cpuMs: number | undefined) => (cpuMs === undefined ? '' : `, ${cpuMs.toFixed(0)} ms CPU`);
    console.log(`  node -e 0 (the floor): ${floor.ms.toFixed(0)} ms${floor.mb === undefined ? '' : `, ${floor.mb.toFixed(0)} MB`}${cpuOf(floor.cpuMs)}`);
    const gate = ['gate', '--base', 'main', '--offline'];
    const rows: [string, string[], number | undefined, 'cold' | 'warm'][] = [
      ['--version', ['--version'], TARGET_MS, 'warm'],
      ['--help', ['--help'], TARGET_MS, 'warm'],
      ['check (example workspace), first run: no start-up cache', ['check'], TARGET_MS, 'cold'],
      ['check (example workspace), warm: caches of an earlier run', ['check'], TARGET_MS, 'warm'],
      ['gate, nothing changed, first run: no start-up cache', gate, undefined, 'cold'],
      ['gate, nothing changed, warm', gate, undefined, 'warm'],
    ];
    for (const [label, args, target, caches] of rows) {
      if (caches === 'warm') spawnSync(process.execPath, [CLI, ...args], { cwd: repo, env: { PATH: process.env.PATH ?? '', HOME: repo, ...env } });
      const { ms, mb, cpuMs, status } = measure(args, repo, [CLI], { env, before: caches === 'cold' ? noCache : undefined });
      const memory = mb === undefined ? '' : `, ${mb.toFixed(0)} MB`;
      const against = target === undefined ? '(no target; reported)' : `(target ${target} ms: ratio ${(ms / target).toFixed(2)})`;
      console.log(`  ${label}: ${ms.toFixed(0)} ms${memory}${cpuOf(cpuMs)}, exit ${status}, ${(ms - floor.ms).toFixed(0)} ms over the floor, ${(ms / floor.ms).toFixed(2)}x the floor ${against}`);
    }
    console.log(`  load average ${loadavg().map((l) => l.toFixed(2)).join(' ')} at the end`);
  } finally {
    rmSync(repo, { recursive: true, force: true });
    rmSync(xdg, { recursive: true, force: true });
  }
}

main();
