#!/usr/bin/env python3
"""Probe: how far can any codec get towards the rate-accuracy targets on a dataset?

The measurement behind the open cells of the rate-accuracy issue, kept so that its figures can
be reproduced. Four parts, all on the training split and the queries of DATA:

1. The Gaussian test channel: the codec that attains the Gaussian rate-distortion bound of
   the training spectrum (reverse water-filling), simulated. In the principal basis each
   coefficient of variance v above the water level t is reconstructed as a*y + w with
   a = 1 - t/v and w Gaussian of variance a*t, the others as 0: the minimum-MSE
   reconstruction that spends exactly the bound's bits. Its dr, rmse and ACC_reid say what a
   codec that is optimal for reconstruction error reaches on these features; on Gaussian
   features of this covariance no code of that many bits has less error.
2. An ideal entropy-coded scalar quantiser: the same basis, one uniform step, rounding to the
   nearest multiple, each coefficient's bits the entropy of its training histogram (no
   header, no termination, no table to transmit), the step bisected so that the queries
   average the budget's bits. What plain transform coding reaches.
3. How concentrated identity is: the Fisher ratios (between- over within-identity variance)
   of the training split's discriminant directions, from the identity labels. If a few
   directions carried the identities, a code could spend its bits there; flat ratios say
   identity is spread over every direction.
4. The targets: with --results (compare.py JSON reports of the same data), the best FAISS
   quantiser's dr per budget, the target dr (15% below it at 16-64 B, 40% below at
   128-256 B) and that target as a multiple of the bound; naicfc's cells if a report has them.

    bench/.venv/bin/python bench/probe_limits.py --data DATA \\
        --results bench/results/kind-a-default.json bench/results/kind-a-default-gains.json
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from naicbench import metrics
from naicbench.data import DatasetError, load_dataset

FAISS_METHODS = ("pq", "opq", "rq", "lsq")


def target_factor(budget: int) -> float:
    """The issue's target dr as a fraction of the best FAISS quantiser's."""
    return 0.85 if budget <= 64 else 0.60


def parse_args(argv: list[str]) -> argparse.Namespace:
    """Command-line options."""
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    p.add_argument(
        "--data", type=Path, required=True, help="dataset in the competition layout"
    )
    p.add_argument(
        "--budgets",
        default="16,32,64,128,256",
        help="bytes per vector (default 16-256)",
    )
    p.add_argument(
        "--results",
        type=Path,
        nargs="*",
        default=[],
        help="compare.py JSON reports on DATA: best FAISS dr per budget, and naicfc's cells",
    )
    p.add_argument(
        "--seed", type=int, default=1, help="seed of the test channel's noise"
    )
    return p.parse_args(argv)


class Spectrum:
    """Principal basis of the training rows over the dims that vary."""

    def __init__(self, train: np.ndarray) -> None:
        x = train.astype(np.float64)
        self.active = np.flatnonzero(np.any(x != x[0], axis=0))
        xa = x[:, self.active]
        self.mean = xa.mean(axis=0)
        values, vectors = np.linalg.eigh(np.cov((xa - self.mean).T))
        order = np.argsort(-values)
        self.values = np.maximum(values[order], 0.0)
        self.vectors = vectors[:, order]

    def forward(self, x: np.ndarray) -> np.ndarray:
        """Principal coefficients of rows of `x`."""
        return (x[:, self.active].astype(np.float64) - self.mean) @ self.vectors

    def inverse(self, like: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Rows shaped like `like` (inactive dims copied) from principal coefficients `y`."""
        out = like.astype(np.float64).copy()
        out[:, self.active] = self.mean + y @ self.vectors.T
        return out

    def water_level(self, bits: float) -> float:
        """The reverse water-filling level t that spends `bits` bits."""
        top = float(self.values.max())

        def rate(t: float) -> float:
            v = self.values[self.values > t]
            return float(0.5 * np.log2(v / t).sum())

        lo, hi = np.log(top) - 200.0, np.log(top)
        for _ in range(200):
            mid = 0.5 * (lo + hi)
            lo, hi = (mid, hi) if rate(np.exp(mid)) > bits else (lo, mid)
        return float(np.exp(hi))


def test_channel(spec: Spectrum, y: np.ndarray, bits: float, rng) -> np.ndarray:
    """Reconstructed coefficients of the Gaussian test channel at `bits` bits."""
    t = spec.water_level(bits)
    coded = spec.values > t
    a = np.where(coded, 1.0 - t / np.where(coded, spec.values, 1.0), 0.0)
    noise = rng.standard_normal(y.shape) * np.sqrt(a * t)
    return a * y + noise


def histogram_bits(train_levels: np.ndarray, query_levels: np.ndarray) -> float:
    """Mean bits per query row when each column is coded with its training histogram
    (add-1/2 smoothing over the levels seen, plus one for the unseen)."""
    total = 0.0
    n = train_levels.shape[0]
    for k in range(train_levels.shape[1]):
        seen, counts = np.unique(train_levels[:, k], return_counts=True)
        pos = np.clip(np.searchsorted(seen, query_levels[:, k]), 0, seen.size - 1)
        hits = np.where(seen[pos] == query_levels[:, k], counts[pos], 0)
        p = (hits + 0.5) / (n + 0.5 * (seen.size + 1))
        total -= np.log2(p).sum()
    return total / query_levels.shape[0]


