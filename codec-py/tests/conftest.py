"""Shared fixtures: one small synthetic dataset and one model trained on it per session."""

import os
import subprocess
from pathlib import Path

import numpy as np
import pytest

import naicfc

REPO = Path(__file__).resolve().parents[2]


def pytest_collection_modifyitems(items):
    """Run the Spark tests first. Spark starts its JVM with fork + exec from this process, and
    once the Milvus tests have run gRPC's threads live here too: in one full run the JVM died
    before it started (JAVA_GATEWAY_EXITED) right after gRPC logged that it skipped its fork
    handlers because other threads were in it. Forking before any gRPC thread exists avoids
    that state altogether."""
    items.sort(key=lambda item: item.module.__name__ != "test_spark")


@pytest.fixture(scope="session")
def dataset(tmp_path_factory):
    """A kind-A dataset in the competition's layout: 1,000 train, 100 query, 1,000 gallery."""
    root = tmp_path_factory.mktemp("data") / "synth"
    naicfc.synth(
        root,
        seed=7,
        identities=100,
        images_per_identity=10,
        test_identities=100,
        queries=100,
        gallery=1000,
    )
    return root


@pytest.fixture(scope="session")
def train(dataset):
    return naicfc.read_split(dataset, "train")


@pytest.fixture(scope="session")
def query(dataset):
    return naicfc.read_split(dataset, "query")


@pytest.fixture(scope="session")
def gallery(dataset):
    return naicfc.read_split(dataset, "gallery")


@pytest.fixture(scope="session")
def model(train):
    return naicfc.Model.train(train.features, train.ids)


@pytest.fixture(scope="session")
def cli():
    """The command-line tool: $NAICFC_CLI, else the release build of this repository (built
    here if missing)."""
    path = os.environ.get("NAICFC_CLI")
    if path:
        return Path(path)
    path = REPO / "target" / "release" / "naicfc"
    if not path.exists():
        subprocess.run(
            ["cargo", "build", "--release", "-p", "codec-host"], cwd=REPO, check=True
        )
    return path


def run(cli, *args):
    """Run the command-line tool; fail the test with its output if it fails."""
    done = subprocess.run([str(cli), *map(str, args)], capture_output=True, text=True)
    assert done.returncode == 0, f"naicfc {' '.join(map(str, args))}:\n{done.stderr}"
    return done


@pytest.fixture
def rng():
    return np.random.default_rng(12345)
