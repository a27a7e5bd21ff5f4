#!/usr/bin/env python3
"""Encode and decode throughput: the Python package against the command-line tool per core, and
FAISS's OPQ at the same code size (one thread and all threads), all from one run.

    python bench/python_throughput.py [--data DIR] [--rows 1000] [--budgets 16,32,64,128,256]
                                      [--repeats 5] [--seconds 1]

Needs the package installed (`pip install ./codec-py`), the CLI built (`cargo build --release
-p codec-host`, or `--cli PATH`) and, for the FAISS columns, `faiss-cpu` (pip). Without
`--data`, a synthetic kind-A set (2,000 training vectors) is generated in a temporary directory.
Prints a Markdown table.

Per-core figures are vectors per CPU-second, so that other jobs on the machine do not count
against either side: the Python and FAISS windows run on one thread and are timed with the
process's CPU clock; `naicfc bench` (one thread, wall-clock windows) is scaled by the share of
a core its process got (its CPU time over its wall time). All-core figures are wall-clock and
fall with the machine's load, which is printed. Every figure is the median of `--repeats`
windows, the windows of the three codecs interleaved so that a change of load hits all three.
"""

import argparse
import datetime
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# Before FAISS's OpenMP runtime loads: spinning OpenMP threads on a shared machine cost more
# than they save (as in bench/compare.py).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np  # noqa: E402

import naicfc  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))


def window(fn, rows, seconds, clock):
    """`fn()` (which codes `rows` vectors) repeated until `seconds` have passed on `clock`;
    vectors per second of that clock."""
    done, start = 0, clock()
    while True:
        fn()
        done += rows
        elapsed = clock() - start
        if elapsed >= seconds:
            return done / elapsed


def cpu_rate(fn, rows, seconds):
    """Vectors per CPU-second of the whole process (for work on one thread)."""
    return window(fn, rows, seconds, time.process_time)


def wall_rate(fn, rows, seconds):
    return window(fn, rows, seconds, time.perf_counter)


def children_cpu():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def cli_rates(cli, model, features, rows, budget, seconds):
    """`naicfc bench` at one budget: (encode, decode) per CPU-second and the share of a core
    its process got."""
    cpu, start = children_cpu(), time.perf_counter()
    out = subprocess.run(
        [str(cli), "bench", "--model", str(model), "--features", str(features), "--rows",
         str(rows), "--budgets", str(budget), "--seconds", str(seconds), "--json"],
        capture_output=True, text=True, check=True)
    share = (children_cpu() - cpu) / (time.perf_counter() - start)
    (t,) = [t for t in json.loads(out.stdout)["codec"] if t["budget"] == budget]
    # `bench` reports wall-clock rates; a share below one core means the window's CPU time
    # was that much shorter than its wall time.
    share = min(max(share, 1e-3), 1.0)
    return t["encode_per_sec"] / share, t["decode_per_sec"] / share, share


