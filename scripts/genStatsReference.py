#!/usr/bin/python3
"""Write test/fixtures/statsReference.json: reference values for src/core/stats.

The TypeScript statistics must agree with the Python tools the design names:
statsmodels' mcnemar and proportion_confint(method='wilson'), and numpy's
default ('linear') percentile. This script records their answers for a fixed,
seeded set of inputs; test/unit/stats.test.ts replays every case.

Each McNemar case also carries `pValueHighPrecision`, the true p-value of the
same test to far more than double precision (exact integer arithmetic for the
binomial tail, 50-digit mpmath for the chi-square tail), so the tests can check
accuracy beyond what scipy itself guarantees.

Run from the repository root:  /usr/bin/python3 scripts/genStatsReference.py
Needs numpy, scipy, statsmodels and mpmath (Debian: python3-statsmodels).
"""

import json
import math
import os
import random
from fractions import Fraction

import mpmath
import numpy as np
import scipy
import statsmodels
from statsmodels.stats.contingency_tables import mcnemar
from statsmodels.stats.proportion import proportion_confint

SEED = 20240501
OUT = os.path.join("test", "fixtures", "statsReference.json")

mpmath.mp.dps = 50


def exact_binomial_two_sided(b, c):
    """min(1, 2 * P(X <= min(b, c))) for X ~ Binomial(b + c, 1/2), correctly rounded."""
    n = b + c
    k = min(b, c)
    term, tail = 1, 1
    for i in range(1, k + 1):
        term = term * (n - i + 1) // i
        tail += term
    # Fraction -> float rounds correctly, including into the subnormal range.
    return float(min(Fraction(2 * tail, 2 ** n), Fraction(1)))


def chi2_sf_1df(stat):
    """Survival function of chi-square(1) at the float64 statistic, to 50 digits."""
    x = mpmath.mpf(stat)
    return float(mpmath.erfc(mpmath.sqrt(x / 2)))


def mcnemar_cases(rng):
    pairs = set()
    # Every small table: this is where exact and corrected tests differ most.
    for b in range(0, 13):
        for c in range(0, 13):
            pairs.add((b, c))
    # Random tables with b, c in 0..60.
    while len(pairs) < 169 + 80:
        pairs.add((rng.randint(0, 60), rng.randint(0, 60)))
    # Around the auto-exact boundary (improved + regressed = 24 / 25).
    for b in range(0, 26):
        pairs.add((b, 24 - b) if b <= 24 else (b, 0))
        pairs.add((b, 25 - b))
    # Large tables, including very small p-values (relative accuracy matters)
    # and discordant totals past 10,000.
    pairs.update([
        (100, 160), (160, 100), (250, 300), (600, 520), (1000, 1100),
        (2500, 2600), (4000, 4300), (4900, 5000), (5000, 4999), (5000, 5000),
        (4500, 5500), (4000, 6000), (5000, 0), (0, 5000), (5000, 1), (1, 5000),
        (3000, 2000), (5000, 3500), (200, 0), (300, 1), (1000, 10),
        (700, 800), (40, 160), (1200, 1500), (10, 2000),
        # Beyond 20,000 discordant pairs the binomial tail is summed in floating point.
        (10000, 10001), (9900, 10300), (14000, 16000), (30000, 31000), (50000, 50600),
    ])
    pairs.discard((0, 0))  # statsmodels gives inf/NaN there; tested separately

    cases = []
    for b, c in sorted(pairs):
        table = [[0, b], [c, 0]]  # b: baseline wrong, challenger right (improved)
        for exact, correction in ((True, True), (False, True), (False, False)):
            r = mcnemar(table, exact=exact, correction=correction)
            statistic = float(r.statistic)
            p = float(r.pvalue)
            if not (math.isfinite(statistic) and math.isfinite(p)):
                raise SystemExit(f"non-finite statsmodels result for {(b, c, exact, correction)}")
            if exact:
                hp = exact_binomial_two_sided(b, c)
                method = "exact"
            else:
                hp = chi2_sf_1df(statistic)
                method = "chi2-corrected" if correction else "chi2"
            cases.append({
                "improved": b,
                "regressed": c,
                "exact": exact,
                "correction": correction,
                "method": method,
                "statistic": statistic,
                "pValue": p,
                "pValueHighPrecision": hp,
            })
    return cases


