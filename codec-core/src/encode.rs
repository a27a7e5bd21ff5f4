//! Encoding with a hard byte budget.
//!
//! Rate control searches the model's steps (finest first) for the finest one whose code fits
//! the budget. The coarsest step quantises every coefficient to zero, so its code has the same
//! length for every input: that length is the model's minimum budget, and any budget at or above
//! it always succeeds. Each trial codes into the caller's output buffer and stops as soon as it
//! overflows, so a failed trial costs little and no second buffer is needed.

use crate::error::Error;
use crate::model::{MAX_ACTIVE, MAX_CODE_LEN, MAX_COEFFS, Model};
use crate::quant::quantise;
use crate::range_coder::Encoder;
use crate::symbols::{encode_step, encode_value};
use crate::transform::{centre, forward};

/// Encode `x` (`model.dim()` values) into at most `budget` bytes of `out` and return the
/// code's length. `out` must hold at least `budget` bytes.
pub fn encode(model: &Model<'_>, x: &[f32], budget: usize, out: &mut [u8]) -> Result<usize, Error> {
    encode_coded(model, x, budget, out).map(|c| c.len)
}

/// [`encode`], also telling which step rate control chose.
pub fn encode_coded(
    model: &Model<'_>,
    x: &[f32],
    budget: usize,
    out: &mut [u8],
) -> Result<Coded, Error> {
    if budget > MAX_CODE_LEN {
        return Err(Error::BudgetTooLarge {
            budget,
            maximum: MAX_CODE_LEN,
        });
    }
    if out.len() < budget {
        return Err(Error::OutputTooSmall {
            needed: budget,
            actual: out.len(),
        });
    }
    let mut centred = [0i32; MAX_ACTIVE];
    let mut coeffs = [0i32; MAX_COEFFS];
    centre(model, x, &mut centred)?;
    forward(model, &centred, &mut coeffs);
    // `get`: both lengths are known to fit (validated model, checked budget), but an index
    // would link panic formatting into firmware.
    let coeffs = coeffs.get(..model.coeffs()).unwrap_or(&coeffs);
    match out.get_mut(..budget) {
        Some(out) => encode_coefficients(model, coeffs, out),
        None => Err(Error::OutputTooSmall {
            needed: budget,
            actual: out.len(),
        }),
    }
}

/// A finished code: its length and the step index rate control chose.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Coded {
    /// Bytes written.
    pub len: usize,
    /// Step index (0 is the finest).
    pub step: usize,
}

/// Rate control over already transformed coefficients; the code goes to `out` (whose length is
/// the budget).
pub fn encode_coefficients(
    model: &Model<'_>,
    coeffs: &[i32],
    out: &mut [u8],
) -> Result<Coded, Error> {
    let values = || {
        coeffs
            .iter()
            .enumerate()
            .map(|(k, &y)| (y, model.coef_spread_log(k)))
    };
    search_step(model, out, |step, out| {
        code_values(model, values(), step, out)
    })
}

/// The finest step index whose code fits `out`, found by binary search over `trial` (which
/// codes at a step into the buffer and says how long the code is, if it fits). The coarsest
/// step must fit, else the budget is below the model's minimum. On return `out` holds the
/// winning code.
pub(crate) fn search_step(
    model: &Model<'_>,
    out: &mut [u8],
    mut trial: impl FnMut(usize, &mut [u8]) -> Option<usize>,
) -> Result<Coded, Error> {
    let coarsest = model.steps() - 1;
    let too_small = Error::BudgetTooSmall {
        budget: out.len(),
        minimum: model.min_budget(),
    };
    let mut best = trial(coarsest, out).ok_or(too_small)?;
    let mut best_step = coarsest;
    let mut last_trial = coarsest;
    // Invariant: `best_step` fits; every step below `lo` was tried and did not fit.
    let mut lo = 0;
    while lo < best_step {
        let mid = (lo + best_step) / 2;
        last_trial = mid;
        match trial(mid, out) {
            Some(len) => {
                best = len;
                best_step = mid;
            }
            None => lo = mid + 1,
        }
    }
    // The buffer holds the last trial's bytes; redo the winner if it was not the last.
    if last_trial != best_step {
        best = trial(best_step, out).ok_or(too_small)?;
    }
    Ok(Coded {
        len: best,
        step: best_step,
    })
}

/// Code `coeffs` at step index `step` into `out`; `None` when it does not fit.
pub fn code_at(
    model: &Model<'_>,
    coeffs: impl Iterator<Item = i32>,
    step: usize,
    out: &mut [u8],
) -> Option<usize> {
    let values = coeffs
        .enumerate()
        .map(|(k, y)| (y, model.coef_spread_log(k)));
    code_values(model, values, step, out)
}

/// Code `(value, spread log)` pairs, one per coefficient in order, at step index `step`: the
/// spread picks each value's probability class. `None` when the code does not fit.
pub(crate) fn code_values(
    model: &Model<'_>,
    values: impl Iterator<Item = (i32, i32)>,
    step: usize,
    out: &mut [u8],
) -> Option<usize> {
    let mut enc = Encoder::new(out);
    encode_step(&mut enc, model, step);
    let alphabet = model.alphabet();
    for (k, (y, spread)) in values.enumerate() {
        let class = model.class(model.class_for(spread, step));
        let m = quantise(y, model.step(k, step), class.rounding);
        encode_value(&mut enc, &class, alphabet, m, y < 0);
        if enc.overflowed() {
            return None;
        }
    }
    enc.finish()
}

/// Longest minimum budget a model may have. Trained models need a few bytes; the bound keeps
/// the scratch buffer of [`coarsest_code_len`] small on microcontroller stacks.
pub const MAX_MIN_BUDGET: usize = 128;

/// Length of the code of the coarsest step, which is the same for every input.
pub(crate) fn coarsest_code_len(model: &Model<'_>) -> Result<usize, Error> {
    let mut scratch = [0u8; MAX_MIN_BUDGET];
    let zeros = core::iter::repeat_n(0, model.coeffs());
    code_at(model, zeros, model.steps() - 1, &mut scratch).ok_or(Error::ModelInvalid(
        "the coarsest code is longer than 128 bytes",
    ))
}
