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

use crate::decode::{apply_gains, decode_values};
use crate::encode::{code_values, search_step, trellis_hint};
use crate::entropy::{Decoder, decode_step};
use crate::error::{Error, StreamError};
use crate::format::{COEFF_LIMIT, MAX_ACTIVE, MAX_COEFFS, Model, ModelInternals};
use crate::quant::quantise_values;
use crate::transform::{centre, forward, inverse};

/// `256 * log2(sqrt(12))`: a value known to lie in a cell of width `step` spreads `step/sqrt(12)`.
const CELL_SPREAD: i32 = 459;
/// `256 * log2(1 / 0.44)`: spread of a value known to be in the zero bin, relative to the step,
/// for the dead zones training picks.
const ZERO_BIN_SPREAD: i32 = 303;

/// Spread log of a coefficient's residual after a layer coded it with magnitude `m` at a step
/// whose log is `step_log`.
fn next_spread(prev: i32, m: u64, step_log: i32) -> i32 {
    if m == 0 {
        prev.min(step_log - ZERO_BIN_SPREAD)
    } else {
        step_log - CELL_SPREAD
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

/// Decoder-side state carried from layer to layer.
struct Layered {
    /// Reconstruction so far, per coefficient.
    coeffs: [i32; MAX_COEFFS],
    /// Spread log of each coefficient's residual.
    spread: [i32; MAX_COEFFS],
}

impl Layered {
    fn new(model: &Model<'_>) -> Self {
        let mut spread = [0i32; MAX_COEFFS];
        for (k, s) in spread.iter_mut().enumerate().take(model.coeffs()) {
            *s = model.coef_spread_log(k);
        }
        Layered {
            coeffs: [0; MAX_COEFFS],
            spread,
        }
    }

    /// Fold one decoded value of coefficient `k` (layer at step index `step`) into the state.
    fn absorb(&mut self, model: &Model<'_>, k: usize, step: usize, m: u64, value: i32) {
        let limit = 2 * COEFF_LIMIT;
        if let (Some(c), Some(s)) = (self.coeffs.get_mut(k), self.spread.get_mut(k)) {
            *c = c.saturating_add(value).max(-limit).min(limit);
            *s = next_spread(*s, m, model.step_log(step));
        }
    }
}

/// What remains of coefficient `i` after the layers so far, within the coefficient range.
fn residual_of(target: &[i32], state: &Layered, i: usize) -> i32 {
    let t = target.get(i).copied().unwrap_or(0);
    let c = state.coeffs.get(i).copied().unwrap_or(0);
    let r = i64::from(t) - i64::from(c);
    r.max(-i64::from(COEFF_LIMIT)).min(i64::from(COEFF_LIMIT)) as i32
}

/// Encode `x` into a scalable code filling `out[..scalable_len(model)]` exactly; returns that
/// length. Every prefix ending at one of the model's budgets is a valid scalable code.
pub fn encode_scalable(model: &Model<'_>, x: &[f32], out: &mut [u8]) -> Result<usize, Error> {
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
    let mut centred = [0i32; MAX_ACTIVE];
    let mut target = [0i32; MAX_COEFFS];
    centre(model, x, &mut centred)?;
    forward(model, &centred, &mut target);
    let k = model.coeffs();
    let mut state = Layered::new(model);
    for (start, end) in layers(model) {
        let Some(slot) = out.get_mut(start..end) else {
            // Budgets are validated increasing, so every layer lies inside the code.
            return Err(Error::NoLayers);
        };
        // Residuals of this layer, with the spreads both sides know.
        let mut residual = [0i32; MAX_COEFFS];
        for (i, r) in residual.iter_mut().enumerate().take(k) {
            *r = residual_of(&target, &state, i);
        }
        let residual = residual.get(..k).unwrap_or(&residual);
        let spread = state.spread;
        let spread = |i: usize| spread.get(i).copied().unwrap_or(0);
        let hint = trellis_hint(model, residual, &spread, slot.len(), None);
        let coded = search_step(model, slot, hint, |step, slope_scale, buf| {
            code_values(model, residual, spread, step, slope_scale, None, buf)
        })?;
        let (len, step) = (coded.len, coded.step);
        // What the decoder will reconstruct from the winning code.
        quantise_values(
            model,
            residual,
            spread,
            step,
            None,
            coded.slope_scale,
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
/// Returns the number of layers decoded.
pub fn decode_scalable(model: &Model<'_>, code: &[u8], out: &mut [f32]) -> Result<usize, Error> {
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
    let mut state = Layered::new(model);
    let mut decoded = 0;
    let mut last_step = 0;
    for (start, end) in layers(model).take_while(|&(_, end)| end <= code.len()) {
        let Some(bytes) = code.get(start..end) else {
            return Err(StreamError::NotALayerBoundary.into());
        };
        let mut dec = Decoder::new(bytes);
        let step = decode_step(&mut dec, model, None)?;
        // Coefficient `i` is read before it is updated, so a copy of the spreads taken before
        // the layer serves the whole layer.
        let spread = state.spread;
        decode_values(
            &mut dec,
            model,
            step,
            |i| spread.get(i).copied().unwrap_or(0),
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
    apply_gains(model, last_step, &mut state.coeffs);
    let mut acc = [0i64; MAX_ACTIVE];
    inverse(
        model,
        state.coeffs.get(..model.coeffs()).unwrap_or(&state.coeffs),
        &mut acc,
        out,
    );
    Ok(decoded)
}
