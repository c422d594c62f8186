import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';
import type * as RuntimeModule from '../../src/runtime';
import type { StandIn } from '../support/standIn/server';
import { startStandIn } from '../support/standIn/server';
import { runAsync, runCliAsync } from './gateRepo';

/*
 * The demo that `npm start` opens, end to end: examples/ as a git repository with summarisation v2
 * on a branch, its service app/ given its packages the way start gives them (prompt-ci/runtime is the
 * built dist/runtime.js), the embedded PGlite control plane migrated, the stand-in API on loopback
 * reached through @anthropic-ai/sdk. The traffic script runs as its own process while the CLI changes
 * the rollout; what it printed, the spans file it wrote and the audit intervals are checked.
 */

/** One request the traffic script reported (`--json`). */
interface Served {
  round: number;
  at: string;
  tenantId: string;
  tier: string;
  requestId: string;
  version: number;
  reason: string;
  sharePercent: number | null;
  spanId: string | null;
}

const TENANTS = 200;

/** A module of test/harness/ (ES modules that scripts/start.mjs shares). */
const harness = (file: string): Promise<unknown> => import(pathToFileURL(join(__dirname, '..', 'harness', file)).href);

describe('the demo: examples/app traffic through the built runtime', function () {
  this.timeout(900_000);
  let tmp: string;
  let workspace: string;
  let standIn: StandIn;
  let traffic: ChildProcessWithoutNullStreams | undefined;

  before(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'prompt-ci-demo-'));
    const { prepareGitWorkspace } = (await harness('fixtureRepos.mjs')) as { prepareGitWorkspace(from: string, to: string, options: object): string };
    const { linkDemoApp, prepareDemoControlPlane } = (await harness('demoApp.mjs')) as { linkDemoApp(dir: string): string; prepareDemoControlPlane(dir: string): void };
    const source = join(tmp, 'source');
    cpSync(join(__dirname, '..', '..', 'examples'), source, { recursive: true, filter: (p) => !p.startsWith(join(__dirname, '..', '..', 'examples', 'broken')) });
    workspace = join(tmp, 'examples');
    // As scripts/start.mjs prepares it.
    prepareGitWorkspace(source, workspace, { featureBranch: { name: 'improve-summaries', paths: ['prompts/summarisation/v2'] } });
    linkDemoApp(workspace);
    prepareDemoControlPlane(workspace);
    standIn = await startStandIn({ apiKey: 'demo-key' });
  });

  after(async () => {
    if (traffic && traffic.exitCode === null) traffic.kill('SIGKILL');
    await standIn?.close();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it("type-checks against the package's own declarations (dist/types)", async () => {
    const tsc = await runAsync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', 'app/tsconfig.json'], workspace, { PATH: process.env.PATH ?? '' });
    assert.equal(tsc.status, 0, tsc.stdout + tsc.stderr);
  });

  it('serves 10% of tenants v2 in a rollout, holds a pin, returns everyone on a rollback; the spans replay; versionAt answers for the past', async () => {
    const env = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', PROMPT_CI_ACTOR: 'oncall@helpdesk.example' };
    const cli = async (...args: string[]) => {
      const run = await runCliAsync(args, workspace, env);
      assert.equal(run.status, 0, `prompt-ci ${args.join(' ')}: ${run.stdout}${run.stderr}`);
    };
    const appDir = join(workspace, 'app');
    // `npm run traffic`'s command, through the links start makes (app/node_modules/.bin/tsx).
    traffic = spawn(join(appDir, 'node_modules', '.bin', 'tsx'), ['traffic.ts', '--tenants', String(TENANTS), '--interval', '200', '--json'], {
      cwd: appDir,
      env: { ...env, ANTHROPIC_BASE_URL: standIn.url, ANTHROPIC_API_KEY: 'demo-key' },
    });
    let stderr = '';
    traffic.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
    const exited = new Promise<number | null>((resolve) => traffic!.once('exit', (code) => resolve(code)));

    // Complete rounds as the script prints them; `roundWhere` resolves with the first new one that matches.
    const rounds: Served[][] = [];
    let current: Served[] = [];
    const waiters: { match: (round: Served[]) => boolean; resolve: (round: Served[]) => void }[] = [];
    createInterface({ input: traffic.stdout }).on('line', (line) => {
      const served = JSON.parse(line) as Served;
      current.push(served);
      if (current.length < TENANTS) return;
      rounds.push(current);
      current = [];
      for (const w of [...waiters]) {
        if (w.match(rounds[rounds.length - 1])) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(rounds[rounds.length - 1]);
        }
      }
    });
    const roundWhere = (what: string, match: (round: Served[]) => boolean) =>
      Promise.race([
        new Promise<Served[]>((resolve) => waiters.push({ match, resolve })),
        exited.then((code) => {
          throw new Error(`the traffic script exited (${code}) before a round where ${what}; stderr: ${stderr.slice(-2000)}`);
        }),
      ]);
    const byTenant = (round: Served[]) => new Map(round.map((s) => [s.tenantId, s]));

    const production = await roundWhere('every tenant gets v1', (r) => r.every((s) => s.version === 1));
    assert.ok(production.every((s) => s.reason === 'rollout' && s.sharePercent === 100));

    await cli('rollout', 'summarisation', '2', '--share', '10', '--force', '--reason', 'soak v2');
    const rolledOut = await roundWhere('v2 has its 10%', (r) => r.some((s) => s.version === 2));
    const onV2 = rolledOut.filter((s) => s.version === 2).map((s) => s.tenantId);
    // 10% of 200 tenants, within three standard deviations of the binomial (20 ± 12.7).
    assert.ok(onV2.length >= 8 && onV2.length <= 32, `${onV2.length} of ${TENANTS} tenants on v2`);
    assert.ok(rolledOut.every((s) => s.reason === 'rollout' && s.sharePercent === (s.version === 2 ? 10 : 90)));
    // Sticky: the next round serves each tenant the version it had.
    const next = await roundWhere('the round after the rollout', () => true);
    const during = next[0].at;
    assert.deepEqual(next.filter((s) => s.version === 2).map((s) => s.tenantId), onV2);

    const pinned = rolledOut.find((s) => s.version === 1)!.tenantId;
    await cli('pin', pinned, 'summarisation', '2', '--reason', 'wants the action items line');
    const withPin = await roundWhere(`${pinned} is pinned`, (r) => byTenant(r).get(pinned)!.reason === 'pin');
    assert.equal(byTenant(withPin).get(pinned)!.version, 2);
    assert.deepEqual(withPin.filter((s) => s.reason === 'rollout' && s.version === 2).map((s) => s.tenantId), onV2);
    const pinHeld = await roundWhere('the pin holds', () => true);
    const whilePinned = pinHeld[0].at;
    assert.equal(byTenant(pinHeld).get(pinned)!.version, 2);

    await cli('rollback', 'summarisation', '--reason', 'action items line is wrong');
    const rolledBack = await roundWhere('the rollback is served', (r) => r.every((s) => s.reason === 'rollback'));
    assert.ok(rolledBack.every((s) => s.version === 1), 'every tenant, the pinned one too, is back on v1');
    const afterRollback = (await roundWhere('the round after the rollback', () => true))[0].at;

    traffic.kill('SIGTERM');
    assert.equal(await exited, 0, stderr);

    // Every request printed has its span in the file, one OTLP/JSON export per line.
    const printed = rounds.flat();
    const lines = readFileSync(join(appDir, 'spans.jsonl'), 'utf8').trimEnd().split('\n');
    assert.ok(lines.length >= printed.length);
    const spanIds = new Set(lines.map((l) => (JSON.parse(l) as { resourceSpans: { scopeSpans: { spans: { spanId: string }[] }[] }[] }).resourceSpans[0].scopeSpans[0].spans[0].spanId));
    assert.ok(printed.every((s) => s.spanId !== null && spanIds.has(s.spanId)));

    // A v2 span replays from the file to the exact request the stand-in received.
    const v2Request = rolledOut.find((s) => s.version === 2)!;
    const replay = await runCliAsync(['replay', 'app/spans.jsonl', '--span-id', v2Request.spanId!, '--json'], workspace, env);
    assert.equal(replay.status, 0, replay.stdout + replay.stderr);
    const replayed = JSON.parse(replay.stdout) as { span: { promptVersion: number; tenantId: string; requestId: string }; verdict: { kind: string }; request: Record<string, unknown> };
    assert.deepEqual([replayed.span.promptVersion, replayed.span.tenantId, replayed.span.requestId], [2, v2Request.tenantId, v2Request.requestId]);
    assert.equal(replayed.verdict.kind, 'match');
    const sent = standIn.requests.filter((r) => Object.keys(replayed.request).every((k) => JSON.stringify(r.body[k]) === JSON.stringify(replayed.request[k])));
    assert.ok(sent.length > 0, 'the stand-in received the replayed request');
    assert.deepEqual(Object.keys(sent[0].body).filter((k) => k !== 'stream').sort(), Object.keys(replayed.request).sort());

    // versionAt, from the audit intervals the traffic script's runtime wrote.
    // The app's `prompt-ci/runtime`: the package's export of the built dist/runtime.js.
    const { createPromptRuntime } = (await import(pathToFileURL(require.resolve('prompt-ci/runtime', { paths: [appDir] })).href)) as typeof RuntimeModule;
    const runtime = await createPromptRuntime({ prompts: join(workspace, 'prompts'), audit: false, log: () => undefined });
    try {
      const at = async (tenant: string, time: string) => (await runtime.versionAt(tenant, 'summarisation', new Date(time))).map((a) => `v${a.version} ${a.reason}`);
      assert.deepEqual(await at(onV2[0], during), ['v2 rollout']);
      assert.deepEqual(await at(pinned, during), ['v1 rollout']);
      assert.deepEqual(await at(pinned, whilePinned), ['v2 pin']);
      assert.deepEqual(await at(onV2[0], afterRollback), ['v1 rollback']);
    } finally {
      await runtime.close();
    }
  });
});
