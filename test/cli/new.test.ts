import * as assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { copyFixture, runCli } from './cliHarness';

describe('prompt-ci new', () => {
  let repo: string;
  beforeEach(() => {
    repo = copyFixture('examples');
  });
  afterEach(() => rmSync(repo, { recursive: true, force: true }));

  it('copies the highest version of a prompt to the next, with version bumped', () => {
    const run = runCli(['new', 'prompts/summarisation'], repo);
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stdout, /^created prompts\/summarisation\/v3 from prompts\/summarisation\/v2 \(version: 3; eval\.jsonl, judge\.md, metadata\.yaml, system\.md, user\.template\.md\)/);
    const v2 = readFileSync(join(repo, 'prompts/summarisation/v2/metadata.yaml'), 'utf8');
    assert.equal(readFileSync(join(repo, 'prompts/summarisation/v3/metadata.yaml'), 'utf8'), v2.replace(/^version: 2$/m, 'version: 3'));
    assert.equal(readFileSync(join(repo, 'prompts/summarisation/v3/system.md'), 'utf8'), readFileSync(join(repo, 'prompts/summarisation/v2/system.md'), 'utf8'));
    // The new version checks clean: its metadata agrees with its directory.
    const check = runCli(['check', 'prompts/summarisation/v3'], repo);
    assert.equal(check.status, 0, check.stdout + check.stderr);
  });

  it('refuses a target that exists (exit 1) and bad arguments (exit 2)', () => {
    const refused = runCli(['new', 'prompts/summarisation/v1'], repo);
    assert.equal(refused.status, 1);
    assert.match(refused.stderr, /prompt-ci new: prompts\/summarisation\/v2 already exists and is never overwritten; edit it, or make v3 from v2 \(prompt-ci new prompts\/summarisation\)/);
    assert.ok(!existsSync(join(repo, 'prompts/summarisation/v3')));
    const json = runCli(['new', 'prompts/classification/v1', '--json'], repo);
    assert.equal(json.status, 0, json.stderr);
    assert.deepEqual(JSON.parse(json.stdout), {
      from: 'prompts/classification/v1',
      to: 'prompts/classification/v2',
      version: 2,
      files: ['eval.jsonl', 'metadata.yaml', 'system.md', 'user.template.md'],
    });
    assert.equal(runCli(['new'], repo).status, 2);
    const notPrompt = runCli(['new', 'src'], repo);
    assert.equal(notPrompt.status, 2);
    assert.match(notPrompt.stderr, /src is not a prompt \(prompts\/<name>\) or prompt version/);
    const help = runCli(['new', '--help'], repo);
    assert.equal(help.status, 0);
    assert.equal(
      help.stdout,
      'usage: prompt-ci new PROMPT_DIR [--json]\n' +
        '      copy a prompt version vN to vN+1 with version bumped (released versions are immutable; change a new one)\n\n' +
        '  PROMPT_DIR is prompts/<name> (copies its highest version) or prompts/<name>/v<N> (copies that one).\n' +
        "  The copy, v<N+1>, holds every file of the source with metadata.yaml's version bumped; a v<N+1>\n" +
        '  that exists is never overwritten (exit 1). --json prints {from, to, version, files}.\n',
    );
  });
});
