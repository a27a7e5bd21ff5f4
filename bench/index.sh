#!/usr/bin/env bash
# Search over a coded gallery: naicfc's int8 index against exact search and FAISS IVF-Flat /
# IVF-PQ at matched ACC_reid, in one run (see bench/index.py). Not part of CI.
#
#   bench/index.sh [--queries 5000] [--gallery 30000] [--budget 64] [--threads 1] [--no-faiss]
#
# Creates a venv under target/ (numpy and faiss-cpu, pinned as in requirements.txt), builds
# naicfc in release, and works in target/index-bench.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"
venv="$root/target/venv-bench"
if [[ ! -x "$venv/bin/python" ]] || ! "$venv/bin/python" -c "import faiss" 2>/dev/null; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet numpy==2.4.6 faiss-cpu==1.15.1
fi
(cd "$root" && cargo build --release -p codec-host)
exec "$venv/bin/python" "$here/index.py" --naicfc "$root/target/release/naicfc" \
    --work "$root/target/index-bench" "$@"
