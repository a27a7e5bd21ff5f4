"""Feature tables encoded and decoded by PySpark in local mode give the command line's bytes.

One Spark session for the module: starting the JVM takes seconds."""

import os
import sys

import numpy as np
import pytest

import naicfc
from conftest import run

# scripts/test-python.sh installs the engines and sets NAICFC_REQUIRE_ENGINES: there a missing
# engine fails the run instead of skipping its tests.
if os.environ.get("NAICFC_REQUIRE_ENGINES"):
    import pyarrow as pa
    import pyarrow.parquet as pq
    import pyspark  # noqa: F401
else:
    pytest.importorskip("pyspark", reason="pip install pyspark pyarrow")
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
import naicfc.spark as ns  # noqa: E402

BUDGET = 64


@pytest.fixture(scope="module")
def spark():
    from pyspark.sql import SparkSession

    # The workers run this interpreter, where naicfc is installed (local mode reads the
    # environment, not the spark.pyspark.python setting).
    os.environ["PYSPARK_PYTHON"] = sys.executable
    s = (SparkSession.builder.master("local[2]").appName("naicfc-test")
         .config("spark.ui.enabled", "false")
         .config("spark.sql.shuffle.partitions", "2")
         # Small Arrow batches: a partition is coded in several batches.
         .config("spark.sql.execution.arrow.maxRecordsPerBatch", "16")
         .getOrCreate())
    yield s
    s.stop()


@pytest.fixture(scope="module")
def table(query, tmp_path_factory):
    """The query features as a Parquet table: name, feature (array<float>)."""
    path = tmp_path_factory.mktemp("spark") / "features.parquet"
    x = query.features
    feature = pa.ListArray.from_arrays(pa.array(np.arange(len(x) + 1, dtype=np.int32) * x.shape[1]),
                                       pa.array(x.reshape(-1)))
    pq.write_table(pa.table({"name": query.names, "feature": feature}), path)
    return path


@pytest.fixture(scope="module")
def cli_codes(cli, model, query, tmp_path_factory):
    """`naicfc encode`'s codes of the query features, by name."""
    tmp = tmp_path_factory.mktemp("cli")
    model.save(tmp / "m.nfcm")
    np.save(tmp / "q.npy", query.features)
    run(cli, "encode", "--model", tmp / "m.nfcm", "--in", tmp / "q.npy", "--budget", BUDGET,
        "--out", tmp / "codes")
    rows, codes = naicfc.read_codes(tmp / "codes")
    return {query.names[int(r)]: c for r, c in zip(rows, codes)}


def test_codes_are_the_cli_bytes_and_decode_back(spark, model, table, cli_codes):
    df = spark.read.parquet(str(table)).repartition(3)
    coded = ns.encode_table(df, model, BUDGET)
    assert coded.columns == ["name", "code"]
    got = {r["name"]: bytes(r["code"]) for r in coded.collect()}
    assert got == cli_codes
    back = {r["name"]: np.array(r["feature"], np.float32)
            for r in ns.decode_table(coded, model).collect()}
    names = sorted(cli_codes)
    want = model.decode([cli_codes[n] for n in names])
    assert np.stack([back[n] for n in names]).tobytes() == want.tobytes()


def test_job_writes_tables_and_bad_rows_fail_it(spark, model, table, cli_codes, tmp_path):
    model.save(tmp_path / "m.nfcm")
    out = tmp_path / "codes.parquet"
    ns.main(["encode", "--model", str(tmp_path / "m.nfcm"), "--budget", str(BUDGET),
             "--in", str(table), "--out", str(out)])
    t = pq.read_table(out)
    assert dict(zip(t["name"].to_pylist(), t["code"].to_pylist())) == cli_codes
    # The session is the test's: the job leaves a session it did not start running.
    assert not spark.sparkContext._jsc.sc().isStopped()
    with pytest.raises(Exception, match="errorifexists|already exists"):
        ns.main(["decode", "--model", str(tmp_path / "m.nfcm"), "--in", str(out),
                 "--out", str(out)])
    bad = spark.createDataFrame([("a", [1.0, 2.0])], "name string, feature array<float>")
    with pytest.raises(Exception, match="2 values, the model expects"):
        ns.encode_table(bad, model, BUDGET).collect()
