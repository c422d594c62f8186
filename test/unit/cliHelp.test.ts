import * as assert from 'node:assert/strict';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../src/cli/main';
import { planChangedPrompts } from '../../src/core/gate/changedPrompts';
import { versionDirOf } from '../../src/core/promptLayout';

async function run(argv: string[], cwd = process.cwd()): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await main(argv, { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t), isTty: false, env: {}, cwd, signal: new AbortController().signal });
  return { code, stdout, stderr };
}

describe('the CLI: help for every command, and names that look like flags', () => {
  const commands = ['check', 'eval', 'gate', 'drift', 'install-hook', 'new', 'replay'];

  it('prompt-ci COMMAND --help prints that command\'s usage and exits 0, for every command', async () => {
    const all = await run(['--help']);
    for (const name of commands) {
      assert.match(all.stdout, new RegExp(`prompt-ci ${name}\\b`), `${name} is in the overall usage`);
      for (const flag of ['--help', '-h']) {
        const { code, stdout, stderr } = await run([name, flag]);
        assert.equal(code, 0, `${name} ${flag}: ${stderr}`);
        assert.match(stdout, new RegExp(`^usage: prompt-ci ${name}\\b`));
        assert.equal(stderr, '');
      }
    }
  });

  it('takes a --help after -- as a name, not as a request for help', async () => {
    const { code, stdout } = await run(['check', '--', '--help']);
    assert.notEqual(code, 0);
    assert.doesNotMatch(stdout, /^usage:/);
  });

  it('checks prompts/--help/v1 when asked to, and the gate does not take it for a removed version', async () => {
    const repo = mkdtempSync(join(tmpdir(), 'prompt-ci-flaglike-'));
    try {
      cpSync(join(__dirname, '..', '..', 'examples', 'prompts', 'classification', 'v1'), join(repo, 'prompts', '--help', 'v1'), { recursive: true });
      const { code, stdout } = await run(['check', 'prompts/--help/v1'], repo);
      assert.equal(code, 1);
      assert.match(stdout, /prompts\/--help:1:1: error layout\/invalid-name/);
    } finally {
      rmSync(repo, { recursive: true, force: true });
    }
    assert.equal(versionDirOf('prompts/--help/v1/system.md'), undefined);
    const plan = planChangedPrompts({ changedPaths: ['prompts/--help/v1/system.md'], versions: [], callSiteChanges: [] });
    assert.deepEqual(plan, []);
  });
});
