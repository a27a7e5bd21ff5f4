//! Reading a model: every count, index and table is checked before [`Model::parse`] returns,
//! so a truncated, corrupted or hostile model is an error, never a panic or an out-of-bounds
//! read later.

use super::grid::StepGrid;
use super::layout::*;
use crate::crc::crc32;
use crate::error::ModelError;
use crate::fixed::{INPUT_LIMIT, MAX_SHIFT};

/// Splits a byte slice into consecutive sections, failing cleanly when it runs out.
struct Cursor<'a> {
    rest: &'a [u8],
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], ModelError> {
        if n > self.rest.len() {
            return Err(ModelError::LengthField);
        }
        let (head, tail) = self.rest.split_at(n);
        self.rest = tail;
        Ok(head)
    }
}

/// A cumulative frequency table: starts at 0, ends at `1 << PROB_BITS`, strictly increasing
/// (every symbol has a non-zero probability, so any symbol can be coded).
fn check_cdf(cdf: &[u8], entries: usize, what: ModelError) -> Result<(), ModelError> {
    check(u16_at(cdf, 0) == 0, what)?;
    check(u32::from(u16_at(cdf, entries - 1)) == 1 << PROB_BITS, what)?;
    for i in 1..entries {
        check(u16_at(cdf, i) > u16_at(cdf, i - 1), what)?;
    }
    Ok(())
}

impl<'a> Model<'a> {
    /// Parse and validate a model.
    pub fn parse(bytes: &'a [u8]) -> Result<Self, ModelError> {
        Self::parse_with(bytes, true)
    }

    /// Parse and validate a model without comparing its checksum, for an image whose
    /// integrity the caller has already verified (secure boot): the checksum pass is most of
    /// the cost of [`Model::parse`]. Every other check still runs, so a damaged model is still
    /// an error or a valid but different model, never an out-of-bounds read.
    pub fn parse_trusted(bytes: &'a [u8]) -> Result<Self, ModelError> {
        Self::parse_with(bytes, false)
    }

    /// The length of the model that starts `bytes`, as its header declares it, so that a
    /// model can be found at the start of a larger buffer (a padded flash partition). Checks
    /// the magic, the format version and the header length only; [`Model::parse`] of
    /// `&bytes[..len]` validates the rest.
    pub fn declared_len(bytes: &[u8]) -> Result<usize, ModelError> {
        if bytes.len() >= 4 && bytes[..4] != MAGIC {
            return Err(ModelError::NotAModel);
        }
        if bytes.len() < HEADER_LEN {
            return Err(ModelError::Truncated {
                expected: HEADER_LEN,
                actual: bytes.len(),
            });
        }
        check_version(bytes)?;
        check(
            usize::from(u16_at(bytes, 3)) == HEADER_LEN,
            ModelError::HeaderLength,
        )?;
        let total = u32_at(bytes, 2) as usize;
        check(total >= HEADER_LEN + 4, ModelError::LengthField)?;
        if bytes.len() < total {
            return Err(ModelError::Truncated {
                expected: total,
                actual: bytes.len(),
            });
        }
        Ok(total)
    }

