#!/usr/bin/env python3
"""Search over a coded gallery: naicfc's int8 index against exact search and FAISS IVF.

One run, one machine, the same queries (original features) against the same gallery (the
codes' reconstructions): exact float search over the decoded vectors (`naicfc reid` on a
`.npy` of them), the coefficient-domain search over the code array (`reid --gallery X.nfcc`),
the int8 index (`naicfc index`, `reid --gallery X.nfci`), and FAISS IndexIVFFlat and
IndexIVFPQ on the L2-normalised reconstructions (inner product = cosine, the metric of the
others), each with the fewest probes whose ACC_reid is within 1 point of the exact search's
(matched accuracy). Every result is also compared with the exact search's lists (recall@100:
the share of the exact top 100 it returns), which no metric quirk can flatter.

Times: `search` is what `reid` reports for the search itself (for FAISS, `index.search`);
`CPU` is the whole `reid` process's user + system time (reading, query preparation, search,
JSON). The data set is made once under `--work` and its feature directories deleted once
coded, to keep the disk footprint to the code array, the decoded gallery and the index.

    bench/index.sh [--queries 5000 --gallery 30000] [--budget 64] [--threads 1]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np


def sh(cmd: list[str], env: dict | None = None) -> tuple[str, float]:
    """Run `cmd`; return its stderr and the CPU seconds (user + system) it used."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return proc.stderr, cpu


def search_seconds(log: str) -> float:
    m = re.search(r"search ([0-9.]+) s", log)
    return float(m.group(1)) if m else float("nan")


def score(naicfc: str, results: Path, data: Path) -> float:
    out = subprocess.run(
        [naicfc, "score", "--results", str(results), "--query-list", str(data / "query_list.txt"),
         "--gallery-list", str(data / "gallery_list.txt"), "--json"],
        capture_output=True, text=True, check=True,
    ).stdout
    return 100.0 * json.loads(out)["acc_reid"]


def recall(results: Path, exact: dict) -> float:
    """The share of the exact search's lists that `results` returns (order ignored)."""
    got = json.loads(results.read_text())
    hits = sum(len(set(got.get(q, ())) & set(want)) for q, want in exact.items())
    return 100.0 * hits / max(1, sum(len(w) for w in exact.values()))


def write_results(path: Path, idx: np.ndarray, qnames: list[str], gnames: list[str]) -> None:
    res = {f"{q}.dat": [f"{gnames[j]}.dat" for j in row if j >= 0] for q, row in zip(qnames, idx)}
    path.write_text(json.dumps(res))


def names(npy: Path) -> list[str]:
    return npy.with_suffix(".names.txt").read_text().split()


