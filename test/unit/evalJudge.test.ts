import { strict as assert } from 'node:assert';
import {
  DEFAULT_JUDGE_RUBRIC,
  aggregateVotes,
  fillJudgeTemplate,
  judgeRequest,
  parseJudgeReply,
} from '../../src/core/eval/judge';
import { JUDGE_REASON_LIMIT } from '../../src/shared/evalReport';

describe('eval judge', () => {
  describe('parseJudgeReply', () => {
    it('reads a bare JSON object', () => {
      assert.deepEqual(parseJudgeReply('{"correct": true, "score": 4}'), { ok: true, vote: { correct: true, score: 4 } });
    });

    it('reads an object in a ```json fence, and one in a bare fence', () => {
      assert.deepEqual(parseJudgeReply('```json\n{\n  "correct": false,\n  "score": 2\n}\n```'), { ok: true, vote: { correct: false, score: 2 } });
      assert.deepEqual(parseJudgeReply('```\n{"correct": true, "score": 5}\n```'), { ok: true, vote: { correct: true, score: 5 } });
    });

    it('finds the object inside prose, ignoring braces in strings and unrelated objects', () => {
      const text = 'Looking at it {briefly}: the candidate says "x". {"note": "a } brace"} Verdict: {"correct": true, "score": 3, "rationale": "ok {fine}"} Done.';
      assert.deepEqual(parseJudgeReply(text), { ok: true, vote: { correct: true, score: 3 } });
    });

    it("keeps the judge's short reason on one line, cut at the limit", () => {
      assert.deepEqual(parseJudgeReply('{"correct": false, "score": 2, "reason": "Misses the\\n refund  date."}'), {
        ok: true,
        vote: { correct: false, score: 2, reason: 'Misses the refund date.' },
      });
      const long = parseJudgeReply(JSON.stringify({ correct: true, score: 4, reason: 'x'.repeat(JUDGE_REASON_LIMIT + 50) }));
      assert.ok(long.ok && long.vote.reason?.length === JUDGE_REASON_LIMIT + 1 && long.vote.reason.endsWith('…'));
      assert.deepEqual(parseJudgeReply('{"correct": true, "score": 4, "reason": "  "}'), { ok: true, vote: { correct: true, score: 4 } });
      assert.match(DEFAULT_JUDGE_RUBRIC, /"reason": "one short sentence saying why"/);
    });

    it('a reply with no JSON object is an error quoting the reply', () => {
      const result = parseJudgeReply('The candidate is mostly right, I would say 4 out of 5.');
      assert.equal(result.ok, false);
      assert.equal(
        !result.ok && result.error,
        'judge reply has no JSON object {"correct": bool, "score": 1..5}: "The candidate is mostly right, I would say 4 out of 5."',
      );
    });

    it('a score outside 1..5 is an error, not clamped', () => {
      const result = parseJudgeReply('{"correct": true, "score": 7}');
      assert.equal(result.ok, false);
      assert.match(!result.ok ? result.error : '', /"score": 7, not a number from 1 to 5: "\{\\"correct\\": true, \\"score\\": 7\}"/);
      assert.equal(parseJudgeReply('{"correct": true, "score": 0}').ok, false);
      assert.equal(parseJudgeReply('{"correct": true, "score": "4"}').ok, false);
      assert.equal(parseJudgeReply('{"correct": true}').ok, false);
    });

    it('a non-boolean correct is an error', () => {
      const result = parseJudgeReply('{"correct": "yes", "score": 4}');
      assert.match(!result.ok ? result.error : '', /"correct": "yes", not true or false/);
      assert.equal(parseJudgeReply('{"correct": 1, "score": 4}').ok, false);
    });

    it('quotes at most 300 characters of a long reply', () => {
      const result = parseJudgeReply('no json '.repeat(100));
      assert.ok(!result.ok && result.error.length < 400 && result.error.endsWith('…"'));
    });
  });

  describe('aggregateVotes', () => {
    it('majority for correct, median for score', () => {
      assert.deepEqual(
        aggregateVotes([
          { correct: true, score: 5 },
          { correct: false, score: 2 },
          { correct: true, score: 4 },
        ]),
        { correct: true, score: 4, unstable: true },
      );
    });

    it('a tie is not correct; an even count takes the mean of the middle scores', () => {
      assert.deepEqual(
        aggregateVotes([
          { correct: true, score: 5 },
          { correct: false, score: 2 },
        ]),
        { correct: false, score: 3.5, unstable: true },
      );
    });

    it('agreeing votes are stable', () => {
      assert.deepEqual(aggregateVotes([{ correct: false, score: 1 }, { correct: false, score: 2 }, { correct: false, score: 2 }]), {
        correct: false,
        score: 2,
        unstable: false,
      });
    });
  });

  describe('the judge request', () => {
    it('puts the reference and candidate in tags in the default rubric', () => {
      const request = judgeRequest({ model: 'claude-opus-4-7', repeats: 3, maxTokens: 512 }, 'The refund was approved.', 'Refund approved.');
      assert.equal(request.model, 'claude-opus-4-7');
      assert.equal(request.max_tokens, 512);
      assert.equal('temperature' in request, false);
      const content = request.messages[0].content;
      assert.match(content, /<reference>\nThe refund was approved\.\n<\/reference>/);
      assert.match(content, /<candidate>\nRefund approved\.\n<\/candidate>/);
      assert.match(content, /\{"correct": true or false, "score": 1 to 5, "reason": "one short sentence saying why"\}/);
      assert.ok(DEFAULT_JUDGE_RUBRIC.includes('{reference}'));
    });

    it('judge.md placeholders are substituted literally and in one pass', () => {
      const template = 'Ref: {reference}\nCand: {candidate}\nAgain {reference}. Keep {other} and {{braces}}.';
      assert.equal(
        fillJudgeTemplate(template, 'R {candidate}', 'C $& {reference}'),
        'Ref: R {candidate}\nCand: C $& {reference}\nAgain R {candidate}. Keep {other} and {{braces}}.',
      );
      const request = judgeRequest({ model: 'm', repeats: 1, maxTokens: 100, template }, 'a', 'b');
      assert.equal(request.messages[0].content, 'Ref: a\nCand: b\nAgain a. Keep {other} and {{braces}}.');
    });
  });
});
