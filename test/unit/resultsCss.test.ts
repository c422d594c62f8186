import * as assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { transformSync } from 'esbuild';

const css = readFileSync(join(__dirname, '..', '..', 'media', 'results.css'), 'utf8');

describe('results panel stylesheet', () => {
  it('parses without a warning (an unclosed rule nests every later one inside it, and none applies)', () => {
    const { warnings } = transformSync(css, { loader: 'css', logLevel: 'silent' });
    assert.deepEqual(
      warnings.map((w) => `line ${w.location?.line}: ${w.text}`),
      [],
    );
  });

  it('takes its colours from the theme: no literal colour values', () => {
    const withoutComments = css.replace(/\/\*[\s\S]*?\*\//g, '');
    const literal = [...withoutComments.matchAll(/#[0-9a-fA-F]{3,8}\b|\brgba?\(|\bhsla?\(/g)].map((m) => m[0]);
    assert.deepEqual(literal, []);
  });
});
