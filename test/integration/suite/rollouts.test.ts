import * as assert from 'assert';
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import * as vscode from 'vscode';
import type { PromptStatus } from '../../../src/core/runtime/rolloutStatus';
import { openControlSession } from '../../../src/node/controlPlane/session';
import type { TestPostgres } from '../../support/postgres';
import { startTestPostgres } from '../../support/postgres';
import { screenshotNow } from './index';

/*
 * The Rollouts view and its actions inside a real VS Code, against the embedded PGlite store of the
 * fixture repository and against a throwaway Postgres server. A demo v2 is made for the suite (the
 * fixture has only v1) and removed after it.
 */

type ViewState = { statuses: PromptStatus[]; connected: boolean; description: string | undefined; confirmation?: string };

const root = (): string => {
  const folder = vscode.workspace.workspaceFolders?.[0];
  assert.ok(folder, 'the fixture workspace is open');
  return folder.uri.fsPath;
};

const run = async (command: string, args?: unknown): Promise<ViewState> => {
  const state = (await vscode.commands.executeCommand(command, args)) as ViewState | undefined;
  assert.ok(state, `${command} failed (see the Prompt CI output)`);
  return state;
};

const demo = (state: ViewState): PromptStatus => {
  const status = state.statuses.find((s) => s.prompt === 'demo');
  assert.ok(status, `demo is listed: ${state.statuses.map((s) => s.prompt).join(', ')}`);
  return status;
};

const shares = (state: ViewState): string => demo(state).versions.map((v) => `v${v.version} ${v.share}`).join(' · ');

/**
 * A screenshot of what the view shows now. The screenshot blocks the extension host, which answers
 * the tree's requests for rows: the tree gets a moment to fetch and draw the rows first.
 */
async function screenshotView(title: string): Promise<void> {
  await vscode.commands.executeCommand('promptCi.rollouts.focus');
  await new Promise((resolve) => setTimeout(resolve, 1500));
  screenshotNow(title);
}

