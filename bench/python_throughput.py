#!/usr/bin/env python3
"""Encode and decode throughput per core: the Python package, the command-line tool and, when
`faiss-cpu` is importable, FAISS's OPQ + PQ at the same code size, from one run.

    python bench/python_throughput.py [--data DIR] [--rows 2000] [--budgets 16,32,64]

Needs the package installed (`pip install ./codec-py`) and the CLI built
(`cargo build --release -p codec-host`, or `--cli PATH`). Without `--data`, a synthetic kind-A
set (2,000 training vectors) is generated in a temporary directory. Prints a Markdown table.
"""

import argparse
import datetime
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

import naicfc

REPO = Path(__file__).resolve().parents[1]


def rate(fn, rows, seconds):
    """Vectors per second of `fn()` (which codes `rows` vectors), repeated for `seconds`."""
    fn()  # warm-up
    done, start = 0, time.perf_counter()
    while True:
        fn()
        done += rows
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            return done / elapsed


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", type=Path, help="dataset in the competition's layout")
    p.add_argument("--rows", type=int, default=2000, help="vectors coded per measurement")
    p.add_argument("--budgets", default="16,32,64", help="budgets in bytes")
    p.add_argument("--seconds", type=float, default=2.0, help="time per measurement")
    p.add_argument("--cli", type=Path, default=REPO / "target" / "release" / "naicfc")
    args = p.parse_args()
    budgets = [int(b) for b in args.budgets.split(",")]
    tmp = Path(tempfile.mkdtemp(prefix="naicfc-bench-"))

    root = args.data
    if root is None:
        root = naicfc.synth(tmp / "data", identities=200, images_per_identity=10,
                            test_identities=200, queries=args.rows, gallery=args.rows)
    train = naicfc.read_split(root, "train")
    query = naicfc.read_split(root, "query")
    x = query.features[: args.rows]
    n, dim = x.shape
    start = time.perf_counter()
    model = naicfc.Model.train(train.features, train.ids)
    print(f"model: trained on {len(train.features)} x {dim} in "
          f"{time.perf_counter() - start:.1f} s; coding {n} query vectors", file=sys.stderr)
    model.save(tmp / "m.nfcm")
    np.save(tmp / "x.npy", x)

    cli = {}
    if args.cli.exists():
        out = subprocess.run(
            [str(args.cli), "bench", "--model", str(tmp / "m.nfcm"), "--features",
             str(tmp / "x.npy"), "--rows", str(n), "--budgets", args.budgets, "--seconds",
             str(args.seconds), "--json"],
            capture_output=True, text=True, check=True)
        for t in json.loads(out.stdout)["codec"]:
            cli[t["budget"]] = (t["encode_per_sec"], t["decode_per_sec"])
    else:
        print(f"{args.cli}: not built, CLI column left empty", file=sys.stderr)

    try:
        import faiss
    except ImportError:
        faiss = None
        print("faiss-cpu not importable: FAISS column left empty", file=sys.stderr)

    cores = os.cpu_count()
    rows = []
    for b in budgets:
        codes = model.encode(x, b)
        py_enc = rate(lambda: model.encode(x, b, threads=1), n, args.seconds)
        py_dec = rate(lambda: model.decode(codes, threads=1), n, args.seconds)
        all_enc = rate(lambda: model.encode(x, b), n, args.seconds)
        all_dec = rate(lambda: model.decode(codes), n, args.seconds)
        cli_enc, cli_dec = cli.get(b, (float("nan"), float("nan")))
        f_enc = f_dec = float("nan")
        if faiss is not None and dim % b == 0:
            index = faiss.index_factory(dim, f"OPQ{b},PQ{b}")
            faiss.omp_set_num_threads(cores)  # training is not measured
            index.train(np.ascontiguousarray(train.features))
            faiss.omp_set_num_threads(1)
            fcodes = index.sa_encode(x)
            f_enc = rate(lambda: index.sa_encode(x), n, args.seconds)
            f_dec = rate(lambda: index.sa_decode(fcodes), n, args.seconds)
        rows.append((b, py_enc, cli_enc, f_enc, py_dec, cli_dec, f_dec, all_enc, all_dec))

    when = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d")
    print(f"\nvectors/s per core, {dim}-d kind-A features, {n} vectors, {when}; "
          f"`python bench/python_throughput.py {' '.join(sys.argv[1:])}`")
    print("naicfc Python and FAISS with one thread, the CLI's `naicfc bench` (one thread);"
          f" the last two columns use all {cores} cores\n")
    print("| budget | encode Python | encode CLI | Python/CLI | encode FAISS OPQ | "
          "decode Python | decode CLI | Python/CLI | decode FAISS OPQ | "
          "encode Python, all cores | decode Python, all cores |")
    print("|---:" * 11 + "|")
    for b, pe, ce, fe, pd, cd, fd, ae, ad in rows:
        print(f"| {b} B | {pe:,.0f} | {ce:,.0f} | {pe / ce:.2f} | {fe:,.0f} | {pd:,.0f} | "
              f"{cd:,.0f} | {pd / cd:.2f} | {fd:,.0f} | {ae:,.0f} | {ad:,.0f} |")


if __name__ == "__main__":
    main()
