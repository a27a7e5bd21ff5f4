#!/usr/bin/env python3
"""Compare naicfc with FAISS quantisers, a neural vector quantiser and the Gaussian bound.

For every budget B (bytes per vector) and every method: train on DATA/train, code the
queries into B bytes, decode them, and measure dr (mean L2 error) and ACC_reid of the
reconstructed queries against the original gallery. Also one-thread throughput of FAISS OPQ
and naicfc. See bench/README.md for the methods' settings and why.

    python bench/compare.py --data DATA --naicfc target/release/naicfc
    python bench/compare.py --synth kind=a,dim=2048,scale=default --methods pq,opq,naicfc
"""

from __future__ import annotations

import argparse
import datetime
import os
import shlex
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

# Before FAISS's OpenMP runtime loads: spinning OpenMP threads on a shared 2-core machine cost
# more than they save.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np  # noqa: E402

from naicbench import metrics  # noqa: E402
from naicbench.data import Dataset, DatasetError, load_dataset  # noqa: E402
from naicbench.layout import ActiveDims  # noqa: E402
from naicbench.naicfc import Naicfc, NaicfcError, SynthSpec  # noqa: E402
from naicbench.plans import COST_EXPONENT, FAISS_METHODS, plan, predicted_seconds  # noqa: E402
from naicbench.results import (  # noqa: E402
    Cell,
    MethodResult,
    Run,
    Throughput,
    render_markdown,
    render_text,
    write_json,
)

ALL_METHODS = (*FAISS_METHODS, "neural", "naicfc")
DEFAULT_BUDGETS = "16,32,64,128,256"
REPO = Path(__file__).resolve().parent.parent


def log(message: str) -> None:
    """Progress on stderr, flushed at once."""
    print(message, file=sys.stderr, flush=True)


