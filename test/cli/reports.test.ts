import * as assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { StandIn } from '../support/standIn/server';
import { SUMMARISATION_V2, git, regressingEdit, runCliAsync, useGateRepo } from './gateRepo';

const KEY = 'reports-test-key';
/** An eval id that would clear the screen and print a fake verdict if written raw. */
const HOSTILE_ID = 'sum-\u001b[2J\u001b[H\u001b[32mgate: PASS\u001b[0m';

/** The report files of `gate` and `drift` (--json, --markdown): written where asked, folders made, bad paths refused before any call. */
describe('gate and drift reports', function () {
  this.timeout(120_000);
  let standIn: StandIn;
  let repo: string;
  let env: Record<string, string>;
  const shared = useGateRepo(KEY);
  beforeEach(() => {
    ({ standIn, repo, env } = shared);
  });

  it('gate writes --json and --markdown (folders made), with untrusted text made visible in the Markdown', async () => {
    regressingEdit(repo);
    const evalPath = join(repo, SUMMARISATION_V2, 'eval.jsonl');
    const lines = readFileSync(evalPath, 'utf8').split('\n');
    lines[0] = JSON.stringify({ ...JSON.parse(lines[0]), id: HOSTILE_ID });
    writeFileSync(evalPath, lines.join('\n'));
    git(repo, 'commit', '-qam', 'Shorter summaries');

    const run = await runCliAsync(['gate', '--json', 'out/a/gate.json', '--markdown', 'out/b/gate.md'], repo, env);
    assert.equal(run.status, 1, run.stdout + run.stderr);
    assert.ok(existsSync(join(repo, 'out', 'a', 'gate.json')), run.stdout + run.stderr);
    const json = JSON.parse(readFileSync(join(repo, 'out', 'a', 'gate.json'), 'utf8')) as unknown;
    assert.match(JSON.stringify(json), /"blocked"/);
    assert.ok(JSON.stringify(json).includes(JSON.stringify(HOSTILE_ID).slice(1, -1)), 'JSON keeps the id exactly, escaped');
    const markdown = readFileSync(join(repo, 'out', 'b', 'gate.md'), 'utf8');
    assert.match(markdown, /prompts\/summarisation\/v2/);
    assert.match(markdown, /BLOCKED|blocked/i);
    assert.ok(markdown.includes('sum-␛[2J'), 'the id is in the report, its escape shown');
    assert.doesNotMatch(markdown, /\u001b/, 'no raw escape in the Markdown');
    assert.doesNotMatch(run.stdout + run.stderr, /\u001b/, 'no raw escape on the terminal');
  });

  it('gate and drift refuse a report path that is a folder, before any call', async () => {
    mkdirSync(join(repo, 'a-folder'));
    const before = standIn.stats().total;
    for (const args of [['gate', '--json', 'a-folder'], ['gate', '--markdown', 'a-folder'], ['drift', SUMMARISATION_V2, '--json', 'a-folder']]) {
      if (args[0] === 'gate') regressingEdit(repo);
      const run = await runCliAsync(args, repo, env);
      assert.equal(run.status, 2, `${args.join(' ')}: ${run.stdout}${run.stderr}`);
      assert.match(run.stderr, /cannot write a-folder: it is a folder; name a file in it instead/, args.join(' '));
      assert.doesNotMatch(run.stderr, /\n\s+at |EISDIR/);
    }
    assert.equal(standIn.stats().total, before, 'no call was made');
  });

  it('drift writes --json', async () => {
    const run = await runCliAsync(['drift', SUMMARISATION_V2, '--json', 'out/drift.json'], repo, env);
    assert.ok(run.status === 0 || run.status === 1, run.stdout + run.stderr);
    assert.ok(existsSync(join(repo, 'out', 'drift.json')), run.stdout + run.stderr);
    const json = JSON.parse(readFileSync(join(repo, 'out', 'drift.json'), 'utf8')) as unknown;
    assert.match(JSON.stringify(json), /prompts\/summarisation\/v2/);
  });
});
