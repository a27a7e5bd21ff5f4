//! Probability tables and quantiser parameters per class.
//!
//! Every coefficient divided by its spread has (nearly) the same distribution, so one pool of
//! standardised training coefficients describes them all. A class stands for one ratio of
//! spread to step, `2^((c - offset) / per_octave)`; its table is what quantising the pool at
//! that ratio produces. Pooling over all coefficients gives each table millions of samples,
//! which generalises far better than per-coefficient histograms from a few hundred vectors.
//! For each class the dead-zone rounding is chosen to minimise `D + lambda R` with
//! `lambda = ln(2)/6 * step^2`, the slope of uniform quantisation at high rate, so that every
//! class quantised with the same step works at the same rate-distortion slope.

use codec_core::internals::PROB_BITS;

/// Classes per octave of the spread/step ratio.
pub const CLASSES_PER_OCTAVE: u8 = 4;
/// Lowest class: ratio 2^-7 (a coefficient almost always zero).
pub const MIN_LOG2_RATIO: i32 = -7;
/// Highest class: ratio 2^10 (the trellis, whose step is half the scalar one, reaches 2^9 at
/// about 9 bits per coefficient).
pub const MAX_LOG2_RATIO: i32 = 10;
/// Symbols per class (high parts 0..ALPHABET-2 plus the escape).
pub const ALPHABET: usize = 24;

/// Rate-distortion slope relative to step^2 (bits are worth this much squared-step error).
pub const LAMBDA_PER_STEP2: f64 = std::f64::consts::LN_2 / 6.0;

/// Rounding offsets tried, in Q16.
const ROUNDINGS: [f64; 11] = [
    0.5, 0.46, 0.42, 0.38, 0.34, 0.30, 0.26, 0.22, 0.18, 0.14, 0.10,
];

/// A class table ready for the model.
#[derive(Debug, Clone)]
pub struct ClassTable {
    /// Cumulative frequencies (`ALPHABET + 1`).
    pub cdf: Vec<u16>,
    /// Reconstruction offsets in Q15, signed (`ALPHABET - 1`).
    pub recon: Vec<i16>,
    /// Rounding in Q16.
    pub rounding: u16,
    /// Escape Exp-Golomb order.
    pub escape_order: u8,
    /// Raw low bits.
    pub raw_bits: u8,
    /// Expected bits per coefficient and squared error per coefficient (in units of the
    /// coefficient's variance) at this class; used for reports and rate estimates.
    pub bits: f64,
    /// Mean squared error relative to the spread squared.
    pub distortion: f64,
}

/// Number of classes and the class of ratio 1.
pub fn class_layout() -> (usize, i32) {
    let per = i32::from(CLASSES_PER_OCTAVE);
    let count = ((MAX_LOG2_RATIO - MIN_LOG2_RATIO) * per + 1) as usize;
    (count, -MIN_LOG2_RATIO * per)
}

/// How the quantiser trades error against rate and ranking.
#[derive(Debug, Clone, Copy)]
pub struct TableParams {
    /// The trellis search's rate-distortion slope in squared steps per bit for classes whose
    /// spread is at least 4 steps (see [`TableParams::trellis_slope`]).
    pub trellis_lambda: f64,
    /// The slope for classes whose spread is at most half a step.
    pub trellis_lambda_low: f64,
    /// Rate-distortion slope in squared steps per bit: larger favours fewer bits (wider dead
    /// zones). `LAMBDA_PER_STEP2` is the high-rate slope.
    pub lambda: f64,
    /// Where a magnitude is put back: 1 = at the training centroid of its cell (least squared
    /// error), 0 = at the cell's middle (keeps small coefficients at full strength, which
    /// ranking by cosine prefers).
    pub centroid_weight: f64,
}

/// Cell middles by default: on kind-A features, against 0.5 (halfway to the centroids), they
/// cost 2% more dr and keep 0.8 points more ACC_reid at 32 and 64 bytes, which is what puts
/// naicfc ahead of OPQ on both measures there (see README, Results). Re-ID is the product.
pub const DEFAULT_CENTROID_WEIGHT: f64 = 0.0;

impl Default for TableParams {
    fn default() -> Self {
        TableParams {
            trellis_lambda: DEFAULT_TRELLIS_LAMBDA,
            trellis_lambda_low: DEFAULT_TRELLIS_LAMBDA_LOW,
            lambda: LAMBDA_PER_STEP2,
            centroid_weight: DEFAULT_CENTROID_WEIGHT,
        }
    }
}

