/**
 * Fleiss' kappa for a table of subjects × categories, each row the number of raters who put that
 * subject in each category (every row summing to the same number of raters), as statsmodels
 * `inter_rater.fleiss_kappa(table, method='fleiss')`. Null when it is undefined: fewer than two
 * raters or subjects, or chance agreement of 1 (every rating in one category).
 */
export function fleissKappa(table: readonly (readonly number[])[]): number | null {
  const subjects = table.length;
  if (subjects === 0) return null;
  const raters = table[0].reduce((s, x) => s + x, 0);
  if (raters < 2 || table.some((row) => row.reduce((s, x) => s + x, 0) !== raters)) return null;
  const categories = table[0].length;
  const shares = new Array<number>(categories).fill(0);
  let agreement = 0;
  for (const row of table) {
    let squares = 0;
    row.forEach((x, j) => {
      shares[j] += x;
      squares += x * x;
    });
    agreement += (squares - raters) / (raters * (raters - 1));
  }
  const observed = agreement / subjects;
  const chance = shares.reduce((s, x) => s + (x / (subjects * raters)) ** 2, 0);
  if (chance >= 1) return null;
  return (observed - chance) / (1 - chance);
}
