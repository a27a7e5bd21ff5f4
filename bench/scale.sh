#!/usr/bin/env bash
# Competition-scale benchmark: naicfc against FAISS in one run (see bench/scale.py).
#
#   bench/scale.sh --data /path/to/competition-set [--generate] [--threads 2] [--out scale.json]
#
# Creates bench/.venv-scale (numpy and faiss-cpu, pinned below), builds naicfc in release.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"
venv="$here/.venv-scale"
if [[ ! -x "$venv/bin/python" ]]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet numpy==2.4.6 faiss-cpu==1.15.1
fi
(cd "$root" && cargo build --release -p codec-host)
exec "$venv/bin/python" "$here/scale.py" --naicfc "$root/target/release/naicfc" "$@"
