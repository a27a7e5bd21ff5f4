//! Scalable codes: one encode whose prefixes are codes too.
//!
//! The model's budgets (say 16, 32, 64, 128, 256 bytes) cut a scalable code into layers:
//! bytes `0..16` are an ordinary code of the vector; bytes `16..32` code what the first layer
//! left (the residual of every coefficient) at a finer step; and so on. Each layer has its own
//! step (rate control per layer) and is padded with zero bytes to its exact size, so the first
//! `B` bytes of a scalable code, for any budget `B` of the model, decode on their own: a camera
//! encodes once at the largest budget and the link drops the tail when it is congested.
//!
//! A layer codes residuals with the same class tables as a plain code, and its step index
//! with the plain step prior (a layer's length is not a budget). What changes is the
//! spread each residual is assumed to have: after a coefficient was coded with a non-zero
//! magnitude at step `s`, its residual lies in a cell of width `s` (spread `s / sqrt(12)`);
//! after a zero, it lies in the dead zone (spread about `0.44 s`, or its trained spread if that
//! is smaller). Encoder and decoder track these spreads identically.

use core::cell::Cell;

use crate::decode::{apply_gains, decode_values};
use crate::encode::{code_values, search_step, trellis_hint};
use crate::entropy::{Decoder, decode_step};
use crate::error::{Error, StreamError};
use crate::format::{COEFF_LIMIT, MAX_DIM, Model, ModelInternals};
use crate::quant::quantise_values;
use crate::transform::{centre, forward, inverse};
use crate::workspace::{Carver, Op, carve, max_workspace_size};

/// `256 * log2(sqrt(12))`: a value known to lie in a cell of width `step` spreads `step/sqrt(12)`.
const CELL_SPREAD: i32 = 459;
/// `256 * log2(1 / 0.44)`: spread of a value known to be in the zero bin, relative to the step,
/// for the dead zones training picks.
const ZERO_BIN_SPREAD: i32 = 303;

/// A residual's spread log, kept in 16 bits so that the scalable workspace of the default
/// model fits 8 KiB: every spread is the coefficient's trained one or a step log less
/// [`ZERO_BIN_SPREAD`] or [`CELL_SPREAD`], so the step index (below `MAX_STEPS` = 2^10) and
/// which of the two says it exactly. [`TRAINED`] is the trained spread; otherwise bit 15 set
/// is a cell, clear the zero bin, and the low bits the step index.
type SpreadCode = u16;

/// The coefficient's trained spread ([`ModelInternals::coef_spread_log`]).
const TRAINED: SpreadCode = u16::MAX;
/// Bit of a [`SpreadCode`] for a cell (after a non-zero magnitude).
const CELL: SpreadCode = 1 << 15;

/// The spread log `code` stands for, for coefficient `k`.
fn spread_log(model: &Model<'_>, k: usize, code: SpreadCode) -> i32 {
    match code {
        TRAINED => model.coef_spread_log(k),
        _ if code & CELL != 0 => model.step_log(usize::from(code & !CELL)) - CELL_SPREAD,
        _ => model.step_log(usize::from(code)) - ZERO_BIN_SPREAD,
    }
}

/// Spread of coefficient `k`'s residual after a layer coded it with magnitude `m` at step
/// index `step`: a cell of the step after a non-zero, else the narrower of the previous
/// spread `prev` and the step's zero bin.
fn next_spread(model: &Model<'_>, k: usize, prev: SpreadCode, m: u64, step: usize) -> SpreadCode {
    // Step indices are below MAX_STEPS = 2^10 (validated), so they fit beside the flag.
    let j = (step & 0x3FF) as SpreadCode;
    if m != 0 {
        return CELL | j;
    }
    if spread_log(model, k, j) < spread_log(model, k, prev) {
        j
    } else {
        prev
    }
}

/// The `(start, end)` byte ranges of the layers: consecutive budgets of the model.
fn layers<'m>(model: &'m Model<'_>) -> impl Iterator<Item = (usize, usize)> + 'm {
    (0..model.budget_count()).filter_map(move |i| {
        let end = model.budget(i)?;
        let start = if i == 0 { 0 } else { model.budget(i - 1)? };
        Some((start, end))
    })
}

/// Length of a complete scalable code: the model's largest budget (0 if it lists none).
pub fn scalable_len(model: &Model<'_>) -> usize {
    layers(model).last().map_or(0, |(_, end)| end)
}

