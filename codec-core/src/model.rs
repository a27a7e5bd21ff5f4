//! The model: everything training learned, in a versioned binary format that is read in place.
//!
//! A model is parsed from a borrowed `&[u8]` without copying (firmware keeps it in flash) and
//! fully validated first: after [`Model::parse`] succeeds, every count, index and table the
//! codec relies on is known to be in range, so a truncated, corrupted or hostile model is an
//! error, never a panic or an out-of-bounds read. The layout is documented field by field in
//! `docs/model-format.md`; [`write`] is the only producer.

use crate::crc::crc32;
use crate::error::Error;
use crate::fixed::{INPUT_LIMIT, MAX_SHIFT};

/// First four bytes of every model.
pub const MAGIC: [u8; 4] = *b"NFCM";
/// The newest model (and stream) format version: this build reads it, and writes it for
/// models that need it (decoder gains); other models are written in the oldest version that
/// expresses them (4 with a step prior conditioned on the code length, 3 with low-rate step
/// growth, 2 with the trellis, else 1).
pub const FORMAT_VERSION: u16 = 5;
/// The oldest format version this build still reads (version 1 is version 2 without the
/// trellis flag; version 2 is version 3 without low-rate step growth; version 3 is version 4
/// without the length-conditioned step prior; version 4 is version 5 without decoder gains).
pub const OLDEST_FORMAT_VERSION: u16 = 1;
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
const POW2_SIXTEENTHS_Q15: [u64; 16] = [
    32768, 34219, 35734, 37316, 38968, 40693, 42495, 44376, 46341, 48393, 50535, 52773, 55109,
    57549, 60097, 62757,
];
/// Largest Exp-Golomb order of an escape.
pub const MAX_ESCAPE_ORDER: u8 = 30;
/// Largest number of raw low bits of a magnitude.
pub const MAX_RAW_BITS: u8 = 24;

/// Header flag: clamp reconstructions to the per-dimension range seen in training.
pub const FLAG_CLAMP: u8 = 1;
/// Header flag (version 2): trellis-coded (dependent) quantisation with two quantisers, each
/// with its own class tables, whose `rounding` field then holds the class's rate-distortion
/// slope for the encoder's search; see [`crate::trellis`].
pub const FLAG_TRELLIS: u8 = 2;

/// Header flag (version 4 and later): the step index is coded with a prior conditioned on the code's
/// length (see [`Model::step_prediction`]), and codes are padded with zero bytes to the length
/// they were coded for.
pub const FLAG_STEP_CONTEXT: u8 = 4;
/// Header flag (version 5): the decoder scales the leading coefficients by a gain of their
/// class (see [`Model::gain`]).
pub const FLAG_GAINS: u8 = 8;
/// Step indices within this distance of the predicted one are coded as a residual.
pub const STEP_REACH: usize = 15;
/// Symbols of the step residual table: residuals `-STEP_REACH..=STEP_REACH`, then the escape
/// to the plain step prior.
pub const STEP_RESIDUAL_SYMBOLS: usize = 2 * STEP_REACH + 2;

/// A parsed, validated model borrowing its bytes.
#[derive(Debug, Clone, Copy)]
pub struct Model<'a> {
    dim: usize,
    active_count: usize,
    coeffs: usize,
    shift: i32,
    classes_per_octave: i32,
    class_offset: i32,
    classes: usize,
    alphabet: usize,
    // u32 rather than the file's u8 and u16: with them the struct has no padding on 32- and
    // 64-bit targets, so a copy (the C API's handle) holds no uninitialised bytes.
    flags: u32,
    version: u32,
    steps: usize,
    budget_count: usize,
    budgets: &'a [u8],
    active: &'a [u8],
    mean: &'a [u8],
    lower: &'a [u8],
    upper: &'a [u8],
    transform: &'a [u8],
    coef_class_log: &'a [u8],
    coef_weight: &'a [u8],
    step_size: &'a [u8],
    step_log: &'a [u8],
    step_cdf: &'a [u8],
    step_centre: &'a [u8],
    step_residual_cdf: &'a [u8],
    class_tables: &'a [u8],
    /// Leading coefficients the decoder scales by their class's gain (0 without gains).
    gain_coeffs: usize,
    gains: &'a [u8],
    min_budget: usize,
    growth: StepGrowth,
}

/// Low-rate step growth (format version 3): a coefficient whose spread is small against its
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
    cdf: &'a [u8],
    /// `alphabet - 1` reconstruction offsets (i16 LE, Q15 fraction of a step, in `[-1, 1)`)
    /// for magnitudes `1..alphabet`; the last one also serves every larger magnitude.
    recon: &'a [u8],
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

fn u16_at(b: &[u8], i: usize) -> u16 {
    match b.get(2 * i..2 * i + 2) {
        Some(&[x, y]) => u16::from_le_bytes([x, y]),
        _ => 0,
    }
}

fn i16_at(b: &[u8], i: usize) -> i16 {
    u16_at(b, i) as i16
}

fn u32_at(b: &[u8], i: usize) -> u32 {
    match b.get(4 * i..4 * i + 4) {
        Some(&[a, c, d, e]) => u32::from_le_bytes([a, c, d, e]),
        _ => 0,
    }
}

fn i32_at(b: &[u8], i: usize) -> i32 {
    u32_at(b, i) as i32
}

/// Bytes of one class table for an alphabet of `m` symbols.
const fn class_table_len(m: usize) -> usize {
    2 * (m + 1) + 2 * (m - 1) + 2 + 1 + 1
}

/// Splits a byte slice into consecutive sections, failing cleanly when it runs out.
struct Cursor<'a> {
    rest: &'a [u8],
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], Error> {
        if n > self.rest.len() {
            return Err(Error::ModelInvalid("section sizes exceed the model length"));
        }
        let (head, tail) = self.rest.split_at(n);
        self.rest = tail;
        Ok(head)
    }
}

