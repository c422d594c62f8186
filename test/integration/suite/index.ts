import * as fs from 'fs';
import * as path from 'path';
import Mocha from 'mocha';

/**
 * Entry point VS Code calls in the extension host (`extensionTestsPath`): runs every
 * `*.test.js` compiled next to this file with mocha. Resolves when all pass, rejects with
 * the failure count otherwise; the workbench reports the outcome as the run's exit code.
 *
 * PROMPT_CI_TEST_GREP (optional) runs only the tests whose full title matches it.
 * When a test fails, the runner screenshots the workbench at that moment, before any
 * afterEach hook tidies up (see {@link screenshotNow}).
 */
export async function run(): Promise<void> {
  const mocha = new Mocha({
    ui: 'bdd',
    timeout: 60_000,
    color: Boolean(process.env.FORCE_COLOR),
    reporter: 'spec',
  });
  const grep = process.env.PROMPT_CI_TEST_GREP;
  if (grep) mocha.grep(grep);
  const testFiles = fs
    .readdirSync(__dirname)
    .filter((name) => name.endsWith('.test.js'))
    .sort();
  if (testFiles.length === 0) throw new Error(`No *.test.js files in ${__dirname}`);
  for (const name of testFiles) mocha.addFile(path.join(__dirname, name));
  await mocha.loadFilesAsync();
  const failures = await new Promise<number>((resolve) => {
    const runner = mocha.run(resolve);
    runner.on('fail', (test) => screenshotNow(test.fullTitle()));
  });
  if (failures > 0) throw new Error(`${failures} integration test(s) failed`);
}

/**
 * Asks test/integration/runVscodeTests.mjs for a screenshot and blocks until it is taken
 * (10 s at most). Blocking the extension host thread is deliberate: the page must still
 * show the failure when captured, and the browser renders without the extension host.
 * Does nothing outside that runner.
 */
export function screenshotNow(title: string): void {
  const dir = process.env.PROMPT_CI_E2E_SIGNAL_DIR;
  if (!dir) return;
  const id = `${Date.now()}-${Math.random().toString(36).slice(2, 8)}`;
  const request = path.join(dir, `screenshot-${id}.request`);
  fs.writeFileSync(`${request}.tmp`, JSON.stringify({ title }));
  fs.renameSync(`${request}.tmp`, request);
  const done = path.join(dir, `screenshot-${id}.done`);
  const cell = new Int32Array(new SharedArrayBuffer(4));
  const deadline = Date.now() + 10_000;
  while (!fs.existsSync(done) && Date.now() < deadline) Atomics.wait(cell, 0, 0, 25);
}
