//! naicfc codec core: compresses a feature vector into a hard byte budget and back.
//!
//! `#![no_std]`, no allocation, no floating-point arithmetic on the bit-exact path, no panics
//! on any input. The pipeline: [`transform`] (exact f32 -> fixed point, centring, learned
//! projection) -> [`quant`] (the model's quantiser: [`trellis`]-coded, or one dead-zone
//! scalar quantiser) -> [`symbols`] + [`range_coder`]
//! (static probability tables from the [`model`]) under the rate control of [`encode`]; and
//! [`decode`] back. Working memory is on the stack, bounded by the constants of [`model`].
//!
//! ```ignore
//! let model = Model::parse(model_bytes)?;
//! let mut code = [0u8; 64];
//! let len = encode(&model, &features, 64, &mut code)?;
//! let mut back = [0f32; 2048];
//! decode(&model, &code[..len], &mut back)?;
//! ```
#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod crc;
pub mod decode;
pub mod encode;
pub mod error;
pub mod fixed;
pub mod model;
pub mod quant;
pub mod range_coder;
pub mod scalable;
pub mod symbols;
pub mod transform;
pub mod trellis;

pub use decode::decode;
pub use encode::encode;
pub use error::Error;
pub use model::Model;
