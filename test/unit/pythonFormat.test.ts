import assert from 'node:assert/strict';
import {
  analyzePythonTemplate,
  formatterParse,
  MAX_FORMAT_WIDTH,
  pythonStrRepr,
  PythonFormatError,
  renderPythonTemplate,
  UnsupportedTemplateValueError,
} from '../../src/core/template/pythonFormat';

/** The first error analyzePythonTemplate reports, as [message, offset]. */
function firstError(text: string): [string, number] | undefined {
  const e = analyzePythonTemplate(text).errors[0];
  return e && [e.message, e.offset];
}

function render(text: string, values: Record<string, unknown>): { ok: string } | { error: string } {
  try {
    return { ok: renderPythonTemplate(text, values) };
  } catch (e) {
    return { error: (e as Error).message };
  }
}

describe('pythonFormat: reading templates as string.Formatter().parse does', () => {
  it('splits literal text, escapes and fields into CPython tuples', () => {
    assert.deepEqual(formatterParse('a{{b}}c{x!r:>{w}}'), {
      items: [
        { literal: 'a{', fieldName: null, formatSpec: null, conversion: null },
        { literal: 'b}', fieldName: null, formatSpec: null, conversion: null },
        { literal: 'c', fieldName: 'x', formatSpec: '>{w}', conversion: 'r' },
      ],
    });
    assert.deepEqual(formatterParse('{a}'), { items: [{ literal: '', fieldName: 'a', formatSpec: '', conversion: null }] });
    assert.deepEqual(formatterParse(''), { items: [] });
  });

  it('keeps the tuples before an error, like a lazy iterator', () => {
    const parsed = formatterParse('ok {a} then }');
    assert.equal(parsed.items.length, 1);
    assert.deepEqual(parsed.error, { type: 'ValueError', message: "Single '}' encountered in format string", offset: 12 });
  });

  it('lets a bracket hide braces and colons in a field name, as CPython does', () => {
    assert.deepEqual(formatterParse('{a[}:]}').items[0].fieldName, 'a[}:]');
  });
});

describe('pythonFormat: fields and variables', () => {
  it('reports name, first identifier, access chain, conversion and spec with UTF-16 offsets', () => {
    const text = '😀 {user.name[0]!r:>{width}}';
    const { fields, variables, errors } = analyzePythonTemplate(text);
    assert.deepEqual(errors, []);
    assert.deepEqual(variables, ['user', 'width']);
    assert.equal(fields.length, 2);
    const [outer, nested] = fields;
    assert.equal(text.slice(outer.start, outer.end), '{user.name[0]!r:>{width}}');
    assert.equal(text.slice(outer.nameStart, outer.nameEnd), 'user.name[0]');
    assert.equal(outer.first, 'user');
    assert.equal(outer.conversion, 'r');
    assert.equal(outer.formatSpec, '>{width}');
    assert.equal(outer.depth, 0);
    assert.deepEqual(
      outer.access.map((a) => [a.kind, a.key, a.index, text.slice(a.start, a.end)]),
      [
        ['attribute', 'name', undefined, '.name'],
        ['index', '0', 0, '[0]'],
      ],
    );
    assert.equal(text.slice(nested.start, nested.end), '{width}');
    assert.equal(nested.depth, 1);
  });

  it('lists unique variables in order of first appearance, nested specs included', () => {
    assert.deepEqual(analyzePythonTemplate('{b} {a:{w}} {b.x} {a[0]:{p}.{w}}').variables, ['b', 'a', 'w', 'p']);
  });

  it('takes the first name up to the first . or [ whatever it contains', () => {
    assert.deepEqual(analyzePythonTemplate('{ name }{a]}{é😀.x}').variables, [' name ', 'a]', 'é😀']);
  });

  it('reads Unicode decimal digits as an index, as CPython does', () => {
    const field = analyzePythonTemplate('{a[٣]}').fields[0];
    assert.equal(field.access[0].index, 3);
  });
});

