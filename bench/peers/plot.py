#!/usr/bin/env python3
"""PNG plots of the benchmark results: plot.py --dir bench/results

Reads every <name>.json present and writes <name>.png beside it (quality:
quality-abrupt.png and quality-gradual.png). Missing results are skipped.
"""
import argparse
import json
import os
import textwrap

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

DPI = 110


def load(d, name):
    p = os.path.join(d, f"{name}.json")
    return json.load(open(p)) if os.path.exists(p) else None


def save(fig, d, name, written):
    fig.tight_layout()
    fig.savefig(os.path.join(d, f"{name}.png"), dpi=DPI)
    plt.close(fig)
    written.append(f"{name}.png")


def subtitle(r):
    m = r["machine"]
    return f"{m['cores']} cores {m['cpuModel']}, load {m['loadAverage'][0]}, {r['startedAt'][:16]}" + (" — QUICK" if r.get("quick") else "")


def short(name):
    return textwrap.fill(name.replace("diagnostic: ", "diag.: ").replace("tangent ", ""), 34)


def throughput(r, d, w):
    names = ["ceiling: raw kafkajs eachBatch (median)"] + [x["name"] for x in r["runs"]]
    rates = [r["ceiling"]["recordsPerSecond"]] + [x["recordsPerSecond"] for x in r["runs"]]
    colors = ["#999999"] + [("#c4d3ea" if x["name"].startswith("diagnostic") else "#4c72b0") for x in r["runs"]]
    fig, ax = plt.subplots(figsize=(9, 1.5 + 0.62 * len(names)))
    ypos = list(range(len(names)))[::-1]
    ax.barh(ypos, rates, color=colors)
    ax.set_yticks(ypos, [short(n) for n in names], fontsize=8)
    ax.set_xscale("log")
    ax.set_xlabel("records/s (log scale)")
    for y, v in zip(ypos, rates):
        ax.text(v, y, f" {v:,.0f} ({v / rates[0]:.3f}×)", va="center", fontsize=8)
    ax.set_xlim(right=max(rates) * 12)
    ax.set_title(f"Throughput, {r['records']:,} records (goals: ratios to the ceiling, see BENCHMARKS.md)\n{subtitle(r)}", fontsize=9)
    save(fig, d, "throughput", w)


def latency(r, d, w):
    fig, ax = plt.subplots(figsize=(8.5, 4.5))
    for run in r["runs"]:
        xs = run["cdf"]
        ys = [(i + 1) / len(xs) for i in range(len(xs))]
        ax.plot([max(x, 0.5) for x in xs], ys, label=f"{run['name'].replace('diagnostic: ', 'diag.: ').replace('tangent ', '')} @ {run['targetRate']:,}/s (p99 {run['millis']['p99']:.0f} ms)")
    ax.axvline(100, color="red", ls="--", lw=1, label="goal: p99 ≤ 100 ms")
    ax.axhline(0.99, color="gray", ls=":", lw=1)
    ax.set_xscale("log")
    ax.set_xlabel("ingest → learned latency, ms (log scale)")
    ax.set_ylabel("fraction of records")
    ax.legend(fontsize=7, loc="upper left")
    ax.set_title(f"Latency CDF — {subtitle(r)}", fontsize=9)
    save(fig, d, "latency", w)


def compute(r, d, w):
    rows = [x for x in r["stepBench"]["results"] if not x.get("error")]
    names = [("numpy" if x["name"] == "numpy" else f"tfjs {x['name']}") for x in rows]
    rates = [x["recordsPerSecond"] for x in rows]
    if r.get("numpyMachineEnv") and not r["numpyMachineEnv"].get("error"):
        names.append("numpy (OPENBLAS_CORETYPE set)")
        rates.append(r["numpyMachineEnv"]["recordsPerSecond"])
    fig, ax = plt.subplots(figsize=(7, 3.2))
    ax.barh(names[::-1], rates[::-1], color="#55a868")
    ax.set_xscale("log")
    for i, v in enumerate(rates[::-1]):
        ax.text(v, i, f" {v:,.0f}", va="center", fontsize=8)
    ax.set_xlim(right=max(rates) * 5)
    ax.set_xlabel("records/s, one SGD step of a 32-256-256-1 MLP, batch 256 (log scale)")
    ax.set_title(f"Compute — {subtitle(r)}", fontsize=9)
    save(fig, d, "compute", w)


