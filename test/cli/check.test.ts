import * as assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { copyFixture, runCli } from './cliHarness';

interface JsonDiagnostic {
  file: string;
  range: { start: { line: number; character: number }; end: { line: number; character: number } };
  severity: string;
  code: string;
  message: string;
}

/** Every mistake planted in test/fixtures/repos/mistakes: `file:line(1-based):col(1-based) severity code`. */
const EXPECTED = [
  'prompts/Bad_Name:1:1 error layout/invalid-name',
  'prompts/billing/draft:1:1 warning layout/invalid-version-dir',
  'prompts/billing/v1/eval.jsonl:2:130 error eval/invalid-json',
  'prompts/billing/v1/eval.jsonl:3:1 error eval/not-object',
  'prompts/billing/v1/eval.jsonl:4:1 error eval/missing-id',
  'prompts/billing/v1/eval.jsonl:5:1 error eval/duplicate-id',
  'prompts/billing/v1/eval.jsonl:7:1 error eval/missing-inputs',
  'prompts/billing/v1/metadata.yaml:4:14 error metadata/wrong-type',
  'prompts/billing/v1/metadata.yaml:5:1 warning metadata/unknown-key',
  'prompts/billing/v1/metadata.yaml:6:20 error metadata/out-of-range',
  'prompts/billing/v1/metadata.yaml:7:16 error metadata/output-schema-missing',
  'prompts/billing/v1/metadata.yaml:9:23 error metadata/out-of-range',
  'prompts/billing/v2/metadata.yaml:6:1 error metadata/yaml-syntax',
  'prompts/refunds/v1:1:1 error layout/missing-file',
  'prompts/refunds/v1/eval.jsonl:1:1 error eval/missing-variable',
  'prompts/refunds/v1/metadata.yaml:1:7 error metadata/name-mismatch',
  'prompts/refunds/v1/metadata.yaml:2:10 error metadata/version-mismatch',
  'prompts/refunds/v1/user.template.md:1:17 error template/variable-not-supplied',
];

describe('prompt-ci check', () => {
  let repo: string;
  beforeEach(() => {
    repo = copyFixture('test/fixtures/repos/mistakes');
  });

  it('prints every planted mistake at its line like a compiler, with a summary, and exits 1', () => {
    const run = runCli(['check'], repo);
    assert.equal(run.status, 1, run.stderr);
    const lines = run.stdout.trim().split('\n');
    assert.match(lines.shift() ?? '', /^control plane: not checked: none is configured/);
    const summary = lines.pop();
    const found = lines.map((line) => {
      const m = /^(.+?):(\d+):(\d+): (error|warning|information) (\S+): .+$/.exec(line);
      assert.ok(m, `not compiler-style: ${line}`);
      return `${m[1]}:${m[2]}:${m[3]} ${m[4]} ${m[5]}`;
    });
    assert.deepEqual(found, EXPECTED);
    assert.equal(summary, '16 errors, 2 warnings, 0 notes in 4 prompt versions');
  });

  it('prints the same findings as JSON with repo-relative POSIX paths and 0-based ranges', () => {
    const run = runCli(['check', '--format', 'json'], join(repo, 'prompts', 'billing'));
    assert.equal(run.status, 1, run.stderr);
    const { diagnostics } = JSON.parse(run.stdout) as { diagnostics: JsonDiagnostic[] };
    // Run from a subfolder: the scope is that folder, the paths stay repo-relative.
    assert.deepEqual(
      diagnostics.map((d) => `${d.file}:${d.range.start.line + 1}:${d.range.start.character + 1} ${d.severity} ${d.code}`),
      EXPECTED.filter((e) => e.startsWith('prompts/billing/')),
    );
    const wrongType = diagnostics.find((d) => d.code === 'metadata/wrong-type');
    assert.deepEqual(wrongType?.range, { start: { line: 3, character: 13 }, end: { line: 3, character: 18 } });
    assert.equal(wrongType?.message, 'temperature: expected number, got the string "hot"');
  });

  it('narrows to the paths given', () => {
    const run = runCli(['check', 'prompts/refunds/v1/metadata.yaml', '--format', 'json'], repo);
    assert.equal(run.status, 1);
    const { diagnostics } = JSON.parse(run.stdout) as { diagnostics: JsonDiagnostic[] };
    assert.deepEqual(diagnostics.map((d) => d.code), ['metadata/name-mismatch', 'metadata/version-mismatch']);
  });

  it('prints GitHub workflow annotations', () => {
    const run = runCli(['check', 'prompts/billing/v1/metadata.yaml', '--format', 'github'], repo);
    assert.equal(run.status, 1);
    const first = run.stdout.split('\n')[0];
    assert.equal(
      first,
      '::error file=prompts/billing/v1/metadata.yaml,line=4,col=14,endLine=4,endColumn=19,title=prompt-ci metadata/wrong-type::temperature%3A expected number, got the string "hot"'.replace(
        'temperature%3A',
        'temperature:',
      ),
    );
    assert.match(run.stdout, /^::warning file=prompts\/billing\/v1\/metadata\.yaml,line=5,/m);
  });

  it('exits 0 on a clean repository', () => {
    const run = runCli(['check'], join(repo, 'prompts', 'triage'));
    assert.equal(run.status, 0, run.stdout + run.stderr);
    assert.equal(
      run.stdout,
      'control plane: not checked: none is configured (PROMPT_CI_DATABASE_URL, controlPlane.url in prompt-ci.yaml) and the repository has no embedded store in .prompt-ci/control, so deletions of serving versions and pins were not checked\n0 errors, 0 warnings, 0 notes in 1 prompt version\n',
    );
  });

  it('exits 0 with only warnings', () => {
    const run = runCli(['check', 'prompts/billing/draft'], repo);
    assert.equal(run.status, 0);
    assert.match(run.stdout, /warning layout\/invalid-version-dir/);
  });

  it('exits 2 on usage errors, with the reason and the usage line on stderr', () => {
    for (const args of [['check', '--format', 'xml'], ['check', '--frmat', 'json'], ['check', 'no/such/path'], ['frobnicate']]) {
      const run = runCli(args, repo);
      assert.equal(run.status, 2, `${args.join(' ')}: ${run.stdout}`);
      assert.equal(run.stdout, '');
      assert.ok(run.stderr.length > 0);
    }
    assert.match(runCli(['check', '--format', 'xml'], repo).stderr, /--format must be text, json or github, not "xml"\nusage: prompt-ci check/);
  });

  it('exits 2 outside any prompt repository', () => {
    const run = runCli(['check'], join(repo, '..'));
    assert.equal(run.status, 2);
    assert.match(run.stderr, /no prompt repository here/);
  });

  it('keeps reading the other lines after a broken one, and sees a new mistake', () => {
    writeFileSync(join(repo, 'prompts/triage/v1/eval.jsonl'), '{"id": "t1", "inputs": {"body": "x"}}\n{oops\n{"id": "t1", "inputs": {}}\n');
    const run = runCli(['check', 'prompts/triage', '--format', 'json'], repo);
    const { diagnostics } = JSON.parse(run.stdout) as { diagnostics: JsonDiagnostic[] };
    assert.deepEqual(diagnostics.map((d) => `${d.range.start.line} ${d.code}`), ['1 eval/invalid-json', '2 eval/duplicate-id']);
  });
});

