#!/usr/bin/env python3
"""Probe: would least-squares decoder gains on the leading coefficients pay?

The measurement behind the decoder gains of model format 5 (`naicfc train --gain-coeffs`),
kept so that its figures can be reproduced: run it on a model trained with `--gain-coeffs 0`.
Without gains, naicfc reconstructs a quantised coefficient at its level (the cell middle). At
small budgets that over-shoots the leading principal coefficients a little: on the default
kind-A set at 16 B their reconstructed energy exceeds the original's. Shrinking them by the least-squares
gain `g_k = sum(y_k * yhat_k) / sum(yhat_k^2)` lowers dr and, because it lowers the weight of
the directions that dominate cosine similarity, raises ACC_reid. Applied to every coefficient
it lowers dr more but costs ACC_reid (the rarely coded trailing ones shrink most).

For each budget the script encodes and decodes an evenly spaced sample of training vectors with
`naicfc encode`/`decode`, fits one gain per principal coefficient of the training set (numpy
PCA, an approximation of the model's own transform) on that sample, applies the gains of the
leading L coefficients to the decoded queries, and prints dr and ACC_reid (cosine against the
original gallery, as `compare.py` scores) for each L. The queries never enter the fit.

    bench/.venv/bin/python bench/probe_gains.py --data DATA --model MODEL \\
        --naicfc target/release/naicfc --budgets 16,32 --leading 8,16,24,32,all
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np

from naicbench import metrics
from naicbench.data import DatasetError, load_dataset
from naicbench.naicfc import Naicfc, NaicfcError


def shrink_spec(text: str) -> tuple[int, float]:
    """`L:G` -> (L, G)."""
    try:
        n, g = text.split(":")
        return int(n), float(g)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected L:G, e.g. 32:0.8, got {text!r}") from None


def parse_args(argv: list[str]) -> argparse.Namespace:
    """Command-line options."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--data", type=Path, required=True, help="dataset in the competition layout")
    p.add_argument("--model", type=Path, required=True, help="naicfc model trained on DATA/train")
    p.add_argument("--naicfc", type=Path, required=True, help="the naicfc binary")
    p.add_argument("--budgets", default="16,32,64", help="bytes per vector (default 16,32,64)")
    p.add_argument(
        "--leading",
        default="8,16,24,32,all",
        help="how many leading coefficients get their gain; `all` for every one",
    )
    p.add_argument(
        "--shrink-uncompressed",
        metavar="L:G",
        type=shrink_spec,
        help="also score the uncompressed queries with their leading L coefficients times G",
    )
    p.add_argument(
        "--fit-rows", type=int, default=2000, help="training vectors the gains are fitted on"
    )
    return p.parse_args(argv)


def principal_basis(train: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and principal directions (columns, by decreasing variance) of the training rows."""
    x = train.astype(np.float64)
    mean = x.mean(axis=0)
    values, vectors = np.linalg.eigh(np.cov((x - mean).T))
    return mean, vectors[:, np.argsort(-values)]


def link_rows(features: Path, names: list[str], rows: np.ndarray, into: Path) -> None:
    """A directory of symbolic links to the chosen training files (naicfc reads directories)."""
    into.mkdir()
    for r in rows:
        (into / f"{names[r]}.dat").symlink_to(features / f"{names[r]}.dat")


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    try:
        budgets = [int(b) for b in args.budgets.split(",")]
        data = load_dataset(args.data)
        naicfc = Naicfc(args.naicfc)
    except (ValueError, DatasetError, NaicfcError) as e:
        print(f"probe_gains: {e}", file=sys.stderr)
        return 2
    dim = data.dim
    leading = [dim if s == "all" else int(s) for s in args.leading.split(",")]
    mean, basis = principal_basis(data.train.features)
    rows = np.unique(np.linspace(0, len(data.train.names) - 1, args.fit_rows).astype(int))
    # Rows of a link directory come back in name order, the order load_split uses too.
    rows = rows[np.argsort([data.train.names[r].encode() for r in rows])]
    fit_y = (data.train.features[rows].astype(np.float64) - mean) @ basis
    query = data.query.features.astype(np.float64)
    query_y = (query - mean) @ basis

    def score(rec: np.ndarray) -> str:
        s = metrics.acc_reid(rec, data.gallery.features, data.query.ids, data.gallery.ids)
        return f"{metrics.mean_l2_error(query, rec):.4f} / {s.acc_reid:.4f}"

    if args.shrink_uncompressed:
        n, g = args.shrink_uncompressed
        shrunk = query_y.copy()
        shrunk[:, :n] *= g
        print(
            f"uncompressed: {score(query)}; leading {n} times {g}: {score(mean + shrunk @ basis.T)}"
        )
    print(
        "budget | "
        + " | ".join(
            ["as decoded", *(f"gains on {n}" for n in leading), "mean gain of the first 8"]
        )
    )
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        fit_dir = work / "fit"
        link_rows(args.data / "train" / "train_feature", data.train.names, rows, fit_dir)
        for b in budgets:
            for part in ("fit", "query"):
                (work / f"{part}-{b}").mkdir()
            try:
                fit_rec = naicfc.round_trip(args.model, fit_dir, b, work / f"fit-{b}")
                rec = naicfc.round_trip(
                    args.model, args.data / "query_feature", b, work / f"query-{b}"
                )
            except NaicfcError as e:
                print(f"probe_gains: {e}", file=sys.stderr)
                return 1
            fit_hat = (fit_rec.astype(np.float64) - mean) @ basis
            energy = (fit_hat * fit_hat).sum(axis=0)
            gains = np.clip((fit_hat * fit_y).sum(axis=0) / np.maximum(energy, 1e-30), 0.0, 1.0)
            rec_y = (rec.astype(np.float64) - mean) @ basis
            cells = [score(rec.astype(np.float64))]
            for n in leading:
                shrunk = rec_y.copy()
                shrunk[:, :n] *= gains[:n]
                cells.append(score(mean + shrunk @ basis.T))
            cells.append(f"{gains[:8].mean():.3f}")
            print(f"{b} B | " + " | ".join(cells), flush=True)
    print(
        f"cells: dr / ACC_reid; {query.shape[0]} queries, gains fitted on {len(rows)} training rows"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
