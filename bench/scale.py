#!/usr/bin/env python3
"""Competition scale on one machine: naicfc against FAISS, in one run.

Prints, for a dataset of the competition's size (259,450 train / 20,000 query / 428,794
gallery, 2048-d; `naicfc synth --scale competition` makes one): file read throughput, training
time and memory, one-thread encode/decode throughput per budget, exact re-ID time and memory,
coefficient-domain re-ID at 64 bytes, and FAISS IndexFlatIP (on all 2048 dims and on the
non-zero dims only) and IVF-PQ on the same vectors with the same number of threads, with the
ratios between them. Noisy machines: compare the ratios of one run, not absolute times.

    bench/scale.sh --data /path/to/competition-set [--threads 2]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def run(cmd: list[str], what: str) -> tuple[float, float, str, str]:
    """Run a command under GNU time; return (wall seconds, peak RSS in GiB, stdout, stderr)."""
    timed = ["/usr/bin/time", "-v", *cmd]
    t0 = time.perf_counter()
    proc = subprocess.run(timed, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        sys.exit(f"{what} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", proc.stderr)
    rss = int(m.group(1)) / 2**20 if m else float("nan")
    return wall, rss, proc.stdout, proc.stderr


def read_dir(d: Path, names: list[str]) -> np.ndarray:
    """Rows of `<name>.dat` in the given order, as a float32 matrix."""
    first = np.fromfile(d / f"{names[0]}.dat", dtype="<f4")
    out = np.empty((len(names), first.size), dtype=np.float32)
    for i, n in enumerate(names):
        out[i] = np.fromfile(d / f"{n}.dat", dtype="<f4")
    return out


def search_seconds(log: str) -> float:
    """The search time `naicfc reid` reports (reading and writing excluded)."""
    m = re.search(r"\(search ([0-9.]+) s\)", log)
    return float(m.group(1)) if m else float("nan")


def stems(list_path: Path) -> list[str]:
    return [line.split()[0].rsplit(".", 1)[0] for line in list_path.read_text().splitlines() if line.strip()]


def score(naicfc: str, results: Path, data: Path) -> float:
    out = subprocess.run(
        [naicfc, "score", "--results", str(results), "--query-list", str(data / "query_list.txt"),
         "--gallery-list", str(data / "gallery_list.txt"), "--json"],
        capture_output=True, text=True, check=True,
    ).stdout
    return json.loads(out)["acc_reid"]


def faiss_times(data: Path, threads: int, k: int) -> dict[str, float]:
    import faiss

    faiss.omp_set_num_threads(threads)
    qn, gn = stems(data / "query_list.txt"), stems(data / "gallery_list.txt")
    t0 = time.perf_counter()
    q = read_dir(data / "query_feature", qn)
    g = read_dir(data / "gallery_feature", gn)
    load = time.perf_counter() - t0
    faiss.normalize_L2(q)
    faiss.normalize_L2(g)
    res: dict[str, float] = {"faiss_load_s": load}

    index = faiss.IndexFlatIP(g.shape[1])
    index.add(g)
    t0 = time.perf_counter()
    index.search(q, k)
    res["faiss_flat_2048_s"] = time.perf_counter() - t0
    del index

    active = np.flatnonzero(np.any(g != 0, axis=0) & np.any(q != 0, axis=0))
    gc, qc = np.ascontiguousarray(g[:, active]), np.ascontiguousarray(q[:, active])
    index = faiss.IndexFlatIP(len(active))
    index.add(gc)
    t0 = time.perf_counter()
    index.search(qc, k)
    res["faiss_flat_active_s"] = time.perf_counter() - t0
    res["active_dims"] = float(len(active))
    del index

    # IVF-PQ for reference (approximate): 4096 lists, 64 bytes per vector, 32 probes, on the
    # first multiple of 64 of the non-zero dims (PQ needs the dimension divisible by 64).
    dims = max(64, len(active) // 64 * 64)
    sub_g, sub_q = np.ascontiguousarray(gc[:, :dims]), np.ascontiguousarray(qc[:, :dims])
    quant = faiss.IndexFlatIP(dims)
    index = faiss.IndexIVFPQ(quant, dims, 4096, 64, 8, faiss.METRIC_INNER_PRODUCT)
    t0 = time.perf_counter()
    index.train(sub_g[:: max(1, len(sub_g) // 100_000)])
    index.add(sub_g)
    res["faiss_ivfpq_build_s"] = time.perf_counter() - t0
    index.nprobe = 32
    t0 = time.perf_counter()
    index.search(sub_q, k)
    res["faiss_ivfpq_search_s"] = time.perf_counter() - t0
    return res


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, required=True, help="dataset in the competition layout")
    ap.add_argument("--generate", action="store_true", help="make it with naicfc synth --scale competition if missing")
    ap.add_argument("--naicfc", default="target/release/naicfc")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--budgets", default="16,32,64,128,256")
    ap.add_argument("--workdir", type=Path, default=None)
    ap.add_argument("--out", type=Path, default=None, help="write every figure as JSON here")
    args = ap.parse_args()
    nf, data = args.naicfc, args.data
    if not (data / "gallery_feature").is_dir():
        if not args.generate:
            sys.exit(f"{data}: no dataset (use --generate to make one)")
        run([nf, "synth", "--out", str(data), "--scale", "competition"], "synth")
    work = args.workdir or Path(tempfile.mkdtemp(prefix="naicfc-scale-"))
    work.mkdir(parents=True, exist_ok=True)
    os.environ["RAYON_NUM_THREADS"] = str(args.threads)
    fig: dict[str, float] = {}

    # Reading: once to warm the page cache, then measured.
    run([nf, "bench", "--features", str(data / "gallery_feature")], "read (warm-up)")
    _, _, out, _ = run([nf, "bench", "--features", str(data / "gallery_feature"), "--json"], "read")
    fig["read_files_per_s"] = json.loads(out)["read"]["files_per_sec"]

    model = work / "model.nfcm"
    fig["train_s"], fig["train_rss_gib"], _, _ = run([nf, "train", "--data", str(data), "--out", str(model)], "train")

    _, _, out, _ = run([nf, "bench", "--model", str(model), "--features", str(data / "query_feature"),
                     "--budgets", args.budgets, "--json"], "coding throughput")
    coding = json.loads(out)["codec"]

    lists = ["--query-list", str(data / "query_list.txt"), "--gallery-list", str(data / "gallery_list.txt")]
    exact = work / "exact.json"
    fig["reid_exact_s"], fig["reid_exact_rss_gib"], _, log = run(
        [nf, "reid", "--query", str(data / "query_feature"), "--gallery", str(data / "gallery_feature"),
         "--out", str(exact), *lists], "exact reid")
    fig["reid_exact_search_s"] = search_seconds(log)
    fig["acc_exact"] = score(nf, exact, data)

    # Reconstructed queries at 64 B against the original gallery, the slow way and in the
    # coefficient domain.
    codes, rec = work / "codes64", work / "rec64"
    run([nf, "encode", "--model", str(model), "--budget", "64", "--in", str(data / "query_feature"), "--out", str(codes)], "encode")
    run([nf, "decode", "--model", str(model), "--in", str(codes), "--out", str(rec)], "decode")
    recon = work / "rec64.json"
    fig["reid_reconstructed64_s"], _, _, _ = run(
        [nf, "reid", "--query", str(rec), "--gallery", str(data / "gallery_feature"), "--out", str(recon), *lists],
        "reid on reconstructed queries")
    fig["acc_reconstructed64"] = score(nf, recon, data)
    coded = work / "coded64.json"
    fig["reid_coded64_s"], fig["reid_coded64_rss_gib"], _, log = run(
        [nf, "reid", "--query", str(data / "query_feature"), "--gallery", str(data / "gallery_feature"),
         "--out", str(coded), "--model", str(model), "--budget", "64", *lists], "coefficient-domain reid")
    fig["reid_coded64_search_s"] = search_seconds(log)
    fig["acc_coded64"] = score(nf, coded, data)

    fig.update(faiss_times(data, args.threads, 100))

    print(f"\nnaicfc at competition scale ({data}), {args.threads} threads")
    print(f"read gallery (.dat, warm cache)     {fig['read_files_per_s']:>10.0f} files/s")
    print(f"train                               {fig['train_s']:>10.1f} s   peak {fig['train_rss_gib']:.2f} GiB")
    print("one-thread coding (vectors/s):     " + "  ".join(
        f"{c['budget']} B: {c['encode_per_sec']:.0f} enc / {c['decode_per_sec']:.0f} dec" for c in coding))
    print(f"exact reid (naicfc, files->json)    {fig['reid_exact_s']:>10.1f} s   peak {fig['reid_exact_rss_gib']:.2f} GiB   ACC {fig['acc_exact']:.4f}")
    print(f"  of which reading + search         {fig['reid_exact_search_s']:>10.1f} s")
    print(f"FAISS IndexFlatIP, 2048 dims        {fig['faiss_flat_2048_s']:>10.1f} s   (search only; loading took {fig['faiss_load_s']:.0f} s)")
    print(f"FAISS IndexFlatIP, {int(fig['active_dims'])} non-zero dims {fig['faiss_flat_active_s']:>9.1f} s")
    print(f"FAISS IVF-PQ (64 B, nprobe 32)      {fig['faiss_ivfpq_search_s']:>10.1f} s   (build {fig['faiss_ivfpq_build_s']:.0f} s; approximate)")
    print(f"reid on 64 B reconstructions        {fig['reid_reconstructed64_s']:>10.1f} s   ACC {fig['acc_reconstructed64']:.4f}")
    print(f"coefficient-domain reid at 64 B     {fig['reid_coded64_s']:>10.1f} s   peak {fig['reid_coded64_rss_gib']:.2f} GiB   ACC {fig['acc_coded64']:.4f}")
    print(f"  of which coding + search          {fig['reid_coded64_search_s']:>10.1f} s")
    print("ratios:")
    print(f"  naicfc exact search / FAISS flat 2048     {fig['reid_exact_search_s'] / fig['faiss_flat_2048_s']:.2f}")
    print(f"  naicfc exact search / FAISS flat active   {fig['reid_exact_search_s'] / fig['faiss_flat_active_s']:.2f}")
    print(f"  FAISS flat 2048 / coded 64 B search       {fig['faiss_flat_2048_s'] / fig['reid_coded64_search_s']:.1f}x speed-up")
    print(f"  naicfc exact / coded 64 B search          {fig['reid_exact_search_s'] / fig['reid_coded64_search_s']:.1f}x speed-up")
    print(f"  ACC coded - reconstructed (64 B)  {100 * (fig['acc_coded64'] - fig['acc_reconstructed64']):+.2f} points")
    if args.out:
        args.out.write_text(json.dumps({"figures": fig, "coding": coding}, indent=2))


if __name__ == "__main__":
    main()
