//! Quantisation: coefficient values to magnitudes and signs at a step, with one dead-zone
//! scalar quantiser (`levels`) or trellis-coded quantisation (`trellis`), as the model says.

mod levels;
pub(crate) mod trellis;

pub use levels::{level_magnitude, max_magnitude, quantise, reconstruct, reconstruct_level};
pub use trellis::{FULL_SLOPE, START, candidate, level, next_state, quantiser};

use crate::format::{Class, Model, ModelInternals, StepGrid};
use crate::workspace::Paths;

/// Quantise `values` (one per coefficient, in order) at step index `step` the way the model
/// says (one dead-zone quantiser, or the trellis), handing `emit` each coefficient's index,
/// class table, magnitude, sign and reconstruction. Stops as soon as `emit` returns `false`.
/// `spread(k)` is the spread log that picks coefficient `k`'s class. With `budget_bytes`, the
/// trellis gives up early (emitting nothing) once no path can fit that many bytes;
/// `slope_scale` scales its rate-distortion slopes (see [`trellis::search`]; the dead-zone
/// quantiser ignores it). `scratch` is the trellis's: `path` and `decisions` of at least one
/// entry per value (unused without the trellis).
#[allow(clippy::too_many_arguments)]
pub(crate) fn quantise_values(
    model: &Model<'_>,
    values: &[i32],
    spread: impl Fn(usize) -> i32,
    step: usize,
    budget_bytes: Option<usize>,
    slope_scale: u32,
    scratch: &mut Paths<'_>,
    mut emit: impl FnMut(usize, &Class<'_>, u64, bool, i32) -> bool,
) {
    // At the coarsest step every magnitude is zero, whatever the input and whatever the
    // trellis would pick for a coefficient near the format's limit: its code is then the same
    // for every vector, which is what makes `min_budget` a budget at which every vector codes.
    // Searching it would also let the trellis's early exit refuse a code that fits.
    let coarsest = step + 1 >= model.steps();
    if !model.trellis() {
        for (k, &y) in values.iter().enumerate() {
            let (s, c) = model.step_and_class(spread(k), k, step);
            let class = model.table(c, 0);
            let m = if coarsest {
                0
            } else {
                quantise(y, s, class.rounding)
            };
            if !emit(k, &class, m, y < 0, reconstruct(m, y < 0, s, &class)) {
                return;
            }
        }
        return;
    }
    if coarsest {
        // Choice 0 is the zero candidate: a path of zeros codes zeros.
        scratch.path.fill(0);
    } else if !trellis::search(
        model,
        values,
        &spread,
        step,
        budget_bytes,
        scratch,
        slope_scale,
    ) {
        return;
    }
    walk_path(model, values, &spread, step, scratch.path, emit);
}

/// Hand `emit` the trellis's choices along `path`. Out of line so that its class tables are
/// not in the frame that is live while the trellis searches (the deepest of an encode: with a
/// workspace, the firmware test holds the whole call to 2 KiB of stack).
#[inline(never)]
fn walk_path(
    model: &Model<'_>,
    values: &[i32],
    spread: &impl Fn(usize) -> i32,
    step: usize,
    path: &[u8],
    mut emit: impl FnMut(usize, &Class<'_>, u64, bool, i32) -> bool,
) {
    let mut state = trellis::START;
    // Both quantisers' tables of the last class: classes change slowly along the
    // coefficients, and building a table from the model's bytes costs more than the rest of
    // a coefficient here.
    let mut class_index = usize::MAX;
    let mut tables = [0, 1].map(|q| model.table(0, q));
    for ((k, &y), &choice) in values.iter().enumerate().zip(path.iter()) {
        let q = trellis::quantiser(state);
        let (s, c) = model.step_and_class(spread(k), k, step);
        if c != class_index {
            class_index = c;
            tables = [0, 1].map(|q| model.table(c, q));
        }
        let class = tables[q & 1];
        let m = trellis::candidate(q, y.unsigned_abs(), s, choice);
        let v = reconstruct_level(trellis::level(q, m), m, y < 0, s, &class);
        if !emit(k, &class, m, y < 0, v) {
            return;
        }
        state = trellis::next_state(state, m);
    }
}
