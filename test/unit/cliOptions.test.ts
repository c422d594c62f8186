import * as assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ERROR_KINDS, EXIT_USAGE, UsageError, errorKindOf, exitCodeOfError } from '../../src/cli/cliIo';
import { main } from '../../src/cli/main';
import { SHARED_OPTIONS } from '../../src/cli/options';
import { NoPromptRepositoryError } from '../../src/cli/promptRepository';
import { BundleError } from '../../src/core/runtime/bundle';
import { ShareError } from '../../src/core/runtime/shares';
import { ReplayError } from '../../src/core/replay';
import { SpanError } from '../../src/core/span';
import { BaselineError, NotAtBaseError } from '../../src/node/baseline';
import { GateSetupError } from '../../src/node/changedPrompts';
import { ControlPlaneError } from '../../src/node/controlPlane/driver';
import { ControlConflictError, ControlInputError, ControlPolicyError } from '../../src/node/controlPlane/store';
import { GitError, GitUnavailableError } from '../../src/node/git';
import { HarvestError } from '../../src/node/harvest';
import { MissingApiKeyError, ModelCallError } from '../../src/node/modelClient';
import { NewVersionError } from '../../src/node/newVersion';
import { OutputFileError } from '../../src/node/outputFiles';
import { PromptFilesError } from '../../src/node/promptFiles';
import { EvalSetupError } from '../../src/node/runEval';

async function run(argv: string[], cwd: string): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await main(argv, { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t), isTty: false, env: {}, cwd, signal: new AbortController().signal });
  return { code, stdout, stderr };
}

/** The flags of a shared option (`--offline` and `--no-cache` for the pair). */
const flagsOf = (option: { spec: object }): string[] => Object.keys(option.spec).map((name) => `--${name}`);
const options = Object.values(SHARED_OPTIONS);
const SHARED_FLAGS = new Set(options.flatMap(flagsOf));

