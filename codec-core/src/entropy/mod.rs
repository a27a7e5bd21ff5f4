//! Entropy coding: the range coder (`range_coder`), how magnitudes, signs and step indices
//! become its symbols under the model's tables (`symbols`), and the bit-cost estimate the
//! encoder's search uses (`cost`).

mod cost;
pub(crate) mod range_coder;
mod symbols;

pub use cost::cost_q8;
pub use range_coder::{Decoder, Encoder};
pub use symbols::{decode_step, decode_value, encode_step, encode_value, step_residual};
