import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { startStandIn } from '../support/standIn/server';
import type { StandIn } from '../support/standIn/server';
import { CLI } from './cliHarness';
import { SUMMARISATION_V2, git, gitEnv, harmlessEdit, makeGateRepo, runCliAsync } from './gateRepo';

const KEY = 'network-test-key';

/** A server that never answers: every call hangs until it is aborted. */
async function hungServer(): Promise<StandIn> {
  return startStandIn({ apiKey: KEY, behaviour: () => ({ kind: 'hang' }) });
}

describe('prompt-ci eval and gate against a hung API', function () {
  this.timeout(60_000);
  let repo: string;
  let standIn: StandIn;
  let env: Record<string, string>;
  beforeEach(async () => {
    repo = makeGateRepo();
    standIn = await hungServer();
    env = { ANTHROPIC_API_KEY: KEY, ANTHROPIC_BASE_URL: standIn.url };
  });
  afterEach(async () => {
    await standIn.close();
    rmSync(repo, { recursive: true, force: true });
  });

  it('eval --max-minutes stops the run when the time is up, says so, and reports what finished', async () => {
    const run = await runCliAsync(['eval', SUMMARISATION_V2, '--max-minutes', '0.02', '--no-cache'], repo, env);
    assert.equal(run.status, 1, run.stdout + run.stderr);
    assert.match(run.stderr, /^prompt-ci eval: stopped at --max-minutes 0\.02: the calls in flight were cancelled, nothing new was started; what finished is kept below/m);
    assert.match(run.stdout, /cancelled: 0 of \d+ examples finished; they and every cached response are kept/);
    assert.ok(standIn.requests.length > 0);
  });

  it('gate --max-minutes does the same for the gate: the unfinished prompt is inconclusive', async () => {
    harmlessEdit(repo);
    git(repo, 'commit', '-qam', 'Punctuation');
    const run = await runCliAsync(['gate', '--max-minutes', '0.02', '--no-cache'], repo, env);
    assert.equal(run.status, 1, run.stdout + run.stderr);
    assert.match(run.stderr, /^prompt-ci gate: stopped at --max-minutes 0\.02/m);
    assert.match(run.stdout, /INCONCLUSIVE/);
  });

  it('refuses a --max-minutes that is not a positive number', async () => {
    const run = await runCliAsync(['eval', SUMMARISATION_V2, '--max-minutes', 'soon'], repo, env);
    assert.equal(run.status, 2);
    assert.match(run.stderr, /--max-minutes must be a positive number of minutes \(at most a week\), not "soon"/);
  });

  it('Ctrl-C says what really happens: the calls in flight are cancelled, and what finished is reported', async () => {
    const child = spawn(process.execPath, [CLI, 'eval', SUMMARISATION_V2, '--no-cache'], { cwd: repo, env: { ...gitEnv(repo), ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
    const closed = new Promise<number | null>((resolve) => child.on('close', resolve));
    // Interrupt once the first calls are hanging at the server.
    while (standIn.requests.length === 0) await new Promise((r) => setTimeout(r, 20));
    child.kill('SIGINT');
    const status = await closed;
    assert.equal(status, 1, stdout + stderr);
    assert.doesNotMatch(stderr, /finishing what is in flight/);
    assert.match(stderr, /interrupted; cancelling the calls in flight \(the API may still bill those it had started\) and starting no more; what finished is kept and reported/);
    assert.match(stdout, /cancelled: 0 of \d+ examples finished/);
  });
});