def parse_args(argv: list[str]) -> argparse.Namespace:
    """Command-line options."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--data", type=Path, help="existing dataset in the competition layout")
    src.add_argument(
        "--synth",
        metavar="SPEC",
        help="generate a dataset with naicfc synth: kind=a|b,dim=N,scale=default|x10,seed=N",
    )
    p.add_argument("--naicfc", type=Path, default=REPO / "target" / "release" / "naicfc",
                   help="naicfc binary (default: target/release/naicfc)")  # fmt: skip
    p.add_argument("--methods", default=",".join(ALL_METHODS),
                   help=f"comma-separated subset of {','.join(ALL_METHODS)}")  # fmt: skip
    p.add_argument("--budgets", default=DEFAULT_BUDGETS, help="bytes per vector")
    p.add_argument("--out", type=Path, help="write results.json here")
    p.add_argument("--md", type=Path, help="write the markdown table here")
    p.add_argument("--workdir", type=Path,
                   help="keep generated data, models and reports here (default: a temp dir)")  # fmt: skip
    p.add_argument("--cell-limit", type=float, default=600.0,
                   help="skip a FAISS cell predicted to take longer (seconds, default 600)")  # fmt: skip
    p.add_argument("--bench-seconds", type=float, default=1.0,
                   help="least time per throughput measurement (default 1)")  # fmt: skip
    p.add_argument("--threads", type=int, default=2, help="threads for training and coding")
    p.add_argument("--neural-epochs", type=int, default=10)
    p.add_argument("--neural-width", type=int, default=512)
    p.add_argument("--neural-minutes", type=float, default=8.0,
                   help="stop neural training after this long (default 8)")  # fmt: skip
    args = p.parse_args(argv)
    try:
        args.method_list = _parse_methods(args.methods)
        args.budget_list = _parse_budgets(args.budgets)
        args.synth_spec = SynthSpec.parse(args.synth) if args.synth else None
    except ValueError as e:
        p.error(str(e))
    return args


def _parse_methods(text: str) -> list[str]:
    methods = [m.strip() for m in text.split(",") if m.strip()]
    unknown = [m for m in methods if m not in ALL_METHODS]
    if unknown or not methods:
        raise ValueError(f"--methods: unknown {unknown} (choose from {','.join(ALL_METHODS)})")
    return methods


def _parse_budgets(text: str) -> list[int]:
    try:
        budgets = sorted({int(b) for b in text.split(",") if b.strip()})
    except ValueError:
        raise ValueError(f"--budgets: expected comma-separated integers, got {text!r}") from None
    if not budgets or budgets[0] < 1:
        raise ValueError("--budgets: need at least one budget of 1 byte or more")
    return budgets


class Evaluator:
    """Scores reconstructions of the queries with the numpy metrics."""

    def __init__(self, ds: Dataset) -> None:
        self.ds = ds
        self.queries = ds.query.features

    def score(self, cell: Cell, reconstruction: np.ndarray) -> None:
        """Fill dr and the re-ID scores of a cell from full-dimension reconstructions."""
        if reconstruction.shape != self.queries.shape:
            raise RuntimeError(
                f"reconstruction has shape {reconstruction.shape}, queries {self.queries.shape}"
            )
        cell.dr = metrics.mean_l2_error(self.queries, reconstruction)
        s = metrics.acc_reid(
            reconstruction, self.ds.gallery.features, self.ds.query.ids, self.ds.gallery.ids
        )
        cell.acc_reid, cell.ap1, cell.map100 = s.acc_reid, s.ap1, s.map100


def timed(f: Callable[[], object]) -> tuple[object, float]:
    """Result and wall seconds of a call."""
    start = time.monotonic()
    result = f()
    return result, time.monotonic() - start


def run_faiss_method(
    method: str,
    budgets: list[int],
    active: ActiveDims,
    train: np.ndarray,
    ev: Evaluator,
    cell_limit: float,
    keep: dict,
) -> MethodResult:
    """Train, code and score one FAISS method at every budget, with the time guard."""
    result = MethodResult(method)
    start = time.monotonic()
    queries = active.gather(ev.queries)
    previous: tuple[int, float] | None = None
    for budget in budgets:
        cell = Cell(budget)
        result.cells.append(cell)
        p = plan(method, budget, train.shape[0])
        if p.codec is None:
            cell.skipped = p.skip_reason
            log(f"  {method} {budget} B: skipped: {cell.skipped}")
            continue
        guess = predicted_seconds(method, budget, previous)
        if guess > cell_limit:
            cell.skipped = (
                f"predicted {guess:.0f} s from {previous[1]:.0f} s at {previous[0]} B "
                f"(cost ~ M^{COST_EXPONENT[method]:g}) exceeds --cell-limit {cell_limit:.0f} s"
            )
            log(f"  {method} {budget} B: skipped: {cell.skipped}")
            continue
        codec = p.codec
        _, cell.train_seconds = timed(lambda: codec.train(train))
        codes, cell.encode_seconds = timed(lambda: codec.encode(queries))
        if codes.shape != (queries.shape[0], budget) or codes.dtype != np.uint8:
            raise RuntimeError(f"{method} {budget} B: codes of shape {codes.shape} {codes.dtype}")
        rec, cell.decode_seconds = timed(lambda: codec.decode(codes))
        cell.settings = dict(codec.settings)
        ev.score(cell, active.scatter(rec))
        previous = (budget, cell.train_seconds + cell.encode_seconds + cell.decode_seconds)
        keep[(method, budget)] = codec
        log(
            f"  {method} {budget} B: dr {cell.dr:.4f} ACC {cell.acc_reid:.4f}  "
            f"(train {cell.train_seconds:.1f} s, encode {cell.encode_seconds:.2f} s, "
            f"decode {cell.decode_seconds:.2f} s)"
        )
    result.seconds = time.monotonic() - start
    return result


def run_neural(
    budgets: list[int], active: ActiveDims, train: np.ndarray, ev: Evaluator, args, keep: dict
) -> MethodResult:
    """Train the neural quantiser once for all budgets, then code and score each budget."""
    from naicbench.neural import NeuralCodec, NeuralConfig

    cfg = NeuralConfig(
        width=args.neural_width,
        epochs=args.neural_epochs,
        max_minutes=args.neural_minutes,
        threads=args.threads,
    )
    result = MethodResult("neural")
    start = time.monotonic()
    codec = NeuralCodec(train, budgets, cfg)
    info = codec.fit(train, log=log)
    keep["neural"] = codec
    result.info = {
        "architecture": f"MLP width {cfg.width}, {cfg.blocks}+{cfg.blocks} residual blocks, "
        "per budget B one head and B codebooks of 256 x 8 dims",
        "parameters": info.parameters,
        "epochs": f"{info.epochs_run}/{cfg.epochs}",
        "batch": cfg.batch,
        "lr": cfg.lr,
        "train_seconds": round(info.seconds, 1),
        "stopped_early": info.stopped_early,
    }
    queries = active.gather(ev.queries)
    for budget in budgets:
        cell = Cell(budget, train_seconds=info.seconds)
        codes, cell.encode_seconds = timed(lambda: codec.encode(queries, budget))
        rec, cell.decode_seconds = timed(lambda: codec.decode(codes, budget))
        if codes.shape != (queries.shape[0], budget):
            raise RuntimeError(f"neural {budget} B: codes of shape {codes.shape}")
        ev.score(cell, active.scatter(rec))
        result.cells.append(cell)
        log(f"  neural {budget} B: dr {cell.dr:.4f} ACC {cell.acc_reid:.4f}")
    result.seconds = time.monotonic() - start
    return result


def run_naicfc(
    tool: Naicfc, data: Path, budgets: list[int], work: Path, ev: Evaluator, checks: dict
) -> tuple[MethodResult, dict, Path]:
    """`naicfc train` + `naicfc eval --report`; cells from report.json, cross-checked."""
    result = MethodResult("naicfc")
    start = time.monotonic()
    model = work / "naicfc.model"
    train_seconds = tool.train(data, model, budgets)
    report, eval_seconds = timed(lambda: tool.eval(model, data, budgets, work / "naicfc-report"))
    by_budget = {r["budget"]: r for r in report["rates"]}
    for budget in budgets:
        r = by_budget.get(budget)
        if r is None:
            raise NaicfcError(f"naicfc's report has no entry for budget {budget}")
        scores = r.get("scores") or {}
        cell = Cell(
            budget,
            dr=r["dr"],
            acc_reid=scores.get("acc_reid"),
            ap1=scores.get("ap1"),
            map100=scores.get("map100"),
            train_seconds=train_seconds,
            encode_seconds=r["encode_seconds"],
            decode_seconds=r["decode_seconds"],
            settings={"bytes_mean": round(r["bytes_mean"], 1), "bytes_max": r["bytes_max"]},
        )
        result.cells.append(cell)
        log(f"  naicfc {budget} B: dr {cell.dr:.4f} ACC {cell.acc_reid:.4f}")
    result.info = {
        "train_seconds": round(train_seconds, 1),
        "eval_seconds": round(eval_seconds, 1),
        "model_bytes": report["model_bytes"],
    }
    _cross_check_naicfc(tool, model, data, budgets, work, ev, result, checks)
    result.seconds = time.monotonic() - start
    return result, report, model


def _cross_check_naicfc(tool, model, data, budgets, work, ev, result, checks) -> None:
    """Decode naicfc's own codes and score them with the numpy metrics used for the others."""
    worst_dr = worst_acc = 0.0
    for budget in budgets:
        rec = tool.round_trip(model, data / "query_feature", budget, work)
        if rec.shape != ev.queries.shape:
            raise NaicfcError(
                f"naicfc decode gave {rec.shape}, expected {ev.queries.shape}: does "
                f"{data / 'query_feature'} hold files that query_list.txt does not name?"
            )
        mine = Cell(budget)
        ev.score(mine, rec)
        theirs = result.cell(budget)
        worst_dr = max(worst_dr, abs(mine.dr - theirs.dr))
        worst_acc = max(worst_acc, abs(mine.acc_reid - theirs.acc_reid))
    checks["naicfc report vs numpy on naicfc encode/decode"] = (
        f"max |dr diff| {worst_dr:.2e}, max |ACC diff| {worst_acc:.2e}"
    )


