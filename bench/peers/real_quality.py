#!/usr/bin/env python3
"""Quality peers on real regression data bundled in PyPI wheels (nothing downloaded).

  real_quality.py list
      prints the datasets as JSON: name, source, records, features.

  real_quality.py export --dataset NAME --out stream.jsonl
      writes the dataset, in its own order, as tangent records {"task","x","y"}.

  real_quality.py evaluate --dataset NAME --tangent tangent.json
      runs River's LinearRegression, HoeffdingTreeRegressor, KNNRegressor and
      AMFRegressor, each behind preprocessing.StandardScaler, and a running
      mean, under evaluate.progressive_val_score (predict, then learn, record
      by record); checks that tangent's records are the dataset's, in order;
      scores tangent's per-record predictions (nn, ntkgp) the same way and
      prints one JSON object with whole-stream MAE and RMSE per model.
"""
import argparse
import json
import sys
import time

import numpy as np
import river
from river import datasets, dummy, evaluate, forest, linear_model, metrics, neighbors, preprocessing, stats, tree
from sklearn.datasets import load_diabetes


def diabetes():
    d = load_diabetes(scaled=False)
    names = list(d.feature_names)
    for row, y in zip(d.data, d.target):
        yield {n: float(v) for n, v in zip(names, row)}, float(y)


DATASETS = {
    "TrumpApproval": ("river.datasets.TrumpApproval (bundled in the river wheel)", lambda: iter(datasets.TrumpApproval())),
    "ChickWeights": ("river.datasets.ChickWeights (bundled in the river wheel)", lambda: iter(datasets.ChickWeights())),
    "Diabetes": ("sklearn.datasets.load_diabetes(scaled=False) (bundled in the scikit-learn wheel)", diabetes),
}


def rows(name):
    return [(dict(x), float(y)) for x, y in DATASETS[name][1]()]


def models():
    return {
        "river LinearRegression": lambda: preprocessing.StandardScaler() | linear_model.LinearRegression(),
        "river HoeffdingTreeRegressor": lambda: preprocessing.StandardScaler() | tree.HoeffdingTreeRegressor(),
        "river KNNRegressor": lambda: preprocessing.StandardScaler() | neighbors.KNNRegressor(),
        "river AMFRegressor": lambda: preprocessing.StandardScaler() | forest.AMFRegressor(seed=42),
        "running mean": lambda: dummy.StatisticRegressor(stats.Mean()),
    }


def list_datasets(_a):
    out = []
    for name, (source, _) in DATASETS.items():
        data = rows(name)
        out.append({"name": name, "source": source, "records": len(data), "features": list(data[0][0].keys())})
    print(json.dumps(out))


def export(a):
    data = rows(a.dataset)
    keys = list(data[0][0].keys())
    with open(a.out, "w") as f:
        for x, y in data:
            f.write(json.dumps({"task": a.dataset, "x": [float(x[k]) for k in keys], "y": y}) + "\n")


def evaluate_all(a):
    data = rows(a.dataset)
    ys = np.asarray([y for _, y in data])
    results = {}
    for name, make in models().items():
        mae, rmse = metrics.MAE(), metrics.RMSE()
        t0 = time.perf_counter()
        evaluate.progressive_val_score(dataset=data, model=make(), metric=mae + rmse)
        seconds = time.perf_counter() - t0
        results[name] = {"mae": mae.get(), "rmse": rmse.get(), "records": len(data), "seconds": seconds}
        print(f"[river] {a.dataset} {name}: MAE {mae.get():.3f}", file=sys.stderr)
    tangent = json.load(open(a.tangent))
    if len(tangent["y"]) != len(ys) or not np.array_equal(np.asarray(tangent["y"]), ys):
        raise SystemExit(f"tangent's records are not {a.dataset}'s, in order")
    for model, predictions in tangent["predictions"].items():
        p = np.asarray(predictions, dtype=np.float64)
        e = p - ys
        finite = np.isfinite(e)
        results[f"tangent {model}"] = {
            "mae": float(np.mean(np.abs(e))) if finite.all() else None,
            "rmse": float(np.sqrt(np.mean(e * e))) if finite.all() else None,
            "records": len(ys),
            "nonFinite": int((~finite).sum()),
        }
    print(json.dumps({"dataset": a.dataset, "source": DATASETS[a.dataset][0], "records": len(ys), "river": river.__version__, "models": results}))


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="command", required=True)
    sub.add_parser("list")
    x = sub.add_parser("export")
    x.add_argument("--dataset", choices=list(DATASETS), required=True)
    x.add_argument("--out", required=True)
    e = sub.add_parser("evaluate")
    e.add_argument("--dataset", choices=list(DATASETS), required=True)
    e.add_argument("--tangent", required=True)
    a = ap.parse_args()
    {"list": list_datasets, "export": export, "evaluate": evaluate_all}[a.command](a)


if __name__ == "__main__":
    main()
