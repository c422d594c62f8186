import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { extractCallSites, mayContainCallSites, sourceLanguageForPath } from '../../src/core/callSites';
import type { CallSite, SourceLanguage } from '../../src/core/callSites';
import { DEFAULT_RENDER_FUNCTIONS } from '../../src/core/repoSettings';
import { callSiteRegions, pythonStatementStarts, scriptStatementStarts } from '../../src/core/sourceRegions';
import { createSourceParser } from '../../src/node/treeSitter';
import type { SourceParser } from '../../src/node/treeSitter';

const repo = path.join(__dirname, '..', '..');

/** The text of each region. */
function regionTexts(text: string, language: SourceLanguage, functions: readonly string[] = DEFAULT_RENDER_FUNCTIONS): string[] | undefined {
  return callSiteRegions(text, language, functions)?.map((r) => text.slice(r.start, r.end));
}

/** The lines each statement starts on (1-based, as an editor shows them). */
function startLines(text: string, starts: number[] | undefined): number[] | undefined {
  return starts?.map((at) => text.slice(0, at).split('\n').length);
}

describe('source regions: Python statements', () => {
  it('keeps the one function that calls a render function, and its line numbers', () => {
    const text = 'import os\n\ndef a():\n    return 1\n\ndef b(t):\n    return render_prompt("x", name=t)\n\ndef c():\n    return 3\n';
    const regions = callSiteRegions(text, 'python', DEFAULT_RENDER_FUNCTIONS);
    assert.deepEqual(
      regions?.map((r) => text.slice(r.start, r.end)),
      ['def b(t):\n    return render_prompt("x", name=t)\n\n'],
    );
    assert.deepEqual(regions?.map((r) => [r.startLine, r.endLine, r.endColumn]), [[5, 8, 0]]);
  });

  it('starts nothing inside a triple-quoted string, brackets or a backslash continuation', () => {
    const text = [
      'x = 1',
      'doc = """',
      'render_prompt("not code")',
      '"""',
      'call(',
      'render_prompt("in brackets")',
      ')',
      'y = 2 + \\',
      'render_prompt("continued")',
      'z = 3',
      '',
    ].join('\n');
    assert.deepEqual(startLines(text, pythonStatementStarts(text)), [1, 2, 5, 8, 10]);
  });

  it('keeps a decorator with what it decorates, else/elif/except/finally with their statement, and column-0 comments inside a block', () => {
    const text = [
      '@decorate',
      '@another(1)',
      'def f():',
      '    pass',
      'if a:',
      '    pass',
      '# a comment in column 0',
      '    pass',
      'elif b:',
      '    pass',
      'else:',
      '    pass',
      'try:',
      '    pass',
      'except E:',
      '    pass',
      'finally:',
      '    pass',
      'elsewhere = 1',
      '',
    ].join('\n');
    assert.deepEqual(startLines(text, pythonStatementStarts(text)), [1, 5, 13, 19]);
  });

  it('follows string prefixes, escapes and f-strings without quotes in their fields', () => {
    const text = ['a = rb"\\"" + f"{x:>{width}} {{literal}}"', 'b = 1', ''].join('\n');
    assert.deepEqual(startLines(text, pythonStatementStarts(text)), [1, 2]);
  });

  it('has the whole file parsed when it cannot be sure', () => {
    for (const text of [
      'x = "unterminated\ny = 1\n',
      'x = f"{d["key"]}"\n', // the same quote inside a field: Python 3.12 only
      "x = f\"{d['key']}\"\n",
      'x = (1,\ny = 2\n',
      'x = 1)\n',
      'x = """never closed\n',
    ]) {
      assert.equal(pythonStatementStarts(text), undefined, text);
    }
  });
});

