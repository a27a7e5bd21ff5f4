"""Result records, the printed table, results.json and results.md."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

METHOD_LABELS = {
    "pq": "FAISS PQ",
    "opq": "FAISS OPQ",
    "rq": "FAISS RQ (beam)",
    "lsq": "FAISS LSQ",
    "neural": "neural VQ (PyTorch)",
    "naicfc": "naicfc",
}


@dataclass
class Cell:
    """One method at one budget."""

    budget: int
    dr: float | None = None
    acc_reid: float | None = None
    ap1: float | None = None
    map100: float | None = None
    train_seconds: float | None = None
    encode_seconds: float | None = None
    decode_seconds: float | None = None
    settings: dict[str, Any] = field(default_factory=dict)
    skipped: str | None = None


@dataclass
class MethodResult:
    """All budgets of one method, plus its total wall time."""

    name: str
    cells: list[Cell] = field(default_factory=list)
    seconds: float = 0.0
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def label(self) -> str:
        """Human-readable name."""
        return METHOD_LABELS.get(self.name, self.name)

    def cell(self, budget: int) -> Cell | None:
        """The cell of a budget, if there is one."""
        return next((c for c in self.cells if c.budget == budget), None)


@dataclass
class Throughput:
    """One-thread vectors per second of one method at one budget."""

    method: str
    budget: int
    encode_per_sec: float
    decode_per_sec: float


@dataclass
class Run:
    """Everything one invocation measured."""

    command: str
    date: str
    dataset: dict[str, Any]
    budgets: list[int]
    uncompressed: dict[str, Any]
    bound_rmse: dict[int, float]
    methods: list[MethodResult]
    throughput: list[Throughput]
    checks: dict[str, Any]
    seconds: float = 0.0


def _fmt(value: float | None, digits: int) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _cell_text(cell: Cell | None) -> str:
    if cell is None:
        return "not run"
    if cell.skipped is not None:
        return "skipped"
    return f"{_fmt(cell.dr, 3)} / {_fmt(cell.acc_reid, 4)}"


def table_rows(run: Run) -> list[list[str]]:
    """Header + rows: method, one 'dr / ACC' column per budget, wall time."""
    header = ["method", *[f"{b} B" for b in run.budgets], "time (s)"]
    rows = [header]
    for m in run.methods:
        rows.append([m.label, *[_cell_text(m.cell(b)) for b in run.budgets], f"{m.seconds:.0f}"])
    rows.append(
        ["Gaussian bound (rmse)", *[_fmt(run.bound_rmse.get(b), 3) for b in run.budgets], ""]
    )
    return rows


def throughput_rows(run: Run) -> list[list[str]]:
    """Header + rows: method, 'encode / decode' vectors/s per budget."""
    header = ["one thread, vectors/s", *[f"{b} B enc / dec" for b in run.budgets]]
    rows = [header]
    for method in dict.fromkeys(t.method for t in run.throughput):
        by_budget = {t.budget: t for t in run.throughput if t.method == method}
        cells = []
        for b in run.budgets:
            t = by_budget.get(b)
            cells.append("-" if t is None else f"{t.encode_per_sec:,.0f} / {t.decode_per_sec:,.0f}")
        rows.append([METHOD_LABELS.get(method, method), *cells])
    return rows


def format_plain(rows: list[list[str]]) -> str:
    """Rows as an aligned text table."""
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = []
    for k, r in enumerate(rows):
        lines.append("  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in
                               enumerate(zip(r, widths))))  # fmt: skip
        if k == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def format_markdown(rows: list[list[str]]) -> str:
    """Rows as a markdown table."""
    out = ["| " + " | ".join(rows[0]) + " |", "|" + "|".join("---" for _ in rows[0]) + "|"]
    out += ["| " + " | ".join(r) + " |" for r in rows[1:]]
    return "\n".join(out)


def skipped_notes(run: Run) -> list[str]:
    """One line per skipped cell, with its reason."""
    return [
        f"{m.label} at {c.budget} B: {c.skipped}"
        for m in run.methods
        for c in m.cells
        if c.skipped is not None
    ]


def settings_notes(run: Run) -> list[str]:
    """One line per method with the settings of its cells."""
    lines = []
    for m in run.methods:
        per_budget = "; ".join(
            f"{c.budget} B: " + ", ".join(f"{k}={v}" for k, v in c.settings.items())
            for c in m.cells
            if c.settings
        )
        extra = ", ".join(f"{k}={v}" for k, v in m.info.items() if not isinstance(v, dict))
        text = "; ".join(filter(None, [extra, per_budget]))
        if text:
            lines.append(f"{m.label}: {text}")
    return lines


def cell_times(run: Run) -> list[str]:
    """Per cell train / encode / decode seconds."""
    lines = []
    for m in run.methods:
        parts = [
            f"{c.budget} B {_fmt(c.train_seconds, 1)}/{_fmt(c.encode_seconds, 2)}/"
            f"{_fmt(c.decode_seconds, 2)}"
            for c in m.cells
            if c.skipped is None
        ]
        lines.append(f"{m.label}: " + ", ".join(parts))
    return lines


def render_text(run: Run) -> str:
    """The report printed at the end of a run."""
    u = run.uncompressed
    parts = [
        f"dataset: {run.dataset['description']}",
        f"uncompressed ACC_reid {u['acc_reid']:.4f} (AP@1 {u['ap1']:.4f}, mAP@100 "
        f"{u['map100']:.4f}); mean query norm {run.dataset['mean_query_norm']:.3f}",
        "",
        "dr (mean L2 error) / ACC_reid (reconstructed queries vs original gallery):",
        format_plain(table_rows(run)),
    ]
    if run.throughput:
        parts += ["", format_plain(throughput_rows(run))]
    parts += ["", "train / encode / decode seconds per cell (all threads):", *cell_times(run)]
    notes = skipped_notes(run)
    if notes:
        parts += ["", "skipped cells:", *notes]
    parts += ["", "checks:", *[f"{k}: {v}" for k, v in run.checks.items()]]
    parts += ["", f"total {run.seconds:.0f} s"]
    return "\n".join(parts)


def render_markdown(run: Run) -> str:
    """results.md: date, command, tables, settings and notes."""
    u = run.uncompressed
    parts = [
        f"# naicfc vs other quantisers — {run.date}",
        "",
        f"Command: `{run.command}`",
        "",
        f"Dataset: {run.dataset['description']}. Uncompressed ACC_reid {u['acc_reid']:.4f}; "
        f"mean query norm {run.dataset['mean_query_norm']:.3f}. Total run time "
        f"{run.seconds / 60:.1f} min.",
        "",
        "Each cell: dr (mean L2 reconstruction error of the queries) / ACC_reid of the "
        "reconstructed queries against the original gallery. Time: the method's whole wall "
        "time (training, coding, scoring) on this machine.",
        "",
        format_markdown(table_rows(run)),
    ]
    if run.throughput:
        parts += [
            "",
            format_markdown(throughput_rows(run)),
            "",
            "Throughput: one thread. naicfc: `naicfc bench` (its batch path, 64 vectors per "
            "call). FAISS and the neural VQ: one call over the whole query batch, including the "
            "gather of active dimensions and the scatter back to full length.",
        ]
    parts += ["", "Settings:", "", *[f"- {line}" for line in settings_notes(run)]]
    notes = skipped_notes(run)
    if notes:
        parts += ["", "Skipped:", "", *[f"- {line}" for line in notes]]
    parts += ["", "Checks:", "", *[f"- {k}: {v}" for k, v in run.checks.items()]]
    return "\n".join(parts) + "\n"


def write_json(run: Run, path: Path) -> None:
    """results.json: everything, machine-readable."""
    path.write_text(json.dumps(asdict(run), indent=1, default=str) + "\n")
