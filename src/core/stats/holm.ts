/**
 * Holm's step-down adjustment of p-values for testing several hypotheses at once (the McNemar
 * tests of the prompts one gate evaluates), as statsmodels `multipletests(p, method='holm')`:
 * sorted ascending, p_(i) · (m - i) for i = 0.., made non-decreasing by a running maximum and
 * capped at 1; returned in the input order.
 */
export function holmAdjust(pValues: readonly number[]): number[] {
  const m = pValues.length;
  const order = pValues.map((p, i) => ({ p, i })).sort((x, y) => x.p - y.p || x.i - y.i);
  const adjusted = new Array<number>(m);
  let running = 0;
  order.forEach(({ p, i }, rank) => {
    running = Math.max(running, Math.min(1, (m - rank) * p));
    adjusted[i] = running;
  });
  return adjusted;
}
