#!/usr/bin/python3
"""Write test/fixtures/statsReference.json: reference values for src/core/stats.

The TypeScript statistics must agree with the Python tools the design names:
statsmodels' mcnemar and proportion_confint(method='wilson'), numpy's default
('linear') percentile, scipy's wilcoxon, norm and t quantiles, statsmodels'
Holm adjustment (multipletests), Fleiss' kappa (inter_rater.fleiss_kappa) and
cluster-robust standard errors (OLS with cov_type='cluster').

Two methods have no implementation in these libraries, so they are written
here from the papers' formulas and checked against the worked examples
published with them (see NEWCOMBE_PUBLISHED and CONNOR_PUBLISHED):
- Newcombe's hybrid score interval for a difference of paired proportions
  (Newcombe 1998, Stat Med 17:2635-2650, method 10, with the corrected phi);
- Connor's sample size for McNemar's test (Connor 1987, Biometrics 43:207-211),
  and the smallest regression it detects at a given n, solved from it.
The power claim is checked by simulation: McNemar's test (as the gate runs it)
on 20,000 simulated suites at the reported regression. This script records their answers for a fixed,
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
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.inter_rater import fleiss_kappa
import statsmodels.api as sm
from scipy import stats as sps

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


# ---------------------------------------------------------------- normal and t quantiles

def normal_quantile_cases():
    tails = [0.5, 0.4, 0.25, 0.2, 0.1, 0.05, 0.025, 0.02, 0.01, 0.005, 0.0025, 0.001,
             1e-4, 1e-6, 1e-9, 0.6, 0.75, 0.8, 0.9, 0.95, 0.975, 0.99]
    return [{"tail": t, "z": float(sps.norm.isf(t))} for t in tails]


def t_quantile_hp(p, df):
    """Student t quantile to 50 digits: the root of I_{df/(df+t^2)}(df/2, 1/2) / 2 = 1 - p.
    scipy's t.ppf (cephes stdtrit) is only good to about 2e-9 relative for small df, so the
    reference is this root; scipy's answer is recorded next to it."""
    if p == 0.5:
        return 0.0
    if p < 0.5:
        return -t_quantile_hp(1 - p, df)
    tail = mpmath.mpf(1) - mpmath.mpf(p)
    half = mpmath.mpf(1) / 2
    f = lambda t: mpmath.betainc(mpmath.mpf(df) / 2, half, 0, df / (df + t * t), regularized=True) / 2 - tail
    guess = mpmath.mpf(float(sps.t.ppf(p, df)))
    return float(mpmath.findroot(f, (guess * (1 - mpmath.mpf(10) ** -6), guess * (1 + mpmath.mpf(10) ** -6)), solver="anderson"))


def t_quantile_cases():
    cases = []
    for df in (1, 2, 3, 4, 5, 7, 10, 19, 29, 30, 49, 99, 311, 1000, 5000):
        for p in (0.975, 0.95, 0.995, 0.9, 0.6, 0.5, 0.025):
            cases.append({"p": p, "df": df, "t": t_quantile_hp(p, df), "scipy": float(sps.t.ppf(p, df))})
    return cases


# ---------------------------------------------------------------- Newcombe (1998) method 10

def wilson(k, n, z):
    """Wilson score interval, written out (Newcombe 1998 eq. for method 10's inputs)."""
    if n == 0:
        return 0.0, 1.0
    p = k / n
    denom = 2 * (n + z * z)
    centre = 2 * n * p + z * z
    spread = z * math.sqrt(z * z + 4 * n * p * (1 - p))
    return (centre - spread) / denom, (centre + spread) / denom


