//! `naicfc_strerror`: the text of a result code. Apart from `result.rs` so that the codes
//! import nothing and the panic guard, which returns them, can import the codes alone.

use crate::guard::ffi_boundary;
use crate::result::{naicfc_result, naicfc_result_value};
use core::ffi::c_char;

/// Returned by `naicfc_strerror` for a number that is no `naicfc_result`.
const UNKNOWN: &str = "unknown naicfc result code\0";

/// A static, NUL-terminated, one-line English description of `result` (never NULL, never to
/// be freed). Numbers that are no `naicfc_result` get a text saying so.
#[unsafe(no_mangle)]
pub extern "C" fn naicfc_strerror(result: naicfc_result_value) -> *const c_char {
    ffi_boundary!(match naicfc_result::from_u32(result) {
        Some(r) => r.c_message(),
        None => UNKNOWN.as_ptr().cast(),
    })
}
