#!/usr/bin/python3
"""Write test/fixtures/runtimeReference.json: reference values for the runtime's selection.

- rollout buckets, computed as DESIGN.md section 7 defines them:
  int.from_bytes(hashlib.sha256(f"{name}:{tenant}:{sticky}".encode()).digest(), "big") % 10000,
  for keys with unicode and a 10 kB sticky key;
- scipy.stats.chisquare on bucket counts (the uniformity test of `npm run bench`) and on fixed
  count vectors, so src/core/stats/chiSquare.ts is checked against scipy.

Run from the repository root:  /usr/bin/python3 scripts/genRuntimeReference.py
"""

import hashlib
import json
import random

from scipy import stats


def bucket(name, tenant, sticky):
    return int.from_bytes(hashlib.sha256(f"{name}:{tenant}:{sticky}".encode("utf-8")).digest(), "big") % 10000


keys = [
    ("summarisation", "acme", "conversation-1"),
    ("summarisation", "acme", "req-42"),
    ("classification", "globex", "c-0"),
    ("summarisation", "Ünïcødé-租户-🚀", "会話-1"),
    ("summarisation", "acme", "e\u0301"),
    ("summarisation", "acme", "\u00e9"),
    ("summarisation", "acme", "x" * 10240),
    ("summarisation", "a:b", "c"),
    ("summarisation:a", "b", "c"),
]

# The benchmark's keys: conversation-<i> of tenant acme, 100 bins of 100 buckets.
counts = [0] * 100
for i in range(100_000):
    counts[bucket("summarisation", "acme", f"conversation-{i}") // 100] += 1
bench = stats.chisquare(counts)

rng = random.Random(17)
vectors = [
    [10, 12, 9, 11, 8],
    [100, 80, 120, 95, 105, 100],
    [rng.randint(900, 1100) for _ in range(100)],
    [5000, 5100, 4900, 5050],
    [1, 30, 2, 40],
]
chi = []
for v in vectors:
    r = stats.chisquare(v)
    chi.append({"counts": v, "statistic": float(r.statistic), "pValue": float(r.pvalue)})

out = {
    "generator": "scripts/genRuntimeReference.py",
    "buckets": [{"name": n, "tenantId": t, "stickyKey": s, "bucket": bucket(n, t, s)} for n, t, s in keys],
    "benchUniformity": {"counts": counts, "statistic": float(bench.statistic), "pValue": float(bench.pvalue)},
    "chiSquare": chi,
}
with open("test/fixtures/runtimeReference.json", "w", encoding="utf-8") as f:
    json.dump(out, f, ensure_ascii=False, indent=1)
    f.write("\n")