/// The trellis's default rate-distortion slope (squared steps per bit): the lowest dr at
/// small budgets on kind-A features; larger slopes trade re-ID accuracy for dr at large ones
/// (README, `naicfc train`, `--trellis-lambda`).
pub const DEFAULT_TRELLIS_LAMBDA: f64 = 0.1;
/// The default slope where most values are zero. Smaller keeps more small coefficients, which
/// costs reconstruction error but spreads a tiny budget over more directions, and cosine
/// ranking rewards that; 0.08 is the compromise between the synthetic sets' re-ID gain and the
/// real sample's dr loss (README, `--trellis-lambda-low`, has the figures).
pub const DEFAULT_TRELLIS_LAMBDA_LOW: f64 = 0.08;

/// Largest slope a class table can hold (its Q16 field is at most 1/2).
pub const MAX_TRELLIS_LAMBDA: f64 = 0.5;

impl TableParams {
    /// The trellis slope of the class of spread/step `ratio`: `trellis_lambda_low` up to a
    /// ratio of 1/2, `trellis_lambda` from 4 on, log-linear between.
    pub fn trellis_slope(&self, ratio: f64) -> f64 {
        let w = ((ratio.log2() + 1.0) / 3.0).clamp(0.0, 1.0);
        self.trellis_lambda_low + w * (self.trellis_lambda - self.trellis_lambda_low)
    }
}

/// Raw low bits for a ratio: keep the table's part of a magnitude within about 4 sigma /
/// 2^raw of 16 symbols.
pub(super) fn raw_bits_for(ratio: f64) -> u32 {
    (ratio.log2().floor() as i32 - 2).max(0) as u32
}

/// Escaped high parts seen while quantising: how many, and their summed excess over the
/// escape symbol.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Escapes {
    count: f64,
    excess: f64,
}

impl Escapes {
    /// Record one escaped high part `excess` above the escape symbol.
    pub(super) fn add(&mut self, excess: u64) {
        self.count += 1.0;
        self.excess += excess as f64;
    }

    /// Mean excess of the escapes (0 without any).
    fn mean(&self) -> f64 {
        if self.count > 0.0 {
            self.excess / self.count
        } else {
            0.0
        }
    }

    /// The Exp-Golomb order that suits the mean excess.
    pub(super) fn order(&self) -> u32 {
        (self.mean() + 1.0).log2().floor().clamp(0.0, 20.0) as u32
    }
}

/// Bits of each symbol of a table (`-log2` of its probability).
pub(super) fn symbol_bits(cdf: &[u16]) -> Vec<f64> {
    let total = f64::from(1u32 << PROB_BITS);
    cdf.windows(2)
        .map(|w| -((f64::from(w[1] - w[0])) / total).log2())
        .collect()
}

/// Reconstruction offsets (in steps) as the model stores them, Q15.
pub(super) fn recon_q15(offsets: &[f64]) -> Vec<i16> {
    offsets
        .iter()
        .map(|&d| (d * 32768.0).round().clamp(-32768.0, 32767.0) as i16)
        .collect()
}

struct Outcome {
    counts: Vec<f64>,
    centroid_sum: Vec<f64>,
    centroid_n: Vec<f64>,
    escapes: Escapes,
    nonzero: f64,
}

fn quantise_pool(pool: &[f64], ratio: f64, rounding: f64, raw: u32) -> Outcome {
    let esc = (ALPHABET - 1) as u64;
    let mut o = Outcome {
        counts: vec![0.0; ALPHABET],
        centroid_sum: vec![0.0; ALPHABET - 1],
        centroid_n: vec![0.0; ALPHABET - 1],
        escapes: Escapes::default(),
        nonzero: 0.0,
    };
    for &u in pool {
        let t = u * ratio;
        let m = (t + rounding).floor() as u64;
        let high = m >> raw;
        let s = high.min(esc) as usize;
        o.counts[s] += 1.0;
        if high >= esc {
            o.escapes.add(high - esc);
        }
        if m > 0 {
            o.nonzero += 1.0;
            let i = (m as usize - 1).min(ALPHABET - 2);
            // Offset of the value below the magnitude, in steps: recon = m - offset.
            o.centroid_sum[i] += m as f64 - t;
            o.centroid_n[i] += 1.0;
        }
    }
    o
}

/// Smoothed probabilities -> integer frequencies summing to 2^PROB_BITS, each at least 1.
pub fn to_cdf(counts: &[f64]) -> Vec<u16> {
    let total = 1u32 << PROB_BITS;
    let n: f64 = counts.iter().sum();
    let m = counts.len() as f64;
    // A small pseudo-count keeps unseen symbols codable without costing much.
    let alpha = 0.02;
    let spare = f64::from(total) - m;
    let mut freq: Vec<u32> = counts
        .iter()
        .map(|&c| 1 + (spare * (c + alpha) / (n + alpha * m)).floor() as u32)
        .collect();
    let sum: u32 = freq.iter().sum();
    // Give the rounding remainder to the most probable symbol.
    if let Some(imax) = (0..freq.len()).max_by(|&a, &b| freq[a].cmp(&freq[b])) {
        freq[imax] += total - sum;
    }
    let mut cdf = Vec::with_capacity(freq.len() + 1);
    let mut acc = 0u32;
    cdf.push(0u16);
    for f in freq {
        acc += f;
        cdf.push(acc.min(u32::from(u16::MAX)) as u16);
    }
    cdf
}

