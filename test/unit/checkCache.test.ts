import * as assert from 'node:assert';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cachedDataVersionTag } from 'node:v8';
import { INDEX_CACHE_DIR, checkRepoOnDisk, readRepoSettings } from '../../src/node/checkRepo';
import { diskSnapshot, listRepoFiles } from '../../src/node/repoFiles';
import { sourcesToParse } from '../../src/node/repoIndex';
import { createSourceParser } from '../../src/node/treeSitter';

// The fixture workspace of the VS Code tests: prompts with deliberate mistakes, a Python and a TypeScript caller.
const FIXTURE = join(__dirname, '..', 'fixtures', 'workspace');
const PY = 'src/support/replies.py';
const TS = 'src/support/inbox.ts';
// V8's flags as Node set them, before any test has loaded a grammar: the tag hashes the flags with V8's version.
const NODE_FLAGS_TAG = cachedDataVersionTag();

describe("check's grammars and its cache of parsed files", () => {
  let root: string;
  let cacheDir: string;

  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'prompt-ci-check-cache-'));
    cpSync(FIXTURE, root, { recursive: true });
    cacheDir = join(root, INDEX_CACHE_DIR);
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('loads the grammars of the languages whose sources name a render function, and no other', async () => {
    const both = await checkRepoOnDisk(root);
    assert.deepStrictEqual([...both.parsing.languages].sort(), ['python', 'typescript']);

    rmSync(join(root, TS));
    assert.deepStrictEqual((await checkRepoOnDisk(root)).parsing.languages, ['python']);

    // A source that never names a render function is never parsed: no grammar, not even the runtime.
    writeFileSync(join(root, PY), 'def unrelated():\n    return 1\n');
    const none = await checkRepoOnDisk(root);
    assert.deepStrictEqual(none.parsing.languages, []);
  });

  it('a parser made for some languages parses those and refuses the others', async () => {
    const parser = await createSourceParser({ languages: ['python'] });
    try {
      assert.deepStrictEqual(parser.languages, ['python']);
      assert.strictEqual(parser.callSitesOf('render_prompt("a/v1")\n', 'python', ['render_prompt']).length, 1);
      assert.throws(() => parser.parse('renderPrompt("a/v1");', 'typescript'), /No parser for typescript/);
    } finally {
      parser.dispose();
    }
    const empty = await createSourceParser({ languages: [] });
    assert.deepStrictEqual(empty.languages, []);
    empty.dispose();
  });

  it('counts the source text to be parsed, reading no further than the count asked for needs', () => {
    const { settings } = readRepoSettings(root);
    const snapshot = diskSnapshot(root, listRepoFiles(root));
    const both = readFileSync(join(root, PY), 'utf8').length + readFileSync(join(root, TS), 'utf8').length;
    const all = sourcesToParse(snapshot, settings, undefined, Number.POSITIVE_INFINITY);
    assert.deepStrictEqual([...all.languages].sort(), ['python', 'typescript']);
    assert.strictEqual(all.chars, both);
    // Without a count to reach, one file of each language is enough to name the grammars.
    assert.deepStrictEqual([...sourcesToParse(snapshot, settings).languages].sort(), ['python', 'typescript']);

    writeFileSync(join(root, PY), 'def unrelated():\n    return 1\n');
    const ts = sourcesToParse(diskSnapshot(root, listRepoFiles(root)), settings, undefined, Number.POSITIVE_INFINITY);
    assert.deepStrictEqual(ts, { languages: ['typescript'], chars: readFileSync(join(root, TS), 'utf8').length }, 'a source naming no render function is not parsed');
  });

  it("changes V8's flags only when its caller asks (the CLI): a service calling the Node API keeps its engine's flags", async () => {
    // Samples V8's flags (through the tag that hashes them) between the check's asynchronous steps;
    // the cache folder is written with real I/O before the parser is disposed, so there is a gap to see.
    const flagsSeenDuring = async (options: Parameters<typeof checkRepoOnDisk>[1]): Promise<Set<number>> => {
      const seen = new Set<number>();
      let sampling = true;
      const sample = (): void => {
        seen.add(cachedDataVersionTag());
        if (sampling) setImmediate(sample);
      };
      sample();
      try {
        await checkRepoOnDisk(root, options);
      } finally {
        sampling = false;
      }
      rmSync(cacheDir, { recursive: true, force: true });
      return seen;
    };
    assert.deepStrictEqual([...(await flagsSeenDuring({ cacheDir }))], [NODE_FLAGS_TAG]);
    const cli = await flagsSeenDuring({ cacheDir, unoptimisedGrammarsWhenSmall: true });
    assert.ok(cli.size > 1, 'the CLI\'s small check runs the grammars on the baseline compiler');
    assert.strictEqual(cachedDataVersionTag(), NODE_FLAGS_TAG);
  });

  it('a parser on the baseline compiler finds the same call sites, and leaves V8\'s flags as they were once disposed', async () => {
    const text = readFileSync(join(root, TS), 'utf8');
    const functions = readRepoSettings(root).settings.callSites.functions;
    const baseline = await createSourceParser({ languages: ['typescript'], baselineOnly: true });
    let sites;
    try {
      sites = baseline.callSitesOf(text, 'typescript', functions);
    } finally {
      baseline.dispose();
    }
    // A code cache made with other flags than the next process's is refused.
    assert.strictEqual(cachedDataVersionTag(), NODE_FLAGS_TAG);
    const usual = await createSourceParser({ languages: ['typescript'] });
    try {
      assert.ok(sites.length > 0);
      assert.deepStrictEqual(sites, usual.callSitesOf(text, 'typescript', functions));
    } finally {
      usual.dispose();
    }
  });

  it('keeps parsed results in a git-ignored folder, and an unchanged repository is checked from it with no grammar loaded', async () => {
    const expected = (await checkRepoOnDisk(root)).findings;
    const cold = await checkRepoOnDisk(root, { cacheDir });
    assert.deepStrictEqual(cold.findings, expected);
    assert.strictEqual(cold.parsing.cache?.loaded, 'absent');
    assert.strictEqual(cold.parsing.cache?.hits, 0);
    assert.ok((cold.parsing.cache?.misses ?? 0) > 0);
    assert.deepStrictEqual(readdirSync(cacheDir).filter((f) => f.endsWith('.bin')).length, 1);
    assert.strictEqual(readFileSync(join(cacheDir, '.gitignore'), 'utf8').split('\n').includes('*'), true);

    const warm = await checkRepoOnDisk(root, { cacheDir });
    assert.deepStrictEqual(warm.findings, expected);
    assert.strictEqual(warm.parsing.cache?.loaded, 'loaded');
    assert.strictEqual(warm.parsing.cache?.misses, 0);
    assert.strictEqual(warm.parsing.cache?.hits, cold.parsing.cache?.misses);
    assert.deepStrictEqual(warm.parsing.languages, [], 'nothing to parse: no grammar loaded');

    // One source changed: only its language is loaded, and its findings follow the new text.
    writeFileSync(join(root, PY), `${readFileSync(join(root, PY), 'utf8')}\nrender_prompt("no_such_prompt/v1", {})\n`);
    const edited = await checkRepoOnDisk(root, { cacheDir });
    assert.deepStrictEqual(edited.parsing.languages, ['python']);
    assert.strictEqual(edited.parsing.cache?.misses, 1);
    assert.deepStrictEqual(edited.findings, (await checkRepoOnDisk(root)).findings);
    assert.ok(edited.findings.length > expected.length, 'the new call site is reported');
  });

  it('ignores a corrupt or foreign cache file and writes a good one in its place', async () => {
    const expected = (await checkRepoOnDisk(root)).findings;
    await checkRepoOnDisk(root, { cacheDir });
    const [file] = readdirSync(cacheDir).filter((f) => f.endsWith('.bin'));
    const good = readFileSync(join(cacheDir, file));

    for (const bad of [Buffer.from('not a cache at all'), good.subarray(0, Math.floor(good.length / 2)), Buffer.alloc(0)]) {
      writeFileSync(join(cacheDir, file), bad);
      const run = await checkRepoOnDisk(root, { cacheDir });
      assert.deepStrictEqual(run.findings, expected);
      assert.notStrictEqual(run.parsing.cache?.loaded, 'loaded');
      assert.strictEqual(run.parsing.cache?.hits, 0);
      assert.strictEqual((await checkRepoOnDisk(root, { cacheDir })).parsing.cache?.loaded, 'loaded', 'rewritten after');
    }
  });

  it('checks as usual when the cache folder cannot be made', async () => {
    const expected = (await checkRepoOnDisk(root)).findings;
    const blocked = join(root, 'a-file');
    writeFileSync(blocked, 'in the way');
    const run = await checkRepoOnDisk(root, { cacheDir: join(blocked, 'index') });
    assert.deepStrictEqual(run.findings, expected);
    assert.ok(!existsSync(join(blocked, 'index')));
  });
});
