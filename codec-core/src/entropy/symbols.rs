//! How quantised values become range-coder symbols.
//!
//! A magnitude `m` is split into `m >> b` and its `b` low bits (`b` is the class's raw bits).
//! The high part below the class's escape symbol is one symbol of the class's table; larger
//! high parts send the escape symbol and then the excess in Exp-Golomb code of the class's
//! order. The low bits, the escape's bits and the sign of a non-zero magnitude are
//! equiprobable bits. The step index that opens every code is one symbol of the step prior,
//! or with the length step prior a residual from the step its length predicts
//! (or an escape).

use super::range_coder::{Decoder, Encoder};
use crate::error::StreamError;
use crate::format::{Class, Model, ModelInternals, PROB_BITS, STEP_REACH, STEP_RESIDUAL_SYMBOLS};

/// Longest Exp-Golomb prefix a decoder accepts: a valid escape needs at most 31, and with
/// escape orders up to 30 the decoded value stays below 2^62.
const MAX_ESCAPE_PREFIX: u32 = 32;

/// Code magnitude `m` (and its sign when non-zero).
#[inline]
pub fn encode_value(
    enc: &mut Encoder<'_>,
    class: &Class<'_>,
    alphabet: usize,
    m: u64,
    negative: bool,
) {
    let esc = alphabet - 1;
    let high = m >> class.raw_bits;
    let s = (high.min(esc as u64)) as usize;
    write_symbol(enc, s, |i| class.cdf(i));
    if s == esc {
        encode_escape(enc, high - esc as u64, class.escape_order);
    }
    put_bits(enc, m, class.raw_bits);
    if m != 0 {
        enc.encode_bits(u32::from(negative), 1);
    }
}

fn encode_escape(enc: &mut Encoder<'_>, excess: u64, order: u32) {
    let w = excess + (1u64 << order);
    let bits = 64 - w.leading_zeros(); // w has `bits` significant bits, the top one set
    let prefix = bits - 1 - order;
    for _ in 0..prefix {
        enc.encode_bits(1, 1);
    }
    enc.encode_bits(0, 1);
    put_bits(enc, w, bits - 1);
}

/// Write the low `n` bits of `v`, most significant first, 16 at a time.
fn put_bits(enc: &mut Encoder<'_>, v: u64, n: u32) {
    let mut left = n;
    while left > 0 {
        let take = left.min(16);
        left -= take;
        enc.encode_bits(((v >> left) & ((1 << take) - 1)) as u32, take);
    }
}

fn get_bits(dec: &mut Decoder<'_>, n: u32) -> u64 {
    let mut v = 0u64;
    let mut left = n;
    while left > 0 {
        let take = left.min(16);
        left -= take;
        v = (v << take) | u64::from(dec.decode_bits(take));
    }
    v
}

/// Decode a magnitude and sign coded by [`encode_value`].
#[inline]
pub fn decode_value(
    dec: &mut Decoder<'_>,
    class: &Class<'_>,
    alphabet: usize,
) -> Result<(u64, bool), StreamError> {
    let s = read_symbol(dec, alphabet, |i| class.cdf(i));
    let mut high = s as u64;
    if s == alphabet - 1 {
        high += decode_escape(dec, class.escape_order)?;
    }
    // The escape is below 2^62 and raw bits at most 24: shift without losing bits or panicking.
    let high = high.min(u64::MAX >> class.raw_bits);
    let m = (high << class.raw_bits) | get_bits(dec, class.raw_bits);
    let negative = m != 0 && dec.decode_bits(1) == 1;
    Ok((m, negative))
}

fn decode_escape(dec: &mut Decoder<'_>, order: u32) -> Result<u64, StreamError> {
    let mut prefix = 0;
    while dec.decode_bits(1) == 1 {
        prefix += 1;
        if prefix > MAX_ESCAPE_PREFIX {
            return Err(StreamError::EscapeTooLong);
        }
    }
    let n = prefix + order;
    let w = (1u64 << n) | get_bits(dec, n);
    Ok(w - (1u64 << order))
}

