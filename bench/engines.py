#!/usr/bin/env python3
"""Milvus (Lite) and Spark (local mode) on the default kind-A set, from one run.

    python bench/engines.py [--data DIR] [--budget 64] [--out target/engines]

Needs the package and the engines in one environment (`pip install ./codec-py pymilvus
milvus-lite pyspark pyarrow`). Without `--data`, `naicfc.synth` writes the default kind-A set
(20,000 train, 2,000 query, 20,000 gallery, 2048-d) under `--out`. Prints a Markdown table:

- Milvus: ingest rate of the original gallery as search vectors (`naicfc.milvus.ingest`),
  query latency (one query per request, and 1,000 per request), and ACC_reid of Milvus's top
  100 against naicfc's exact search (cosine of the reconstructed queries with the gallery),
  for a FLAT and an IVF_FLAT index;
- Spark: encode and decode rates of the gallery as a Parquet table (`naicfc.spark`), local[2].
"""

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

import naicfc


def milvus(args, model, q, g, rows):
    from pymilvus import MilvusClient

    import naicfc.milvus as nm

    client = MilvusClient(str(args.out / "milvus.db"))
    qcodes = model.encode(q.features, args.budget)
    rq = model.decode(qcodes)
    _, exact = naicfc.search(rq, g.features, k=100)
    acc_exact = naicfc.score(exact, q.ids, g.ids)["acc_reid"]
    index = {n: i for i, n in enumerate(g.names)}
    for kind, params, search in [("FLAT", None, None),
                                 ("IVF_FLAT", {"nlist": 128}, {"nprobe": 16})]:
        nm.create_collection(client, "bench", model, index=kind, params=params, drop=True)
        t = time.perf_counter()
        nm.ingest(client, "bench", model, g.names, g.features)
        client.flush("bench")
        client.load_collection("bench")
        ingest = time.perf_counter() - t
        t = time.perf_counter()
        names, _ = nm.search(client, "bench", model, qcodes, k=100, params=search)
        batched = (time.perf_counter() - t) / len(qcodes)
        t = time.perf_counter()
        for i in range(100):
            nm.search(client, "bench", model, qcodes[i:i + 1], k=100, params=search)
        single = (time.perf_counter() - t) / 100
        idx = np.array([[index[n] for n in r] for r in names])
        acc = naicfc.score(idx, q.ids, g.ids)["acc_reid"]
        rows.append(f"| Milvus Lite {kind} {params or ''} {search or ''} | "
                    f"{len(g.names) / ingest:,.0f} rows/s | {single * 1e3:.1f} ms | "
                    f"{batched * 1e3:.2f} ms | {acc:.4f} | {acc_exact:.4f} |")
    client.close()


def spark(args, model, g, rows):
    import pyarrow as pa
    import pyarrow.parquet as pq
    from pyspark.sql import SparkSession

    import naicfc.spark as ns

    x = g.features
    table = args.out / "gallery.parquet"
    offsets = pa.array(np.arange(len(x) + 1, dtype=np.int32) * x.shape[1])
    pq.write_table(pa.table({"name": g.names,
                             "feature": pa.ListArray.from_arrays(offsets, pa.array(x.ravel()))}),
                   table)
    os.environ["PYSPARK_PYTHON"] = sys.executable
    s = (SparkSession.builder.master("local[2]").config("spark.ui.enabled", "false")
         .getOrCreate())
    try:
        df = s.read.parquet(str(table))
        t = time.perf_counter()
        codes = args.out / "codes.parquet"
        ns.encode_table(df, model, args.budget).write.mode("overwrite").parquet(str(codes))
        enc = time.perf_counter() - t
        t = time.perf_counter()
        ns.decode_table(s.read.parquet(str(codes)), model).write.mode("overwrite").parquet(
            str(args.out / "back.parquet"))
        dec = time.perf_counter() - t
    finally:
        s.stop()
    rows.append(f"| Spark local[2], Parquet to Parquet | encode {len(x) / enc:,.0f} rows/s | "
                f"decode {len(x) / dec:,.0f} rows/s | | | |")


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data", type=Path)
    p.add_argument("--budget", type=int, default=64)
    p.add_argument("--out", type=Path, default=Path("target/engines"))
    args = p.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    data = args.data or args.out / "synth"
    if not (data / "query_feature").exists():
        naicfc.synth(data)
    tr, q, g = (naicfc.read_split(data, s) for s in ("train", "query", "gallery"))
    model_path = args.out / "model.nfcm"
    if model_path.exists():
        model = naicfc.Model.load(model_path)
    else:
        model = naicfc.Model.train(tr.features, tr.ids)
        model.save(model_path)
    rows = [f"{len(q.names):,} queries, {len(g.names):,} gallery, {g.features.shape[1]}-d, "
            f"queries coded at {args.budget} B, {os.cpu_count()} cores", "",
            "| engine | ingest / encode | latency, 1 query per request | per query, 1,000 "
            "per request | ACC_reid (engine) | ACC_reid (naicfc exact) |",
            "|---|---|---|---|---|---|"]
    milvus(args, model, q, g, rows)
    spark(args, model, g, rows)
    print("\n".join(rows))


if __name__ == "__main__":
    main()
