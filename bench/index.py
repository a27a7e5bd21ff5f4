#!/usr/bin/env python3
"""Search over a coded gallery: naicfc's int8 index against exact search and FAISS IVF.

One run, one machine, the same queries (original features) against the same gallery (the
codes' reconstructions): exact float search over the decoded vectors (`naicfc reid` on a
`.npy` of them), the coefficient-domain search over the code array (`reid --gallery X.nfcc`),
the int8 index (`naicfc index`, `reid --gallery X.nfci`), and FAISS IndexIVFFlat and
IndexIVFPQ on the L2-normalised reconstructions, each with the fewest probes whose ACC_reid is
within 1 point of the exact search's (matched accuracy). Prints a Markdown table and writes
JSON. Times are search times (reading and writing excluded), on `--threads` threads.

    bench/index.sh [--queries 2000 --gallery 50000] [--budget 64] [--threads 2]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np


def sh(cmd: list[str], env: dict | None = None) -> str:
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    return proc.stderr


def search_seconds(log: str) -> float:
    m = re.search(r"\(search ([0-9.]+) s\)", log)
    if not m:
        m = re.search(r"search ([0-9.]+) s\)", log)
    return float(m.group(1)) if m else float("nan")


def score(naicfc: str, results: Path, data: Path) -> float:
    out = subprocess.run(
        [naicfc, "score", "--results", str(results), "--query-list", str(data / "query_list.txt"),
         "--gallery-list", str(data / "gallery_list.txt"), "--json"],
        capture_output=True, text=True, check=True,
    ).stdout
    return 100.0 * json.loads(out)["acc_reid"]


def write_results(path: Path, idx: np.ndarray, qnames: list[str], gnames: list[str]) -> None:
    res = {f"{q}.dat": [f"{gnames[j]}.dat" for j in row if j >= 0] for q, row in zip(qnames, idx)}
    path.write_text(json.dumps(res))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--naicfc", required=True)
    ap.add_argument("--work", required=True, type=Path)
    ap.add_argument("--queries", type=int, default=2000)
    ap.add_argument("--gallery", type=int, default=50000)
    ap.add_argument("--budget", type=int, default=64)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--top", type=int, default=100)
    args = ap.parse_args()
    n, w = args.naicfc, args.work
    w.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, RAYON_NUM_THREADS=str(args.threads))
    data, model = w / "data", w / "model.nfcm"
    if not data.exists():
        sh([n, "synth", "--out", str(data), "--queries", str(args.queries), "--gallery", str(args.gallery)])
    if not model.exists():
        sh([n, "train", "--data", str(data), "--out", str(model)], env)
    q, g = data / "query_feature", data / "gallery_feature"
    codes, index, rec = w / "g.nfcc", w / "g.nfci", w / "rec.npy"
    b = str(args.budget)
    sh([n, "encode", "-m", str(model), "-b", b, "-i", str(g), "-o", str(codes)], env)
    t0 = time.perf_counter()
    sh([n, "index", "--gallery", str(codes), "-m", str(model), "-o", str(index)], env)
    build_s = time.perf_counter() - t0
    sh([n, "decode", "-m", str(model), "-i", str(codes), "-o", str(rec)], env)

    rows = []
    top = ["--top", str(args.top)]
    for label, gallery, extra in [
        ("exact float search, decoded gallery", rec, []),
        ("coefficient domain, code array", codes, ["-m", str(model)]),
        ("int8 index (naicfc index)", index, ["-m", str(model)]),
    ]:
        out = w / f"r-{gallery.suffix[1:]}.json"
        log = sh([n, "reid", "--query", str(q), "--gallery", str(gallery), "-o", str(out), *top, *extra], env)
        rows.append((label, "", search_seconds(log), score(n, out, data)))
    exact_acc = rows[0][3]

    import faiss

    faiss.omp_set_num_threads(args.threads)
    gv = np.load(rec).astype(np.float32)
    gnames = (w / "rec.names.txt").read_text().split()
    qnames = sorted(p.stem for p in q.glob("*.dat"))
    qv = np.stack([np.fromfile(q / f"{s}.dat", dtype="<f4") for s in qnames])
    faiss.normalize_L2(gv)
    faiss.normalize_L2(qv)
    d = gv.shape[1]
    nlist = int(4 * np.sqrt(len(gv)))
    for label, make in [
        ("FAISS IVF-Flat", lambda quant: faiss.IndexIVFFlat(quant, d, nlist, faiss.METRIC_INNER_PRODUCT)),
        ("FAISS IVF-PQ (64 B)", lambda quant: faiss.IndexIVFPQ(quant, d, nlist, 64, 8, faiss.METRIC_INNER_PRODUCT)),
    ]:
        quant = faiss.IndexFlatIP(d)
        ix = make(quant)
        ix.train(gv[:: max(1, len(gv) // (40 * nlist))])
        ix.add(gv)
        chosen = None
        for nprobe in (1, 2, 4, 8, 16, 32, 64, 128, 256):
            ix.nprobe = nprobe
            t0 = time.perf_counter()
            _, idx = ix.search(qv, args.top)
            secs = time.perf_counter() - t0
            if (idx < 0).any():
                # Too few probes to find `top` candidates for some query: not comparable.
                continue
            out = w / "r-faiss.json"
            write_results(out, idx, qnames, gnames)
            acc = score(n, out, data)
            chosen = (f"{label}, nprobe {nprobe}", "", secs, acc)
            if acc >= exact_acc - 1.0:
                break
        rows.append(chosen)

    exact_s = rows[0][2]
    print(f"{args.queries} queries x {len(gv)} gallery, {args.budget}-byte codes, {args.threads} threads; "
          f"index build {build_s:.1f} s\n")
    print("| search | seconds | speed-up vs exact | ACC_reid (%) |")
    print("|---|---:|---:|---:|")
    for label, _, secs, acc in rows:
        print(f"| {label} | {secs:.2f} | {exact_s / secs:.1f}x | {acc:.2f} |")
    (w / "index-bench.json").write_text(json.dumps(
        {"queries": args.queries, "gallery": len(gv), "budget": args.budget, "threads": args.threads,
         "index_build_s": build_s, "rows": [dict(zip(("search", "_", "seconds", "acc_reid"), r)) for r in rows]},
        indent=1))


if __name__ == "__main__":
    main()
