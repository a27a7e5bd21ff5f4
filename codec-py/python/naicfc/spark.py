"""Encode and decode feature tables with PySpark, the package running inside ``mapInArrow``.

The model is broadcast once; each Python worker parses it on first use and keeps it, so a
task costs only the coding itself (which releases the GIL and uses the worker's cores). The
codes are the bytes of ``naicfc encode`` (a BinaryType column, every code exactly the
budget long); decoding gives ``array<float>`` rows. Every column other than the one coded
(or decoded) is passed through unchanged::

    from pyspark.sql import SparkSession
    import naicfc, naicfc.spark as ns

    spark = SparkSession.builder.getOrCreate()
    model = naicfc.Model.load("model.nfcm")
    df = spark.read.parquet("features.parquet")              # name, feature: array<float>
    ns.encode_table(df, model, 64).write.parquet("codes.parquet")   # name, code: binary

As a job (local mode, or a cluster through ``spark-submit``; see docs/scale-out.md, "Running the Spark job")::

    python -m naicfc.spark encode --model model.nfcm --budget 64 --in features.parquet \\
        --out codes.parquet
    python -m naicfc.spark decode --model model.nfcm --in codes.parquet --out back.parquet

A bad row (a NaN, a vector of the wrong length, a damaged or missing code) fails the job with
an error naming the row's position in its batch: nothing is written for it silently.
"""

import argparse
import sys
from typing import Any, Dict, Iterator, Optional

import numpy as np

# Absolute imports: spark-submit runs this file as a script, outside the package.
from naicfc import DimensionError, InputError, Model

__all__ = ["encode_table", "decode_table", "main"]

# Parsed models of this worker process, by fingerprint: a broadcast is read once per
# process, not once per batch.
_MODELS: Dict[str, Model] = {}


def _model(broadcast: Any, fingerprint: str) -> Model:
    model = _MODELS.get(fingerprint)
    if model is None:
        model = _MODELS[fingerprint] = Model.from_bytes(broadcast.value)
    return model


def _broadcast(df: Any, model: Model) -> Any:
    return df.sparkSession.sparkContext.broadcast(model.to_bytes())


def _features(column: Any, dim: int) -> np.ndarray:
    """A list<float> (or list<double>) Arrow column as a float (N, dim) array."""
    import pyarrow.compute as pc

    if column.null_count:
        row = int(np.flatnonzero(column.is_null().to_numpy(zero_copy_only=False))[0])
        raise InputError(f"batch row {row}: no feature vector (null)", row)
    lengths = pc.list_value_length(column).to_numpy(zero_copy_only=False)
    wrong = np.flatnonzero(lengths != dim)
    if wrong.size:
        row = int(wrong[0])
        raise DimensionError(
            f"batch row {row}: {lengths[row]} values, the model expects {dim}", row)
    values = pc.list_flatten(column)
    if values.null_count:
        row = int(np.flatnonzero(values.is_null().to_numpy(zero_copy_only=False))[0]) // dim
        raise InputError(f"batch row {row}: a null value in the feature vector", row)
    return values.to_numpy(zero_copy_only=False).reshape(-1, dim)


def _codes(column: Any) -> np.ndarray:
    """A binary Arrow column of codes of one length as uint8 (N, B)."""
    import pyarrow as pa

    if column.null_count:
        row = int(np.flatnonzero(column.is_null().to_numpy(zero_copy_only=False))[0])
        raise InputError(f"batch row {row}: no code (null)", row)
    n = len(column)
    if n == 0:
        return np.zeros((0, 1), np.uint8)
    offset_type = np.int64 if pa.types.is_large_binary(column.type) else np.int32
    _, offsets, data = column.buffers()
    offsets = np.frombuffer(offsets, offset_type)[column.offset:column.offset + n + 1]
    lengths = np.diff(offsets)
    wrong = np.flatnonzero(lengths != lengths[0])
    if wrong.size:
        row = int(wrong[0])
        raise InputError(f"batch row {row}: a code of {lengths[row]} bytes among codes of "
                         f"{lengths[0]} (codes of one budget only)", row)
    raw = np.frombuffer(data, np.uint8)[offsets[0]:offsets[-1]]
    return raw.reshape(n, int(lengths[0]))


def _binary(codes: np.ndarray) -> Any:
    """uint8 (N, B) as an Arrow binary column, without a copy per row."""
    import pyarrow as pa

    n, width = codes.shape
    offsets = np.arange(n + 1, dtype=np.int32) * width
    return pa.Array.from_buffers(pa.binary(), n, [None, pa.py_buffer(offsets),
                                                  pa.py_buffer(np.ascontiguousarray(codes))])


