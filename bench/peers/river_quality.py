#!/usr/bin/env python3
"""Quality peers: River's FriedmanDrift stream and River regressors, prequential.

  river_quality.py generate --drift abrupt|gradual --n N --positions P1,P2 [--window W] --seed S --out stream.jsonl
      writes River's synth.FriedmanDrift ('gra' = global recurring abrupt,
      'gsg' = global slow gradual) as tangent records {"task","x","y"}.

  river_quality.py evaluate --stream stream.jsonl --positions P1,P2 --tangent tangent.json [--quick]
      runs River's LinearRegression, HoeffdingTreeRegressor and KNNRegressor,
      each behind preprocessing.StandardScaler, plus a running-mean baseline,
      predict-then-learn on the same records; reads tangent's per-record
      predictions (nn, ntkgp) from tangent.json; prints one JSON object with
      prequential MAE/RMSE overall and per segment (before the first drift,
      after each drift), wall-clock per model and rolling-MAE curves.
"""
import argparse
import json
import sys
import time

import numpy as np
import river
from river import dummy, linear_model, neighbors, preprocessing, stats, tree
from river.datasets import synth


def generate(a):
    kind = {"abrupt": "gra", "gradual": "gsg"}[a.drift]
    positions = tuple(int(p) for p in a.positions.split(","))
    kwargs = {"transition_window": a.window} if kind == "gsg" else {}
    stream = synth.FriedmanDrift(drift_type=kind, position=positions, seed=a.seed, **kwargs)
    with open(a.out, "w") as f:
        for x, y in stream.take(a.n):
            f.write(json.dumps({"task": "friedman", "x": [x[i] for i in range(10)], "y": y}) + "\n")


def models():
    return {
        "river LinearRegression": lambda: preprocessing.StandardScaler() | linear_model.LinearRegression(),
        "river HoeffdingTreeRegressor": lambda: preprocessing.StandardScaler() | tree.HoeffdingTreeRegressor(),
        "river KNNRegressor": lambda: preprocessing.StandardScaler() | neighbors.KNNRegressor(),
        "running mean": lambda: dummy.StatisticRegressor(stats.Mean()),
    }


def metrics(errors, bounds):
    e = np.asarray(errors, dtype=np.float64)
    out = {"overall": {"mae": float(np.mean(np.abs(e))), "rmse": float(np.sqrt(np.mean(e * e))), "n": int(e.size)}}
    for i, (lo, hi) in enumerate(bounds):
        s = e[lo:hi]
        name = "before drift 1" if i == 0 else f"after drift {i}"
        out[name] = {"mae": float(np.mean(np.abs(s))), "rmse": float(np.sqrt(np.mean(s * s))), "n": int(s.size), "from": lo, "to": hi}
    return out


def rolling(errors, window, points=300):
    a = np.abs(np.asarray(errors, dtype=np.float64))
    c = np.concatenate([[0.0], np.cumsum(a)])
    idx = np.linspace(window, a.size, num=min(points, max(1, a.size - window + 1))).astype(int)
    return {"index": idx.tolist(), "mae": ((c[idx] - c[idx - window]) / window).tolist()}


def evaluate(a):
    records = [json.loads(line) for line in open(a.stream)]
    xs = [{i: v for i, v in enumerate(r["x"])} for r in records]
    ys = [r["y"] for r in records]
    n = len(ys)
    positions = [int(p) for p in a.positions.split(",")]
    edges = [0, *positions, n]
    bounds = [(edges[i], edges[i + 1]) for i in range(len(edges) - 1)]
    window = max(100, n // 60)
    results = {}
    for name, make in models().items():
        model = make()
        errors = np.empty(n)
        t0 = time.perf_counter()
        for i in range(n):
            errors[i] = model.predict_one(xs[i]) - ys[i]
            model.learn_one(xs[i], ys[i])
        seconds = time.perf_counter() - t0
        results[name] = {"seconds": seconds, "recordsPerSecond": n / seconds, "metrics": metrics(errors, bounds), "rolling": rolling(errors, window)}
        print(f"[river] {name}: {seconds:.1f} s, MAE {results[name]['metrics']['overall']['mae']:.3f}", file=sys.stderr)
    tangent = json.load(open(a.tangent))
    if tangent["y"] != ys:
        mismatch = next(i for i, (u, v) in enumerate(zip(tangent["y"], ys)) if u != v) if len(tangent["y"]) == n else "length"
        raise SystemExit(f"tangent's records are not the stream's, in order (first mismatch: {mismatch})")
    for model, predictions in tangent["predictions"].items():
        errors = np.asarray(predictions) - np.asarray(ys)
        results[f"tangent {model}"] = {
            "seconds": tangent["seconds"],
            "recordsPerSecond": n / tangent["seconds"],
            "learnSeconds": tangent["learnSeconds"].get(model),
            "metrics": metrics(errors, bounds),
            "rolling": rolling(errors, window),
        }
    print(json.dumps({"records": n, "positions": positions, "rollingWindow": window, "river": river.__version__, "models": results}))


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="command", required=True)
    g = sub.add_parser("generate")
    g.add_argument("--drift", choices=["abrupt", "gradual"], required=True)
    g.add_argument("--n", type=int, required=True)
    g.add_argument("--positions", required=True)
    g.add_argument("--window", type=int, default=1000)
    g.add_argument("--seed", type=int, default=42)
    g.add_argument("--out", required=True)
    e = sub.add_parser("evaluate")
    e.add_argument("--stream", required=True)
    e.add_argument("--positions", required=True)
    e.add_argument("--tangent", required=True)
    a = ap.parse_args()
    generate(a) if a.command == "generate" else evaluate(a)


if __name__ == "__main__":
    main()