pub(super) fn build_class(pool: &[f64], ratio: f64, params: &TableParams) -> ClassTable {
    let raw = raw_bits_for(ratio);
    let n = pool.len().max(1) as f64;
    let mut best: Option<(f64, ClassTable)> = None;
    for &rounding in &ROUNDINGS {
        let o = quantise_pool(pool, ratio, rounding, raw);
        let cdf = to_cdf(&o.counts);
        let table_bits: f64 = o
            .counts
            .iter()
            .zip(symbol_bits(&cdf))
            .map(|(&c, b)| c * b)
            .sum();
        let escape_order = o.escapes.order();
        let escape_bits = o.escapes.count
            * (2.0 * ((o.escapes.mean() + 1.0).log2() - f64::from(escape_order)).max(0.0)
                + 1.0
                + f64::from(escape_order));
        let bits = (table_bits + escape_bits + o.nonzero + n * f64::from(raw)) / n;
        // Offsets below the magnitude: the cell [m - r, m + 1 - r) has its middle at offset
        // r - 1/2 and its training centroid at the mean offset; blend the two.
        let middle = rounding - 0.5;
        let recon: Vec<f64> = o
            .centroid_sum
            .iter()
            .zip(&o.centroid_n)
            .map(|(&s, &c)| {
                let centroid = if c > 0.0 { s / c } else { middle };
                (params.centroid_weight * centroid + (1.0 - params.centroid_weight) * middle)
                    .clamp(-0.999, 0.999)
            })
            .collect();
        let mut err = 0.0;
        for &u in pool {
            let t = u * ratio;
            let m = (t + rounding).floor();
            let r = if m >= 1.0 {
                m - recon[(m as usize - 1).min(ALPHABET - 2)]
            } else {
                0.0
            };
            err += (t - r) * (t - r);
        }
        let d_steps2 = err / n;
        let cost = d_steps2 + params.lambda * bits;
        let table = ClassTable {
            cdf,
            recon: recon_q15(&recon),
            rounding: (rounding * 65536.0).round() as u16,
            escape_order: escape_order as u8,
            raw_bits: raw as u8,
            bits,
            distortion: d_steps2 / (ratio * ratio),
        };
        if best.as_ref().is_none_or(|(c, _)| cost < *c) {
            best = Some((cost, table));
        }
    }
    best.map(|(_, t)| t)
        .expect("at least one rounding is tried")
}

/// A pool of `n` standardised Gaussian magnitudes, for tests.
#[cfg(test)]
pub(super) fn gaussian_pool(n: usize, seed: u64) -> Vec<f64> {
    let mut r = crate::rng::Rng::new(seed);
    (0..n).map(|_| r.normal().abs()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cdf_is_valid() {
        let cdf = to_cdf(&[1000.0, 0.0, 3.0, 0.0]);
        assert_eq!(cdf[0], 0);
        assert_eq!(u32::from(*cdf.last().unwrap()), 1 << PROB_BITS);
        assert!(cdf.windows(2).all(|w| w[1] > w[0]));
    }

    #[test]
    fn high_rate_classes_approach_uniform_quantisation() {
        let pool = gaussian_pool(200_000, 3);
        let t = build_class(&pool, 32.0, &TableParams::default());
        // Distortion ~ step^2 / 12 = 1 / (12 * 32^2) of the variance.
        let want = 1.0 / (12.0 * 32.0 * 32.0);
        assert!(
            (t.distortion / want - 1.0).abs() < 0.15,
            "{} vs {want}",
            t.distortion
        );
        // Entropy of a Gaussian quantised at step 1/32: h - log2(step) = 2.05 + 5 bits.
        assert!((t.bits - 7.05).abs() < 0.15, "{}", t.bits);
    }

    #[test]
    fn low_rate_classes_use_a_dead_zone() {
        let pool = gaussian_pool(200_000, 3);
        let t = build_class(&pool, 0.5, &TableParams::default());
        assert!(t.rounding < 1 << 15, "rounding {}", t.rounding);
        assert!(t.bits < 1.0, "bits {}", t.bits);
        // Better than sending nothing, which costs the whole variance.
        assert!(t.distortion < 1.0, "distortion {}", t.distortion);
    }
}