def _list(x: np.ndarray) -> Any:
    """float32 (N, D) as an Arrow list<float> column."""
    import pyarrow as pa

    n, dim = x.shape
    offsets = pa.array(np.arange(n + 1, dtype=np.int32) * dim)
    return pa.ListArray.from_arrays(offsets, pa.array(x.reshape(-1)))


def _replace(batch: Any, old: str, new: str, values: Any) -> Any:
    """`batch` without column `old`, with `values` appended as column `new`."""
    import pyarrow as pa

    keep = [i for i, name in enumerate(batch.schema.names) if name != old]
    arrays = [batch.column(i) for i in keep] + [values]
    names = [batch.schema.names[i] for i in keep] + [new]
    return pa.RecordBatch.from_arrays(arrays, names=names)


def _schema(df: Any, old: str, new: str, kind: Any) -> Any:
    from pyspark.sql.types import StructField, StructType

    fields = [f for f in df.schema.fields if f.name != old]
    return StructType(fields + [StructField(new, kind, nullable=False)])


def encode_table(df: Any, model: Model, budget: int, *, features: str = "feature",
                 codes: str = "code", threads: Optional[int] = None) -> Any:
    """`df` with its `features` column (array<float> or array<double>, `model.dim` values)
    replaced by `codes`: BinaryType, each row the `budget`-byte code of `naicfc encode`."""
    from pyspark.sql.types import BinaryType

    if features not in df.columns:
        raise InputError(f"no column {features!r} (columns: {', '.join(df.columns)})")
    bc, fingerprint = _broadcast(df, model), model.fingerprint

    def run(batches: Iterator[Any]) -> Iterator[Any]:
        m = _model(bc, fingerprint)
        for batch in batches:
            x = _features(batch.column(features), m.dim)
            out = m.encode(x, budget, threads=threads) if len(x) else np.zeros((0, budget),
                                                                                  np.uint8)
            yield _replace(batch, features, codes, _binary(out))

    return df.mapInArrow(run, _schema(df, features, codes, BinaryType()))


def decode_table(df: Any, model: Model, *, codes: str = "code", features: str = "feature",
                 threads: Optional[int] = None) -> Any:
    """`df` with its `codes` column (binary codes of one budget, made with `model`) replaced
    by `features`: array<float>, the reconstructed vectors."""
    from pyspark.sql.types import ArrayType, FloatType

    if codes not in df.columns:
        raise InputError(f"no column {codes!r} (columns: {', '.join(df.columns)})")
    bc, fingerprint = _broadcast(df, model), model.fingerprint

    def run(batches: Iterator[Any]) -> Iterator[Any]:
        m = _model(bc, fingerprint)
        for batch in batches:
            c = _codes(batch.column(codes))
            x = m.decode(c, threads=threads) if len(c) else np.zeros((0, m.dim), np.float32)
            yield _replace(batch, codes, features, _list(x))

    kind = ArrayType(FloatType(), containsNull=False)
    return df.mapInArrow(run, _schema(df, codes, features, kind))


def main(argv: Optional[list] = None) -> int:
    """`python -m naicfc.spark {encode,decode} ...`: one Parquet table to another."""
    p = argparse.ArgumentParser(prog="python -m naicfc.spark", description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="command", required=True)
    for name in ("encode", "decode"):
        s = sub.add_parser(name)
        s.add_argument("--model", required=True, help="model file (naicfc train)")
        s.add_argument("--in", dest="src", required=True, help="input Parquet table")
        s.add_argument("--out", required=True, help="output Parquet table (must not exist)")
        s.add_argument("--features", default="feature", help="feature column")
        s.add_argument("--codes", default="code", help="code column")
        if name == "encode":
            s.add_argument("--budget", type=int, required=True, help="bytes per code")
    args = p.parse_args(argv)

    from pyspark.sql import SparkSession

    # Under spark-submit (or in a test) a session may be running: use it, and leave it so.
    ours = SparkSession.getActiveSession() is None
    spark = SparkSession.builder.appName(f"naicfc {args.command}").getOrCreate()
    try:
        model = Model.load(args.model)
        df = spark.read.parquet(args.src)
        if args.command == "encode":
            out = encode_table(df, model, args.budget, features=args.features, codes=args.codes)
        else:
            out = decode_table(df, model, codes=args.codes, features=args.features)
        # "errorifexists": an earlier result is never overwritten by accident.
        out.write.mode("errorifexists").parquet(args.out)
    finally:
        if ours:
            spark.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