def newcombe_paired(a, b, c, d, confidence=0.95):
    """Method 10 of Newcombe (1998): the difference (a+b)/n - (a+c)/n of a paired table
    (a: both succeed, b: first only, c: second only, d: neither), with phi corrected:
    phi = (max(ad - bc - n/2, 0) if ad > bc else ad - bc) / sqrt((a+b)(c+d)(a+c)(b+d)),
    and phi = 0 where that denominator is 0."""
    n = a + b + c + d
    z = float(sps.norm.isf((1 - confidence) / 2))
    p1, p2 = (a + b) / n, (a + c) / n
    l1, u1 = wilson(a + b, n, z)
    l2, u2 = wilson(a + c, n, z)
    denom = (a + b) * (c + d) * (a + c) * (b + d)
    ad_bc = a * d - b * c
    if denom == 0:
        phi = 0.0
    else:
        numerator = max(ad_bc - n / 2, 0) if ad_bc > 0 else ad_bc
        phi = numerator / math.sqrt(denom)
    theta = p1 - p2
    dl2 = (p1 - l1) ** 2 - 2 * phi * (p1 - l1) * (u2 - p2) + (u2 - p2) ** 2
    du2 = (p2 - l2) ** 2 - 2 * phi * (p2 - l2) * (u1 - p1) + (u1 - p1) ** 2
    return theta, theta - math.sqrt(max(dl2, 0)), theta + math.sqrt(max(du2, 0))


# Worked examples published with the method, to the decimals printed there.
# cells: [a, b, c, d] as in newcombe_paired.
NEWCOMBE_PUBLISHED = [
    {"source": "Newcombe 1998, Stat Med 17:2635-2650, Table II example (a), method 10",
     "cells": [36, 12, 2, 0], "lower": 0.0569, "upper": 0.3404, "decimals": 4},
    {"source": "Altman, Machin, Bryant & Gardner, Statistics with Confidence (2000), ch. 6 paired example",
     "cells": [14, 5, 0, 22], "lower": 0.0115, "upper": 0.2265, "decimals": 4},
    {"source": "Fagerland, Lydersen & Laake 2014, Stat Med 33:2850-2875, Bentur et al. data, Newcombe square-and-add",
     "cells": [1, 1, 7, 12], "lower": -0.507, "upper": -0.026, "decimals": 3},
    {"source": "Fagerland, Lydersen & Laake 2014, Stat Med 33:2850-2875, Cavo et al. data, Newcombe square-and-add",
     "cells": [59, 6, 16, 80], "lower": -0.119, "upper": -0.005, "decimals": 3},
]


def newcombe_cases(rng):
    tables = set()
    for a in range(0, 4):
        for b in range(0, 4):
            for c in range(0, 4):
                for d in range(0, 4):
                    if a + b + c + d > 0:
                        tables.add((a, b, c, d))
    for pub in NEWCOMBE_PUBLISHED:
        tables.add(tuple(pub["cells"]))
    while len(tables) < 256 + 120:
        n = rng.choice([10, 30, 50, 100, 312, 1000, 5000])
        psi = rng.uniform(0, 0.4)
        b = rng.randint(0, int(n * psi))
        c = rng.randint(0, int(n * psi))
        a = rng.randint(0, n - b - c) if n - b - c > 0 else 0
        tables.add((a, b, c, max(0, n - a - b - c)))
    tables.update([(300, 0, 0, 12), (0, 0, 0, 500), (250, 20, 35, 7), (10, 0, 40, 0), (0, 50, 0, 0)])
    cases = []
    for cells in sorted(tables):
        for confidence in ((0.95, 0.9) if sum(cells) in (50, 312) else (0.95,)):
            theta, lower, upper = newcombe_paired(*cells, confidence)
            cases.append({"cells": list(cells), "confidence": confidence,
                          "estimate": theta, "lower": lower, "upper": upper})
    return cases


# ---------------------------------------------------------------- paired t interval