/// Sizes that follow from the header.
struct Shape {
    dim: usize,
    active: usize,
    coeffs: usize,
    /// Class tables stored: the class count, twice over with the trellis flag.
    classes: usize,
    alphabet: usize,
    steps: usize,
    budgets: usize,
    /// With the length-conditioned step prior: a centre per budget and the residual table.
    step_context: bool,
    /// Gains stored: one per class (of one quantiser), or 0 without decoder gains.
    gains: usize,
}

impl Shape {
    fn body_len(&self) -> usize {
        2 * self.budgets
            + 2 * self.active
            + 4 * self.dim
            + 8 * self.active
            + 2 * self.coeffs * self.active
            + 4 * self.coeffs
            + 8 * self.steps
            + 2 * (self.steps + 1)
            + self.step_context_len()
            + self.classes * class_table_len(self.alphabet)
            + 2 * self.gains
    }

    fn step_context_len(&self) -> usize {
        if self.step_context {
            4 * self.budgets + 2 * (STEP_RESIDUAL_SYMBOLS + 1)
        } else {
            0
        }
    }

    fn total_len(&self) -> usize {
        HEADER_LEN + self.body_len() + 4
    }
}

fn check(ok: bool, what: &'static str) -> Result<(), Error> {
    if ok {
        Ok(())
    } else {
        Err(Error::ModelInvalid(what))
    }
}

/// A cumulative frequency table: starts at 0, ends at `1 << PROB_BITS`, strictly increasing
/// (every symbol has a non-zero probability, so any symbol can be coded).
fn check_cdf(cdf: &[u8], entries: usize, what: &'static str) -> Result<(), Error> {
    check(u16_at(cdf, 0) == 0, what)?;
    check(u32::from(u16_at(cdf, entries - 1)) == 1 << PROB_BITS, what)?;
    for i in 1..entries {
        check(u16_at(cdf, i) > u16_at(cdf, i - 1), what)?;
    }
    Ok(())
}

impl<'a> Model<'a> {
    /// Parse and validate a model.
    pub fn parse(bytes: &'a [u8]) -> Result<Self, Error> {
        Self::parse_with(bytes, true)
    }

    /// Parse and validate a model without comparing its checksum, for an image whose
    /// integrity the caller has already verified (secure boot): the checksum pass is most of
    /// the cost of [`Model::parse`]. Every other check still runs, so a damaged model is still
    /// an error or a valid but different model, never an out-of-bounds read.
    pub fn parse_trusted(bytes: &'a [u8]) -> Result<Self, Error> {
        Self::parse_with(bytes, false)
    }

    /// The length of the model that starts `bytes`, as its header declares it, so that a
    /// model can be found at the start of a larger buffer (a padded flash partition). Checks
    /// the magic, the format version and the header length only; [`Model::parse`] of
    /// `&bytes[..len]` validates the rest.
    pub fn declared_len(bytes: &[u8]) -> Result<usize, Error> {
        if bytes.len() >= 4 && bytes[..4] != MAGIC {
            return Err(Error::NotAModel);
        }
        if bytes.len() < HEADER_LEN {
            return Err(Error::ModelTruncated {
                expected: HEADER_LEN,
                actual: bytes.len(),
            });
        }
        let version = u16_at(bytes, 2);
        if !(OLDEST_FORMAT_VERSION..=FORMAT_VERSION).contains(&version) {
            return Err(Error::UnsupportedModelVersion {
                found: version,
                oldest: OLDEST_FORMAT_VERSION,
                newest: FORMAT_VERSION,
            });
        }
        check(usize::from(u16_at(bytes, 3)) == HEADER_LEN, "header length")?;
        let total = u32_at(bytes, 2) as usize;
        check(total >= HEADER_LEN + 4, "model length field")?;
        if bytes.len() < total {
            return Err(Error::ModelTruncated {
                expected: total,
                actual: bytes.len(),
            });
        }
        Ok(total)
    }

