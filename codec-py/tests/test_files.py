"""The competition's files: features, codes, splits and result JSON."""

import types

import numpy as np
import pytest

import naicfc


def test_features_round_trip_through_a_directory(tmp_path, rng):
    x = rng.normal(size=(5, 12)).astype(np.float32)
    names = [f"{i:05d}" for i in range(5)]
    naicfc.write_features(tmp_path / "f", names, x)
    got_names, got = naicfc.read_features(tmp_path / "f")
    assert got_names == names
    assert got.tobytes() == x.tobytes()
    np.save(tmp_path / "x.npy", x)
    _, from_npy = naicfc.read_features(tmp_path / "x.npy")
    assert from_npy.tobytes() == x.tobytes()


def test_unusable_feature_files_are_refused_unless_told(tmp_path, rng):
    x = rng.normal(size=(3, 4)).astype(np.float32)
    naicfc.write_features(tmp_path / "f", ["a", "b", "c"], x)
    (tmp_path / "f" / "d.dat").write_bytes(b"\x00" * 5)
    with pytest.raises(naicfc.InputError, match="d.dat"):
        naicfc.read_features(tmp_path / "f")
    names, got = naicfc.read_features(tmp_path / "f", strict=False)
    assert names == ["a", "b", "c"] and got.shape == (3, 4)


def test_codes_round_trip_through_a_directory(model, query, tmp_path):
    codes = model.code_bytes(model.encode(query.features[:8], 24))
    names = [f"q{i}" for i in range(8)]
    naicfc.write_codes(tmp_path / "c", names, codes)
    got_names, got = naicfc.read_codes(tmp_path / "c")
    assert got_names == names and got == codes
    # Like `naicfc encode`, a directory that holds anything is refused, not mixed into.
    with pytest.raises(naicfc.FileError, match="not empty"):
        naicfc.write_codes(tmp_path / "c", names[:2], codes[:2])
    assert naicfc.read_codes(tmp_path / "c")[0] == names
    np.testing.assert_array_equal(model.decode(got), model.decode(model.encode(query.features[:8], 24)))


def test_splits_carry_identities_and_cameras(train, query, gallery):
    for split in (train, query, gallery):
        assert split.features.dtype == np.float32 and split.features.shape[1] == 2048
        assert len(split.names) == len(split.features) == len(split.ids) == len(split.cams)
        assert split.names == sorted(split.names)
        assert split.problems == []
    assert len(train.features) == 1000 and len(query.features) == 100
    assert set(query.ids) <= set(gallery.ids)
    assert not set(train.ids) & set(query.ids)


def test_bad_split_and_synth_arguments(dataset, tmp_path):
    with pytest.raises(naicfc.InputError, match="split"):
        naicfc.read_split(dataset, "test")
    with pytest.raises(naicfc.FileError):
        naicfc.read_split(tmp_path / "nowhere", "train")
    with pytest.raises(naicfc.InputError, match="unknown option"):
        naicfc.synth(tmp_path / "s", colour="red")
    with pytest.raises(naicfc.InputError, match="dim"):
        naicfc.synth(tmp_path / "s", dim=0)
    with pytest.raises(naicfc.FileError, match="empty"):
        naicfc.synth(dataset)


def test_results_round_trip_and_are_checked(query, gallery, tmp_path):
    _, idx = naicfc.search(query.features, gallery.features, k=10)
    path = tmp_path / "r.json"
    naicfc.write_results(path, idx, query.names, gallery.names)
    np.testing.assert_array_equal(naicfc.read_results(path, query.names, gallery.names, top=10), idx)
    with pytest.raises(naicfc.InputError, match="10 results, expected 20|expected 20"):
        naicfc.read_results(path, query.names, gallery.names, top=20)
    with pytest.raises(naicfc.InputError):
        naicfc.write_results(path, idx + len(gallery.names), query.names, gallery.names)
    with pytest.raises(naicfc.InputError):
        naicfc.write_results(path, idx, query.names[:-1], gallery.names)


def test_score_of_a_perfect_ranking_is_one():
    ids = np.array([0, 1, 2])
    gallery_ids = np.array([2, 0, 1, 0])
    idx = np.array([[1, 3, 0, 2], [2, 0, 1, 3], [0, 1, 2, 3]])
    s = naicfc.score(idx, ids, gallery_ids)
    assert s["acc_reid"] == 1.0 and s["ap1"] == 1.0 and s["rank1"] == 1.0
    assert s["queries"] == 3


def test_codes_round_trip_through_a_code_array(model, query, tmp_path):
    codes = model.encode(query.features[:8], 24)
    names = [f"q{i}" for i in range(8)]
    path = tmp_path / "c.nfcc"
    naicfc.write_codes(path, names[:5], codes[:5], model=model)
    naicfc.write_codes(path, names[5:], codes[5:], model=model, append=True)
    got = naicfc.read_codes(path)
    assert got.names == names and got.fingerprint == model.fingerprint
    assert got.budget == 24 and not got.scalable
    np.testing.assert_array_equal(model.decode(got.codes), model.decode(codes))
    with pytest.raises(naicfc.FileError, match="already"):
        naicfc.write_codes(path, names[:1], codes[:1], model=model, append=True)
    with pytest.raises(TypeError):
        naicfc.write_codes(path, names, codes)


def test_a_damaged_code_array_is_refused_by_name(model, query, tmp_path):
    path = tmp_path / "c.nfcc"
    naicfc.write_codes(path, ["a", "b"], model.encode(query.features[:2], 24), model=model)
    data = bytearray(path.read_bytes())
    data[140] ^= 1
    path.write_bytes(bytes(data))
    with pytest.raises(naicfc.FileError, match="c.nfcc"):
        naicfc.read_codes(path)


def test_the_namespace_is_the_api():
    # The engine modules (naicfc.milvus, naicfc.spark) are public API too, and appear in the
    # namespace once a test has imported them.
    public = {
        n
        for n in dir(naicfc)
        if not n.startswith("_") and not isinstance(getattr(naicfc, n), types.ModuleType)
    }
    assert public == set(naicfc.__all__) - {"__version__"}, public ^ set(naicfc.__all__)
    assert not hasattr(naicfc, "np") and not hasattr(naicfc, "List")


def test_the_type_stub_names_what_the_native_module_has():
    import ast
    from pathlib import Path

    from naicfc import _native

    stub = ast.parse((Path(naicfc.__file__).parent / "_native.pyi").read_text())
    top = {n.name for n in stub.body if isinstance(n, (ast.FunctionDef, ast.ClassDef))}
    top |= {t.id for n in stub.body if isinstance(n, ast.AnnAssign) for t in [n.target]}
    top = {n for n in top if not n.startswith("_")}
    native = {n for n in dir(_native) if not n.startswith("_")}
    assert top == native, top ^ native
    (model,) = [n for n in stub.body if isinstance(n, ast.ClassDef) and n.name == "Model"]
    methods = {n.name for n in model.body if isinstance(n, ast.FunctionDef)}
    public = {n for n in dir(_native.Model) if not n.startswith("_")}
    assert public <= methods, public - methods
