#!/usr/bin/env bash
# Runs every fuzz target for a bounded time (FUZZ_SECONDS each, default 60) from the seed
# corpus in fuzz/corpus/; fails on the first crash, leaving the input in fuzz/artifacts/.
# Needs the nightly toolchain and cargo-fuzz (scripts/test.sh installs both).
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
secs=${FUZZ_SECONDS:-60}
cargo +nightly fuzz build
for target in $(cargo +nightly fuzz list); do
    # New inputs go to a scratch corpus, so the checked-in seeds stay as they are.
    scratch=$(mktemp -d)
    log="$scratch/log"
    echo "== fuzz $target for ${secs}s"
    status=0
    cargo +nightly fuzz run "$target" "$scratch" "corpus/$target" -- \
        -max_total_time="$secs" -print_final_stats=1 >"$log" 2>&1 || status=$?
    grep -E "^stat::(number_of_executed_units|peak_rss_mb)" "$log" || true
    if [ "$status" -ne 0 ]; then
        tail -n 40 "$log" >&2
        echo "fuzz target $target failed (status $status); input saved under fuzz/artifacts/$target/" >&2
        exit 1
    fi
    rm -rf "$scratch"
done
