"""FAISS quantisers as budget-exact codecs: M = budget sub-quantisers of 8 bits = budget bytes.

All of them code the active dimensions only (see `layout.py`); PQ and OPQ additionally use the
spread zero padding so that any M works.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

import faiss
import numpy as np

from .layout import SpreadPadding

BITS = 8


class Codec(Protocol):
    """Something that learns from training rows and codes rows into `budget` bytes."""

    name: str
    budget: int
    settings: dict[str, Any]

    def train(self, x: np.ndarray) -> None:
        """Learn from training rows (active dimensions)."""

    def encode(self, x: np.ndarray) -> np.ndarray:
        """Codes, uint8 (n, budget)."""

    def decode(self, codes: np.ndarray) -> np.ndarray:
        """Reconstructions (active dimensions)."""


def _check_code_size(name: str, got: int, budget: int) -> None:
    if got != budget:
        raise RuntimeError(f"{name}: FAISS code size is {got} bytes, the budget is {budget}")


@dataclass
class PQCodec:
    """Product quantiser on the raw active dimensions (uneven split via spread padding)."""

    budget: int
    kmeans_iters: int = 25
    name: str = "pq"
    settings: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.layout: SpreadPadding | None = None
        self.pq: faiss.ProductQuantizer | None = None

    def train(self, x: np.ndarray) -> None:
        self.layout = SpreadPadding.for_subquantizers(x.shape[1], self.budget)
        self.pq = faiss.ProductQuantizer(self.layout.padded_dim, self.budget, BITS)
        self.pq.cp.niter = self.kmeans_iters
        _check_code_size(self.name, self.pq.code_size, self.budget)
        self.pq.train(self.layout.pad(x))
        self.settings = {
            "M": self.budget,
            "nbits": BITS,
            "padded_dim": self.layout.padded_dim,
            "kmeans_iters": self.kmeans_iters,
        }

    def encode(self, x: np.ndarray) -> np.ndarray:
        return self.pq.compute_codes(self.layout.pad(x))

    def decode(self, codes: np.ndarray) -> np.ndarray:
        return self.layout.unpad(self.pq.decode(codes))


@dataclass
class OPQCodec:
    """OPQ: a learned rotation (faiss.OPQMatrix, non-parametric OPQ) followed by PQ.

    `niter` alternations of PQ training and rotation update (each PQ re-training runs
    `niter_pq` k-means iterations; the first runs `niter_pq_0`). The rotation starts at the
    identity, i.e. at plain PQ's layout, instead of FAISS's random rotation: measured on kind
    A, that is better at every M (M=16: dr 3.281 after 20 iterations vs 3.293 after 50 from a
    random start; M=256: 0.418 vs 0.498, where the random start is even worse than PQ).
    """

    budget: int
    niter: int = 50
    niter_pq: int = 4
    niter_pq_0: int = 40
    kmeans_iters: int = 25
    name: str = "opq"
    settings: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.layout: SpreadPadding | None = None
        self.opq: faiss.OPQMatrix | None = None
        self.pq: faiss.ProductQuantizer | None = None

    def train(self, x: np.ndarray) -> None:
        self.layout = SpreadPadding.for_subquantizers(x.shape[1], self.budget)
        d = self.layout.padded_dim
        xp = self.layout.pad(x)
        self.opq = faiss.OPQMatrix(d, self.budget)
        self.opq.niter = self.niter
        self.opq.niter_pq = self.niter_pq
        self.opq.niter_pq_0 = self.niter_pq_0
        faiss.copy_array_to_vector(np.eye(d, dtype=np.float32).ravel(), self.opq.A)
        self.opq.train(xp)
        self.pq = faiss.ProductQuantizer(d, self.budget, BITS)
        self.pq.cp.niter = self.kmeans_iters
        _check_code_size(self.name, self.pq.code_size, self.budget)
        self.pq.train(self.opq.apply(xp))
        self.settings = {
            "M": self.budget,
            "nbits": BITS,
            "rotation": f"{d}x{d} from identity",
            "opq_niter": self.niter,
            "niter_pq": self.niter_pq,
            "niter_pq_0": self.niter_pq_0,
            "kmeans_iters": self.kmeans_iters,
        }

    def encode(self, x: np.ndarray) -> np.ndarray:
        return self.pq.compute_codes(self.opq.apply(self.layout.pad(x)))

    def decode(self, codes: np.ndarray) -> np.ndarray:
        return self.layout.unpad(self.opq.reverse_transform(self.pq.decode(codes)))


@dataclass
class RQCodec:
    """Residual quantiser (faiss.ResidualQuantizer, RQ{M}x8) with beam search.

    `train_rows` caps the training rows (evenly spaced) and `kmeans_iters` sets the k-means
    iterations per codebook (FAISS default 25), to bound the cost at large M.
    """

    budget: int
    beam: int = 5
    train_rows: int | None = None
    kmeans_iters: int = 25
    name: str = "rq"
    settings: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.rq: faiss.ResidualQuantizer | None = None

    def train(self, x: np.ndarray) -> None:
        self.rq = faiss.ResidualQuantizer(x.shape[1], self.budget, BITS)
        self.rq.max_beam_size = self.beam
        self.rq.cp.niter = self.kmeans_iters
        _check_code_size(self.name, self.rq.code_size, self.budget)
        rows = _subsample(x, self.train_rows)
        self.rq.train(rows)
        self.settings = {
            "M": self.budget,
            "nbits": BITS,
            "beam": self.beam,
            "kmeans_iters": self.kmeans_iters,
            "train_rows": rows.shape[0],
        }

    def encode(self, x: np.ndarray) -> np.ndarray:
        return self.rq.compute_codes(np.ascontiguousarray(x))

    def decode(self, codes: np.ndarray) -> np.ndarray:
        return self.rq.decode(codes)


@dataclass
class LSQCodec:
    """Local search quantiser (faiss.LocalSearchQuantizer, LSQ{M}x8).

    `train_iters` and `encode_ils_iters` are FAISS's knobs (defaults 25 and 16);
    `train_rows` caps the training rows.
    """

    budget: int
    train_iters: int = 25
    encode_ils_iters: int = 16
    train_rows: int | None = None
    name: str = "lsq"
    settings: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.lsq: faiss.LocalSearchQuantizer | None = None

    def train(self, x: np.ndarray) -> None:
        self.lsq = faiss.LocalSearchQuantizer(x.shape[1], self.budget, BITS)
        self.lsq.train_iters = self.train_iters
        self.lsq.encode_ils_iters = self.encode_ils_iters
        _check_code_size(self.name, self.lsq.code_size, self.budget)
        rows = _subsample(x, self.train_rows)
        self.lsq.train(rows)
        self.settings = {
            "M": self.budget,
            "nbits": BITS,
            "train_iters": self.train_iters,
            "encode_ils_iters": self.encode_ils_iters,
            "train_rows": rows.shape[0],
        }

    def encode(self, x: np.ndarray) -> np.ndarray:
        return self.lsq.compute_codes(np.ascontiguousarray(x))

    def decode(self, codes: np.ndarray) -> np.ndarray:
        return self.lsq.decode(codes)


def _subsample(x: np.ndarray, rows: int | None) -> np.ndarray:
    """At most `rows` evenly spaced rows of `x` (all when `rows` is None or large enough)."""
    if rows is None or rows >= x.shape[0]:
        return np.ascontiguousarray(x)
    step = x.shape[0] / rows
    return np.ascontiguousarray(x[(np.arange(rows) * step).astype(np.int64)])