describe('pythonFormat: errors CPython raises whatever the values, at the offending character', () => {
  const cases: [string, string, number][] = [
    ['}', "Single '}' encountered in format string", 0],
    ['ab}c', "Single '}' encountered in format string", 2],
    ['ab{', "Single '{' encountered in format string", 2],
    ['x {name', "expected '}' before end of string", 2],
    ['{a[0}', "expected '}' before end of string", 0],
    ['{a:{b', "unmatched '{' in format spec", 0],
    ['{a!r', "unmatched '{' in format spec", 0],
    ['{a:{b:{c}}}', 'Max string recursion exceeded', 6],
    ['{a[0]x}', "Only '.' or '[' may follow ']' in format field specifier", 5],
    ['{a.}', 'Empty attribute in format string', 2],
    ['{a[]}', 'Empty attribute in format string', 2],
    ['{a{}', "unexpected '{' in field name", 2],
    ['{a!x}', 'Unknown conversion specifier x', 3],
    ['{a!é}', 'Unknown conversion specifier \\xe9', 3],
    ['{a!😀}', 'Unknown conversion specifier \\x1f600', 3],
    ['{a! }', 'Unknown conversion specifier \\x20', 3],
    ['{a!', 'end of string while looking for conversion specifier', 2],
    ['{a!rx}', "expected ':' after conversion specifier", 4],
    ['{99999999999999999999}', 'Too many decimal digits in format string', 1],
    ['{a[99999999999999999999]}', 'Too many decimal digits in format string', 3],
    ['😀}', "Single '}' encountered in format string", 2],
  ];
  for (const [text, message, offset] of cases) {
    it(`${JSON.stringify(text)}: ${message}`, () => {
      assert.deepEqual(firstError(text), [message, offset]);
    });
  }

  it('makes positional fields an error of ours, nested ones too', () => {
    for (const [text, name, offset] of [
      ['{0}', '0', 0],
      ['x {}', '', 2],
      ['{0.name}', '0.name', 0],
      ['{!r}', '', 0],
      ['{٣}', '٣', 0],
      ['{a:{0}}', '0', 3],
    ] as const) {
      assert.deepEqual(firstError(text), [`positional field {${name}}: prompts are rendered with keyword arguments; name the field`, offset], text);
    }
    assert.deepEqual(analyzePythonTemplate('{0} {a}').variables, ['a']);
  });

  it('reports every broken field in order, the first being what str.format raises', () => {
    const { errors } = analyzePythonTemplate('{a!x} {b[0]y} {c:{d:{e}}} }');
    assert.deepEqual(
      errors.map((e) => e.message),
      [
        'Unknown conversion specifier x',
        "Only '.' or '[' may follow ']' in format field specifier",
        'Max string recursion exceeded',
        "Single '}' encountered in format string",
      ],
    );
  });

  it('leaves value-dependent problems to rendering', () => {
    assert.deepEqual(analyzePythonTemplate('{a:d} {b:=5} {c.upper}').errors, []);
  });

  it('accepts a NUL conversion as no conversion, as CPython does', () => {
    assert.deepEqual(analyzePythonTemplate('{a!\0}').errors, []);
  });
});

