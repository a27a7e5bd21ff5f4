//! C ABI of the naicfc codec: `libnaicfc.a` and `include/naicfc.h`.
//!
//! A thin layer over `codec-core` that turns C pointers and lengths into checked slices and
//! core errors into numbered result codes. The conventions, stated once here and on every
//! function in the header:
//!
//! - every function returns a `naicfc_result` (`NAICFC_OK` is 0), except getters, which answer
//!   0 for an unusable handle, and the version/text functions, which cannot fail;
//! - outputs are written only on success;
//! - every pointer + length pair is checked: NULL with a non-zero length is
//!   `NAICFC_NULL_POINTER`, NULL with length 0 is an empty buffer;
//! - nothing is allocated and there is no global mutable state: any number of threads may
//!   use the same `naicfc_model` at once;
//! - a panic never unwinds into C: hosted builds return `NAICFC_PANIC`, bare-metal builds
//!   trap in the panic handler (`panic = "abort"` is the only strategy of those targets).
//!
//! On bare-metal targets (`target_os = "none"`) the crate is `no_std`; on hosted targets it
//! links std so that panics can be caught at the ABI boundary.
#![cfg_attr(target_os = "none", no_std)]
#![deny(missing_docs)]

// Declaration order is the order of the header: model, coding, results, versions.
mod codec;
mod guard;
mod model;
#[cfg(all(target_os = "none", feature = "panic-handler"))]
mod panic;
mod result;
mod strerror;
mod version;

pub use codec::{
    naicfc_decode, naicfc_decode_scalable_ws, naicfc_decode_ws, naicfc_encode,
    naicfc_encode_scalable_ws, naicfc_encode_ws, naicfc_op, naicfc_op_value, naicfc_workspace_size,
};
pub use model::{
    NAICFC_MODEL_WORDS, naicfc_model, naicfc_model_budget, naicfc_model_budget_count,
    naicfc_model_dim, naicfc_model_init, naicfc_model_init_trusted, naicfc_model_length,
    naicfc_model_min_budget, naicfc_model_size,
};
pub use result::{naicfc_result, naicfc_result_value};
pub use strerror::naicfc_strerror;
pub use version::{
    NAICFC_MAX_BUDGET, NAICFC_VERSION_MAJOR, NAICFC_VERSION_MINOR, NAICFC_VERSION_NUMBER,
    NAICFC_VERSION_PATCH, naicfc_format_version, naicfc_version, naicfc_version_number,
};
