import * as assert from 'node:assert/strict';
import {
  MAX_VERSION,
  PROMPT_FILE_NAMES,
  comparePromptNames,
  discoverPrompts,
  fieldOfPromptFile,
  isPromptFileName,
  promptVersionDir,
  promptVersionOfPath,
  versionDirOf,
  versionNumbersIn,
  versionOfDirName,
} from '../../src/core/promptLayout';

describe('discoverPrompts', () => {
  it('finds every version with what it holds and what it lacks', () => {
    const layout = discoverPrompts([
      'prompts/summarisation/v1/system.md',
      'prompts/summarisation/v1/user.template.md',
      'prompts/summarisation/v1/eval.jsonl',
      'prompts/summarisation/v1/metadata.yaml',
      'prompts/summarisation/v10/metadata.yaml',
      'prompts/summarisation/v2/metadata.yaml',
      'prompts/summarisation/v2/judge.md',
      'prompts/summarisation/README.md',
      'prompts/classification/v1/system.md',
      'src/app.py',
    ]);
    assert.deepEqual(
      layout.versions.map((v) => [v.dir, v.version, v.missing.length]),
      [
        ['prompts/classification/v1', 1, 3],
        ['prompts/summarisation/v1', 1, 0],
        ['prompts/summarisation/v2', 2, 3],
        ['prompts/summarisation/v10', 10, 3],
      ],
    );
    assert.equal(layout.versions[2].files['judge.md'], 'prompts/summarisation/v2/judge.md');
    assert.deepEqual(layout.versions[0].missing, ['user.template.md', 'eval.jsonl', 'metadata.yaml']);
    const missing = layout.findings.filter((f) => f.file === 'prompts/classification/v1');
    assert.deepEqual(missing.map((f) => f.code), ['layout/missing-file', 'layout/missing-file', 'layout/missing-file']);
    assert.ok(missing.every((f) => f.severity === 'error'));
  });

  it('refuses version numbers beyond the safe integer range, once per directory', () => {
    const layout = discoverPrompts([
      'prompts/ok/v99999999999999999999/system.md',
      'prompts/ok/v99999999999999999999/metadata.yaml',
      'prompts/ok/v9007199254740991/system.md',
      'prompts/ok/v9007199254740992/system.md',
    ]);
    assert.deepEqual(layout.versions.map((v) => [v.dir, v.version]), [['prompts/ok/v9007199254740991', MAX_VERSION]]);
    const tooLarge = layout.findings.filter((f) => f.code === 'layout/version-too-large');
    assert.deepEqual(tooLarge.map((f) => [f.file, f.severity]), [
      ['prompts/ok/v99999999999999999999', 'error'],
      ['prompts/ok/v9007199254740992', 'error'],
    ]);
    assert.equal(tooLarge[0].message, '"v99999999999999999999" is beyond the largest version number, 9007199254740991; Prompt CI ignores it: renumber it');
    assert.ok(!layout.findings.some((f) => f.message.includes('100000000000000000000')));
    assert.equal(versionOfDirName('v99999999999999999999'), undefined);
    assert.equal(versionOfDirName('v12'), 12);
    assert.equal(versionDirOf('prompts/ok/v99999999999999999999/eval.jsonl'), undefined);
  });

  it('reports bad prompt names once, and ignores non-version directories with a warning', () => {
    const layout = discoverPrompts([
      'prompts/Summary/v1/system.md',
      'prompts/Summary/v1/metadata.yaml',
      'prompts/-x/v1/system.md',
      'prompts/ok/v0/system.md',
      'prompts/ok/v01/system.md',
      'prompts/ok/latest/system.md',
    ]);
    assert.deepEqual(layout.versions, []);
    assert.deepEqual(
      layout.findings.map((f) => `${f.file} ${f.severity} ${f.code}`),
      [
        'prompts/Summary error layout/invalid-name',
        'prompts/-x error layout/invalid-name',
        'prompts/ok/v0 warning layout/invalid-version-dir',
        'prompts/ok/v01 warning layout/invalid-version-dir',
        'prompts/ok/latest warning layout/invalid-version-dir',
      ],
    );
  });

  it('maps a file to its version directory', () => {
    assert.equal(versionDirOf('prompts/a/v3/eval.jsonl'), 'prompts/a/v3');
    assert.equal(versionDirOf('prompts/a/v3'), 'prompts/a/v3');
    assert.equal(versionDirOf('prompts/a/draft/x'), undefined);
    assert.equal(versionDirOf('src/prompts/a/v3/x'), undefined);
  });
});

describe('the layout facts everything else asks for', () => {
  it('reads and writes version directory names', () => {
    assert.equal(versionOfDirName('v12'), 12);
    for (const bad of ['v0', 'v01', 'V1', 'v1a', 'latest', '12', 'v']) assert.equal(versionOfDirName(bad), undefined, bad);
    assert.equal(promptVersionDir('summarisation', 3), 'prompts/summarisation/v3');
    assert.deepEqual(versionNumbersIn(['v10', 'v2', 'draft', 'v01', 'v1']), [1, 2, 10]);
  });

  it('names the files of a version, by field and by name', () => {
    assert.equal(fieldOfPromptFile('user.template.md'), 'userTemplate');
    assert.equal(fieldOfPromptFile('judge.md'), 'judge');
    assert.equal(fieldOfPromptFile('README.md'), undefined);
    assert.ok(Object.values(PROMPT_FILE_NAMES).every(isPromptFileName));
    assert.equal(isPromptFileName('notes.md'), false);
  });

  it('finds the prompt version of a path with either separator', () => {
    assert.deepEqual(promptVersionOfPath('/repo/prompts/summarisation/v2/system.md'), {
      root: '/repo',
      name: 'summarisation',
      version: 2,
      dir: 'prompts/summarisation/v2',
    });
    assert.deepEqual(promptVersionOfPath('C:\\work\\repo\\prompts\\a\\v1'), { root: 'C:\\work\\repo', name: 'a', version: 1, dir: 'prompts/a/v1' });
    assert.equal(promptVersionOfPath('prompts/a/v1/system.md')?.root, '');
    assert.equal(promptVersionOfPath('/repo/prompts/Bad/v1/system.md'), undefined);
    assert.equal(promptVersionOfPath('/repo/prompts/a/v1/sub/system.md'), undefined);
    assert.equal(promptVersionOfPath('/repo/prompts/a/v0'), undefined);
  });
});

describe('comparePromptNames', () => {
  it("orders prompt names as the root collation's localeCompare does, and falls back to it for other names", () => {
    const collator = new Intl.Collator('und');
    const alphabet = '_-0123456789abcdefghijklmnopqrstuvwxyz';
    let seed = 7;
    const next = () => (seed = (seed * 48271) % 2147483647);
    const name = () => Array.from({ length: 1 + (next() % 6) }, () => alphabet[next() % alphabet.length]).join('');
    const pairs: [string, string][] = [['a', 'a_'], ['a-b', 'a_b'], ['a1', 'a_1'], ['v10', 'v9'], ['ab', 'a'], ['z', 'z'], ['9', 'a'], ['_', '-']];
    for (let i = 0; i < 20000; i++) pairs.push([name(), name()]);
    for (const [a, b] of pairs) assert.equal(Math.sign(comparePromptNames(a, b)), Math.sign(collator.compare(a, b)), `${a} vs ${b}`);
    for (const [a, b] of [['Été', 'ete'], ['a b', 'a-b'], ['ä', 'b']]) assert.equal(Math.sign(comparePromptNames(a, b)), Math.sign(a.localeCompare(b)), `${a} vs ${b}`);
  });
});