describe('pythonFormat: rendering as template.format(**values) (expected values from CPython 3.11)', () => {
  const table: [string, Record<string, unknown>, { ok: string } | { error: string }][] = [
  ["{name:>10}|{name:<10}|{name:^10}|{name:*^9}", {"name": "Ada"}, { ok: "       Ada|Ada       |   Ada    |***Ada***" }],
  ["{name:.2}|{name:6.2}|{name:>06}|{name:06}", {"name": "Lovelace"}, { ok: "Lo|Lo    |Lovelace|Lovelace" }],
  ["{e:^5}|{e:.1}|{e:\ud83d\ude00>4}", {"e": "\ud83d\ude00\u00e9"}, { ok: " \ud83d\ude00\u00e9  |\ud83d\ude00|\ud83d\ude00\ud83d\ude00\ud83d\ude00\u00e9" }],
  ["{s!r}", {"s": "it's"}, { ok: "\"it's\"" }],
  ["{s!r}", {"s": "say \"hi\""}, { ok: "'say \"hi\"'" }],
  ["{s!r}", {"s": "both ' and \""}, { ok: "'both \\' and \"'" }],
  ["{s!r}", {"s": "tab\tnew\nline\r\\ \u0000\u007f"}, { ok: "'tab\\tnew\\nline\\r\\\\ \\x00\\x7f'" }],
  ["{s!r}", {"s": "\u00a0\u2028\u200b\ud800\u00e9\ud83d\ude00\u65e5\u672c"}, { ok: "'\\xa0\\u2028\\u200b\\ud800\u00e9\ud83d\ude00\u65e5\u672c'" }],
  ["{s!a}", {"s": "\u00e9\ud83d\ude00\u65e5\u672c\u00a0"}, { ok: "'\\xe9\\U0001f600\\u65e5\\u672c\\xa0'" }],
  ["{s!s:>6}", {"s": "x"}, { ok: "     x" }],
  ["{s!r:>8}", {"s": "x"}, { ok: "     'x'" }],
  ["{n}|{n:d}|{n:+d}|{n: d}|{n:x}|{n:#X}|{n:#b}|{n:o}|{n:,}|{n:_}|{n:_x}|{n:08}|{n:=+8}|{n:c}|{n:n}|{n:e}|{n:%}", {"n": 48879}, { ok: "48879|48879|+48879| 48879|beef|0XBEEF|0b1011111011101111|137357|48,879|48_879|beef|00048879|+  48879|\ubeef|48879|4.887900e+04|4887900.000000%" }],
  ["{n:010,}|{n:>+10,}|{n:^10}", {"n": -1234567}, { ok: "-1,234,567|-1,234,567| -1234567 " }],
  ["{x}|{x:.2f}|{x:.0f}|{x:e}|{x:.3e}|{x:g}|{x:.3g}|{x:%}|{x:.1%}|{x:10.4}|{x:,.2f}|{x:E}|{x:#.0f}", {"x": 1234.5}, { ok: "1234.5|1234.50|1234|1.234500e+03|1.234e+03|1234.5|1.23e+03|123450.000000%|123450.0%| 1.234e+03|1,234.50|1.234500E+03|1234." }],
  ["{a}|{b}|{c}|{d}|{e}", {"a": 0.1, "b": 1.5e-7, "c": 1e22, "d": 1e-5, "e": 2.5}, { ok: "0.1|1.5e-07|1e+22|1e-05|2.5" }],
  ["{h:.0f}|{h2:.0f}|{t:.2f}|{z:z.1f}|{z:.1f}", {"h": 0.5, "h2": 1.5, "t": 2.675, "z": -0.01}, { ok: "0|2|2.67|0.0|-0.0" }],
  ["{b}|{b:d}|{b:>5}|{b!r}", {"b": true}, { ok: "True|1|    1|True" }],
  ["{n}|{n!r}", {"n": null}, { ok: "None|None" }],
  ["{l}|{l[1]}|{l[2][k]}", {"l": ["a", 1, {"k": "v"}]}, { ok: "['a', 1, {'k': 'v'}]|1|v" }],
  ["{d}|{d[name]}|{d!a}", {"d": {"name": "Zo\u00eb", "n": [1.5, null, false]}}, { ok: "{'name': 'Zo\u00eb', 'n': [1.5, None, False]}|Zo\u00eb|{'name': 'Zo\\xeb', 'n': [1.5, None, False]}" }],
  ["{s[0]}{s[4]}", {"s": "\ud83d\ude00bcde"}, { ok: "\ud83d\ude00e" }],
  ["{w:{f}{a}{n}}|{w:>{n}}", {"w": "x", "f": "*", "a": "^", "n": "5"}, { ok: "**x**|    x" }],
  ["{{literal}} {x}", {"x": "y"}, { ok: "{literal} y" }],
  ["{a!\u0000}", {"a": "plain"}, { ok: "plain" }],
  ["{missing}", {}, { error: "KeyError: 'missing'" }],
  ["{it's}", {}, { error: "KeyError: \"it's\"" }],
  ["{0}", {}, { error: "IndexError: Replacement index 0 out of range for positional args tuple" }],
  ["{}", {}, { error: "IndexError: Replacement index 0 out of range for positional args tuple" }],
  ["{a.b}", {"a": "s"}, { error: "AttributeError: 'str' object has no attribute 'b'" }],
  ["{a[-1]}", {"a": "s"}, { error: "TypeError: string indices must be integers, not 'str'" }],
  ["{a[5]}", {"a": "s"}, { error: "IndexError: string index out of range" }],
  ["{a[5]}", {"a": []}, { error: "IndexError: list index out of range" }],
  ["{a[x]}", {"a": []}, { error: "TypeError: list indices must be integers or slices, not str" }],
  ["{a[0]}", {"a": {}}, { error: "KeyError: 0" }],
  ["{a[x]}", {"a": {}}, { error: "KeyError: 'x'" }],
  ["{a[0]}", {"a": 1}, { error: "TypeError: 'int' object is not subscriptable" }],
  ["{a[0]}", {"a": null}, { error: "TypeError: 'NoneType' object is not subscriptable" }],
  ["{a.x}", {"a": null}, { error: "AttributeError: 'NoneType' object has no attribute 'x'" }],
  ["{a:=5}", {"a": "s"}, { error: "ValueError: '=' alignment not allowed in string format specifier" }],
  ["{a:+}", {"a": "s"}, { error: "ValueError: Sign not allowed in string format specifier" }],
  ["{a: }", {"a": "s"}, { error: "ValueError: Space not allowed in string format specifier" }],
  ["{a:z}", {"a": "s"}, { error: "ValueError: Negative zero coercion (z) not allowed in string format specifier" }],
  ["{a:#}", {"a": "s"}, { error: "ValueError: Alternate form (#) not allowed in string format specifier" }],
  ["{a:d}", {"a": "s"}, { error: "ValueError: Unknown format code 'd' for object of type 'str'" }],
  ["{a:\u00e9}", {"a": "s"}, { error: "ValueError: Unknown format code '\\xe9' for object of type 'str'" }],
  ["{a:\u0000}", {"a": "s"}, { error: "ValueError: Unknown format code '\\x0' for object of type 'str'" }],
  ["{a:,}", {"a": "s"}, { error: "ValueError: Cannot specify ',' with 's'." }],
  ["{a:_}", {"a": "s"}, { error: "ValueError: Cannot specify '_' with 's'." }],
  ["{a:,_}", {"a": "s"}, { error: "ValueError: Cannot specify both ',' and '_'." }],
  ["{a:.}", {"a": "s"}, { error: "ValueError: Format specifier missing precision" }],
  ["{a:xx}", {"a": "s"}, { error: "ValueError: Invalid format specifier 'xx' for object of type 'str'" }],
  ["{a:99999999999999999999}", {"a": "s"}, { error: "ValueError: Too many decimal digits in format string" }],
  ["{a:.2}", {"a": 5}, { error: "ValueError: Precision not allowed in integer format specifier" }],
  ["{a:z}", {"a": 5}, { error: "ValueError: Negative zero coercion (z) not allowed in integer format specifier" }],
  ["{a:+c}", {"a": 65}, { error: "ValueError: Sign not allowed with integer format specifier 'c'" }],
  ["{a:#c}", {"a": 65}, { error: "ValueError: Alternate form (#) not allowed with integer format specifier 'c'" }],
  ["{a:c}", {"a": 1114112}, { error: "OverflowError: %c arg not in range(0x110000)" }],
  ["{a:s}", {"a": 5}, { error: "ValueError: Unknown format code 's' for object of type 'int'" }],
  ["{a:,c}", {"a": 5}, { error: "ValueError: Cannot specify ',' with 'c'." }],
  ["{a:,x}", {"a": 5}, { error: "ValueError: Cannot specify ',' with 'x'." }],
  ["{a:s}", {"a": 1.5}, { error: "ValueError: Unknown format code 's' for object of type 'float'" }],
  ["{a:_n}", {"a": 1.5}, { error: "ValueError: Cannot specify '_' with 'n'." }],
  ["{a:>5}", {"a": null}, { error: "TypeError: unsupported format string passed to NoneType.__format__" }],
  ["{a:>5}", {"a": [1]}, { error: "TypeError: unsupported format string passed to list.__format__" }],
  ["{a:>5}", {"a": {}}, { error: "TypeError: unsupported format string passed to dict.__format__" }],
  ["{a:{b}}", {"a": "s", "b": "{}"}, { error: "ValueError: Invalid format specifier '{}' for object of type 'str'" }],
  ["{a:{b:{c}}}", {"a": "s", "b": "", "c": ""}, { error: "ValueError: Max string recursion exceeded" }],
  ["{a:{b}}", {"a": "s"}, { error: "KeyError: 'b'" }],
  ["{x}}", {"x": "s"}, { error: "ValueError: Single '}' encountered in format string" }],
  ["{x} {", {"x": "s"}, { error: "ValueError: Single '{' encountered in format string" }],
  ["{missing} }", {}, { error: "KeyError: 'missing'" }],
  ];
  for (const [text, values, expected] of table) {
    it(`${JSON.stringify(text)} with ${JSON.stringify(values)}`, () => {
      assert.deepEqual(render(text, values), expected);
    });
  }

  it('throws a PythonFormatError with the type, the message and the offset of the field', () => {
    const text = 'Dear {customer_name},\n{body:d}';
    try {
      renderPythonTemplate(text, { customer_name: 'Ada', body: 'text' });
      assert.fail('expected an error');
    } catch (e) {
      assert.ok(e instanceof PythonFormatError);
      assert.equal(e.pythonType, 'ValueError');
      assert.equal(e.pythonMessage, "Unknown format code 'd' for object of type 'str'");
      assert.equal(e.message, "ValueError: Unknown format code 'd' for object of type 'str'");
      assert.equal(e.offset, text.indexOf('{body'));
    }
  });

  it('refuses attributes CPython would render with a memory address', () => {
    assert.throws(() => renderPythonTemplate('{a.upper}', { a: 's' }), UnsupportedTemplateValueError);
    assert.throws(() => renderPythonTemplate('{d.keys}', { d: {} }), UnsupportedTemplateValueError);
  });

  it('refuses values with no Python counterpart', () => {
    assert.throws(() => renderPythonTemplate('{m}', { m: new Map() }), UnsupportedTemplateValueError);
    assert.throws(() => renderPythonTemplate('{f}', { f: () => 1 }), UnsupportedTemplateValueError);
  });

  it('treats an undefined value as a missing key, as JSON would drop it', () => {
    assert.deepEqual(render('{a}', { a: undefined }), { error: "KeyError: 'a'" });
  });

  it('does not see keys inherited from Object.prototype', () => {
    assert.deepEqual(render('{constructor}', {}), { error: "KeyError: 'constructor'" });
  });

  it('reads large JavaScript numbers as the ints their JSON digits spell', () => {
    // The double nearest 100000010000000010000 is 100000010000000008192.
    assert.deepEqual(render('{n}', { n: 100000010000000010000 }), { ok: '100000010000000010000' });
    assert.deepEqual(render('{n} {x}', { n: 1e16, x: 1e21 }), { ok: '10000000000000000 1e+21' });
    assert.deepEqual(render('{n:,}', { n: 10n ** 30n }), { ok: '1' + ',000'.repeat(10) });
  });

  it('prints self-containing containers as CPython does', () => {
    const list: unknown[] = [1];
    list.push(list);
    assert.deepEqual(render('{l}', { l: list }), { ok: '[1, [...]]' });
  });
});

