//! **Unstable.** The codec's inner stages, for codec-host's training, probes and tests:
//! model writing, the step grid, quantisers, bit costs, the range coder and rate control's
//! pieces. Nothing here is part of the stable interface (the crate root is); it changes
//! whenever the codec does, and callers outside this workspace should not use it.

pub use crate::crc::crc32;
pub use crate::decode::{decode_coefficients, decode_values};
pub use crate::encode::{
    Coded, MAX_MIN_BUDGET, RELIEF_SLOPE, encode_at_step, encode_coded, encode_coefficients,
    relief_room,
};
pub use crate::entropy::{
    Decoder, Encoder, cost_q8, decode_step, decode_value, encode_step, encode_value, step_residual,
};
pub use crate::fixed::{INPUT_LIMIT, MAX_SHIFT, OUTPUT_LIMIT, f32_to_fixed, fixed_to_f32, log2_q8};
pub use crate::format::*;
pub use crate::quant::{
    FULL_SLOPE, START, candidate, level, level_magnitude, max_magnitude, next_state, quantise,
    quantiser, reconstruct, reconstruct_level,
};
pub use crate::transform::{centre, coefficient, finish_inverse, forward, inverse};
