#!/usr/bin/env bash
# Run the comparison benchmarks: make bench/.venv, build naicfc (release), run compare.py.
#
#   bench/run.sh --synth kind=a,dim=2048,scale=default --out results.json --md results.md
#   bench/run.sh --data path/to/dataset --methods pq,opq,naicfc --budgets 16,64
#
# Every argument goes to compare.py (see bench/README.md or `bench/run.sh --help`).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"
venv="$here/.venv"
req="$here/requirements.txt"
cpu_index="https://download.pytorch.org/whl/cpu"

if [[ ! -x "$venv/bin/python" ]]; then
    echo "run.sh: creating $venv" >&2
    python3 -m venv "$venv"
fi

# Install (again) only when requirements.txt changed since the last successful install.
stamp="$venv/.requirements.sha256"
want="$(sha256sum "$req" | cut -d' ' -f1)"
if [[ "$(cat "$stamp" 2>/dev/null || true)" != "$want" ]]; then
    torch_pin="$(grep -E '^torch==' "$req" || true)"
    if [[ -z "$torch_pin" ]]; then
        echo "run.sh: $req pins no torch version (expected a line torch==X.Y.Z)" >&2
        exit 1
    fi
    # PyPI's default Linux wheel of torch pulls about 4 GB of CUDA libraries; the CPU-only
    # wheel is a tenth of that. Use it when its index is reachable, else fall back.
    if ! "$venv/bin/pip" install --quiet --timeout 20 --retries 1 \
            --index-url "$cpu_index" "$torch_pin"; then
        echo "run.sh: the CPU-only torch index is unreachable; installing $torch_pin from" \
             "the default index (it bundles CUDA libraries, several GB, unused here)" >&2
    fi
    "$venv/bin/pip" install --quiet -r "$req"
    echo "$want" > "$stamp"
fi

(cd "$root" && cargo build --release -p codec-host)

exec "$venv/bin/python" "$here/compare.py" --naicfc "$root/target/release/naicfc" "$@"