    fn parse_with(bytes: &'a [u8], verify_checksum: bool) -> Result<Self, ModelError> {
        if bytes.len() < 8 || bytes[..4] != MAGIC {
            return Err(if bytes.len() >= 4 && bytes[..4] != MAGIC {
                ModelError::NotAModel
            } else {
                ModelError::Truncated {
                    expected: HEADER_LEN,
                    actual: bytes.len(),
                }
            });
        }
        check_version(bytes)?;
        if bytes.len() < HEADER_LEN {
            return Err(ModelError::Truncated {
                expected: HEADER_LEN,
                actual: bytes.len(),
            });
        }
        let header = &bytes[..HEADER_LEN];
        check(
            usize::from(u16_at(header, 3)) == HEADER_LEN,
            ModelError::HeaderLength,
        )?;
        let total = u32_at(header, 2) as usize;
        let flags = header[23];
        let tables_per_class = if flags & FLAG_TRELLIS != 0 { 2 } else { 1 };
        let shape = Shape {
            dim: usize::from(u16_at(header, 6)),
            active: usize::from(u16_at(header, 7)),
            coeffs: usize::from(u16_at(header, 8)),
            tables: usize::from(u16_at(header, 10)) * tables_per_class,
            alphabet: usize::from(header[22]),
            steps: usize::from(u16_at(header, 12)),
            budgets: usize::from(u16_at(header, 13)),
            gains: usize::from(u16_at(header, 10)),
        };
        let gain_coeffs = usize::from(u16_at(header, 18));
        let shift = i32::from(header[18] as i8);
        let classes_per_octave = i32::from(header[19]);
        let class_offset = i32_at(header, 7);

        check((1..=MAX_DIM).contains(&shape.dim), ModelError::Dimension)?;
        check(
            (1..=MAX_ACTIVE.min(shape.dim)).contains(&shape.active),
            ModelError::ActiveCount,
        )?;
        check(
            (1..=MAX_COEFFS.min(shape.active)).contains(&shape.coeffs),
            ModelError::CoefficientCount,
        )?;
        check(
            (1..=MAX_CLASSES).contains(&(shape.tables / tables_per_class)),
            ModelError::ClassCount,
        )?;
        check(
            (2..=MAX_ALPHABET).contains(&shape.alphabet),
            ModelError::AlphabetSize,
        )?;
        check(
            (1..=MAX_STEPS).contains(&shape.steps),
            ModelError::StepCount,
        )?;
        // The budgets are the knots of the length step prior: at least one.
        check(
            (1..=MAX_BUDGETS).contains(&shape.budgets),
            ModelError::BudgetCount,
        )?;
        check(
            shift.unsigned_abs() <= MAX_SHIFT.unsigned_abs(),
            ModelError::InputShift,
        )?;
        check(
            (1..=64).contains(&classes_per_octave),
            ModelError::ClassesPerOctave,
        )?;
        // unsigned_abs: `abs` of i32::MIN overflows, and this field comes from the file.
        check(
            class_offset.unsigned_abs() <= 1 << 20,
            ModelError::ClassOffset,
        )?;
        check(
            flags & !(FLAG_CLAMP | FLAG_TRELLIS) == 0,
            ModelError::UnknownFlags,
        )?;
        let growth = StepGrowth {
            slope: u16_at(header, 16),
            threshold: i16_at(header, 17),
        };
        check(growth.slope <= MAX_GROWTH_SLOPE, ModelError::GrowthSlope)?;
        check(
            growth.threshold.unsigned_abs() <= MAX_GROWTH_THRESHOLD.unsigned_abs(),
            ModelError::GrowthThreshold,
        )?;
        check(
            gain_coeffs <= shape.coeffs,
            ModelError::GainCoefficientCount,
        )?;
        check(
            header[38..].iter().all(|&b| b == 0),
            ModelError::ReservedBytes,
        )?;

        let expected = shape.total_len();
        if total != expected {
            return Err(ModelError::LengthField);
        }
        if bytes.len() < expected {
            return Err(ModelError::Truncated {
                expected,
                actual: bytes.len(),
            });
        }
        check(bytes.len() == expected, ModelError::TrailingBytes)?;
        let (content, sum) = bytes.split_at(expected - 4);
        if verify_checksum && crc32(content) != u32_at(sum, 0) {
            return Err(ModelError::Checksum);
        }

        // `get`: the sizes add up to at least the header, but the compiler cannot see it.
        let mut cur = Cursor {
            rest: content.get(HEADER_LEN..).ok_or(ModelError::LengthField)?,
        };
        let model = Model {
            dim: shape.dim,
            active_count: shape.active,
            coeffs: shape.coeffs,
            shift,
            classes_per_octave,
            class_offset,
            tables: shape.tables,
            alphabet: shape.alphabet,
            flags: u32::from(flags),
            version: u32::from(FORMAT_VERSION),
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
            step_centre: cur.take(4 * shape.budgets)?,
            step_residual_cdf: cur.take(2 * (STEP_RESIDUAL_SYMBOLS + 1))?,
            class_tables: cur.take(shape.tables * class_table_len(shape.alphabet))?,
            gain_coeffs,
            gains: cur.take(2 * shape.gains)?,
            growth,
        };
        check(cur.rest.is_empty(), ModelError::LengthField)?;
        model.validate_sections()?;
        Ok(model)
    }