def measure_throughput(
    name: str, budget: int, encode: Callable, decode: Callable, seconds: float
) -> Throughput:
    """Vectors/s of batch encode and decode of the queries, repeated for at least `seconds`."""

    def rate(f: Callable[[], object], n: int) -> tuple[float, object]:
        start, calls, out = time.monotonic(), 0, None
        while calls == 0 or time.monotonic() - start < seconds:
            out = f()
            calls += n
        return calls / (time.monotonic() - start), out

    n = encode.rows
    enc, codes = rate(encode, n)
    dec, _ = rate(lambda: decode(codes), n)
    return Throughput(name, budget, enc, dec)


class _Batch:
    """A callable over a fixed batch that knows its row count."""

    def __init__(self, f: Callable[[], object], rows: int) -> None:
        self.f, self.rows = f, rows

    def __call__(self) -> object:
        return self.f()


def run_throughput(
    methods: list[str],
    budgets: list[int],
    keep: dict,
    active: ActiveDims,
    ev: Evaluator,
    tool: Naicfc,
    naicfc_model: Path | None,
    data: Path,
    seconds: float,
    threads: int,
) -> list[Throughput]:
    """One-thread encode/decode throughput of FAISS OPQ (and PQ, neural) and naicfc."""
    import faiss

    out: list[Throughput] = []
    x = ev.queries
    faiss.omp_set_num_threads(1)
    try:
        for method in ("opq", "pq"):
            for budget in budgets:
                codec = keep.get((method, budget))
                if method not in methods or codec is None:
                    continue

                def enc(c=codec) -> np.ndarray:
                    return c.encode(active.gather(x))

                def dec(codes: np.ndarray, c=codec) -> np.ndarray:
                    return active.scatter(c.decode(codes))

                out.append(measure_throughput(method, budget, _Batch(enc, len(x)), dec, seconds))
    finally:
        faiss.omp_set_num_threads(threads)
    if "neural" in keep:
        import torch

        codec = keep["neural"]
        torch.set_num_threads(1)
        for budget in budgets:

            def enc(b=budget) -> np.ndarray:
                return codec.encode(active.gather(x), b)

            def dec(codes: np.ndarray, b=budget) -> np.ndarray:
                return active.scatter(codec.decode(codes, b))

            out.append(measure_throughput("neural", budget, _Batch(enc, len(x)), dec, seconds))
        torch.set_num_threads(threads)
    if naicfc_model is not None:
        for r in tool.bench(naicfc_model, data / "query_feature", budgets, seconds):
            out.append(Throughput("naicfc", r["budget"], r["encode_per_sec"], r["decode_per_sec"]))
    return out