    fn parse_with(bytes: &'a [u8], verify_checksum: bool) -> Result<Self, Error> {
        if bytes.len() < 8 || bytes[..4] != MAGIC {
            return Err(if bytes.len() >= 4 && bytes[..4] != MAGIC {
                Error::NotAModel
            } else {
                Error::ModelTruncated {
                    expected: HEADER_LEN,
                    actual: bytes.len(),
                }
            });
        }
        let version = u16_at(bytes, 2);
        if !(OLDEST_FORMAT_VERSION..=FORMAT_VERSION).contains(&version) {
            return Err(Error::UnsupportedModelVersion {
                found: version,
                oldest: OLDEST_FORMAT_VERSION,
                newest: FORMAT_VERSION,
            });
        }
        if bytes.len() < HEADER_LEN {
            return Err(Error::ModelTruncated {
                expected: HEADER_LEN,
                actual: bytes.len(),
            });
        }
        let header = &bytes[..HEADER_LEN];
        check(
            usize::from(u16_at(header, 3)) == HEADER_LEN,
            "header length",
        )?;
        let total = u32_at(header, 2) as usize;
        let flags = header[23];
        let tables_per_class = if flags & FLAG_TRELLIS != 0 { 2 } else { 1 };
        let shape = Shape {
            dim: usize::from(u16_at(header, 6)),
            active: usize::from(u16_at(header, 7)),
            coeffs: usize::from(u16_at(header, 8)),
            classes: usize::from(u16_at(header, 10)) * tables_per_class,
            alphabet: usize::from(header[22]),
            steps: usize::from(u16_at(header, 12)),
            budgets: usize::from(u16_at(header, 13)),
            step_context: flags & FLAG_STEP_CONTEXT != 0,
            gains: if flags & FLAG_GAINS != 0 {
                usize::from(u16_at(header, 10))
            } else {
                0
            },
        };
        let gain_coeffs = usize::from(u16_at(header, 18));
        let shift = i32::from(header[18] as i8);
        let classes_per_octave = i32::from(header[19]);
        let class_offset = i32_at(header, 7);

        check((1..=MAX_DIM).contains(&shape.dim), "dimension")?;
        check(
            (1..=MAX_ACTIVE.min(shape.dim)).contains(&shape.active),
            "active dimension count",
        )?;
        check(
            (1..=MAX_COEFFS.min(shape.active)).contains(&shape.coeffs),
            "coefficient count",
        )?;
        check(
            (1..=MAX_CLASSES).contains(&(shape.classes / tables_per_class)),
            "class count",
        )?;
        check(
            (2..=MAX_ALPHABET).contains(&shape.alphabet),
            "alphabet size",
        )?;
        check((1..=MAX_STEPS).contains(&shape.steps), "step count")?;
        check(shape.budgets <= MAX_BUDGETS, "budget count")?;
        check(
            shift.unsigned_abs() <= MAX_SHIFT.unsigned_abs(),
            "input shift",
        )?;
        check((1..=64).contains(&classes_per_octave), "classes per octave")?;
        // unsigned_abs: `abs` of i32::MIN overflows, and this field comes from the file.
        check(class_offset.unsigned_abs() <= 1 << 20, "class offset")?;
        let known = match version {
            1 => FLAG_CLAMP,
            2 | 3 => FLAG_CLAMP | FLAG_TRELLIS,
            4 => FLAG_CLAMP | FLAG_TRELLIS | FLAG_STEP_CONTEXT,
            _ => FLAG_CLAMP | FLAG_TRELLIS | FLAG_STEP_CONTEXT | FLAG_GAINS,
        };
        check(flags & !known == 0, "unknown flags")?;
        check(
            !shape.step_context || shape.budgets > 0,
            "a length-conditioned step prior needs budgets",
        )?;
        let growth = StepGrowth {
            slope: u16_at(header, 16),
            threshold: i16_at(header, 17),
        };
        check(
            version >= 3 || growth == StepGrowth::default(),
            "step growth needs format version 3",
        )?;
        check(growth.slope <= MAX_GROWTH_SLOPE, "step growth slope")?;
        check(
            growth.threshold.unsigned_abs() <= MAX_GROWTH_THRESHOLD.unsigned_abs(),
            "step growth threshold",
        )?;
        if shape.gains > 0 {
            check(
                (1..=shape.coeffs).contains(&gain_coeffs),
                "gain coefficient count",
            )?;
        } else {
            check(gain_coeffs == 0, "gain coefficient count without gains")?;
        }
        check(
            header[38..].iter().all(|&b| b == 0),
            "reserved header bytes",
        )?;

        let expected = shape.total_len();
        if total != expected {
            return Err(Error::ModelInvalid(
                "length field disagrees with the header's sizes",
            ));
        }
        if bytes.len() < expected {
            return Err(Error::ModelTruncated {
                expected,
                actual: bytes.len(),
            });
        }
        check(bytes.len() == expected, "trailing bytes after the checksum")?;
        let (content, sum) = bytes.split_at(expected - 4);
        if verify_checksum && crc32(content) != u32_at(sum, 0) {
            return Err(Error::ModelChecksum);
        }

        // `get`: the sizes add up to at least the header, but the compiler cannot see it.
        let mut cur = Cursor {
            rest: content
                .get(HEADER_LEN..)
                .ok_or(Error::ModelInvalid("section sizes"))?,
        };
        let mut model = Model {
            dim: shape.dim,
            active_count: shape.active,
            coeffs: shape.coeffs,
            shift,
            classes_per_octave,
            class_offset,
            classes: shape.classes,
            alphabet: shape.alphabet,
            flags: u32::from(flags),
            version: u32::from(version),
            steps: shape.steps,
            budget_count: shape.budgets,
            budgets: cur.take(2 * shape.budgets)?,
            active: cur.take(2 * shape.active)?,
            mean: cur.take(4 * shape.dim)?,
            lower: cur.take(4 * shape.active)?,
            upper: cur.take(4 * shape.active)?,
            transform: cur.take(2 * shape.coeffs * shape.active)?,
            coef_class_log: cur.take(2 * shape.coeffs)?,
            coef_weight: cur.take(2 * shape.coeffs)?,
            step_size: cur.take(4 * shape.steps)?,
            step_log: cur.take(4 * shape.steps)?,
            step_cdf: cur.take(2 * (shape.steps + 1))?,
            step_centre: cur.take(if shape.step_context {
                4 * shape.budgets
            } else {
                0
            })?,
            step_residual_cdf: cur.take(if shape.step_context {
                2 * (STEP_RESIDUAL_SYMBOLS + 1)
            } else {
                0
            })?,
            class_tables: cur.take(shape.classes * class_table_len(shape.alphabet))?,
            gain_coeffs,
            gains: cur.take(2 * shape.gains)?,
            min_budget: 0,
            growth,
        };
        check(cur.rest.is_empty(), "section sizes")?;
        model.validate_sections()?;
        model.min_budget = crate::encode::coarsest_code_len(&model)?;
        Ok(model)
    }

