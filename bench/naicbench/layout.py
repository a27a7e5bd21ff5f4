"""Giving the FAISS quantisers the same information naicfc uses, at dimensions they accept.

* Only the dimensions that are non-zero somewhere in training are coded (463 of 2048 for kind
  A); the others are reconstructed as 0. This is exact for data whose inactive dimensions are
  always 0, and it is what naicfc's transform does too.
* PQ-style quantisers need the dimension to be a multiple of M. Instead of truncating (which
  loses variance) or appending zero columns at the end (which leaves whole sub-quantisers
  with nothing to code, wastes their bytes, and makes FAISS's k-means crawl on identical
  points), we insert at most one zero column into each of the LAST `p` sub-vectors, where
  `p = M * ceil(d / M) - d`. Every sub-quantiser then codes `ceil(d/M)` or `ceil(d/M) - 1`
  real dimensions: an uneven split of the real dimensions, with no information lost.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class ActiveDims:
    """The dimensions that are non-zero in some training row."""

    indices: np.ndarray
    full_dim: int

    @classmethod
    def from_training(cls, train: np.ndarray) -> ActiveDims:
        """Dimensions non-zero in at least one training row."""
        return cls(np.flatnonzero(np.any(train != 0, axis=0)), train.shape[1])

    def gather(self, x: np.ndarray) -> np.ndarray:
        """Rows restricted to the active dimensions (contiguous float32)."""
        return np.ascontiguousarray(x[:, self.indices], dtype=np.float32)

    def scatter(self, y: np.ndarray) -> np.ndarray:
        """Full-length rows with `y` in the active dimensions and 0 elsewhere."""
        out = np.zeros((y.shape[0], self.full_dim), dtype=np.float32)
        out[:, self.indices] = y
        return out


@dataclass
class SpreadPadding:
    """Maps `d` dimensions into `M * ceil(d / M)` with zero columns spread over sub-vectors."""

    dim: int
    padded_dim: int
    columns: np.ndarray  # for each input dimension, its column in the padded layout

    @classmethod
    def for_subquantizers(cls, dim: int, m: int) -> SpreadPadding:
        """Layout for `m` sub-vectors: the last `pad` sub-vectors hold one zero column each."""
        sub = -(-dim // m)
        padded = sub * m
        pad = padded - dim
        columns = []
        for j in range(m):
            real = sub - 1 if j >= m - pad else sub
            columns.extend(range(j * sub, j * sub + real))
        assert len(columns) == dim
        return cls(dim, padded, np.asarray(columns, dtype=np.int64))

    def pad(self, x: np.ndarray) -> np.ndarray:
        """Rows in the padded layout."""
        out = np.zeros((x.shape[0], self.padded_dim), dtype=np.float32)
        out[:, self.columns] = x
        return out

    def unpad(self, y: np.ndarray) -> np.ndarray:
        """Rows back in the original layout (padding columns dropped)."""
        return np.ascontiguousarray(y[:, self.columns])