/// Decoder-side state carried from layer to layer, in the caller's workspace.
struct Layered<'a> {
    /// Reconstruction so far, per coefficient.
    coeffs: &'a mut [i32],
    /// Spread of each coefficient's residual ([`SpreadCode`]). Cells, so that the coder reads
    /// the spreads while the layer's values update them: coefficient `i` is read before it is
    /// updated, and never after, so one array serves both.
    spread: &'a [Cell<SpreadCode>],
}

impl<'a> Layered<'a> {
    /// The state before the first layer, carved from `carver`.
    fn new(model: &Model<'_>, carver: &mut Carver<'a>) -> Result<Self, Error> {
        let coeffs = carver.i32s(model.coeffs())?;
        coeffs.fill(0);
        let spread = carver.u16s(model.coeffs())?;
        spread.fill(TRAINED);
        Ok(Layered {
            coeffs,
            spread: Cell::from_mut(spread).as_slice_of_cells(),
        })
    }

    /// Spread log of coefficient `i`'s residual.
    fn spread(&self, model: &Model<'_>, i: usize) -> i32 {
        spread_log(model, i, self.spread.get(i).map_or(TRAINED, Cell::get))
    }

    /// Fold one decoded value of coefficient `k` (layer at step index `step`) into the state.
    fn absorb(&mut self, model: &Model<'_>, k: usize, step: usize, m: u64, value: i32) {
        let limit = 2 * COEFF_LIMIT;
        if let (Some(c), Some(s)) = (self.coeffs.get_mut(k), self.spread.get(k)) {
            *c = c.saturating_add(value).max(-limit).min(limit);
            s.set(next_spread(model, k, s.get(), m, step));
        }
    }
}

/// What remains of coefficient `i` after the layers so far, within the coefficient range.
fn residual_of(target: &[i32], state: &Layered<'_>, i: usize) -> i32 {
    let t = target.get(i).copied().unwrap_or(0);
    let c = state.coeffs.get(i).copied().unwrap_or(0);
    let r = i64::from(t) - i64::from(c);
    r.max(-i64::from(COEFF_LIMIT)).min(i64::from(COEFF_LIMIT)) as i32
}

/// Encode `x` into a scalable code filling `out[..scalable_len(model)]` exactly; returns that
/// length. Every prefix ending at one of the model's budgets is a valid scalable code. Works in
/// a stack buffer big enough for any model (20 KiB); [`encode_scalable_ws`] takes the caller's
/// instead.
pub fn encode_scalable(model: &Model<'_>, x: &[f32], out: &mut [u8]) -> Result<usize, Error> {
    let mut workspace = [0u8; max_workspace_size(Op::EncodeScalable, MAX_DIM)];
    encode_scalable_ws(model, x, out, &mut workspace)
}

/// [`encode_scalable`] in the caller's `workspace` of at least
/// [`crate::workspace_size`]`(model, Op::EncodeScalable)` bytes (any alignment; its contents on
/// entry do not matter and are garbage on return). The same code, byte for byte.
pub fn encode_scalable_ws(
    model: &Model<'_>,
    x: &[f32],
    out: &mut [u8],
    workspace: &mut [u8],
) -> Result<usize, Error> {
    let total = scalable_len(model);
    if total == 0 {
        return Err(Error::NoLayers);
    }
    if out.len() < total {
        return Err(Error::OutputTooSmall {
            needed: total,
            actual: out.len(),
        });
    }
    let mut carver = carve(model, Op::EncodeScalable, workspace)?;
    let k = model.coeffs();
    let target = carver.i32s(k)?;
    let mut state = Layered::new(model, &mut carver)?;
    {
        // The centred input is dead once transformed: the layers' scratch reuses it.
        let mut phase = carver.scoped();
        let centred = phase.i32s(model.active_count())?;
        centre(model, x, centred)?;
        forward(model, centred, target);
    }
    let residual = carver.i32s(k)?;
    let mut search = carver.search(model)?;
    for (start, end) in layers(model) {
        let Some(slot) = out.get_mut(start..end) else {
            // Budgets are validated increasing, so every layer lies inside the code.
            return Err(Error::NoLayers);
        };
        // Residuals of this layer, with the spreads both sides know.
        for (i, r) in residual.iter_mut().enumerate() {
            *r = residual_of(target, &state, i);
        }
        let residual = &*residual;
        let spread = |i: usize| state.spread(model, i);
        let hint = trellis_hint(model, residual, &spread, slot.len(), None);
        let paths = &mut search.paths;
        let coded = search_step(model, slot, hint, search.kept, |step, slope_scale, buf| {
            code_values(model, residual, spread, step, slope_scale, None, paths, buf)
        })?;
        let (len, step) = (coded.len, coded.step);
        // What the decoder will reconstruct from the winning code.
        let spread = state.spread;
        quantise_values(
            model,
            residual,
            |i: usize| spread_log(model, i, spread.get(i).map_or(TRAINED, Cell::get)),
            step,
            None,
            coded.slope_scale,
            &mut search.paths,
            |i, _, m, _, v| {
                state.absorb(model, i, step, m, v);
                true
            },
        );
        if let Some(pad) = slot.get_mut(len..) {
            pad.fill(0);
        }
    }
    Ok(total)
}