/// Code symbol `s` of a table of cumulative frequencies `cdf` (out of `2^PROB_BITS`).
#[inline]
fn write_symbol(enc: &mut Encoder<'_>, s: usize, cdf: impl Fn(usize) -> u32) {
    let start = cdf(s);
    enc.encode(start, cdf(s + 1) - start, PROB_BITS);
}

/// Decode one symbol of a table of `count` symbols with cumulative frequencies `cdf` by a
/// linear search (the tables are short and their first symbols the likely ones).
#[inline]
fn read_symbol(dec: &mut Decoder<'_>, count: usize, cdf: impl Fn(usize) -> u32) -> usize {
    let slot = dec.peek(PROB_BITS);
    // Tables are validated strictly increasing from 0 to 1 << PROB_BITS: exactly one symbol
    // owns the slot; the fallback is unreachable but keeps this total.
    let s = (0..count).find(|&i| slot < cdf(i + 1)).unwrap_or(count - 1);
    let start = cdf(s);
    dec.consume(start, cdf(s + 1) - start, PROB_BITS);
    s
}

/// Code the step index `j`. With the length step prior (`predicted`: the step
/// [`Model::step_prediction`] gives for the code's length) an index within [`STEP_REACH`] of
/// the prediction is coded as its residual; any other index, and always the coarsest (so that
/// the coarsest code has one length whatever the budget), as the escape followed by the index
/// under the plain prior. Without a prediction (older models, scalable layers) the plain prior
/// alone.
pub fn encode_step(enc: &mut Encoder<'_>, model: &Model<'_>, j: usize, predicted: Option<usize>) {
    if let Some(predicted) = predicted {
        let residual = step_residual(j, predicted, model.steps());
        let symbol = residual.unwrap_or(STEP_RESIDUAL_SYMBOLS - 1);
        write_symbol(enc, symbol, |i| model.step_residual_cdf(i));
        if residual.is_some() {
            return;
        }
    }
    write_symbol(enc, j, |i| model.step_cdf(i));
}

/// The residual symbol (`0..=2 * STEP_REACH`) that codes step index `j` of a grid of `steps`
/// when `predicted` is expected, or `None` when `j` needs the escape: too far from the
/// prediction, or the coarsest index.
pub fn step_residual(j: usize, predicted: usize, steps: usize) -> Option<usize> {
    (j + STEP_REACH)
        .checked_sub(predicted)
        .filter(|&r| r <= 2 * STEP_REACH && j + 1 < steps)
}

/// Decode the step index as [`encode_step`] coded it with the same `predicted`.
pub fn decode_step(
    dec: &mut Decoder<'_>,
    model: &Model<'_>,
    predicted: Option<usize>,
) -> Result<usize, StreamError> {
    if let Some(predicted) = predicted {
        let symbol = read_symbol(dec, STEP_RESIDUAL_SYMBOLS, |i| model.step_residual_cdf(i));
        if symbol + 1 < STEP_RESIDUAL_SYMBOLS {
            return (predicted + symbol)
                .checked_sub(STEP_REACH)
                .filter(|&j| j < model.steps())
                .ok_or(StreamError::StepOutOfRange);
        }
    }
    Ok(plain_step(dec, model))
}

/// Decode a step index coded with the plain prior.
fn plain_step(dec: &mut Decoder<'_>, model: &Model<'_>) -> usize {
    let slot = dec.peek(PROB_BITS);
    // Binary search for the last entry with cdf <= slot.
    let (mut lo, mut hi) = (0usize, model.steps());
    while hi - lo > 1 {
        let mid = (lo + hi) / 2;
        if model.step_cdf(mid) <= slot {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    let start = model.step_cdf(lo);
    dec.consume(start, model.step_cdf(lo + 1) - start, PROB_BITS);
    lo
}
