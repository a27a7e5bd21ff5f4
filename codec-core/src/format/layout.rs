//! The model's layout: its constants, the parsed [`Model`] borrowing its bytes, and the
//! accessors the codec reads it through. Parsing and validation are in `parse.rs`, the writer in
//! `write.rs`, the step grid's arithmetic in `grid.rs`; `docs/model-format.md` documents the
//! layout field by field.

/// First four bytes of every model.
pub const MAGIC: [u8; 4] = *b"NFCM";
/// The model (and stream) format version this build reads and writes: the one frozen for 1.0
/// (`docs/decisions/core-format-freeze.md`).
pub const FORMAT_VERSION: u16 = 1;
/// Size of the fixed header.
pub const HEADER_LEN: usize = 64;

/// Largest input dimension.
pub const MAX_DIM: usize = 8192;
/// Largest number of coded (active) input dimensions.
pub const MAX_ACTIVE: usize = 2048;
/// Largest number of transform coefficients.
pub const MAX_COEFFS: usize = 1024;
/// Largest number of quantiser steps.
pub const MAX_STEPS: usize = 1024;
/// Largest number of probability classes.
pub const MAX_CLASSES: usize = 256;
/// Largest symbol alphabet of a class (magnitudes `0..M-1` plus the escape).
pub const MAX_ALPHABET: usize = 64;
/// Largest number of budgets a model lists.
pub const MAX_BUDGETS: usize = 64;
/// Longest code (and largest budget) of the stream format, in bytes.
pub const MAX_CODE_LEN: usize = 8192;
/// Probabilities are frequencies out of `1 << PROB_BITS`.
pub const PROB_BITS: u32 = 15;
/// Transform coefficients are clamped to `[-COEFF_LIMIT, COEFF_LIMIT]` (input fixed-point units).
pub const COEFF_LIMIT: i32 = 1 << 29;
/// Fixed-point scale of the transform entries (`Q15`).
pub const TRANSFORM_BITS: u32 = 15;
/// Fixed-point scale of coefficient weights (`Q12`).
pub const WEIGHT_BITS: u32 = 12;
/// Largest low-rate step growth, in `log2` units Q8 (a factor of 16).
pub const MAX_GROWTH_LOG: i32 = 1024;
/// Largest `|step_log|` a model may hold: `256 * log2(step)` of any step a `u32` holds is below
/// 2^13, and the bound keeps the class arithmetic of scalable layers (whose spreads come from
/// step logs) inside `i32`.
pub const STEP_LOG_LIMIT: u32 = 1 << 16;
/// Largest slope of the low-rate step growth (Q8: 4 octaves of growth per octave).
pub const MAX_GROWTH_SLOPE: u16 = 1024;
/// Largest magnitude of the growth threshold (Q8 `log2` of spread over step: 16 octaves).
pub const MAX_GROWTH_THRESHOLD: i16 = 4096;
/// `2^(i/16)` in Q15, for the sixteenths of an octave of the step growth.
pub(super) const POW2_SIXTEENTHS_Q15: [u64; 16] = [
    32768, 34219, 35734, 37316, 38968, 40693, 42495, 44376, 46341, 48393, 50535, 52773, 55109,
    57549, 60097, 62757,
];
/// Largest Exp-Golomb order of an escape.
pub const MAX_ESCAPE_ORDER: u8 = 30;
/// Largest number of raw low bits of a magnitude.
pub const MAX_RAW_BITS: u8 = 24;

/// Header flag: clamp reconstructions to the per-dimension range seen in training.
pub const FLAG_CLAMP: u8 = 1;
/// Header flag: trellis-coded (dependent) quantisation with two quantisers, each with its own
/// class tables, whose `rounding` field then holds the class's rate-distortion slope for the
/// encoder's search (`quant/trellis.rs`); without it, one dead-zone scalar quantiser.
pub const FLAG_TRELLIS: u8 = 2;
/// Step indices within this distance of the predicted one are coded as a residual.
pub const STEP_REACH: usize = 15;
/// Symbols of the step residual table: residuals `-STEP_REACH..=STEP_REACH`, then the escape
/// to the plain step prior.
pub const STEP_RESIDUAL_SYMBOLS: usize = 2 * STEP_REACH + 2;

