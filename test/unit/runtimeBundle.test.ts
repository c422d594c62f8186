// What prompt-ci/runtime brings into an application's process: its bundle's inputs (esbuild's
// metafile, written by the build) and the modules it requires at run time. The runtime runs inside
// other people's services, so no vscode, CLI, tree-sitter, git, child_process or Anthropic SDK.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const dist = join(__dirname, '..', '..', 'dist');

describe('the prompt-ci/runtime bundle', () => {
  const metaFile = join(dist, 'runtime.meta.json');
  const bundleFile = join(dist, 'runtime.js');

  before(() => {
    assert.ok(existsSync(metaFile) && existsSync(bundleFile), 'dist/runtime.js and its metafile are missing: run `npm run build` first');
  });

  it('is built from core, the control-plane drivers and the runtime only', () => {
    const inputs = Object.keys((JSON.parse(readFileSync(metaFile, 'utf8')) as { inputs: Record<string, unknown> }).inputs);
    const ours = inputs.filter((i) => i.startsWith('src/'));
    assert.ok(ours.includes('src/runtime.ts'), 'the metafile is the runtime entry\'s');
    const outside = ours.filter((i) => !/^src\/(core\/|runtime\.ts$|node\/(controlPlane|runtime)\/|node\/(promptFileRead|repoFiles|outputFiles)\.ts$)/.test(i));
    assert.deepEqual(outside, [], 'modules outside core, the drivers and the runtime');
    const forbidden = inputs.filter((i) => /tree-sitter|@anthropic-ai|src\/(vscode|cli)\/|src\/node\/git\.ts|src\/core\/callSites\.ts/.test(i));
    assert.deepEqual(forbidden, []);
  });

  it('requires no vscode, child_process or tree-sitter at run time', () => {
    const text = readFileSync(bundleFile, 'utf8');
    const required = [...text.matchAll(/\b(?:require|import)\(\s*"([^"]+)"\s*\)/g)].map((m) => m[1]);
    assert.ok(required.includes('@opentelemetry/api'), 'the span API is the application\'s own copy');
    const forbidden = required.filter((r) => /^(vscode|(node:)?child_process|web-tree-sitter|tree-sitter-.*|@anthropic-ai\/sdk)$/.test(r));
    assert.deepEqual(forbidden, []);
  });
});
