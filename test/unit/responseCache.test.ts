import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, utimes, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ModelRequest } from '../../src/core/eval/types';
import type { ClientReply } from '../../src/node/modelClient';
import { IGNORE_EVERYTHING } from '../../src/node/outputFiles';
import { CacheMissError, ResponseCache, STALE_TEMP_MS, cacheKey, cachedGateway, canonicalJson, normaliseEndpoint } from '../../src/node/responseCache';
import type { CacheEntry, CompletingClient } from '../../src/node/responseCache';

const REQUEST: ModelRequest = {
  model: 'claude-sonnet-4-6',
  max_tokens: 64,
  system: 'Be brief.',
  messages: [{ role: 'user', content: 'Hello' }],
};

function entry(key: string, text = 'hi'): CacheEntry {
  return {
    format: 1,
    key,
    text,
    usage: { inputTokens: 5, outputTokens: 2 },
    latencyMs: 321,
    stopReason: 'end_turn',
    createdAt: '2025-01-01T00:00:00.000Z',
    model: 'claude-sonnet-4-6',
  };
}

/** A client that counts its calls and answers with a fixed reply. */
function countingClient(reply: Partial<ClientReply> = {}): CompletingClient & { calls: number } {
  const client = {
    calls: 0,
    async complete(): Promise<ClientReply> {
      client.calls += 1;
      return { text: 'answer', inputTokens: 10, outputTokens: 3, latencyMs: 777, stopReason: 'end_turn', ...reply };
    },
  };
  return client;
}

