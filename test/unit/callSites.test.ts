import * as assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import {
  callSiteSourceMatcher,
  isCallSiteSource,
  isLoaderFunction,
  mayContainCallSites,
  parsePromptReference,
  sourceLanguageForPath,
  variableInsertionText,
} from '../../src/core/callSites';
import type { CallSite, SourceLanguage } from '../../src/core/callSites';
import type { Range } from '../../src/core/finding';
import { LineIndex } from '../../src/core/lineIndex';
import { defaultRepoSettings, DEFAULT_RENDER_FUNCTIONS } from '../../src/core/repoSettings';
import { createSourceParser, locateWasm } from '../../src/node/treeSitter';
import type { SourceParser } from '../../src/node/treeSitter';

const fixtures = path.join(__dirname, '..', 'fixtures', 'callSites');

let parser: SourceParser;

before(async () => {
  parser = await createSourceParser();
});

after(() => parser.dispose());

function sites(text: string, language: SourceLanguage, functions: readonly string[] = DEFAULT_RENDER_FUNCTIONS): CallSite[] {
  return parser.callSitesOf(text, language, functions);
}

function only(text: string, language: SourceLanguage): CallSite {
  const found = sites(text, language);
  assert.equal(found.length, 1, `expected one call site, found ${found.length}`);
  return found[0];
}

/** The range of `needle` inside the first occurrence of `context` (the whole context by default). */
function at(text: string, context: string, needle: string = context, from = 0): Range {
  const c = text.indexOf(context, from);
  assert.ok(c >= 0, `context not found: ${context}`);
  const n = text.indexOf(needle, c);
  assert.ok(n >= 0 && n + needle.length <= c + context.length, `needle not inside context: ${needle}`);
  return new LineIndex(text).rangeOf(n, n + needle.length);
}

function r(line: number, start: number, endLine: number, end: number): Range {
  return { start: { line, character: start }, end: { line: endLine, character: end } };
}

function names(site: CallSite): string[] {
  return site.variables.map((v) => v.name);
}

/** Applies the quick fix that adds `name` and checks the result still parses to a site supplying it. */
function withVariable(text: string, language: SourceLanguage, site: CallSite, name: string, value: string): string {
  assert.ok(site.insertion, 'site has an insertion point');
  const insert = variableInsertionText(site.insertion, name, value);
  assert.ok(insert !== undefined);
  const fixed = text.slice(0, site.insertion.offset) + insert + text.slice(site.insertion.offset);
  const tree = parser.parse(fixed, language);
  try {
    assert.equal(tree.rootNode.hasError, false, `fixed text has a syntax error:\n${fixed}`);
  } finally {
    tree.delete();
  }
  const again = sites(fixed, language).find((s) => s.range.start.line === site.range.start.line);
  assert.ok(again && again.variables.some((v) => v.name === name), `the fixed site supplies ${name}`);
  return fixed;
}