/// A parsed, validated model borrowing its bytes.
#[derive(Debug, Clone, Copy)]
pub struct Model<'a> {
    pub(super) dim: usize,
    pub(super) active_count: usize,
    pub(super) coeffs: usize,
    pub(super) shift: i32,
    pub(super) classes_per_octave: i32,
    pub(super) class_offset: i32,
    /// Class tables stored: the class count, twice over with the trellis.
    pub(super) tables: usize,
    pub(super) alphabet: usize,
    // u32 rather than the file's u8 and u16: with them the struct has no padding on 32- and
    // 64-bit targets, so a copy (the C API's handle) holds no uninitialised bytes. `flags` also
    // carries [`PLAIN_STEP_PRIOR`], which no file can set.
    pub(super) flags: u32,
    pub(super) version: u32,
    pub(super) steps: usize,
    pub(super) budget_count: usize,
    pub(super) budgets: &'a [u8],
    pub(super) active: &'a [u8],
    pub(super) mean: &'a [u8],
    pub(super) lower: &'a [u8],
    pub(super) upper: &'a [u8],
    pub(super) transform: &'a [u8],
    pub(super) coef_class_log: &'a [u8],
    pub(super) coef_weight: &'a [u8],
    pub(super) step_size: &'a [u8],
    pub(super) step_log: &'a [u8],
    pub(super) step_cdf: &'a [u8],
    pub(super) step_centre: &'a [u8],
    pub(super) step_residual_cdf: &'a [u8],
    pub(super) class_tables: &'a [u8],
    /// Leading coefficients the decoder scales by their class's gain (0 without gains).
    pub(super) gain_coeffs: usize,
    pub(super) gains: &'a [u8],
    pub(super) growth: StepGrowth,
}

// No padding: the fields' sizes add up to the struct's (see `flags`). A new field must keep
// this so, or the C API's handle copies uninitialised bytes.
const _: () = assert!(
    core::mem::size_of::<Model<'static>>()
        == 8 * core::mem::size_of::<usize>()
            + 15 * core::mem::size_of::<&[u8]>()
            + 5 * 4
            + core::mem::size_of::<StepGrowth>()
);

/// A bit of [`Model`]'s `flags` above the file's byte: set only by
/// [`ModelInternals::with_plain_step_prior`], never by parsing.
pub(super) const PLAIN_STEP_PRIOR: u32 = 1 << 8;

/// Low-rate step growth: a coefficient whose spread is small against its
/// step gets a coarser step still. At the rates of small budgets such a coefficient is coded
/// mostly as zeros, and a rare non-zero is worth more when it carries a larger value; with the
/// growth the best step of each coefficient follows its spread-to-step ratio, which a fixed
/// per-coefficient weight cannot do at every budget at once.
///
/// With `d = 256 log2(spread / (weight * step))` (the coefficient's class position before
/// growth), the step is multiplied by `2^(g / 256)`, where `g = min(MAX_GROWTH_LOG,
/// slope * (threshold - d) / 256)` rounded down to a sixteenth of an octave when `d <
/// threshold`, and `g = 0` otherwise.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StepGrowth {
    /// Octaves of growth per octave below the threshold, Q8 (0: no growth).
    pub slope: u16,
    /// Spread-to-step ratio below which steps grow, `log2` Q8.
    pub threshold: i16,
}

