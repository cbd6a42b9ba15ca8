#!/usr/bin/env python3
"""Medians over runs of same-run figures: each run's value for a variant is taken
relative to plain in the same run (ratio or difference), then the median over runs.
usage: summarize.py logs/bench/s*_unpinned.txt"""
import re, sys, statistics as st

def dur(s):
    m = re.match(r"([\d.]+)(µs|ms|s)$", s)
    v = float(m.group(1))
    return v / 1000 if m.group(2) == "µs" else v * 1000 if m.group(2) == "s" else v

runs = []
for path in sys.argv[1:]:
    tabs = {}
    for line in open(path):
        f = [x.strip() for x in line.strip().strip("|").split("|")]
        if len(f) < 9 or not f[1].isdigit():
            continue
        name, c = f[0], int(f[1])
        if c == 1 and name in tabs.get(1, {}) and 64 in tabs:
            c = "stream"  # the third table: -stream at concurrency 1
        tabs.setdefault(c, {})[name] = dict(p50=dur(f[3]), p90=dur(f[4]), p99=dur(f[5]), rps=float(f[6]), err=int(f[7]), cpu=float(f[8]),
                                            ext=float(f[9]) if len(f) > 9 else 0.0)
    if 1 in tabs and 64 in tabs:
        runs.append(tabs)

names = []
for r in runs:
    names += [n for n in r[64] if n not in names]
print(f"{len(runs)} runs: " + ", ".join(sys.argv[1:]))
print("| variant | p50 c=1 (ms) | p50 − plain, c=1 (ms) | p90 − plain, c=1 (ms) | p99 c=1 (ms) | p99 − plain p99, c=1 (ms) | p99 − plain: min … max over runs | Envoy CPU ÷ plain, c=1 | rps c=64 | rps ÷ plain, c=64 | Envoy CPU ms/1k, c=64 | Envoy CPU ÷ plain, c=64 | ext_proc CPU ms/1k, c=64 | errors |")
print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
med = lambda xs: st.median(xs)
for n in names:
    have = [r for r in runs if n in r[64]]
    r1 = [r[1][n] for r in have]; p1 = [r[1]["plain"] for r in have]
    r64 = [r[64][n] for r in have]; p64 = [r[64]["plain"] for r in have]
    label = n if len(have) == len(runs) else "%s (%d runs)" % (n, len(have))
    d99 = [a["p99"] - b["p99"] for a, b in zip(r1, p1)]
    print("| %s | %.2f | %+.2f | %+.2f | %.2f | %+.2f | %+.1f … %+.1f | %.2f× | %.0f | %.2f | %.0f | %.2f× | %.0f | %d |" % (
        label, med([x["p50"] for x in r1]), med([a["p50"] - b["p50"] for a, b in zip(r1, p1)]),
        med([a["p90"] - b["p90"] for a, b in zip(r1, p1)]), med([x["p99"] for x in r1]),
        med(d99), min(d99), max(d99),
        med([a["cpu"] / b["cpu"] for a, b in zip(r1, p1)]),
        med([x["rps"] for x in r64]),
        med([a["rps"] / b["rps"] for a, b in zip(r64, p64)]),
        med([x["cpu"] for x in r64]),
        med([a["cpu"] / b["cpu"] for a, b in zip(r64, p64)]),
        med([x["ext"] for x in r64]),
        sum(x["err"] for x in r1 + r64)))

st_runs = [r for r in runs if "stream" in r]
if st_runs:
    print()
    print(f"SSE streams at concurrency 1 ({len(st_runs)} runs; whole-stream time)")
    print("| variant | p50 (ms) | p50 − plain (ms) | p99 − plain (ms) |")
    print("|---|---:|---:|---:|")
    for n in names:
        if n not in st_runs[0]["stream"]:
            continue
        a = [r["stream"][n] for r in st_runs]; b = [r["stream"]["plain"] for r in st_runs]
        print("| %s | %.2f | %+.2f | %+.2f |" % (n, med([x["p50"] for x in a]), med([x["p50"] - y["p50"] for x, y in zip(a, b)]),
                                               med([x["p99"] - y["p99"] for x, y in zip(a, b)])))
