//! A small hand-built model for tests: a Hadamard transform, Laplacian tables, and a full step
//! grid — valid by construction, built only through the public writer.

use codec_core::internals::{
    self, ClassTable, LengthStepPrior, ModelInternals, ModelParts, STEP_RESIDUAL_SYMBOLS,
    StepGrowth,
};

/// Parameters of a test model.
pub struct Spec {
    /// Input dimension.
    pub dim: usize,
    /// Active dims (a power of two for the Hadamard transform), spread evenly over the input.
    pub active: usize,
    /// Input shift.
    pub shift: i8,
    /// Trellis-coded quantisation (two table sets) instead of one dead-zone quantiser.
    pub trellis: bool,
    /// Low-rate step growth (format version 3).
    pub growth: StepGrowth,
    /// Magnitude of every transform entry (Q15); `None` for unit-norm Hadamard rows.
    pub transform_entry: Option<i16>,
    /// The trellis tables' rate-distortion slope (Q16).
    pub trellis_slope: u16,
    /// Every class's reconstruction offset (Q15) per quantiser.
    pub recon_offset: [i16; 2],
    /// Step logs alternating between `-v` and `+v` (unrelated to the step sizes, as nothing
    /// requires), with 64 classes per octave: a hostile model.
    pub extreme_step_logs: Option<i32>,
    /// Decoder gains (format version 5): how many leading coefficients, and the gain (Q15)
    /// of class `c`, `gain - c` (floored at 0), so that classes differ.
    pub gains: Option<(usize, u16)>,
}

/// The step growth `naicfc train` gives trellis models by default (slope 0.5 from ratio 1).
#[allow(dead_code)] // not every test crate that includes this module uses every item
pub const DEFAULT_GROWTH: StepGrowth = StepGrowth {
    slope: 128,
    threshold: 0,
};

/// The 48-d test model with 16 active dims that the tests share.
#[allow(dead_code)]
pub fn small(trellis: bool, growth: StepGrowth) -> Spec {
    Spec {
        dim: 48,
        active: 16,
        shift: 12,
        trellis,
        growth,
        transform_entry: None,
        trellis_slope: 6554,
        recon_offset: [0, 0],
        extreme_step_logs: None,
        gains: None,
    }
}

/// `n` pseudo-random 48-d vectors in `[-2, 2)`, the same for the same `seed`.
#[allow(dead_code)]
pub fn vectors(seed: u32, n: usize) -> Vec<Vec<f32>> {
    let mut s = seed;
    let mut next = || {
        s = s.wrapping_mul(1_103_515_245).wrapping_add(12345);
        ((s >> 8) as f32 / (1u32 << 24) as f32 - 0.5) * 4.0
    };
    (0..n).map(|_| (0..48).map(|_| next()).collect()).collect()
}

const ALPHABET: usize = 12;
const CLASSES_PER_OCTAVE: u8 = 2;
const CLASSES: usize = 25;
const CLASS_OFFSET: i32 = 8;

fn laplace_tail(t: f64) -> f64 {
    (-(t.max(0.0)) * std::f64::consts::SQRT_2).exp()
}

fn cdf_from(p: &[f64]) -> Vec<u16> {
    let total = 1u32 << internals::PROB_BITS;
    let spare = f64::from(total) - p.len() as f64;
    let sum: f64 = p.iter().sum();
    let mut f: Vec<u32> = p
        .iter()
        .map(|&x| 1 + (spare * x / sum).floor() as u32)
        .collect();
    let s: u32 = f.iter().sum();
    f[0] += total - s;
    let mut cdf = vec![0u16];
    let mut acc = 0u32;
    for x in f {
        acc += x;
        cdf.push(acc as u16);
    }
    cdf
}

/// Serialise the test model.
#[allow(dead_code)] // not every test crate that includes this module uses every item
pub fn build(spec: &Spec) -> Vec<u8> {
    try_build(spec).expect("test model is valid")
}

/// Serialise the test model, or say why the writer refuses it. Its length step prior is
/// centred on the steps rate control chooses for test vectors at the model's budgets under
/// the plain step prior.
pub fn try_build(spec: &Spec) -> Result<Vec<u8>, codec_core::ModelError> {
    let budgets = [16u16, 32, 64];
    let plain = try_build_with(spec, &[0; 3])?;
    let m = codec_core::Model::parse(&plain)
        .unwrap()
        .with_plain_step_prior();
    let centres: Vec<i32> = budgets
        .iter()
        .map(|&b| {
            // The 48-d test vectors, repeated to the model's dimension.
            let xs: Vec<Vec<f32>> = vectors(99, 40)
                .into_iter()
                .map(|v| v.into_iter().cycle().take(spec.dim).collect())
                .collect();
            let sum: usize = xs
                .iter()
                .map(|x| {
                    let mut code = vec![0u8; usize::from(b)];
                    codec_core::internals::encode_coded(&m, x, code.len(), &mut code)
                        .unwrap()
                        .step
                })
                .sum();
            (256 * sum / xs.len()) as i32
        })
        .collect();
    try_build_with(spec, &centres)
}