def prepare(n: str, w: Path, args: argparse.Namespace, env: dict) -> None:
    """Make the data set, the model, the code array, the query array and the decoded gallery."""
    data = w / "data"
    if (w / "rec.npy").exists():
        return
    shutil.rmtree(data, ignore_errors=True)
    sh([n, "synth", "--out", str(data), "--queries", str(args.queries), "--gallery", str(args.gallery),
        "--identities", str(args.train // 10), "--images-per-identity", "10"])
    sh([n, "train", "--data", str(data), "--out", str(w / "model.nfcm")], env)
    shutil.rmtree(data / "train")
    sh([n, "encode", "-m", str(w / "model.nfcm"), "-b", str(args.budget), "-i", str(data / "gallery_feature"),
        "-o", str(w / "g.nfcc")], env)
    sh([n, "pack", "-i", str(data / "query_feature"), "-o", str(w / "q.npy")], env)
    shutil.rmtree(data / "gallery_feature")
    shutil.rmtree(data / "query_feature")
    sh([n, "decode", "-m", str(w / "model.nfcm"), "-i", str(w / "g.nfcc"), "-o", str(w / "rec.npy")], env)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--naicfc", required=True)
    ap.add_argument("--work", required=True, type=Path)
    ap.add_argument("--queries", type=int, default=5000)
    ap.add_argument("--gallery", type=int, default=30000)
    ap.add_argument("--train", type=int, default=10000)
    ap.add_argument("--budget", type=int, default=64)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--top", type=int, default=100)
    ap.add_argument("--no-faiss", action="store_true")
    args = ap.parse_args()
    n, w = args.naicfc, args.work
    w.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, RAYON_NUM_THREADS=str(args.threads))
    prepare(n, w, args, env)
    data, model, q, rec, codes, index = (w / "data", w / "model.nfcm", w / "q.npy", w / "rec.npy",
                                         w / "g.nfcc", w / "g.nfci")
    t0 = time.perf_counter()
    sh([n, "index", "--gallery", str(codes), "-m", str(model), "-o", str(index)], env)
    build_s = time.perf_counter() - t0

    rows = []
    top = ["--top", str(args.top)]
    exact = None
    for label, gallery, extra in [
        ("exact float search, decoded gallery", rec, []),
        ("coefficient domain, code array", codes, ["-m", str(model)]),
        ("int8 index (naicfc index)", index, ["-m", str(model)]),
    ]:
        out = w / f"r-{gallery.suffix[1:]}.json"
        log, cpu = sh([n, "reid", "--query", str(q), "--gallery", str(gallery), "-o", str(out), *top, *extra], env)
        if exact is None:
            exact = json.loads(out.read_text())
        rows.append((label, search_seconds(log), cpu, score(n, out, data), recall(out, exact)))
    exact_acc = rows[0][3]

    gv = np.load(rec).astype(np.float32)
    if not args.no_faiss:
        import faiss

        faiss.omp_set_num_threads(args.threads)
        gnames, qnames = names(rec), names(q)
        qv = np.load(q).astype(np.float32)
        faiss.normalize_L2(gv)
        faiss.normalize_L2(qv)
        d = gv.shape[1]
        nlist = int(4 * np.sqrt(len(gv)))
        for label, make in [
            ("FAISS IVF-Flat", lambda quant: faiss.IndexIVFFlat(quant, d, nlist, faiss.METRIC_INNER_PRODUCT)),
            ("FAISS IVF-PQ (64 B)",
             lambda quant: faiss.IndexIVFPQ(quant, d, nlist, 64, 8, faiss.METRIC_INNER_PRODUCT)),
        ]:
            quant = faiss.IndexFlatIP(d)
            ix = make(quant)
            ix.train(gv[:: max(1, len(gv) // (40 * nlist))])
            ix.add(gv)
            chosen = None
            for nprobe in (1, 2, 4, 8, 16, 32, 64, 128, 256):
                ix.nprobe = min(nprobe, nlist)
                before = resource.getrusage(resource.RUSAGE_SELF)
                t0 = time.perf_counter()
                _, idx = ix.search(qv, args.top)
                secs = time.perf_counter() - t0
                after = resource.getrusage(resource.RUSAGE_SELF)
                cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
                if (idx < 0).any():
                    # Too few probes to find `top` candidates for some query: not comparable.
                    continue
                out = w / "r-faiss.json"
                write_results(out, idx, qnames, gnames)
                acc = score(n, out, data)
                chosen = (f"{label}, nlist {nlist}, nprobe {ix.nprobe}", secs, cpu, acc, recall(out, exact))
                if acc >= exact_acc - 1.0 or ix.nprobe == nlist:
                    break
            rows.append(chosen)

    exact_s, exact_cpu = rows[0][1], rows[0][2]
    print(f"{args.queries} queries x {len(gv)} gallery, {args.budget}-byte codes, {args.threads} threads; "
          f"index build {build_s:.1f} s\n")
    print("| search | search s | speed-up | CPU s (whole run) | speed-up | ACC_reid (%) | recall@100 vs exact (%) |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for label, secs, cpu, acc, rec_ in rows:
        print(f"| {label} | {secs:.3f} | {exact_s / secs:.1f}x | {cpu:.2f} | {exact_cpu / cpu:.1f}x | {acc:.2f} | {rec_:.1f} |")
    (w / "index-bench.json").write_text(json.dumps(
        {"queries": args.queries, "gallery": len(gv), "budget": args.budget, "threads": args.threads,
         "index_build_s": build_s,
         "rows": [dict(zip(("search", "search_s", "cpu_s", "acc_reid", "recall_at_100"), r)) for r in rows]},
        indent=1))


if __name__ == "__main__":
    main()
