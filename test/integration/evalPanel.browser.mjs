/**
 * The browser side of test/integration/suite/evalPanel.test.ts: reads and clicks the eval results
 * panel through the webview's own DOM, and the workbench's dialogs, password box and
 * notifications, as a user would. The in-host test drives it one step at a time: it signals
 * `step-N` with `{ action, ...data }`, this script answers `done-N` with `{ ok, result | error }`.
 *
 * Run through test/integration/runVscodeTests.mjs with
 * PROMPT_CI_E2E_PLAYWRIGHT_SCRIPT=test/integration/evalPanel.browser.mjs (see the test file).
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Waits two frames of both documents (the layout and any expanded example painted), then saves `out`, a path in the repository. */
async function screenshotPainted(page, frame, ctx, out) {
  const painted = () => new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve)));
  await frame.evaluate(painted);
  await page.evaluate(painted);
  const file = path.resolve(repoRoot, out);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  await page.screenshot({ path: file });
  ctx.log(`screenshot: ${path.relative(repoRoot, file)}`);
}

/** @param {import('playwright-core').Page} page */
export default async function evalPanelBrowserSide(page, ctx) {
  /** Every JavaScript dialog (alert, confirm, prompt) any frame opened: there must be none. */
  const dialogs = [];
  page.on('dialog', (dialog) => {
    dialogs.push(dialog.message());
    void dialog.dismiss();
  });
  /** What the browser refused to load or run anywhere in the page, webviews included. */
  const refused = [];
  page.on('console', (message) => {
    if (/Content Security Policy|Refused to/i.test(message.text())) refused.push(`${message.location().url}: ${message.text()}`);
  });
  const finished = ctx.testsFinished.then(() => 'finished');
  for (let n = 1; ; n++) {
    const next = await Promise.race([ctx.waitForSignal(`step-${n}`, 60 * 60 * 1000), finished]);
    if (next === 'finished') return;
    const action = ACTIONS[next.action];
    try {
      if (!action) throw new Error(`unknown action ${next.action}`);
      const result = await action(page, ctx, next, { dialogs, refused });
      ctx.signal(`done-${n}`, { ok: true, result: result ?? null });
    } catch (error) {
      ctx.log(`${next.action} failed: ${error.stack ?? error}`);
      ctx.signal(`done-${n}`, { ok: false, error: String(error.message ?? error) });
    }
  }
}

/** The webview frame of the results panel of `prompt` (e.g. `prompts/ticket-summary/v2`). */
function panel(ctx, prompt, inner = '') {
  return ctx.findWebviewFrame(`main[data-prompt="${prompt}"]${inner ? ` ${inner}` : ''}`, { timeoutMs: 30_000 });
}

const text = (frame, selector) => frame.$eval(selector, (node) => node.textContent ?? '');
const texts = (frame, selector) => frame.$$eval(selector, (nodes) => nodes.map((node) => node.textContent ?? ''));

async function expand(frame, id) {
  const details = `details.example[data-example-id="${id}"]`;
  if (!(await frame.$eval(details, (node) => node.open))) await frame.click(`${details} > summary`);
  await frame.waitForSelector(`${details} .detail`);
  return details;
}