def prepare_data(args: argparse.Namespace, tool: Naicfc, work: Path) -> tuple[Path, str]:
    """The dataset directory (generated when --synth) and a one-line description."""
    if args.data is not None:
        if not args.data.is_dir():
            raise DatasetError(f"{args.data}: dataset directory not found")
        return args.data, str(args.data)
    spec = args.synth_spec
    data = work / "data"
    if data.exists() and any(data.iterdir()):
        # `naicfc synth` refuses a non-empty directory; say how to reuse what is there.
        raise DatasetError(
            f"{data} already holds a dataset: pass --data {data} to reuse it, or remove it"
        )
    log(f"generating kind {spec.kind}, {spec.dim}-d, scale {spec.scale}, seed {spec.seed} ...")
    _, seconds = timed(lambda: tool.synth(spec, data))
    log(f"  generated in {seconds:.0f} s")
    return data, f"naicfc synth {' '.join(spec.synth_args())}"


def main(argv: list[str]) -> int:
    """Run the comparison; exit status 0 on success, 1 on an error that was explained."""
    args = parse_args(argv)
    try:
        tool = Naicfc(args.naicfc)
        with tempfile.TemporaryDirectory(prefix="naicfc-bench-") as tmp:
            work = args.workdir or Path(tmp)
            work.mkdir(parents=True, exist_ok=True)
            run = compare(args, tool, work)
    except (DatasetError, NaicfcError, RuntimeError, ValueError) as e:
        log(f"compare.py: error: {e}")
        return 1
    print(render_text(run))
    if args.out:
        write_json(run, args.out)
        log(f"wrote {args.out}")
    if args.md:
        args.md.write_text(render_markdown(run))
        log(f"wrote {args.md}")
    return 0


