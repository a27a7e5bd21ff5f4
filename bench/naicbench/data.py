"""Loading a dataset in the competition layout, in the same row order as `naicfc`.

Layout (see the top-level README)::

    DATA/train/train_feature/<name>.dat    DATA/train/train_list.txt   (<name> <id> [cam])
    DATA/query_feature/<name>.dat          DATA/query_list.txt
    DATA/gallery_feature/<name>.dat        DATA/gallery_list.txt

`naicfc` keeps the rows a list names, sorted by the bytes of the file stem; re-ID ties are
broken by that gallery order, so we load in exactly the same order.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np


class DatasetError(Exception):
    """A dataset that cannot be read as the competition layout."""


@dataclass
class Split:
    """The features of one split and their labels, rows sorted by file stem."""

    names: list[str]
    features: np.ndarray  # (n, dim) float32
    ids: np.ndarray  # (n,) int64
    cams: np.ndarray | None  # (n,) int64, when the list has a camera column


@dataclass
class Dataset:
    """Train, query and gallery splits of one dataset."""

    root: Path
    train: Split
    query: Split
    gallery: Split

    @property
    def dim(self) -> int:
        """Values per vector."""
        return int(self.train.features.shape[1])


def _read_list(path: Path) -> list[tuple[str, int, int | None]]:
    """Parse `<name> <id> [cam]` lines into (stem, id, cam)."""
    if not path.is_file():
        raise DatasetError(f"{path}: list file not found")
    entries = []
    with path.open(encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            parts = line.split()
            if not parts:
                continue
            if len(parts) < 2:
                raise DatasetError(f"{path}:{lineno}: expected '<name> <id> [cam]', got {line!r}")
            try:
                ident = int(parts[1])
                cam = int(parts[2]) if len(parts) > 2 else None
            except ValueError as e:
                raise DatasetError(f"{path}:{lineno}: {e}") from None
            entries.append((Path(parts[0]).stem, ident, cam))
    if not entries:
        raise DatasetError(f"{path}: empty list")
    return entries


def _read_dat(path: Path, dim: int | None) -> np.ndarray:
    """One little-endian float32 vector."""
    v = np.fromfile(path, dtype="<f4")
    if dim is not None and v.shape[0] != dim:
        raise DatasetError(f"{path}: {v.shape[0]} values, expected {dim}")
    if not np.all(np.isfinite(v)):
        raise DatasetError(f"{path}: contains NaN or infinity")
    return v


def load_split(features_dir: Path, list_path: Path) -> Split:
    """Read the vectors a list names, sorted by the bytes of their stems (as naicfc does)."""
    if not features_dir.is_dir():
        raise DatasetError(f"{features_dir}: feature directory not found")
    entries = _read_list(list_path)
    entries.sort(key=lambda e: os.fsencode(e[0]))
    stems = [e[0] for e in entries]
    if len(set(stems)) != len(stems):
        raise DatasetError(f"{list_path}: the same name appears twice")
    first = _read_dat(features_dir / f"{stems[0]}.dat", None)
    data = np.empty((len(stems), first.shape[0]), dtype=np.float32)
    for i, stem in enumerate(stems):
        path = features_dir / f"{stem}.dat"
        if not path.is_file():
            raise DatasetError(f"{path}: named in {list_path} but missing")
        data[i] = _read_dat(path, first.shape[0])
    cams = [e[2] for e in entries]
    return Split(
        names=stems,
        features=data,
        ids=np.array([e[1] for e in entries], dtype=np.int64),
        cams=None if any(c is None for c in cams) else np.array(cams, dtype=np.int64),
    )


def load_dataset(root: Path) -> Dataset:
    """Load all three splits of the dataset at `root`."""
    ds = Dataset(
        root=root,
        train=load_split(root / "train" / "train_feature", root / "train" / "train_list.txt"),
        query=load_split(root / "query_feature", root / "query_list.txt"),
        gallery=load_split(root / "gallery_feature", root / "gallery_list.txt"),
    )
    dims = {s.features.shape[1] for s in (ds.train, ds.query, ds.gallery)}
    if len(dims) != 1:
        raise DatasetError(f"{root}: splits have different dimensions {sorted(dims)}")
    return ds
