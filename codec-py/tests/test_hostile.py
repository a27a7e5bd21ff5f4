"""Hostile inputs: each a clear exception of its kind, never a crash or a partial result."""

import numpy as np
import pytest

import naicfc


def test_nan_and_inf_name_the_row(model, query):
    x = query.features[:10].copy()
    for bad in (np.nan, np.inf, -np.inf):
        y = x.copy()
        y[7, 100] = bad
        with pytest.raises(naicfc.NonFiniteError, match="row 7: value at index 100 ") as e:
            model.encode(y, 32)
        assert e.value.row == 7 and e.value.kind == "non_finite"
        assert isinstance(e.value, ValueError) and isinstance(e.value, naicfc.Error)


def test_wrong_dimensions(model):
    with pytest.raises(naicfc.DimensionError, match="2047 values per vector"):
        model.encode(np.zeros((3, model.dim - 1), np.float32), 32)
    with pytest.raises(naicfc.DimensionError):
        model.encode(np.zeros((2, 3, model.dim), np.float32), 32)
    with pytest.raises(naicfc.DimensionError):
        model.encode(np.float32(1.0), 32)
    with pytest.raises(naicfc.DimensionError):
        naicfc.search(np.zeros((2, 4), np.float32), np.zeros((5, 3), np.float32))


@pytest.mark.parametrize("x", [
    np.zeros((2, 2048), np.int32),
    np.zeros((2, 2048), np.complex64),
    np.zeros((2, 2048), bool),
    np.array([["a"] * 2048]),
    np.array([[object()] * 2048]),
])
def test_wrong_dtypes(model, x):
    with pytest.raises(naicfc.DTypeError) as e:
        model.encode(x, 32)
    assert isinstance(e.value, TypeError)


def test_codes_must_be_uint8(model):
    with pytest.raises(naicfc.DTypeError):
        model.decode(np.zeros((2, 32), np.uint16))
    with pytest.raises(naicfc.DTypeError):
        model.decode(np.zeros((2, 32), np.float32))


@pytest.mark.parametrize("budget", [0, -1, 1, 8193, 10**9, 2**70])
def test_budgets_out_of_range(model, query, budget):
    if 1 <= budget < model.min_budget or budget in (0, -1) or budget > naicfc.MAX_BUDGET:
        with pytest.raises(naicfc.BudgetError):
            model.encode(query.features[:2], budget)
    else:
        model.encode(query.features[:2], budget)


def test_budget_of_the_wrong_type_and_conflicting_arguments(model, query):
    with pytest.raises(TypeError):
        model.encode(query.features[:2], 32.0)
    with pytest.raises(TypeError):
        model.encode(query.features[:2], "32")
    # numpy's integers are integers.
    for budget in (np.int64(32), np.uint16(32), np.int32(32)):
        np.testing.assert_array_equal(
            model.encode(query.features[:2], budget), model.encode(query.features[:2], 32)
        )
    with pytest.raises(naicfc.InputError):
        model.encode(query.features[:2])
    with pytest.raises(naicfc.InputError):
        model.encode(query.features[:2], 32, scalable=True)


def test_random_bytes_as_codes_are_rejected_or_decoded_never_crash(model, rng):
    rejected = 0
    for length in (1, 2, 7, 16, 32, 64, 255, 256, 1000):
        codes = rng.integers(0, 256, size=(200, length), dtype=np.uint8)
        codes[:, -1] |= 1  # no padding to strip: every byte is part of the code
        for row in codes:
            try:
                back = model.decode(row)
                assert back.shape == (model.dim,) and np.isfinite(back).all()
            except naicfc.CorruptCodeError as e:
                assert e.row == 0 and e.kind == "corrupt_code"
                rejected += 1
    assert rejected > 0
    with pytest.raises(naicfc.CorruptCodeError):
        model.decode(np.zeros((1, 9000), np.uint8) + 1)
    with pytest.raises(naicfc.CorruptCodeError):
        model.decode([b""])


def test_a_bad_code_in_a_batch_names_its_row_and_returns_nothing(model, query):
    codes = model.code_bytes(model.encode(query.features[:50], 32))
    codes[31] = b""
    with pytest.raises(naicfc.CorruptCodeError, match="row 31") as e:
        model.decode(codes)
    assert e.value.row == 31


