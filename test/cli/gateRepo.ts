import { execFileSync, spawn } from 'node:child_process';
import { appendFileSync, cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { renderTemplate } from '../../src/core/template/template';
import { startStandIn } from '../support/standIn/server';
import { demoAnswer } from '../support/standIn/demoAnswers';
import type { StandIn } from '../support/standIn/server';
import { CLI } from './cliHarness';
import type { CliRun } from './cliHarness';

/** The example workspace shipped with the project. */
export const EXAMPLES = join(__dirname, '..', '..', 'examples');

/** The prompt version the gate tests edit. */
export const SUMMARISATION_V2 = 'prompts/summarisation/v2';

/** Examples kept in the edited prompt's eval set: enough for McNemar to see a regression, few enough to be quick. */
export const EVAL_EXAMPLES = 8;

/** The line of the gate repository's prompt-ci.yaml that lets edits of released versions through. */
export const RELEASED_VERSIONS_WARN = 'releasedVersions: warn\n';

/** An environment for git with no user or system configuration leaking in (hooksPath, signing, aliases). */
export function gitEnv(home: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '',
    HOME: home,
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_AUTHOR_NAME: 'Prompt CI test',
    GIT_AUTHOR_EMAIL: 'test@example.com',
    GIT_COMMITTER_NAME: 'Prompt CI test',
    GIT_COMMITTER_EMAIL: 'test@example.com',
    ...extra,
  };
}

/** Runs git in `cwd` and returns its stdout. */
export function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, { cwd, env: gitEnv(cwd), encoding: 'utf8' });
}

/**
 * The eval set of summarisation v2, cut to its first examples, with references set to what the
 * deterministic stand-in answers for the v2 prompt as committed: the baseline then scores every
 * example correct, and any edit that changes the answers shows up as a regression.
 */
function standInEvalSet(dir: string): string {
  const metadataModel = /^model:\s*(\S+)/m.exec(readFileSync(join(dir, 'metadata.yaml'), 'utf8'))?.[1] ?? 'claude-sonnet-4-6';
  const system = readFileSync(join(dir, 'system.md'), 'utf8');
  const template = readFileSync(join(dir, 'user.template.md'), 'utf8');
  const lines = readFileSync(join(dir, 'eval.jsonl'), 'utf8').split('\n').filter((l) => l.trim() !== '').slice(0, EVAL_EXAMPLES);
  return lines
    .map((line) => {
      const example = JSON.parse(line) as { inputs: Record<string, unknown>; reference: string };
      const user = renderTemplate(template, example.inputs, 'python');
      example.reference = demoAnswer({ model: metadataModel, max_tokens: 800, system, messages: [{ role: 'user', content: user }] });
      return JSON.stringify(example);
    })
    .join('\n')
    .concat('\n');
}

/**
 * A git repository in a temporary folder holding a copy of the example workspace: `main` with one
 * commit, and a `feature` branch checked out on top of it. Summarisation v2's eval set is cut to
 * {@link EVAL_EXAMPLES} examples the stand-in answers correctly.
 */
export function makeGateRepo(): string {
  const root = mkdtempSync(join(tmpdir(), 'prompt-ci-gate-'));
  cpSync(EXAMPLES, root, { recursive: true, filter: (src) => !/[\\/](node_modules|\.prompt-ci)$/.test(src) });
  const v2 = join(root, SUMMARISATION_V2);
  writeFileSync(join(v2, 'eval.jsonl'), standInEvalSet(v2));
  // These tests measure the eval gate on edits of v2 in place, and v2 is on main (released): such
  // edits are reported without blocking. The released-version tests take this line out.
  appendFileSync(join(root, 'prompt-ci.yaml'), `\n${RELEASED_VERSIONS_WARN}`);
  git(root, 'init', '-q', '-b', 'main');
  git(root, 'add', '-A');
  git(root, 'commit', '-q', '-m', 'Prompts as in production');
  git(root, 'checkout', '-q', '-b', 'feature');
  return root;
}

/** An edit of summarisation v2's system prompt that changes nothing the stand-in does (punctuation only). */
export function harmlessEdit(root: string): void {
  const path = join(root, SUMMARISATION_V2, 'system.md');
  const text = readFileSync(path, 'utf8');
  const edited = text.replace('No greeting, no headings, no bullet points,', 'No greeting; no headings; no bullet points;');
  if (edited === text) throw new Error('the harmless edit no longer applies to the example system prompt');
  writeFileSync(path, edited);
}

/** An edit that makes summarisation v2 worse: a word limit, which the stand-in obeys, cuts every summary to two words. */
export function regressingEdit(root: string): void {
  const path = join(root, SUMMARISATION_V2, 'system.md');
  writeFileSync(path, `${readFileSync(path, 'utf8').trimEnd()}\n- Keep the whole reply under 2 words.\n`);
}

/** Runs the built CLI without blocking the event loop (the tests' stand-in answers on it). */
export function runCliAsync(args: string[], cwd: string, env: Record<string, string> = {}): Promise<CliRun & { ms: number }> {
  return runAsync(process.execPath, [CLI, ...args], cwd, { ...gitEnv(cwd), ...env });
}

/** Runs a process without blocking the event loop; resolves with what it printed and its exit code. */
export function runAsync(command: string, args: string[], cwd: string, env: Record<string, string>): Promise<CliRun & { ms: number }> {
  const started = process.hrtime.bigint();
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr, ms: Number(process.hrtime.bigint() - started) / 1e6 }));
  });
}

/** What `useGateRepo` gives each test: a fresh gate repository and the environment pointing at the stand-in. */
export interface GateRepoContext {
  standIn: StandIn;
  repo: string;
  env: Record<string, string>;
}

/**
 * Mocha hooks shared by the gate, drift and hook tests: one stand-in for the suite, a fresh gate
 * repository per test (removed after it), and an environment with the stand-in's URL and key.
 */
export function useGateRepo(key: string): GateRepoContext {
  const context = {} as GateRepoContext;
  before(async () => {
    context.standIn = await startStandIn({ port: 0, apiKey: key, latencyMs: 0 });
  });
  after(async () => {
    await context.standIn.close();
  });
  beforeEach(() => {
    context.repo = makeGateRepo();
    context.env = { ANTHROPIC_API_KEY: key, ANTHROPIC_BASE_URL: context.standIn.url };
  });
  afterEach(() => {
    rmSync(context.repo, { recursive: true, force: true });
  });
  return context;
}
