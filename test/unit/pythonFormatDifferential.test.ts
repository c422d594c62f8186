// Differential test: thousands of generated templates go, in one batch, to the python3 on this
// machine, and CPython's answers (string.Formatter().parse, the errors str.format raises whatever
// the values, the variables, and template.format(**values)) must equal ours exactly.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  analyzePythonTemplate,
  formatterParse,
  positionalFieldMessage,
  renderPythonTemplate,
  UnsupportedTemplateValueError,
} from '../../src/core/template/pythonFormat';

const PYTHON_SCRIPT = String.raw`
import json, sys, _string
from string import Formatter

class Any(str):
    """Accepts every lookup, conversion and spec, so only value-independent errors surface."""
    def __getattribute__(self, name): return ANY
    def __getitem__(self, key): return ANY
    def __format__(self, spec): return ''
    def __repr__(self): return ANY
    def __str__(self): return ANY
ANY = Any('x')

class AnyMap(dict):
    def __missing__(self, key): return ANY

def err(e): return [type(e).__name__, str(e)]

def parse(t):
    items = []
    try:
        for lit, name, spec, conv in Formatter().parse(t):
            items.append([lit, name, spec, conv])
        return {'items': items}
    except Exception as e:
        return {'items': items, 'error': err(e)}

def variables(t, depth, out):
    for lit, name, spec, conv in Formatter().parse(t):
        if name is None: continue
        first, rest = _string.formatter_field_name_split(name)
        list(rest)
        if isinstance(first, str) and first != '' and first not in out: out.append(first)
        if spec and '{' in spec and depth > 1: variables(spec, depth - 1, out)
    return out

results = []
for case in json.load(sys.stdin):
    t = case['t']
    r = {'parse': parse(t)}
    try:
        t.format_map(AnyMap())
        r['static'] = None
        r['vars'] = variables(t, 2, [])
    except Exception as e:
        r['static'] = err(e)
    try:
        r['render'] = {'ok': t.format(**case['values'])}
    except Exception as e:
        r['render'] = {'err': type(e).__name__ + ': ' + str(e)}
    results.append(r)
json.dump(results, sys.stdout)
`;

interface PythonAnswer {
  parse: { items: [string, string | null, string | null, string | null][]; error?: [string, string] };
  static: [string, string] | null;
  vars?: string[];
  render: { ok: string } | { err: string };
}

