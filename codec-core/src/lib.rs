//! naicfc codec core: compresses a feature vector into a hard byte budget and back.
//!
//! `#![no_std]`, no allocation, no floating-point arithmetic on the bit-exact path, no panics
//! on any input, no unsafe code. The pipeline: transform (exact f32 -> fixed point, centring,
//! learned projection) -> quantisation (trellis-coded, or one dead-zone scalar quantiser) ->
//! entropy coding (static tables from the model, range coder) under rate control; and back.
//! Working memory is the caller's: [`encode_ws`], [`decode_ws`] and the scalable pair take a
//! workspace of [`workspace_size`] bytes, sized to the model, and keep their own stack under
//! 2 KiB; [`encode`], [`decode`], ... put a workspace big enough for any model on the stack.
//!
//! ```ignore
//! let model = Model::parse(model_bytes)?;
//! let minimum = min_budget(&model)?; // once per model
//! let mut code = [0u8; 64];
//! let len = encode(&model, &features, 64, &mut code)?;
//! let mut back = [0f32; 2048];
//! decode(&model, &code[..len], &mut back)?;
//!
//! // The same in a workspace of the caller's, sized once for the model:
//! let mut workspace = vec![0u8; workspace_size(&model, Op::Encode)];
//! let len = encode_ws(&model, &features, 64, &mut code, &mut workspace)?;
//! ```
//!
//! The layers import one way: `fixed`, `crc`, `error` (leaves) <- `format` (the model's
//! layout, parsing, writing, step grid) <- `transform`, `entropy`, `workspace` (the carving of
//! the caller's scratch) <- `quant` <- `encode`,
//! `decode` <- `scalable`. `docs/architecture.md` draws it. What training and tools need
//! beyond this surface is in [`internals`], which is not a stable interface.
#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod crc;
mod decode;
mod encode;
mod entropy;
mod error;
mod fixed;
mod format;
pub mod internals;
mod quant;
mod scalable;
mod transform;
mod workspace;

pub use decode::{decode, decode_ws};
pub use encode::{encode, encode_ws, min_budget};
pub use error::{Error, ModelError, Section, StreamError};
pub use format::{FORMAT_VERSION, MAX_CODE_LEN, Model};
pub use scalable::{
    decode_scalable, decode_scalable_ws, encode_scalable, encode_scalable_ws, scalable_len,
};
pub use workspace::{Op, max_workspace_size, workspace_size};
