//! Library and format versions.
//!
//! The header carries the version as macros (`NAICFC_VERSION_*`) and the library reports it
//! at run time: comparing the two catches a header and a library from different releases.
//! The macros are literals because cbindgen copies literals only; the assertions below tie
//! them to `Cargo.toml` at compile time.

use crate::guard::ffi_boundary;
use core::ffi::c_char;

/// Major version of the library (semantic versioning: the C API and ABI only change
/// incompatibly when this does).
pub const NAICFC_VERSION_MAJOR: u32 = 0;
/// Minor version: additions only.
pub const NAICFC_VERSION_MINOR: u32 = 1;
/// Patch version: fixes only.
pub const NAICFC_VERSION_PATCH: u32 = 0;
/// `MAJOR << 16 | MINOR << 8 | PATCH`, as returned by `naicfc_version_number`.
pub const NAICFC_VERSION_NUMBER: u32 = 0x00_01_00;

/// Longest code of the stream format, in bytes: no budget above it is accepted. Size code
/// buffers with it when the budget is only known at run time.
pub const NAICFC_MAX_BUDGET: usize = 8192;

const fn parse_u32(s: &str) -> u32 {
    let b = s.as_bytes();
    let mut v = 0;
    let mut i = 0;
    while i < b.len() {
        assert!(b[i].is_ascii_digit(), "version part is not a number");
        v = v * 10 + (b[i] - b'0') as u32;
        i += 1;
    }
    v
}

const fn str_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

const _: () = {
    assert!(
        NAICFC_VERSION_MAJOR == parse_u32(env!("CARGO_PKG_VERSION_MAJOR")),
        "NAICFC_VERSION_MAJOR differs from Cargo.toml"
    );
    assert!(
        NAICFC_VERSION_MINOR == parse_u32(env!("CARGO_PKG_VERSION_MINOR")),
        "NAICFC_VERSION_MINOR differs from Cargo.toml"
    );
    assert!(
        NAICFC_VERSION_PATCH == parse_u32(env!("CARGO_PKG_VERSION_PATCH")),
        "NAICFC_VERSION_PATCH differs from Cargo.toml"
    );
    assert!(
        NAICFC_VERSION_NUMBER
            == NAICFC_VERSION_MAJOR << 16 | NAICFC_VERSION_MINOR << 8 | NAICFC_VERSION_PATCH,
        "NAICFC_VERSION_NUMBER differs from its parts"
    );
    // The header builds NAICFC_VERSION_STRING from the three numbers, so the text must be
    // exactly those numbers (no pre-release or build suffix).
    assert!(
        str_eq(
            env!("CARGO_PKG_VERSION"),
            concat!(
                env!("CARGO_PKG_VERSION_MAJOR"),
                ".",
                env!("CARGO_PKG_VERSION_MINOR"),
                ".",
                env!("CARGO_PKG_VERSION_PATCH")
            )
        ),
        "the version must be MAJOR.MINOR.PATCH for NAICFC_VERSION_STRING"
    );
    assert!(
        NAICFC_MAX_BUDGET == codec_core::MAX_CODE_LEN,
        "NAICFC_MAX_BUDGET differs from the codec's longest code"
    );
};

/// The version text with its terminating NUL, for C.
const VERSION_C: &str = concat!(env!("CARGO_PKG_VERSION"), "\0");

/// The library's version as a static NUL-terminated string such as `"0.1.0"`. Compare it with
/// `NAICFC_VERSION_STRING` to check that header and library match.
#[unsafe(no_mangle)]
pub extern "C" fn naicfc_version() -> *const c_char {
    ffi_boundary!(VERSION_C.as_ptr().cast())
}

/// The library's version as `MAJOR << 16 | MINOR << 8 | PATCH`; compare with
/// `NAICFC_VERSION_NUMBER`.
#[unsafe(no_mangle)]
pub extern "C" fn naicfc_version_number() -> u32 {
    ffi_boundary!(NAICFC_VERSION_NUMBER)
}

/// The model (and code) format version this library reads, the one `naicfc train` of the same
/// release writes.
/// `naicfc_model_init` returns `NAICFC_MODEL_VERSION` for a model of any other version; codes
/// are tied to their model, so the model's version is also the codes'.
#[unsafe(no_mangle)]
pub extern "C" fn naicfc_format_version() -> u32 {
    ffi_boundary!(u32::from(codec_core::FORMAT_VERSION))
}
