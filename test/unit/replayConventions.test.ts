import * as assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ReplayVariables, ReplayVerdict } from '../../src/core/replay';
import { ReplayError, toAuditMarkdown, toAuditRecord } from '../../src/core/replay';
import type { SpanConvention } from '../../src/core/span';
import { parseSpan } from '../../src/core/span';
import { runGit } from '../../src/node/git';
import { inferCommit } from '../../src/node/replayCommit';
import { replaySpanText } from '../../src/node/replayRunner';
import { SHA, commitHistory, git, repoState } from './promptHistory';

/**
 * Replay of the spans real exporters write (DESIGN.md section 10). Each fixture in
 * test/fixtures/spans/conventions/ is shaped after the exporter's own source, cited in its
 * `_source` field; each is replayed against the scripted history (test/fixtures/spans/prompt-history.json)
 * and checked for identity, commit (given or inferred), recorded input, variables and verdict.
 */

const DIR = join(__dirname, '..', 'fixtures', 'spans', 'conventions');
const fixture = (name: string): string => readFileSync(join(DIR, `${name}.json`), 'utf8');

interface Expectation {
  name: string;
  identity: { convention: SpanConvention; attributes: [string, string] };
  commit: { sha: string; source: 'span' | 'inferred' };
  recorded: string[] | undefined;
  variables: ReplayVariables['source'];
  verdict: ReplayVerdict['kind'];
}

const EXPECTED: Expectation[] = [
  {
    name: 'prompt-ci-rendered-no-variables',
    identity: { convention: 'prompt-ci', attributes: ['prompt.name', 'prompt.version'] },
    commit: { sha: SHA.b, source: 'span' },
    recorded: ['gen_ai.input.messages', 'gen_ai.output.messages', 'gen_ai.system_instructions'],
    variables: 'recovered',
    verdict: 'match',
  },
  {
    name: 'opentelemetry-no-sha',
    identity: { convention: 'opentelemetry', attributes: ['gen_ai.prompt.name', 'gen_ai.prompt.version'] },
    commit: { sha: SHA.b, source: 'inferred' },
    recorded: ['gen_ai.input.messages', 'gen_ai.system_instructions'],
    variables: 'span',
    verdict: 'match',
  },
  {
    name: 'opentelemetry-older-content',
    identity: { convention: 'opentelemetry', attributes: ['gen_ai.prompt.name', 'gen_ai.prompt.version'] },
    commit: { sha: SHA.d, source: 'inferred' },
    recorded: ['gen_ai.input.messages'],
    variables: 'recovered',
    verdict: 'match',
  },
  {
    name: 'langfuse',
    identity: { convention: 'langfuse', attributes: ['langfuse.observation.prompt.name', 'langfuse.observation.prompt.version'] },
    commit: { sha: SHA.c, source: 'inferred' },
    recorded: ['langfuse.observation.input', 'langfuse.observation.output'],
    variables: 'recovered',
    verdict: 'match',
  },
  {
    name: 'openllmetry-managed-prompt',
    identity: { convention: 'openllmetry', attributes: ['traceloop.prompt.key', 'traceloop.prompt.version'] },
    commit: { sha: SHA.d, source: 'inferred' },
    recorded: ['gen_ai.prompt.N', 'gen_ai.completion.N'],
    variables: 'span',
    verdict: 'match',
  },
  {
    name: 'openllmetry-association-properties',
    identity: { convention: 'openllmetry', attributes: ['traceloop.association.properties.prompt_name', 'traceloop.association.properties.prompt_version'] },
    commit: { sha: SHA.a, source: 'span' },
    recorded: ['gen_ai.prompt.N'],
    variables: 'recovered',
    verdict: 'match',
  },
  {
    name: 'openinference-template-variables',
    identity: { convention: 'openinference', attributes: ['prompt.id', 'llm.prompt_template.version'] },
    commit: { sha: SHA.c, source: 'inferred' },
    recorded: ['llm.input_messages.N', 'llm.output_messages.N', 'llm.invocation_parameters.system'],
    variables: 'span',
    verdict: 'match',
  },
  {
    name: 'openinference-message-contents',
    identity: { convention: 'openinference', attributes: ['prompt.id', 'llm.prompt_template.version'] },
    commit: { sha: SHA.b, source: 'inferred' },
    recorded: ['llm.input_messages.N', 'llm.invocation_parameters.system'],
    variables: 'recovered',
    verdict: 'match',
  },
  {
    name: 'no-content',
    identity: { convention: 'opentelemetry', attributes: ['gen_ai.prompt.name', 'gen_ai.prompt.version'] },
    commit: { sha: SHA.d, source: 'inferred' },
    recorded: undefined,
    variables: 'none',
    verdict: 'nothing-recorded',
  },
  {
    name: 'conventions-disagree',
    identity: { convention: 'prompt-ci', attributes: ['prompt.name', 'prompt.version'] },
    commit: { sha: SHA.b, source: 'span' },
    recorded: ['gen_ai.input.messages'],
    variables: 'span',
    verdict: 'match',
  },
  {
    name: 'not-from-template',
    identity: { convention: 'prompt-ci', attributes: ['prompt.name', 'prompt.version'] },
    commit: { sha: SHA.c, source: 'span' },
    recorded: ['gen_ai.input.messages'],
    variables: 'none',
    verdict: 'not-produced',
  },
  {
    name: 'variables-disagree-with-message',
    identity: { convention: 'prompt-ci', attributes: ['prompt.name', 'prompt.version'] },
    commit: { sha: SHA.b, source: 'span' },
    recorded: ['gen_ai.input.messages'],
    variables: 'span',
    verdict: 'differs',
  },
];