    fn validate_sections(&self) -> Result<(), Error> {
        for i in 0..self.budget_count {
            let b = usize::from(u16_at(self.budgets, i));
            check((1..=MAX_CODE_LEN).contains(&b), "budget out of range")?;
            check(
                i == 0 || b > usize::from(u16_at(self.budgets, i - 1)),
                "budgets not increasing",
            )?;
        }
        for i in 0..self.active_count {
            let a = usize::from(u16_at(self.active, i));
            check(a < self.dim, "active dimension index out of range")?;
            check(
                i == 0 || a > usize::from(u16_at(self.active, i - 1)),
                "active dimensions not increasing",
            )?;
            let (lo, hi) = (i32_at(self.lower, i), i32_at(self.upper, i));
            check(lo <= hi, "clamp range empty")?;
            check(
                lo.unsigned_abs() <= INPUT_LIMIT.unsigned_abs()
                    && hi.unsigned_abs() <= INPUT_LIMIT.unsigned_abs(),
                "clamp range magnitude",
            )?;
        }
        for i in 0..self.dim {
            check(
                i32_at(self.mean, i).unsigned_abs() <= INPUT_LIMIT.unsigned_abs(),
                "mean magnitude",
            )?;
        }
        for k in 0..self.coeffs {
            check(u16_at(self.coef_weight, k) >= 1, "coefficient weight")?;
        }
        for j in 0..self.steps {
            let s = u32_at(self.step_size, j);
            check((1..=1 << 31).contains(&s), "step size out of range")?;
            check(
                j == 0 || s > u32_at(self.step_size, j - 1),
                "step sizes not increasing",
            )?;
            check(
                i32_at(self.step_log, j).unsigned_abs() <= STEP_LOG_LIMIT,
                "step log out of range",
            )?;
        }
        // The coarsest step must quantise every possible coefficient to zero, so that some
        // code always fits: |y| <= COEFF_LIMIT and rounding <= 1/2 need a step above 2^30.
        let last = self.steps - 1;
        for k in 0..self.coeffs {
            check(
                self.step(k, last) > 1 << 30,
                "coarsest step cannot zero every coefficient",
            )?;
        }
        check_cdf(self.step_cdf, self.steps + 1, "step probability table")?;
        if self.step_context() {
            for i in 0..self.budget_count {
                let c = i32_at(self.step_centre, i);
                check(
                    (0..=256 * (self.steps as i32 - 1)).contains(&c),
                    "predicted step out of range",
                )?;
            }
            check_cdf(
                self.step_residual_cdf,
                STEP_RESIDUAL_SYMBOLS + 1,
                "step residual table",
            )?;
        }
        for c in 0..self.classes {
            let t = self.class_bytes(c);
            // `get` rather than indexing, here and below: every length is known to fit, but
            // the compiler cannot see it, and an index would link panic formatting into
            // firmware.
            check_cdf(
                t.get(..2 * (self.alphabet + 1)).unwrap_or(&[]),
                self.alphabet + 1,
                "class probability table",
            )?;
            let tail = t.get(class_table_len(self.alphabet) - 4..).unwrap_or(&[]);
            check(
                u32::from(u16_at(tail, 0)) <= 1 << 15,
                "rounding offset above 1/2",
            )?;
            check(
                tail.get(2).is_some_and(|&o| o <= MAX_ESCAPE_ORDER),
                "escape order",
            )?;
            check(tail.get(3).is_some_and(|&b| b <= MAX_RAW_BITS), "raw bits")?;
        }
        for c in 0..self.gains.len() / 2 {
            check(u32::from(u16_at(self.gains, c)) <= 1 << 15, "gain above 1")?;
        }
        Ok(())
    }

