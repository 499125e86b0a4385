#!/usr/bin/env python3
"""Peers of tangent's incremental NTK-GP on the same kernel matrices.

For each N, gram-N.npy holds the (N+1)x(N+1) NTK Gram of N window points plus
one new point, written by bench/benchmarks/ntk-gp.ts; solve-N.npy holds
tangent's forward substitution L^-1 k for the new point. Measured here:

  - LAPACK dpotrf via scipy.linalg.cho_factor on K_N + sI (a refit),
  - LAPACK/BLAS triangular solve L^-1 k: scipy.linalg.solve_triangular
    (check_finite=False) and the bare scipy.linalg.blas.dtrsv,
  - GPyTorch (if installed): ExactGP with the Gram as a precomputed kernel,
    eval mode, prediction caches built, then get_fantasy_model with the new
    point (GPyTorch's O(N^2) online update).

Single-threaded (OPENBLAS_NUM_THREADS=1 from the caller, torch.set_num_threads(1)),
like tangent's JavaScript; CPU time of this thread is reported beside the wall
time, since the machine is shared. Prints one JSON object on stdout.
"""
import argparse
import json
import os
import sys
import time

import numpy as np
import scipy
import scipy.linalg as sl
from scipy.linalg import blas


def timed(fn, repeats, warmup=2):
    """(median wall seconds, mean CPU seconds of this thread) per call."""
    for _ in range(warmup):
        fn()
    times = []
    cpu0 = time.thread_time()
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times)), (time.thread_time() - cpu0) / repeats


def blas_info():
    try:
        import threadpoolctl

        return ", ".join(
            f"{i['internal_api']} {i.get('version')} {i.get('architecture')} x{i['num_threads']} ({i['prefix']})"
            for i in threadpoolctl.threadpool_info()
        )
    except Exception as e:  # noqa: BLE001
        return f"unknown ({e})"


def gpytorch_fantasy(K_full, n, noise, repeats):
    import gpytorch
    import torch

    torch.set_default_dtype(torch.float64)
    torch.set_num_threads(1)
    Kt = torch.from_numpy(K_full)

    class Precomputed(gpytorch.kernels.Kernel):
        """k(i, j) = Gram[i, j]: inputs are point indices."""

        def forward(self, x1, x2, diag=False, **params):
            i = x1[..., 0].long()
            j = x2[..., 0].long()
            if diag:
                return Kt[i, j]
            return Kt[i.unsqueeze(-1), j.unsqueeze(-2)]

    class Model(gpytorch.models.ExactGP):
        def __init__(self, x, y, likelihood):
            super().__init__(x, y, likelihood)
            self.mean_module = gpytorch.means.ZeroMean()
            self.covar_module = Precomputed()

        def forward(self, x):
            return gpytorch.distributions.MultivariateNormal(self.mean_module(x), self.covar_module(x))

    rng = np.random.default_rng(n)
    train_x = torch.arange(n, dtype=torch.float64).unsqueeze(-1)
    train_y = torch.from_numpy(rng.standard_normal(n))
    likelihood = gpytorch.likelihoods.GaussianLikelihood(noise_constraint=gpytorch.constraints.GreaterThan(1e-6))
    likelihood.noise = noise
    model = Model(train_x, train_y, likelihood)
    model.eval()
    likelihood.eval()
    new_x = torch.tensor([[float(n)]])
    new_y = torch.tensor([0.5])
    with torch.no_grad(), gpytorch.settings.max_cholesky_size(10**7), gpytorch.settings.fast_pred_var(False):
        t0 = time.perf_counter()
        model(new_x).mean  # builds the prediction caches (Cholesky of K + sI)
        cache = time.perf_counter() - t0

        def fantasy():
            fm = model.get_fantasy_model(new_x, new_y)
            fm(new_x).mean  # the fantasy model's prediction uses the updated caches

        fantasy_wall, fantasy_cpu = timed(fantasy, repeats, warmup=1)
    return fantasy_wall, fantasy_cpu, cache


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", required=True)
    ap.add_argument("--sizes", required=True)
    ap.add_argument("--noise", type=float, required=True)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--no-gpytorch", action="store_true")
    a = ap.parse_args()

    versions = {"python": sys.version.split()[0], "numpy": np.__version__, "scipy": scipy.__version__}
    use_gpytorch = not a.no_gpytorch
    if use_gpytorch:
        try:
            import gpytorch
            import torch

            versions["torch"] = torch.__version__
            versions["gpytorch"] = gpytorch.__version__
            versions["torchThreads"] = str(torch.get_num_threads())
        except Exception as e:  # noqa: BLE001
            use_gpytorch = False
            versions["gpytorch"] = f"not importable: {e}"
    rows = []
    for n in [int(s) for s in a.sizes.split(",")]:
        G = np.load(os.path.join(a.dir, f"gram-{n}.npy"))
        tangent_l = np.load(os.path.join(a.dir, f"solve-{n}.npy"))
        A = G[:n, :n] + a.noise * np.eye(n)
        k = np.ascontiguousarray(G[n, :n])
        chol_repeats = 3 if n >= 2048 else 10
        cho, cho_cpu = timed(lambda: sl.cho_factor(A, lower=True, check_finite=False), 1 if a.quick else chol_repeats, warmup=1)
        L = np.tril(sl.cho_factor(A, lower=True)[0])
        Lf = np.asfortranarray(L)
        solve_repeats = max(20, min(400, int(4e7 / (n * n))))
        st, st_cpu = timed(lambda: sl.solve_triangular(L, k, lower=True, check_finite=False), solve_repeats)
        dt, dt_cpu = timed(lambda: blas.dtrsv(Lf, k, lower=1), solve_repeats)
        l = sl.solve_triangular(L, k, lower=True)
        row = {
            "n": n,
            "choFactorMillis": cho * 1e3,
            "choFactorCpuMillis": cho_cpu * 1e3,
            "solveTriangularMicros": st * 1e6,
            "solveTriangularCpuMicros": st_cpu * 1e6,
            "dtrsvMicros": dt * 1e6,
            "dtrsvCpuMicros": dt_cpu * 1e6,
            "solutionRelativeDifference": float(np.max(np.abs(l - tangent_l)) / np.max(np.abs(l))),
        }
        if use_gpytorch:
            try:
                fantasy_s, fantasy_cpu, cache_s = gpytorch_fantasy(G, n, a.noise, 3 if a.quick or n >= 2048 else 10)
                row["gpytorchFantasyMillis"] = fantasy_s * 1e3
                row["gpytorchFantasyCpuMillis"] = fantasy_cpu * 1e3
                row["gpytorchPredictionCacheMillis"] = cache_s * 1e3
            except Exception as e:  # noqa: BLE001
                row["gpytorchError"] = f"{type(e).__name__}: {e}"
        rows.append(row)
        print(f"[ntk-gp peer] N={n}: {json.dumps(row)}", file=sys.stderr)
    print(json.dumps({"rows": rows, "versions": versions, "blas": blas_info()}))


if __name__ == "__main__":
    main()
