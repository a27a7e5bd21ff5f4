//! Writing a model: the one producer of the format, used by training. What it writes is
//! parsed back before it returns.

use super::layout::*;
use crate::crc::crc32;
use crate::error::{ModelError, Section};

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

/// The length step prior (the step index predicted at each budget), for [`write`].
#[derive(Debug, Clone, Copy)]
pub struct LengthStepPrior<'p> {
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
    /// Low-rate step growth (zero: none).
    pub growth: StepGrowth,
    /// Trained budgets, increasing (at least one: the knots of the length step prior).
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
    /// The length step prior: the step index predicted at each budget.
    pub length_step_prior: LengthStepPrior<'p>,
    /// Class tables.
    pub classes: &'p [ClassTable<'p>],
    /// Decoder gains (`coeffs` 0: none).
    pub gains: Gains<'p>,
}

/// Decoder gains of the leading coefficients, for [`write`].
#[derive(Debug, Clone, Copy)]
pub struct Gains<'p> {
    /// How many leading coefficients get them (0 ..= coefficients).
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
            tables: self.classes.len(),
            alphabet: self
                .classes
                .first()
                .map_or(2, |c| c.cdf.len().saturating_sub(1)),
            steps: self.step_size.len(),
            budgets: self.budgets.len(),
            gains: self.gains.per_class.len(),
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
    fn bytes(&mut self, b: &[u8]) -> Result<(), ModelError> {
        let end = self.pos + b.len();
        let actual = self.out.len();
        let dst = self
            .out
            .get_mut(self.pos..end)
            .ok_or(ModelError::OutputTooSmall {
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
pub fn write(parts: &ModelParts<'_>, out: &mut [u8]) -> Result<usize, ModelError> {
    let shape = parts.shape();
    // Before any size arithmetic: a first class table of fewer than 3 frequencies means an
    // alphabet below 2, which no size formula should see.
    check(
        (2..=MAX_ALPHABET).contains(&shape.alphabet),
        ModelError::AlphabetSize,
    )?;
    let total = shape.total_len();
    if out.len() < total {
        return Err(ModelError::OutputTooSmall {
            needed: total,
            actual: out.len(),
        });
    }
    let fits_u16 = |v: usize| u16::try_from(v).map_err(|_| ModelError::CountTooLarge);
    check(
        parts.mean.len() == shape.dim,
        ModelError::SectionLength(Section::Mean),
    )?;
    check(
        parts.lower.len() == shape.active && parts.upper.len() == shape.active,
        ModelError::SectionLength(Section::Clamp),
    )?;
    check(
        parts.transform.len() == shape.coeffs * shape.active,
        ModelError::SectionLength(Section::Transform),
    )?;
    check(
        parts.coef_class_log.len() == shape.coeffs,
        ModelError::SectionLength(Section::CoefficientLog),
    )?;
    check(
        parts.step_log.len() == shape.steps,
        ModelError::SectionLength(Section::StepLog),
    )?;
    check(
        parts.step_cdf.len() == shape.steps + 1,
        ModelError::SectionLength(Section::StepPrior),
    )?;
    let prior = parts.length_step_prior;
    check(
        prior.centres.len() == shape.budgets,
        ModelError::SectionLength(Section::StepCentres),
    )?;
    check(
        prior.residual_cdf.len() == STEP_RESIDUAL_SYMBOLS + 1,
        ModelError::SectionLength(Section::StepResidual),
    )?;
    let alphabet = shape.alphabet;
    for c in parts.classes {
        check(
            c.cdf.len() == alphabet + 1 && c.recon.len() == alphabet - 1,
            ModelError::SectionLength(Section::ClassTable),
        )?;
    }
    let mut header = [0u8; HEADER_LEN];
    header[..4].copy_from_slice(&MAGIC);
    header[4..6].copy_from_slice(&FORMAT_VERSION.to_le_bytes());
    header[6..8].copy_from_slice(&(HEADER_LEN as u16).to_le_bytes());
    header[8..12].copy_from_slice(&(total as u32).to_le_bytes());
    header[12..14].copy_from_slice(&fits_u16(shape.dim)?.to_le_bytes());
    header[14..16].copy_from_slice(&fits_u16(shape.active)?.to_le_bytes());
    header[16..18].copy_from_slice(&fits_u16(shape.coeffs)?.to_le_bytes());
    header[18] = parts.shift as u8;
    header[19] = parts.classes_per_octave;
    if parts.trellis && shape.tables % 2 != 0 {
        return Err(ModelError::TrellisTableCount);
    }
    let class_count = shape.tables / if parts.trellis { 2 } else { 1 };
    check(
        parts.gains.per_class.len() == class_count,
        ModelError::SectionLength(Section::Gains),
    )?;
    header[20..22].copy_from_slice(&fits_u16(class_count)?.to_le_bytes());
    header[22] = u8::try_from(alphabet).map_err(|_| ModelError::AlphabetSize)?;
    header[23] =
        if parts.clamp { FLAG_CLAMP } else { 0 } | if parts.trellis { FLAG_TRELLIS } else { 0 };
    header[24..26].copy_from_slice(&fits_u16(shape.steps)?.to_le_bytes());
    header[26..28].copy_from_slice(&fits_u16(shape.budgets)?.to_le_bytes());
    header[28..32].copy_from_slice(&parts.class_offset.to_le_bytes());
    header[32..34].copy_from_slice(&parts.growth.slope.to_le_bytes());
    header[34..36].copy_from_slice(&parts.growth.threshold.to_le_bytes());
    header[36..38].copy_from_slice(&fits_u16(parts.gains.coeffs)?.to_le_bytes());

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
    put!(prior.centres);
    put!(prior.residual_cdf);
    for c in parts.classes {
        put!(c.cdf);
        put!(c.recon);
        w.bytes(&c.rounding.to_le_bytes())?;
        w.bytes(&[c.escape_order, c.raw_bits])?;
    }
    put!(parts.gains.per_class);
    let sum = crc32(w.out.get(..w.pos).unwrap_or(&[]));
    w.bytes(&sum.to_le_bytes())?;
    let len = w.pos;
    Model::parse(out.get(..len).unwrap_or(&[]))?;
    Ok(len)
}