describe('pythonFormat: repr of str', () => {
  it('chooses quotes and escapes as CPython', () => {
    assert.equal(pythonStrRepr("it's"), `"it's"`);
    assert.equal(pythonStrRepr('say "hi"'), `'say "hi"'`);
    assert.equal(pythonStrRepr(`'"`), `'\\'"'`);
    assert.equal(pythonStrRepr('\u0085\u00ad\u0378\udfff'), "'\\x85\\xad\\u0378\\udfff'");
    assert.equal(pythonStrRepr('😀\u{e0001}'), "'😀\\U000e0001'");
    assert.equal(pythonStrRepr('😀', true), "'\\U0001f600'");
  });
});

describe('pythonFormat: limits on widths and precisions (ours, not CPython\'s)', () => {
  it('reports a literal width or precision over MAX_FORMAT_WIDTH as a limit error at its spec', () => {
    const text = 'Doc: {document:>130000000} n={n:.2147483647f} ok={x:>1000000}';
    const errors = analyzePythonTemplate(text).errors;
    assert.deepEqual(
      errors.map((e) => [e.kind, e.message, e.offset]),
      [
        ['limit', 'format spec width 130000000 is over the limit of 1,000,000', text.indexOf('>130000000')],
        ['limit', 'format spec precision 2147483647 is over the limit of 1,000,000', text.indexOf('.2147483647f')],
      ],
    );
    assert.equal(MAX_FORMAT_WIDTH, 1_000_000);
  });

  it('refuses them at render with a clear error instead of a RangeError, whatever the value', () => {
    for (const [text, values, message] of [
      ['{n:.2147483647f}', { n: 1.5 }, 'format spec precision 2147483647 is over the limit of 1,000,000'],
      ['{document:>130000000}'.repeat(5), { document: 'x' }, 'format spec width 130000000 is over the limit of 1,000,000'],
      ['{d:>{w}}', { d: 'x', w: 5_000_000 }, 'format spec width 5000000 is over the limit of 1,000,000'],
    ] as const) {
      assert.throws(
        () => renderPythonTemplate(text, values),
        (e: unknown) => e instanceof UnsupportedTemplateValueError && e.message === message,
        text,
      );
    }
    assert.equal(renderPythonTemplate('{x:>1000000}', { x: 'a' }).length, 1_000_000);
  });

  it('a result longer than a string can hold is a clear error, not "Invalid string length"', () => {
    assert.throws(
      () => renderPythonTemplate('{d:>999999}'.repeat(600), { d: 'x' }),
      (e: unknown) => e instanceof UnsupportedTemplateValueError && e.message === 'the rendered template would be longer than a string can hold',
    );
  });
});
