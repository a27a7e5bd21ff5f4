//! Encoding with a hard byte budget.
//!
//! Rate control searches the model's steps for the finest one whose code fits the budget
//! (`search_step`). Code length falls with the step almost everywhere but not strictly (a
//! coarser step can cost more when few coefficients change magnitude, since the tables then
//! make each non-zero dearer), so the search guarantees a boundary, not the optimum: the
//! chosen step fits and the next finer one does not (`docs/decisions/core-rate-control.md`
//! has what an exhaustive scan finds). The coarsest step quantises every
//! coefficient to zero, so its code has the same length for every input: that length is the
//! model's minimum budget, and any budget at or above it always succeeds. Each trial codes
//! into the caller's output buffer and stops as soon as it overflows, so a failed trial costs
//! little; the best code so far is kept in a small buffer (up to 256 bytes) so that it
//! need not be coded twice. The coarsest step is coded only if no finer one fits; a winning
//! trellis code that leaves room gets one more trial at its step with cheaper bits
//! ([`RELIEF_SLOPE`]), which fills part of the room the step grid leaves.

use crate::entropy::{Encoder, encode_step, encode_value};
use crate::error::{Error, ModelError};
use crate::format::{MAX_CODE_LEN, MAX_COEFFS, MAX_DIM, Model, ModelInternals, StepGrid};
use crate::quant::quantise_values;
use crate::quant::trellis::{self, FULL_SLOPE};
use crate::transform::{centre, forward};
use crate::workspace::{KEEP_LEN, Op, Paths, Search, carve, max_workspace_size};

/// Encode `x` (`model.dim()` values) into at most `budget` bytes of `out` and return the
/// code's length. `out` must hold at least `budget` bytes. Works in a stack buffer big enough
/// for any model (12 KiB); [`encode_ws`] takes the caller's instead.
pub fn encode(model: &Model<'_>, x: &[f32], budget: usize, out: &mut [u8]) -> Result<usize, Error> {
    encode_coded(model, x, budget, out).map(|c| c.len)
}

/// [`encode`] in the caller's `workspace` of at least [`crate::workspace_size`]`(model,
/// Op::Encode)` bytes (any alignment; its contents on entry do not matter and are garbage on
/// return). The same code as [`encode`], byte for byte.
pub fn encode_ws(
    model: &Model<'_>,
    x: &[f32],
    budget: usize,
    out: &mut [u8],
    workspace: &mut [u8],
) -> Result<usize, Error> {
    with_coefficients(model, x, budget, out, workspace, code_coefficients).map(|c| c.len)
}

/// Stack workspace of the functions that take none: enough for any model.
const ENCODE_STACK: usize = max_workspace_size(Op::Encode, MAX_DIM);

/// [`encode`], also telling which step rate control chose.
pub fn encode_coded(
    model: &Model<'_>,
    x: &[f32],
    budget: usize,
    out: &mut [u8],
) -> Result<Coded, Error> {
    let mut workspace = [0u8; ENCODE_STACK];
    with_coefficients(model, x, budget, out, &mut workspace, code_coefficients)
}

/// Encode `x` at step index `step` (0 is the finest) instead of letting rate control choose:
/// a code of constant quality rather than of constant length, in the same stream format.
/// `Ok(None)` when that code would be longer than `budget`. Rate control's choice for a budget
/// is a step whose code fits while the next finer step's does not; the code length is not
/// monotone in the step (a coarser step can cost more bits when few coefficients change), so
/// an even finer step can occasionally fit too. With a length step prior, whether the step fits is decided by its code conditioned on `budget`, as rate control
/// decides; the code returned is conditioned on the first length, from that code's own up,
/// that it fits (and padded with zero bytes to it).
pub fn encode_at_step(
    model: &Model<'_>,
    x: &[f32],
    step: usize,
    budget: usize,
    out: &mut [u8],
) -> Result<Option<usize>, Error> {
    if step >= model.steps() {
        return Err(Error::StepOutOfRange {
            step,
            steps: model.steps(),
        });
    }
    let mut workspace = [0u8; ENCODE_STACK];
    with_coefficients(
        model,
        x,
        budget,
        out,
        &mut workspace,
        |model, coeffs, out, search| {
            let paths = &mut search.paths;
            let spread = |k| model.coef_spread_log(k);
            let budget = out.len();
            let predicted = model.step_prediction(budget);
            let Some(len) = code_values(
                model, coeffs, spread, step, FULL_SLOPE, predicted, paths, out,
            ) else {
                return Ok(None);
            };
            if predicted.is_none() {
                return Ok(Some(len));
            }
            // Conditioned on `budget` the code fits, so this ends at `budget` at the latest; the
            // step index costs a few bits more or less at other lengths, so it ends within a byte
            // or two of `len`.
            Ok((len..=budget).find_map(|length| {
                let slot = out.get_mut(..length)?;
                let predicted = model.step_prediction(length);
                let used = code_values(
                    model, coeffs, spread, step, FULL_SLOPE, predicted, paths, slot,
                )?;
                Some(pad(slot, used))
            }))
        },
    )
}