    fn validate_sections(&self) -> Result<(), ModelError> {
        for i in 0..self.budget_count {
            let b = usize::from(u16_at(self.budgets, i));
            check(
                (1..=MAX_CODE_LEN).contains(&b),
                ModelError::BudgetOutOfRange,
            )?;
            check(
                i == 0 || b > usize::from(u16_at(self.budgets, i - 1)),
                ModelError::BudgetsNotIncreasing,
            )?;
        }
        for i in 0..self.active_count {
            let a = usize::from(u16_at(self.active, i));
            check(a < self.dim, ModelError::ActiveIndexOutOfRange)?;
            check(
                i == 0 || a > usize::from(u16_at(self.active, i - 1)),
                ModelError::ActiveNotIncreasing,
            )?;
            let (lo, hi) = (i32_at(self.lower, i), i32_at(self.upper, i));
            check(lo <= hi, ModelError::ClampRangeEmpty)?;
            check(
                lo.unsigned_abs() <= INPUT_LIMIT.unsigned_abs()
                    && hi.unsigned_abs() <= INPUT_LIMIT.unsigned_abs(),
                ModelError::ClampMagnitude,
            )?;
        }
        for i in 0..self.dim {
            check(
                i32_at(self.mean, i).unsigned_abs() <= INPUT_LIMIT.unsigned_abs(),
                ModelError::MeanMagnitude,
            )?;
        }
        for k in 0..self.coeffs {
            check(
                u16_at(self.coef_weight, k) >= 1,
                ModelError::CoefficientWeight,
            )?;
        }
        for j in 0..self.steps {
            let s = u32_at(self.step_size, j);
            check((1..=1 << 31).contains(&s), ModelError::StepSizeOutOfRange)?;
            check(
                j == 0 || s > u32_at(self.step_size, j - 1),
                ModelError::StepSizesNotIncreasing,
            )?;
            check(
                i32_at(self.step_log, j).unsigned_abs() <= STEP_LOG_LIMIT,
                ModelError::StepLogOutOfRange,
            )?;
        }
        // The coarsest step must quantise every possible coefficient to zero, so that some
        // code always fits: |y| <= COEFF_LIMIT and rounding <= 1/2 need a step above 2^30.
        let last = self.steps - 1;
        for k in 0..self.coeffs {
            check(
                self.step(k, last) > 1 << 30,
                ModelError::CoarsestStepTooFine,
            )?;
        }
        check_cdf(self.step_cdf, self.steps + 1, ModelError::StepPrior)?;
        for i in 0..self.budget_count {
            let c = i32_at(self.step_centre, i);
            check(
                (0..=256 * (self.steps as i32 - 1)).contains(&c),
                ModelError::PredictedStepOutOfRange,
            )?;
        }
        check_cdf(
            self.step_residual_cdf,
            STEP_RESIDUAL_SYMBOLS + 1,
            ModelError::StepResidualTable,
        )?;
        for c in 0..self.tables {
            let t = self.class_bytes(c);
            // `get` rather than indexing, here and below: every length is known to fit, but
            // the compiler cannot see it, and an index would link panic formatting into
            // firmware.
            check_cdf(
                t.get(..2 * (self.alphabet + 1)).unwrap_or(&[]),
                self.alphabet + 1,
                ModelError::ClassTable,
            )?;
            let tail = t.get(class_table_len(self.alphabet) - 4..).unwrap_or(&[]);
            check(
                u32::from(u16_at(tail, 0)) <= 1 << 15,
                ModelError::RoundingAboveHalf,
            )?;
            check(
                tail.get(2).is_some_and(|&o| o <= MAX_ESCAPE_ORDER),
                ModelError::EscapeOrder,
            )?;
            check(
                tail.get(3).is_some_and(|&b| b <= MAX_RAW_BITS),
                ModelError::RawBits,
            )?;
        }
        for c in 0..self.gains.len() / 2 {
            check(
                u32::from(u16_at(self.gains, c)) <= 1 << 15,
                ModelError::GainAboveOne,
            )?;
        }
        Ok(())
    }
}