def test_truncated_and_damaged_model_bytes(model):
    data = model.to_bytes()
    for cut in (0, 3, 10, 64, len(data) // 2, len(data) - 1):
        with pytest.raises(naicfc.ModelError):
            naicfc.Model.from_bytes(data[:cut])
    damaged = bytearray(data)
    damaged[len(data) // 2] ^= 0x10
    with pytest.raises(naicfc.ModelError, match="checksum"):
        naicfc.Model.from_bytes(damaged)
    with pytest.raises(naicfc.ModelError, match="not a naicfc model"):
        naicfc.Model.from_bytes(b"PK\x03\x04" + data[4:])
    with pytest.raises(TypeError):
        naicfc.Model.from_bytes(1000)
    with pytest.raises(TypeError):
        naicfc.Model.from_bytes("NFCM")


def test_missing_and_bad_model_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.nfcm"):
        naicfc.Model.load(tmp_path / "nope.nfcm")
    (tmp_path / "bad.nfcm").write_bytes(b"NFCM" + bytes(100))
    with pytest.raises(naicfc.ModelError, match="bad.nfcm"):
        naicfc.Model.load(tmp_path / "bad.nfcm")


def test_bad_training_input(train):
    x = train.features[:100]
    with pytest.raises(naicfc.TrainingError):
        naicfc.Model.train(x[:1])
    with pytest.raises(naicfc.TrainingError, match="identical"):
        naicfc.Model.train(np.ones((10, 8), np.float32))
    y = x.copy()
    y[5, 0] = np.nan
    with pytest.raises(naicfc.NonFiniteError, match="row 5"):
        naicfc.Model.train(y)
    with pytest.raises(naicfc.InputError, match="labels"):
        naicfc.Model.train(x, np.arange(99))
    with pytest.raises(naicfc.InputError, match="reid-weight"):
        naicfc.Model.train(x, reid_weight=float("nan"))
    with pytest.raises(naicfc.InputError, match="unknown option"):
        naicfc.Model.train(x, budget=32)
    with pytest.raises(naicfc.InputError):
        naicfc.Model.train(x, budgets=[0])
    with pytest.raises(naicfc.InputError):
        naicfc.Model.train(x, threads=0)


def test_bad_search_and_score_arguments(query, gallery):
    with pytest.raises(naicfc.InputError):
        naicfc.search(query.features, gallery.features, k=0)
    with pytest.raises(naicfc.InputError, match="metric"):
        naicfc.search(query.features, gallery.features, metric="hamming")
    _, idx = naicfc.search(query.features, gallery.features, k=10)
    with pytest.raises(naicfc.InputError):
        naicfc.score(idx, query.ids[:-1], gallery.ids)
    bad = idx.copy()
    bad[0, 0] = -1
    with pytest.raises(naicfc.InputError, match="negative"):
        naicfc.score(bad, query.ids, gallery.ids)
    bad[0, 0] = len(gallery.ids)
    with pytest.raises(naicfc.InputError, match="out of range"):
        naicfc.score(bad, query.ids, gallery.ids)
    with pytest.raises(naicfc.InputError, match="camera"):
        naicfc.score(idx, query.ids, gallery.ids, exclude_same_camera=True)


def test_search_refuses_nan_and_inf(rng):
    q = rng.normal(size=(4, 8)).astype(np.float32)
    g = rng.normal(size=(20, 8)).astype(np.float32)
    for side in ("q", "g"):
        for bad in (np.nan, np.inf):
            qq, gg = q.copy(), g.copy()
            (qq if side == "q" else gg)[2, 3] = bad
            with pytest.raises(naicfc.NonFiniteError, match=f"{side} row 2") as e:
                naicfc.search(qq, gg, k=5)
            assert e.value.row == 2


def test_search_ranks_like_brute_force(rng):
    q = rng.normal(size=(7, 16)).astype(np.float32)
    g = rng.normal(size=(50, 16)).astype(np.float32)
    scores, idx = naicfc.search(q, g, k=5)
    qn = q / np.linalg.norm(q, axis=1, keepdims=True)
    gn = g / np.linalg.norm(g, axis=1, keepdims=True)
    want = np.argsort(-(qn @ gn.T), axis=1, kind="stable")[:, :5]
    np.testing.assert_array_equal(idx, want)
    assert idx.dtype == np.int64 and scores.dtype == np.float32
    _, idx = naicfc.search(q, g, k=500, metric="euclidean")
    assert idx.shape == (7, 50)
    _, one = naicfc.search(q[2], g, k=3)
    assert one.shape == (3,)


def test_codes_of_the_wrong_shape_and_type(model):
    with pytest.raises(naicfc.DimensionError):
        model.decode(np.zeros((2, 3, 32), np.uint8))
    with pytest.raises(TypeError):
        model.decode([1, 2, 3])
    with pytest.raises(TypeError):
        model.decode(None)


def test_training_refuses_infinity_and_wrong_shapes(train):
    x = train.features[:100].copy()
    x[9, 3] = -np.inf
    with pytest.raises(naicfc.NonFiniteError, match="row 9"):
        naicfc.Model.train(x)
    with pytest.raises(naicfc.DimensionError):
        naicfc.Model.train(np.zeros((2, 3, 4), np.float32))
    with pytest.raises(naicfc.DTypeError):
        naicfc.Model.train(np.zeros((100, 8), np.int64))


def test_search_of_empty_sides(rng):
    q = rng.normal(size=(3, 8)).astype(np.float32)
    scores, idx = naicfc.search(q, np.zeros((0, 8), np.float32), k=5)
    assert scores.shape == idx.shape == (3, 0)
    scores, idx = naicfc.search(np.zeros((0, 8), np.float32), q, k=5)
    assert scores.shape == idx.shape == (0, 3)
    with pytest.raises(naicfc.DTypeError):
        naicfc.search(q, np.zeros((4, 8), np.int32))
    with pytest.raises(naicfc.DimensionError):
        naicfc.search(q, np.zeros((2, 4, 8), np.float32))
