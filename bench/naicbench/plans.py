"""Which settings each FAISS method runs with at each budget, and the time guard.

The settings are fixed (not chosen from the clock), so results are reproducible; they are
printed with every run and written to results.json. Where FAISS's defaults would not fit the
benchmark's time budget (about 30 minutes for everything on 2 cores), a cheaper variant is
used, and the README says what it costs in quality where we measured it:

* pq:  FAISS defaults (25 k-means iterations per sub-quantiser).
* opq: 20 OPQ alternations instead of FAISS's 50 (measured at M=16 on kind A: dr 3.310 vs
       3.293, a third of the time).
* rq:  beam 5 (FAISS default); training rows capped at max(10,000, 320,000 / M) and, for
       M >= 64, 10 k-means iterations per codebook instead of 25 (the cost of RQ training is
       about linear in M, rows and iterations; M=16 on 20,000 rows took ~110 s).
* lsq: 10 training iterations (FAISS: 25), all rows (with 5,000, LSQ16 overfits: dr 5.69). LSQ's
       codebook update solves a dense (256 M) x (256 M) system, so M >= 64 is skipped: at
       M = 64 that matrix alone is 1 GiB and its solve needs ~1e12 operations per iteration.

The time guard: budgets run in increasing order; before each cell the cost is predicted from
the previous cell of the same method as `t_prev * (M / M_prev) ** exponent`, and a cell whose
prediction exceeds `--cell-limit` seconds is skipped with the prediction printed.
"""

from __future__ import annotations

from dataclasses import dataclass

from .quantizers import Codec, LSQCodec, OPQCodec, PQCodec, RQCodec

FAISS_METHODS = ("pq", "opq", "rq", "lsq")

# How the cost of one cell grows with M (training + coding), used by the time guard.
COST_EXPONENT = {"pq": 1.0, "opq": 1.0, "rq": 1.0, "lsq": 2.0}

OPQ_NITER = 20
RQ_BEAM = 5
RQ_ROW_BUDGET = 16 * 20_000  # M x training rows
RQ_MIN_ROWS = 10_000  # FAISS wants >= 39 rows per centroid
RQ_CHEAP_FROM_M = 64
RQ_CHEAP_KMEANS_ITERS = 10
LSQ_TRAIN_ITERS = 10
LSQ_MAX_M = 32


@dataclass
class Plan:
    """The codec for one (method, budget) cell, or why the cell is not run."""

    codec: Codec | None
    skip_reason: str | None = None


def plan(method: str, budget: int, train_rows: int) -> Plan:
    """The settings of `method` at `budget` bytes (= M sub-quantisers of 8 bits)."""
    if method == "pq":
        return Plan(PQCodec(budget))
    if method == "opq":
        return Plan(OPQCodec(budget, niter=OPQ_NITER))
    if method == "rq":
        rows = max(RQ_MIN_ROWS, RQ_ROW_BUDGET // budget)
        iters = RQ_CHEAP_KMEANS_ITERS if budget >= RQ_CHEAP_FROM_M else 25
        return Plan(
            RQCodec(budget, beam=RQ_BEAM, train_rows=min(rows, train_rows), kmeans_iters=iters)
        )
    if method == "lsq":
        if budget > LSQ_MAX_M:
            side = 256 * budget
            return Plan(
                None,
                f"LSQ's codebook update solves a dense {side}x{side} system per iteration "
                f"at M={budget} (> {LSQ_MAX_M}): too slow and too large for this benchmark",
            )
        return Plan(
            LSQCodec(budget, train_iters=LSQ_TRAIN_ITERS)
        )
    raise ValueError(f"unknown FAISS method {method!r} (expected one of {FAISS_METHODS})")


def predicted_seconds(method: str, budget: int, previous: tuple[int, float] | None) -> float:
    """Predicted wall time of a cell from the previous cell (budget, seconds) of the method."""
    if previous is None:
        return 0.0
    prev_budget, prev_seconds = previous
    return prev_seconds * (budget / prev_budget) ** COST_EXPONENT[method]
