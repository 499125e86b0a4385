#!/usr/bin/env python3
"""numpy float32 reference for infra/tfjs/step-bench.mjs: the same MLP SGD step.

32 -> 256 -> 256 -> 1, ReLU, batch 256, MSE, plain SGD lr 0.01; forward + backward
+ in-place update per step. Data and initial weights come from the same LCG as the JS
side, so the loss after the warm-up steps is comparable across implementations.
Prints one JSON object to stdout.

  python3 step_bench_numpy.py [--warmup 5] [--steps 30] [--min-seconds 2] [--max-steps 5000]
"""
import argparse
import json
import math
import os
import platform
import sys
import time

try:
    import numpy as np
except ImportError as e:  # reported, not raised: the JS side records the error
    print(json.dumps({"name": "numpy", "error": f"numpy not importable: {e}"}))
    sys.exit(0)

IN, H1, H2, OUT, BATCH, LR = 32, 256, 256, 1, 256, 0.01


def lcg(seed):
    s = seed & 0xFFFFFFFF

    def nxt():
        nonlocal s
        s = (s * 1664525 + 1013904223) & 0xFFFFFFFF
        return (s + 0.5) / 4294967296.0

    return nxt


def make_problem(seed=12345):
    """Identical to makeProblem() in step-bench.mjs."""
    r = lcg(seed)

    def normal():
        u1, u2 = r(), r()
        return math.sqrt(-2.0 * math.log(u1)) * math.cos(2.0 * math.pi * u2)

    x = [2.0 * r() - 1.0 for _ in range(BATCH * IN)]
    y = []
    for i in range(BATCH):
        a = x[i * IN: i * IN + 5]
        y.append(math.sin(math.pi * a[0] * a[1]) + 2.0 * (a[2] - 0.5) ** 2 + a[3] + 0.5 * a[4])
    w1 = [normal() * math.sqrt(2.0 / IN) for _ in range(IN * H1)]
    w2 = [normal() * math.sqrt(2.0 / H1) for _ in range(H1 * H2)]
    w3 = [normal() * math.sqrt(2.0 / H2) for _ in range(H2 * OUT)]
    f32 = lambda v, shape: np.asarray(v, dtype=np.float64).astype(np.float32).reshape(shape)
    return {
        "x": f32(x, (BATCH, IN)),
        "y": f32(y, (BATCH, OUT)),
        "w1": f32(w1, (IN, H1)),
        "b1": np.zeros(H1, np.float32),
        "w2": f32(w2, (H1, H2)),
        "b2": np.zeros(H2, np.float32),
        "w3": f32(w3, (H2, OUT)),
        "b3": np.zeros(OUT, np.float32),
    }


def blas_name():
    try:
        cfg = np.show_config(mode="dicts")  # numpy >= 1.26
        b = cfg.get("Build Dependencies", {}).get("blas", {})
        return f"{b.get('name', '?')} {b.get('version', '')}".strip()
    except Exception:
        return "unknown"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--min-seconds", type=float, default=2.0)
    ap.add_argument("--max-steps", type=int, default=5000)
    a = ap.parse_args()

    p = make_problem()
    x, y = p["x"], p["y"]
    w1, b1, w2, b2, w3, b3 = (p[k] for k in ("w1", "b1", "w2", "b2", "w3", "b3"))
    lr = np.float32(LR)
    two_over_n = np.float32(2.0 / (BATCH * OUT))

    def step():
        h1 = x @ w1
        h1 += b1
        a1 = np.maximum(h1, np.float32(0))
        h2 = a1 @ w2
        h2 += b2
        a2 = np.maximum(h2, np.float32(0))
        out = a2 @ w3
        out += b3
        d = out - y
        loss = float(np.mean(d * d))
        g_out = d * two_over_n
        g_w3 = a2.T @ g_out
        g_b3 = g_out.sum(axis=0)
        g_h2 = g_out @ w3.T
        g_h2 *= h2 > 0
        g_w2 = a1.T @ g_h2
        g_b2 = g_h2.sum(axis=0)
        g_h1 = g_h2 @ w2.T
        g_h1 *= h1 > 0
        g_w1 = x.T @ g_h1
        g_b1 = g_h1.sum(axis=0)
        for w, g in ((w1, g_w1), (b1, g_b1), (w2, g_w2), (b2, g_b2), (w3, g_w3), (b3, g_b3)):
            w -= lr * g
        return loss

    loss_warm = None
    for _ in range(a.warmup):
        loss_warm = step()
    assert w1.dtype == np.float32 and w2.dtype == np.float32
    times = []
    cpu_start = time.process_time()
    t_start = time.perf_counter()
    loss = loss_warm
    while len(times) < a.max_steps and (len(times) < a.steps or time.perf_counter() - t_start < a.min_seconds):
        t0 = time.perf_counter()
        loss = step()
        times.append(time.perf_counter() - t0)
    cpu_ms = 1000.0 * (time.process_time() - cpu_start) / len(times)
    ms = 1000.0 * sum(times) / len(times)
    times.sort()
    print(json.dumps({
        "name": "numpy",
        "msPerStep": ms,
        "medianMsPerStep": 1000.0 * times[len(times) // 2],
        "cpuMsPerStep": cpu_ms,
        "recordsPerSecond": BATCH / (ms / 1000.0),
        "steps": len(times),
        "warmup": a.warmup,
        "lossAfterWarmup": loss_warm,
        "lossFinal": loss,
        "dtype": str(w1.dtype),
        "numpy": np.__version__,
        "blas": blas_name(),
        "python": platform.python_version(),
        # OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE / *_NUM_THREADS change the BLAS kernels and threads used.
        "blasEnv": {k: v for k, v in os.environ.items() if k.startswith(("OPENBLAS_", "OMP_", "MKL_", "GOTO"))},
    }))


if __name__ == "__main__":
    main()
