import * as assert from 'node:assert/strict';
import { parsePythonStringLiteral, recoverVariables } from '../../src/core/replayRecovery';
import { pythonStrRepr } from '../../src/core/template/pythonFormat';
import { renderTemplate } from '../../src/core/template/template';
import type { TemplateFormat } from '../../src/core/template/template';

/**
 * Variables read back from a rendered message. Every recovery is checked by rendering the values
 * again with the CPython-exact renderer: the text must come back byte for byte.
 */
function roundTrip(template: string, values: Record<string, unknown>, format: TemplateFormat = 'python') {
  const rendered = renderTemplate(template, values, format);
  const outcome = recoverVariables(template, format, rendered);
  assert.equal(outcome.kind, 'recovered', JSON.stringify(outcome));
  if (outcome.kind !== 'recovered') throw new Error('unreachable');
  assert.equal(renderTemplate(template, outcome.values, format), rendered, 'the recovered values render the same text');
  return outcome;
}

describe('recoverVariables', () => {
  it('reads plain fields between literal anchors, a repeated field once, and dict keys', () => {
    const o = roundTrip('Dear {name}, about {order[id]} ({order[status]}): {name}, see {body}\n', { name: 'Ada', order: { id: 'A-1', status: 'late' }, body: 'It is {late}.' });
    assert.deepEqual(o.values, { name: 'Ada', order: { id: 'A-1', status: 'late' }, body: 'It is {late}.' });
  });

  it('honours format specs: padding, precision, integers, floats, percentages, grouping, bases', () => {
    const o = roundTrip('[{a:>8}] [{b:*^9}] [{c:.3}] [{n:05d}] [{f:,.2f}] [{p:.1%}] [{x:#x}] [{o:o}]', { a: 'Ada', b: 'mid', c: 'truncated', n: 42, f: 12345.5, p: 0.125, x: 255, o: 8 });
    assert.equal(o.values.n, 42);
    assert.equal(o.values.x, 255);
    assert.equal(o.values.o, 8);
    assert.ok(o.notes.some((n) => /\{c:\.3\}: the value may have been longer/.test(n)), o.notes.join('\n'));
  });

  it('honours conversions: !r and !a read the Python string literal back', () => {
    for (const value of ["it's", 'say "hi"', 'tab\there', 'naïve ☃', "both ' and \""]) {
      const o = roundTrip('Quote: {q!r}; ascii: {q!a}.', { q: value });
      assert.equal(o.values.q, value);
    }
    assert.equal(parsePythonStringLiteral(pythonStrRepr('a\nb\\c')), 'a\nb\\c');
  });

  it('reads mustache variables, dotted names included', () => {
    const o = roundTrip('Summarise for {{customer.name}} ({{plan}} plan):\n\n{{{document}}}\n', { customer: { name: 'Grace' }, plan: 'Team', document: 'x < y & "z"' }, 'mustache');
    assert.deepEqual(o.values, { customer: { name: 'Grace' }, plan: 'Team', document: 'x < y & "z"' });
  });

  it('reports ambiguity instead of guessing', () => {
    const o = recoverVariables('{a} and {b}', 'python', 'x and y and z');
    assert.deepEqual(o, { kind: 'ambiguous', reason: 'the recorded message fits the template in more than one way: {a} could be "x" or "x and y", so the variables can\'t be told from the message' });
    assert.equal(recoverVariables('{a}{b}', 'python', 'xy').kind, 'ambiguous');
    assert.equal(recoverVariables('{a}{a}', 'python', 'xyxy').kind, 'recovered', 'a repeated field pins the split');
  });

  it('says precisely why a message is not from the template', () => {
    const t = 'Summarise for {name}:\n\n{document}\n';
    const reason = (text: string) => {
      const o = recoverVariables(t, 'python', text);
      assert.equal(o.kind, 'not-produced');
      return o.kind === 'not-produced' ? o : undefined!;
    };
    assert.match(reason('Summarize for Ada:\n\nx\n').reason, /^the recorded message does not start with the template's opening text "Summarise for ": it starts "Summarize for Ada:\\n\\n"$/);
    assert.match(reason('Summarise for Ada:\n\nx').reason, /^the recorded message does not end with the template's closing text "\\n"/);
    const missing = reason('Summarise for Ada - x\n');
    assert.match(missing.reason, /^the template's text ":\\n\\n" after \{name\} is not in the recorded message after line 1, column 15/);
    assert.equal(missing.offset, 14);
    assert.match(recoverVariables('{n:d} items', 'python', 'two items').kind === 'not-produced' ? (recoverVariables('{n:d} items', 'python', 'two items') as { reason: string }).reason : '', /^\{n:d\} needs an integer, but the recorded message has "two" there/);
    assert.match((recoverVariables('{a} then {a}', 'python', 'x then y') as { reason: string }).reason, /^\{a\} appears more than once in the template, but the recorded message has "x" \(line 1, column 1\) and "y" \(line 1, column 8\)/);
  });

  it('says which fields cannot be read back', () => {
    assert.deepEqual(recoverVariables('{a:{w}}', 'python', 'x'), { kind: 'unsupported', reason: "{a:{w}} takes its format spec from another variable, so its text can't be read back" });
    assert.match((recoverVariables('{a.b}', 'python', 'x') as { reason: string }).reason, /reads attribute \.b/);
    assert.match((recoverVariables('{{#items}}{{.}}{{/items}}', 'mustache', 'x') as { reason: string }).reason, /is a section/);
  });
});
