import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EvalJsonlParser, MAX_EVAL_LINE_CHARS, parseEvalJsonl } from '../../src/core/evalSet';
import type { EvalExample } from '../../src/core/evalSet';
import type { Finding } from '../../src/core/finding';
import { decodePromptText } from '../../src/core/promptText';
import { readEvalJsonl } from '../../src/node/evalJsonlStream';
import { PromptFilesError } from '../../src/node/promptFiles';

const line = (id: string, extra: Record<string, unknown> = {}): string => JSON.stringify({ id, inputs: { document: `text of ${id} — ünïcödé 😀` }, ...extra });

describe('eval.jsonl read a line at a time', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'prompt-ci-eval-stream-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const write = (name: string, content: string | Buffer): string => {
    const path = join(dir, name);
    writeFileSync(path, content);
    return path;
  };
  const read = async (path: string, chunkBytes?: number): Promise<{ examples: EvalExample[]; findings: Finding[] }> => {
    const parser = new EvalJsonlParser();
    const examples: EvalExample[] = [];
    for await (const example of readEvalJsonl(path, parser, { path: 'prompts/x/v1/eval.jsonl', ...(chunkBytes ? { chunkBytes } : {}) })) examples.push(example);
    return { examples, findings: parser.findings };
  };
  /** What parseEvalJsonl gives for the whole file, decoded as every prompt file is. */
  const whole = (content: string | Buffer): ReturnType<typeof parseEvalJsonl> => parseEvalJsonl(decodePromptText(Buffer.from(content)).text);

  const MIXED = [
    line('a', { tags: ['x'] }),
    '',
    line('b', { reference: 'ref' }),
    '{"id": "c", "inputs": {"document": "missing brace"}',
    line('d', { cluster: 3 }),
    '[1, 2]',
    line('a'),
    '   ',
    line('e', { source: { kind: 'synthetic' } }),
  ].join('\n');

  it('gives the examples and findings parseEvalJsonl gives for the whole text, whatever the piece size', async () => {
    const path = write('mixed.jsonl', `${MIXED}\n`);
    const expected = whole(`${MIXED}\n`);
    for (const chunk of [1, 3, 7, 64, 64 * 1024]) assert.deepEqual(await read(path, chunk), expected, `pieces of ${chunk} bytes`);
    assert.deepEqual(
      expected.examples.map((e) => e.id),
      ['a', 'b', 'd', 'e'],
    );
  });

  it('names the line of a bad line in the middle, and of a repeated id', async () => {
    const { findings } = await read(write('middle.jsonl', `${MIXED}\n`), 5);
    assert.deepEqual(
      findings.map((f) => [f.code, f.range.start.line + 1]),
      [
        ['eval/invalid-json', 4],
        ['eval/not-object', 6],
        ['eval/duplicate-id', 7],
      ],
    );
    assert.match(findings[2].message, /id "a" repeats line 1/);
  });

  it('reads CRLF line endings as LF: the same examples, offsets and lengths as the LF file', async () => {
    const crlf = await read(write('crlf.jsonl', `${MIXED.replace(/\n/g, '\r\n')}\r\n`), 4);
    assert.deepEqual(crlf, whole(`${MIXED}\n`));
    assert.equal(crlf.examples[0].length, line('a', { tags: ['x'] }).length);
  });

  it('reads a last line with no newline after it', async () => {
    const { examples, findings } = await read(write('no-newline.jsonl', `${line('first')}\n${line('last')}`), 8);
    assert.deepEqual(findings, []);
    assert.deepEqual(
      examples.map((e) => [e.id, e.line]),
      [
        ['first', 0],
        ['last', 1],
      ],
    );
  });

  it('drops a leading byte order mark, as every prompt file read does', async () => {
    const content = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(`${line('bom')}\n${line('next')}\n`)]);
    const got = await read(write('bom.jsonl', content), 2);
    assert.deepEqual(got, whole(content));
    assert.deepEqual(
      got.examples.map((e) => [e.id, e.offset]),
      [
        ['bom', 0],
        ['next', line('bom').length + 1],
      ],
    );
  });

  it('refuses a line over the limit without keeping it, names its number and size, and reads on', async () => {
    const huge = `{"id": "huge", "inputs": {"document": "${'x'.repeat(3 * MAX_EVAL_LINE_CHARS + 10)}"}}`;
    const over = `{"id": "over", "inputs": {"document": "${'é'.repeat(MAX_EVAL_LINE_CHARS)}"}}`;
    const { examples, findings } = await read(write('huge.jsonl', `${line('before')}\n${huge}\n${over}\n${line('after')}\n`));
    assert.deepEqual(
      examples.map((e) => e.id),
      ['before', 'after'],
    );
    assert.deepEqual(
      findings.map((f) => [f.code, f.message]),
      [
        ['eval/line-too-large', `line 2 is ${huge.length} characters; lines over ${MAX_EVAL_LINE_CHARS} are refused`],
        ['eval/line-too-large', `line 3 is ${over.length} characters; lines over ${MAX_EVAL_LINE_CHARS} are refused`],
      ],
    );
    assert.equal(examples[1].line, 3);
  });

  it('refuses bytes that are not UTF-8 with the offset of the first bad byte in the file', async () => {
    const content = Buffer.concat([Buffer.from(`${line('ok')}\n{"id": "bad", "inputs": {"d": "`), Buffer.from([0xc3, 0x28]), Buffer.from('"}}\n')]);
    const expectedAt = decodePromptText(content).invalidUtf8At;
    assert.equal(typeof expectedAt, 'number');
    await assert.rejects(read(write('bad-utf8.jsonl', content), 3), (error: unknown) => {
      assert.ok(error instanceof PromptFilesError);
      assert.equal(error.message, `prompts/x/v1/eval.jsonl is not valid UTF-8 (first bad byte at offset ${expectedAt})`);
      return true;
    });
  });

  it('refuses a symbolic link, as the whole-file reader does', async () => {
    const target = write('target.jsonl', `${line('a')}\n`);
    const link = join(dir, 'link.jsonl');
    symlinkSync(target, link);
    await assert.rejects(read(link), /is a symbolic link; Prompt CI reads prompt files only as regular files/);
  });
});