/** mulberry32: small, seeded, good enough to spread test cases. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const random = prng(20240611);
const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)];
const chance = (p: number): boolean => random() < p;
const int = (lo: number, hi: number): number => lo + Math.floor(random() * (hi - lo + 1));

const RANDOM_ALPHABET = [
  '{', '{', '{', '}', '}', '}', '[', ']', '!', ':', '.', 'r', 's', 'a', 'x', 'y', 'b', '0', '1', '2', ' ',
  '<', '>', '^', '=', '+', '-', '#', ',', '_', 'z', 'd', 'e', 'f', 'c', '%', 'é', '😀', '\n', '٣', '"', "'", '\\',
  '\ud800', '\t', '０', '\u0000', 'ß',
];
const SPEC_ALPHABET = [
  '<', '>', '^', '=', '+', '-', ' ', 'z', '#', '0', '0', '1', '2', '5', '9', ',', '_', '.', '.', '*', 'é',
  'b', 'c', 'd', 'e', 'E', 'f', 'F', 'g', 'G', 'n', 'o', 's', 'x', 'X', '%', '😀',
];
const NAMES = ['document', 'customer_name', 'query', 'context', 'user', 'items', 'width', 'n', 'x', 'price', 'flag', 'none'];
const WORDS = ['Summarise', 'the', 'following', 'for', 'a', 'customer.', 'Answer', 'in', 'JSON:', '- item', '# Title', '**bold**', 'é', '😀', '日本語'];
const STRING_VALUES = [
  '', 'Ada', "it's", '"quoted"', 'both \' and "', 'back\\slash', 'tab\there', 'line\nbreak', 'é😀', '\u0000\u0007\u007f',
  '\u00a0\u2028\u200b', '\ud800', '日本語テキスト', '>5', '^9', '*<7', '.2', '3', '10', 's', '', 'x', '\u0378', '\ud83d\ude00x',
];
const JSON_VALUES: unknown[] = [
  0, 7, -42, 1234567, 2 ** 53, 0.5, 2.5, -0.001, 0.1, 1.5e300, 1e22, 5e-324, 123456.789, 1e16, 1e-7, true, false, null,
  ['a', 1, null], { name: 'Ada', tags: ['x', "y'z"] }, {}, [], [[]], { '0': 'zero' },
];

function randomTemplate(): string {
  const len = int(0, 18);
  let t = '';
  for (let i = 0; i < len; i++) t += pick(RANDOM_ALPHABET);
  return t;
}

function randomSpec(): string {
  const len = int(0, 5);
  let s = '';
  for (let i = 0; i < len; i++) s += pick(SPEC_ALPHABET);
  return s;
}

function promptField(): string {
  const name = pick(NAMES);
  let field = name;
  if (chance(0.15)) field += pick(['[0]', '[1]', '[name]', '[tags][1]', '.name', '[9]', '[-1]', '[0][0]']);
  if (chance(0.25)) field += pick(['!r', '!s', '!a', '!x']);
  if (chance(0.45)) {
    field += ':' + randomSpec();
    if (chance(0.25)) field += `{${pick(['width', 'n', 'x'])}${chance(0.2) ? ':' + randomSpec() : ''}}`;
  }
  return `{${field}}`;
}

function promptTemplate(): string {
  const parts: string[] = [];
  const count = int(1, 8);
  for (let i = 0; i < count; i++) {
    const r = random();
    if (r < 0.45) parts.push(promptField());
    else if (r < 0.8) parts.push(pick(WORDS));
    else if (r < 0.87) parts.push(pick(['{{', '}}', '{{"answer": "..."}}', '\n\n', '```json\n{{"a": 1}}\n```']));
    else if (r < 0.92) parts.push(pick(['{"answer": 1}', '{}', '{0}', '{ name }', '}', '{', '{a:{b:{c}}}']));
    else parts.push(randomTemplate());
  }
  return parts.join(pick([' ', '', '\n']));
}

/** A run of 5 to 18 digits could ask CPython to pad to gigabytes; 19 or more is the overflow error. */
function tooWide(t: string): boolean {
  return /(?<![0-9])[0-9]{5,18}(?![0-9])/.test(t);
}

function valuesFor(variables: string[], jsonish: boolean): Record<string, unknown> {
  const values: Record<string, unknown> = {};
  for (const v of variables) {
    values[v] = jsonish && chance(0.6) ? pick(JSON_VALUES) : pick(STRING_VALUES);
  }
  if (variables.length > 0 && chance(0.08)) delete values[pick(variables)];
  return values;
}

/** A spec built the way the mini-language reads it, each part present or not: mostly valid, sometimes not. */
function structuredSpec(): string {
  let spec = '';
  if (chance(0.3)) spec += (chance(0.5) ? pick(['*', '0', ' ', 'é', '😀', '{', '}']) : '') + pick(['<', '>', '^', '=']);
  if (chance(0.25)) spec += pick(['+', '-', ' ']);
  if (chance(0.05)) spec += 'z';
  if (chance(0.15)) spec += '#';
  if (chance(0.2)) spec += '0';
  if (chance(0.5)) spec += String(int(0, 25));
  if (chance(0.2)) spec += pick([',', '_']);
  if (chance(0.4)) spec += '.' + String(int(0, chance(0.1) ? 60 : 12));
  if (chance(0.7)) spec += pick(['b', 'c', 'd', 'e', 'E', 'f', 'F', 'g', 'G', 'n', 'o', 's', 'x', 'X', '%', 'r']);
  return spec.replace(/[{}]/g, (b) => b + b);
}

