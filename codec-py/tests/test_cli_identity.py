"""The package gives the command-line tool's bytes: models, codes and reconstructions.

(The C API is tested byte-identical to the command line in tests/tests/c_api.rs, so the three
agree.)"""

import json

import numpy as np
import pytest

import naicfc
from conftest import run


def test_training_gives_the_cli_model(cli, dataset, train, model, tmp_path):
    out = tmp_path / "cli.nfcm"
    run(cli, "train", "--data", dataset, "--out", out)
    assert out.read_bytes() == model.to_bytes()


def test_training_options_give_the_cli_model(cli, train, tmp_path):
    x = train.features[::4]
    np.save(tmp_path / "x.npy", x)
    out = tmp_path / "cli.nfcm"
    run(cli, "train", "--features", tmp_path / "x.npy", "--out", out, "--budgets", "24,12",
        "--max-coeffs", "96", "--quantiser", "scalar", "--no-clamp",
        "--spread-exponent", "0.25", "--max-rows", "100")
    ours = naicfc.Model.train(x, budgets=[24, 12], max_coeffs=96, quantiser="scalar",
                              no_clamp=True, spread_exponent=0.25,
                              max_rows=100)
    assert out.read_bytes() == ours.to_bytes()
    assert ours.budgets == (12, 24)


@pytest.mark.parametrize("budget", [16, 32, 64, 128, 256, 40])
def test_codes_and_reconstructions_are_the_cli_bytes(cli, model, query, budget, tmp_path):
    model_path = tmp_path / "m.nfcm"
    model.save(model_path)
    x = query.features
    np.save(tmp_path / "q.npy", x)
    run(cli, "encode", "--model", model_path, "--in", tmp_path / "q.npy",
        "--budget", budget, "--out", tmp_path / "codes")
    names, cli_codes = naicfc.read_codes(tmp_path / "codes")
    rows = [int(n) for n in names]
    codes = model.encode(x, budget)
    ours = model.code_bytes(codes)
    assert [ours[r] for r in rows] == cli_codes
    run(cli, "decode", "--model", model_path, "--in", tmp_path / "codes",
        "--out", tmp_path / "back.npy")
    cli_back = np.load(tmp_path / "back.npy")
    ours_back = model.decode(codes)[rows]
    assert cli_back.tobytes() == ours_back.tobytes()


def test_scalable_codes_are_the_cli_bytes(cli, model, query, tmp_path):
    model_path = tmp_path / "m.nfcm"
    model.save(model_path)
    x = query.features[:40]
    np.save(tmp_path / "q.npy", x)
    run(cli, "encode", "--model", model_path, "--in", tmp_path / "q.npy",
        "--scalable", "--out", tmp_path / "codes")
    names, cli_codes = naicfc.read_codes(tmp_path / "codes")
    codes = model.encode(x, scalable=True)
    assert [bytes(codes[int(n)]) for n in names] == cli_codes


def test_search_and_score_are_the_cli_results(cli, dataset, query, gallery, tmp_path):
    out = tmp_path / "cli.json"
    run(cli, "reid", "--query", dataset / "query_feature", "--gallery",
        dataset / "gallery_feature", "--out", out)
    scores, idx = naicfc.search(query.features, gallery.features, k=100)
    cli_idx = naicfc.read_results(out, query.names, gallery.names, top=100)
    np.testing.assert_array_equal(idx, cli_idx)
    ours = tmp_path / "ours.json"
    # Without lists, `naicfc reid` names rows by their feature files.
    files = lambda names: [f"{n}.dat" for n in names]  # noqa: E731
    naicfc.write_results(ours, idx, files(query.names), files(gallery.names))
    assert ours.read_bytes() == out.read_bytes()
    done = run(cli, "score", "--results", out, "--query-list", dataset / "query_list.txt",
               "--gallery-list", dataset / "gallery_list.txt", "--json")
    cli_scores = json.loads(done.stdout)
    got = naicfc.score(idx, query.ids, gallery.ids)
    for key in ("acc_reid", "ap1", "map100", "rank1", "rank5", "rank10"):
        assert got[key] == pytest.approx(cli_scores[key], rel=1e-12), key