const ACTIONS = {
  async 'type-api-key'(page, _ctx, { key }) {
    const input = page.locator('.quick-input-widget input[type="password"]');
    await input.waitFor({ state: 'visible', timeout: 20_000 });
    await input.fill(key);
    await input.press('Enter');
    await page.locator('.quick-input-widget').waitFor({ state: 'hidden', timeout: 10_000 });
  },

  async 'decline-cost-notification'(page, ctx, { title }) {
    const toast = page.locator('.notification-toast', { hasText: title }).first();
    await toast.waitFor({ state: 'visible', timeout: 30_000 });
    const shown = await toast.innerText();
    // Meanwhile the panel shows the same question.
    const frame = await ctx.findWebviewFrame('#run-state[data-phase="running"]', { timeoutMs: 10_000 });
    const panelText = await frame.$eval('#run-state', (node) => node.textContent ?? '');
    await toast.locator('.monaco-button', { hasText: 'Cancel' }).click();
    await toast.waitFor({ state: 'hidden', timeout: 10_000 });
    return { text: shown.replace(/\s+/g, ' '), panel: panelText };
  },

  async 'read-panel'(page, ctx, { prompt, key }) {
    const frame = await panel(ctx, prompt, '#verdict');
    const cells = Object.fromEntries(
      await frame.$$eval('td[data-cell]', (nodes) => nodes.map((node) => [node.dataset.cell, node.firstChild?.textContent ?? ''])),
    );
    const outcomes = await frame.$$eval('details.example', (nodes) => nodes.map((node) => node.dataset.outcome));
    const firstRegressed = await frame.$eval('details.example[data-outcome="regressed"]', (node) => node.dataset.exampleId);
    const details = await expand(frame, firstRegressed);
    const statusBar = await page.locator('.statusbar-item', { hasText: /ticket-summary v2/ }).first().innerText({ timeout: 10_000 });
    return {
      verdict: await frame.$eval('#verdict', (node) => node.dataset.verdict),
      reasons: (await texts(frame, '#verdict .reasons li')).map((line) => line.replace(/\s+/g, ' ').trim()),
      cells,
      outcomes,
      pValue: await text(frame, '#pvalue'),
      winRate: await text(frame, '#win-rate-challenger .rate-line'),
      demoBanner: (await frame.$('#demo-banner')) !== null,
      statusBar,
      expandedId: firstRegressed,
      inserted: await texts(frame, `${details} pre[data-side="challenger"] ins`),
      deleted: await texts(frame, `${details} pre[data-side="baseline"] del`),
      challengerText: await text(frame, `${details} pre[data-side="challenger"]`),
      keyInPage: (await frame.content()).includes(key),
    };
  },

  /** What the panel says about why: the pass-rate card, the floor note, where and when the verdict came from, the judges' reasons. */
  async 'read-why'(_page, ctx, { prompt, exampleId }) {
    const frame = await panel(ctx, prompt, '#provenance');
    const details = await expand(frame, exampleId);
    const reasons = (side) => texts(frame, `${details} .side-${side} .votes .vote-reason`);
    return {
      rateTitle: await text(frame, '#win-rate h2'),
      rateLabel: await frame.$eval('#win-rate', (node) => node.getAttribute('aria-label')),
      floorNote: (await frame.$('#baseline-floor-note')) ? await text(frame, '#baseline-floor-note') : null,
      provenance: (await text(frame, '#provenance')).replace(/\s+/g, ' ').trim(),
      provenanceSource: await frame.$eval('#provenance', (node) => node.dataset.source),
      provenanceTime: await frame.$eval('#provenance time', (node) => node.getAttribute('datetime')),
      pair: await text(frame, `${details} > summary .scores`),
      baselineReasons: await reasons('baseline'),
      challengerReasons: await reasons('challenger'),
    };
  },

  /**
   * The colours the panel's newer elements are drawn in, next to the theme variables they should
   * come from, and a screenshot: for the High Contrast check.
   */
  async 'read-contrast'(page, ctx, { prompt, exampleId, out }) {
    const frame = await panel(ctx, prompt, '#provenance');
    const details = await expand(frame, exampleId);
    const styles = await frame.evaluate((detailsSelector) => {
      // A variable's colour as computed styles report colours (rgb(…)): resolved through a probe element.
      const probe = document.createElement('span');
      document.body.append(probe);
      const resolve = (variable) => {
        probe.style.color = `var(${variable})`;
        return getComputedStyle(probe).color;
      };
      const style = (selector) => {
        const node = document.querySelector(selector);
        if (!node) return null;
        const s = getComputedStyle(node);
        return { color: s.color, borderTopColor: s.borderTopColor, borderTopStyle: s.borderTopStyle, borderTopWidth: s.borderTopWidth, background: s.backgroundColor };
      };
      const found = {
        bodyClass: document.body.className,
        themeKind: document.body.dataset.vscodeThemeKind ?? null,
        vars: Object.fromEntries(
          ['--vscode-contrastBorder', '--vscode-foreground', '--vscode-descriptionForeground', '--vscode-editorWarning-foreground', '--vscode-panel-border'].map((v) => [v, resolve(v)]),
        ),
        rawContrastBorder: getComputedStyle(document.documentElement).getPropertyValue('--vscode-contrastBorder').trim(),
        provenance: style('#provenance'),
        floorNote: style('#baseline-floor-note'),
        voteReason: style(`${detailsSelector} .vote-reason`),
        pair: style(`${detailsSelector} > summary .scores`),
        card: style('#win-rate'),
      };
      probe.remove();
      return found;
    }, details);
    await frame.evaluate(() => window.scrollTo(0, 0));
    await screenshotPainted(page, frame, ctx, out);
    return styles;
  },

  async 'read-difference'(_page, ctx, { prompt }) {
    const frame = await panel(ctx, prompt, '#difference');
    return frame.$eval('#difference', (section) => ({
      rows: [...section.querySelectorAll('.diff-row[data-estimate]')].map((row) => {
        const plot = row.querySelector('svg');
        const x = (selector, attribute) => Number(plot?.querySelector(selector)?.getAttribute(attribute));
        return {
          id: row.id || null,
          slice: row.getAttribute('data-slice'),
          label: row.querySelector('.diff-label')?.textContent ?? '',
          value: row.querySelector('.diff-value')?.textContent ?? '',
          estimate: Number(row.getAttribute('data-estimate')),
          lower: Number(row.getAttribute('data-lower')),
          upper: Number(row.getAttribute('data-upper')),
          svgNamespace: plot?.namespaceURI ?? null,
          ariaLabel: plot?.getAttribute('aria-label') ?? '',
          bandFrom: x('rect.diff-band', 'x'),
          bandWidth: x('rect.diff-band', 'width'),
          estimateAt: x('rect.diff-estimate', 'x') + 3,
          zeroAt: x('line.diff-zero', 'x1'),
        };
      }),
      ticks: [...section.querySelectorAll('.diff-tick')].map((node) => node.textContent ?? ''),
      power: section.querySelector('#power')?.textContent ?? null,
      score: section.querySelector('#score-difference')?.textContent ?? null,
      markup: section.querySelectorAll('script, img, iframe').length,
    }));
  },

  async 'click-and-wait-for-new-run'(_page, ctx, { prompt, button, previousStartedAt }) {
    const frame = await panel(ctx, prompt, button);
    await frame.click(button);
    await frame.waitForFunction(
      (previous) => {
        const verdict = document.querySelector('#verdict');
        const run = document.querySelector('#run-state');
        return verdict && verdict.getAttribute('data-started-at') !== previous && run?.getAttribute('data-phase') === 'idle';
      },
      previousStartedAt,
      { timeout: 30_000 },
    );
    return {
      apiCalls: await text(frame, '#cost tr[data-row="api-calls"] td'),
      cacheHits: await text(frame, '#cost tr[data-row="cache-hits"] td'),
      verdict: await frame.$eval('#verdict', (node) => node.dataset.verdict),
    };
  },

  async 'rerun-regressed'(_page, ctx, { prompt }) {
    const frame = await panel(ctx, prompt, '#rerun-regressed');
    await frame.click('#rerun-regressed');
    await frame.waitForSelector('#partial-banner', { timeout: 30_000 });
    await frame.waitForSelector('#run-state[data-phase="idle"]', { state: 'attached', timeout: 30_000 });
    return {
      partial: true,
      outcomes: await frame.$$eval('details.example', (nodes) => nodes.map((node) => node.dataset.outcome)),
    };
  },

  async 'open-example-line'(_page, ctx, { prompt, exampleId }) {
    const frame = await panel(ctx, prompt, `details.example[data-example-id="${exampleId}"]`);
    const details = await expand(frame, exampleId);
    await frame.click(`${details} button.open-line`);
  },

  async 'copy-markdown'(page, ctx, { prompt }) {
    await page.context().grantPermissions(['clipboard-read', 'clipboard-write'], { origin: ctx.serverUrl });
    const frame = await panel(ctx, prompt, '#copy-markdown');
    await frame.click('#copy-markdown');
    await frame.waitForFunction(() => (document.querySelector('#notice')?.textContent ?? '') !== '', undefined, { timeout: 10_000 });
    return { notice: await text(frame, '#notice') };
  },

  async click(_page, ctx, { prompt, selector }) {
    const frame = await panel(ctx, prompt, selector);
    await frame.click(selector);
  },

  async 'cancel-from-notification'(page, _ctx, { title }) {
    const toast = page.locator('.notification-toast', { hasText: title }).first();
    await toast.waitFor({ state: 'visible', timeout: 20_000 });
    await toast.locator('.monaco-button', { hasText: 'Cancel' }).click();
  },

  async 'read-cancelled'(_page, ctx, { prompt, startedAt }) {
    const frame = await panel(ctx, prompt, `#verdict[data-started-at="${startedAt}"]`);
    const banner = await frame.$('#cancelled-banner');
    if (!banner) throw new Error('no cancelled banner');
    return {
      finished: await banner.getAttribute('data-finished'),
      total: await banner.getAttribute('data-total'),
      cancelledRows: (await frame.$$('details.example[data-outcome="cancelled"]')).length,
      rows: (await frame.$$('details.example')).length,
    };
  },

  async 'read-markup'(_page, ctx, { prompt }, { dialogs, refused }) {
    const frame = await panel(ctx, prompt, '#verdict');
    for (const id of await frame.$$eval('details.example', (nodes) => nodes.map((node) => node.dataset.exampleId))) await expand(frame, id);
    return {
      outputs: await texts(frame, 'pre.output'),
      errors: await texts(frame, '.side .error'),
      tags: await texts(frame, '.tag'),
      images: (await frame.$$('img')).length,
      scripts: await frame.$$eval('script', (nodes) => nodes.map((node) => ({ src: node.src, text: node.textContent ?? '' }))),
      dialogs: [...dialogs],
      refused: [...refused],
      demoBanner: await text(frame, '#demo-banner'),
    };
  },

  /** The webview's script and stylesheet alone in a page, fed a report of `examples` examples. */
  async 'large-report'(page, _ctx, { report, examples }) {
    const big = {
      ...report,
      examples: Array.from({ length: examples }, (_, i) => ({ ...report.examples[i % report.examples.length], id: `example-${i}`, line: i })),
    };
    const scratch = await page.context().newPage();
    const errors = [];
    scratch.on('pageerror', (error) => errors.push(error.message));
    try {
      await scratch.setContent('<!DOCTYPE html><html><head></head><body class="vscode-dark"><main id="app"></main></body></html>');
      await scratch.evaluate(() => {
        window.acquireVsCodeApi = () => ({ postMessage: () => {}, getState: () => undefined, setState: () => {} });
      });
      await scratch.addStyleTag({ path: path.join(repoRoot, 'media', 'results.css') });
      await scratch.addScriptTag({ path: path.join(repoRoot, 'dist', 'webview', 'main.js') });
      const message = { type: 'show', key: 'a'.repeat(32), report: big, title: 'large', dir: 'prompts/large/v1', api: null, savedAt: null, run: { phase: 'idle' } };
      const renderMs = await scratch.evaluate(
        (shown) =>
          new Promise((resolve) => {
            const started = performance.now();
            window.postMessage(shown, '*');
            const check = () => (document.querySelectorAll('#examples > li').length > 0 ? resolve(performance.now() - started) : requestAnimationFrame(check));
            check();
          }),
        message,
      );
      const rows = await scratch.$$eval('#examples > li', (nodes) => nodes.length);
      const filterMs = await scratch.evaluate(() => {
        const started = performance.now();
        document.querySelector('button.chip:not([data-filter="all"])').click();
        const took = performance.now() - started;
        document.querySelector('button.chip[data-filter="all"]').click();
        return took;
      });
      const searchMs = await scratch.evaluate(
        () =>
          new Promise((resolve) => {
            const input = document.querySelector('#search');
            const count = document.querySelector('#shown-count');
            const before = count.textContent;
            const started = performance.now();
            input.value = 'outage';
            input.dispatchEvent(new Event('input'));
            const check = () => (count.textContent !== before ? resolve(performance.now() - started) : requestAnimationFrame(check));
            check();
          }),
      );
      const searchRows = await scratch.$$eval('#examples > li', (nodes) => nodes.length);
      const expandMs = await scratch.evaluate(
        () =>
          new Promise((resolve) => {
            const details = document.querySelector('details.example');
            const started = performance.now();
            details.querySelector('summary').click();
            const check = () => (details.querySelector('.detail') ? resolve(performance.now() - started) : requestAnimationFrame(check));
            check();
          }),
      );
      if (errors.length > 0) throw new Error(`page errors: ${errors.join('; ')}`);
      return { renderMs, rows, filterMs, searchMs, searchRows, expandMs };
    } finally {
      await scratch.close();
    }
  },

  /** The synthesis selection: which rows have a checkbox, which are checked, the action's label; then checks exactly `ids`. */
  async 'select-for-synthesis'(page, ctx, { prompt, ids, out }) {
    const frame = await panel(ctx, prompt, '#synthesis-bar');
    const read = async () => ({
      selectable: await frame.$$eval('input.select-example', (nodes) => nodes.map((node) => node.dataset.exampleId)),
      checked: await frame.$$eval('input.select-example', (nodes) => nodes.filter((node) => node.checked).map((node) => node.dataset.exampleId)),
      button: await text(frame, '#synthesize'),
      disabled: await frame.$eval('#synthesize', (node) => node.disabled),
    });
    const initial = await read();
    const openNow = () => frame.$$eval('details.example[open]', (nodes) => nodes.map((node) => node.dataset.exampleId));
    const openedBefore = await openNow();
    await frame.click('#select-none');
    const cleared = await read();
    for (const id of ids) await frame.click(`input.select-example[data-example-id="${id}"]`);
    const chosen = await read();
    // A click on a checkbox selects; it does not open the example.
    const opened = await openNow();
    if (out) {
      const viewport = page.viewportSize();
      await page.setViewportSize({ width: 1400, height: 1000 });
      await frame.$eval('#synthesis-bar', (node) => node.scrollIntoView({ block: 'start' }));
      await frame.evaluate(() => window.scrollBy(0, -60));
      await screenshotPainted(page, frame, ctx, out);
      if (viewport) await page.setViewportSize(viewport);
    }
    return { initial, cleared, chosen, openedBefore, opened };
  },

  /** Clicks the synthesis action, reads the cost question in its notification, and declines it. */
  async 'synthesize-and-decline'(page, ctx, { prompt, title }) {
    const frame = await panel(ctx, prompt, '#synthesize');
    await frame.click('#synthesize');
    const toast = page.locator('.notification-toast', { hasText: title }).first();
    await toast.waitFor({ state: 'visible', timeout: 30_000 });
    const shown = await toast.innerText();
    await toast.locator('.monaco-button', { hasText: 'Cancel' }).click();
    await toast.waitFor({ state: 'hidden', timeout: 10_000 });
    await frame.waitForFunction(() => /not confirmed/.test(document.querySelector('#notice')?.textContent ?? ''), undefined, { timeout: 10_000 });
    return { text: shown.replace(/\s+/g, ' '), notice: await text(frame, '#notice') };
  },

  /** Clicks the synthesis action and waits for the panel's notice of its outcome. */
  async 'synthesize-and-read-notice'(_page, ctx, { prompt }) {
    const frame = await panel(ctx, prompt, '#synthesize');
    await frame.click('#synthesize');
    await frame.waitForFunction(() => /appended|invalid|failed|could not/.test(document.querySelector('#notice')?.textContent ?? ''), undefined, { timeout: 30_000 });
    return { notice: await text(frame, '#notice') };
  },

  async screenshot(page, ctx, { prompt, out, expand: id }) {
    // Tall enough for the verdict, the cards and one expanded example with its diff.
    const viewport = page.viewportSize();
    await page.setViewportSize({ width: 1400, height: 1250 });
    const frame = await panel(ctx, prompt, `details.example[data-example-id="${id}"]`);
    await expand(frame, id);
    await frame.evaluate(() => window.scrollTo(0, 0));
    await screenshotPainted(page, frame, ctx, out);
    if (viewport) await page.setViewportSize(viewport);
  },
};
