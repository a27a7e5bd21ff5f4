//! What coding a magnitude costs, estimated without coding it: for the encoder's
//! rate-distortion decisions (the trellis search) and training's cost model, never for the
//! stream itself.

use crate::fixed::log2_q8;
use crate::format::{Class, PROB_BITS};

/// Approximate cost in 1/256 bit of coding magnitude `m` (and its sign) with `class`, as
/// `symbols::encode_value` would: for the encoder's rate-distortion decisions, never for the stream.
#[inline]
pub fn cost_q8(class: &Class<'_>, alphabet: usize, m: u64) -> u64 {
    let esc = alphabet - 1;
    let high = m >> class.raw_bits;
    let s = (high.min(esc as u64)) as usize;
    let freq = class.cdf(s + 1).saturating_sub(class.cdf(s)).max(1);
    let mut bits = (u64::from(PROB_BITS) << 8).saturating_sub(log2_q8(freq));
    if s == esc {
        let w = (high - esc as u64).saturating_add(1u64 << class.escape_order);
        let n = u64::from(64 - w.leading_zeros());
        // Prefix of n - 1 - order ones, a zero, then n - 1 bits.
        bits += (2 * n - 1 - u64::from(class.escape_order)) << 8;
    }
    bits += u64::from(class.raw_bits) << 8;
    if m != 0 {
        bits += 256;
    }
    bits
}
