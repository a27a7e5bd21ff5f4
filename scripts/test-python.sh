#!/usr/bin/env bash
# The Python package's tests: a fresh virtual environment, `pip install ./codec-py` (maturin
# builds the extension from this checkout), then its pytest suite, which also compares with
# the command-line tool (built here with `cargo build --release -p codec-host`).
# Usage: scripts/test-python.sh [pytest arguments]
# Environment: PYTHON (default python3.11), VENV (default target/py-venv, made anew each run).
set -euo pipefail
cd "$(dirname "$0")/.."

python=${PYTHON:-python3.11}
venv=${VENV:-target/py-venv}

echo "== command-line tool (the tests compare the package with it)"
# Without `extract` (tract, image decoders): the Python tests do not use it, and this build
# then shares its dependencies with the wheel's, which leaves codec-host's defaults off too.
cargo build --release -p codec-host --no-default-features
export NAICFC_CLI="$(cd "${CARGO_TARGET_DIR:-target}" && pwd)/release/naicfc"

echo "== fresh virtual environment in $venv"
rm -rf "$venv"
"$python" -m venv "$venv"
venv=$(cd "$venv" && pwd)
# Minimum versions the package is tested with; pip picks the newest that satisfy them and,
# with --prefer-binary, one that has a wheel over a newer one that would build from source.
# pyspark has no wheel on PyPI (any version): its sdist builds a wheel once, which pip caches
# (~/.cache/pip), so only a machine with an empty cache pays for it.
"$venv/bin/pip" install --quiet --upgrade "pip>=23"
"$venv/bin/pip" install --quiet --prefer-binary "maturin>=1.7,<2" "numpy>=1.23" "pytest>=7"
# The engines of tests/test_milvus.py and tests/test_spark.py, pinned: Milvus Lite runs
# embedded (a local file), PySpark in local mode on the JVM already on the machine (Java 17).
# Their tests run nothing from the network.
"$venv/bin/pip" install --quiet --prefer-binary "pymilvus==3.0.2" "milvus-lite==3.2.2" "pyspark==4.3.0" \
    "pyarrow==26.0.1" "pandas==3.1.2"
export NAICFC_REQUIRE_ENGINES=1

echo "== pip install ./codec-py"
"$venv/bin/pip" install --quiet ./codec-py

echo "== pytest"
# Run from the tests directory against the installed package, not the source tree. Exit 5
# (no tests collected) is a failure like any other non-zero status.
set +e
(cd codec-py/tests && "$venv/bin/python" -m pytest -q "$@")
status=$?
set -e
if [[ $status -eq 5 ]]; then
    echo "pytest collected no tests" >&2
fi
exit $status