/** The whole loop of the view: start, change, pin, see a change made elsewhere, roll back, unpin. */
async function exerciseRollouts(label: string): Promise<void> {
  // v1 serves with no rollout recorded: giving it all the traffic asks nothing.
  let state = await run('promptCi.rollouts.start', { prompt: 'demo', version: 1, share: '100', reason: 'baseline' });
  assert.strictEqual(shares(state), 'v1 100% · v2 0%');
  assert.strictEqual(state.confirmation, undefined, 'no confirmation for the version production serves');
  // The gate has not passed v2 (no line of it in history.jsonl): the rollout asks first. Under test
  // VS Code refuses the modal, so the action fails and nothing changes.
  const asked = await vscode.commands.executeCommand('promptCi.rollouts.start', { prompt: 'demo', version: 2, share: '10', excludedTiers: ['enterprise'], reason: 'soak v2' });
  assert.strictEqual(asked, undefined, 'the rollout waited for the modal');
  assert.strictEqual(shares(await run('promptCi.rollouts.refresh', { reconnect: false })), 'v1 100% · v2 0%', 'nothing rolled out without the confirmation');
  state = await run('promptCi.rollouts.start', { prompt: 'demo', version: 2, share: '10', excludedTiers: ['enterprise'], reason: 'soak v2', confirmed: true });
  assert.strictEqual(shares(state), 'v1 90% · v2 10%');
  assert.strictEqual(
    state.confirmation,
    'The gate has not passed demo v2: .prompt-ci/history.jsonl has no passing run of it (run `prompt-ci gate`). Roll out demo v2 to 10% of demo anyway?',
  );
  const v2 = demo(state).versions[1];
  assert.deepStrictEqual(v2.excludedTiers, ['enterprise']);
  assert.ok(v2.soakMs !== null && v2.soakMs >= 0, 'v2 is soaking');
  assert.strictEqual(v2.bar, '█░░░░░░░░░');

  const expires = new Date(Date.now() + 3 * 86_400_000).toISOString();
  state = await run('promptCi.rollouts.pin', { prompt: 'demo', version: 2, tenantId: 'acme', expires, reason: 'early access' });
  assert.deepStrictEqual(
    demo(state).versions[1].pins.map((p) => [p.tenantId, p.state]),
    [['acme', 'expiring']],
  );

  // A change made by another process (here another connection) reaches the view by itself.
  const other = await openControlSession({ repoRoot: root(), env: process.env });
  try {
    await other.store.rollout({ prompt: 'demo', version: 2, basisPoints: 2500, knownVersions: [1, 2] }, { actor: 'ops@example.com', reason: 'from the CLI' });
  } finally {
    await other.close();
  }
  // The view has no event a test can reach; its state is polled until the change shows (15 s at most).
  const deadline = Date.now() + 15_000;
  for (state = await run('promptCi.rollouts.refresh', { reconnect: false }); shares(state) !== 'v1 75% · v2 25%'; state = await run('promptCi.rollouts.refresh', { reconnect: false })) {
    assert.ok(Date.now() < deadline, `the view did not pick up the change made elsewhere: ${shares(state)}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  await screenshotView(`rollouts ${label} soak`);

  state = await run('promptCi.rollouts.rollback', { prompt: 'demo', confirmed: true, reason: 'v2 answers worse' });
  assert.strictEqual(shares(state), 'v1 100% · v2 0%');
  assert.strictEqual(demo(state).rollback?.version, 1);
  await screenshotView(`rollouts ${label} rolled back`);

  state = await run('promptCi.rollouts.unpin', { prompt: 'demo', tenantId: 'acme' });
  assert.deepStrictEqual(demo(state).versions.flatMap((v) => v.pins), []);

  // Promote v2, which has no traffic since the rollback and no passing gate: the modal lists both holds.
  state = await run('promptCi.rollouts.promote', { prompt: 'demo', version: 2, reason: 'promoted anyway', confirmed: true });
  assert.strictEqual(shares(state), 'v1 0% · v2 100%');
  assert.strictEqual(
    state.confirmation,
    'Demo v2 has no traffic yet, so it has not soaked: roll it out first (`prompt-ci rollout demo 2 --share 5`). ' +
      'The gate has not passed demo v2: .prompt-ci/history.jsonl has no passing run of it (run `prompt-ci gate`). ' +
      'Promote demo v2 to 100% of demo anyway?',
  );
}

describe('Rollouts view', function () {
  this.timeout(120_000);
  const v2 = (): string => path.join(root(), 'prompts', 'demo', 'v2');

  before(async () => {
    await vscode.extensions.getExtension('prompt-ci.prompt-ci')?.activate();
    fs.cpSync(path.join(root(), 'prompts', 'demo', 'v1'), v2(), { recursive: true });
    const metadata = path.join(v2(), 'metadata.yaml');
    fs.writeFileSync(metadata, fs.readFileSync(metadata, 'utf8').replace(/^version: 1$/m, 'version: 2'));
  });

  after(async () => {
    fs.rmSync(v2(), { recursive: true, force: true });
    delete process.env.PROMPT_CI_DATABASE_URL;
    await vscode.commands.executeCommand('promptCi.rollouts.refresh');
  });

  it('is contributed in the Prompt CI view container with its actions', async () => {
    const commands = await vscode.commands.getCommands(true);
    for (const id of ['promptCi.rollouts.focus', 'promptCi.rollouts.start', 'promptCi.rollouts.promote', 'promptCi.rollouts.rollback', 'promptCi.rollouts.pin', 'promptCi.rollouts.unpin']) {
      assert.ok(commands.includes(id), id);
    }
  });

  it('starts a 10% rollout, pins a tenant, follows changes made elsewhere and rolls back, on the embedded store', async () => {
    const state = await run('promptCi.rollouts.refresh');
    assert.ok(state.connected, 'connected');
    assert.match(state.description ?? '', /^the embedded store in .+\.prompt-ci\/control$/);
    await exerciseRollouts('pglite');
  });

  it('refuses what the control plane refuses, with its message', async () => {
    const refused = await vscode.commands.executeCommand('promptCi.rollouts.start', { prompt: 'demo', version: 9, share: '10' });
    assert.strictEqual(refused, undefined, 'an unknown version is refused');
  });

  it('answers which version a tenant got a minute ago, opening that version at its commit with the intervals', async () => {
    const session = await openControlSession({ repoRoot: root(), env: process.env });
    const now = Date.now();
    try {
      await session.store.recordServed([
        { tenantId: 'globex', prompt: 'demo', version: 1, reason: 'rollout', basisPoints: 9000, firstAt: new Date(now - 10 * 60_000), lastAt: new Date(now - 30_000) },
      ]);
    } finally {
      await session.close();
    }
    const answer = (await vscode.commands.executeCommand('promptCi.whichVersion', { tenantId: 'globex', prompt: 'demo', at: '1 min ago', version: 1 })) as
      | { intervals: Array<{ version: number; reason: string }>; atTime: Array<{ version: number }>; opened: string[] }
      | undefined;
    assert.ok(answer, 'answered');
    assert.deepStrictEqual(answer.atTime.map((i) => i.version), [1]);
    assert.strictEqual(answer.intervals[0].reason, 'rollout');
    assert.ok(answer.opened.some((u) => u.startsWith('prompt-ci-git:') && u.includes('prompts/demo/v1/system.md')), answer.opened.join(', '));
    const doc = vscode.workspace.textDocuments.find((d) => d.uri.scheme === 'prompt-ci-git' && d.uri.path.endsWith('prompts/demo/v1/system.md'));
    assert.ok(doc, 'the system prompt of v1 at its commit is open');
    assert.strictEqual(doc.getText(), fs.readFileSync(path.join(root(), 'prompts', 'demo', 'v1', 'system.md'), 'utf8'));
  });

  it('finds a version served from a branch (not on main) in the checkout\'s history', async () => {
    const git = (...args: string[]): string => execFileSync('git', args, { cwd: root(), encoding: 'utf8', env: { ...process.env, GIT_OPTIONAL_LOCKS: '0' } }).trim();
    const v3 = path.join(root(), 'prompts', 'demo', 'v3');
    const branch = git('rev-parse', '--abbrev-ref', 'HEAD');
    fs.cpSync(path.join(root(), 'prompts', 'demo', 'v1'), v3, { recursive: true });
    fs.writeFileSync(path.join(v3, 'metadata.yaml'), fs.readFileSync(path.join(v3, 'metadata.yaml'), 'utf8').replace(/^version: 1$/m, 'version: 3'));
    fs.writeFileSync(path.join(v3, 'system.md'), 'You answer as demo v3, soaking on its branch.\n');
    git('checkout', '--quiet', '-b', 'soak-v3');
    try {
      git('add', '--', 'prompts/demo/v3');
      git('-c', 'user.name=Test', '-c', 'user.email=test@example.com', 'commit', '--quiet', '--no-verify', '-m', 'demo v3');
      const commit = git('rev-parse', 'HEAD');
      assert.strictEqual(git('ls-tree', '--name-only', branch, 'prompts/demo/'), 'prompts/demo/v1', `${branch} does not have v3`);
      const session = await openControlSession({ repoRoot: root(), env: process.env });
      const now = Date.now();
      try {
        await session.store.recordServed([
          { tenantId: 'initech', prompt: 'demo', version: 3, reason: 'pin', basisPoints: null, firstAt: new Date(now - 5 * 60_000), lastAt: new Date(now - 20_000) },
        ]);
      } finally {
        await session.close();
      }
      const answer = (await vscode.commands.executeCommand('promptCi.whichVersion', { tenantId: 'initech', prompt: 'demo', at: '1 min ago', version: 3 })) as
        | { atTime: Array<{ version: number }>; opened: string[] }
        | undefined;
      assert.ok(answer, 'answered');
      assert.deepStrictEqual(answer.atTime.map((i) => i.version), [3]);
      const system = answer.opened.find((u) => u.includes('prompts/demo/v3/system.md'));
      assert.ok(system, answer.opened.join(', '));
      assert.ok(system.includes(commit), `opened at the branch's commit ${commit}: ${system}`);
      const doc = vscode.workspace.textDocuments.find((d) => d.uri.toString() === system);
      assert.ok(doc, 'the system prompt of v3 at its commit is open');
      assert.strictEqual(doc.getText(), 'You answer as demo v3, soaking on its branch.\n');
    } finally {
      await vscode.commands.executeCommand('workbench.action.closeAllEditors');
      git('checkout', '--quiet', branch);
      git('branch', '--quiet', '-D', 'soak-v3');
      fs.rmSync(v3, { recursive: true, force: true });
    }
  });

  describe('against a Postgres server', () => {
    let server: TestPostgres | undefined;
    before(async () => {
      server = await startTestPostgres();
    });
    after(() => server?.stop());

    it('does the same through PROMPT_CI_DATABASE_URL, and says when the server is down', async () => {
      assert.ok(server);
      const url = server.createDatabase('rollouts_view');
      const migrated = await import('../../../src/node/controlPlane/driver').then((m) => m.connectPostgres(url));
      try {
        await (await import('../../../src/node/controlPlane/migrate')).migrate(migrated);
      } finally {
        await migrated.close();
      }
      process.env.PROMPT_CI_DATABASE_URL = url;
      const state = await run('promptCi.rollouts.refresh');
      assert.ok(state.connected, 'connected to the server');
      assert.match(state.description ?? '', /PROMPT_CI_DATABASE_URL/);
      await exerciseRollouts('postgres');

      server.stopServer();
      try {
        const down = await run('promptCi.rollouts.refresh');
        assert.strictEqual(down.connected, false, 'not connected while the server is down');
        await screenshotView('rollouts postgres down');
      } finally {
        server.startServer();
      }
    });
  });
});
