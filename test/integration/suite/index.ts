import * as fs from 'fs';
import * as path from 'path';
import Mocha from 'mocha';

/**
 * Entry point VS Code calls in the extension host (`extensionTestsPath`): runs every
 * `*.test.js` compiled next to this file with mocha. Resolves when all pass, rejects with
 * the failure count otherwise; the workbench reports the outcome as the run's exit code.
 *
 * PROMPT_CI_TEST_GREP (optional) runs only the tests whose full title matches it.
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
  const failures = await new Promise<number>((resolve) => mocha.run(resolve));
  if (failures > 0) throw new Error(`${failures} integration test(s) failed`);
}