def scalar_quantiser(
    y_train: np.ndarray, y_query: np.ndarray, bits: float
) -> np.ndarray:
    """Query coefficients reconstructed by the uniform quantiser whose ideal entropy-coded
    rate on the queries is `bits` (the step bisected on a log scale)."""

    def levels(y: np.ndarray, step: float) -> np.ndarray:
        return np.rint(y / step)

    lo, hi = np.log(1e-6), np.log(1e2)
    for _ in range(30):
        step = np.exp(0.5 * (lo + hi))
        rate = histogram_bits(levels(y_train, step), levels(y_query, step))
        lo, hi = (np.log(step), hi) if rate > bits else (lo, np.log(step))
    step = np.exp(hi)
    return levels(y_query, step) * step


def fisher_ratios(x: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """Generalised eigenvalues of the between- against the within-identity covariance of the
    rows `x` (descending): the Fisher ratio of each discriminant direction."""
    x = x.astype(np.float64)
    within = np.zeros((x.shape[1], x.shape[1]))
    for label in np.unique(ids):
        rows = x[ids == label]
        centred = rows - rows.mean(axis=0)
        within += centred.T @ centred
    within /= len(x)
    total = np.cov(x.T, bias=True)
    # A whisper of ridge keeps the Cholesky factor of near-constant dims defined.
    ridge = 1e-9 * np.trace(within) / len(within)
    lower = np.linalg.cholesky(within + ridge * np.eye(len(within)))
    inv = np.linalg.inv(lower)
    return np.sort(np.linalg.eigvalsh(inv @ (total - within) @ inv.T))[::-1]


def report_cells(
    paths: list[Path],
) -> tuple[dict[int, tuple[str, float]], dict[int, tuple]]:
    """Best FAISS (method, dr) per budget, and naicfc's (dr, ACC_reid) per budget (the last
    report that has naicfc wins)."""
    best: dict[int, tuple[str, float]] = {}
    naicfc: dict[int, tuple] = {}
    for path in paths:
        report = json.loads(path.read_text())
        for method in report["methods"]:
            for cell in method["cells"]:
                b, dr = cell["budget"], cell["dr"]
                if dr is None:
                    continue
                if method["name"] in FAISS_METHODS and (
                    b not in best or dr < best[b][1]
                ):
                    best[b] = (method["name"], dr)
                if method["name"] == "naicfc":
                    naicfc[b] = (dr, cell["acc_reid"])
    return best, naicfc


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    try:
        data = load_dataset(args.data)
    except DatasetError as e:
        print(f"probe_limits: {e}", file=sys.stderr)
        return 2
    try:
        best, naicfc = report_cells(args.results)
    except (OSError, ValueError, KeyError) as e:
        print(f"probe_limits: reading --results: {e}", file=sys.stderr)
        return 2
    budgets = [int(b) for b in args.budgets.split(",")]
    spec = Spectrum(data.train.features)
    query, gallery = data.query.features, data.gallery.features
    y_query, y_train = spec.forward(query), spec.forward(data.train.features)
    uncompressed = metrics.acc_reid(
        query, gallery, data.query.ids, data.gallery.ids
    ).acc_reid
    rng = np.random.default_rng(args.seed)
    print(
        f"{args.data}: {len(query)} queries, {spec.active.size} active dims, "
        f"uncompressed ACC_reid {uncompressed:.4f}"
    )
    ratios = fisher_ratios(data.train.features[:, spec.active], data.train.ids)
    ranks = [r for r in (1, 8, 16, 32, 64, 128, 256) if r <= ratios.size]
    print(
        "Fisher ratio of the discriminant directions (rank: ratio): "
        + ", ".join(f"{r}: {ratios[r - 1]:.3f}" for r in ranks)
    )
    print(
        "budget | bound rmse | test channel: coded, dr, rmse, ACC_reid, retention "
        "| ideal scalar: rmse / bound | best FAISS dr | target dr (/ bound) | naicfc dr / ACC"
    )
    for b in budgets:
        bits = 8.0 * b
        bound = float(np.sqrt(metrics.gaussian_mse(spec.values, bits)))
        coded = int((spec.values > spec.water_level(bits)).sum())
        ideal = spec.inverse(query, test_channel(spec, y_query, bits, rng))
        acc = metrics.acc_reid(
            ideal, gallery, data.query.ids, data.gallery.ids
        ).acc_reid
        rmse = float(np.sqrt(((ideal - query) ** 2).sum(axis=1).mean()))
        scalar = spec.inverse(query, scalar_quantiser(y_train, y_query, bits))
        scalar_rmse = float(np.sqrt(((scalar - query) ** 2).sum(axis=1).mean()))
        cells = [
            f"{b} B",
            f"{bound:.3f}",
            (
                f"{coded}, {metrics.mean_l2_error(query, ideal):.3f}, {rmse:.3f}, {acc:.4f}, "
                f"{100 * acc / uncompressed:.1f}%"
            ),
            f"{scalar_rmse:.3f} / {scalar_rmse / bound:.3f}",
        ]
        if b in best:
            name, dr = best[b]
            target = target_factor(b) * dr
            cells += [f"{dr:.3f} ({name})", f"{target:.3f} ({target / bound:.3f})"]
        else:
            cells += ["-", "-"]
        cells.append(f"{naicfc[b][0]:.3f} / {naicfc[b][1]:.4f}" if b in naicfc else "-")
        print(" | ".join(cells), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
