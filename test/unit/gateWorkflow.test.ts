import * as assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { DRIFT_USAGE } from '../../src/cli/driftCommand';
import { GATE_USAGE } from '../../src/cli/gateCommand';

const root = join(__dirname, '..', '..');

interface Step {
  run?: string;
  uses?: string;
  with?: Record<string, unknown>;
}

/** The `--flags` of a usage line. */
function flagsOf(usage: string): Set<string> {
  return new Set(usage.match(/--[a-z-]+/g) ?? []);
}

describe('the CI workflow template', () => {
  const workflow = parse(readFileSync(join(root, 'examples', '.github', 'workflows', 'prompt-ci.yml'), 'utf8')) as {
    on: Record<string, unknown>;
    jobs: Record<string, { steps: Step[]; permissions?: Record<string, string> }>;
  };
  const runs = Object.values(workflow.jobs).flatMap((job) => job.steps.map((s) => s.run ?? '')).join('\n');

  it('gates pull requests and checks drift on a schedule', () => {
    assert.ok('pull_request' in workflow.on);
    assert.ok('schedule' in workflow.on);
    assert.match(runs, /prompt-ci@\$PROMPT_CI_VERSION" gate /);
    assert.match(runs, /prompt-ci@\$PROMPT_CI_VERSION" drift /);
    assert.equal(workflow.jobs.gate.permissions?.['pull-requests'], 'write');
  });

  it('checks out the history the merge-base needs', () => {
    const checkout = workflow.jobs.gate.steps.find((s) => s.uses?.startsWith('actions/checkout@'));
    assert.equal(checkout?.with?.['fetch-depth'], 0);
  });

  it('uses only flags the commands accept', () => {
    const command = (name: string): string[] => {
      const match = new RegExp(`" ${name} ([^\\n]*(?:\\\\\\n[^\\n]*)*)`).exec(runs);
      assert.ok(match, `no ${name} command`);
      return match[1].match(/--[a-z-]+/g) ?? [];
    };
    const gateFlags = flagsOf(GATE_USAGE);
    for (const flag of [...command('gate'), '--offline']) assert.ok(gateFlags.has(flag), `gate has no ${flag}`);
    const driftFlags = flagsOf(DRIFT_USAGE);
    for (const flag of command('drift')) assert.ok(driftFlags.has(flag), `drift has no ${flag}`);
  });
});
