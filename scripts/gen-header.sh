#!/usr/bin/env bash
# Generates include/naicfc.h from codec-ffi's Rust sources with a pinned cbindgen.
#   scripts/gen-header.sh          rewrite include/naicfc.h
#   scripts/gen-header.sh --check  fail if include/naicfc.h differs from a fresh one
# The version is pinned because cbindgen's output changes between releases, and the checked-in
# header must be reproducible byte for byte.
set -euo pipefail
cd "$(dirname "$0")/.."

CBINDGEN_VERSION=0.29.4
cbindgen="${CARGO_HOME:-$HOME/.cargo}/bin/cbindgen"
if ! "$cbindgen" --version 2>/dev/null | grep -qx "cbindgen $CBINDGEN_VERSION"; then
    echo "installing cbindgen $CBINDGEN_VERSION" >&2
    cargo install cbindgen --version "$CBINDGEN_VERSION" --locked --force --quiet
fi

fresh=$(mktemp)
trap 'rm -f "$fresh"' EXIT
# --quiet: cbindgen warns that it cannot find naicfc_result_value, an alias hidden on purpose
# and renamed to naicfc_result (see codec-ffi/src/result.rs).
"$cbindgen" --quiet --config codec-ffi/cbindgen.toml --crate codec-ffi --output "$fresh" codec-ffi

if [[ "${1:-}" == "--check" ]]; then
    if ! diff -u include/naicfc.h "$fresh"; then
        echo "include/naicfc.h is out of date: run scripts/gen-header.sh and commit it" >&2
        exit 1
    fi
    echo "include/naicfc.h is up to date (cbindgen $CBINDGEN_VERSION)"
else
    cp "$fresh" include/naicfc.h
    echo "wrote include/naicfc.h (cbindgen $CBINDGEN_VERSION)"
fi
