import { closeSync, mkdtempSync, openSync, readSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ExampleResult } from '../shared/evalReport';

/** Bytes read back at a time. */
const CHUNK_BYTES = 64 * 1024;

/**
 * An eval's whole example results, written to a temporary file as the run finishes them, so a large
 * suite's outputs, inputs and judge reasons are not all held until the reports are written. Each
 * iteration reads them back in order, one at a time (JSON keeps every value and key order, so a
 * report written from them is the one written from the results themselves). `dispose` removes it.
 */
export class ResultSpool implements Iterable<ExampleResult> {
  private readonly dir: string;
  private readonly file: string;
  private fd: number | undefined;
  private count = 0;

  constructor() {
    this.dir = mkdtempSync(join(tmpdir(), 'prompt-ci-results-'));
    this.file = join(this.dir, 'results.jsonl');
    this.fd = openSync(this.file, 'wx', 0o600);
  }

  /** Results written so far. */
  get size(): number {
    return this.count;
  }

  add(result: ExampleResult): void {
    if (this.fd === undefined) throw new Error('the result spool was read or disposed; no result can be added');
    writeSync(this.fd, `${JSON.stringify(result)}\n`);
    this.count += 1;
  }

  *[Symbol.iterator](): Generator<ExampleResult> {
    if (this.fd !== undefined) {
      closeSync(this.fd);
      this.fd = undefined;
    }
    const fd = openSync(this.file, 'r');
    try {
      const buffer = Buffer.allocUnsafe(CHUNK_BYTES);
      let rest: Buffer[] = [];
      for (;;) {
        const read = readSync(fd, buffer, 0, buffer.length, null);
        if (read === 0) break;
        const chunk = buffer.subarray(0, read);
        let from = 0;
        for (let newline = chunk.indexOf(0x0a, from); newline >= 0; newline = chunk.indexOf(0x0a, from)) {
          const line = rest.length === 0 ? chunk.subarray(from, newline) : Buffer.concat([...rest, chunk.subarray(from, newline)]);
          rest = [];
          yield JSON.parse(line.toString('utf8')) as ExampleResult;
          from = newline + 1;
        }
        if (from < read) rest.push(Buffer.from(chunk.subarray(from)));
      }
    } finally {
      closeSync(fd);
    }
  }

  dispose(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
    rmSync(this.dir, { recursive: true, force: true });
  }
}
