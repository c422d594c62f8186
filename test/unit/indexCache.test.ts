import * as assert from 'node:assert';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkRepoOnDisk } from '../../src/node/checkRepo';
import { IndexClient } from '../../src/node/indexClient';
import type { IndexResponse } from '../../src/node/indexService';
import { IndexService } from '../../src/node/indexService';

// The fixture workspace of the VS Code tests: prompts with deliberate mistakes and Python/TS callers.
const FIXTURE = join(__dirname, '..', 'fixtures', 'workspace');

function indexed(response: IndexResponse): Extract<IndexResponse, { kind: 'indexed' }> {
  assert.strictEqual(response.kind, 'indexed', JSON.stringify(response));
  return response as Extract<IndexResponse, { kind: 'indexed' }>;
}

const sortedFindings = (groups: [string, unknown[]][]): string => JSON.stringify([...groups].sort(([a], [b]) => (a < b ? -1 : 1)));

describe('index cache and index service', () => {
  let root: string;
  let cacheDir: string;
  const logs: string[] = [];
  const service = (tag = 'v1') => new IndexService({ cacheDir, cacheTag: tag, log: (m) => logs.push(m) });

  beforeEach(() => {
    const temp = mkdtempSync(join(tmpdir(), 'prompt-ci-index-cache-'));
    root = join(temp, 'repo');
    cacheDir = join(temp, 'storage');
    cpSync(FIXTURE, root, { recursive: true });
    logs.length = 0;
  });
  afterEach(() => rmSync(join(root, '..'), { recursive: true, force: true }));

  it('gives the findings of `prompt-ci check`, and the same again from the cache, without reading unchanged files', async () => {
    const expected = (await checkRepoOnDisk(root)).findings;
    const cold = service();
    const first = indexed(await cold.handle({ kind: 'index', id: 1, root, open: [] }));
    assert.deepStrictEqual(first.state.groups.flatMap(([, f]) => f), expected);
    assert.strictEqual(first.stats.cache.loaded, 'absent');
    assert.strictEqual(first.stats.cache.hits, 0);
    assert.ok(first.stats.cache.misses > 0);
    await cold.dispose();
    const files = readdirSync(cacheDir);
    assert.strictEqual(files.length, 1);
    assert.match(files[0], /^index-[0-9a-f]{16}\.bin$/);
    assert.ok(!readdirSync(root).some((f) => f.startsWith('index-')), 'nothing is written into the repository');

    const warm = service();
    const second = indexed(await warm.handle({ kind: 'index', id: 1, root, open: [] }));
    assert.strictEqual(second.stats.cache.loaded, 'loaded');
    assert.strictEqual(second.stats.cache.misses, 0);
    assert.strictEqual(second.stats.cache.hits, first.stats.cache.misses);
    assert.ok(second.stats.cache.unread > 0);
    assert.strictEqual(sortedFindings(second.state.groups), sortedFindings(first.state.groups));
    await warm.dispose();
  });

  it("names the cache file by the SHA-1 of the repository's path as UTF-8, so a cache written by any Node 20 release is found again", async () => {
    const named = join(root, '..', 'répo ✓ 𝄞');
    cpSync(root, named, { recursive: true });
    const cold = service();
    indexed(await cold.handle({ kind: 'index', id: 1, root: named, open: [] }));
    await cold.dispose();
    assert.deepStrictEqual(readdirSync(cacheDir), [`index-${createHash('sha1').update(named, 'utf8').digest('hex').slice(0, 16)}.bin`]);
  });

  it('checks prompt files from the bytes and lstats it took for the cache, with the findings of `prompt-ci check`: a link, a linked version directory, CRLF, a BOM, bytes not UTF-8', async () => {
    const v1 = join(root, 'prompts', 'support', 'v1');
    const v2 = join(root, 'prompts', 'support', 'v2');
    cpSync(v1, v2, { recursive: true });
    writeFileSync(join(v2, 'metadata.yaml'), readFileSync(join(v1, 'metadata.yaml'), 'utf8').replace('version: 1', 'version: 2').replace(/\n/g, '\r\n'));
    writeFileSync(join(v2, 'system.md'), `\ufeff${readFileSync(join(v1, 'system.md'), 'utf8')}`);
    writeFileSync(join(v2, 'eval.jsonl'), Buffer.concat([readFileSync(join(v1, 'eval.jsonl')), Buffer.from([0xff, 0xfe, 0x0a])]));
    rmSync(join(v2, 'user.template.md'));
    symlinkSync(join(v1, 'user.template.md'), join(v2, 'user.template.md'));
    symlinkSync(v1, join(root, 'prompts', 'support', 'v3'));
    const expected = (await checkRepoOnDisk(root)).findings;
    for (const code of ['file/crlf', 'file/bom', 'file/invalid-utf8', 'file/refused']) assert.ok(expected.some((f) => f.code === code), code);
    const cold = service();
    const first = indexed(await cold.handle({ kind: 'index', id: 1, root, open: [] }));
    assert.deepStrictEqual(first.state.groups.flatMap(([, f]) => f), expected);
    await cold.dispose();
  });

  it('re-parses a file whose content changed, even when its size and modification time are those recorded', async () => {
    const first = service();
    indexed(await first.handle({ kind: 'index', id: 1, root, open: [] }));
    await first.dispose();
    const metadata = join(root, 'prompts', 'support', 'v1', 'metadata.yaml');
    const before = readFileSync(metadata, 'utf8');
    assert.match(before, /^version: 1$/m);
    const changed = before.replace(/^version: 1$/m, 'version: 7');
    assert.strictEqual(changed.length, before.length);
    const recorded = statSync(metadata, { bigint: true }).mtimeNs;
    writeFileSync(metadata, changed);
    // The modification time put back to the nanosecond: only the change time tells.
    execFileSync('touch', ['-m', '-d', `@${recorded / 1_000_000_000n}.${String(recorded % 1_000_000_000n).padStart(9, '0')}`, metadata]);
    assert.strictEqual(statSync(metadata, { bigint: true }).mtimeNs, recorded);
    const next = service();
    const second = indexed(await next.handle({ kind: 'index', id: 1, root, open: [] }));
    assert.strictEqual(second.stats.cache.misses, 1, JSON.stringify(second.stats));
    const all = second.state.groups.flatMap(([, f]) => f);
    assert.ok(all.some((f) => f.file === 'prompts/support/v1/metadata.yaml' && /7/.test(f.message)), JSON.stringify(all.map((f) => f.message)));
    await next.dispose();
  });

  it('starts afresh after an upgrade (another tag) and ignores a corrupted cache file with a log line', async () => {
    const first = service('v1');
    indexed(await first.handle({ kind: 'index', id: 1, root, open: [] }));
    await first.dispose();
    const upgraded = service('v2');
    const stale = indexed(await upgraded.handle({ kind: 'index', id: 1, root, open: [] }));
    assert.strictEqual(stale.stats.cache.loaded, 'stale');
    assert.strictEqual(stale.stats.cache.hits, 0);
    await upgraded.dispose();

    const [file] = readdirSync(cacheDir);
    writeFileSync(join(cacheDir, file), Buffer.from('not a cache at all'));
    const fresh = service('v2');
    const corrupt = indexed(await fresh.handle({ kind: 'index', id: 1, root, open: [] }));
    assert.strictEqual(corrupt.stats.cache.loaded, 'corrupt');
    assert.ok(logs.some((l) => /index cache .* ignored: it can't be read back/.test(l)), logs.join('\n'));
    assert.deepStrictEqual(corrupt.state.groups.flatMap(([, f]) => f), (await checkRepoOnDisk(root)).findings);
    await fresh.dispose();
  });

  it('updates one file at a time through the client (in-process without a worker bundle), editor text first', async () => {
    const warnings: string[] = [];
    const client = new IndexClient({ cacheTag: 't', log: { info: () => {}, warn: (m) => warnings.push(m), error: (m) => warnings.push(m) } });
    assert.strictEqual(client.builtBy, 'in-process');
    assert.ok(warnings.some((w) => /index worker.*is missing/.test(w)));
    const { mirror } = await client.index(root, []);
    const path = 'prompts/support/v1/metadata.yaml';
    const text = readFileSync(join(root, path), 'utf8');
    const before = mirror.findingGroups.get('version:prompts/support/v1') ?? [];
    assert.ok(before.length > 0);
    // An editor's text that fixes everything in metadata.yaml.
    const fixed = 'name: support\nversion: 1\nmodel: claude-sonnet-4-6\nmax_output_tokens: 300\neval:\n  threshold_win_rate: 0.9\n';
    const groups = mirror.apply(await client.update(root, path, fixed));
    assert.ok(groups.includes('version:prompts/support/v1'));
    const after = mirror.findingGroups.get('version:prompts/support/v1') ?? [];
    assert.ok(after.every((f) => f.file !== path), JSON.stringify(after));
    assert.strictEqual(mirror.version('prompts/support/v1')?.metadata?.max_output_tokens, 300);
    // Closed unsaved: the disk counts again.
    mirror.apply(await client.update(root, path, null));
    assert.deepStrictEqual(mirror.findingGroups.get('version:prompts/support/v1'), before);
    assert.strictEqual(readFileSync(join(root, path), 'utf8'), text);
    await client.dispose();
  });

  it('publishes the last build as it was when nothing it read changed, and builds the index behind it for the edits to come', async () => {
    const first = service();
    const cold = indexed(await first.handle({ kind: 'index', id: 1, root, open: [] }));
    assert.strictEqual(cold.stats.cache.reusedBuild, false);
    await first.dispose();
    const next = service();
    const warm = indexed(await next.handle({ kind: 'index', id: 1, root, open: [] }));
    assert.strictEqual(warm.stats.cache.reusedBuild, true);
    assert.strictEqual(warm.stats.cache.misses, 0);
    assert.deepStrictEqual(warm.state.groups, cold.state.groups);
    assert.deepStrictEqual(warm.state.callSites, cold.state.callSites);
    // The very bytes the first build sent: nothing was checked again.
    assert.deepStrictEqual(warm.state.versions, cold.state.versions);
    assert.deepStrictEqual(Buffer.from(warm.state.versionBytes), Buffer.from(cold.state.versionBytes));
    // The next request is answered by the index built behind the published one.
    const path = 'src/support/replies.py';
    const edited = readFileSync(join(root, path), 'utf8').replace('customer_name=ticket.customer_name,', 'customer_name=ticket.customer_name,\n        ticket=ticket.body,');
    const update = await next.handle({ kind: 'update', id: 2, root, path, text: edited });
    assert.strictEqual(update.kind, 'updated');
    const delta = (update as Extract<IndexResponse, { kind: 'updated' }>).delta;
    assert.deepStrictEqual(delta.callSites?.[1].map((s) => s.variables.map((v) => v.name)), [['customer_name', 'ticket']]);
    assert.ok(delta.groups.some(([g]) => g === 'cross:support'), JSON.stringify(delta.groups));
    await next.dispose();
  });

  it("does not reuse the last build when a call site naming a prompt changed while the prompt's own files did not", async () => {
    const path = 'src/support/replies.py';
    const original = readFileSync(join(root, path), 'utf8');
    // The call site passes every variable the template has: the cross-check finds nothing there.
    writeFileSync(join(root, path), original.replace('customer_name=ticket.customer_name,', 'customer_name=ticket.customer_name,\n        ticket=ticket.body,'));
    const first = service();
    const before = indexed(await first.handle({ kind: 'index', id: 1, root, open: [] }));
    await first.dispose();
    const crossFindings = (r: Extract<IndexResponse, { kind: 'indexed' }>) => r.state.groups.filter(([g]) => g === 'cross:support').flatMap(([, f]) => f).filter((f) => f.file === path);
    assert.ok(!crossFindings(before).some((f) => /ticket/.test(f.message)), JSON.stringify(crossFindings(before)));
    // Back to the original call, which leaves out {ticket}; every file of the prompt is as it was.
    writeFileSync(join(root, path), original);
    const next = service();
    const after = indexed(await next.handle({ kind: 'index', id: 1, root, open: [] }));
    assert.strictEqual(after.stats.cache.reusedBuild, false);
    assert.strictEqual(after.stats.cache.misses, 1, JSON.stringify(after.stats));
    assert.ok(crossFindings(after).some((f) => /ticket/.test(f.message)), JSON.stringify(crossFindings(after)));
    assert.deepStrictEqual(after.state.groups.flatMap(([, f]) => f), (await checkRepoOnDisk(root)).findings);
    await next.dispose();
  });

  it("does not reuse the last build when an open editor, the settings or an output schema's existence changed", async () => {
    const metadata = join(root, 'prompts', 'support', 'v1', 'metadata.yaml');
    writeFileSync(metadata, `${readFileSync(metadata, 'utf8').trimEnd()}\noutput_schema: dist/reply.json\n`);
    const build = async (open: [string, string][] = []) => {
      const s = service();
      const r = indexed(await s.handle({ kind: 'index', id: 1, root, open }));
      await s.dispose();
      return r;
    };
    const missingSchema = await build();
    assert.ok(missingSchema.state.groups.flatMap(([, f]) => f).some((f) => /dist\/reply\.json/.test(f.message)));
    assert.strictEqual((await build()).stats.cache.reusedBuild, true);
    mkdirSync(join(root, "dist"));
    writeFileSync(join(root, "dist", "reply.json"), "{}");
    // dist/ is never listed, and the metadata is unchanged: only the check's own question tells.
    const withSchema = await build();
    assert.strictEqual(withSchema.stats.cache.reusedBuild, false);
    assert.deepStrictEqual(withSchema.state.groups.flatMap(([, f]) => f), (await checkRepoOnDisk(root)).findings);
    assert.strictEqual((await build()).stats.cache.reusedBuild, true);
    const template = 'prompts/support/v1/user.template.md';
    const opened = await build([[template, 'Only {customer_name} now.\n']]);
    assert.strictEqual(opened.stats.cache.reusedBuild, false);
    writeFileSync(join(root, 'prompt-ci.yaml'), 'callSites:\n  functions: [render_prompt, draft_reply]\n');
    const settings = await build();
    assert.strictEqual(settings.stats.cache.reusedBuild, false);
    assert.deepStrictEqual(settings.state.groups.flatMap(([, f]) => f), (await checkRepoOnDisk(root)).findings);
  });
});
