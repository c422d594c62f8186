import * as assert from 'node:assert/strict';
import { extractCallSites } from '../../src/core/callSites';
import type { CallSite, SourceLanguage } from '../../src/core/callSites';
import type { LocatedCallSite, VersionContract } from '../../src/core/crossCheck';
import {
  addEvalInputInsertion,
  addEvalInputsInsertion,
  addVariablesInsertion,
  applyInsertions,
  callSiteAtPromptName,
  callSiteVariableAt,
  completionFits,
  completionInsertText,
  definitionTargets,
  fieldAt,
  fieldHoverMarkdown,
  inputKeyOffsets,
  missingInputs,
  missingVariables,
  placeholderValue,
  promptHoverMarkdown,
  rangeContains,
  supplyOf,
  variableCompletionContext,
} from '../../src/core/editorHelp';
import { codeSpan, escapeMarkdownNoHtml, markdownLink } from '../../src/core/escaping/markdown';
import { parseEvalJsonl } from '../../src/core/evalSet';
import { LineIndex } from '../../src/core/lineIndex';
import { DEFAULT_RENDER_FUNCTIONS } from '../../src/core/repoSettings';
import { parseTemplate } from '../../src/core/template/template';
import { createSourceParser } from '../../src/node/treeSitter';
import type { SourceParser } from '../../src/node/treeSitter';

let parser: SourceParser;

function sitesOf(text: string, language: SourceLanguage, file = language === 'python' ? 'app.py' : 'app.ts'): LocatedCallSite[] {
  return parser.callSitesOf(text, language, DEFAULT_RENDER_FUNCTIONS).map((s) => ({ ...s, file }));
}

function contract(name: string, version: number, template: string, evalText = ''): VersionContract {
  const dir = `prompts/${name}/v${version}`;
  return {
    version: { name, version, dir, files: {}, missing: [] },
    templatePath: `${dir}/user.template.md`,
    templateText: template,
    template: parseTemplate(template),
    evalPath: `${dir}/eval.jsonl`,
    examples: parseEvalJsonl(evalText).examples,
  };
}

const link = (file: string, range?: { start: { line: number } }): string => `file:///repo/${file}${range ? `#L${range.start.line + 1}` : ''}`;

/** The text with `|` removed, and the offset where it was. */
function cursor(marked: string): { text: string; offset: number } {
  const offset = marked.indexOf('|');
  assert.ok(offset >= 0, 'no | in the text');
  return { text: marked.slice(0, offset) + marked.slice(offset + 1), offset };
}

/** The completion context at `|`, from the real parser's tree. */
function completionAt(marked: string, language: SourceLanguage) {
  const { text, offset } = cursor(marked);
  const tree = parser.parse(text, language);
  try {
    const sites = extractCallSites(tree.rootNode, text, language, DEFAULT_RENDER_FUNCTIONS);
    return variableCompletionContext(tree.rootNode, text, offset, sites);
  } finally {
    tree.delete();
  }
}