/// Fill `code` after its first `used` bytes with zeros and return its length: a code of a
/// code is as long as the length its step index was coded for.
fn pad(code: &mut [u8], used: usize) -> usize {
    if let Some(rest) = code.get_mut(used..) {
        rest.fill(0);
    }
    code.len()
}

/// Check the budget and output buffer, transform `x` in `workspace` (of [`Op::Encode`]), and
/// hand its coefficients, the budget's part of `out` and rate control's scratch to `code`.
fn with_coefficients<T>(
    model: &Model<'_>,
    x: &[f32],
    budget: usize,
    out: &mut [u8],
    workspace: &mut [u8],
    code: impl FnOnce(&Model<'_>, &[i32], &mut [u8], &mut Search<'_>) -> Result<T, Error>,
) -> Result<T, Error> {
    if budget > MAX_CODE_LEN {
        return Err(Error::BudgetTooLarge {
            budget,
            maximum: MAX_CODE_LEN,
        });
    }
    let too_small = Error::OutputTooSmall {
        needed: budget,
        actual: out.len(),
    };
    let out = out.get_mut(..budget).ok_or(too_small)?;
    let mut carver = carve(model, Op::Encode, workspace)?;
    let coeffs = carver.i32s(model.coeffs())?;
    {
        // The centred input is dead once transformed: rate control's scratch reuses it.
        let mut phase = carver.scoped();
        let centred = phase.i32s(model.active_count())?;
        centre(model, x, centred)?;
        forward(model, centred, coeffs);
    }
    let mut search = carver.search(model)?;
    code(model, coeffs, out, &mut search)
}

/// A finished code: its length and the step index rate control chose.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Coded {
    /// Bytes written.
    pub len: usize,
    /// Step index (0 is the finest).
    pub step: usize,
    /// Scale (Q8) of the trellis's rate-distortion slopes the code was searched with:
    /// [`FULL_SLOPE`], or [`RELIEF_SLOPE`] when the last trial of rate control fitted. The
    /// decoder does not need it; an encoder that re-runs the search (scalable codes) does.
    pub slope_scale: u32,
}

/// Rate control over already transformed coefficients; the code goes to `out` (whose length is
/// the budget).
pub fn encode_coefficients(
    model: &Model<'_>,
    coeffs: &[i32],
    out: &mut [u8],
) -> Result<Coded, Error> {
    let mut decisions = [0u16; MAX_COEFFS];
    let mut path = [0u8; MAX_COEFFS];
    let mut kept = [0u8; KEEP_LEN];
    let mut search = Search {
        paths: Paths {
            decisions: &mut decisions,
            path: &mut path,
        },
        kept: &mut kept,
    };
    code_coefficients(model, coeffs, out, &mut search)
}

/// [`encode_coefficients`] with rate control's scratch from the caller.
fn code_coefficients(
    model: &Model<'_>,
    coeffs: &[i32],
    out: &mut [u8],
    search: &mut Search<'_>,
) -> Result<Coded, Error> {
    let spread = |k| model.coef_spread_log(k);
    let predicted = model.step_prediction(out.len());
    // A model without the trellis has no quick estimate; its search walks from the prior's
    // prediction instead of bisecting.
    let hint = trellis_hint(model, coeffs, &spread, out.len(), predicted).or(predicted);
    let paths = &mut search.paths;
    let coded = search_step(model, out, hint, search.kept, |step, slope_scale, out| {
        code_values(
            model,
            coeffs,
            spread,
            step,
            slope_scale,
            predicted,
            paths,
            out,
        )
    })?;
    Ok(if predicted.is_some() {
        Coded {
            len: pad(out, coded.len),
            ..coded
        }
    } else {
        coded
    })
}

/// Rate-distortion slope scale (Q8) of the trellis search that rate control tries last, at
/// the chosen step, when the code leaves [`relief_room`] unused: the step grid leaves about a
/// byte of the budget unused on average, and a path with cheaper bits fills part of it (the
/// measurements behind 192 are in `docs/decisions/core-rate-control.md`).
pub const RELIEF_SLOPE: u32 = 192;