def paired_t_cases(nprng):
    arrays = [[1.0, 2.0], [0.0, 0.0, 1.0], [-1.0, 0.0, 0.0, 1.0, 2.0], [0.5, -0.5, 1.5, 2.0, -1.0, 0.0]]
    for length in (3, 10, 40, 312):
        arrays.append([float(x) for x in nprng.integers(-4, 5, length)])
    for length in (8, 100):
        arrays.append([float(x) for x in np.round(nprng.normal(0.2, 1.1, length), 3)])
    cases = []
    for diffs in arrays:
        a = np.array(diffs)
        n = len(a)
        m = float(np.mean(a))
        se = float(np.std(a, ddof=1)) / math.sqrt(n)
        q = t_quantile_hp(0.975, n - 1)
        cases.append({"differences": diffs, "estimate": m, "lower": m - q * se, "upper": m + q * se})
    return cases


# ---------------------------------------------------------------- Connor (1987)

def connor_n(psi, delta, alpha=0.05, power=0.8):
    """Connor (1987) eq. 3: n = (z_{1-a/2} sqrt(psi) + z_{1-b} sqrt(psi - delta^2))^2 / delta^2."""
    za = float(sps.norm.isf(alpha / 2))
    zb = float(sps.norm.isf(1 - power))
    return (za * math.sqrt(psi) + zb * math.sqrt(max(psi - delta * delta, 0.0))) ** 2 / (delta * delta)


def connor_delta(n, psi, alpha=0.05, power=0.8):
    """The delta with connor_n(psi, delta) = n, by bisection on (0, sqrt(psi)] (connor_n
    decreases in delta there). Independent of the closed form the TypeScript uses."""
    lo, hi = 1e-15, math.sqrt(psi)
    if connor_n(psi, hi, alpha, power) > n:
        return None
    for _ in range(200):
        mid = (lo + hi) / 2
        if connor_n(psi, mid, alpha, power) > n:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


# Connor's eq. 3 worked by hand with four-decimal quantiles (z_0.975 = 1.9600, z_0.8 = 0.8416,
# z_0.9 = 1.2816) for psi = 0.2 discordant and a difference of 0.1 at alpha = 0.05 two-sided:
# (1.96 * 0.44721 + 0.8416 * 0.43589)^2 / 0.01 = 154.6 -> 155 pairs at 80% power;
# (1.96 * 0.44721 + 1.2816 * 0.43589)^2 / 0.01 = 205.96 -> 206 pairs at 90% power.
CONNOR_PUBLISHED = [
    {"source": "Connor 1987, Biometrics 43:207-211, eq. 3 worked by hand for psi = 0.2, delta = 0.1, 80% power",
     "discordantShare": 0.2, "delta": 0.1, "alpha": 0.05, "power": 0.8, "n": 155},
    {"source": "Connor 1987, Biometrics 43:207-211, eq. 3 worked by hand for psi = 0.2, delta = 0.1, 90% power",
     "discordantShare": 0.2, "delta": 0.1, "alpha": 0.05, "power": 0.9, "n": 206},
]


def connor_cases():
    cases = []
    for psi in (0.02, 0.05, 0.1, 0.13, 0.2, 0.3, 0.5):
        for alpha in (0.05, 0.01, 0.1):
            for n in (20, 50, 100, 312, 1000, 5000):
                delta = connor_delta(n, psi, alpha)
                for target in (0.03, 0.05, 0.1):
                    if target * target <= psi:
                        cases.append({"n": n, "discordantShare": psi, "alpha": alpha, "power": 0.8,
                                      "detectableRegression": delta, "delta": target,
                                      "examplesNeeded": connor_n(psi, target, alpha)})
    return cases


def mcnemar_rejects(b, c, alpha, exact_auto):
    """One-sided use of the gate's test: more regressed (c) than improved (b) and p < alpha."""
    if c <= b:
        return False
    exact = (b + c) < 25 if exact_auto else False
    res = mcnemar([[0, b], [c, 0]], exact=exact, correction=True) if exact_auto else None
    if exact_auto:
        return res.pvalue < alpha
    stat = (b - c) ** 2 / (b + c)
    return sps.chi2.sf(stat, 1) < alpha