/** Floats that exercise rounding: ties in binary, values near powers of ten, extremes. */
function randomFloat(): number {
  switch (int(0, 5)) {
    case 0:
      return (int(-2000, 2000) + 0.5) / 2 ** int(0, 6);
    case 1:
      return Number((random() * 10 ** int(-8, 22)).toPrecision(int(1, 17)));
    case 2:
      return 10 ** int(-10, 25) * pick([1, -1, 0.9999999, 1.0000001, 9.995, 0.5]);
    case 3:
      return pick([0.1, 0.045, 0.125, 2.675, 1.005, 9.5, 0.05, 1e-5, 1e-4, 123456789.125, 5e-324, 1.7976931348623157e308, -0.0, 1e15 + 0.5, 4503599627370495.5, 0.0001, 0.00001]);
    case 4: {
      const view = new DataView(new ArrayBuffer(8));
      view.setUint32(0, Math.floor(random() * 2 ** 32));
      view.setUint32(4, Math.floor(random() * 2 ** 32));
      const x = view.getFloat64(0);
      return Number.isFinite(x) ? x : 1.5;
    }
    default:
      return random() * 1000 - 500;
  }
}

function randomScalar(): unknown {
  switch (int(0, 4)) {
    case 0:
      return pick(STRING_VALUES);
    case 1:
      return chance(0.5) ? int(-100000, 100000) : pick([0, 1, -1, 255, 2 ** 53, -(2 ** 40), 65, 0x10ffff, 0x110000]);
    case 2:
    case 3:
      return randomFloat();
    default:
      return pick(JSON_VALUES);
  }
}

/** One field with a structured spec over one value: exercises the str/int/float formatters. */
function specCase(): Case {
  const conversion = chance(0.15) ? pick(['!r', '!s', '!a']) : '';
  const nested = chance(0.15);
  const t = nested ? `[{v${conversion}:{w}}]` : `[{v${conversion}:${structuredSpec()}}]`;
  const values: Record<string, unknown> = { v: randomScalar() };
  if (nested) values.w = structuredSpec().replace(/\{\{|\}\}/g, (b) => b[0]);
  return { t, values: JSON.parse(JSON.stringify(values)) as Record<string, unknown> };
}

interface Case {
  t: string;
  values: Record<string, unknown>;
}

function generateCases(count: number): Case[] {
  const cases: Case[] = [];
  while (cases.length < count) {
    if (chance(0.45)) {
      cases.push(specCase());
      continue;
    }
    const realistic = chance(0.5);
    const t = realistic ? promptTemplate() : randomTemplate();
    if (tooWide(t)) continue;
    const variables = analyzePythonTemplate(t).variables;
    // Values travel as JSON, so both sides read exactly the same data.
    const values = JSON.parse(JSON.stringify(valuesFor(variables, realistic && chance(0.5)))) as Record<string, unknown>;
    cases.push({ t, values });
  }
  return cases;
}

function ourRender(c: Case): { ok: string } | { err: string } | { refused: string } {
  try {
    return { ok: renderPythonTemplate(c.t, c.values) };
  } catch (e) {
    if (e instanceof UnsupportedTemplateValueError) return { refused: e.message };
    return { err: (e as Error).message };
  }
}

