import * as assert from 'node:assert';
import { build } from 'esbuild';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deserialize } from 'node:v8';
import { checkRepoOnDisk } from '../../src/node/checkRepo';
import type { IndexResponse, IndexServiceOptions } from '../../src/node/indexService';
import { IndexService } from '../../src/node/indexService';
import { MIN_SHARDED_WORK } from '../../src/node/indexShards';

// The fixture workspace of the VS Code tests, grown past the size at which a cold build is split.
const FIXTURE = join(__dirname, '..', 'fixtures', 'workspace');
const REPO = join(__dirname, '..', '..');

type Indexed = Extract<IndexResponse, { kind: 'indexed' }>;

function indexed(response: IndexResponse): Indexed {
  assert.strictEqual(response.kind, 'indexed', JSON.stringify(response));
  return response as Indexed;
}

/** Prompts with and without mistakes, and callers in each language, some passing the wrong variables. */
function grow(root: string): void {
  for (let p = 0; p < 40; p++) {
    for (let v = 1; v <= 2; v++) {
      const dir = join(root, 'prompts', `gen-${p}`, `v${v}`);
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, 'system.md'), `You are helper ${p}.\n`);
      writeFileSync(join(dir, 'user.template.md'), p % 7 === 3 ? 'Broken {name\n' : `Hello {name}, about {topic}${v === 2 ? ' in {lang}' : ''}.\n`);
      const examples = [0, 1, 2].map((i) => JSON.stringify({ id: `e${i}`, inputs: { name: `N${i}`, topic: 't', lang: 'en' } }));
      writeFileSync(join(dir, 'eval.jsonl'), p % 9 === 4 ? '{not json\n' : `${examples.join('\n')}\n`);
      const model = p % 11 === 5 ? 'no-such-model' : 'claude-sonnet-4-6';
      writeFileSync(join(dir, 'metadata.yaml'), `name: gen-${p}\nversion: ${v}\nmodel: ${model}\nmax_output_tokens: 300\neval:\n  threshold_win_rate: 0.9\n`);
    }
  }
  const languages = ['py', 'ts', 'tsx', 'js'] as const;
  for (let f = 0; f < 160; f++) {
    const ext = languages[f % 4];
    const p = f % 45; // some name prompts that don't exist
    const vars = f % 3 === 0 ? ['name'] : ['name', 'topic'];
    const call =
      ext === 'py'
        ? `def run(x):\n    return render_prompt("gen-${p}", version=${1 + (f % 2)}, ${vars.map((v) => `${v}=x.${v}`).join(', ')})\n`
        : `export const run = (x: any) => renderPrompt('gen-${p}', { version: ${1 + (f % 2)}, ${vars.map((v) => `${v}: x.${v}`).join(', ')} });\n`;
    const text = f % 5 === 0 ? (ext === 'py' ? `def idle():\n    return ${f}\n` : `export const idle = ${f};\n`) : call.replace(': any', ext === 'js' ? '' : ': any');
    mkdirSync(join(root, 'src', 'gen'), { recursive: true });
    writeFileSync(join(root, 'src', 'gen', `m${f}.${ext}`), text);
  }
}