def power_simulation(nprng):
    """20,000 suites of n pairs with discordant share psi and a true regression of the reported
    delta: how often does McNemar (uncorrected chi-square, Connor's model; and the gate's own
    auto exact / corrected test) reject at alpha = 0.05 two-sided, in the regressing direction?"""
    out = []
    suites = 20_000
    for n, psi in ((312, 0.13), (1000, 0.1), (200, 0.3)):
        alpha = 0.05
        delta = connor_delta(n, psi, alpha)
        p_reg = (psi + delta) / 2
        p_imp = (psi - delta) / 2
        draws = nprng.multinomial(n, [p_imp, p_reg, 1 - psi], size=suites)
        chi2_hits = 0
        gate_hits = 0
        cache = {}
        for b, c, _ in draws:
            key = (int(b), int(c))
            if key not in cache:
                cache[key] = (mcnemar_rejects(*key, alpha, False), mcnemar_rejects(*key, alpha, True))
            x, y = cache[key]
            chi2_hits += x
            gate_hits += y
        out.append({"n": n, "discordantShare": psi, "alpha": alpha, "detectableRegression": delta,
                    "suites": suites, "rejectedChi2": chi2_hits / suites, "rejectedGate": gate_hits / suites})
    return out


# ---------------------------------------------------------------- Wilcoxon signed-rank (scipy)

def wilcoxon_cases(nprng):
    arrays = [
        [1.0], [-2.0], [1.0, 2.0], [1.0, -2.0, 3.0], [0.0, 1.0, 2.0, -3.0],
        [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0],
        [-1.0, -2.0, -3.0, -4.0, -5.0, -6.0, -7.0, 8.0],
        [1.0, 1.0, 2.0, -1.0, 0.5, -0.5, 3.0],
        [0.5, -1.5, 2.5, 3.5, -4.5, 5.5, 6.5, 7.5, 8.5, 9.5, 10.5, 11.5, 12.5, 13.5, 14.5,
         15.5, 16.5, 17.5, 18.5, 19.5, 20.5, 21.5, -22.5, 23.5],
    ]
    for length in (5, 12, 24, 25, 30, 60, 312):
        # Distinct absolute values: exact below 25.
        mags = nprng.permutation(np.arange(1, length + 1)) * 0.25
        signs = nprng.choice([-1.0, 1.0], size=length, p=[0.4, 0.6])
        arrays.append([float(x) for x in mags * signs])
    for length in (6, 20, 24, 40, 100, 312):
        # Judge-score differences: integers -4..4 with many ties and zeros.
        arrays.append([float(x) for x in nprng.integers(-2, 3, length)])
    cases = []
    for d in arrays:
        nz = [x for x in d if x != 0]
        if not nz:
            continue
        ties = len(set(abs(x) for x in nz)) < len(nz)
        method = "exact" if len(nz) < 25 and not ties else "approx"
        if method == "exact":
            res = sps.wilcoxon(nz, method="exact")
        else:
            res = sps.wilcoxon(nz, method="approx", correction=True)
        cases.append({"differences": d, "method": method, "statistic": float(res.statistic),
                      "pValue": float(res.pvalue)})
    return cases


# ---------------------------------------------------------------- Holm (statsmodels)

def holm_cases(nprng):
    lists = [[0.01], [0.01, 0.04], [0.04, 0.01, 0.03], [0.5, 0.5, 0.5], [0.001, 0.2, 0.02, 0.04, 0.9],
             [1.0, 0.0, 0.3]]
    for m in (3, 7, 12):
        lists.append([float(x) for x in nprng.uniform(0, 0.2, m)])
    return [{"pValues": ps, "adjusted": [float(x) for x in multipletests(ps, method="holm")[1]]} for ps in lists]


# ---------------------------------------------------------------- Fleiss' kappa (statsmodels)