/// Decode a scalable code (or any prefix of one that ends at a budget of the model) into `out`.
/// Returns the number of layers decoded. Works in a stack buffer big enough for any model
/// (24 KiB); [`decode_scalable_ws`] takes the caller's instead.
pub fn decode_scalable(model: &Model<'_>, code: &[u8], out: &mut [f32]) -> Result<usize, Error> {
    let mut workspace = [0u8; max_workspace_size(Op::DecodeScalable, MAX_DIM)];
    decode_scalable_ws(model, code, out, &mut workspace)
}

/// [`decode_scalable`] in the caller's `workspace` of at least
/// [`crate::workspace_size`]`(model, Op::DecodeScalable)` bytes (any alignment; its contents on
/// entry do not matter and are garbage on return). The same floats, bit for bit.
pub fn decode_scalable_ws(
    model: &Model<'_>,
    code: &[u8],
    out: &mut [f32],
    workspace: &mut [u8],
) -> Result<usize, Error> {
    if code.is_empty() {
        return Err(StreamError::Empty.into());
    }
    if !layers(model).any(|(_, end)| end == code.len()) {
        return Err(StreamError::NotALayerBoundary.into());
    }
    if out.len() < model.dim() {
        return Err(Error::OutputTooSmall {
            needed: model.dim(),
            actual: out.len(),
        });
    }
    let mut carver = carve(model, Op::DecodeScalable, workspace)?;
    let mut state = Layered::new(model, &mut carver)?;
    let mut decoded = 0;
    let mut last_step = 0;
    for (start, end) in layers(model).take_while(|&(_, end)| end <= code.len()) {
        let Some(bytes) = code.get(start..end) else {
            return Err(StreamError::NotALayerBoundary.into());
        };
        let mut dec = Decoder::new(bytes);
        let step = decode_step(&mut dec, model, None)?;
        let spread = state.spread;
        decode_values(
            &mut dec,
            model,
            step,
            |i| spread_log(model, i, spread.get(i).map_or(TRAINED, Cell::get)),
            |i, m, v| state.absorb(model, i, step, m, v),
        )?;
        if !dec.consistent() {
            return Err(StreamError::BadEnd.into());
        }
        if !dec.rest_is_zero() {
            return Err(StreamError::BytesAfterSymbols.into());
        }
        decoded += 1;
        last_step = step;
    }
    // The gains of the rate the code reached: its last layer's step (every code has a layer).
    apply_gains(model, last_step, state.coeffs);
    let acc = carver.i64s(model.active_count())?;
    inverse(model, state.coeffs, acc, out);
    Ok(decoded)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The 16-bit spread codes stand for exactly the logs the 32-bit spreads held before
    /// (`prev.min(step_log - ZERO_BIN_SPREAD)` after a zero, `step_log - CELL_SPREAD` after a
    /// non-zero), over random layer sequences at every step of a trained model.
    #[test]
    fn spread_codes_give_the_logs_of_the_plain_spreads() {
        let bytes = include_bytes!("../tests/golden/model-v1.nfcm");
        let model = Model::parse(bytes).unwrap();
        let mut rng = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = |n: usize| {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            (rng % n as u64) as usize
        };
        for k in 0..model.coeffs() {
            let (mut code, mut plain) = (TRAINED, model.coef_spread_log(k));
            for _ in 0..12 {
                let step = next(model.steps());
                let m = if next(2) == 0 { 0 } else { 1 + next(5) as u64 };
                let step_log = model.step_log(step);
                plain = if m == 0 {
                    plain.min(step_log - ZERO_BIN_SPREAD)
                } else {
                    step_log - CELL_SPREAD
                };
                code = next_spread(&model, k, code, m, step);
                assert_eq!(spread_log(&model, k, code), plain, "coefficient {k}");
            }
        }
    }
}
