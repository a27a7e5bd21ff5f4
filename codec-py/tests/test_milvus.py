"""Search vectors, and a coded gallery in Milvus Lite (embedded, a local file) ranked as naicfc's
exact search ranks."""

import os

import numpy as np
import pytest

import naicfc

BUDGET = 32


def exact(model, query, gallery, k=100):
    """naicfc's exact search: cosine of the reconstructed queries with the gallery."""
    rq = model.decode(model.encode(query.features, BUDGET))
    return naicfc.search(rq, gallery, k=k)


def test_inner_products_rank_as_the_exact_search(model, query, gallery):
    qv = naicfc.search_vectors(model, query.features, "query", BUDGET)
    assert qv.dtype == np.float32 and qv.shape[0] == len(query.features)
    # Codes in give the vectors of features coded at the budget.
    codes = model.encode(query.features, BUDGET)
    np.testing.assert_array_equal(naicfc.search_vectors(model, codes, side="query"), qv)
    for g in (gallery.features, model.decode(model.encode(gallery.features, BUDGET))):
        if g is gallery.features:
            gv = naicfc.search_vectors(model, g)
        else:
            gv = naicfc.search_vectors(model, model.encode(gallery.features, BUDGET))
        assert gv.shape == (len(g), qv.shape[1])
        ip = qv @ gv.T
        scores, idx = exact(model, query, g)
        ours = np.argsort(-ip, axis=1, kind="stable")[:, :100]
        assert (ours[:, 0] == idx[:, 0]).mean() >= 0.97
        # The inner products are the cosines, up to the decoder's clamping of a few rows.
        diff = np.abs(np.take_along_axis(ip, idx, 1) - scores)
        assert (diff < 1e-3).mean() >= 0.99
        a = naicfc.score(ours, query.ids, gallery.ids)["acc_reid"]
        b = naicfc.score(idx, query.ids, gallery.ids)["acc_reid"]
        assert abs(a - b) < 0.005


def test_bad_inputs_are_errors(model, query):
    x = query.features[:4].copy()
    with pytest.raises(naicfc.InputError, match="budget"):
        naicfc.search_vectors(model, x, "query")
    with pytest.raises(naicfc.InputError, match="budget"):
        naicfc.search_vectors(model, x, "gallery", 32)
    with pytest.raises(naicfc.InputError, match="side"):
        naicfc.search_vectors(model, x, "both")
    with pytest.raises(naicfc.DimensionError):
        naicfc.search_vectors(model, x[:, 1:])
    with pytest.raises(naicfc.DTypeError):
        naicfc.search_vectors(model, x.astype(np.int16))
    x[2, 7] = np.nan
    with pytest.raises(naicfc.NonFiniteError) as e:
        naicfc.search_vectors(model, x)
    assert e.value.row == 2
    codes = damaged(model, model.encode(query.features[:3], BUDGET), 1)
    with pytest.raises(naicfc.CorruptCodeError) as e:
        naicfc.search_vectors(model, codes)
    assert e.value.row == 1


def damaged(model, codes, row):
    """`codes` with `row` damaged so that the decoder refuses it (most damage decodes to some
    other vector: the format has no checksum)."""
    for byte in range(codes.shape[1]):
        bad = codes.copy()
        bad[row, byte:] = 0xFF
        try:
            model.decode(bad[row])
        except naicfc.CorruptCodeError:
            return bad
    raise AssertionError("no damage the decoder refuses")


# scripts/test-python.sh installs the engines and sets NAICFC_REQUIRE_ENGINES: there a missing
# engine fails the run instead of skipping its tests.
if os.environ.get("NAICFC_REQUIRE_ENGINES"):
    import pymilvus
else:
    pymilvus = pytest.importorskip("pymilvus", reason="pip install pymilvus milvus-lite")
import naicfc.milvus as nm  # noqa: E402


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    c = pymilvus.MilvusClient(str(tmp_path_factory.mktemp("milvus") / "gallery.db"))
    yield c
    c.close()


@pytest.mark.parametrize("index,params,search", [("FLAT", None, None),
                                                 ("IVF_FLAT", {"nlist": 16}, {"nprobe": 16})])
def test_milvus_ranks_as_the_exact_search(client, model, query, gallery, index, params, search):
    nm.create_collection(client, "g", model, index=index, params=params, drop=True)
    codes = model.encode(gallery.features, BUDGET)
    # A coded gallery, as cameras send it.
    assert nm.ingest(client, "g", model, gallery.names, codes, batch=300) == len(codes)
    names, scores = nm.search(client, "g", model, model.encode(query.features, BUDGET), k=100,
                              params=search)
    row = {n: i for i, n in enumerate(gallery.names)}
    idx = np.array([[row[n] for n in r] for r in names])
    rg = model.decode(codes)
    want_scores, want = exact(model, query, rg)
    # nprobe = nlist probes every list: IVF is exact here too.
    assert (idx[:, 0] == want[:, 0]).mean() >= 0.97
    # Scores are cosines, up to the decoder's clamping of a few rows.
    assert (np.abs(scores[:, :10] - want_scores[:, :10]) < 2e-3).mean() >= 0.98
    a = naicfc.score(idx, query.ids, gallery.ids)["acc_reid"]
    b = naicfc.score(want, query.ids, gallery.ids)["acc_reid"]
    assert abs(a - b) < 0.005


def test_milvus_original_gallery_and_feature_queries(client, model, query, gallery):
    nm.create_collection(client, "orig", model, drop=True)
    nm.ingest(client, "orig", model, gallery.names, gallery.features)
    names, _ = nm.search(client, "orig", model, query.features, budget=BUDGET, k=5)
    _, want = exact(model, query, gallery.features, k=5)
    got = [n[0] for n in names]
    assert np.mean([g == gallery.names[w] for g, w in zip(got, want[:, 0])]) >= 0.97


def test_milvus_refuses_another_model_and_bad_rows(client, model, train, query, gallery):
    nm.create_collection(client, "m", model, drop=True)
    with pytest.raises(naicfc.InputError, match="exists"):
        nm.create_collection(client, "m", model)
    other = naicfc.Model.train(train.features[::2], budgets=[32])
    with pytest.raises(naicfc.ModelError, match=other.fingerprint):
        nm.search(client, "m", other, other.encode(query.features[:2], BUDGET))
    with pytest.raises(naicfc.ModelError, match=model.fingerprint):
        nm.ingest(client, "m", other, ["a"], gallery.features[:1])
    codes = damaged(model, model.encode(gallery.features[:10], BUDGET), 7)
    with pytest.raises(naicfc.CorruptCodeError, match="row 7") as e:
        nm.ingest(client, "m", model, gallery.names[:10], codes, batch=4)
    assert e.value.row == 7
    with pytest.raises(naicfc.InputError, match="unique"):
        nm.ingest(client, "m", model, ["a", "a"], codes[:2])