def wilson_cases(rng):
    keys = set()
    sizes = [1, 2, 3, 4, 5, 7, 10, 13, 20, 24, 25, 30, 50, 64, 99, 100, 137,
             250, 500, 1000, 2500, 5000, 10000]
    for n in sizes:
        for k in {0, 1, 2, n // 3, n // 2, n - 2, n - 1, n, rng.randint(0, n)}:
            if 0 <= k <= n:
                keys.add((k, n, 0.95))
    for confidence in (0.5, 0.8, 0.9, 0.99, 0.999):
        for n in (1, 10, 25, 100, 1000):
            for k in {0, 1, n // 2, n - 1, n}:
                keys.add((k, n, confidence))
    cases = []
    for k, n, confidence in sorted(keys):
        low, high = proportion_confint(k, n, alpha=1 - confidence, method="wilson")
        cases.append({
            "successes": k,
            "n": n,
            "confidence": confidence,
            "low": float(low),
            "high": float(high),
        })
    return cases


def percentile_cases(nprng, rng):
    arrays = [
        [42.0],
        [-3.5],
        [1.0, 2.0],
        [2.0, 1.0],
        [7.0, 7.0],
        [5.0, 5.0, 5.0, 5.0],
        [1.0, 2.0, 2.0, 2.0, 3.0],
        [3.0, 1.0, 2.0],
        [0.0, 0.0, 0.0, 1000.0],
        [-10.0, 0.0, 10.0, 20.0],
        [1e-9, 2e-9, 3e-9, 1e9],
        [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0],
    ]
    # Latency-like samples (log-normal milliseconds), integers with many ties,
    # and signed values, at several lengths.
    for length in (3, 10, 19, 20, 21, 100, 1000):
        arrays.append([float(x) for x in np.round(nprng.lognormal(6.5, 0.6, length), 3)])
    for length in (7, 50, 200):
        arrays.append([float(x) for x in nprng.integers(0, 6, length)])
    for length in (11, 64):
        arrays.append([float(x) for x in nprng.normal(0, 100, length)])

    cases = []
    for values in arrays:
        ps = [0.0, 50.0, 95.0, 99.0, 100.0, 25.0, 75.0, 90.0, 99.9]
        ps += [round(rng.uniform(0, 100), 6) for _ in range(3)]
        a = np.array(values, dtype=np.float64)
        cases.append({
            "values": values,
            "percentiles": [{"p": p, "value": float(np.percentile(a, p))} for p in ps],
            "mean": float(np.mean(a)),
            "median": float(np.median(a)),
        })
    return cases


def main():
    rng = random.Random(SEED)
    nprng = np.random.default_rng(SEED)
    doc = {
        "generatedBy": "scripts/genStatsReference.py",
        "versions": {
            "statsmodels": statsmodels.__version__,
            "scipy": scipy.__version__,
            "numpy": np.__version__,
            "mpmath": mpmath.__version__,
        },
        "mcnemar": mcnemar_cases(rng),
        "wilson": wilson_cases(rng),
        "percentile": percentile_cases(nprng, rng),
    }
    with open(OUT, "w", encoding="utf-8") as f:
        json.dump(doc, f, indent=1, allow_nan=False)
        f.write("\n")
    print(f"{OUT}: {len(doc['mcnemar'])} mcnemar, {len(doc['wilson'])} wilson, "
          f"{sum(len(c['percentiles']) for c in doc['percentile'])} percentile "
          f"({len(doc['percentile'])} arrays)")


if __name__ == "__main__":
    main()
