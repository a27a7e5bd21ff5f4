#!/usr/bin/env bash
# `naicfc extract` against onnxruntime (bench/extract_throughput.py): builds the CLI in release
# mode, installs numpy, pillow and onnxruntime into target/pyenv, and passes every argument on.
# Usage: bench/extract_throughput.sh [--images 2000] [--model M.onnx]
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -p codec-host
if ! target/pyenv/bin/python -c "import numpy, onnxruntime, PIL" 2>/dev/null; then
    python3 -m venv target/pyenv
    target/pyenv/bin/pip install -q numpy onnxruntime pillow
fi
exec target/pyenv/bin/python bench/extract_throughput.py "$@"