describe('the CLI: shared options and the error-to-exit-code map', () => {
  let empty: string;
  before(() => {
    empty = mkdtempSync(join(tmpdir(), 'prompt-ci-options-'));
  });
  after(() => rmSync(empty, { recursive: true, force: true }));

  async function commandNames(): Promise<string[]> {
    const { stdout } = await run(['--help'], empty);
    return [...stdout.matchAll(/^ {2}prompt-ci (\S+)/gm)].map((m) => m[1]);
  }

  it('every command\'s --help shows a shared option exactly as options.ts defines it', async () => {
    const names = await commandNames();
    assert.ok(names.length >= 16, names.join(' '));
    let seen = 0;
    for (const name of names) {
      const { code, stdout } = await run([name, '--help'], empty);
      assert.equal(code, 0, name);
      const usage = stdout.split('\n')[0];
      // Every bracketed part naming a shared flag is one of the shared definitions of that flag.
      for (const [part] of usage.matchAll(/\[[^\]]*\]/g)) {
        const flags = [...part.matchAll(/--[a-z-]+/g)].map((m) => m[0]).filter((f) => SHARED_FLAGS.has(f));
        if (flags.length === 0) continue;
        const definitions = options.filter((o) => flagsOf(o).some((f) => flags.includes(f))).map((o) => o.usage);
        assert.ok(definitions.includes(part), `${name}: ${part} is not one of ${definitions.join(', ')}`);
        seen++;
      }
      // And no shared flag is shown outside the brackets, in a wording of its own.
      const outside = usage.replace(/\[[^\]]*\]/g, '');
      for (const flag of SHARED_FLAGS) assert.doesNotMatch(outside, new RegExp(`${flag}\\b`), `${name} shows ${flag} unbracketed`);
    }
    assert.ok(seen >= 25, `only ${seen} shared options seen in the usage lines`);
  });

  it('every command showing a shared option refuses its bad value with the same message, exit 2 and the usage line', async () => {
    let checked = 0;
    for (const name of await commandNames()) {
      const usage = (await run([name, '--help'], empty)).stdout.split('\n')[0];
      for (const option of options) {
        if (!option.invalid || !usage.includes(option.usage)) continue;
        const { code, stderr } = await run([name, ...option.invalid.args], empty);
        assert.equal(code, EXIT_USAGE, `${name} ${option.invalid.args.join(' ')}: ${stderr}`);
        assert.equal(stderr, `prompt-ci ${name}: ${option.invalid.message}\nusage: ${usage.replace(/^usage: /, '')}\n`);
        checked++;
      }
    }
    // --concurrency (eval, gate, drift), --offline with --no-cache (eval, gate, synthesize), --max-minutes (eval, gate), --format (check, gate, drift).
    assert.equal(checked, 11);
  });

  it('says "no prompt repository here" the same way in every command that needs one, exit 2', async () => {
    for (const name of ['check', 'gate', 'drift', 'install-hook']) {
      const { code, stderr } = await run([name], empty);
      assert.equal(code, 2, name);
      assert.match(stderr, new RegExp(`^prompt-ci ${name}: (\\.: )?no prompt repository here \\(looked upward for prompt-ci\\.yaml or a prompts/ directory\\)\\n$`), name);
    }
  });

  it('maps each error class to its documented exit code: refusals 1, usage and environment errors 2', () => {
    const cases: Array<[Error, 'usage' | 'refused' | 'environment']> = [
      [new UsageError('bad'), 'usage'],
      [(() => { try { parseArgs({ args: ['--nope'], options: {}, strict: true }); } catch (e) { return e as Error; } throw new Error('parseArgs accepted --nope'); })(), 'usage'],
      [new ControlPolicyError('not soaked'), 'refused'],
      [new ControlConflictError('changed meanwhile'), 'refused'],
      [new NewVersionError('v3 exists'), 'refused'],
      [new NoPromptRepositoryError('no repo'), 'environment'],
      [new EvalSetupError('no eval.jsonl'), 'environment'],
      [new GateSetupError('no base'), 'environment'],
      [new BaselineError('no baseline'), 'environment'],
      [new NotAtBaseError('not at base'), 'environment'],
      [new PromptFilesError('unreadable'), 'environment'],
      [new OutputFileError('cannot write', '/x'), 'environment'],
      [new GitError(['status'], 128, 'fatal'), 'environment'],
      [new GitUnavailableError(['status'], 'not-installed', ''), 'environment'],
      [new SpanError('not-json', 'not JSON'), 'environment'],
      [new ReplayError('missing-variables', 'missing'), 'environment'],
      [new BundleError('bad bundle'), 'environment'],
      [new HarvestError('no such spans file'), 'environment'],
      [new MissingApiKeyError(), 'environment'],
      [new ModelCallError('401', 'auth', true, 401), 'environment'],
      [new ControlPlaneError('unreachable'), 'environment'],
      [new ControlInputError('bad tenant'), 'environment'],
      [new ShareError('bad share'), 'environment'],
    ];
    const exitOf = { usage: 2, refused: 1, environment: 2 };
    for (const [error, kind] of cases) {
      assert.equal(errorKindOf(error), kind, error.name);
      assert.equal(exitCodeOfError(error), exitOf[kind], error.name);
    }
    // Every entry of the map is a class above: a new entry needs its row here.
    const tested = new Set(cases.map(([e]) => e.name));
    assert.deepEqual(Object.keys(ERROR_KINDS).filter((name) => !tested.has(name)), []);
    // Anything else is unexpected: exit 2, like an environment error, but not taken for a known one.
    assert.equal(errorKindOf(new TypeError('x is undefined')), undefined);
    assert.equal(exitCodeOfError(new TypeError('x is undefined')), 2);
    assert.equal(errorKindOf(Object.assign(new Error('x'), { name: 'toString' })), undefined);
  });
});