/// Bytes of `budget` a code must leave unused for the relief trial: 1/64 of the budget, at
/// least one. The trial costs as much at every budget but a byte buys less the larger the
/// budget, so large budgets only try it when much is left.
pub fn relief_room(budget: usize) -> usize {
    (budget / 64).max(1)
}

/// A step index whose code fits `out` while the next finer one's does not (the finest that
/// fits, where code length is monotone), searched over `trial` (which codes at a step, with a
/// trellis slope scale, into the buffer and says how long the code is, if it fits), keeping
/// the best code so far in `kept` when it is long enough (up to [`KEEP_LEN`] bytes). The
/// coarsest step must fit, else the budget is below the model's minimum. On return `out`
/// holds the winning code.
///
/// A bracketed search: `best_step` fits, and step `lo - 1` was tried and did not (the steps
/// below it are taken not to fit either).
/// Without a hint it bisects. With one (an estimate of the answer) it probes the hint, then
/// walks away from it in the direction the probe says, doubling its stride, and bisects once
/// a probe lands on the other side: two or three trials when the hint is close, and never
/// many more than bisection when it is not. Every trial narrows the bracket, so it ends.
///
/// For a trellis model a code that leaves [`relief_room`] unused is then tried once more at
/// the same step with [`RELIEF_SLOPE`], and kept if it fits (codes of up to [`KEEP_LEN`]
/// bytes, whose winner is kept to fall back on).
pub(crate) fn search_step(
    model: &Model<'_>,
    out: &mut [u8],
    hint: Option<usize>,
    kept: &mut [u8],
    mut trial: impl FnMut(usize, u32, &mut [u8]) -> Option<usize>,
) -> Result<Coded, Error> {
    let coarsest = model.steps() - 1;
    let budget = out.len();
    // Only on failure: the minimum is worked out for the message, not on every code.
    let too_small = || match min_budget(model) {
        Ok(minimum) => Error::BudgetTooSmall { budget, minimum },
        Err(e) => Error::Model(e),
    };
    // The coarsest step is taken to fit until the end, and only coded then if nothing finer
    // fits: it saves a trial on nearly every code.
    let mut best: Option<usize> = None;
    let mut best_step = coarsest;
    let mut last_trial = None;
    // The best code so far is kept when small enough, so a failed last trial needs no redo.
    let mut kept_best = false;
    let mut lo = 0;
    let mut probe = hint;
    // While walking: whether the last probe fitted (then the walk heads finer), and how many
    // probes it has made (the stride is 1, 1, 2, 4, ...).
    let mut walk: Option<(bool, u32)> = None;
    while lo < best_step {
        let walking = probe.filter(|&j| j >= lo && j < best_step);
        let mid = walking.unwrap_or((lo + best_step) / 2);
        last_trial = Some(mid);
        let fits = match trial(mid, FULL_SLOPE, out) {
            Some(len) => {
                best = Some(len);
                best_step = mid;
                kept_best = keep(kept, out, len);
                true
            }
            None => {
                lo = mid + 1;
                false
            }
        };
        probe = None;
        if walking.is_some() {
            let made = match walk {
                None => 0,
                Some((fitted, made)) if fitted == fits => made + 1,
                // The probe crossed the answer: it is bracketed, bisect.
                Some(_) => continue,
            };
            walk = Some((fits, made));
            let stride = 1usize << made.saturating_sub(1).min(16);
            probe = if fits {
                mid.checked_sub(stride)
            } else {
                Some(mid + stride)
            };
        }
    }
    // The buffer holds the last trial's bytes; restore or redo the winner if it was not last.
    let best = match best {
        Some(len) if last_trial == Some(best_step) => len,
        Some(len) if kept_best && keep(out, kept, len) => len,
        _ => trial(best_step, FULL_SLOPE, out).ok_or_else(too_small)?,
    };
    let plain = Coded {
        len: best,
        step: best_step,
        slope_scale: FULL_SLOPE,
    };
    let room = out.len().saturating_sub(best);
    if !model.trellis() || room < relief_room(out.len()) || !keep(kept, out, best) {
        return Ok(plain);
    }
    match trial(best_step, RELIEF_SLOPE, out) {
        Some(len) => Ok(Coded {
            len,
            slope_scale: RELIEF_SLOPE,
            ..plain
        }),
        // `kept` holds the winner, so the copy succeeds.
        None if keep(out, kept, best) => Ok(plain),
        None => trial(best_step, FULL_SLOPE, out)
            .map(|_| plain)
            .ok_or_else(too_small),
    }
}