describe('editor help', () => {
  before(async () => {
    parser = await createSourceParser();
  });

  after(() => parser.dispose());

  describe('editor help: what is under the cursor', () => {
    it('treats both ends of a range as inside it', () => {
      const range = { start: { line: 1, character: 4 }, end: { line: 1, character: 8 } };
      assert.equal(rangeContains(range, { line: 1, character: 4 }), true);
      assert.equal(rangeContains(range, { line: 1, character: 8 }), true);
      assert.equal(rangeContains(range, { line: 1, character: 9 }), false);
      assert.equal(rangeContains(range, { line: 0, character: 5 }), false);
    });

    it('finds the innermost template field at an offset', () => {
      const text = 'Hi {name:>{width}} and {other}';
      const { fields } = parseTemplate(text);
      assert.equal(fieldAt(fields, text.indexOf('name'))?.variable, 'name');
      assert.equal(fieldAt(fields, text.indexOf('width'))?.variable, 'width');
      assert.equal(fieldAt(fields, text.indexOf('{other}'))?.variable, 'other');
      assert.equal(fieldAt(fields, text.length)?.variable, 'other');
      assert.equal(fieldAt(fields, 1), undefined);
    });

    it('finds the call site by its prompt name and by a passed variable', () => {
      const text = 'render_prompt(\n    "support/v2",\n    customer_name=name,\n)\n';
      const sites = sitesOf(text, 'python');
      assert.equal(callSiteAtPromptName(sites, { line: 1, character: 6 })?.promptName, 'support');
      assert.equal(callSiteAtPromptName(sites, { line: 2, character: 6 }), undefined);
      assert.equal(callSiteVariableAt(sites, { line: 2, character: 8 })?.variable.name, 'customer_name');
    });
  });

  describe('editor help: who supplies a template variable', () => {
    const v1 = contract(
      'support',
      1,
      'Ticket from {customer_name}:\n\n{ticket}\n',
      '{"id": "s-1", "inputs": {"customer_name": "Ada", "ticket": "x"}}\n{"id": "s-2", "inputs": {"customer_name": "Lin"}}\n',
    );
    const v2 = contract('support', 2, '{ticket} {tone}\n');
    let py: LocatedCallSite[];
    let ts: LocatedCallSite[];
    let sites: LocatedCallSite[];
    before(() => {
      py = sitesOf(
        'from llm import render_prompt\n\nrender_prompt("support", customer_name=c)\nrender_prompt("support", **kw)\nrender_prompt("support/v2", ticket=t)\nload_prompt("support")\nrender_prompt("other", ticket=t)\n',
        'python',
      );
      ts = sitesOf("renderPrompt('support', { customer_name, ticket });\n", 'typescript');
      sites = [...py, ...ts];
    });

    it('sorts the call sites that render the version and the eval examples', () => {
      const supply = supplyOf(v1, 'ticket', sites);
      assert.deepEqual(supply.passing.map((p) => `${p.site.file}:${p.range.start.line}:${p.range.start.character}`), ['app.ts:0:41']);
      assert.deepEqual(supply.missing.map((s) => `${s.file}:${s.range.start.line}`), ['app.py:2']);
      assert.deepEqual(supply.unchecked.map((s) => s.range.start.line), [3]);
      assert.deepEqual(supply.passNothing.map((s) => s.range.start.line), [5]);
      assert.deepEqual(supply.examples.supplying.map((e) => e.id), ['s-1']);
      assert.deepEqual(supply.examples.missing.map((e) => e.id), ['s-2']);
    });

    it('lists the missing variables of a call site over every version it renders', () => {
      assert.deepEqual(missingVariables(py[0], [v1, v2]), ['ticket', 'tone']);
      assert.deepEqual(missingVariables(py[2], [v1, v2]), ['tone']);
      assert.deepEqual(missingVariables(py[1], [v1, v2]), [], 'a dynamic site is not checked');
      assert.deepEqual(missingVariables(py[3], [v1, v2]), [], 'a site passing nothing is not checked');
      assert.deepEqual(missingVariables(ts[0], [v1]), []);
      const broken = contract('support', 3, 'oops {');
      assert.deepEqual(missingVariables(py[0], [v1, broken]), ['ticket'], 'a malformed template has no known variables');
    });

    it('goes to the version a site names, else to every version, oldest first whatever order they come in', () => {
      assert.deepEqual(definitionTargets(py[2], [v1, v2]).map((c) => c.version.version), [2]);
      assert.deepEqual(definitionTargets(py[0], [v2, v1]).map((c) => c.version.version), [1, 2]);
      const pinnedMissing = sitesOf('render_prompt("support", version=7, ticket=t)', 'python')[0];
      assert.deepEqual(definitionTargets(pinnedMissing, [v2, v1]).map((c) => c.version.version), [1, 2]);
    });

    it('lists versions in the hover in the order Go to Definition gives them', () => {
      const summaries = [v2, v1].map((c) => ({ version: c.version.version, templatePath: c.templatePath, variables: c.template.variables, malformed: false }));
      const hoverOrder = [...promptHoverMarkdown(py[0], summaries, [], link).matchAll(/^- \[v(\d+)\]/gm)].map((m) => Number(m[1]));
      assert.deepEqual(hoverOrder, [1, 2]);
      assert.deepEqual(definitionTargets(py[0], [v2, v1]).map((c) => c.version.version), hoverOrder);
    });

    it('writes the field hover with links, what is missing and the eval coverage', () => {
      const markdown = fieldHoverMarkdown({ variable: 'ticket' }, v1, supplyOf(v1, 'ticket', sites), link);
      assert.match(markdown, /^`\{ticket\}`: variable of `support` v1/);
      assert.match(markdown, /Passed by 1 of 2 call sites: \[app\\\.ts:1\]\(file:\/\/\/repo\/app\.ts#L1\)/);
      assert.match(markdown, /\*\*Not passed\*\* by \[app\\\.py:3\]\(file:\/\/\/repo\/app\.py#L3\)/);
      assert.match(markdown, /Not checked \(variables not known statically\): \[app\\\.py:4\]/);
      assert.match(markdown, /Loaded without variables \(rendered elsewhere\): \[app\\\.py:6\]/);
      assert.match(markdown, /1 of 2 eval examples supply it; \*\*missing\*\* in \[s\\-2\]\(file:\/\/\/repo\/prompts\/support\/v1\/eval\.jsonl#L2\)\./);
      const full = fieldHoverMarkdown({ variable: 'customer_name' }, v1, supplyOf(v1, 'customer_name', sites), link);
      assert.match(full, /2 of 2 eval examples supply it\.$/);
    });

    it('counts a lone call site in the singular, and says when none passes the variable', () => {
      const markdown = fieldHoverMarkdown({ variable: 'ticket' }, v1, supplyOf(v1, 'ticket', [py[0]]), link);
      assert.match(markdown, /\n\nPassed by 0 of 1 call site\. \*\*Not passed\*\* by \[app\\\.py:3\]/);
    });

    it('says so when nothing renders the version', () => {
      const markdown = fieldHoverMarkdown({ variable: 'tone' }, v2, supplyOf(v2, 'tone', []), link);
      assert.match(markdown, /No call site renders `support` v2\./);
      assert.match(markdown, /No eval examples in \[/);
    });

    it('writes the prompt-name hover: versions, variables, what this call leaves out', () => {
      const summaries = [v1, v2].map((c) => ({ version: c.version.version, templatePath: c.templatePath, variables: c.template.variables, malformed: false }));
      const markdown = promptHoverMarkdown(py[0], summaries, missingVariables(py[0], [v1, v2]), link);
      assert.match(markdown, /^Prompt `support`: 2 versions, this call renders every version/);
      assert.match(markdown, /- \[v1\]\(file:\/\/\/repo\/prompts\/support\/v1\/user\.template\.md\): `customer_name`, `ticket`\n- \[v2\]\(file:\/\/\/repo\/prompts\/support\/v2\/user\.template\.md\): `ticket`, `tone`/);
      assert.match(markdown, /\*\*Missing\*\* here: `ticket`, `tone`$/);
      assert.match(promptHoverMarkdown(py[2], summaries, [], link), /this call renders v2/);
      assert.match(promptHoverMarkdown({ ...py[2], version: 9 }, summaries, [], link), /names v9, which does not exist/);
      assert.match(promptHoverMarkdown(py[4], [], [], link), /no `prompts\/other\/v<N>\/` directory/);
    });

    it('keeps untrusted text from becoming Markdown', () => {
      assert.equal(escapeMarkdownNoHtml('[x](javascript:1) *b*'), '\\[x\\]\\(javascript:1\\) \\*b\\*');
      assert.equal(codeSpan('a`b'), '``a`b``');
      assert.equal(codeSpan('`a'), '`` `a ``');
      assert.equal(markdownLink('f (1).py', 'file:///a b/f (1).py'), '[f \\(1\\)\\.py](file:///a%20b/f%20%281%29.py)');
    });
  });

  describe('editor help: completion of variable names in a call', () => {
    const names = (marked: string, language: SourceLanguage) => {
      const c = completionAt(marked, language);
      return c && { style: c.style, quoted: c.quoted, separated: c.separated, passed: [...c.passed].sort(), word: [c.replaceStart, c.replaceEnd] };
    };

    it('offers keyword arguments in a Python call', () => {
      assert.deepEqual(names('render_prompt("support", customer_name=x, |)', 'python'), {
        style: 'python-kwarg',
        quoted: false,
        separated: false,
        passed: ['customer_name'],
        word: [42, 42],
      });
      const typing = names('render_prompt("support", customer_name=x, ti|)', 'python');
      assert.equal(typing?.style, 'python-kwarg');
      assert.deepEqual(typing?.word, [42, 44]);
      assert.equal(names('render_prompt("support",\n    |\n)', 'python')?.style, 'python-kwarg');
      assert.equal(names('load_prompt("support").format(|)', 'python')?.style, 'python-kwarg');
    });

    it('reads the same context from the tree of the call-site statements alone (the diagnostics\' tree) as from the whole file', () => {
      const marked = 'import os\n\ndef a():\n    return 1\n\ndef b(x):\n    return render_prompt("support", customer_name=x, |)\n\ndef c():\n    return 3\n';
      const { text, offset } = cursor(marked);
      const { tree, sites } = parser.callSiteTree(text, 'python', DEFAULT_RENDER_FUNCTIONS);
      try {
        assert.ok(tree.rootNode.startIndex > 0, 'only the statements around the call were parsed');
        const whole = completionAt(marked, 'python');
        assert.equal(whole?.style, 'python-kwarg');
        assert.deepEqual(variableCompletionContext(tree.rootNode, text, offset, sites), whole);
      } finally {
        tree.delete();
      }
    });

    it('offers nothing in value positions, before the name, or in other calls', () => {
      assert.equal(names('render_prompt("support", customer_name=x|)', 'python'), undefined);
      assert.equal(names('render_prompt(|"support")', 'python'), undefined);
      assert.equal(names('render_prompt("support", a=f(|))', 'python'), undefined);
      assert.equal(names('other("support", |)', 'python'), undefined);
      assert.equal(names("renderPrompt('support', |)", 'typescript'), undefined);
      assert.equal(names("renderPrompt('support', { a: { | } })", 'typescript'), undefined);
      assert.equal(names("loadPrompt('support', { | }).format({ a })", 'typescript'), undefined);
    });

    it('offers dict keys, quoted or not', () => {
      assert.deepEqual(names('render_prompt("support", {"customer_name": x, |})', 'python')?.style, 'python-dict');
      const quoted = names('render_prompt("support", {"customer_name": x, "ti|"})', 'python');
      assert.equal(quoted?.style, 'python-dict');
      assert.equal(quoted?.quoted, true);
      assert.deepEqual(quoted?.passed, ['customer_name']);
      assert.equal(names('render_prompt("support", {|})', 'python')?.style, 'python-dict');
      assert.equal(names('load_prompt("support").format_map({|})', 'python')?.style, 'python-dict');
    });

    it('offers object keys, the shorthand being typed not counted as passed', () => {
      const shorthand = names("renderPrompt('support', { customer_name: x, ti| })", 'typescript');
      assert.equal(shorthand?.style, 'object-literal');
      assert.deepEqual(shorthand?.passed, ['customer_name']);
      assert.equal(names("renderPrompt('support', { | })", 'tsx')?.style, 'object-literal');
      assert.equal(names("renderPrompt('support', {\n  customer_name,\n  |\n})", 'javascript')?.style, 'object-literal');
      assert.equal(names("loadPrompt('support').format({ '|' })", 'typescript')?.quoted, true);
    });

    it('inserts what the position needs', () => {
      const at = (style: 'python-kwarg' | 'python-dict' | 'object-literal', quoted = false, separated = false) => ({ style, quoted, separated });
      assert.equal(completionInsertText(at('python-kwarg'), 'ticket'), 'ticket=');
      assert.equal(completionInsertText(at('python-kwarg', false, true), 'ticket'), 'ticket');
      assert.equal(completionInsertText(at('python-dict'), 'ticket'), '"ticket": ');
      assert.equal(completionInsertText(at('python-dict', true), 'ticket'), 'ticket');
      assert.equal(completionInsertText(at('object-literal'), 'ticket'), 'ticket: ');
      assert.equal(completionInsertText(at('object-literal'), 'user-name'), "'user-name': ");
      assert.equal(completionFits(at('python-kwarg'), 'class'), false);
      assert.equal(completionFits(at('python-dict'), 'class'), true);
      assert.equal(names('render_prompt("support", custo|mer_name=x)', 'python')?.separated, true);
    });
  });

  describe('editor help: quick fixes', () => {
    /** Adds `names` to the only call site of `text` and re-reads the result. */
    function fixed(text: string, language: SourceLanguage, names: string[]): { text: string; site: CallSite } {
      const [site] = sitesOf(text, language);
      const insertion = addVariablesInsertion(site, names);
      assert.ok(insertion, 'an insertion');
      const out = applyInsertions(text, [insertion]);
      const after = sitesOf(out, language);
      assert.equal(after.length, 1, `still one call site in:\n${out}`);
      assert.deepEqual(
        after[0].variables.map((v) => v.name).slice(-names.length),
        names,
        `the new variables are read back from:\n${out}`,
      );
      assert.ok(!parser.parse(out, language).rootNode.hasError, `parses without error:\n${out}`);
      return { text: out, site: after[0] };
    }

    it('adds keyword arguments to a multi-line Python call, keeping its trailing comma', () => {
      const text = 'def draft(ticket):\n    return render_prompt(\n        "support",\n        customer_name=ticket.customer_name,\n    )\n';
      assert.equal(
        fixed(text, 'python', ['ticket']).text,
        'def draft(ticket):\n    return render_prompt(\n        "support",\n        customer_name=ticket.customer_name,\n        ticket=ticket,\n    )\n',
      );
      assert.equal(
        fixed(text, 'python', ['ticket', 'tone']).text,
        'def draft(ticket):\n    return render_prompt(\n        "support",\n        customer_name=ticket.customer_name,\n        ticket=ticket,\n        tone=tone,\n    )\n',
      );
    });

    it('adds to one-line calls, dicts and chained format calls', () => {
      assert.equal(fixed('render_prompt("s", a=1)', 'python', ['b', 'c']).text, 'render_prompt("s", a=1, b=b, c=c)');
      assert.equal(fixed('render_prompt("s", {})', 'python', ['b', 'c']).text, 'render_prompt("s", {"b": b, "c": c})');
      assert.equal(fixed("render_prompt('s', {'a': 1})", 'python', ['class']).text, "render_prompt('s', {'a': 1, 'class': None})");
      assert.equal(fixed('load_prompt("s").format()', 'python', ['b', 'c']).text, 'load_prompt("s").format(b=b, c=c)');
      assert.equal(fixed('render_prompt("s", a=1,)', 'python', ['b', 'c']).text, 'render_prompt("s", a=1, b=b, c=c)');
    });

    it('adds properties to TS and JS object literals, shorthand where the name is the value', () => {
      assert.equal(fixed("renderPrompt('s', { a: 1 })", 'typescript', ['b']).text, "renderPrompt('s', { a: 1, b })");
      assert.equal(fixed("renderPrompt('s', {})", 'typescript', ['b', 'c']).text, "renderPrompt('s', { b, c })");
      assert.equal(fixed("renderPrompt('s')", 'javascript', ['b', 'c']).text, "renderPrompt('s', { b, c })");
      assert.equal(fixed("renderPrompt('s', { 'a': 1 })", 'typescript', ['default']).text, "renderPrompt('s', { 'a': 1, 'default': undefined })");
      assert.equal(
        fixed("renderPrompt('s', {\n  a: 1,\n})", 'tsx', ['b', 'c']).text,
        "renderPrompt('s', {\n  a: 1,\n  b,\n  c,\n})",
      );
    });

    it('refuses what cannot be written as a keyword argument', () => {
      const [site] = sitesOf('render_prompt("s", a=1)', 'python');
      assert.equal(addVariablesInsertion(site, ['class']), undefined);
      const [dynamic] = sitesOf('render_prompt("s", **kw)', 'python');
      assert.equal(addVariablesInsertion(dynamic, ['b']), undefined);
    });

    it('picks the name itself as the value, or None/undefined where it cannot be one', () => {
      assert.equal(placeholderValue('ticket', 'python'), 'ticket');
      assert.equal(placeholderValue('lambda', 'python'), 'None');
      assert.equal(placeholderValue('user-name', 'typescript'), 'undefined');
      assert.equal(placeholderValue('new', 'javascript'), 'undefined');
    });

    it('adds an empty input to an eval line, on that line, spaced as the line is', () => {
      const line = '{"id": "s-1", "inputs": {"customer_name": "Ada"}, "reference": "x"}';
      const insertion = addEvalInputInsertion(line, 'ticket');
      assert.ok(insertion);
      assert.equal(applyInsertions(line, [insertion]), '{"id": "s-1", "inputs": {"customer_name": "Ada", "ticket": ""}, "reference": "x"}');
      assert.equal(applyInsertions('{"id":"a","inputs":{"b":1}}', [addEvalInputInsertion('{"id":"a","inputs":{"b":1}}', 'c')!]), '{"id":"a","inputs":{"b":1,"c":""}}');
      assert.equal(applyInsertions('{"id": "a", "inputs": {}}', [addEvalInputInsertion('{"id": "a", "inputs": {}}', 'c')!]), '{"id": "a", "inputs": {"c": ""}}');
      assert.equal(addEvalInputInsertion(line, 'customer_name'), undefined, 'already there');
      assert.equal(addEvalInputInsertion('{"id": "a", "inputs": []}', 'c'), undefined);
      const all = addEvalInputsInsertion('{"id": "a", "inputs": {"x": "1"}}', ['c', 'd "q"']);
      assert.ok(all);
      const out = applyInsertions('{"id": "a", "inputs": {"x": "1"}}', [all]);
      assert.equal(out, '{"id": "a", "inputs": {"x": "1", "c": "", "d \\"q\\"": ""}}');
      assert.deepEqual(Object.keys((JSON.parse(out) as { inputs: object }).inputs), ['x', 'c', 'd "q"']);
    });

    it('finds the key of an input on an eval line, and what an example lacks', () => {
      const line = '{"id": "s-1", "inputs": {"customer_name": "Ada", "ticket": "x"}}';
      const key = inputKeyOffsets(line, 'ticket');
      assert.ok(key);
      assert.equal(line.slice(key.start, key.end), '"ticket"');
      assert.equal(inputKeyOffsets(line, 'tone'), undefined);
      assert.equal(inputKeyOffsets('{"id": "ticket"}', 'ticket'), undefined);
      assert.deepEqual(missingInputs({ inputs: { a: 1 } }, ['a', 'b', 'c']), ['b', 'c']);
    });

    it('keeps positions in UTF-16 units on lines with astral characters', () => {
      const text = '# 🎉\nrender_prompt("s", a="🎉")\n';
      const { text: out } = fixed(text, 'python', ['b']);
      assert.equal(out, '# 🎉\nrender_prompt("s", a="🎉", b=b)\n');
      assert.equal(new LineIndex(out).lineCount, 3);
    });
  });
});