def opq_codecs(train, budgets, threads):
    """FAISS OPQ + PQ trained as bench/compare.py trains it (active dimensions, M = budget
    sub-quantisers of 8 bits), per budget; `None` without faiss-cpu."""
    try:
        import faiss
        from naicbench.layout import ActiveDims
        from naicbench.plans import OPQ_NITER
        from naicbench.quantizers import OPQCodec
    except ImportError as e:
        print(f"FAISS columns left empty: {e}", file=sys.stderr)
        return None, None
    active = ActiveDims.from_training(train)
    faiss.omp_set_num_threads(threads)
    codecs = {}
    for b in budgets:
        start = time.perf_counter()
        codec = OPQCodec(b, niter=OPQ_NITER)
        codec.train(active.gather(train))
        codecs[b] = codec
        print(f"FAISS OPQ{b}: trained in {time.perf_counter() - start:.1f} s", file=sys.stderr)
    return active, codecs


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", type=Path, help="dataset in the competition's layout")
    p.add_argument("--rows", type=int, default=1000, help="vectors coded per call")
    p.add_argument("--budgets", default="16,32,64,128,256", help="budgets in bytes")
    p.add_argument("--repeats", type=int, default=5, help="windows per figure (median)")
    p.add_argument("--seconds", type=float, default=1.0, help="least time per window")
    p.add_argument("--model", type=Path, help="model file to use instead of training one")
    p.add_argument("--cli", type=Path, default=REPO / "target" / "release" / "naicfc")
    args = p.parse_args()
    budgets = [int(b) for b in args.budgets.split(",")]
    cores = os.cpu_count()
    load_before = os.getloadavg()
    tmp = Path(tempfile.mkdtemp(prefix="naicfc-bench-"))
    try:
        run(args, budgets, cores, load_before, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def run(args, budgets, cores, load_before, tmp):

    root = args.data
    if root is None:
        root = naicfc.synth(tmp / "data", identities=200, images_per_identity=10,
                            test_identities=200, queries=args.rows, gallery=args.rows)
    train = naicfc.read_split(root, "train")
    query = naicfc.read_split(root, "query")
    x = np.ascontiguousarray(query.features[: args.rows])
    n, dim = x.shape
    if args.model is not None:
        model = naicfc.Model.load(args.model)
    else:
        start = time.perf_counter()
        model = naicfc.Model.train(train.features, train.ids)
        print(f"model: trained on {len(train.features)} x {dim} in "
              f"{time.perf_counter() - start:.1f} s", file=sys.stderr)
    model.save(tmp / "m.nfcm")
    np.save(tmp / "x.npy", x)
    if not args.cli.exists():
        sys.exit(f"{args.cli}: not built (cargo build --release -p codec-host, or --cli PATH)")
    active, opq = opq_codecs(np.ascontiguousarray(train.features), budgets, cores)
    if opq is not None:
        import faiss

    s = args.seconds
    table = []
    for b in budgets:
        codes = model.encode(x, b)
        if opq is not None:
            g = active.gather(x)
            fcodes = opq[b].encode(g)
        got = {}

        def add(key, value):
            got.setdefault(key, []).append(value)

        for _ in range(args.repeats):
            ce, cd, share = cli_rates(args.cli, tmp / "m.nfcm", tmp / "x.npy", n, b, s)
            add("cli_enc", ce)
            add("cli_dec", cd)
            add("cli_share", share)
            add("py_enc", cpu_rate(lambda: model.encode(x, b, threads=1), n, s))
            add("py_dec", cpu_rate(lambda: model.decode(codes, threads=1), n, s))
            add("py_enc_all", wall_rate(lambda: model.encode(x, b), n, s))
            add("py_dec_all", wall_rate(lambda: model.decode(codes), n, s))
            if opq is not None:
                c = opq[b]
                faiss.omp_set_num_threads(1)
                add("f_enc", cpu_rate(lambda: c.encode(active.gather(x)), n, s))
                add("f_dec", cpu_rate(lambda: active.scatter(c.decode(fcodes)), n, s))
                faiss.omp_set_num_threads(cores)
                add("f_enc_all", wall_rate(lambda: c.encode(active.gather(x)), n, s))
                add("f_dec_all", wall_rate(lambda: active.scatter(c.decode(fcodes)), n, s))
        med = {k: statistics.median(v) for k, v in got.items()}
        print(f"{b} B: " + ", ".join(f"{k} {v:,.0f}" for k, v in med.items() if k != "cli_share")
              + f", CLI's share of a core {med['cli_share']:.2f}", file=sys.stderr)
        table.append((b, med))

    nan = float("nan")
    when = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d")
    load_after = os.getloadavg()
    print(f"\n`python bench/python_throughput.py {' '.join(sys.argv[1:])}` ({when}, {dim}-d "
          f"features of {root.name}, {n} vectors per call, model {model.fingerprint[:8]}; "
          f"median of {args.repeats} windows of at least {s:g} s; load average "
          f"{load_before[0]:.1f} at the start, {load_after[0]:.1f} at the end, {cores} cores)\n")
    print("Vectors per CPU-second on one thread (Python: `threads=1`; CLI: `naicfc bench`; "
          "FAISS: OPQ + PQ at M = budget, `omp_set_num_threads(1)`), then vectors per second "
          f"on all {cores} cores (wall clock):\n")
    print("| budget | encode Python | encode CLI | Python/CLI | encode FAISS OPQ | "
          "decode Python | decode CLI | Python/CLI | decode FAISS OPQ | "
          "all cores: encode Python | decode Python | encode FAISS OPQ | decode FAISS OPQ |")
    print("|---:" * 13 + "|")
    for b, m in table:
        f = [m.get(k, nan) for k in ("f_enc", "f_dec", "f_enc_all", "f_dec_all")]
        print(f"| {b} B | {m['py_enc']:,.0f} | {m['cli_enc']:,.0f} | "
              f"{m['py_enc'] / m['cli_enc']:.2f} | {f[0]:,.0f} | {m['py_dec']:,.0f} | "
              f"{m['cli_dec']:,.0f} | {m['py_dec'] / m['cli_dec']:.2f} | {f[1]:,.0f} | "
              f"{m['py_enc_all']:,.0f} | {m['py_dec_all']:,.0f} | {f[2]:,.0f} | {f[3]:,.0f} |")


if __name__ == "__main__":
    main()