    fn class_bytes(&self, c: usize) -> &'a [u8] {
        let n = class_table_len(self.alphabet);
        self.class_tables.get(c * n..(c + 1) * n).unwrap_or(&[])
    }

    /// Input dimension.
    pub fn dim(&self) -> usize {
        self.dim
    }
    /// Number of coded input dimensions.
    pub fn active_count(&self) -> usize {
        self.active_count
    }
    /// Number of transform coefficients.
    pub fn coeffs(&self) -> usize {
        self.coeffs
    }
    /// Fixed-point shift of the input: `fixed = round(x * 2^shift)`.
    pub fn shift(&self) -> i32 {
        self.shift
    }
    /// Symbols per class (including the escape).
    pub fn alphabet(&self) -> usize {
        self.alphabet
    }
    /// Number of quantiser steps.
    pub fn steps(&self) -> usize {
        self.steps
    }
    /// Whether reconstructions are clamped to the training range.
    pub fn clamps(&self) -> bool {
        self.flags & u32::from(FLAG_CLAMP) != 0
    }
    /// The model's format version.
    pub fn format_version(&self) -> u16 {
        // Set from a u16 in `parse`.
        self.version as u16
    }
    /// Whether values are trellis-coded (two quantisers chosen by a state machine).
    pub fn trellis(&self) -> bool {
        self.flags & u32::from(FLAG_TRELLIS) != 0
    }
    /// Probability classes per quantiser.
    pub fn classes(&self) -> usize {
        if self.trellis() {
            self.classes / 2
        } else {
            self.classes
        }
    }
    /// Smallest budget at which every vector can be encoded.
    pub fn min_budget(&self) -> usize {
        self.min_budget
    }
    /// Number of budgets the model was trained for.
    pub fn budget_count(&self) -> usize {
        self.budget_count
    }
    /// The `i`-th trained budget in bytes (increasing), if any.
    pub fn budget(&self, i: usize) -> Option<usize> {
        (i < self.budget_count).then(|| usize::from(u16_at(self.budgets, i)))
    }
    /// Index of the `i`-th active dimension.
    pub fn active_index(&self, i: usize) -> usize {
        usize::from(u16_at(self.active, i))
    }
    /// Fixed-point mean of dimension `d`.
    pub fn mean(&self, d: usize) -> i32 {
        i32_at(self.mean, d)
    }
    /// Clamp range of the `i`-th active dimension.
    pub fn clamp_range(&self, i: usize) -> (i32, i32) {
        (i32_at(self.lower, i), i32_at(self.upper, i))
    }
    /// Row `k` of the transform: `active_count` Q15 values, little-endian i16.
    pub fn transform_row(&self, k: usize) -> &'a [u8] {
        let n = 2 * self.active_count;
        self.transform.get(k * n..(k + 1) * n).unwrap_or(&[])
    }
    /// Effective step of coefficient `k` at step index `j`, in input fixed-point units.
    pub fn step(&self, k: usize, j: usize) -> u64 {
        self.grown_step(k, j, self.growth_log(k, j))
    }
    /// [`Model::step`] and [`Model::class_for`] together, computing the growth once (the
    /// coder's inner loops need both for every coefficient).
    pub fn step_and_class(&self, spread_log: i32, k: usize, j: usize) -> (u64, usize) {
        let g = self.growth_log(k, j);
        (self.grown_step(k, j, g), self.grown_class(spread_log, g, j))
    }
    /// The step of coefficient `k` at step index `j` with growth `g` (from [`Model::growth_log`]).
    fn grown_step(&self, k: usize, j: usize, g: i32) -> u64 {
        let s = u64::from(u32_at(self.step_size, j));
        let w = u64::from(u16_at(self.coef_weight, k));
        // At most 2^31 * 2^16 / 2^12 = 2^35, times 2^16 / 2^15 and 2^4: far inside u64.
        let weighted = (s * w) >> WEIGHT_BITS;
        if g == 0 {
            return weighted.max(1);
        }
        let g = g.unsigned_abs();
        let sixteenth = POW2_SIXTEENTHS_Q15
            .get(((g >> 4) & 15) as usize)
            .copied()
            .unwrap_or(1 << 15);
        (((weighted * sixteenth) >> 15) << (g >> 8)).max(1)
    }
    /// Low-rate step growth of coefficient `k` at step index `j`, `log2` Q8, a multiple of 16
    /// in `0..=MAX_GROWTH_LOG` (see [`StepGrowth`]).
    pub fn growth_log(&self, k: usize, j: usize) -> i32 {
        let slope = i32::from(self.growth.slope);
        if slope == 0 {
            // Models without growth (formats 1 and 2) skip its arithmetic on every call.
            return 0;
        }
        let threshold = i32::from(self.growth.threshold);
        // The spread log is an i16 and the step log validated to at most 2^16 in magnitude,
        // the slope to 2^10: the product stays inside i32 after the clamp.
        let d = self.coef_spread_log(k) - i32_at(self.step_log, j);
        let below = (threshold - d).clamp(0, 1 << 16);
        ((slope * below) >> 8).min(MAX_GROWTH_LOG) & !15
    }
    /// The model's low-rate step growth (zero before format version 3).
    pub fn step_growth(&self) -> StepGrowth {
        self.growth
    }
    /// Probability class of coefficient `k` at step index `j`: how large the coefficient's
    /// spread is relative to its step, on a log scale.
    pub fn class_of(&self, k: usize, j: usize) -> usize {
        self.class_for(self.coef_spread_log(k), k, j)
    }
    /// `256 * log2(spread / weight)` of coefficient `k`, as trained.
    pub fn coef_spread_log(&self, k: usize) -> i32 {
        i32::from(i16_at(self.coef_class_log, k))
    }
    /// `256 * log2(step)` of step index `j`.
    pub fn step_log(&self, j: usize) -> i32 {
        i32_at(self.step_log, j)
    }
    /// Probability class of a value of coefficient `k` whose spread (over its weight) is
    /// `2^(spread_log / 256)`, at step index `j`: the ratio of that spread to the coefficient's
    /// step, growth included. The spread log is clamped here to 2^24 in magnitude (a scalable
    /// layer's comes from a step log), the growth is at most 2^10 and step logs are validated
    /// to at most 2^16 ([`STEP_LOG_LIMIT`]), so the difference stays below 2^24 + 2^17 and its
    /// product with at most 64 classes per octave inside `i32`.
    pub fn class_for(&self, spread_log: i32, k: usize, j: usize) -> usize {
        self.grown_class(spread_log, self.growth_log(k, j), j)
    }
    /// [`Model::class_for`] with the growth `g` already known.
    fn grown_class(&self, spread_log: i32, g: i32, j: usize) -> usize {
        let spread_log = spread_log.clamp(-(1 << 24), 1 << 24) - g;
        let d = spread_log - i32_at(self.step_log, j);
        let c = self.class_offset + ((d * self.classes_per_octave + 128) >> 8);
        // max/min, not clamp: clamp panics when its bounds cross, which validation rules out
        // but the compiler cannot see.
        c.max(0).min(self.classes() as i32 - 1) as usize
    }
    /// Class table `c` of quantiser `quantiser` (0 or 1; always 0 without the trellis).
    pub fn table(&self, c: usize, quantiser: usize) -> Class<'a> {
        self.class(c + quantiser * self.classes())
    }
    /// Class table `c` (of the first quantiser).
    pub fn class(&self, c: usize) -> Class<'a> {
        let t = self.class_bytes(c);
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
    /// How many leading coefficients the decoder scales by [`Model::gain`] (0: none).
    pub fn gain_coeffs(&self) -> usize {
        self.gain_coeffs
    }
    /// The decoder's gain for a coefficient of class `c`, Q15 (`1 << 15` = 1, also for a model
    /// without gains).
    pub fn gain(&self, c: usize) -> u32 {
        if self.gains.is_empty() {
            1 << 15
        } else {
            u32::from(u16_at(self.gains, c))
        }
    }
    /// Cumulative frequency `i` of the step-index prior.
    pub fn step_cdf(&self, i: usize) -> u32 {
        u32::from(u16_at(self.step_cdf, i))
    }
    /// Whether the step index is coded with a prior conditioned on the code's length (format 4).
    pub fn step_context(&self) -> bool {
        self.flags & u32::from(FLAG_STEP_CONTEXT) != 0
    }
    /// Cumulative frequency `i` of the step residual table (`0..=STEP_RESIDUAL_SYMBOLS`; 0 for
    /// a model without the length-conditioned prior).
    pub fn step_residual_cdf(&self, i: usize) -> u32 {
        u32::from(u16_at(self.step_residual_cdf, i))
    }
    /// The step index a code of `length` bytes is predicted to have: the trained centres
    /// interpolated (see [`predict_step`]); `None` for a model without the length-conditioned
    /// prior.
    pub fn step_prediction(&self, length: usize) -> Option<usize> {
        self.step_context().then(|| {
            predict_step(
                self.budget_count,
                |i| {
                    (
                        usize::from(u16_at(self.budgets, i)),
                        i32_at(self.step_centre, i),
                    )
                },
                length,
                self.steps,
            )
        })
    }
}