/// Copy the first `len` bytes of `from` into `to`; `false` (nothing copied) when either is
/// shorter.
fn keep(to: &mut [u8], from: &[u8], len: usize) -> bool {
    match (to.get_mut(..len), from.get(..len)) {
        (Some(t), Some(f)) => {
            t.copy_from_slice(f);
            true
        }
        _ => false,
    }
}

/// Rate control's starting guess: for a trellis model, one step finer than
/// [`trellis::estimate_step`] (its quick path spends bits the search saves, so it lands about
/// one step coarse), whose search starts at `start` (the length step prior's prediction for
/// the budget, where the model has one: on kind A within two steps of the estimate for most
/// codes, so two or three quick passes instead of bisection's nine); `None` for a model
/// without the trellis, whose trials are cheap enough to bisect directly.
pub(crate) fn trellis_hint(
    model: &Model<'_>,
    values: &[i32],
    spread: &impl Fn(usize) -> i32,
    budget: usize,
    start: Option<usize>,
) -> Option<usize> {
    model.trellis().then(|| {
        trellis::estimate_step(model, values, spread, budget, start.map(|s| s + 1))
            .saturating_sub(1)
    })
}

/// Code `values` (one per coefficient, in order) at step index `step` into at most
/// `out.len()` bytes: `spread(k)` picks coefficient `k`'s probability class, `predicted` is the
/// step a length step prior expects ([`StepGrid::step_prediction`] of the length the code
/// will be padded to; `None` for the plain prior); `paths` is the trellis's scratch. Returns the
/// bytes used, `None` when the code does not fit.
#[allow(clippy::too_many_arguments)]
pub(crate) fn code_values(
    model: &Model<'_>,
    values: &[i32],
    spread: impl Fn(usize) -> i32,
    step: usize,
    slope_scale: u32,
    predicted: Option<usize>,
    paths: &mut Paths<'_>,
    out: &mut [u8],
) -> Option<usize> {
    let budget = out.len();
    let mut enc = Encoder::new(out);
    encode_step(&mut enc, model, step, predicted);
    let alphabet = model.alphabet();
    let mut coded = 0;
    quantise_values(
        model,
        values,
        spread,
        step,
        Some(budget),
        slope_scale,
        paths,
        |_, class, m, negative, _| {
            encode_value(&mut enc, class, alphabet, m, negative);
            coded += 1;
            !enc.overflowed()
        },
    );
    if enc.overflowed() || coded < values.len() {
        return None;
    }
    enc.finish()
}

/// Longest minimum budget a model may have. Trained models need a few bytes; the bound keeps
/// the scratch buffer of [`min_budget`] small on microcontroller stacks.
pub const MAX_MIN_BUDGET: usize = 128;

/// The model's minimum budget: the length of the code of the coarsest step, which is the same
/// for every input, so [`encode`] succeeds for every vector at any budget from here on (below
/// it, it fails with [`Error::BudgetTooSmall`] unless some finer step's code fits). It costs
/// about one trial of rate control: work it out once per model and keep it (the C library
/// does so when a model is loaded). An error means the model is unusable for encoding.
///
/// The code is written out directly rather than by [`code_values`] over a vector of zeros, so
/// that this needs no workspace: at the coarsest step both quantisers take every value as
/// zero (see `trellis::coded_magnitude`), so the trellis's cheapest path stays in the start
/// state and codes each coefficient as a zero of quantiser 0, as the dead-zone quantiser does.
pub fn min_budget(model: &Model<'_>) -> Result<usize, ModelError> {
    let mut scratch = [0u8; MAX_MIN_BUDGET];
    let coarsest = model.steps() - 1;
    let mut enc = Encoder::new(&mut scratch);
    // The coarsest step is always escaped: any length's prediction gives this length.
    encode_step(
        &mut enc,
        model,
        coarsest,
        model.step_prediction(MAX_MIN_BUDGET),
    );
    let alphabet = model.alphabet();
    for k in 0..model.coeffs() {
        let (_, c) = model.step_and_class(model.coef_spread_log(k), k, coarsest);
        encode_value(&mut enc, &model.table(c, 0), alphabet, 0, false);
        if enc.overflowed() {
            return Err(ModelError::CoarsestCodeTooLong);
        }
    }
    enc.finish().ok_or(ModelError::CoarsestCodeTooLong)
}