/// The probability table and quantiser parameters of one class.
#[derive(Debug, Clone, Copy)]
pub struct Class<'a> {
    /// `alphabet + 1` cumulative frequencies (u16 LE), from 0 to `1 << PROB_BITS`.
    pub(super) cdf: &'a [u8],
    /// `alphabet - 1` reconstruction offsets (i16 LE, Q15 fraction of a step, in `[-1, 1)`)
    /// for magnitudes `1..alphabet`; the last one also serves every larger magnitude.
    pub(super) recon: &'a [u8],
    /// Rounding offset of the dead-zone quantiser (Q16, at most 1/2); under the trellis, the
    /// rate-distortion slope of the encoder's search in squared steps per bit (Q16).
    pub rounding: u32,
    /// Exp-Golomb order of escaped magnitudes.
    pub escape_order: u32,
    /// Low bits of a magnitude sent as raw equiprobable bits; the table codes the rest. At
    /// fine steps the low bits of a magnitude are nearly uniform, and this keeps the tables
    /// small whatever the ratio of spread to step.
    pub raw_bits: u32,
}

pub(super) fn u16_at(b: &[u8], i: usize) -> u16 {
    match b.get(2 * i..2 * i + 2) {
        Some(&[x, y]) => u16::from_le_bytes([x, y]),
        _ => 0,
    }
}

pub(super) fn i16_at(b: &[u8], i: usize) -> i16 {
    u16_at(b, i) as i16
}

pub(super) fn u32_at(b: &[u8], i: usize) -> u32 {
    match b.get(4 * i..4 * i + 4) {
        Some(&[a, c, d, e]) => u32::from_le_bytes([a, c, d, e]),
        _ => 0,
    }
}

pub(super) fn i32_at(b: &[u8], i: usize) -> i32 {
    u32_at(b, i) as i32
}

/// Bytes of one class table for an alphabet of `m` symbols.
pub(super) const fn class_table_len(m: usize) -> usize {
    // 2 (m + 1) frequency bytes, 2 (m - 1) offset bytes, rounding, escape order, raw bits:
    // written as 4m + 4 so that no alphabet, not even an invalid 0, underflows.
    4 * m + 4
}

/// Sizes that follow from the header.
pub(super) struct Shape {
    pub(super) dim: usize,
    pub(super) active: usize,
    pub(super) coeffs: usize,
    /// Class tables stored: the class count, twice over with the trellis flag.
    pub(super) tables: usize,
    pub(super) alphabet: usize,
    pub(super) steps: usize,
    pub(super) budgets: usize,
    /// Gains stored: one per class (of one quantiser).
    pub(super) gains: usize,
}

impl Shape {
    pub(super) fn body_len(&self) -> usize {
        2 * self.budgets
            + 2 * self.active
            + 4 * self.dim
            + 8 * self.active
            + 2 * self.coeffs * self.active
            + 4 * self.coeffs
            + 8 * self.steps
            + 2 * (self.steps + 1)
            + 4 * self.budgets
            + 2 * (STEP_RESIDUAL_SYMBOLS + 1)
            + self.tables * class_table_len(self.alphabet)
            + 2 * self.gains
    }

    pub(super) fn total_len(&self) -> usize {
        HEADER_LEN + self.body_len() + 4
    }
}

/// `Ok` when `ok`, else `error`: validation reads as a list of conditions.
pub(super) fn check(
    ok: bool,
    error: crate::error::ModelError,
) -> Result<(), crate::error::ModelError> {
    if ok { Ok(()) } else { Err(error) }
}