/// The step index predicted for a code of `length` bytes from `knots` pairs `(budget,
/// centre)` (`knot(i)`, budgets increasing, centres in Q8 step indices): linear in the
/// logarithm of the length between the two nearest budgets, extended along the first or last
/// pair beyond them, rounded to the nearest index in `0..steps`. With one knot, its centre.
/// Integer arithmetic only (`log2` with a linear mantissa, as [`crate::symbols`] uses; lengths
/// beyond [`MAX_CODE_LEN`] count as it), so encoder and decoder agree everywhere.
pub fn predict_step(
    knots: usize,
    knot: impl Fn(usize) -> (usize, i32),
    length: usize,
    steps: usize,
) -> usize {
    // 32-bit arithmetic (the Cortex-M4 divides those in one instruction, 64-bit ones in a
    // library routine): lengths are at most MAX_CODE_LEN, so logs are at most 13 * 256, and
    // centres of a valid model at most 256 * MAX_STEPS: products stay below 2^30.
    let lg = |n: usize| crate::symbols::log2_q8(n.clamp(1, MAX_CODE_LEN) as u32) as i32;
    let target = lg(length);
    // The pair of knots to interpolate (or extrapolate) between.
    let mut a = 0;
    while a + 2 < knots && lg(knot(a + 1).0) < target {
        a += 1;
    }
    let (b0, c0) = knot(a);
    let centre = if knots < 2 {
        c0
    } else {
        let (b1, c1) = knot(a + 1);
        let (x0, x1) = (lg(b0), lg(b1));
        let slope_num = c1.saturating_sub(c0).saturating_mul(target - x0);
        c0.saturating_add(slope_num.checked_div(x1 - x0).unwrap_or(0))
    };
    let index = centre.saturating_add(128) >> 8;
    index.min(steps as i32 - 1).max(0) as usize
}

impl Class<'_> {
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

/// One class table for [`write`].
#[derive(Debug, Clone, Copy)]
pub struct ClassTable<'p> {
    /// `alphabet + 1` cumulative frequencies.
    pub cdf: &'p [u16],
    /// `alphabet - 1` reconstruction offsets (Q15, signed).
    pub recon: &'p [i16],
    /// Rounding offset (Q16, at most 32768).
    pub rounding: u16,
    /// Exp-Golomb order of escapes.
    pub escape_order: u8,
    /// Raw low bits of each magnitude.
    pub raw_bits: u8,
}

/// The length-conditioned step prior, for [`write`].
#[derive(Debug, Clone, Copy)]
pub struct StepContext<'p> {
    /// Predicted step index (Q8) at each of the model's budgets.
    pub centres: &'p [i32],
    /// `STEP_RESIDUAL_SYMBOLS + 1` cumulative frequencies of the residual (and escape).
    pub residual_cdf: &'p [u16],
}

/// Everything a model holds, as borrowed slices, for [`write`].
#[derive(Debug, Clone, Copy)]
pub struct ModelParts<'p> {
    /// Input dimension.
    pub dim: usize,
    /// Input fixed-point shift.
    pub shift: i8,
    /// Classes per octave of spread/step ratio.
    pub classes_per_octave: u8,
    /// Class of ratio 1.
    pub class_offset: i32,
    /// Clamp reconstructions to the training range.
    pub clamp: bool,
    /// Trellis-coded quantisation: `classes` then holds the tables of the first quantiser
    /// followed by those of the second, each with its rate-distortion slope in `rounding`.
    pub trellis: bool,
    /// Low-rate step growth (none: the model stays readable by version-2 decoders).
    pub growth: StepGrowth,
    /// Trained budgets, increasing.
    pub budgets: &'p [u16],
    /// Active dimension indices, increasing.
    pub active: &'p [u16],
    /// `dim` fixed-point means.
    pub mean: &'p [i32],
    /// Per active dim lower clamp.
    pub lower: &'p [i32],
    /// Per active dim upper clamp.
    pub upper: &'p [i32],
    /// `coeffs x active` Q15 transform, row-major.
    pub transform: &'p [i16],
    /// Per coefficient `log2(spread / weight)`, Q8.
    pub coef_class_log: &'p [i16],
    /// Per coefficient step weight, Q12.
    pub coef_weight: &'p [u16],
    /// Step sizes, increasing.
    pub step_size: &'p [u32],
    /// `log2(step)` Q8 per step.
    pub step_log: &'p [i32],
    /// Step-index prior, `steps + 1` cumulative frequencies.
    pub step_cdf: &'p [u16],
    /// The length-conditioned step prior (format 4), or none.
    pub step_context: Option<StepContext<'p>>,
    /// Class tables.
    pub classes: &'p [ClassTable<'p>],
    /// Decoder gains (format 5), or none.
    pub gains: Option<Gains<'p>>,
}

