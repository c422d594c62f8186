import { strict as assert } from 'node:assert';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { junitPieces, renderJunit } from '../../src/core/eval/junit';
import { evalReportJsonPieces } from '../../src/core/eval/reportJson';
import { writeOutputFile } from '../../src/node/outputFiles';
import { sampleReport } from '../support/sampleReport';

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
});