def ntk_gp(r, d, w):
    rows = r["tangent"]["rows"]
    ns = [x["n"] for x in rows]
    fig, ax = plt.subplots(figsize=(7.5, 4.8))
    ax.plot(ns, [x["fusedUpdate"]["cpuMicros"] for x in rows], "o-", label="tangent slide (fused evict+append)")
    ax.plot(ns, [x["separateUpdate"]["cpuMicros"] for x in rows], "o--", label="tangent evict + append")
    ax.plot(ns, [x["gpAdd"]["cpuMicros"] for x in rows], "o:", label="tangent GP add (kernel row + slide)")
    ax.plot(ns, [x["refit"]["cpuMicros"] for x in rows], "s-", label="tangent refit (Cholesky from scratch)")
    sh = {x["n"]: x for x in r["shared"]}
    pe = {x["n"]: x for x in r["peers"]["rows"]}
    sn = [n for n in ns if n in sh]
    ax.plot(sn, [sh[n].get("tangentForwardSolveCpuMicros", sh[n]["tangentForwardSolveMicros"]) for n in sn], "^-", label="tangent L⁻¹k (forward substitution)")
    pn = [n for n in ns if n in pe]
    if pn:
        ax.plot(pn, [pe[n].get("dtrsvCpuMicros", pe[n]["dtrsvMicros"]) for n in pn], "^--", color="black", label="BLAS dtrsv L⁻¹k (OpenBLAS, 1 thread)")
        ax.plot(pn, [pe[n].get("choFactorCpuMillis", pe[n]["choFactorMillis"]) * 1e3 for n in pn], "s--", color="gray", label="LAPACK dpotrf (scipy cho_factor, 1 thread)")
        gn = [n for n in pn if "gpytorchFantasyMillis" in pe[n]]
        if gn:
            ax.plot(gn, [pe[n].get("gpytorchFantasyCpuMillis", pe[n]["gpytorchFantasyMillis"]) * 1e3 for n in gn], "d-", color="purple", label="GPyTorch get_fantasy_model (1 thread)")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("window N")
    ax.set_ylabel("CPU µs per operation (log)")
    ax.legend(fontsize=7)
    ax.grid(True, which="both", alpha=0.3)
    ax.set_title(f"NTK-GP per-point update vs refit — {subtitle(r)}", fontsize=9)
    save(fig, d, "ntk-gp", w)


def memory(r, d, w):
    s = r["samples"]
    x = [p["learned"] for p in s]
    fig, ax = plt.subplots(figsize=(8, 4))
    ax.plot(x, [p["rssMiB"] for p in s], label="RSS")
    ax.plot(x, [p["heapUsedMiB"] for p in s], label="V8 heap used")
    ax.plot(x, [p["externalMiB"] for p in s], label="external (incl. array buffers)")
    a = r["afterWarmup"]
    warm = r["warmupFraction"] * r["records"]
    ax.axvspan(0, warm, color="gray", alpha=0.15, label="warm-up (first 20%)")
    ax.axhspan(a["meanRssMiB"] * 0.95, a["meanRssMiB"] * 1.05, color="green", alpha=0.12, label="±5% of the mean RSS after warm-up")
    ax.set_xlabel("records learned")
    ax.set_ylabel("MiB")
    ax.set_ylim(bottom=0)
    ax.legend(fontsize=8, loc="center right")
    ax.set_title(f"Memory soak, {r['records']:,} records, max deviation {a['maxDeviation'] * 100:.1f}% — {subtitle(r)}", fontsize=9)
    save(fig, d, "memory", w)


def quality(r, d, w):
    for stream in r["streams"]:
        fig, ax = plt.subplots(figsize=(8.5, 4.2))
        for name, m in stream["models"].items():
            style = "-" if name.startswith("tangent") else "--"
            ax.plot(m["rolling"]["index"], m["rolling"]["mae"], style, lw=1.2, label=f"{name} (MAE {m['metrics']['overall']['mae']:.2f})")
        for p in stream["positions"]:
            ax.axvline(p, color="red", ls=":", lw=1)
            if stream.get("transitionWindow"):
                ax.axvspan(p, p + stream["transitionWindow"], color="red", alpha=0.07)
        ax.set_xlabel("record")
        ax.set_ylabel(f"prequential MAE, rolling {stream['rollingWindow']}")
        ax.set_ylim(bottom=0)
        ax.legend(fontsize=7, ncol=2)
        ax.set_title(f"FriedmanDrift {stream['drift']} ({stream['riverDriftType']}) — {subtitle(r)}", fontsize=9)
        save(fig, d, f"quality-{stream['drift']}", w)


def drift(r, d, w):
    fig, ax = plt.subplots(figsize=(8.5, 4.2))
    c = r["errorCurve"]
    ax.plot(c["index"], c["mae"], color="black", lw=1, label="NN |error|, rolling mean (seed %d)" % r["seeds"][0])
    top = max(c["mae"]) if c["mae"] else 1
    for i, det in enumerate(r["detectors"]):
        hits = det["seeds"][0]["detections"]
        y = top * (1.08 + 0.07 * i)
        ax.plot(hits, [y] * len(hits), "|", ms=10, mew=1.5, label=f"{det['detector']} detections")
    for p in r["positions"]:
        ax.axvline(p, color="red", ls=":", lw=1)
    ax.axvspan(0, r["warmupRecords"], color="gray", alpha=0.15, label="warm-up")
    ax.set_xlabel("record")
    ax.set_ylabel("absolute error")
    ax.set_ylim(0, top * 1.45)
    ax.legend(fontsize=7, loc="center right")
    ax.set_title(f"Drift detections on the NN's error (drifts: red) — {subtitle(r)}", fontsize=9)
    save(fig, d, "drift", w)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", required=True)
    a = ap.parse_args()
    written = []
    for name, fn in [("throughput", throughput), ("latency", latency), ("compute", compute), ("ntk-gp", ntk_gp),
                     ("memory", memory), ("quality", quality), ("drift", drift)]:
        r = load(a.dir, name)
        if r is not None:
            fn(r, a.dir, written)
    print("plots: " + ", ".join(written))


if __name__ == "__main__":
    main()