def compare(args: argparse.Namespace, tool: Naicfc, work: Path) -> Run:
    """Everything between argument parsing and output."""
    import faiss

    # FAISS 1.15 computes distances with BLAS only from 128,000 query rows on; below that it
    # uses loops that are ~20x slower for sub-vectors of 2 or 4 dims (PQ at M >= 128). The
    # threshold changes speed, not the algorithm.
    faiss.cvar.distance_compute_blas_threshold = 20
    faiss.omp_set_num_threads(args.threads)
    t0 = time.monotonic()
    data, description = prepare_data(args, tool, work)
    ds, seconds = timed(lambda: load_dataset(data))
    log(
        f"loaded {ds.train.features.shape[0]} train, {ds.query.features.shape[0]} query, "
        f"{ds.gallery.features.shape[0]} gallery vectors of {ds.dim} dims in {seconds:.0f} s"
    )
    active = ActiveDims.from_training(ds.train.features)
    train = active.gather(ds.train.features)
    ev = Evaluator(ds)
    eigenvalues = metrics.pca_eigenvalues(ds.train.features)
    bound = {b: metrics.gaussian_bound_rmse(eigenvalues, b) for b in args.budget_list}
    uncompressed = metrics.acc_reid(
        ds.query.features, ds.gallery.features, ds.query.ids, ds.gallery.ids
    )
    log(f"uncompressed ACC_reid {uncompressed.acc_reid:.6f}; {active.indices.size} active dims")
    checks: dict = {}
    results: list[MethodResult] = []
    keep: dict = {}
    naicfc_model = None
    for method in args.method_list:
        log(f"{method} ...")
        if method in FAISS_METHODS:
            r = run_faiss_method(
                method, args.budget_list, active, train, ev, args.cell_limit, keep
            )
        elif method == "neural":
            r = run_neural(args.budget_list, active, train, ev, args, keep)
        else:
            r, report, naicfc_model = run_naicfc(tool, data, args.budget_list, work, ev, checks)
            _check_against_report(report, uncompressed, bound, checks)
        log(f"{method}: {r.seconds:.0f} s")
        results.append(r)
    log("throughput (one thread) ...")
    throughput = run_throughput(
        args.method_list, args.budget_list, keep, active, ev, tool, naicfc_model, data,
        args.bench_seconds, args.threads,
    )  # fmt: skip
    q = ds.query.features.astype(np.float64)
    return Run(
        command=" ".join(shlex.quote(a) for a in sys.argv),
        date=datetime.date.today().isoformat(),
        dataset={
            "description": description,
            "train": int(ds.train.features.shape[0]),
            "query": int(q.shape[0]),
            "gallery": int(ds.gallery.features.shape[0]),
            "dim": ds.dim,
            "active_dims": int(active.indices.size),
            "mean_query_norm": float(np.sqrt((q * q).sum(axis=1)).mean()),
        },
        budgets=args.budget_list,
        uncompressed={
            "acc_reid": uncompressed.acc_reid,
            "ap1": uncompressed.ap1,
            "map100": uncompressed.map100,
        },
        bound_rmse=bound,
        methods=results,
        throughput=throughput,
        checks=checks,
        seconds=time.monotonic() - t0,
    )


def _check_against_report(report: dict, uncompressed, bound: dict[int, float], checks) -> None:
    """Compare our numpy metric and bound with naicfc's own numbers; warn on disagreement."""
    theirs = (report.get("uncompressed") or {}).get("acc_reid")
    if theirs is not None:
        diff = abs(theirs - uncompressed.acc_reid)
        checks["uncompressed ACC numpy vs naicfc eval"] = (
            f"{uncompressed.acc_reid:.7f} vs {theirs:.7f} (|diff| {diff:.1e})"
        )
        if diff > 1e-6:
            log(
                f"WARNING: numpy ACC_reid of the uncompressed queries differs from naicfc's by "
                f"{diff:.1e} (> 1e-6): float32 near-ties ranked differently?"
            )
    worst = max(abs(r["bound_rmse"] - bound[r["budget"]]) for r in report["rates"])
    checks["Gaussian bound numpy vs naicfc bound_rmse"] = f"max |diff| {worst:.1e}"
    if worst > 1e-6:
        log(f"WARNING: the Gaussian bound differs from naicfc's bound_rmse by {worst:.1e}")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
