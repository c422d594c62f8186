import assert from 'node:assert/strict';
import { parseTemplate, renderTemplate } from '../../src/core/template/template';
import type { TemplateField } from '../../src/core/template/template';

function spans(text: string, fields: TemplateField[]): [string, string][] {
  return fields.map((f) => [text.slice(f.start, f.end), text.slice(f.nameStart, f.nameEnd)]);
}

describe('template: the python format (default)', () => {
  const text = 'Summarise for {customer_name}:\n\n{document!r:>{width}}\n\nAnswer as {{"summary": "..."}}';

  it('returns variables, fields and no errors for a well-formed template', () => {
    const parsed = parseTemplate(text);
    assert.deepEqual(parsed.variables, ['customer_name', 'document', 'width']);
    assert.deepEqual(parsed.errors, []);
    assert.deepEqual(spans(text, parsed.fields), [
      ['{customer_name}', 'customer_name'],
      ['{document!r:>{width}}', 'document'],
      ['{width}', 'width'],
    ]);
    assert.deepEqual(
      parsed.fields.map((f) => [f.variable, f.conversion, f.formatSpec, f.nested]),
      [
        ['customer_name', undefined, undefined, false],
        ['document', 'r', '>{width}', false],
        ['width', undefined, undefined, true],
      ],
    );
  });

  it('renders exactly as CPython', () => {
    assert.equal(
      renderTemplate(text, { customer_name: 'Ada', document: "it's", width: '8' }),
      'Summarise for Ada:\n\n  "it\'s"\n\nAnswer as {"summary": "..."}',
    );
  });

  it('gives the first name of attribute and index chains as the variable', () => {
    const parsed = parseTemplate('{user.name} {items[0]} {user[id]}', 'python');
    assert.deepEqual(parsed.variables, ['user', 'items']);
    assert.deepEqual(
      parsed.fields.map((f) => [f.name, f.variable]),
      [
        ['user.name', 'user'],
        ['items[0]', 'items'],
        ['user[id]', 'user'],
      ],
    );
  });

  it("reports CPython's message at the offending character", () => {
    // A JSON example pasted without doubling its braces: the classic prompt bug.
    const bad = 'Reply with {"answer": 1} please }';
    const parsed = parseTemplate(bad);
    assert.deepEqual(parsed.errors, [{ message: "Single '}' encountered in format string", offset: bad.length - 1 }]);
    assert.deepEqual(parsed.variables, ['"answer"']);
  });

  it('reports positional fields as errors and keeps them out of the variables', () => {
    const parsed = parseTemplate('{0} and {}');
    assert.deepEqual(parsed.variables, []);
    assert.deepEqual(
      parsed.errors.map((e) => e.offset),
      [0, 8],
    );
    assert.match(parsed.errors[0].message, /^positional field \{0\}: prompts are rendered with keyword arguments; name the field$/);
  });

  it("throws CPython's message, type first, when rendering fails", () => {
    assert.throws(() => renderTemplate('Hi {name}', {}), { message: "KeyError: 'name'" });
    assert.throws(() => renderTemplate('{0}', {}), { message: 'IndexError: Replacement index 0 out of range for positional args tuple' });
    assert.throws(() => renderTemplate('{a} }', { a: 'x' }), { message: "ValueError: Single '}' encountered in format string" });
  });

  it('counts offsets in UTF-16 units, widths in code points', () => {
    const t = '😀 {x:😀^5}';
    assert.equal(parseTemplate(t).fields[0].start, 3);
    assert.equal(renderTemplate(t, { x: '日😀' }), '😀 😀日😀😀😀');
  });
});

describe('template: the mustache format', () => {
  it('collects names, sections and inverted sections with offsets', () => {
    const text = 'Hi {{ customer.name }}!\n{{#examples}}- {{input}} -> {{output}}\n{{/examples}}{{^context}}No context for {{topic}}.{{/context}}{{{raw}}}';
    const parsed = parseTemplate(text, 'mustache');
    assert.deepEqual(parsed.errors, []);
    assert.deepEqual(parsed.variables, ['customer', 'examples', 'context', 'topic', 'raw']);
    assert.deepEqual(spans(text, parsed.fields), [
      ['{{ customer.name }}', 'customer.name'],
      ['{{#examples}}', 'examples'],
      ['{{input}}', 'input'],
      ['{{output}}', 'output'],
      ['{{^context}}', 'context'],
      ['{{topic}}', 'topic'],
      ['{{{raw}}}', 'raw'],
    ]);
    assert.deepEqual(
      parsed.fields.map((f) => [f.variable, f.nested]),
      [
        ['customer', false],
        ['examples', false],
        ['input', true],
        ['output', true],
        ['context', false],
        ['topic', false],
        ['raw', false],
      ],
    );
  });

  it('follows changed delimiters', () => {
    const text = '{{=<% %>=}}<% name %> {{literal}}';
    const parsed = parseTemplate(text, 'mustache');
    assert.deepEqual(parsed.variables, ['name']);
    assert.deepEqual(spans(text, parsed.fields), [['<% name %>', 'name']]);
  });

  it("reports mustache's errors at the offset it names", () => {
    assert.deepEqual(parseTemplate('{{#a}}x', 'mustache').errors, [{ message: 'Unclosed section "a" at 7', offset: 7 }]);
    assert.deepEqual(parseTemplate('ok {{/a}}', 'mustache').errors, [{ message: 'Unopened section "a" at 3', offset: 3 }]);
    assert.deepEqual(parseTemplate('{{name', 'mustache').errors, [{ message: 'Unclosed tag at 6', offset: 6 }]);
  });

  it('reports partials, which prompts cannot use', () => {
    const parsed = parseTemplate('a {{> footer}}', 'mustache');
    assert.equal(parsed.errors.length, 1);
    assert.equal(parsed.errors[0].offset, 2);
    assert.throws(() => renderTemplate('a {{> footer}}', {}, 'mustache'), /partial/);
  });

  it('renders without HTML escaping: prompts are not HTML', () => {
    const values = { q: `Tom & "Jerry" <tag> it's`, items: [{ n: 1 }, { n: 2 }], none: [] };
    assert.equal(
      renderTemplate('{{q}}|{{{q}}}|{{#items}}{{n}},{{/items}}|{{^none}}empty{{/none}}|{{missing}}.', values, 'mustache'),
      `Tom & "Jerry" <tag> it's|Tom & "Jerry" <tag> it's|1,2,|empty|.`,
    );
  });

  it("throws mustache's message for a malformed template", () => {
    assert.throws(() => renderTemplate('{{#a}}', { a: true }, 'mustache'), { message: 'Unclosed section "a" at 6' });
  });
});
