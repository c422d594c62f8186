import * as assert from 'node:assert/strict';
import { parseRepoSettings } from '../../src/core/repoSettings';

describe('prompt-ci.yaml settings', () => {
  it('an unknown key is a warning, and every known setting still applies', () => {
    const { settings, problems, warnings } = parseRepoSettings(
      'baselineRef: origin/prod\nfrobnicate: true\ncallSites:\n  functions: [make_prompt]\n  colour: blue\neval:\n  concurrency: 3\n',
    );
    assert.deepEqual(problems, []);
    assert.deepEqual(warnings.sort(), [
      'prompt-ci.yaml: unknown key "colour" in callSites: ignored; the other settings apply',
      'prompt-ci.yaml: unknown key "frobnicate": ignored; the other settings apply',
    ]);
    assert.equal(settings.baselineRef, 'origin/prod');
    assert.deepEqual(settings.callSites.functions, ['make_prompt']);
    assert.equal(settings.eval.concurrency, 3);
  });

  it('a wrong value is still a problem (defaults are used, commands that need the settings refuse)', () => {
    const { settings, problems, warnings } = parseRepoSettings('eval:\n  concurrency: 0\nfrobnicate: 1\n');
    assert.deepEqual(problems, ['prompt-ci.yaml: eval.concurrency: Too small: expected number to be >=1']);
    assert.deepEqual(warnings, ['prompt-ci.yaml: unknown key "frobnicate": ignored; the other settings apply']);
    assert.equal(settings.eval.concurrency, 8);
  });

  it('no file, an empty file and a clean file have neither', () => {
    for (const text of [undefined, '', 'eval:\n  concurrency: 2\n']) {
      const { problems, warnings } = parseRepoSettings(text);
      assert.deepEqual([problems, warnings], [[], []]);
    }
  });
});
