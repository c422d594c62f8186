import { strict as assert } from 'node:assert';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { junitPieces, renderJunit } from '../../src/core/eval/junit';
import { evalReportJsonPieces } from '../../src/core/eval/reportJson';
import { renderMarkdown } from '../../src/core/eval/markdown';
import { compactResult } from '../../src/core/eval/report';
import { writeOutputFile } from '../../src/node/outputFiles';
import { ResultSpool } from '../../src/node/resultSpool';
import { sampleExampleResults, sampleReport } from '../support/sampleReport';

// The expected texts were written by the renderers that held the whole report in one string
// (see test/support/sampleReport.ts); the piecewise writers must give the same bytes.
const FIXTURES = join(__dirname, '../fixtures/reports');
const expectedJson = readFileSync(join(FIXTURES, 'sample.json'), 'utf8');
const expectedJunit = readFileSync(join(FIXTURES, 'sample.junit.xml'), 'utf8');

describe('reports written in pieces', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'prompt-ci-report-pieces-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('the JSON report in pieces is the expected text, byte for byte', () => {
    const report = sampleReport(40);
    assert.equal([...evalReportJsonPieces(report)].join(''), expectedJson);
    assert.equal(`${JSON.stringify(report, null, 2)}\n`, expectedJson);
  });

  it('the JUnit report in pieces is the expected text, byte for byte', () => {
    const report = sampleReport(40);
    assert.equal([...junitPieces(report)].join(''), expectedJunit);
    assert.equal(renderJunit(report), expectedJunit);
  });

  it('writes the pieces to the file unchanged, non-ASCII characters included, over many writes', async () => {
    const report = sampleReport(3_000);
    const whole = `${JSON.stringify(report, null, 2)}\n`;
    const jsonPath = join(dir, 'out', 'report.json');
    await writeOutputFile(jsonPath, evalReportJsonPieces(report));
    assert.equal(readFileSync(jsonPath, 'utf8'), whole);
    assert.ok(Buffer.byteLength(whole) > 2 * 1024 * 1024, 'the report spans many writes');
    const xmlPath = join(dir, 'report.xml');
    await writeOutputFile(xmlPath, junitPieces(sampleReport(40)));
    assert.equal(readFileSync(xmlPath, 'utf8'), expectedJunit);
  });

  it('a large report never comes as one piece: each is about 64 KB', () => {
    const report = sampleReport(3_000);
    const pieces = [...evalReportJsonPieces(report)];
    assert.ok(pieces.length > 30, `${pieces.length} pieces`);
    assert.ok(Math.max(...pieces.map((p) => p.length)) < 80 * 1024);
    assert.equal(pieces.join(''), `${JSON.stringify(report, null, 2)}\n`);
  });

  it('a report with no examples, or with keys in another order, is still the same text', () => {
    const empty = { ...sampleReport(40), examples: [], cancelled: false };
    assert.equal([...evalReportJsonPieces(empty)].join(''), `${JSON.stringify(empty, null, 2)}\n`);
    const { examples, ...rest } = sampleReport(12);
    const examplesFirst = { examples, ...rest };
    assert.equal([...evalReportJsonPieces(examplesFirst)].join(''), `${JSON.stringify(examplesFirst, null, 2)}\n`);
  });

  describe('from compact results and the whole ones written to a temporary file (the CLI)', () => {
    const spooled = (count: number): ResultSpool => {
      const spool = new ResultSpool();
      for (const result of sampleExampleResults(count)) spool.add(result);
      return spool;
    };

    it('the compact results keep what the statistics and the verdict use: the report is the same but for its examples', () => {
      const full = sampleReport(40);
      const compact = sampleReport(40, compactResult);
      assert.deepEqual({ ...compact, examples: [] }, { ...full, examples: [] });
      assert.notDeepEqual(compact.examples, full.examples);
      assert.ok(compact.examples.every((e) => e.challenger.output === null && Object.keys(e.inputs).length === 0 && e.challenger.votes.every((v) => v.reason === undefined)));
    });

    it('the JSON, JUnit and Markdown reports are the expected texts, byte for byte, and each can be read again', () => {
      const spool = spooled(40);
      try {
        const compact = sampleReport(40, compactResult);
        assert.equal([...evalReportJsonPieces(compact, spool)].join(''), expectedJson);
        assert.equal([...junitPieces(compact, spool)].join(''), expectedJunit);
        assert.equal(renderMarkdown(compact, spool), renderMarkdown(sampleReport(40)));
        assert.equal([...evalReportJsonPieces(compact, spool)].join(''), expectedJson);
        // Without the whole results, the outputs would be missing: the writers use the ones given.
        assert.notEqual([...evalReportJsonPieces(compact)].join(''), expectedJson);
      } finally {
        spool.dispose();
      }
    });

    it('a 3,000-example report written to files from the spool is the one written from the whole report', async () => {
      const spool = spooled(3_000);
      try {
        const full = sampleReport(3_000);
        const compact = sampleReport(3_000, compactResult);
        const jsonPath = join(dir, 'spooled', 'report.json');
        await writeOutputFile(jsonPath, evalReportJsonPieces(compact, spool));
        assert.equal(readFileSync(jsonPath, 'utf8'), `${JSON.stringify(full, null, 2)}\n`);
        const junitPath = join(dir, 'spooled', 'junit.xml');
        await writeOutputFile(junitPath, junitPieces(compact, spool));
        assert.equal(readFileSync(junitPath, 'utf8'), renderJunit(full));
        assert.equal(renderMarkdown(compact, spool), renderMarkdown(full));
      } finally {
        spool.dispose();
      }
    });
  });
});