impl<'a> Model<'a> {
    /// Input dimension.
    pub fn dim(&self) -> usize {
        self.dim
    }
    /// Number of transform coefficients.
    pub fn coeffs(&self) -> usize {
        self.coeffs
    }
    /// Number of quantiser steps (step index 0 is the finest).
    pub fn steps(&self) -> usize {
        self.steps
    }
    /// The model's format version.
    pub fn format_version(&self) -> u16 {
        // Set from a u16 in `parse`.
        self.version as u16
    }
    /// Whether values are trellis-coded (two quantisers chosen by a state machine) rather
    /// than coded with one dead-zone scalar quantiser.
    pub fn trellis(&self) -> bool {
        self.flags & u32::from(FLAG_TRELLIS) != 0
    }
    /// Number of budgets the model was trained for.
    pub fn budget_count(&self) -> usize {
        self.budget_count
    }
    /// The `i`-th trained budget in bytes (increasing), if any.
    pub fn budget(&self, i: usize) -> Option<usize> {
        (i < self.budget_count).then(|| usize::from(u16_at(self.budgets, i)))
    }

    pub(super) fn class_bytes(&self, c: usize) -> &'a [u8] {
        let n = class_table_len(self.alphabet);
        self.class_tables.get(c * n..(c + 1) * n).unwrap_or(&[])
    }
}

/// What the codec's stages, training and probes read of a model beyond its public accessors:
/// not a stable interface (see [`crate::internals`]).
pub trait ModelInternals<'a> {
    /// Number of coded input dimensions.
    fn active_count(&self) -> usize;
    /// Fixed-point shift of the input: `fixed = round(x * 2^shift)`.
    fn shift(&self) -> i32;
    /// Symbols per class (including the escape).
    fn alphabet(&self) -> usize;
    /// Whether reconstructions are clamped to the training range.
    fn clamps(&self) -> bool;
    /// Probability classes per quantiser (the tables stored are twice as many with the
    /// trellis).
    fn classes(&self) -> usize;
    /// Index of the `i`-th active dimension.
    fn active_index(&self, i: usize) -> usize;
    /// Fixed-point mean of dimension `d`.
    fn mean(&self, d: usize) -> i32;
    /// Clamp range of the `i`-th active dimension.
    fn clamp_range(&self, i: usize) -> (i32, i32);
    /// Row `k` of the transform: `active_count` Q15 values, little-endian i16.
    fn transform_row(&self, k: usize) -> &'a [u8];
    /// The model's low-rate step growth.
    fn step_growth(&self) -> StepGrowth;
    /// `256 * log2(spread / weight)` of coefficient `k`, as trained.
    fn coef_spread_log(&self, k: usize) -> i32;
    /// `256 * log2(step)` of step index `j`.
    fn step_log(&self, j: usize) -> i32;
    /// Class table `c` of quantiser `quantiser` (0 or 1; always 0 without the trellis).
    fn table(&self, c: usize, quantiser: usize) -> Class<'a>;
    /// How many leading coefficients the decoder scales by [`ModelInternals::gain`] (0: none).
    fn gain_coeffs(&self) -> usize;
    /// The decoder's gain for a coefficient of class `c`, Q15 (`1 << 15` = 1, also for a model
    /// without gains).
    fn gain(&self, c: usize) -> u32;
    /// Cumulative frequency `i` of the plain step-index prior.
    fn step_cdf(&self, i: usize) -> u32;
    /// This model with its step index coded by the plain step prior alone, as scalable layers
    /// code it, instead of the length step prior: what rate control chooses without the
    /// latter, which training learns the latter from. Codes made with it are not codes of the
    /// model.
    fn with_plain_step_prior(&self) -> Model<'a>;
    /// Cumulative frequency `i` of the step residual table (`0..=STEP_RESIDUAL_SYMBOLS`).
    fn step_residual_cdf(&self, i: usize) -> u32;
    /// The trained budget `i` and the step index (Q8) predicted there: a knot of the length
    /// step prior.
    fn step_knot(&self, i: usize) -> (usize, i32);
}

