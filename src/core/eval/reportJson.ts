import type { EvalReport, ExampleResult } from '../../shared/evalReport';

/** Characters gathered before a piece is handed out: few pieces, none large. */
const PIECE_CHARS = 64 * 1024;

/**
 * The JSON report (`JSON.stringify(report, null, 2)` and a final newline, byte for byte), in pieces
 * of about 64 KB: the head and tail once, then the examples one at a time, so writing a large
 * suite's report never holds the whole text. Falls back to the single string when `examples` is not
 * the report's last key (it always is as `buildEvalReport` builds it).
 * `examples` are the whole results when `report.examples` holds compact ones (`compactResult`): the
 * same examples in the same order, read one at a time.
 */
export function* evalReportJsonPieces(report: EvalReport, examples: Iterable<ExampleResult> = report.examples): Generator<string> {
  const head = JSON.stringify({ ...report, examples: [] }, null, 2);
  const emptyTail = '\n  "examples": []\n}';
  const count = report.examples.length;
  if (!head.endsWith(emptyTail) || count === 0) {
    yield `${JSON.stringify(examples === report.examples ? report : { ...report, examples: [...examples] }, null, 2)}\n`;
    return;
  }
  let piece = `${head.slice(0, head.length - emptyTail.length)}\n  "examples": [\n`;
  let i = 0;
  for (const example of examples) {
    // Nested two levels deep: every line of the example's own text indented by four more spaces.
    // Newlines inside JSON strings are escaped, so each raw newline is a line of the layout.
    piece += `    ${JSON.stringify(example, null, 2).replace(/\n/g, '\n    ')}${i < count - 1 ? ',\n' : '\n'}`;
    i += 1;
    if (piece.length >= PIECE_CHARS) {
      yield piece;
      piece = '';
    }
  }
  yield `${piece}  ]\n}\n`;
}
