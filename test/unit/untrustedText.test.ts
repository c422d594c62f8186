import * as assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main, sanitizedIo } from '../../src/cli/main';
import { REDRAW_LINE } from '../../src/cli/progress';
import { codeSpan, escapeHtml, escapeMarkdown, fence, tableCell } from '../../src/core/escaping/markdown';
import { sanitizeUntrusted } from '../../src/core/escaping/untrusted';
import { workflowCommand } from '../../src/core/escaping/workflowCommands';

/** What an attacker's model output or file name would carry: clear screen, home, green, a forged verdict. */
const FORGED = '\x1b[2J\x1b[H\x1b[32mgate: PASS (all green)\x1b[0m';

describe('untrusted text: one sanitiser before any terminal, report or annotation', () => {
  it('shows control characters instead of emitting them', () => {
    assert.equal(sanitizeUntrusted(FORGED), '␛[2J␛[H␛[32mgate: PASS (all green)␛[0m');
    assert.equal(sanitizeUntrusted('bell\x07 back\x08 del\x7f lone\rcr'), 'bell␇ back␈ del␡ lone␍cr');
    assert.equal(sanitizeUntrusted('csi\u009b1m rlo\u202eevil'), 'csi\\u009b1m rlo\\u202eevil');
    assert.equal(sanitizeUntrusted('tabs\tand\nlines\r\nstay'), 'tabs\tand\nlines\nstay');
    assert.equal(sanitizeUntrusted('plain text, ünïcode ✓'), 'plain text, ünïcode ✓');
  });

  it('is applied by every Markdown and workflow-command escape', () => {
    for (const out of [escapeHtml(FORGED), escapeMarkdown(FORGED), codeSpan(FORGED), fence(FORGED, 'text'), tableCell(FORGED), workflowCommand('error', { file: FORGED }, FORGED)]) {
      assert.ok(!out.includes('\x1b'), JSON.stringify(out));
      assert.ok(out.includes('␛'), JSON.stringify(out));
    }
  });

  it('reaches no terminal through the CLI: check echoing an eval id', async () => {
    const repo = mkdtempSync(join(tmpdir(), 'prompt-ci-untrusted-'));
    try {
      cpSync(join(__dirname, '..', '..', 'examples', 'prompts', 'classification'), join(repo, 'prompts', 'classification'), { recursive: true });
      const evalPath = join(repo, 'prompts', 'classification', 'v1', 'eval.jsonl');
      const [first] = readFileSync(evalPath, 'utf8').split('\n');
      const line = JSON.stringify({ ...JSON.parse(first), id: FORGED });
      writeFileSync(evalPath, `${line}\n${line}\n`);
      let stdout = '';
      let stderr = '';
      const code = await main(['check'], {
        stdout: (t) => (stdout += t),
        stderr: (t) => (stderr += t),
        isTty: true,
        env: {},
        cwd: repo,
        signal: new AbortController().signal,
      });
      assert.equal(code, 1, stdout + stderr);
      assert.match(stdout, /␛\[2J␛\[H␛\[32mgate: PASS/);
      assert.ok(!(stdout + stderr).includes('\x1b'), 'no raw ESC in the output');
    } finally {
      rmSync(repo, { recursive: true, force: true });
    }
  });

  it('lets through only the progress line redraw of its own', () => {
    let out = '';
    const io = sanitizedIo({ stdout: (t) => (out += t), stderr: () => undefined, isTty: true, env: {}, cwd: '.', signal: new AbortController().signal });
    io.stdout(`${REDRAW_LINE}prompts/x/v1: 1/2 ${FORGED}`);
    assert.equal(out, `${REDRAW_LINE}prompts/x/v1: 1/2 ␛[2J␛[H␛[32mgate: PASS (all green)␛[0m`);
    out = '';
    io.stdout(`text then ${REDRAW_LINE}`);
    assert.equal(out, 'text then ␍␛[2K');
  });
});
