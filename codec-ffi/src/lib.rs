//! C ABI of the naicfc codec.
//!
//! On bare-metal targets (`target_os = "none"`) the crate is `no_std` and built with
//! `panic = "abort"`; on hosted targets it links std so that panics can be caught at the ABI
//! boundary instead of unwinding into C.
#![cfg_attr(target_os = "none", no_std)]