/// Decoder gains of the leading coefficients, for [`write`].
#[derive(Debug, Clone, Copy)]
pub struct Gains<'p> {
    /// How many leading coefficients get them (1 ..= coefficients).
    pub coeffs: usize,
    /// One gain per class (of one quantiser), Q15, at most `1 << 15`.
    pub per_class: &'p [u16],
}

impl ModelParts<'_> {
    fn shape(&self) -> Shape {
        Shape {
            dim: self.dim,
            active: self.active.len(),
            coeffs: self.coef_weight.len(),
            classes: self.classes.len(),
            alphabet: self
                .classes
                .first()
                .map_or(2, |c| c.cdf.len().saturating_sub(1)),
            steps: self.step_size.len(),
            budgets: self.budgets.len(),
            step_context: self.step_context.is_some(),
            gains: self.gains.map_or(0, |g| g.per_class.len()),
        }
    }

    /// Bytes [`write`] will produce.
    pub fn encoded_len(&self) -> usize {
        self.shape().total_len()
    }
}

struct Writer<'o> {
    out: &'o mut [u8],
    pos: usize,
}

impl Writer<'_> {
    fn bytes(&mut self, b: &[u8]) -> Result<(), Error> {
        let end = self.pos + b.len();
        let actual = self.out.len();
        let dst = self
            .out
            .get_mut(self.pos..end)
            .ok_or(Error::OutputTooSmall {
                needed: end,
                actual,
            })?;
        dst.copy_from_slice(b);
        self.pos = end;
        Ok(())
    }
}