describe('index shards: a cold build split across threads', function () {
  this.timeout(120_000);
  let workerFile: string;
  let temp: string;
  let root: string;
  const logs: string[] = [];
  const service = (options: Partial<IndexServiceOptions>) => new IndexService({ cacheTag: 't', log: (m) => logs.push(m), ...options });
  const open: [string, string][] = [
    ['src/gen/m1.ts', "export const run = (x: any) => renderPrompt('gen-1', { version: 2, name: x.name, topic: x.topic, lang: x.lang });\n"],
    ['prompts/gen-2/v1/user.template.md', 'Only {name} now, and {extra}.\n'],
  ];

  before(async () => {
    // The index worker as the extension ships it (its bundle is also the shards'), built from the current source.
    workerFile = join(REPO, 'out', 'test', 'indexWorker.js');
    await build({ entryPoints: [join(REPO, 'src', 'node', 'indexWorker.ts')], outfile: workerFile, bundle: true, platform: 'node', target: 'node20', format: 'cjs', mainFields: ['module', 'main'], logLevel: 'warning' });
  });
  beforeEach(() => {
    temp = mkdtempSync(join(tmpdir(), 'prompt-ci-index-shards-'));
    root = join(temp, 'repo');
    cpSync(FIXTURE, root, { recursive: true });
    grow(root);
    logs.length = 0;
  });
  afterEach(() => rmSync(temp, { recursive: true, force: true }));

  const index = async (options: Partial<IndexServiceOptions>): Promise<Indexed> => {
    const s = service(options);
    try {
      return indexed(await s.handle({ kind: 'index', id: 1, root, open }));
    } finally {
      await s.dispose();
    }
  };

  it('gives, split across three threads, exactly the index one thread gives', async () => {
    const alone = await index({});
    assert.strictEqual(alone.stats.threads, 1);
    const split = await index({ shardFile: workerFile, threads: 3 });
    assert.strictEqual(split.stats.threads, 3);
    assert.ok(split.stats.shardedPieces > 0, JSON.stringify(split.stats));
    assert.ok(split.stats.cache.misses >= MIN_SHARDED_WORK, JSON.stringify(split.stats));
    assert.strictEqual(split.stats.cache.hits, 0, JSON.stringify(split.stats));
    const findings = split.state.groups.flatMap(([, f]) => f);
    assert.ok(findings.some((f) => f.code.startsWith('template/')) && findings.some((f) => f.code.startsWith('eval/')) && findings.some((f) => f.file.startsWith('src/gen/')), 'the repository has findings of every kind');
    assert.deepStrictEqual(split.state.groups, alone.state.groups);
    assert.deepStrictEqual(split.state.callSites, alone.state.callSites);
    assert.deepStrictEqual(split.state.versions.map((v) => [v.dir, v.name]), alone.state.versions.map((v) => [v.dir, v.name]));
    // (Compared as read back: V8 may write the same array densely or sparsely, as its compiler built it.)
    const versionsOf = (r: Indexed) => r.state.versions.map((v) => deserialize(new Uint8Array(r.state.versionBytes, v.start, v.end - v.start)));
    assert.deepStrictEqual(versionsOf(split), versionsOf(alone));
    // The open editors' text counted in the shards too.
    assert.deepStrictEqual(split.state.callSites.find(([file]) => file === 'src/gen/m1.ts')?.[1][0].variables.map((v) => v.name), ['name', 'topic', 'lang']);
    assert.ok(findings.some((f) => f.file === 'prompts/gen-2/v1/user.template.md' || /extra/.test(f.message)), 'the open template was checked');
    // And without the open editors, what `prompt-ci check` prints.
    open.length = 0;
    const disk = await index({ shardFile: workerFile, threads: 2 });
    assert.ok(disk.stats.shardedPieces > 0);
    assert.deepStrictEqual(disk.state.groups.flatMap(([, f]) => f), (await checkRepoOnDisk(root)).findings);
  });

  it('caches what the shards made: the next index splits nothing and reuses it all', async () => {
    const cacheDir = join(temp, 'storage');
    const cold = await index({ shardFile: workerFile, threads: 2, cacheDir });
    assert.ok(cold.stats.shardedPieces > 0);
    const changed = 'src/gen/m4.py';
    writeFileSync(join(root, changed), readFileSync(join(root, changed), 'utf8').replace('name=x.name, ', ''));
    const warm = await index({ shardFile: workerFile, threads: 2, cacheDir });
    assert.strictEqual(warm.stats.shardedPieces, 0);
    assert.strictEqual(warm.stats.threads, 1);
    assert.strictEqual(warm.stats.cache.misses, 1, JSON.stringify(warm.stats));
    const expected = await index({});
    assert.deepStrictEqual(warm.state.groups, expected.state.groups);
  });

  it("does a shard thread's part itself when the thread fails, with the same findings", async () => {
    const broken = join(temp, 'broken-shard.js');
    writeFileSync(broken, "require('node:worker_threads').parentPort.postMessage({ kind: 'ready' });\nsetTimeout(() => process.exit(3), 5);\n");
    const alone = await index({});
    const split = await index({ shardFile: broken, threads: 2 });
    assert.strictEqual(split.stats.shardedPieces, 0);
    assert.deepStrictEqual(split.state.groups, alone.state.groups);
    assert.deepStrictEqual(split.state.callSites, alone.state.callSites);
  });
});
