"""The competition's metrics in numpy, written to agree with `naicfc eval`.

* `dr`: mean over queries of ||x - x_hat||_2.
* ACC_reid = (AP@1 + mAP@100) / 2 of the reconstructed queries ranked by cosine similarity
  against the original gallery, exhaustively; ties are broken by gallery order (lower row
  first). AP@100 of a query = sum_{k<=100} P@k rel_k / min(100, #relevant); a query with no
  relevant gallery item scores 0.
* The Gaussian rate-distortion bound: reverse water-filling over the PCA eigenvalues of the
  training split, with the same row sampling and bisection as `codec-host/src/eval/bound.rs`
  and `codec-host/src/stats.rs`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

TOP = 100
QUERY_BLOCK = 256
PCA_MAX_ROWS = 20_000  # codec-host/src/stats.rs


@dataclass
class Scores:
    """Re-ID scores over a set of queries."""

    acc_reid: float
    ap1: float
    map100: float


def mean_l2_error(x: np.ndarray, x_hat: np.ndarray) -> float:
    """The competition's dr: mean L2 norm of the reconstruction error, in float64."""
    diff = x.astype(np.float64) - x_hat.astype(np.float64)
    return float(np.sqrt((diff * diff).sum(axis=1)).mean())


def _unit_rows(x: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length in float64; a zero row stays zero (similarity 0)."""
    x = x.astype(np.float64)
    norms = np.sqrt((x * x).sum(axis=1, keepdims=True))
    return np.divide(x, norms, out=np.zeros_like(x), where=norms > 0)


def _top_k(scores: np.ndarray, k: int) -> np.ndarray:
    """Column indices of the `k` highest scores per row, best first, ties by lower column."""
    k = min(k, scores.shape[1])
    kth = -np.partition(-scores, k - 1, axis=1)[:, k - 1]
    out = np.empty((scores.shape[0], k), dtype=np.int64)
    for r in range(scores.shape[0]):
        idx = np.flatnonzero(scores[r] >= kth[r])
        order = np.lexsort((idx, -scores[r, idx]))
        out[r] = idx[order[:k]]
    return out


def cosine_ranking(query: np.ndarray, gallery: np.ndarray, k: int = TOP) -> np.ndarray:
    """Exact top-`k` gallery rows per query by cosine similarity (float64 scores)."""
    q = _unit_rows(query)
    g = _unit_rows(gallery)
    # Dimensions that are zero in every gallery row add nothing to any dot product.
    used = np.flatnonzero(np.any(gallery != 0, axis=0))
    g_used = np.ascontiguousarray(g[:, used].T)
    ranked = [
        _top_k(q[start : start + QUERY_BLOCK, used] @ g_used, k)
        for start in range(0, q.shape[0], QUERY_BLOCK)
    ]
    return np.concatenate(ranked, axis=0)


def score_ranking(
    ranked: np.ndarray, query_ids: np.ndarray, gallery_ids: np.ndarray, top: int = TOP
) -> Scores:
    """AP@1, mAP@top and ACC_reid of ranked gallery rows (one row of `ranked` per query)."""
    ranked = ranked[:, :top]
    rel = gallery_ids[ranked] == query_ids[:, None]
    ids, counts = np.unique(gallery_ids, return_counts=True)
    pos = np.searchsorted(ids, query_ids)
    found = (pos < ids.size) & (ids[np.minimum(pos, ids.size - 1)] == query_ids)
    relevant = np.where(found, counts[np.minimum(pos, ids.size - 1)], 0)
    precision = np.cumsum(rel, axis=1) / np.arange(1, ranked.shape[1] + 1)
    denom = np.minimum(relevant, top)
    ap = np.divide(
        (precision * rel).sum(axis=1), denom, out=np.zeros(len(query_ids)), where=denom > 0
    )
    ap1 = float(rel[:, 0].mean())
    map100 = float(ap.mean())
    return Scores(acc_reid=(ap1 + map100) / 2.0, ap1=ap1, map100=map100)


def acc_reid(
    query: np.ndarray, gallery: np.ndarray, query_ids: np.ndarray, gallery_ids: np.ndarray
) -> Scores:
    """Search `query` against `gallery` by cosine and score the top 100."""
    return score_ranking(cosine_ranking(query, gallery), query_ids, gallery_ids)


def pca_eigenvalues(train: np.ndarray) -> np.ndarray:
    """Covariance eigenvalues (descending, clamped at 0) over at most 20,000 evenly spaced rows."""
    stride = -(-train.shape[0] // PCA_MAX_ROWS)
    x = train[::stride].astype(np.float64)
    x -= x.mean(axis=0)
    cov = (x.T @ x) / max(x.shape[0] - 1.0, 1.0)
    return np.maximum(np.linalg.eigvalsh(cov)[::-1], 0.0)


def gaussian_mse(eigenvalues: np.ndarray, bits: float) -> float:
    """Least expected squared error of a `bits`-bit code of a Gaussian with these variances."""
    lam = eigenvalues[eigenvalues > 0]
    if lam.size == 0 or bits <= 0:
        return float(lam.sum())

    def rate(theta: float) -> float:
        above = lam[lam > theta]
        return float((0.5 * np.log2(above / theta)).sum())

    hi = float(np.log(lam.max()))
    lo = hi - 200.0
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if rate(float(np.exp(mid))) > bits:
            lo = mid
        else:
            hi = mid
    return float(np.minimum(lam, np.exp(hi)).sum())


def gaussian_bound_rmse(eigenvalues: np.ndarray, budget_bytes: int) -> float:
    """The bound on sqrt(mean squared L2 error) at `budget_bytes` bytes per vector."""
    return float(np.sqrt(gaussian_mse(eigenvalues, 8.0 * budget_bytes)))
