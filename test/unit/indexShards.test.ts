import * as assert from 'node:assert';
import { build } from 'esbuild';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deserialize } from 'node:v8';
import { Worker } from 'node:worker_threads';
import { checkRepoOnDisk } from '../../src/node/checkRepo';
import type { IndexResponse, IndexServiceOptions } from '../../src/node/indexService';
import { IndexClient } from '../../src/node/indexClient';
import { IndexService } from '../../src/node/indexService';
import { MIN_SHARDED_WORK, claimPiece, threadsFor } from '../../src/node/indexShards';

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

  it("hands the calling thread, through the worker, exactly the call sites the index built", async () => {
    // Call sites of every shape: versions read, unreadable and too large, dynamic arguments, bare loads, insertions with and without an indent, text beyond ASCII.
    writeFileSync(
      join(root, 'src', 'gen', 'odd.py'),
      [
        '# caf\u00e9 \ud83d\ude00',
        'a = render_prompt("gen-1/v2", name=x, topic="\ud83d\ude00")',
        'b = render_prompt("gen-2", version=v, **extra)',
        'c = render_prompt("gen-3/v99999999999999999999", name=1)',
        't = load_prompt("gen-4")',
        'd = render_prompt(',
        '    "gen-5",',
        '    name=n,  # a comment',
        ')',
        'e = render_prompt("caf\u00e9 \ud83d\ude00", *args)',
        '',
      ].join('\n'),
    );
    writeFileSync(
      join(root, 'src', 'gen', 'odd.ts'),
      [
        'const a = renderPrompt(`gen-6`, { version: 1, ...rest });',
        'const b = renderPrompt("gen-7", vars);',
        'const c = renderPrompt("gen-8", {',
        '  name,',
        '  [key]: 1,',
        '});',
        'const d = renderPrompt("gen-9", {});',
        'const e = renderPrompt("gen-10");',
        '',
      ].join('\n'),
    );
    const alone = await index({});
    const sites = alone.state.callSites.flatMap(([, s]) => s);
    const present = (key: string) => sites.some((s) => key in s);
    assert.ok(['version', 'versionRange', 'unknownVersion', 'versionTooLarge', 'dynamic', 'insertion'].every(present), 'call sites of every shape');
    assert.ok(sites.some((s) => s.insertion?.indent !== undefined) && sites.some((s) => /\u00e9/.test(s.promptName)) && sites.some((s) => !s.passesVariables));
    const client = new IndexClient({ workerFile, cacheDir: join(temp, 'storage'), cacheTag: 't', log: { info: () => undefined, warn: (m) => logs.push(m), error: (m) => logs.push(m) } });
    try {
      const { mirror, builtBy } = await client.index(root, open);
      assert.strictEqual(builtBy, 'worker');
      assert.deepStrictEqual(mirror.callSites(), sites);
      assert.deepStrictEqual(mirror.allFindings(), alone.state.groups.flatMap(([, f]) => f));
    } finally {
      await client.dispose();
    }
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

describe('index shards: how many threads a cold build is split across', () => {
  // Readings as `cpuReading()` makes them: all cores' busy and idle time, and this process's own, in ms.
  const at = (busy: number, idle: number, own: number) => ({ busy, idle, own });
  const start = at(50_000, 80_000, 1_000);

  it('adds a thread on two cores when, beyond this process, the machine was quiet, whatever the load average says', () => {
    // 80 ms: this process busy on one core (and briefly on the other), the rest idle.
    assert.strictEqual(threadsFor(2, start, at(50_100, 80_060, 1_095), 1.4), 2);
    assert.strictEqual(threadsFor(2, start, at(50_080, 80_080, 1_080), 3.5), 2);
  });

  it("doesn't take the counters' 10 ms steps for another program", () => {
    // 40 ms, both cores busy, all of it this process's: the cores' counters read 28 ms more than it spent (a step on each core, and a little).
    assert.strictEqual(threadsFor(2, start, at(50_080, 80_000, 1_052), 0.1), 2);
    // Past the steps, another program counts: 40 ms of it on a 40 ms span is a core.
    assert.strictEqual(threadsFor(2, start, at(50_080, 80_000, 1_020), 0.1), 1);
  });

  it("doesn't split when another program keeps the other core busy, whatever the load average says", () => {
    // 80 ms, both cores busy: 80 ms of it this process's.
    assert.strictEqual(threadsFor(2, start, at(50_160, 80_000, 1_080), 0.1), 1);
    // Three programs on two cores: the others took more than a third of one.
    assert.strictEqual(threadsFor(2, start, at(50_160, 80_000, 1_100), 0.1), 1);
  });

  it("counts this process's other threads (compiling, collecting) as its own work, not the machine's", () => {
    // Both cores busy for 80 ms, all of it this process's.
    assert.strictEqual(threadsFor(2, start, at(50_160, 80_000, 1_160), 2), 2);
  });

  it('adds one thread per free core, at most four in all and never more than the cores', () => {
    // Eight cores over 100 ms: this process on one, the others on two, five free.
    assert.strictEqual(threadsFor(8, start, at(50_300, 80_500, 1_100), 0), 4);
    // Four cores: others on two and a half (beyond the counters' steps), half a core free besides this process's.
    assert.strictEqual(threadsFor(4, start, at(50_390, 80_010, 1_100), 0), 1);
    assert.strictEqual(threadsFor(1, start, at(50_100, 80_000, 1_100), 0), 1);
  });

  it('asks the load average when the readings span too little time or none', () => {
    const soon = at(50_020, 80_020, 1_020);
    assert.strictEqual(threadsFor(2, start, soon, 0.2), 2);
    assert.strictEqual(threadsFor(2, start, soon, 1.4), 1);
    assert.strictEqual(threadsFor(2, undefined, soon, 0.2), 2);
    assert.strictEqual(threadsFor(2, undefined, soon, 1.4), 1);
    // Counters that went backwards say nothing either.
    assert.strictEqual(threadsFor(2, start, at(40_000, 90_000, 1_100), 1.4), 1);
  });
});

describe('index shards: how threads claim their pieces', () => {
  it('claims from either end, skips what others hold, takes what was set aside for it, and says when none is left', () => {
    const claims = new Int32Array(new SharedArrayBuffer(4 * 5));
    claims[4] = 3; // set aside for thread 3
    claims[1] = 2; // thread 2's
    assert.strictEqual(claimPiece(claims, 1, 0, 1), 0);
    assert.strictEqual(claimPiece(claims, 1, 1, 1), 2, "thread 2's piece is skipped");
    assert.strictEqual(claimPiece(claims, 2, 4, -1), 3, "thread 3's piece is skipped");
    assert.strictEqual(claimPiece(claims, 3, 4, -1), 4, 'its own, set aside');
    assert.deepStrictEqual([...claims], [1, 2, 1, 2, 3]);
    assert.strictEqual(claimPiece(claims, 1, 3, 1), -1);
    assert.strictEqual(claimPiece(claims, 4, 2, -1), -1);
  });

  it('gives each piece to exactly one of several threads claiming at once', async () => {
    const pieces = 20_000;
    const claims = new Int32Array(new SharedArrayBuffer(4 * pieces));
    const go = new Int32Array(new SharedArrayBuffer(4));
    // Three threads claim from the back while this one claims from the front, each counting its own.
    const source = `
      const { workerData, parentPort } = require('node:worker_threads');
      const claimPiece = ${claimPiece.toString()};
      const claims = new Int32Array(workerData.claims);
      const go = new Int32Array(workerData.go);
      Atomics.wait(go, 0, 0);
      let mine = 0;
      for (let at = claims.length - 1; ; ) {
        const piece = claimPiece(claims, workerData.owner, at, -1);
        if (piece < 0) break;
        mine += 1;
        at = piece - 1;
      }
      parentPort.postMessage(mine);`;
    const counts = [2, 3, 4].map((owner) => {
      const worker = new Worker(source, { eval: true, workerData: { claims: claims.buffer, go: go.buffer, owner } });
      return new Promise<number>((resolve, reject) => worker.once('message', resolve).once('error', reject));
    });
    await new Promise((resolve) => setTimeout(resolve, 50));
    Atomics.store(go, 0, 1);
    Atomics.notify(go, 0);
    let own = 0;
    for (let at = 0; ; ) {
      const piece = claimPiece(claims, 1, at, 1);
      if (piece < 0) break;
      own += 1;
      at = piece + 1;
    }
    const theirs = await Promise.all(counts);
    assert.strictEqual(own + theirs.reduce((a, b) => a + b, 0), pieces, `${own} + ${theirs.join(' + ')}`);
    for (const owner of [1, 2, 3, 4]) assert.strictEqual(claims.filter((c) => c === owner).length, owner === 1 ? own : theirs[owner - 2]);
  });
});