def fleiss_cases(nprng):
    cases = []
    for subjects, raters, p in ((10, 3, 0.7), (50, 3, 0.8), (200, 5, 0.6), (30, 2, 0.5), (400, 3, 0.9)):
        # Each subject has its own propensity, so raters agree more than chance.
        prop = nprng.beta(p * 2, (1 - p) * 2, subjects)
        yes = nprng.binomial(raters, prop)
        table = np.stack([yes, raters - yes], axis=1)
        cases.append({"counts": [[int(x) for x in row] for row in table], "kappa": float(fleiss_kappa(table, method="fleiss"))})
    cases.append({"counts": [[3, 0], [0, 3], [2, 1], [1, 2]], "kappa": float(fleiss_kappa(np.array([[3, 0], [0, 3], [2, 1], [1, 2]])))})
    return cases


# ---------------------------------------------------------------- clustered standard error

def clustered_cases(nprng):
    cases = []
    for n, groups in ((40, 8), (312, 40), (100, 100), (60, 5)):
        sizes = nprng.multinomial(n - groups, [1 / groups] * groups) + 1
        cluster = np.repeat(np.arange(groups), sizes)
        effect = nprng.normal(0, 0.3, groups)[cluster]
        diffs = np.clip(np.round(effect + nprng.normal(0, 0.5, n)), -1, 1)
        fit = sm.OLS(diffs, np.ones((n, 1))).fit(cov_type="cluster", cov_kwds={"groups": cluster}, use_t=False)
        lower, upper = fit.conf_int(alpha=0.05)[0]
        cases.append({"differences": [float(x) for x in diffs], "clusters": [f"doc-{int(g)}" for g in cluster],
                      "estimate": float(fit.params[0]), "standardError": float(fit.bse[0]),
                      "lower": float(lower), "upper": float(upper)})
    return cases


def check_published(doc):
    """The script's own implementations reproduce the published worked examples."""
    for pub in NEWCOMBE_PUBLISHED:
        _, lower, upper = newcombe_paired(*pub["cells"])
        assert round(lower, pub["decimals"]) == pub["lower"], (pub, lower)
        assert round(upper, pub["decimals"]) == pub["upper"], (pub, upper)
    for pub in CONNOR_PUBLISHED:
        n = math.ceil(connor_n(pub["discordantShare"], pub["delta"], pub["alpha"], pub["power"]))
        assert n == pub["n"], (pub, n)
    for sim in doc["powerSimulation"]:
        assert abs(sim["rejectedChi2"] - 0.8) < 0.02, sim


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
        "normalQuantile": normal_quantile_cases(),
        "tQuantile": t_quantile_cases(),
        "newcombe": newcombe_cases(random.Random(SEED + 1)),
        "newcombePublished": NEWCOMBE_PUBLISHED,
        "pairedT": paired_t_cases(np.random.default_rng(SEED + 2)),
        "connor": connor_cases(),
        "connorPublished": CONNOR_PUBLISHED,
        "powerSimulation": power_simulation(np.random.default_rng(SEED + 3)),
        "wilcoxon": wilcoxon_cases(np.random.default_rng(SEED + 4)),
        "holm": holm_cases(np.random.default_rng(SEED + 5)),
        "fleiss": fleiss_cases(np.random.default_rng(SEED + 6)),
        "clustered": clustered_cases(np.random.default_rng(SEED + 7)),
    }
    check_published(doc)
    with open(OUT, "w", encoding="utf-8") as f:
        json.dump(doc, f, indent=1, allow_nan=False)
        f.write("\n")
    print(f"{OUT}: {len(doc['mcnemar'])} mcnemar, {len(doc['wilson'])} wilson, "
          f"{sum(len(c['percentiles']) for c in doc['percentile'])} percentile "
          f"({len(doc['percentile'])} arrays), {len(doc['newcombe'])} newcombe, "
          f"{len(doc['connor'])} connor, {len(doc['wilcoxon'])} wilcoxon, "
          f"{len(doc['powerSimulation'])} power simulations")
    for sim in doc["powerSimulation"]:
        print(f"  n={sim['n']} psi={sim['discordantShare']} delta={sim['detectableRegression']:.4f}: "
              f"rejects {sim['rejectedChi2']:.4f} (chi-square), {sim['rejectedGate']:.4f} (the gate's test)")


if __name__ == "__main__":
    main()