impl<'a> ModelInternals<'a> for Model<'a> {
    fn active_count(&self) -> usize {
        self.active_count
    }
    fn shift(&self) -> i32 {
        self.shift
    }
    fn alphabet(&self) -> usize {
        self.alphabet
    }
    fn clamps(&self) -> bool {
        self.flags & u32::from(FLAG_CLAMP) != 0
    }
    fn classes(&self) -> usize {
        if self.trellis() {
            self.tables / 2
        } else {
            self.tables
        }
    }
    fn active_index(&self, i: usize) -> usize {
        usize::from(u16_at(self.active, i))
    }
    fn mean(&self, d: usize) -> i32 {
        i32_at(self.mean, d)
    }
    fn clamp_range(&self, i: usize) -> (i32, i32) {
        (i32_at(self.lower, i), i32_at(self.upper, i))
    }
    fn transform_row(&self, k: usize) -> &'a [u8] {
        let n = 2 * self.active_count;
        self.transform.get(k * n..(k + 1) * n).unwrap_or(&[])
    }
    fn step_growth(&self) -> StepGrowth {
        self.growth
    }
    fn coef_spread_log(&self, k: usize) -> i32 {
        i32::from(i16_at(self.coef_class_log, k))
    }
    fn step_log(&self, j: usize) -> i32 {
        i32_at(self.step_log, j)
    }
    fn table(&self, c: usize, quantiser: usize) -> Class<'a> {
        let t = self.class_bytes(c + quantiser * self.classes());
        let m = self.alphabet;
        let tail = t.get(class_table_len(m) - 4..).unwrap_or(&[0; 4]);
        Class {
            cdf: t.get(..2 * (m + 1)).unwrap_or(&[]),
            recon: t.get(2 * (m + 1)..2 * (m + 1) + 2 * (m - 1)).unwrap_or(&[]),
            rounding: u32::from(u16_at(tail, 0)),
            escape_order: u32::from(tail.get(2).copied().unwrap_or(0)),
            raw_bits: u32::from(tail.get(3).copied().unwrap_or(0)),
        }
    }
    fn gain_coeffs(&self) -> usize {
        self.gain_coeffs
    }
    fn gain(&self, c: usize) -> u32 {
        if self.gains.is_empty() {
            1 << 15
        } else {
            u32::from(u16_at(self.gains, c))
        }
    }
    fn step_cdf(&self, i: usize) -> u32 {
        u32::from(u16_at(self.step_cdf, i))
    }
    fn with_plain_step_prior(&self) -> Model<'a> {
        Model {
            flags: self.flags | PLAIN_STEP_PRIOR,
            ..*self
        }
    }
    fn step_residual_cdf(&self, i: usize) -> u32 {
        u32::from(u16_at(self.step_residual_cdf, i))
    }
    fn step_knot(&self, i: usize) -> (usize, i32) {
        (
            usize::from(u16_at(self.budgets, i)),
            i32_at(self.step_centre, i),
        )
    }
}

impl<'a> Class<'a> {
    /// A class from its table's bytes as the model stores them (`cdf`: `alphabet + 1` u16 LE,
    /// `recon`: `alphabet - 1` i16 LE): for tools that price symbols with the coder's costs
    /// (training's cost model is pinned to [`crate::internals::cost_q8`] this way).
    pub fn from_table(
        cdf: &'a [u8],
        recon: &'a [u8],
        rounding: u32,
        escape_order: u32,
        raw_bits: u32,
    ) -> Self {
        Class {
            cdf,
            recon,
            rounding,
            escape_order,
            raw_bits,
        }
    }

    /// Cumulative frequency of symbol `s` (`cdf(alphabet) == 1 << PROB_BITS`).
    #[inline]
    pub fn cdf(&self, s: usize) -> u32 {
        u32::from(u16_at(self.cdf, s))
    }
    /// Reconstruction offset (Q15 fraction of a step, signed) of magnitude `m >= 1`: the
    /// value is put back at `(m - offset) * step`.
    #[inline]
    pub fn recon(&self, m: u64) -> i32 {
        let last = (self.recon.len() / 2).saturating_sub(1);
        let i = (m.saturating_sub(1) as usize).min(last);
        i32::from(i16_at(self.recon, i))
    }
}