/// The test model with the length step prior's centres `centres` (one per budget).
fn try_build_with(spec: &Spec, centres: &[i32]) -> Result<Vec<u8>, codec_core::ModelError> {
    let a = spec.active;
    assert!(a.is_power_of_two() && a <= spec.dim);
    let active_sorted: Vec<u16> = (0..a).map(|i| (i * spec.dim / a) as u16).collect();
    // Hadamard rows scaled to unit norm, in Q15.
    let h = |r: usize, c: usize| {
        if (r & c).count_ones() % 2 == 0 {
            1.0
        } else {
            -1.0
        }
    };
    let scale = spec
        .transform_entry
        .map_or(32767.0 / (a as f64).sqrt(), f64::from);
    let transform: Vec<i16> = (0..a)
        .flat_map(|r| (0..a).map(move |c| (h(r, c) * scale).round() as i16))
        .collect();
    let unit = f64::from(1u32 << spec.shift.max(0) as u32);
    let mean: Vec<i32> = (0..spec.dim)
        .map(|d| ((d % 7) as f64 * 0.01 * unit) as i32)
        .collect();
    let lower = vec![-(1 << 24); a];
    let upper = vec![1 << 24; a];
    // Coefficient spreads decay geometrically, from about 1.0 to 0.01 in input units.
    let coef_class_log: Vec<i16> = (0..a)
        .map(|k| {
            let sigma = unit * 0.01f64.powf(k as f64 / a as f64);
            (sigma.log2() * 256.0).round() as i16
        })
        .collect();
    let coef_weight = vec![1u16 << internals::WEIGHT_BITS; a];
    let mut step_size = Vec::new();
    let mut step_log = Vec::new();
    let mut s = 4.0f64;
    loop {
        let v = s.round() as u64;
        step_size.push(v as u32);
        step_log.push(match spec.extreme_step_logs {
            None => ((v as f64).log2() * 256.0).round() as i32,
            Some(e) if step_log.len() % 2 == 0 => -e,
            Some(e) => e,
        });
        if v > (1 << 30) {
            break;
        }
        s *= 2f64.powf(0.25);
    }
    let step_cdf = cdf_from(&vec![1.0; step_size.len()]);
    let mut cdfs = Vec::new();
    for c in 0..CLASSES {
        let ratio = 2f64.powf((c as f64 - f64::from(CLASS_OFFSET)) / f64::from(CLASSES_PER_OCTAVE));
        let raw = (ratio.log2().floor() as i32 - 2).max(0) as u32;
        let unit_bin = f64::from(1u32 << raw);
        let mut p: Vec<f64> = (0..ALPHABET)
            .map(|hi| {
                let lo_m = hi as f64 * unit_bin;
                let hi_m = lo_m + unit_bin;
                let t0 = ((lo_m - 0.5) / ratio).max(0.0);
                let t1 = (hi_m - 0.5) / ratio;
                if hi == ALPHABET - 1 {
                    laplace_tail(t0)
                } else {
                    laplace_tail(t0) - laplace_tail(t1)
                }
            })
            .collect();
        p.iter_mut().for_each(|x| *x = x.max(1e-9));
        cdfs.push((cdf_from(&p), raw as u8));
    }
    let recons = spec.recon_offset.map(|o| vec![o; ALPHABET - 1]);
    // The trellis's second quantiser gets the same tables but for the reconstruction offsets:
    // any valid tables make a valid model.
    let sets = if spec.trellis { 2 } else { 1 };
    let classes: Vec<ClassTable<'_>> = (0..sets * CLASSES)
        .map(|i| (&cdfs[i % CLASSES], &recons[i / CLASSES]))
        .map(|((cdf, raw), recon)| ClassTable {
            cdf,
            recon,
            // The dead zone's plain rounding, or the trellis's slope.
            rounding: if spec.trellis {
                spec.trellis_slope
            } else {
                1 << 15
            },
            escape_order: 2,
            raw_bits: *raw,
        })
        .collect();
    let budgets = [16u16, 32, 64];
    // Residuals fall off by half per step; the escape gets 1/16.
    let mut residual: Vec<f64> = (0..STEP_RESIDUAL_SYMBOLS - 1)
        .map(|s| 0.5f64.powi((s as i32 - internals::STEP_REACH as i32).abs()))
        .collect();
    let sum: f64 = residual.iter().sum();
    residual.push(sum / 15.0);
    let residual_cdf = cdf_from(&residual);
    let gains: Vec<u16> = spec.gains.map_or_else(
        || vec![1 << 15; CLASSES],
        |(_, g)| (0..CLASSES).map(|c| g.saturating_sub(c as u16)).collect(),
    );
    let parts = ModelParts {
        dim: spec.dim,
        shift: spec.shift,
        classes_per_octave: if spec.extreme_step_logs.is_some() {
            64
        } else {
            CLASSES_PER_OCTAVE
        },
        class_offset: CLASS_OFFSET,
        clamp: false,
        trellis: spec.trellis,
        growth: spec.growth,
        budgets: &budgets,
        active: &active_sorted,
        mean: &mean,
        lower: &lower,
        upper: &upper,
        transform: &transform,
        coef_class_log: &coef_class_log,
        coef_weight: &coef_weight,
        step_size: &step_size,
        step_log: &step_log,
        step_cdf: &step_cdf,
        length_step_prior: LengthStepPrior {
            centres,
            residual_cdf: &residual_cdf,
        },
        classes: &classes,
        gains: internals::Gains {
            coeffs: spec.gains.map_or(0, |(coeffs, _)| coeffs),
            per_class: &gains,
        },
    };
    let mut out = vec![0u8; parts.encoded_len()];
    let n = internals::write(&parts, &mut out)?;
    out.truncate(n);
    Ok(out)
}
