#!/usr/bin/env python3
"""Images per second of `naicfc extract` next to onnxruntime, same model, same images, one run.

    python bench/extract_throughput.py [--model M.onnx] [--images 2000] [--cli PATH]

Writes `--images` JPEG crops of varied sizes (about 128 x 64 to 300 x 150, as re-ID crops are)
into a work directory under target/, then times, end to end from files to features (decode,
resize to 256 x 128 bilinear, ImageNet mean/std, model, batches of 16):
  - `naicfc -j 1 extract` and `naicfc extract` (all cores), from their `--json` summary;
  - onnxruntime in Python (PIL decode and resize, numpy preprocessing) with one intra-op
    thread and with one per core.
The model defaults to the committed test model (codec-extract/tests/data/reid.onnx). Needs
numpy, pillow and onnxruntime (bench/extract_throughput.sh installs them into target/pyenv and
builds the CLI). Prints a Markdown table: images per second of wall time, and of CPU time
for the one-thread runs (which other jobs on a shared machine do not change), with the load.
"""

import argparse
import datetime
import json
import os
import resource
import subprocess
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
MEAN = np.array([0.485, 0.456, 0.406], np.float32)
STD = np.array([0.229, 0.224, 0.225], np.float32)


def write_images(directory: Path, n: int, seed: int = 1) -> None:
    """Smooth random colour fields with blocks: compressible like photos, none alike."""
    rng = np.random.default_rng(seed)
    directory.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        h = int(rng.integers(128, 301))
        w = h // 2
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        a = rng.uniform(0, 6.3, 3)
        img = np.stack([127 + 120 * np.sin(xx / rng.uniform(5, 30) + a[c]) * np.cos(yy / 40 + a[c])
                        for c in range(3)], axis=-1)
        y0, x0 = rng.integers(0, h // 2), rng.integers(0, w // 2)
        img[y0:y0 + h // 3, x0:x0 + w // 3] = rng.uniform(0, 255, 3)
        Image.fromarray(np.clip(img, 0, 255).astype(np.uint8)).save(directory / f"{i:06d}.jpg", quality=90)


def naicfc_rate(cli: Path, model: Path, images: Path, out: Path,
                threads: int | None) -> tuple[float, float]:
    """Images per second of wall time (the command's own figure) and per CPU second."""
    args = [str(cli)] + (["-j", str(threads)] if threads else []) + [
        "extract", "--model", str(model), "--images", str(images), "--out", str(out),
        "--overwrite", "--json", "--quiet"]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.run(args, check=True, capture_output=True, text=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    summary = json.loads(done.stdout)
    return summary["images_per_second"], summary["written"] / max(cpu, 1e-9)


def onnxruntime_rate(model: Path, images: Path, threads: int, batch: int = 16) -> tuple[float, float]:
    """Images per second of wall time and per CPU second (this process, onnxruntime's
    threads included)."""
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    session = ort.InferenceSession(str(model), opts, providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    files = sorted(images.iterdir())
    start, cpu_start = time.perf_counter(), time.process_time()
    for first in range(0, len(files), batch):
        x = np.stack([
            ((np.asarray(Image.open(f).convert("RGB").resize((128, 256), Image.BILINEAR), np.float32)
              / 255.0 - MEAN) / STD).transpose(2, 0, 1)
            for f in files[first:first + batch]
        ])
        session.run(None, {name: x})
    cpu = time.process_time() - cpu_start
    return len(files) / (time.perf_counter() - start), len(files) / max(cpu, 1e-9)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", type=Path, default=REPO / "codec-extract/tests/data/reid.onnx")
    p.add_argument("--images", type=int, default=2000, help="images to write and extract")
    p.add_argument("--cli", type=Path, default=REPO / "target/release/naicfc")
    p.add_argument("--workdir", type=Path, default=REPO / "target/bench-extract")
    args = p.parse_args()
    cores = os.cpu_count() or 1
    images = args.workdir / f"images-{args.images}"
    if not images.is_dir() or len(list(images.iterdir())) != args.images:
        write_images(images, args.images)
    out = args.workdir / "features"
    # A first run each, untimed: the page cache then holds the images for every timed run.
    naicfc_rate(args.cli, args.model, images, out, None)
    rows = [
        ("naicfc extract (tract)", naicfc_rate(args.cli, args.model, images, out, 1),
         naicfc_rate(args.cli, args.model, images, out, None)),
        ("onnxruntime, Python (PIL + numpy)", onnxruntime_rate(args.model, images, 1),
         onnxruntime_rate(args.model, images, cores)),
    ]
    load = os.getloadavg()[0]
    print(f"{datetime.date.today()}, {args.images} JPEG images ~128x64 to 300x150, model "
          f"{args.model.name}, input 256 x 128, batches of 16, {cores} cores, load average "
          f"{load:.1f}; images/s, files to features:\n")
    # Wall-clock rates fall with other jobs on the machine; images per CPU second of the
    # one-thread runs do not, so they compare the runtimes on a shared machine too.
    print(f"| runtime | 1 core | all cores ({cores}) | per CPU second, 1 thread |")
    print("|---|---:|---:|---:|")
    for name, (one, one_cpu), (all_, _) in rows:
        print(f"| {name} | {one:,.0f} | {all_:,.0f} | {one_cpu:,.0f} |")


if __name__ == "__main__":
    main()