describe('source regions: TypeScript and JavaScript statements', () => {
  it('keeps the one function that calls a render function', () => {
    const text = [
      "import { renderPrompt } from './prompts';",
      '',
      'export function a(): number {',
      '  return 1;',
      '}',
      'export const b = (t: T) =>',
      "  renderPrompt('x', { name: t.name });",
      'export function c() {}',
      '',
    ].join('\n');
    assert.deepEqual(regionTexts(text, 'typescript'), ["import { renderPrompt } from './prompts';\n\n", "export const b = (t: T) =>\n  renderPrompt('x', { name: t.name });\n"]);
  });

  it('starts nothing inside template literals, their ${} fields, block comments or brackets', () => {
    const text = [
      'const a = `',
      'renderPrompt("text")',
      '${`nested',
      'renderPrompt("also text")`}',
      'end`;',
      '/*',
      'renderPrompt("a comment")',
      '*/ const b = [',
      'renderPrompt("in brackets"),',
      '];',
      'const c = 1;',
      '',
    ].join('\n');
    assert.deepEqual(startLines(text, scriptStatementStarts(text)), [1, 11]);
  });

  it('reads a slash as a regular expression or a division by what comes before it', () => {
    const text = [
      'const re = /`[/]\\//g;', // a regex holding a backtick: no template starts
      'const half = total / 2 / 3;',
      'function f() { return /"/.test(s); }',
      'next = 1;',
      '',
    ].join('\n');
    assert.deepEqual(startLines(text, scriptStatementStarts(text)), [1, 2, 3, 4]);
  });

  it('has the whole file parsed when it cannot be sure', () => {
    for (const [text, language] of [
      ['if (x) /`/.test(y);\n', 'typescript'], // after `)`: a regex here, a division elsewhere
      ['i++ / "x";\n', 'typescript'],
      ['const s = "unterminated\n', 'javascript'],
      ['const a = `never closed\n', 'typescript'],
      ['const a = (1;\n', 'typescript'],
      ['/* never closed\n', 'typescript'],
      ['const e = <div>{renderPrompt("x")}</div>;\n', 'javascript'],
      ['const e = renderPrompt("x");\n', 'tsx'],
    ] as const) {
      assert.equal(callSiteRegions(text, language, DEFAULT_RENDER_FUNCTIONS), undefined, text);
    }
  });

  it('keeps a line with the statement above it when that line ends in an operator', () => {
    const text = ['exports.', "renderPrompt('p', { a }) = void 0;", 'const x = new', "renderPrompt('q', { b });", 'next();', ''].join('\n');
    assert.deepEqual(startLines(text, scriptStatementStarts(text)), [1, 3, 5]);
  });

  it('lets a line-end division after `)` pass when nothing opens on the rest of its line', () => {
    const text = 'const mean = (a + b) / 2;\nconst next = 1;\n';
    assert.deepEqual(startLines(text, scriptStatementStarts(text)), [1, 2]);
  });
});