/// The format version of a header of at least 8 bytes: only the current one is read.
fn check_version(bytes: &[u8]) -> Result<(), ModelError> {
    let version = u16_at(bytes, 2);
    if version == FORMAT_VERSION {
        Ok(())
    } else {
        Err(ModelError::UnsupportedVersion {
            found: version,
            supported: FORMAT_VERSION,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOLDEN: &[u8] = include_bytes!("../../tests/golden/model-v1.nfcm");

    #[test]
    fn declared_len_finds_a_model_at_the_start_of_a_padded_buffer() {
        let mut padded = [0xFFu8; 6000];
        padded[..GOLDEN.len()].copy_from_slice(GOLDEN);
        assert_eq!(Model::declared_len(&padded), Ok(GOLDEN.len()));
        assert_eq!(Model::declared_len(GOLDEN), Ok(GOLDEN.len()));
        assert!(Model::parse(&padded[..GOLDEN.len()]).is_ok());
        assert_eq!(
            Model::declared_len(&GOLDEN[..GOLDEN.len() - 1]),
            Err(ModelError::Truncated {
                expected: GOLDEN.len(),
                actual: GOLDEN.len() - 1
            })
        );
        assert!(matches!(
            Model::declared_len(&GOLDEN[..HEADER_LEN - 1]),
            Err(ModelError::Truncated { .. })
        ));
        assert!(matches!(
            Model::declared_len(&GOLDEN[..2]),
            Err(ModelError::Truncated { .. })
        ));
        padded[0] ^= 1;
        assert_eq!(Model::declared_len(&padded), Err(ModelError::NotAModel));
        padded[0] ^= 1;
        padded[4] = 0xEE;
        assert!(matches!(
            Model::declared_len(&padded),
            Err(ModelError::UnsupportedVersion { found: 0xEE, .. })
        ));
        padded[4] = GOLDEN[4];
        // A length field too short to hold a header and a checksum.
        padded[8..12].copy_from_slice(&10u32.to_le_bytes());
        assert_eq!(Model::declared_len(&padded), Err(ModelError::LengthField));
    }

    #[test]
    fn parse_trusted_skips_the_checksum_and_nothing_else() {
        let mut bytes = [0u8; 6000];
        let bytes = &mut bytes[..GOLDEN.len()];
        bytes.copy_from_slice(GOLDEN);
        let n = bytes.len();
        bytes[n - 1] ^= 0x80;
        assert_eq!(Model::parse(bytes).err(), Some(ModelError::Checksum));
        let trusted = Model::parse_trusted(bytes).unwrap();
        let checked = Model::parse(GOLDEN).unwrap();
        assert_eq!(trusted.dim(), checked.dim());
        assert_eq!(trusted.coeffs(), checked.coeffs());
        // Validation other than the checksum still runs: an alphabet of 1 is refused.
        bytes[22] = 1;
        assert_eq!(
            Model::parse_trusted(bytes).err(),
            Some(ModelError::AlphabetSize)
        );
        assert!(matches!(
            Model::parse_trusted(&GOLDEN[..n - 1]),
            Err(ModelError::Truncated { .. })
        ));
    }
}
