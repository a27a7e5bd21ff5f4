#!/usr/bin/env bash
# The whole test suite, from a fresh machine: installs what the tests need, then runs them.
# Usage: ./scripts/test.sh
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n== %s\n' "$*"; }

step "toolchain: rustfmt, clippy, thumbv7em-none-eabihf, thumbv8m.main-none-eabihf, aarch64-unknown-linux-gnu"
rustup component add rustfmt clippy >/dev/null 2>&1 || true
rustup target add thumbv7em-none-eabihf thumbv8m.main-none-eabihf aarch64-unknown-linux-gnu

step "system tools: C compiler, valgrind, ARM toolchain, QEMU"
# command -> Debian package. Checked first so a machine that has them skips apt entirely.
declare -A packages=(
    [cc]=gcc
    [c++]=g++
    [valgrind]=valgrind
    [arm-none-eabi-gcc]=gcc-arm-none-eabi
    [qemu-system-arm]=qemu-system-arm
    [readelf]=binutils
    [aarch64-linux-gnu-gcc]=gcc-aarch64-linux-gnu
    [qemu-aarch64]=qemu-user
)
missing=()
for tool in "${!packages[@]}"; do
    command -v "$tool" >/dev/null || missing+=("${packages[$tool]}")
done
# newlib (string.h and memcpy for the firmware) has no command to look for.
[[ -f /usr/lib/arm-none-eabi/include/string.h ]] || missing+=(libnewlib-arm-none-eabi)
if ((${#missing[@]})); then
    if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
        echo "installing ${missing[*]}"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
            libc6-dev "${missing[@]}" >/dev/null
    else
        echo "missing ${missing[*]}: install them (Debian package names), then rerun" >&2
        exit 1
    fi
else
    echo "all present"
fi

step "C header is up to date (cbindgen, pinned)"
./scripts/gen-header.sh --check

step "format"
cargo fmt --all -- --check

step "no import cycle between the files or modules of any crate"
python3 scripts/check-cycles.py

step "lint"
cargo clippy --workspace --all-targets -- -D warnings
# The bare-metal builds have their own cfg (no_std, panic handler): lint them too.
cargo clippy -p codec-ffi --release --target thumbv7em-none-eabihf -- -D warnings
cargo clippy -p codec-ffi --release --target thumbv8m.main-none-eabihf -- -D warnings

step "tests (C host test, firmware on QEMU and figures included)"
# With this set, a C or firmware test whose tools are missing fails instead of skipping.
NAICFC_REQUIRE_TOOLS=1 cargo test --workspace

step "codec-core and the C library build for a Cortex-M4F and a Cortex-M33 (no_std, no alloc)"
for target in thumbv7em-none-eabihf thumbv8m.main-none-eabihf; do
    cargo build -p codec-core --release --target "$target"
    cargo build -p codec-ffi --release --target "$target"
done

step "Python package: pip install ./codec-py in a fresh virtual environment, then pytest"
./scripts/test-python.sh

# Miri and cargo-fuzz need the nightly toolchain.
rustup toolchain list | grep -q '^nightly' || rustup toolchain install nightly --profile minimal

step "Miri: codec-core unit tests (undefined behaviour, overflow, out-of-bounds)"
if rustup +nightly component add miri rust-src >/dev/null 2>&1; then
    cargo +nightly miri test -p codec-core --lib
else
    echo "skipped: the nightly toolchain or its miri component cannot be installed here"
fi

step "fuzzing: every target for ${FUZZ_SECONDS:-30}s from the seed corpus"
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked --quiet
FUZZ_SECONDS=${FUZZ_SECONDS:-30} ./scripts/fuzz.sh

step "figures measured by the tests"
cat "${CARGO_TARGET_DIR:-target}"/naicfc-figures/*.txt

step "all tests passed"