describe('responseCache', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'prompt-ci-cache-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  describe('canonicalJson and cacheKey', () => {
    it('sorts keys at every level and drops undefined members', () => {
      assert.equal(canonicalJson({ b: 1, a: { d: [3, { z: 1, y: 2 }], c: undefined } }), '{"a":{"d":[3,{"y":2,"z":1}]},"b":1}');
      assert.equal(canonicalJson('x"y'), '"x\\"y"');
      assert.equal(canonicalJson(null), 'null');
    });

    it('is the same for the same request built in another key order, and differs by repeat and content', () => {
      const reordered: ModelRequest = { messages: REQUEST.messages, system: 'Be brief.', max_tokens: 64, model: 'claude-sonnet-4-6' };
      assert.equal(cacheKey(REQUEST, 0), cacheKey(reordered, 0));
      assert.notEqual(cacheKey(REQUEST, 0), cacheKey(REQUEST, 1));
      assert.notEqual(cacheKey(REQUEST, 0), cacheKey({ ...REQUEST, max_tokens: 65 }, 0));
      assert.notEqual(cacheKey(REQUEST, 0), cacheKey({ ...REQUEST, messages: [{ role: 'user', content: 'Hello ' }] }, 0));
      assert.match(cacheKey(REQUEST, 0), /^[0-9a-f]{64}$/);
      assert.notEqual(cacheKey(REQUEST, 0, 'http://127.0.0.1:4000'), cacheKey(REQUEST, 0));
      assert.equal(cacheKey(REQUEST, 0, normaliseEndpoint('https://api.anthropic.com/ ')), cacheKey(REQUEST, 0));
      assert.equal(normaliseEndpoint(undefined), 'https://api.anthropic.com');
    });
  });

  describe('ResponseCache', () => {
    it('stores an entry under its key and reads it back, latency as recorded', async () => {
      const cache = new ResponseCache(dir);
      const key = cacheKey(REQUEST, 0);
      assert.equal(await cache.get(key), undefined);
      await cache.put(entry(key));
      const got = await cache.get(key);
      assert.equal(got?.text, 'hi');
      assert.equal(got?.latencyMs, 321);
      assert.deepEqual(await readdir(join(dir, key.slice(0, 2))), [`${key}.json`]);
    });

    it('treats a corrupt, truncated or foreign entry as a miss', async () => {
      const cache = new ResponseCache(dir);
      const key = cacheKey(REQUEST, 0);
      await mkdir(join(dir, key.slice(0, 2)), { recursive: true });
      await writeFile(join(dir, key.slice(0, 2), `${key}.json`), '{"format":1,"key":"');
      assert.equal(await cache.get(key), undefined);
      await writeFile(join(dir, key.slice(0, 2), `${key}.json`), JSON.stringify(entry('another-key')));
      assert.equal(await cache.get(key), undefined);
      await writeFile(join(dir, key.slice(0, 2), `${key}.json`), JSON.stringify({ ...entry(key), format: 99 }));
      assert.equal(await cache.get(key), undefined);
    });

    it('concurrent writers of the same keys never leave a partial entry or a temp file', async () => {
      const a = new ResponseCache(dir);
      const b = new ResponseCache(dir);
      const keys = Array.from({ length: 40 }, (_, i) => cacheKey({ ...REQUEST, max_tokens: i + 1 }, 0));
      const big = 'x'.repeat(200_000);
      let partial = 0;
      const readers = keys.map(async (key) => {
        for (let i = 0; i < 5; i++) {
          const got = await a.get(key);
          if (got !== undefined && got.text !== big) partial += 1;
        }
      });
      await Promise.all([...keys.map((k) => a.put(entry(k, big))), ...keys.map((k) => b.put(entry(k, big))), ...readers]);
      assert.equal(partial, 0);
      for (const key of keys) assert.equal((await b.get(key))?.text.length, big.length);
      const shards = (await readdir(dir)).filter((d) => d !== '.gitignore');
      const leftovers = (await Promise.all(shards.map((d) => readdir(join(dir, d))))).flat().filter((f) => f.endsWith('.tmp'));
      assert.deepEqual(leftovers, []);
    });

    it('creates its folder with a .gitignore that ignores it, and keeps an existing one', async () => {
      const root = join(dir, 'repo', '.prompt-ci', 'cache');
      const cache = new ResponseCache(root);
      await cache.put(entry(cacheKey(REQUEST, 0)));
      assert.equal(await readFile(join(root, '.gitignore'), 'utf8'), IGNORE_EVERYTHING);
      assert.match(IGNORE_EVERYTHING, /^\*$/m);
      // history.jsonl next to the cache stays committable: nothing is written in .prompt-ci/ itself.
      assert.deepEqual(await readdir(join(dir, 'repo', '.prompt-ci')), ['cache']);
      await writeFile(join(root, '.gitignore'), '*.json\n');
      await new ResponseCache(root).put(entry(cacheKey(REQUEST, 1)));
      assert.equal(await readFile(join(root, '.gitignore'), 'utf8'), '*.json\n');
    });

    it('sweeps temporary files left by killed writers, and only stale ones', async () => {
      const key = cacheKey(REQUEST, 0);
      const shard = join(dir, key.slice(0, 2));
      await mkdir(shard, { recursive: true });
      const stale = join(shard, `${key}.json.4242.0123456789ab.tmp`);
      const fresh = join(shard, `${key}.json.4243.ba9876543210.tmp`);
      const other = join(dir, 'notes.tmp');
      await writeFile(stale, '{"format":1');
      await writeFile(fresh, '{"format":1');
      await writeFile(other, 'not ours');
      const old = new Date(Date.now() - STALE_TEMP_MS - 60_000);
      await utimes(stale, old, old);
      await utimes(other, old, old);
      // The first write of a run sweeps: the stale one goes, a live writer's stays.
      await new ResponseCache(dir).put(entry(cacheKey(REQUEST, 5)));
      const left = await readdir(shard);
      assert.ok(!left.includes(`${key}.json.4242.0123456789ab.tmp`), 'stale temp removed');
      assert.ok(left.includes(`${key}.json.4243.ba9876543210.tmp`), 'fresh temp kept');
      assert.ok((await readdir(dir)).includes('notes.tmp'), 'files outside the shards are not touched');
      assert.equal(await new ResponseCache(dir).sweepStaleTemps(Date.now() + STALE_TEMP_MS + 60_000), 1);
      assert.deepEqual((await readdir(shard)).filter((f) => f.endsWith('.tmp')), []);
    });

    it('is safe with two processes writing the same entries at once', async () => {
      const keys = Array.from({ length: 60 }, (_, i) => cacheKey({ ...REQUEST, max_tokens: i + 1 }, 0));
      const script = `
        const { ResponseCache } = require(${JSON.stringify(join(__dirname, '../../src/node/responseCache'))});
        const cache = new ResponseCache(${JSON.stringify(dir)});
        const keys = ${JSON.stringify(keys)};
        const round = () => Promise.all(keys.map((key) => cache.put({ format: 1, key, text: 'from child '.repeat(5000), usage: { inputTokens: 1, outputTokens: 1 }, latencyMs: 1, stopReason: null, createdAt: '', model: 'm' })));
        (async () => { for (let i = 0; i < 5; i++) await round(); })().then(() => process.exit(0), (e) => { console.error(e); process.exit(1); });
      `;
      const child = spawn(process.execPath, ['--require', 'tsx/cjs', '-e', script], { stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      let done = false;
      const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => ((done = true), resolve(code))));
      const cache = new ResponseCache(dir);
      // Keep writing (and reading) the same keys for as long as the child does.
      let rounds = 0;
      do {
        await Promise.all(keys.map((k) => cache.put(entry(k, 'from parent '.repeat(5000)))));
        for (const key of keys) {
          const got = await cache.get(key);
          assert.ok(got && (got.text === 'from parent '.repeat(5000) || got.text === 'from child '.repeat(5000)));
        }
        rounds += 1;
      } while (!done);
      assert.equal(await exited, 0, stderr);
      assert.ok(rounds >= 1);
      for (const key of keys) {
        const got = await cache.get(key);
        assert.ok(got && (got.text === 'from parent '.repeat(5000) || got.text === 'from child '.repeat(5000)));
      }
    });
  });

  describe('cachedGateway', () => {
    it('normal: the first call reaches the client, the same call again is a hit with the recorded latency', async () => {
      const client = countingClient();
      const gateway = cachedGateway({ cache: new ResponseCache(dir), mode: 'normal', client: () => client });
      const first = await gateway.complete(REQUEST, { repeat: 0, purpose: 'task' });
      const second = await gateway.complete(REQUEST, { repeat: 0, purpose: 'task' });
      const otherRepeat = await gateway.complete(REQUEST, { repeat: 1, purpose: 'judge' });
      assert.equal(client.calls, 2);
      assert.deepEqual(first, { text: 'answer', inputTokens: 10, outputTokens: 3, latencyMs: 777, fromCache: false });
      assert.deepEqual(second, { ...first, fromCache: true });
      assert.equal(otherRepeat.fromCache, false);
      assert.deepEqual(await gateway.peek?.(REQUEST, 0), second);
    });

    it('identical requests in flight at once make one call, in every mode but offline', async () => {
      for (const mode of ['normal', 'no-cache'] as const) {
        const client = countingClient();
        const gateway = cachedGateway({ cache: new ResponseCache(join(dir, mode)), mode, client: () => client });
        const replies = await Promise.all([0, 1, 2].map(() => gateway.complete(REQUEST, { repeat: 0, purpose: 'task' })));
        assert.equal(client.calls, 1, mode);
        assert.deepEqual(replies.map((r) => r.fromCache), [false, true, true]);
        assert.ok(replies.every((r) => r.text === 'answer' && r.latencyMs === 777));
      }
    });

    it('offline: a hit is served, a miss is an error and no client is ever made', async () => {
      const cache = new ResponseCache(dir);
      await cache.put(entry(cacheKey(REQUEST, 0)));
      const gateway = cachedGateway({
        cache,
        mode: 'offline',
        client: () => {
          throw new Error('no client in offline mode');
        },
      });
      assert.equal((await gateway.complete(REQUEST, { repeat: 0, purpose: 'task' })).text, 'hi');
      await assert.rejects(gateway.complete(REQUEST, { repeat: 1, purpose: 'task' }), (error: unknown) => {
        assert.ok(error instanceof CacheMissError);
        assert.match((error as Error).message, /offline: no cached response/);
        return true;
      });
    });

    it('no-cache: never reads the cache but records the fresh response', async () => {
      const cache = new ResponseCache(dir);
      await cache.put(entry(cacheKey(REQUEST, 0), 'stale'));
      const client = countingClient({ text: 'fresh' });
      const gateway = cachedGateway({ cache, mode: 'no-cache', client: () => client });
      const reply = await gateway.complete(REQUEST, { repeat: 0, purpose: 'task' });
      assert.equal(reply.text, 'fresh');
      assert.equal(reply.fromCache, false);
      assert.equal(await gateway.peek?.(REQUEST, 0), undefined);
      assert.equal((await cache.get(cacheKey(REQUEST, 0)))?.text, 'fresh');
    });

    it('a failed cache write loses the entry, not the reply', async () => {
      const blocked = join(dir, 'file-not-dir');
      await writeFile(blocked, '');
      const errors: unknown[] = [];
      const gateway = cachedGateway({ cache: new ResponseCache(blocked), mode: 'normal', client: () => countingClient(), onCacheWriteError: (e) => errors.push(e) });
      const reply = await gateway.complete(REQUEST, { repeat: 0, purpose: 'task' });
      assert.equal(reply.text, 'answer');
      assert.equal(errors.length, 1);
    });
  });
});