describe('prompt-ci check on the example workspaces', () => {
  it('finds nothing wrong in examples/', () => {
    const run = runCli(['check'], copyFixture('examples'));
    assert.equal(run.status, 0, run.stdout + run.stderr);
    assert.match(run.stdout, /^control plane: not checked: none is configured .+\n0 errors, 0 warnings, 0 notes in 3 prompt versions\n$/);
  });

  it('finds exactly the mistakes examples/broken/EXPECTED.md lists, at their lines', () => {
    const repo = copyFixture('examples/broken');
    const expected = readFileSync(join(repo, 'EXPECTED.md'), 'utf8')
      .split('\n')
      .filter((line) => /^\| \d+ \|/.test(line))
      .map((line) => {
        const [, , file, lineNumber, severity] = line.split('|').map((cell) => cell.trim());
        return `${file}:${lineNumber} ${severity}`;
      })
      .sort();
    assert.equal(expected.length, 21);
    const run = runCli(['check', '--format', 'json'], repo);
    assert.equal(run.status, 1);
    const { diagnostics } = JSON.parse(run.stdout) as { diagnostics: JsonDiagnostic[] };
    const found = diagnostics.map((d) => `${d.file}:${d.range.start.line + 1} ${d.severity}`).sort();
    assert.deepEqual(found, expected);
  });
});

describe('prompt-ci check with call-site settings from prompt-ci.yaml', () => {
  function repoWithCallers(settings: string): string {
    const repo = copyFixture('test/fixtures/repos/mistakes');
    writeFileSync(join(repo, 'prompt-ci.yaml'), settings);
    mkdirSync(join(repo, 'app', 'vendored'), { recursive: true });
    // Every call passes `text` where triage's template wants {body}; only the configured function
    // names count, only in included files.
    const call = 'def reply(c):\n    return make_prompt("triage", text=c)\n\nrender_prompt("triage", text=c)\n';
    writeFileSync(join(repo, 'app', 'replies.py'), call);
    writeFileSync(join(repo, 'app', 'vendored', 'old.py'), call);
    return repo;
  }
  const missing = (repo: string): string[] => {
    const { diagnostics } = JSON.parse(runCli(['check', 'app', '--format', 'json'], repo).stdout) as { diagnostics: JsonDiagnostic[] };
    return diagnostics.filter((d) => d.code === 'callsite/missing-variable').map((d) => `${d.file}:${d.range.start.line + 1}`);
  };

  it('counts the default render functions when the file says nothing', () => {
    assert.deepEqual(missing(repoWithCallers('baselineRef: main\n')), ['app/replies.py:4', 'app/vendored/old.py:4']);
  });

  it('counts only callSites.functions, in callSites.include minus callSites.exclude', () => {
    const repo = repoWithCallers('callSites:\n  functions: [make_prompt]\n  include: ["app/**/*.py"]\n  exclude: ["**/vendored/**"]\n');
    assert.deepEqual(missing(repo), ['app/replies.py:2']);
  });
});
