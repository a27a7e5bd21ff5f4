"""`naicfc.search` reads a float32 gallery in place and converts any other a block at a time."""

import subprocess
import sys

import numpy as np
import pytest

import naicfc

ROWS, DIM = 60_000, 1024  # 246 MB as float32
ANCHORS = [0, 7, 12_345, 59_999]  # the only non-zero rows

# The child caps its private memory (RLIMIT_DATA: heap and anonymous maps, not the read-only
# file map of the gallery) at what it uses after the imports plus 160 MB: room for the
# search's working memory (the GEMM's per-thread workspace alone is 96 MB, a block of scores)
# and a converted 16 MB block, not for a float32 copy of the whole gallery, whose allocation
# would then fail (MemoryError, or an abort in Rust).
_CHILD = """
import resource
import sys
import numpy as np
import naicfc

path, dtype, rows, dim = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
anchors = [int(a) for a in sys.argv[5].split(",")]
g = np.memmap(path, dtype=dtype, mode="r", shape=(rows, dim))
q = np.asarray(g[anchors], dtype=np.float32)
with open("/proc/self/status") as f:
    used = next(int(l.split()[1]) * 1024 for l in f if l.startswith("VmData:"))
limit = used + (160 << 20)
resource.setrlimit(resource.RLIMIT_DATA, (limit, limit))
scores, idx = naicfc.search(q, g, k=3, threads=1)
assert idx[:, 0].tolist() == anchors, idx
# Every other row is zero: similarity 0, ranked by row number after the matches.
print("ok", scores[:, 0].round(5).tolist(), flush=True)
"""


@pytest.mark.parametrize("dtype", ["float32", "float16"])
def test_search_does_not_copy_a_memory_mapped_gallery(tmp_path, dtype):
    path = tmp_path / "g.bin"
    # A sparse file: only the anchor rows take disk space.
    with open(path, "wb") as f:
        f.truncate(ROWS * DIM * np.dtype(dtype).itemsize)
    g = np.memmap(path, dtype=dtype, mode="r+", shape=(ROWS, DIM))
    rng = np.random.default_rng(3)
    g[ANCHORS] = rng.normal(size=(len(ANCHORS), DIM)).astype(dtype)
    g.flush()
    del g
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, str(path), dtype, str(ROWS), str(DIM),
         ",".join(map(str, ANCHORS))],
        capture_output=True, text=True, timeout=600)
    assert done.returncode == 0 and done.stdout.startswith("ok"), done.stdout + done.stderr
    assert done.stdout.strip() == "ok [1.0, 1.0, 1.0, 1.0]"


def test_the_memory_cap_catches_a_copy(tmp_path):
    # The cap above is tight enough to fail a search that copies the gallery: here the copy
    # is made before the call, and its allocation fails under the cap.
    path = tmp_path / "g.bin"
    with open(path, "wb") as f:
        f.truncate(ROWS * DIM * 4)
    child = _CHILD.replace("naicfc.search(q, g,", "naicfc.search(q, np.array(g),")
    done = subprocess.run(
        [sys.executable, "-c", child, str(path), "float32", str(ROWS), str(DIM), "0"],
        capture_output=True, text=True, timeout=600)
    assert done.returncode != 0 and "MemoryError" in done.stderr, done.stdout + done.stderr


def test_galleries_of_every_float_dtype_and_order_rank_alike(rng):
    q = rng.normal(size=(5, 24)).astype(np.float32)
    g = rng.normal(size=(300, 24)).astype(np.float32)
    want = naicfc.search(q, g, k=10)
    wide = np.zeros((600, 48), np.float32)
    wide[::2, ::2] = g
    for variant in (np.asfortranarray(g), wide[::2, ::2], g.astype(">f4")):
        got = naicfc.search(q, variant, k=10)
        np.testing.assert_array_equal(got[1], want[1])
        np.testing.assert_array_equal(got[0], want[0])
    # float64 and float16 values are rounded to float32 first, as a float32 gallery would be.
    for dtype in (np.float64, np.float16):
        h = g.astype(dtype)
        got = naicfc.search(q, h, k=10)
        np.testing.assert_array_equal(got[1], naicfc.search(q, h.astype(np.float32), k=10)[1])


def test_a_gallery_larger_than_one_block_ranks_as_one_pass(rng):
    # 4 M values per block: 3,000 rows of 2048 values span two blocks.
    q = rng.normal(size=(3, 2048)).astype(np.float32)
    g = rng.normal(size=(3000, 2048)).astype(np.float32)
    g[2500] = q[1]
    scores, idx = naicfc.search(q, g, k=5)
    assert idx[1, 0] == 2500
    qn = q / np.linalg.norm(q, axis=1, keepdims=True)
    gn = g / np.linalg.norm(g, axis=1, keepdims=True)
    want = np.argsort(-(qn @ gn.T), axis=1, kind="stable")[:, :5]
    np.testing.assert_array_equal(idx, want)
    g[2900, 5] = np.nan
    with pytest.raises(naicfc.NonFiniteError, match="g row 2900") as e:
        naicfc.search(q, g, k=5)
    assert e.value.row == 2900