describe('source regions: call sites read from them', () => {
  let parser: SourceParser;
  before(async () => {
    parser = await createSourceParser();
  });
  after(() => parser.dispose());

  /** The call sites as a parse of the whole file finds them. */
  function wholeFile(text: string, language: SourceLanguage, functions: readonly string[]): CallSite[] {
    if (!mayContainCallSites(text, functions)) return [];
    const tree = parser.parse(text, language);
    try {
      return extractCallSites(tree.rootNode, text, language, functions);
    } finally {
      tree.delete();
    }
  }

  it('finds what the whole file finds, ranges included, around non-ASCII text and CRLF line ends', () => {
    const python = ['# é ünïcode before', 'def a():', '    return 1', '', 'def b(t):', '    return render_prompt("x/v2", name=t, **extra)  # ✓', ''].join('\r\n');
    const script = ['const é = "ü";', 'export function a() { return 1; }', "export const b = (t) => renderPrompt('x', { name: t, ...more }).trim();", 'export const c = 2;', ''].join('\n');
    for (const [text, language] of [
      [python, 'python'],
      [script, 'typescript'],
      [script, 'javascript'],
    ] as const) {
      const regions = callSiteRegions(text, language, DEFAULT_RENDER_FUNCTIONS);
      assert.ok(regions && regions.length > 0 && regions[0].start > 0, `${language}: parsed in part`);
      const found = parser.callSitesOf(text, language, DEFAULT_RENDER_FUNCTIONS);
      assert.equal(found.length, 1);
      assert.deepEqual(found, wholeFile(text, language, DEFAULT_RENDER_FUNCTIONS));
    }
  });

  it('parses the whole file when the statements alone have an error, and a whole parse after a partial one covers the file', () => {
    // `instanceof` in column 0 goes on with the statement above: the line alone doesn't parse.
    const text = "const ok = x\ninstanceof renderPrompt('p', { a })\nconst y = 1;\n";
    assert.deepEqual(regionTexts(text, 'typescript'), ["instanceof renderPrompt('p', { a })\n"]);
    const found = parser.callSitesOf(text, 'typescript', DEFAULT_RENDER_FUNCTIONS);
    assert.deepEqual(found, wholeFile(text, 'typescript', DEFAULT_RENDER_FUNCTIONS));
    assert.equal(found.length, 1);
    const tree = parser.parse(text, 'typescript');
    try {
      assert.equal(tree.rootNode.endIndex, text.length);
      assert.equal(tree.rootNode.namedChildren.length, 2); // the declaration over two lines, and the next
    } finally {
      tree.delete();
    }
  });

  /** Source files under `dir`, in a stable order, at most `limit`. */
  function sourceFiles(dir: string, limit: number): string[] {
    const out: string[] = [];
    const walk = (d: string): void => {
      for (const name of readdirSync(d).sort()) {
        if (out.length >= limit) return;
        const p = path.join(d, name);
        const stat = statSync(p, { throwIfNoEntry: false });
        if (stat?.isDirectory()) walk(p);
        else if (stat && stat.size < 200_000 && sourceLanguageForPath(p)) out.push(p);
      }
    };
    walk(dir);
    return out;
  }

  /**
   * Real code: each file's call sites of a few common functions, read from the regions, equal those
   * read from the whole file; and most files are parsed in part (these names are common: about half the
   * text holds one).
   */
  function compareOn(files: string[], functions: readonly string[]): { files: number; partial: number; sites: number; share: number } {
    let compared = 0;
    let partial = 0;
    let sites = 0;
    let parsed = 0;
    let total = 0;
    for (const file of files) {
      const text = readFileSync(file, 'utf8');
      const language = sourceLanguageForPath(file) as SourceLanguage;
      if (!mayContainCallSites(text, functions)) continue;
      compared += 1;
      const expected = wholeFile(text, language, functions);
      assert.deepEqual(parser.callSitesOf(text, language, functions), expected, path.relative(repo, file));
      sites += expected.length;
      const regions = callSiteRegions(text, language, functions);
      if (regions) partial += 1;
      parsed += regions ? regions.reduce((n, r) => n + r.end - r.start, 0) : text.length;
      total += text.length;
    }
    return { files: compared, partial, sites, share: parsed / total };
  }

  it('reads the same call sites as the whole file in TypeScript and JavaScript packages', () => {
    const files = [
      ...sourceFiles(path.join(repo, 'node_modules', 'typescript', 'lib'), 40),
      ...sourceFiles(path.join(repo, 'node_modules', 'zod'), 250),
      ...sourceFiles(path.join(repo, 'node_modules', 'yaml', 'dist'), 150),
      ...sourceFiles(path.join(repo, 'node_modules', '@anthropic-ai', 'sdk'), 250),
    ];
    const result = compareOn(files, ['require', 'log', 'get']);
    assert.ok(result.files >= 150, JSON.stringify(result));
    assert.ok(result.sites >= 100, JSON.stringify(result));
    assert.ok(result.partial >= result.files * 0.8, JSON.stringify(result));
    assert.ok(result.share < 0.7, JSON.stringify(result));
  });

  it('reads the same call sites as the whole file in the Python standard library', function () {
    const found = spawnSync('python3', ['-c', 'import sysconfig; print(sysconfig.get_paths()["stdlib"])'], { encoding: 'utf8' });
    if (found.status !== 0) this.skip();
    const stdlib = found.stdout.trim();
    const files = sourceFiles(stdlib, 1200).filter((f) => !/[/\\](test|lib2to3|idlelib)[/\\]/.test(f)).slice(0, 600);
    const result = compareOn(files, ['print', 'startswith', 'exists']);
    assert.ok(result.files >= 150, JSON.stringify(result));
    assert.ok(result.sites >= 100, JSON.stringify(result));
    assert.ok(result.partial >= result.files * 0.8, JSON.stringify(result));
    assert.ok(result.share < 0.7, JSON.stringify(result));
  });
});