describe('call sites: Python', () => {
  it('reads keyword arguments with exact ranges', () => {
    const text = 'out = render_prompt("summarisation", customer_name=x, document=d)\n';
    const site = only(text, 'python');
    assert.equal(site.promptName, 'summarisation');
    assert.equal(site.version, undefined);
    assert.equal(site.callee, 'render_prompt');
    assert.equal(site.language, 'python');
    assert.deepEqual(site.range, r(0, 6, 0, 65));
    assert.deepEqual(site.calleeRange, r(0, 6, 0, 19));
    assert.deepEqual(site.promptNameRange, r(0, 21, 0, 34));
    assert.deepEqual(site.variables, [
      { name: 'customer_name', range: r(0, 37, 0, 50), valueRange: r(0, 51, 0, 52) },
      { name: 'document', range: r(0, 54, 0, 62), valueRange: r(0, 63, 0, 64) },
    ]);
    assert.equal(site.dynamic, undefined);
    assert.equal(site.passesVariables, true);
  });

  it('counts UTF-16 units when non-ASCII text comes before the call', () => {
    // "é" is one UTF-16 unit (two UTF-8 bytes), "🚀" two units (four bytes), "—" one unit (three bytes).
    const text = '# café — naïve\nlabel = "🚀é"; render_prompt("summarisation", document=d)\n';
    const site = only(text, 'python');
    assert.deepEqual(site.calleeRange, r(1, 15, 1, 28));
    assert.deepEqual(site.promptNameRange, r(1, 30, 1, 43));
    assert.deepEqual(site.variables[0].range, r(1, 46, 1, 54));
    assert.equal(text.slice(site.insertion!.offset - 1, site.insertion!.offset + 1), 'd)');
  });

  it('takes the last name of an attribute callee', () => {
    const text = 'llm.prompts.render_prompt("classification", ticket_body=t)\n';
    const site = only(text, 'python');
    assert.equal(site.callee, 'render_prompt');
    assert.deepEqual(site.calleeRange, at(text, 'render_prompt'));
    assert.deepEqual(site.range, r(0, 0, 0, 58));
  });

  it('reads a multi-line call', () => {
    const text = [
      'def f(doc, customer):',
      '    return render_prompt(',
      '        "summarisation",',
      '        customer_name=customer.name,',
      '        document=doc,',
      '    )',
      '',
    ].join('\n');
    const site = only(text, 'python');
    assert.deepEqual(site.range, r(1, 11, 5, 5));
    assert.deepEqual(site.promptNameRange, r(2, 9, 2, 22));
    assert.deepEqual(names(site), ['customer_name', 'document']);
    assert.deepEqual(site.variables[0], { name: 'customer_name', range: r(3, 8, 3, 21), valueRange: r(3, 22, 3, 35) });
  });

  it('reads a dict literal with string keys, ranges inside the quotes', () => {
    const text = 'render_prompt("summarisation", {"customer_name": x, \'document\': d})\n';
    const site = only(text, 'python');
    assert.deepEqual(site.variables, [
      { name: 'customer_name', range: r(0, 33, 0, 46), valueRange: r(0, 49, 0, 50) },
      { name: 'document', range: r(0, 53, 0, 61), valueRange: r(0, 64, 0, 65) },
    ]);
    assert.equal(site.dynamic, undefined);
    assert.equal(site.insertion?.style, 'python-dict');
  });

  it('reads dict(...) passed as the mapping', () => {
    const site = only('render_prompt("summarisation", dict(customer_name=x, document=d))\n', 'python');
    assert.deepEqual(names(site), ['customer_name', 'document']);
    assert.equal(site.insertion?.style, 'python-kwarg');
  });

  it('makes a dict with a non-literal key dynamic', () => {
    const text = 'render_prompt("summarisation", {KEY: x, "document": d})\n';
    const site = only(text, 'python');
    assert.deepEqual(names(site), ['document']);
    assert.ok(site.dynamic);
    assert.deepEqual(site.dynamic.range, at(text, 'KEY'));
    assert.match(site.dynamic.reason, /KEY/);
  });

  it('makes ** in a dict literal and a dict comprehension dynamic', () => {
    const splat = only('render_prompt("s", {"a": 1, **base})\n', 'python');
    assert.deepEqual(names(splat), ['a']);
    assert.match(splat.dynamic!.reason, /\*\*base/);
    const comp = only('render_prompt("s", {k: v for k, v in pairs})\n', 'python');
    assert.ok(comp.dynamic);
    assert.match(comp.dynamic.reason, /can't be known statically/);
  });

  it('reads the version from name/vN with its range', () => {
    const text = 'render_prompt("summarisation/v2", document=d)\n';
    const site = only(text, 'python');
    assert.equal(site.promptName, 'summarisation');
    assert.equal(site.version, 2);
    assert.deepEqual(site.versionRange, at(text, 'v2"', 'v2'));
    assert.deepEqual(site.promptNameRange, at(text, 'summarisation/v2'));
  });

  it('reads version= as the version, not a variable', () => {
    const text = 'render_prompt("summarisation", document=d, version=3)\n';
    const site = only(text, 'python');
    assert.equal(site.version, 3);
    assert.deepEqual(site.versionRange, at(text, '3)', '3'));
    assert.deepEqual(names(site), ['document']);
  });

  it('reports a version it cannot read without guessing one', () => {
    const text = 'render_prompt("summarisation", document=d, version=current_version)\n';
    const site = only(text, 'python');
    assert.equal(site.version, undefined);
    assert.deepEqual(site.unknownVersion?.range, at(text, 'current_version'));
    assert.equal(site.dynamic, undefined, 'the variables are still known');
  });

  it('makes **kwargs dynamic, keeping the keywords it can read', () => {
    const text = 'render_prompt("summarisation", document=d, **ctx)\n';
    const site = only(text, 'python');
    assert.deepEqual(names(site), ['document']);
    assert.deepEqual(site.dynamic, {
      reason: "`**ctx` passes variables that can't be known statically",
      range: at(text, '**ctx'),
    });
  });

  it('makes a variable passed as the mapping dynamic', () => {
    const text = 'vars = {"document": d}\nrender_prompt("summarisation", vars)\n';
    const site = only(text, 'python');
    assert.deepEqual(site.variables, []);
    assert.deepEqual(site.dynamic, {
      reason: "the variables are passed as `vars`, which can't be known statically",
      range: r(1, 31, 1, 35),
    });
    assert.equal(site.insertion?.style, 'python-kwarg');
  });

  it('reads **{...} and **dict(...) as static, but not **make_vars()', () => {
    const literal = only('render_prompt("s", a=1, **{"b": 2, "version": 3})\n', 'python');
    assert.deepEqual(names(literal), ['a', 'b']);
    assert.equal(literal.version, 3);
    assert.equal(literal.dynamic, undefined);
    assert.deepEqual(names(only('render_prompt("s", **dict(a=1))\n', 'python')), ['a']);
    const call = only('render_prompt("s", **make_vars())\n', 'python');
    assert.equal(call.dynamic?.reason, "`**make_vars()` passes variables that can't be known statically");
  });

  it('makes *args dynamic', () => {
    const site = only('render_prompt("summarisation", *args)\n', 'python');
    assert.match(site.dynamic!.reason, /\*args/);
  });

  it('reads a chained .format(...) and spans the whole chain', () => {
    const text = 'text = load_prompt("summarisation").format(customer_name=c, document=d)\n';
    const site = only(text, 'python');
    assert.equal(site.callee, 'load_prompt');
    assert.deepEqual(site.range, r(0, 7, 0, 71));
    assert.deepEqual(site.calleeRange, r(0, 7, 0, 18));
    assert.deepEqual(site.variables, [
      { name: 'customer_name', range: r(0, 43, 0, 56), valueRange: r(0, 57, 0, 58) },
      { name: 'document', range: r(0, 60, 0, 68), valueRange: r(0, 69, 0, 70) },
    ]);
    assert.equal(site.insertion?.offset, text.indexOf('d)') + 1);
  });

  it('treats version= inside .format(...) as a template variable, and the loader\'s version= as the version', () => {
    const site = only('load_prompt("release_notes", version=4).format(version=v, changes=c)\n', 'python');
    assert.equal(site.version, 4);
    assert.deepEqual(names(site), ['version', 'changes']);
  });

  it('makes .format(**example) dynamic and reads .format_map({...})', () => {
    const fmt = only('load_prompt("summarisation").format(**example["inputs"])\n', 'python');
    assert.match(fmt.dynamic!.reason, /\*\*example\["inputs"\]/);
    const map = only('load_prompt("summarisation").format_map({"document": d, "version": v})\n', 'python');
    assert.deepEqual(names(map), ['document', 'version']);
    assert.equal(map.version, undefined);
    assert.equal(map.insertion?.style, 'python-dict');
  });

  it('marks a bare load that renders elsewhere', () => {
    const site = only('template = load_prompt("summarisation")\n', 'python');
    assert.equal(site.passesVariables, false);
    assert.deepEqual(site.variables, []);
    assert.equal(site.dynamic, undefined);
    assert.equal(only('load_prompt("summarisation", version=2)\n', 'python').passesVariables, false);
    // A render function renders where it is called: no variables means none are passed.
    assert.equal(only('text = render_prompt("summarisation")\n', 'python').passesVariables, true);
    assert.equal(only('text = render_prompt("summarisation", version=2)\n', 'python').passesVariables, true);
  });

  it('tells loaders from render functions by name', () => {
    for (const name of ['load_prompt', 'loadPrompt', 'load', 'LoadPrompt', 'LOAD_PROMPT', 'load2']) assert.ok(isLoaderFunction(name), name);
    for (const name of ['render_prompt', 'renderPrompt', 'loader', 'loads', 'download_prompt', 'render_user_template']) {
      assert.ok(!isLoaderFunction(name), name);
    }
  });

  it('is not a call site when the name is a variable, an f-string, a concatenation or bytes', () => {
    const text = [
      'render_prompt(name, document=d)',
      'render_prompt(f"summ{suffix}", document=d)',
      'render_prompt("summ" "arisation", document=d)',
      'render_prompt("summ" + "arisation", document=d)',
      'render_prompt(b"summarisation", document=d)',
      'render_prompt("summ\\x61risation", document=d)',
      'render_prompt(prompt="summarisation", document=d)',
      'render_prompt()',
      'print("render_prompt(\'summarisation\', document=d)")',
      '# render_prompt("summarisation", document=d)',
      'other("summarisation", document=d)',
      '',
    ].join('\n');
    assert.deepEqual(sites(text, 'python'), []);
  });

  it('accepts raw, triple-quoted, parenthesised and placeholder-free f-string names', () => {
    const text = [
      'render_prompt(r"summarisation", a=1)',
      'render_prompt("""summarisation""", a=1)',
      'render_prompt(("summarisation"), a=1)',
      'render_prompt(f"summarisation", a=1)',
      '',
    ].join('\n');
    const found = sites(text, 'python');
    assert.deepEqual(found.map((s) => s.promptName), ['summarisation', 'summarisation', 'summarisation', 'summarisation']);
    assert.deepEqual(found[1].promptNameRange, r(1, 17, 1, 30));
  });

  it('finds calls nested in other expressions, lambdas and decorators', () => {
    const text = [
      '@cache(key=lambda d: render_prompt("summarisation", document=d))',
      'async def f(xs):',
      '    await render_prompt("release_notes", changes=xs)',
      '    return [render_prompt("classification", ticket_body=x) for x in xs]',
      '',
    ].join('\n');
    assert.deepEqual(sites(text, 'python').map((s) => s.promptName), ['summarisation', 'release_notes', 'classification']);
  });

  it('uses only the configured functions', () => {
    const text = 'make_prompt("summarisation", document=d)\nrender_prompt("summarisation", document=d)\n';
    assert.deepEqual(sites(text, 'python', ['make_prompt']).map((s) => s.callee), ['make_prompt']);
  });

  it('still finds sites in a file with a syntax error elsewhere', () => {
    const text = 'def broken(:\n    pass\n\nrender_prompt("summarisation", document=d)\n';
    assert.deepEqual(sites(text, 'python').map((s) => s.promptName), ['summarisation']);
  });

  it('handles CRLF line endings', () => {
    const text = 'x = 1\r\nrender_prompt(\r\n    "summarisation",\r\n    document=d,\r\n)\r\n';
    const site = only(text, 'python');
    assert.deepEqual(site.variables[0].range, r(3, 4, 3, 12));
    assert.equal(site.insertion?.indent, '    ');
  });
});

describe('call sites: Python insertion points', () => {
  it('one-line kwargs call', () => {
    const text = 'render_prompt("summarisation", customer_name=x)\n';
    const site = only(text, 'python');
    assert.deepEqual(site.insertion, {
      offset: 46,
      position: { line: 0, character: 46 },
      style: 'python-kwarg',
      needsComma: true,
      trailingComma: false,
      empty: false,
    });
    assert.equal(withVariable(text, 'python', site, 'document', 'None'), 'render_prompt("summarisation", customer_name=x, document=None)\n');
  });

  it('a call with the name only', () => {
    const text = 'render_prompt("summarisation")\n';
    const site = only(text, 'python');
    assert.equal(withVariable(text, 'python', site, 'document', 'doc'), 'render_prompt("summarisation", document=doc)\n');
  });

  it('multi-line kwargs with a trailing comma', () => {
    const text = 'render_prompt(\n    "summarisation",\n    customer_name=x,\n)\n';
    const site = only(text, 'python');
    assert.equal(site.insertion?.indent, '    ');
    assert.equal(site.insertion?.needsComma, false);
    assert.equal(
      withVariable(text, 'python', site, 'document', 'None'),
      'render_prompt(\n    "summarisation",\n    customer_name=x,\n    document=None,\n)\n',
    );
  });

  it('multi-line kwargs without a trailing comma', () => {
    const text = 'render_prompt(\n    "summarisation",\n    customer_name=x\n)\n';
    const site = only(text, 'python');
    assert.equal(
      withVariable(text, 'python', site, 'document', 'None'),
      'render_prompt(\n    "summarisation",\n    customer_name=x,\n    document=None\n)\n',
    );
  });

  it('a multi-line dict with a trailing comma and a comment after it', () => {
    const file = readFileSync(path.join(fixtures, 'summarise_service.py'), 'utf8');
    const site = sites(file, 'python').find((s) => s.insertion?.style === 'python-dict')!;
    assert.equal(site.insertion?.indent, '            ');
    assert.equal(site.insertion?.quote, "'");
    const fixed = withVariable(file, 'python', site, 'tone', 'tone');
    assert.ok(fixed.includes(`'product': ticket.product,  # the catalogue name\n            'tone': tone,\n        },\n`));
  });

  it('an empty dict', () => {
    const text = 'render_prompt("summarisation", {})\n';
    const site = only(text, 'python');
    assert.equal(site.insertion?.empty, true);
    assert.equal(withVariable(text, 'python', site, 'document', 'd'), 'render_prompt("summarisation", {"document": d})\n');
  });

  it('a chained .format(...)', () => {
    const text = 'load_prompt("summarisation").format(\n    customer_name=c,\n)\n';
    const site = only(text, 'python');
    assert.equal(
      withVariable(text, 'python', site, 'document', 'd'),
      'load_prompt("summarisation").format(\n    customer_name=c,\n    document=d,\n)\n',
    );
  });

  it('refuses a Python keyword as a keyword argument', () => {
    const site = only('render_prompt("s", a=1)\n', 'python');
    assert.equal(variableInsertionText(site.insertion!, 'class', 'x'), undefined);
  });
});

describe('call sites: TypeScript and JavaScript', () => {
  it('reads an object literal with exact ranges', () => {
    const text = 'const out = renderPrompt("summarisation", { customerName: name, document });\n';
    const site = only(text, 'typescript');
    assert.equal(site.callee, 'renderPrompt');
    assert.deepEqual(site.range, r(0, 12, 0, 75));
    assert.deepEqual(site.calleeRange, r(0, 12, 0, 24));
    assert.deepEqual(site.promptNameRange, r(0, 26, 0, 39));
    assert.deepEqual(site.variables, [
      { name: 'customerName', range: r(0, 44, 0, 56), valueRange: r(0, 58, 0, 62) },
      { name: 'document', range: r(0, 64, 0, 72) },
    ]);
    assert.equal(site.language, 'typescript');
  });

  it('reads shorthand properties and the version key', () => {
    const text = "prompts.renderPrompt('x', {a, b: 1, version: 2})\n";
    const site = only(text, 'typescript');
    assert.equal(site.promptName, 'x');
    assert.equal(site.version, 2);
    assert.deepEqual(site.versionRange, at(text, 'version: 2', '2'));
    assert.deepEqual(names(site), ['a', 'b']);
    assert.equal(site.variables[0].valueRange, undefined);
  });

  it('reads quoted keys, with ranges inside the quotes', () => {
    const text = "renderPrompt('summarisation', {'customer_name': x, \"document\": d})\n";
    const site = only(text, 'javascript');
    assert.deepEqual(site.variables, [
      { name: 'customer_name', range: r(0, 32, 0, 45), valueRange: r(0, 48, 0, 49) },
      { name: 'document', range: r(0, 52, 0, 60), valueRange: r(0, 63, 0, 64) },
    ]);
  });

  it('makes computed keys dynamic, except a computed string literal', () => {
    const text = "renderPrompt('s', { [key]: 1, ['b']: 2 })\n";
    const site = only(text, 'typescript');
    assert.deepEqual(names(site), ['b']);
    assert.deepEqual(site.dynamic?.range, at(text, '[key]'));
  });

  it('makes a spread dynamic', () => {
    const text = "renderPrompt('s', { ...vars, b: 1 })\n";
    const site = only(text, 'typescript');
    assert.deepEqual(site.dynamic, { reason: "`...vars` spreads variables that can't be known statically", range: at(text, '...vars') });
    assert.deepEqual(names(site), ['b']);
  });

  it('makes a variable as the second argument dynamic, also behind `as`', () => {
    const plain = only("renderPrompt('s', vars)\n", 'typescript');
    assert.equal(plain.dynamic?.reason, "the variables are passed as `vars`, which can't be known statically");
    const cast = only("renderPrompt('s', vars as Vars)\n", 'typescript');
    assert.equal(cast.dynamic?.reason, "the variables are passed as `vars`, which can't be known statically");
    const call = only("renderPrompt('s', build(x))\n", 'javascript');
    assert.ok(call.dynamic);
  });

  it('sees through `satisfies`, `as const`, `!` and parentheses around the object', () => {
    const text = "renderPrompt('s', ({ a: 1 } satisfies V));\nrenderPrompt('t' as const, { b: 2 }!);\n";
    assert.deepEqual(sites(text, 'typescript').map(names), [['a'], ['b']]);
  });

  it('counts a template literal without substitutions as a string literal', () => {
    const text = 'renderPrompt(`summarisation/v3`, { document })\n';
    const site = only(text, 'typescript');
    assert.equal(site.promptName, 'summarisation');
    assert.equal(site.version, 3);
    assert.deepEqual(site.promptNameRange, r(0, 14, 0, 30));
  });

  it('reads await, optional chaining and type arguments', () => {
    const text = [
      "const a = await renderPrompt('one', { x });",
      "const b = await prompts?.renderPrompt<string>('two', { y });",
      "const c = renderPrompt?.('three', { z });",
      "const d = this.client.prompts.renderPrompt('four', { w });",
      '',
    ].join('\n');
    const found = sites(text, 'typescript');
    assert.deepEqual(found.map((s) => [s.promptName, names(s)]), [['one', ['x']], ['two', ['y']], ['three', ['z']], ['four', ['w']]]);
    assert.deepEqual(found[1].calleeRange, at(text, 'renderPrompt<', 'renderPrompt'));
  });

  it('is not a call site when the name is built or a variable', () => {
    const text = [
      'renderPrompt(name, {});',
      'renderPrompt(`summ${x}`, {});',
      "renderPrompt('summ' + 'arisation', {});",
      "renderPrompt('summ\\u0061', {});",
      'renderPrompt`summarisation`;',
      "renderPrompt['call']('summarisation', {});",
      "other('summarisation', {});",
      "const s = \"renderPrompt('summarisation', {})\";",
      '',
    ].join('\n');
    assert.deepEqual(sites(text, 'typescript'), []);
  });

  it('reads a chained .format({...})', () => {
    const text = "loadPrompt('summarisation').format({ document, customer_name: 'x' })\n";
    const site = only(text, 'javascript');
    assert.deepEqual(names(site), ['document', 'customer_name']);
    assert.deepEqual(site.range, r(0, 0, 0, 68));
  });

  it('marks a bare load; a render function with no variables, or `undefined`, passes none', () => {
    assert.equal(only("const t = loadPrompt('summarisation');\n", 'typescript').passesVariables, false);
    const u = only("renderPrompt('summarisation', undefined);\n", 'typescript');
    assert.equal(u.dynamic, undefined);
    assert.equal(u.passesVariables, true);
    assert.deepEqual(u.variables, []);
    const bare = only("renderPrompt('summarisation');\n", 'typescript');
    assert.equal(bare.passesVariables, true);
    assert.deepEqual(bare.variables, []);
  });

  it('parses JSX in .jsx files and TSX', () => {
    const jsx = only('const P = () => <p>{renderPrompt("s", { a })}</p>;\n', 'javascript');
    assert.deepEqual(names(jsx), ['a']);
    const tsx = only('const P = (p: Props) => <p title={renderPrompt<string>("s", { b })} />;\n', 'tsx');
    assert.deepEqual(names(tsx), ['b']);
    assert.equal(tsx.language, 'tsx');
  });

  it('counts UTF-16 units when non-ASCII text comes before the call', () => {
    const text = "// Über 🚀\nconst l = '🚀'; renderPrompt('summarisation', { document });\n";
    const site = only(text, 'typescript');
    assert.deepEqual(site.calleeRange, r(1, 16, 1, 28));
    assert.deepEqual(site.variables[0].range, r(1, 48, 1, 56));
  });
});

describe('call sites: TypeScript insertion points', () => {
  it('an empty object literal', () => {
    const text = "renderPrompt('summarisation', {});\n";
    const site = only(text, 'typescript');
    assert.deepEqual(site.insertion, {
      offset: 31,
      position: { line: 0, character: 31 },
      style: 'object-literal',
      needsComma: false,
      trailingComma: false,
      empty: true,
    });
    assert.equal(withVariable(text, 'typescript', site, 'document', 'document'), "renderPrompt('summarisation', { document });\n");
  });

  it('a one-line object literal', () => {
    const text = "renderPrompt('summarisation', { document });\n";
    const site = only(text, 'typescript');
    assert.equal(
      withVariable(text, 'typescript', site, 'customer_name', "''"),
      "renderPrompt('summarisation', { document, customer_name: '' });\n",
    );
  });

  it('a multi-line object literal with a trailing comma', () => {
    const text = "renderPrompt('summarisation', {\n  document,\n  tone: 'formal',\n});\n";
    const site = only(text, 'typescript');
    assert.equal(
      withVariable(text, 'typescript', site, 'customerName', 'customer.name'),
      "renderPrompt('summarisation', {\n  document,\n  tone: 'formal',\n  customerName: customer.name,\n});\n",
    );
  });

  it('keeps quoting keys in a JSON-like object', () => {
    const text = "renderPrompt('summarisation', { \"document\": d })\n";
    const site = only(text, 'javascript');
    assert.equal(site.insertion?.quote, '"');
    assert.equal(
      withVariable(text, 'javascript', site, 'customer_name', 'c'),
      "renderPrompt('summarisation', { \"document\": d, \"customer_name\": c })\n",
    );
  });

  it('adds an object argument to a call that passes none', () => {
    const text = "renderPrompt('summarisation');\n";
    const site = only(text, 'typescript');
    assert.equal(site.insertion?.style, 'object-argument');
    assert.equal(withVariable(text, 'typescript', site, 'document', 'doc'), "renderPrompt('summarisation', { document: doc });\n");
  });
});

describe('call sites: fixture sources', () => {
  function fixture(name: string): { text: string; found: CallSite[] } {
    const text = readFileSync(path.join(fixtures, name), 'utf8');
    const language = sourceLanguageForPath(name);
    assert.ok(language);
    return { text, found: sites(text, language) };
  }

  it('Python service', () => {
    const { text, found } = fixture('summarise_service.py');
    assert.deepEqual(
      found.map((s) => [s.promptName, s.version, names(s), s.dynamic !== undefined, s.passesVariables]),
      [
        ['summarisation', undefined, ['customer_name', 'document'], false, true],
        ['summarisation', 2, ['customer_name', 'document', 'tone'], false, true],
        ['classification', undefined, [], true, true],
        ['classification', 2, ['ticket_body', 'product'], false, true],
        ['summarisation', undefined, [], false, false],
        ['summarisation', undefined, ['customer_name', 'document'], false, true],
        ['summarisation', undefined, ['document'], true, true],
      ],
    );
    // The first call follows "🚀" on the same line: two UTF-16 units.
    assert.deepEqual(found[0].calleeRange, at(text, 'text = render_prompt', 'render_prompt'));
    assert.equal(found[0].calleeRange.start.character, 25);
    assert.deepEqual(found[3].variables[1].range, at(text, "'product'", 'product'));
    assert.deepEqual(found[2].dynamic?.range, at(text, '"classification", variables)', 'variables'));
  });

  it('TypeScript handlers', () => {
    const { text, found } = fixture('handlers.ts');
    assert.deepEqual(
      found.map((s) => [s.promptName, s.version, names(s), s.dynamic?.reason]),
      [
        ['summarisation', undefined, ['customerName', 'document'], undefined],
        ['summarisation', 2, ['customerName', 'document', 'tone'], undefined],
        ['classification', 2, ['ticketBody', 'product'], undefined],
        ['classification', undefined, ['ticket_body', 'product'], undefined],
        ['classification', undefined, [], "the variables are passed as `vars`, which can't be known statically"],
        ['classification', undefined, ['product'], "`...vars` spreads variables that can't be known statically"],
        ['classification', undefined, [], "the key `[key]` can't be known statically"],
        ['classification', undefined, ['product', 'ticket_body'], undefined],
      ],
    );
    assert.equal(found[0].calleeRange.start.character, 41);
    assert.deepEqual(found[0].calleeRange, at(text, 'await renderPrompt', 'renderPrompt'));
    assert.deepEqual(found[3].variables[0].range, at(text, "'ticket_body'", 'ticket_body'));
    assert.equal(found[3].insertion?.quote, "'");
    assert.equal(found[1].insertion?.indent, '    ');
  });

  it('TSX component', () => {
    const { found } = fixture('SummaryPreview.tsx');
    assert.deepEqual(found.map((s) => [s.promptName, s.version, names(s)]), [
      ['summarisation', undefined, ['customer_name', 'document']],
      ['summarisation', 1, ['document']],
    ]);
  });

  it('CommonJS worker and JSX', () => {
    assert.deepEqual(fixture('worker.js').found.map((s) => [s.callee, s.promptName, names(s)]), [
      ['renderPrompt', 'classification', ['ticket_body', 'product']],
      ['loadPrompt', 'summarisation', ['document', 'customer_name']],
    ]);
    assert.deepEqual(fixture('Preview.jsx').found.map(names), [['document', 'customer_name']]);
  });
});

describe('call sites: helpers', () => {
  it('splits name/vN', () => {
    assert.deepEqual(parsePromptReference('summarisation/v12'), { promptName: 'summarisation', version: 12, versionOffset: 14 });
    assert.deepEqual(parsePromptReference('summarisation'), { promptName: 'summarisation' });
    assert.deepEqual(parsePromptReference('summarisation/v0'), { promptName: 'summarisation/v0' });
    assert.deepEqual(parsePromptReference('/v2'), { promptName: '/v2' });
  });

  it('maps file extensions to languages', () => {
    const cases: Array<[string, SourceLanguage | undefined]> = [
      ['app/service.py', 'python'],
      ['src/a.ts', 'typescript'],
      ['src/a.mts', 'typescript'],
      ['src/a.cts', 'typescript'],
      ['src/A.tsx', 'tsx'],
      ['src/a.js', 'javascript'],
      ['src/a.mjs', 'javascript'],
      ['src/a.cjs', 'javascript'],
      ['src/A.jsx', 'javascript'],
      ['README.md', undefined],
      ['src.py/Makefile', undefined],
    ];
    for (const [p, lang] of cases) assert.equal(sourceLanguageForPath(p), lang, p);
    assert.equal(parser.languageForPath('x.tsx'), 'tsx');
  });

  it('filters sources with the default include/exclude globs', () => {
    const { callSites } = defaultRepoSettings();
    const yes = ['app.py', 'src/service.py', 'web/App.tsx', 'lib/a.mjs', 'lib/a.cjs', 'a/b/c/d.jsx', './src/x.ts'];
    const no = [
      'node_modules/x/index.js',
      'packages/a/node_modules/b/index.js',
      'node_modules/.pnpm/x/index.js',
      'dist/cli.js',
      'web/dist/main.js',
      'out/test/a.js',
      '.venv/lib/site.py',
      'docs/readme.md',
      'prompts/summarisation/v1/user.template.md',
    ];
    for (const p of yes) assert.equal(isCallSiteSource(p, callSites), true, p);
    for (const p of no) assert.equal(isCallSiteSource(p, callSites), false, p);
  });

  it('filters sources with a team\'s own globs', () => {
    const match = callSiteSourceMatcher({
      functions: ['render'],
      include: ['services/**/*.py', '.github/scripts/*.py'],
      exclude: ['**/*_test.py'],
    });
    assert.equal(match('services/api/handlers.py'), true);
    assert.equal(match('services/api/handlers_test.py'), false);
    assert.equal(match('web/app.ts'), false);
    assert.equal(match('.github/scripts/release.py'), true);
  });

  it('skips only files that cannot hold a call site', () => {
    assert.equal(mayContainCallSites('import os\nprint(os.getcwd())\n', DEFAULT_RENDER_FUNCTIONS), false);
    assert.equal(mayContainCallSites('# see render_prompt\n', DEFAULT_RENDER_FUNCTIONS), true);
    assert.equal(mayContainCallSites('anything', []), false);
    assert.deepEqual(sites('# render_prompt("summarisation", document=d)\n', 'python'), []);
  });

  it('prefilters as a search for each name would, names with pattern characters, empty names and lone surrogates included', () => {
    const lists: string[][] = [
      DEFAULT_RENDER_FUNCTIONS.slice(),
      ['a.b', 'x|y', '$end', '(open', 'back\\slash', '[set]', 'star*', 'q?', 'plus+', '^caret', '{1}', 'a-b', 'sl/ash'],
      ['', 'render'],
      [''],
      [],
      ['\ud800', 'é'],
      ['a\u0000b'],
      ['a', 'b'],
    ];
    const texts = ['', 'render', 'aXb', 'a.b', 'xy', 'x|y', 'end$', '$end', 'open(', '(open', 'back\\slash', 'backslash', 's', '[set]', 'star', 'star*', 'q', 'q?', '^caret', 'caret', '{1}', '1', 'a-b', 'ab', 'sl/ash', '\ud800x', '\ud83d\ude00', 'e\u0301', 'é', 'a\u0000b', 'a b'];
    for (const names of lists) {
      for (const text of texts) {
        const expected = names.some((name) => name.length > 0 && text.includes(name));
        assert.equal(mayContainCallSites(text, names), expected, `${JSON.stringify(names)} in ${JSON.stringify(text)}`);
      }
    }
  });

  it('locates every wasm file', () => {
    for (const key of ['runtime', 'python', 'typescript', 'tsx', 'javascript'] as const) {
      assert.match(locateWasm(key), /\.wasm$/);
    }
  });
});
