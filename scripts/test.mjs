// Every test of the project, in order: type check, lint, build, unit tests, CLI tests, tests inside
// a real VS Code (code-server), the packaged .vsix. Prints one closing line "N passed, N failed, N skipped".
//   node scripts/test.mjs [--skip-vscode]
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const bin = (name) => join(root, 'node_modules', '.bin', name);
const skipVscode = process.argv.includes('--skip-vscode');

const steps = [
  { name: 'type check', cmd: bin('tsc'), args: ['-p', '.'] },
  { name: 'lint', cmd: bin('eslint'), args: ['src', 'test', 'scripts', 'esbuild.mjs'] },
  { name: 'build', cmd: process.execPath, args: ['esbuild.mjs'] },
  { name: 'unit tests', cmd: bin('mocha'), args: ['test/unit/**/*.test.ts'], counts: true },
  { name: 'CLI tests', cmd: bin('mocha'), args: ['test/cli/**/*.test.ts'], counts: true },
  !skipVscode && existsSync(join(root, 'test/integration/runVscodeTests.mjs')) && {
    name: 'VS Code tests', cmd: process.execPath, args: ['test/integration/runVscodeTests.mjs'], counts: true,
  },
  !skipVscode && existsSync(join(root, 'test/integration/runVscodeTests.mjs')) && {
    name: 'VS Code tests, multi-root workspace', cmd: process.execPath, args: ['test/integration/runVscodeTests.mjs'], counts: true,
    env: {
      PROMPT_CI_TEST_WORKSPACE: join(root, 'test/fixtures/multiroot'),
      PROMPT_CI_TEST_WORKSPACE_FILE: 'team.code-workspace',
      PROMPT_CI_TEST_GREP: 'multi-root',
    },
  },
  !skipVscode && existsSync(join(root, 'test/integration/evalPanel.browser.mjs')) && {
    name: 'VS Code tests, eval results panel', cmd: process.execPath, args: ['test/integration/runVscodeTests.mjs'], counts: true,
    env: {
      PROMPT_CI_TEST_WORKSPACE: join(root, 'test/fixtures/workspace-eval'),
      PROMPT_CI_E2E_PLAYWRIGHT_SCRIPT: join(root, 'test/integration/evalPanel.browser.mjs'),
      PROMPT_CI_TEST_GREP: 'Eval panel',
    },
  },
  !skipVscode && existsSync(join(root, 'test/integration/editorScreens.test.mjs')) && {
    name: 'VS Code tests, first screens of the npm start workspace', cmd: bin('mocha'), args: ['--timeout', '600000', 'test/integration/editorScreens.test.mjs'], counts: true,
  },
  !skipVscode && existsSync(join(root, 'test/integration/packagedVsix.test.mjs')) && {
    name: 'packaged .vsix', cmd: bin('mocha'), args: ['--timeout', '600000', 'test/integration/packagedVsix.test.mjs'], counts: true,
  },
].filter(Boolean);

function run(step) {
  return new Promise((resolve) => {
    const started = Date.now();
    console.log(`\n=== ${step.name}: ${[step.cmd.replace(root + '/', ''), ...step.args].join(' ')}`);
    const child = spawn(step.cmd, step.args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...step.env } });
    let out = '';
    child.stdout.on('data', (d) => { out += d; process.stdout.write(d); });
    child.stderr.on('data', (d) => { out += d; process.stderr.write(d); });
    child.on('close', (code) => resolve({ code, out, seconds: (Date.now() - started) / 1000 }));
  });
}

// Mocha's closing lines ("12 passing", "1 failing", "2 pending"), summed over a step's output.
function mochaCounts(text) {
  const plain = text.replace(/\x1b\[[0-9;]*m/g, '');
  const sum = (word) => [...plain.matchAll(new RegExp(`^\\s*(\\d+) ${word}\\b`, 'gm'))].reduce((n, m) => n + Number(m[1]), 0);
  return { passed: sum('passing'), failed: sum('failing'), skipped: sum('pending') };
}

const totals = { passed: 0, failed: 0, skipped: 0 };
const report = [];
let failedSteps = 0;
for (const step of steps) {
  const { code, out, seconds } = await run(step);
  if (step.counts) {
    const c = mochaCounts(out);
    totals.passed += c.passed;
    totals.failed += c.failed;
    totals.skipped += c.skipped;
    if (code !== 0 && c.failed === 0) totals.failed += 1; // a runner that died is a failure too
  }
  if (code !== 0) failedSteps += 1;
  report.push(`${code === 0 ? 'ok  ' : 'FAIL'} ${step.name} (${seconds.toFixed(1)} s)`);
}
console.log(`\n${report.join('\n')}`);
console.log(`${totals.passed} passed, ${totals.failed} failed, ${totals.skipped} skipped`);
process.exit(failedSteps > 0 ? 1 : 0);
