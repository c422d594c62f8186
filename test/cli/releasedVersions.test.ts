import * as assert from 'node:assert/strict';
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { StandIn } from '../support/standIn/server';
import { RELEASED_VERSIONS_WARN, SUMMARISATION_V2, git, harmlessEdit, runCliAsync, useGateRepo } from './gateRepo';

/*
 * DESIGN.md section 11 on a real git repository: main holds summarisation v1 and v2 (released),
 * the feature branch is checked out. The gate repository lets edits of released versions through
 * for the eval tests; these tests put the default (immutable) back.
 */
describe('prompt-ci gate and check: released versions', function () {
  this.timeout(60_000);
  let standIn: StandIn;
  let repo: string;
  let env: Record<string, string>;

  const shared = useGateRepo('released-key');
  beforeEach(() => {
    ({ standIn, repo, env } = shared);
    const settings = join(repo, 'prompt-ci.yaml');
    writeFileSync(settings, readFileSync(settings, 'utf8').replace(RELEASED_VERSIONS_WARN, ''));
    git(repo, 'commit', '-qam', 'Released versions are immutable');
  });

  const metadataPath = (): string => join(repo, SUMMARISATION_V2, 'metadata.yaml');

  it('blocks an in-place edit of a released system prompt, without a model call, and check reports it too', async () => {
    harmlessEdit(repo);
    git(repo, 'commit', '-qam', 'Punctuation in v2');
    const calls = standIn.requests.length;
    const run = await runCliAsync(['gate'], repo, env);
    assert.equal(run.status, 1, run.stdout + run.stderr);
    assert.match(
      run.stdout,
      /^prompts\/summarisation\/v2\/system\.md:\d+:\d+: error release\/request-changed: system\.md changed, which changes what production sends: v2 is released \(it is on main\); create v3 instead \(prompt-ci new prompts\/summarisation\/v2/m,
    );
    assert.match(run.stdout, /^check: 1 error/m);
    assert.match(run.stdout, /^prompts\/summarisation\/v2: BLOCKED/m);
    assert.match(run.stdout, /the eval was not run/);
    assert.equal(standIn.requests.length, calls, 'no model call for a change that cannot be merged');

    const check = await runCliAsync(['check', '--format', 'json'], repo, env);
    assert.equal(check.status, 1, check.stderr);
    const { diagnostics } = JSON.parse(check.stdout) as { diagnostics: Array<{ file: string; code: string; severity: string }> };
    assert.deepEqual(
      diagnostics.filter((d) => d.code.startsWith('release/')).map((d) => [d.file, d.code, d.severity]),
      [['prompts/summarisation/v2/system.md', 'release/request-changed', 'error']],
    );
  });

  it('blocks a model change on its value, and lets an owners change through to the eval', async () => {
    const text = readFileSync(metadataPath(), 'utf8');
    writeFileSync(metadataPath(), text.replace('model: claude-sonnet-4-6', 'model: claude-haiku-4-5'));
    const blocked = await runCliAsync(['gate'], repo, env);
    assert.equal(blocked.status, 1, blocked.stdout + blocked.stderr);
    assert.match(
      blocked.stdout,
      /^prompts\/summarisation\/v2\/metadata\.yaml:3:8: error release\/request-changed: model changed from "claude-sonnet-4-6" to "claude-haiku-4-5": v2 is released/m,
    );

    writeFileSync(metadataPath(), text.replace('owners: ["@helpdeskco/support-tooling"]', 'owners: ["@helpdeskco/support-tooling", "@helpdeskco/ml"]'));
    const passed = await runCliAsync(['gate'], repo, env);
    assert.equal(passed.status, 0, passed.stdout + passed.stderr);
    assert.doesNotMatch(passed.stdout, /release\//);
    assert.match(passed.stdout, /^prompts\/summarisation\/v2: PASS/m);
  });

  it('gates the same edit made in a new v3 against v2, with no policy finding', async () => {
    const v3 = join(repo, 'prompts', 'summarisation', 'v3');
    cpSync(join(repo, SUMMARISATION_V2), v3, { recursive: true });
    writeFileSync(join(v3, 'metadata.yaml'), readFileSync(join(v3, 'metadata.yaml'), 'utf8').replace('version: 2', 'version: 3'));
    const system = join(v3, 'system.md');
    writeFileSync(system, readFileSync(system, 'utf8').replace('No greeting, no headings, no bullet points,', 'No greeting; no headings; no bullet points;'));
    const run = await runCliAsync(['gate'], repo, env);
    assert.equal(run.status, 0, run.stdout + run.stderr);
    assert.doesNotMatch(run.stdout, /release\//);
    assert.match(run.stdout, /^prompts\/summarisation\/v3: PASS/m);
  });

  it('warns when a released eval suite loses examples, without blocking', async () => {
    const suite = join(repo, SUMMARISATION_V2, 'eval.jsonl');
    const lines = readFileSync(suite, 'utf8').trimEnd().split('\n');
    writeFileSync(suite, `${lines.slice(0, -2).join('\n')}\n`);
    const run = await runCliAsync(['gate'], repo, env);
    assert.equal(run.status, 0, run.stdout + run.stderr);
    assert.match(run.stdout, /^prompts\/summarisation\/v2\/eval\.jsonl:1:1: warning release\/eval-shrank: the eval suite of released v2 lost 2 examples it had on main \("sum-007", "sum-008"\)/m);
    assert.match(run.stdout, /^check: 0 errors, 1 warning/m);
  });

  it('only warns under releasedVersions: warn, and the eval runs', async () => {
    writeFileSync(join(repo, 'prompt-ci.yaml'), `${readFileSync(join(repo, 'prompt-ci.yaml'), 'utf8')}${RELEASED_VERSIONS_WARN}`);
    harmlessEdit(repo);
    const run = await runCliAsync(['gate'], repo, env);
    assert.equal(run.status, 0, run.stdout + run.stderr);
    assert.match(run.stdout, /^prompts\/summarisation\/v2\/system\.md:\d+:\d+: warning release\/request-changed: .*releasedVersions: warn in prompt-ci\.yaml, so this does not block/m);
    assert.match(run.stdout, /^prompts\/summarisation\/v2: PASS/m);
  });
});
