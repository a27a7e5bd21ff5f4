"""Host throughput in one run: naicfc's batch path (one thread and all cores, `naicfc bench`)
against FAISS OPQ batched (one thread and all cores), per budget.

FAISS OPQ is set up as in compare.py (naicbench.quantizers.OPQCodec: M = budget sub-quantisers
of 8 bits on the active dimensions, spread padding, a learned rotation), with fewer training
iterations by default (--opq-niter): the iterations change the rotation's and codebooks'
values, not what an encode or decode computes, so throughput does not depend on them.

    target/pyenv/bin/python bench/host_throughput.py --naicfc target/release/naicfc \\
        --data DATASET --model MODEL.nfcm --budgets 16,32,64,128,256

DATASET is a `naicfc synth` directory (train/train_feature for OPQ's training,
query_feature for the measurement, as compare.py). Prints one markdown table.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402

from naicbench.data import load_dataset  # noqa: E402
from naicbench.layout import ActiveDims  # noqa: E402
from naicbench.naicfc import Naicfc  # noqa: E402
from naicbench.quantizers import OPQCodec  # noqa: E402


def rate(f: Callable[[], object], n: int, seconds: float) -> tuple[float, object]:
    """Vectors/s of `f` (which codes `n` vectors), repeated for at least `seconds`."""
    start, calls, out = time.monotonic(), 0, None
    while calls == 0 or time.monotonic() - start < seconds:
        out = f()
        calls += n
    return calls / (time.monotonic() - start), out


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--naicfc", type=Path, required=True)
    p.add_argument("--data", type=Path, required=True)
    p.add_argument("--model", type=Path, required=True)
    p.add_argument("--budgets", default="16,32,64,128,256")
    p.add_argument("--seconds", type=float, default=1.0)
    p.add_argument("--train-rows", type=int, default=5000)
    p.add_argument("--opq-niter", type=int, default=2)
    args = p.parse_args()
    import faiss

    budgets = [int(b) for b in args.budgets.split(",")]
    data = load_dataset(args.data)
    train = data.train.features[: args.train_rows]
    queries = data.query.features
    active = ActiveDims.from_training(train)
    cores = os.cpu_count() or 1
    opq: dict[int, dict[str, float]] = {}
    for budget in budgets:
        codec = OPQCodec(budget, niter=args.opq_niter, niter_pq=2, niter_pq_0=4, kmeans_iters=4)
        faiss.omp_set_num_threads(cores)
        codec.train(active.gather(train))
        row = {}
        for label, threads in (("1", 1), ("all", cores)):
            faiss.omp_set_num_threads(threads)
            enc, codes = rate(lambda c=codec: c.encode(active.gather(queries)), len(queries), args.seconds)
            dec, _ = rate(lambda c=codec: active.scatter(c.decode(codes)), len(queries), args.seconds)
            row[f"enc{label}"], row[f"dec{label}"] = enc, dec
        opq[budget] = row
    naicfc = {
        r["budget"]: r
        for r in Naicfc(args.naicfc).bench(args.model, args.data / "query_feature", budgets, args.seconds)
    }
    k = lambda v: f"{v / 1000:.1f}k"  # noqa: E731
    print(f"{len(queries)} query vectors of {queries.shape[1]} values, {cores} cores; "
          "vectors/s encode / decode")
    print()
    print("| budget | naicfc batch, 1 thread | FAISS OPQ, 1 thread | naicfc per vector, 1 thread "
          "| naicfc batch, all cores | FAISS OPQ, all cores |")
    print("|---|---|---|---|---|---|")
    for b in budgets:
        n, o = naicfc[b], opq[b]
        print(f"| {b} B | {k(n['encode_per_sec'])} / {k(n['decode_per_sec'])} "
              f"| {k(o['enc1'])} / {k(o['dec1'])} "
              f"| {k(n['encode_per_sec_single'])} / {k(n['decode_per_sec_single'])} "
              f"| {k(n['encode_per_sec_all'])} / {k(n['decode_per_sec_all'])} "
              f"| {k(o['encall'])} / {k(o['decall'])} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
