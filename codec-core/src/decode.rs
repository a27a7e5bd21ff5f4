//! Decoding: any byte string either becomes a vector or an error.
//!
//! Nothing is written to the output until the whole code has been read and checked: a
//! corrupt stream leaves the caller's buffer untouched.

use crate::entropy::{Decoder, decode_step, decode_value};
use crate::error::{Error, StreamError};
use crate::format::{MAX_CODE_LEN, MAX_DIM, Model, ModelInternals, StepGrid};
use crate::quant::{self, max_magnitude, reconstruct_level};
use crate::transform::inverse;
use crate::workspace::{Op, carve, max_workspace_size};

/// Decode `code` into `out` (at least `model.dim()` values; only those are written). Works in
/// a stack buffer big enough for any model (20 KiB); [`decode_ws`] takes the caller's instead.
pub fn decode(model: &Model<'_>, code: &[u8], out: &mut [f32]) -> Result<(), Error> {
    let mut workspace = [0u8; max_workspace_size(Op::Decode, MAX_DIM)];
    decode_ws(model, code, out, &mut workspace)
}

/// [`decode`] in the caller's `workspace` of at least [`crate::workspace_size`]`(model,
/// Op::Decode)` bytes (any alignment; its contents on entry do not matter and are garbage on
/// return). The same floats as [`decode`], bit for bit.
pub fn decode_ws(
    model: &Model<'_>,
    code: &[u8],
    out: &mut [f32],
    workspace: &mut [u8],
) -> Result<(), Error> {
    let mut carver = carve(model, Op::Decode, workspace)?;
    let coeffs = carver.i32s(model.coeffs())?;
    decode_coefficients(model, code, coeffs)?;
    if out.len() < model.dim() {
        return Err(Error::OutputTooSmall {
            needed: model.dim(),
            actual: out.len(),
        });
    }
    let acc = carver.i64s(model.active_count())?;
    inverse(model, coeffs, acc, out);
    Ok(())
}

/// Read and check a code, producing the reconstructed transform coefficients (decoder gains
/// applied); returns the code's step index.
pub fn decode_coefficients(
    model: &Model<'_>,
    code: &[u8],
    coeffs: &mut [i32],
) -> Result<usize, Error> {
    match code {
        [] => return Err(StreamError::Empty.into()),
        _ if code.len() > MAX_CODE_LEN => {
            return Err(StreamError::TooLong {
                length: code.len(),
                maximum: MAX_CODE_LEN,
            }
            .into());
        }
        _ => {}
    }
    let mut dec = Decoder::new(code);
    let step = decode_step(&mut dec, model, model.step_prediction(code.len()))?;
    let spread = |k| model.coef_spread_log(k);
    decode_values(&mut dec, model, step, spread, |k, _, y| {
        if let Some(slot) = coeffs.get_mut(k) {
            *slot = y;
        }
    })?;
    if !dec.consistent() {
        return Err(StreamError::BadEnd.into());
    }
    // Past its symbols a code is padded with zeros to the length its step index was coded
    // for. Other bytes there mean a code cut short, extended or damaged: its length or its
    // content is not what the encoder wrote.
    if !dec.rest_is_zero() {
        return Err(StreamError::BytesAfterSymbols.into());
    }
    apply_gains(model, step, coeffs);
    Ok(step)
}

/// Scale each of the model's leading [`ModelInternals::gain_coeffs`] coefficients by the gain of the
/// class it has at step index `step`: `(y * gain + 2^14) >> 15` (64-bit, arithmetic shift).
///
/// A value reconstructed at its level over-shoots on average where the step is coarse against
/// the coefficient's spread; the gains, fitted by training on round trips of training vectors,
/// pull the leading coefficients back to their least-squares size. The encoder does not see
/// them: they only change what a code decodes to.
pub(crate) fn apply_gains(model: &Model<'_>, step: usize, coeffs: &mut [i32]) {
    for (k, y) in coeffs.iter_mut().enumerate().take(model.gain_coeffs()) {
        let gain = i64::from(model.gain(model.class_of(k, step)));
        // |y| < 2^31 and gain <= 2^15: the product fits, and the result is no larger than y
        // in magnitude.
        *y = ((i64::from(*y) * gain + (1 << 14)) >> 15) as i32;
    }
}

/// Decode one value per coefficient at step index `step`, each in the class its spread log
/// picks, and hand `(coefficient, magnitude, reconstruction)` to `put`. Public for tools that
/// study the coder's symbols (`codec-host/examples/entropy_probe.rs`); a decoder wants
/// [`decode_coefficients`], which also checks the code's end and applies the gains.
pub fn decode_values(
    dec: &mut Decoder<'_>,
    model: &Model<'_>,
    step: usize,
    spread: impl Fn(usize) -> i32,
    mut put: impl FnMut(usize, u64, i32),
) -> Result<(), StreamError> {
    let alphabet = model.alphabet();
    let trellis = model.trellis();
    let mut state = quant::START;
    for k in 0..model.coeffs() {
        let q = if trellis { quant::quantiser(state) } else { 0 };
        let class = model.table(model.class_for(spread(k), k, step), q);
        let (m, negative) = decode_value(dec, &class, alphabet)?;
        // Most values of a small code are zeros, which need no step: only the class.
        let value = if m == 0 {
            0
        } else {
            let s = model.step(k, step);
            if m > max_magnitude(s) {
                return Err(StreamError::CoefficientOutOfRange);
            }
            let level = if trellis { quant::level(q, m) } else { m };
            reconstruct_level(level, m, negative, s, &class)
        };
        put(k, m, value);
        state = quant::next_state(state, m);
    }
    Ok(())
}