/// Serialise a model into `out` (at least [`ModelParts::encoded_len`] bytes) and return its
/// length. The result is parsed back before returning, so a model that `write` accepts is one
/// that [`Model::parse`] accepts.
pub fn write(parts: &ModelParts<'_>, out: &mut [u8]) -> Result<usize, Error> {
    let shape = parts.shape();
    let total = shape.total_len();
    if out.len() < total {
        return Err(Error::OutputTooSmall {
            needed: total,
            actual: out.len(),
        });
    }
    let fits_u16 =
        |v: usize| u16::try_from(v).map_err(|_| Error::ModelInvalid("count exceeds 16 bits"));
    check(parts.mean.len() == shape.dim, "mean length")?;
    check(
        parts.lower.len() == shape.active && parts.upper.len() == shape.active,
        "clamp length",
    )?;
    check(
        parts.transform.len() == shape.coeffs * shape.active,
        "transform length",
    )?;
    check(
        parts.coef_class_log.len() == shape.coeffs,
        "coefficient table length",
    )?;
    check(parts.step_log.len() == shape.steps, "step log length")?;
    check(parts.step_cdf.len() == shape.steps + 1, "step prior length")?;
    if let Some(c) = parts.step_context {
        check(c.centres.len() == shape.budgets, "step centre length")?;
        check(
            c.residual_cdf.len() == STEP_RESIDUAL_SYMBOLS + 1,
            "step residual table length",
        )?;
    }
    let alphabet = shape.alphabet;
    check((2..=MAX_ALPHABET).contains(&alphabet), "alphabet size")?;
    for c in parts.classes {
        check(
            c.cdf.len() == alphabet + 1 && c.recon.len() == alphabet - 1,
            "class table shape",
        )?;
    }
    let mut header = [0u8; HEADER_LEN];
    header[..4].copy_from_slice(&MAGIC);
    // The oldest version that can express the model, so that models without the newer
    // features stay readable by older decoders.
    let version = if parts.gains.is_some() {
        5
    } else if parts.step_context.is_some() {
        4
    } else if parts.growth != StepGrowth::default() {
        3
    } else if parts.trellis {
        2
    } else {
        OLDEST_FORMAT_VERSION
    };
    header[4..6].copy_from_slice(&version.to_le_bytes());
    header[6..8].copy_from_slice(&(HEADER_LEN as u16).to_le_bytes());
    header[8..12].copy_from_slice(&(total as u32).to_le_bytes());
    header[12..14].copy_from_slice(&fits_u16(shape.dim)?.to_le_bytes());
    header[14..16].copy_from_slice(&fits_u16(shape.active)?.to_le_bytes());
    header[16..18].copy_from_slice(&fits_u16(shape.coeffs)?.to_le_bytes());
    header[18] = parts.shift as u8;
    header[19] = parts.classes_per_octave;
    if parts.trellis && shape.classes % 2 != 0 {
        return Err(Error::ModelInvalid("trellis needs two tables per class"));
    }
    let class_count = shape.classes / if parts.trellis { 2 } else { 1 };
    if let Some(g) = parts.gains {
        check(g.per_class.len() == class_count, "one gain per class")?;
    }
    header[20..22].copy_from_slice(&fits_u16(class_count)?.to_le_bytes());
    header[22] = u8::try_from(alphabet).map_err(|_| Error::ModelInvalid("alphabet size"))?;
    header[23] = if parts.clamp { FLAG_CLAMP } else { 0 }
        | if parts.trellis { FLAG_TRELLIS } else { 0 }
        | if parts.step_context.is_some() {
            FLAG_STEP_CONTEXT
        } else {
            0
        }
        | if parts.gains.is_some() { FLAG_GAINS } else { 0 };
    header[24..26].copy_from_slice(&fits_u16(shape.steps)?.to_le_bytes());
    header[26..28].copy_from_slice(&fits_u16(shape.budgets)?.to_le_bytes());
    header[28..32].copy_from_slice(&parts.class_offset.to_le_bytes());
    header[32..34].copy_from_slice(&parts.growth.slope.to_le_bytes());
    header[34..36].copy_from_slice(&parts.growth.threshold.to_le_bytes());
    let gain_coeffs = parts.gains.map_or(0, |g| g.coeffs);
    header[36..38].copy_from_slice(&fits_u16(gain_coeffs)?.to_le_bytes());

    let mut w = Writer { out, pos: 0 };
    w.bytes(&header)?;
    macro_rules! put {
        ($slice:expr) => {
            for v in $slice.iter() {
                w.bytes(&v.to_le_bytes())?;
            }
        };
    }
    put!(parts.budgets);
    put!(parts.active);
    put!(parts.mean);
    put!(parts.lower);
    put!(parts.upper);
    put!(parts.transform);
    put!(parts.coef_class_log);
    put!(parts.coef_weight);
    put!(parts.step_size);
    put!(parts.step_log);
    put!(parts.step_cdf);
    if let Some(c) = parts.step_context {
        put!(c.centres);
        put!(c.residual_cdf);
    }
    for c in parts.classes {
        put!(c.cdf);
        put!(c.recon);
        w.bytes(&c.rounding.to_le_bytes())?;
        w.bytes(&[c.escape_order, c.raw_bits])?;
    }
    if let Some(g) = parts.gains {
        put!(g.per_class);
    }
    let sum = crc32(w.out.get(..w.pos).unwrap_or(&[]));
    w.bytes(&sum.to_le_bytes())?;
    let len = w.pos;
    Model::parse(out.get(..len).unwrap_or(&[]))?;
    Ok(len)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn predicted_step_interpolates_in_log_length_and_extends_the_end_segments() {
        let knots = [(16usize, 100 * 256), (32, 80 * 256), (64, 70 * 256)];
        let at = |length| predict_step(3, |i| knots[i], length, 200);
        assert_eq!((at(16), at(32), at(64)), (100, 80, 70));
        assert!(at(22) < 100 && at(22) > 80, "{}", at(22));
        assert_eq!(at(8), 120);
        assert_eq!(at(128), 60);
        assert_eq!(at(1), 180);
        assert_eq!(at(8192), 0);
        // Clamped to the step grid.
        assert_eq!(predict_step(3, |i| knots[i], 1, 150), 149);
        assert_eq!(predict_step(3, |i| knots[i], 8192, 150), 0);
        let steep = [(16usize, 100 * 256), (32, 40 * 256)];
        assert_eq!(predict_step(2, |i| steep[i], 8192, 150), 0);
        // One knot: its centre everywhere.
        assert_eq!(predict_step(1, |_| (16, 50 * 256), 1000, 200), 50);
        // Two budgets with the same (approximate) logarithm: no division by zero.
        let same = [(512usize, 10 * 256), (513, 9 * 256)];
        assert_eq!(predict_step(2, |i| same[i], 1024, 200), 10);
    }

    const GOLDEN: &[u8] = include_bytes!("../tests/golden/model-v5.nfcm");

    #[test]
    fn declared_len_finds_a_model_at_the_start_of_a_padded_buffer() {
        let mut padded = [0xFFu8; 6000];
        padded[..GOLDEN.len()].copy_from_slice(GOLDEN);
        assert_eq!(Model::declared_len(&padded), Ok(GOLDEN.len()));
        assert_eq!(Model::declared_len(GOLDEN), Ok(GOLDEN.len()));
        assert!(Model::parse(&padded[..GOLDEN.len()]).is_ok());
        assert_eq!(
            Model::declared_len(&GOLDEN[..GOLDEN.len() - 1]),
            Err(Error::ModelTruncated {
                expected: GOLDEN.len(),
                actual: GOLDEN.len() - 1
            })
        );
        assert!(matches!(
            Model::declared_len(&GOLDEN[..HEADER_LEN - 1]),
            Err(Error::ModelTruncated { .. })
        ));
        assert!(matches!(
            Model::declared_len(&GOLDEN[..2]),
            Err(Error::ModelTruncated { .. })
        ));
        padded[0] ^= 1;
        assert_eq!(Model::declared_len(&padded), Err(Error::NotAModel));
        padded[0] ^= 1;
        padded[4] = 0xEE;
        assert!(matches!(
            Model::declared_len(&padded),
            Err(Error::UnsupportedModelVersion { found: 0xEE, .. })
        ));
        padded[4] = GOLDEN[4];
        // A length field too short to hold a header and a checksum.
        padded[8..12].copy_from_slice(&10u32.to_le_bytes());
        assert!(matches!(
            Model::declared_len(&padded),
            Err(Error::ModelInvalid(_))
        ));
    }

    #[test]
    fn parse_trusted_skips_the_checksum_and_nothing_else() {
        let mut bytes = [0u8; 6000];
        let bytes = &mut bytes[..GOLDEN.len()];
        bytes.copy_from_slice(GOLDEN);
        let n = bytes.len();
        bytes[n - 1] ^= 0x80;
        assert_eq!(Model::parse(bytes).err(), Some(Error::ModelChecksum));
        let trusted = Model::parse_trusted(bytes).unwrap();
        let checked = Model::parse(GOLDEN).unwrap();
        assert_eq!(trusted.dim(), checked.dim());
        assert_eq!(trusted.min_budget(), checked.min_budget());
        // Validation other than the checksum still runs: an alphabet of 1 is refused.
        bytes[22] = 1;
        assert!(matches!(
            Model::parse_trusted(bytes),
            Err(Error::ModelInvalid(_))
        ));
        assert!(matches!(
            Model::parse_trusted(&GOLDEN[..n - 1]),
            Err(Error::ModelTruncated { .. })
        ));
    }
}
