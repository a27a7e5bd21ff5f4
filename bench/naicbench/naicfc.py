"""Driving the `naicfc` command-line tool: synth, train, eval, bench, encode/decode."""

from __future__ import annotations

import json
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np


class NaicfcError(Exception):
    """A naicfc command failed or printed something we cannot read."""


@dataclass
class SynthSpec:
    """What `--synth` asks for."""

    kind: str = "a"
    dim: int = 2048
    scale: str = "default"
    seed: int = 1

    @classmethod
    def parse(cls, text: str) -> SynthSpec:
        """Parse `kind=a,dim=2048,scale=default|x10,seed=1` (every key optional)."""
        spec = cls()
        for item in filter(None, (p.strip() for p in text.split(","))):
            key, sep, value = item.partition("=")
            if not sep:
                raise ValueError(f"--synth: expected key=value, got {item!r}")
            if key == "kind" and value in ("a", "b"):
                spec.kind = value
            elif key == "dim" and value.isdigit() and int(value) > 0:
                spec.dim = int(value)
            elif key == "scale" and value in ("default", "x10"):
                spec.scale = value
            elif key == "seed" and value.isdigit():
                spec.seed = int(value)
            else:
                raise ValueError(
                    f"--synth: bad {item!r} (keys: kind=a|b, dim=N, scale=default|x10, seed=N)"
                )
        return spec

    def synth_args(self) -> list[str]:
        """`naicfc synth` flags. x10 multiplies every default size by ten."""
        args = ["--kind", self.kind, "--dim", str(self.dim), "--seed", str(self.seed)]
        if self.scale == "x10":
            args += [
                "--identities", "10000", "--images-per-identity", "20",
                "--test-identities", "10000", "--queries", "20000", "--gallery", "200000",
            ]  # fmt: skip
        return args


class Naicfc:
    """The naicfc binary."""

    def __init__(self, binary: Path) -> None:
        if not binary.is_file():
            raise NaicfcError(
                f"{binary}: naicfc binary not found (build it: cargo build --release -p codec-host)"
            )
        self.binary = binary

    def run(self, *args: str) -> str:
        """Run a subcommand; its stdout, or an error carrying its stderr."""
        cmd = [str(self.binary), *args]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            raise NaicfcError(
                f"`{' '.join(cmd)}` exited with status {proc.returncode}:\n{proc.stderr.strip()}"
            )
        return proc.stdout

    def synth(self, spec: SynthSpec, out: Path) -> None:
        """Generate a dataset."""
        self.run("synth", "--out", str(out), *spec.synth_args())

    def train(self, data: Path, model: Path, budgets: list[int]) -> float:
        """Train a model; wall seconds."""
        start = time.monotonic()
        self.run("train", "--data", str(data), "--out", str(model), "--budgets", _csv(budgets))
        return time.monotonic() - start

    def eval(self, model: Path, data: Path, budgets: list[int], report_dir: Path) -> dict[str, Any]:
        """`naicfc eval --report`; the parsed report.json."""
        self.run(
            "eval", "--model", str(model), "--data", str(data),
            "--budgets", _csv(budgets), "--report", str(report_dir),
            "--overwrite",  # the directory is this script's: a rerun with --workdir replaces it
        )  # fmt: skip
        path = report_dir / "report.json"
        try:
            return json.loads(path.read_text())
        except (OSError, json.JSONDecodeError) as e:
            raise NaicfcError(f"{path}: cannot read naicfc's report: {e}") from None

    def bench(self, model: Path, features: Path, budgets: list[int], seconds: float) -> list[dict]:
        """One-thread encode/decode throughput per budget (`naicfc bench --json`)."""
        out = self.run(
            "bench", "--model", str(model), "--features", str(features),
            "--budgets", _csv(budgets), "--seconds", str(seconds), "--json",
        )  # fmt: skip
        try:
            return json.loads(out)["codec"]
        except (json.JSONDecodeError, KeyError, TypeError) as e:
            raise NaicfcError(f"naicfc bench --json printed no codec figures ({e!r}): {out[:200]!r}") from None

    def round_trip(self, model: Path, features: Path, budget: int, work: Path) -> np.ndarray:
        """Encode a feature directory and decode it again; rows in name order (float32)."""
        codes = work / f"codes-{budget}"
        rec = work / f"rec-{budget}.npy"
        self.run("encode", "--model", str(model), "--budget", str(budget),
                 "--in", str(features), "--out", str(codes))  # fmt: skip
        self.run("decode", "--model", str(model), "--in", str(codes), "--out", str(rec))
        too_long = [p.name for p in codes.iterdir() if p.stat().st_size > budget]
        if too_long:
            raise NaicfcError(f"naicfc codes over {budget} bytes: {too_long[:5]}")
        return np.load(rec)


def _csv(values: list[int]) -> str:
    return ",".join(str(v) for v in values)