describe('replay of the spans real exporters write', function () {
  this.timeout(60_000);
  let root: string;
  let repo: string;
  let untouched: Record<string, string>;

  before(() => {
    root = mkdtempSync(join(tmpdir(), 'prompt-ci-conventions-'));
    repo = join(root, 'repo');
    assert.deepEqual(commitHistory(repo), [SHA.a, SHA.b, SHA.c, SHA.d]);
    untouched = repoState(repo);
  });

  after(() => {
    assert.deepEqual(repoState(repo), untouched, 'HEAD, refs, index and working tree are unchanged');
    rmSync(root, { recursive: true, force: true });
  });

  it('every fixture cites the exporter source it is shaped after', () => {
    for (const { name } of EXPECTED) {
      const doc = JSON.parse(fixture(name)) as { _source?: string } | { _source?: string }[];
      const source = Array.isArray(doc) ? doc[0]._source : doc._source;
      assert.match(source ?? '', /\.(py|yaml|json|ts)\b/, `${name} names a source file`);
    }
  });

  for (const e of EXPECTED) {
    it(`${e.name}: ${e.identity.convention} identity, commit ${e.commit.source === 'span' ? 'given' : 'inferred'} (${e.commit.sha.slice(0, 7)}), variables ${e.variables}, verdict ${e.verdict}`, async () => {
      const result = await replaySpanText(fixture(e.name), { repoRoot: repo });
      const { identity } = result.span;
      assert.deepEqual([identity.name.attribute, identity.version.attribute], e.identity.attributes);
      assert.equal(identity.name.convention, e.identity.convention);
      assert.equal(result.prompt.commit.sha, e.commit.sha);
      assert.equal(result.commit.source, e.commit.source);
      assert.deepEqual(result.span.recorded?.sources, e.recorded);
      assert.equal(result.variables.source, e.variables, JSON.stringify(result.variables));
      assert.equal(result.verdict.kind, e.verdict, result.verdict.summary);
      if (e.verdict === 'match') {
        assert.equal(result.rendered.matchesRecorded, true);
        assert.equal(result.rendered.user, result.span.recorded?.user, 'the re-rendered user message is the recorded one, byte for byte');
        if (result.span.recorded?.system !== undefined) assert.equal(result.rendered.system, result.span.recorded.system);
      }
      // The audit record says where the commit came from.
      const record = toAuditRecord(result, { generatedAt: '2025-06-01T00:00:00.000Z' });
      assert.equal(record.commitSource.source, e.commit.source);
      assert.equal(record.verdict.kind, e.verdict);
      if (e.commit.source === 'inferred') assert.match(toAuditMarkdown(record), /\| Commit found \| inferred: /);
    });
  }

  it('infers the commit from the span start: the last commit of the baseline ref at or before it that holds the version', async () => {
    const result = await replaySpanText(fixture('opentelemetry-no-sha'), { repoRoot: repo });
    assert.equal(result.span.startTime, '2025-03-01T12:00:00.000Z');
    assert.deepEqual(result.commit, {
      source: 'inferred',
      ref: 'main',
      at: '2025-03-01T12:00:00.000Z',
      how: "f5ab86dcbfb5 is the last commit on main at or before the span's start (2025-03-01T12:00:00.000Z), and it holds prompts/summarisation/v1",
    });
    const later = await replaySpanText(fixture('opentelemetry-older-content'), { repoRoot: repo });
    assert.match(later.commit.source === 'inferred' ? later.commit.how : '', /^27e1c51d5198 is the last commit on main at or before the span's start \(2025-04-20T08:00:00\.000Z\), and it holds prompts\/classification\/v1; its files last changed in bcf22543399e$/);
  });

  it('recovers variables of every field kind from the recorded message, including dict keys', async () => {
    const result = await replaySpanText(fixture('opentelemetry-older-content'), { repoRoot: repo });
    assert.deepEqual(result.variables.values, { customer: { name: 'Alan Turing', plan: 'Free' }, ticket: 'I was charged twice for March.' });
  });

  it('names both conventions when they disagree, and uses ours', async () => {
    const result = await replaySpanText(fixture('conventions-disagree'), { repoRoot: repo });
    assert.deepEqual(result.span.identity.disagreements, ['name: prompt.name "summarisation" but gen_ai.prompt.name "classification"']);
    assert.match(result.warnings.join('\n'), /the span's prompt identity attributes disagree: name: prompt\.name "summarisation" but gen_ai\.prompt\.name "classification"/);
    assert.equal(result.prompt.dir, 'prompts/summarisation/v1');
  });

  it('a message the template cannot have produced says which opening text is missing, with both texts there', async () => {
    const result = await replaySpanText(fixture('not-from-template'), { repoRoot: repo });
    assert.equal(result.verdict.kind, 'not-produced');
    assert.equal(
      result.verdict.summary,
      'NOT FROM THIS TEMPLATE: prompts/summarisation/v2/user.template.md at bcf22543399e can\'t have rendered the recorded user message: the recorded message does not start with the template\'s opening text "Summarise for ": it starts "Summarize for Grace ".',
    );
    if (result.verdict.kind !== 'not-produced') return;
    assert.deepEqual(result.verdict.at, { offset: 7, line: 1, column: 8 });
    assert.equal(result.verdict.around.template, 'se for ');
    assert.ok(result.verdict.around.recorded.startsWith('Summarize for Grace Hopper (Team plan):'));
  });

  it('variables that render a different message: the first differing position and both texts around it', async () => {
    const result = await replaySpanText(fixture('variables-disagree-with-message'), { repoRoot: repo });
    assert.equal(result.comparison?.user?.firstDifference?.line, 1);
    assert.equal(result.comparison?.user?.firstDifference?.column, 58);
    assert.match(result.verdict.summary, /^DIFFERENT: the user message differs at line 1, column 58: recorded "ument below for Grace Hopper in at most 5 sentences\.\\n\\n<document>.*", re-rendered "ument below for Grace Hopper in at most 3 sentences/);
  });

  it('a span without content shows the prompt and request, and names the attributes that would allow a comparison', async () => {
    const result = await replaySpanText(fixture('no-content'), { repoRoot: repo });
    assert.equal(result.request.system, 'You summarise support documents in plain English.\n');
    assert.equal(result.request.model, 'claude-haiku-4-5');
    assert.equal(result.rendered.user, null);
    assert.match(result.verdict.summary, /NOTHING TO COMPARE.*gen_ai\.input\.messages.*prompt\.variables or gen_ai\.prompt\.variable\.<name>/);
  });

  describe('inferCommit', () => {
    const infer = (startTime: string | undefined, version = 1, name = 'summarisation', baselineRef?: string) =>
      inferCommit(repo, { promptName: name, promptVersion: version, ...(startTime ? { startTime } : {}) }, { git: runGit, ...(baselineRef ? { baselineRef } : {}) });

    it('without a start time takes the tip of the baseline ref', async () => {
      const inferred = await infer(undefined);
      assert.equal(inferred.commit, SHA.d);
      assert.match(inferred.source.how, /^the span has no start time, so the tip of main \(27e1c51d5198\) was used/);
    });

    it('a version that reached the ref after the span started: its first commit there, with a warning', async () => {
      const inferred = await infer('2025-02-01T00:00:00Z', 2);
      assert.equal(inferred.commit, SHA.c);
      assert.match(inferred.warnings.join('\n'), /prompts\/summarisation\/v2 was not on main when the span started/);
    });

    it('a version no commit of the ref holds, and a ref that does not exist, are errors naming them', async () => {
      await assert.rejects(infer(undefined, 7), (e: unknown) => e instanceof ReplayError && /no commit of main holds prompts\/summarisation\/v7; versions of "summarisation" on main: v1, v2/.test(e.message));
      await assert.rejects(
        infer(undefined, 1, 'summarisation', 'origin/release'),
        (e: unknown) => e instanceof ReplayError && /the span names no commit, and the baseline ref "origin\/release" to infer it from is not in this repository/.test(e.message),
      );
    });

    it('searches the baseline ref it is given (the CLI and the extension pass prompt-ci.yaml baselineRef)', async () => {
      git(repo, ['branch', 'release', SHA.a]);
      try {
        const result = await replaySpanText(fixture('no-content').replace('"2"', '"1"'), { repoRoot: repo, baselineRef: 'release' });
        assert.equal(result.prompt.commit.sha, SHA.a);
      } finally {
        git(repo, ['branch', '-D', 'release']);
      }
    });
  });

  it('reads the start time of every shape', () => {
    assert.equal(parseSpan(fixture('openllmetry-managed-prompt')).startTime, '2025-04-20T10:00:00.000Z');
    assert.equal(parseSpan(fixture('openllmetry-association-properties')).startTime, '2025-01-20T10:00:00.000Z');
    assert.equal(parseSpan(fixture('langfuse')).startTime, '2025-03-20T09:30:00.000Z');
  });
});