describe('pythonFormat against CPython (differential)', function () {
  this.timeout(60000);
  const CASES = 12000;
  let cases: Case[] = [];
  let answers: PythonAnswer[] = [];

  before(function () {
    const probe = spawnSync('python3', ['-c', 'import sys; print(sys.version_info[:2])'], { encoding: 'utf8' });
    if (probe.error || probe.status !== 0) {
      console.log('      python3 not found: skipping the CPython differential test');
      this.skip();
    }
    if (!probe.stdout.includes('(3, 11)')) {
      console.log(`      python3 is ${probe.stdout.trim()}, these rules are CPython 3.11's; messages may differ`);
    }
    cases = generateCases(CASES);
    const run = spawnSync('python3', ['-c', PYTHON_SCRIPT], {
      input: JSON.stringify(cases),
      encoding: 'utf8',
      maxBuffer: 256 * 1024 * 1024,
    });
    assert.equal(run.status, 0, run.stderr);
    answers = JSON.parse(run.stdout) as PythonAnswer[];
    assert.equal(answers.length, cases.length);
  });

  it('Formatter().parse: same tuples and the same error', function () {
    const failures: string[] = [];
    cases.forEach((c, i) => {
      const ours = formatterParse(c.t);
      const theirs = answers[i].parse;
      const oursItems = ours.items.map((it) => [it.literal, it.fieldName, it.formatSpec, it.conversion]);
      const oursError = ours.error ? [ours.error.type, ours.error.message] : undefined;
      try {
        assert.deepEqual(oursItems, theirs.items);
        assert.deepEqual(oursError, theirs.error);
      } catch {
        failures.push(`${JSON.stringify(c.t)}: ours ${JSON.stringify(ours)} CPython ${JSON.stringify(theirs)}`);
      }
    });
    assert.deepEqual(failures.slice(0, 10), []);
  });

  it('static errors: our first error is what str.format raises whatever the values', function () {
    const failures: string[] = [];
    let withErrors = 0;
    cases.forEach((c, i) => {
      const ours = analyzePythonTemplate(c.t).errors[0];
      const theirs = answers[i].static;
      if (theirs) withErrors++;
      let same: boolean;
      if (!theirs) same = ours === undefined;
      else if (theirs[1] === 'Format string contains positional fields') {
        same = ours !== undefined && ours.pythonType === 'IndexError' && ours.message.startsWith(positionalFieldMessage('').slice(0, 16));
      } else same = ours !== undefined && ours.pythonType === theirs[0] && ours.message === theirs[1];
      if (!same) failures.push(`${JSON.stringify(c.t)}: ours ${JSON.stringify(ours)} CPython ${JSON.stringify(theirs)}`);
    });
    assert.deepEqual(failures.slice(0, 10), []);
    assert.ok(withErrors > CASES / 10 && withErrors < CASES * 0.9, `error mix: ${withErrors} of ${CASES}`);
  });

  it('variables: the unique first names, nested specs included, in order', function () {
    const failures: string[] = [];
    cases.forEach((c, i) => {
      const theirs = answers[i].vars;
      if (!theirs) return;
      const ours = analyzePythonTemplate(c.t).variables;
      if (JSON.stringify(ours) !== JSON.stringify(theirs)) {
        failures.push(`${JSON.stringify(c.t)}: ours ${JSON.stringify(ours)} CPython ${JSON.stringify(theirs)}`);
      }
    });
    assert.deepEqual(failures.slice(0, 10), []);
  });

  it('template.format(**values): same text or the same exception message', function () {
    const failures: string[] = [];
    let rendered = 0;
    let refused = 0;
    cases.forEach((c, i) => {
      const ours = ourRender(c);
      const theirs = answers[i].render;
      if ('refused' in ours) {
        refused++;
        return;
      }
      if ('ok' in theirs) rendered++;
      if (JSON.stringify(ours) !== JSON.stringify(theirs)) {
        failures.push(`${JSON.stringify(c.t)} ${JSON.stringify(c.values)}: ours ${JSON.stringify(ours)} CPython ${JSON.stringify(theirs)}`);
      }
    });
    const numeric = cases.filter((c, i) => 'ok' in answers[i].render && typeof c.values.v === 'number' && c.t !== '[{v:}]').length;
    console.log(`      ${cases.length} templates: ${rendered} rendered (${numeric} of them numbers through a spec), ${cases.length - rendered - refused} raised, ${refused} refused`);
    assert.deepEqual(failures.slice(0, 10), []);
    assert.ok(rendered > CASES / 5, `only ${rendered} templates rendered without error`);
    assert.ok(refused < CASES / 100, `${refused} renders refused`);
  });
});
