//! Training: learn a codec model from training features.
//!
//! Mean, support and the PCA basis come from the data ([`pca`]); the quantiser and entropy
//! coder tables from a pool of standardised coefficients ([`tables`]); optionally an
//! accuracy-aware rate allocation from identity labels ([`weights`]); the step grid and the
//! prior over step indices from encoding training vectors at the trained budgets ([`steps`]).

pub mod choice;
pub mod gains;
pub mod input;
pub mod pca;
pub mod scale;
pub mod steps;
pub mod tables;
mod trellis_tables;
pub mod weights;

use crate::io::FeatureSet;
use anyhow::{Context, Result, bail};
use codec_core::internals::{
    self, ClassTable, Gains, LengthStepPrior, MAX_ACTIVE, MAX_COEFFS, MAX_DIM, ModelInternals,
    ModelParts, StepGrowth, TRANSFORM_BITS, WEIGHT_BITS,
};
use faer::Mat;
use rayon::prelude::*;
use serde::Serialize;

/// Training options.
#[derive(Debug, Clone)]
pub struct TrainConfig {
    /// Budgets (bytes) the step prior is tuned for; the model works at any budget.
    pub budgets: Vec<usize>,
    /// Most transform coefficients to keep.
    pub max_coeffs: usize,
    /// Accuracy-aware allocation strength (0 = pure MSE); used only with labels.
    pub reid_weight: f64,
    /// Steps grow as spread^-exponent towards the small coefficients (0 = equal steps); see
    /// [`weights`].
    pub spread_exponent: f64,
    /// Low-rate step growth: octaves of coarser step per octave of spread below the step (0 =
    /// none); see [`weights::step_growth`].
    pub step_growth: f64,
    /// Most training rows for the covariance.
    pub max_rows: usize,
    /// Rows whose encodings tune the step prior.
    pub prior_rows: usize,
    /// Which quantiser the model uses.
    pub quantiser: Quantiser,
    /// Clamp reconstructions to the (widened) training range: less reconstruction error, and
    /// non-negative features stay non-negative; off ranks better for re-ID on such features.
    pub clamp: bool,
    /// Quantiser trade-offs.
    pub tables: tables::TableParams,
    /// Leading coefficients that get decoder gains ([`gains`]; 0 = none).
    pub gain_coeffs: usize,
}

/// How coefficients are quantised.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Quantiser {
    /// With identity labels, build both quantisers and keep the one with the better re-ID
    /// accuracy on a validation split of the training set ([`choice`]); without, the trellis.
    Auto,
    /// Trellis-coded (dependent) quantisation.
    Trellis,
    /// One dead-zone scalar quantiser.
    Scalar,
}

impl Quantiser {
    /// The name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Quantiser::Auto => "auto",
            Quantiser::Trellis => "trellis",
            Quantiser::Scalar => "scalar",
        }
    }
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            budgets: vec![16, 32, 64, 128, 256],
            max_coeffs: 1024,
            reid_weight: 0.0,
            spread_exponent: weights::DEFAULT_SPREAD_EXPONENT,
            step_growth: weights::DEFAULT_STEP_GROWTH,
            max_rows: 100_000,
            prior_rows: 2000,
            quantiser: Quantiser::Auto,
            clamp: true,
            tables: tables::TableParams::default(),
            gain_coeffs: usize::from(gains::DEFAULT_COEFFS),
        }
    }
}

/// What training learned, for the report.
#[derive(Debug, Clone, Serialize)]
pub struct TrainSummary {
    /// Training vectors.
    pub rows: usize,
    /// Of them, how many were kept to learn the transform and tables ([`train_on_sample`]).
    pub sampled: usize,
    /// Input dimension.
    pub dim: usize,
    /// Dims coded.
    pub active_dims: usize,
    /// Dims that vary but are coded as their mean, beyond the format's most varying dims
    /// (`MAX_ACTIVE`), and their share of the training variance.
    pub dropped: Option<(usize, f64)>,
    /// Transform coefficients.
    pub coeffs: usize,
    /// With few vectors per active dim, the coefficients the expected spectrum gives bits at
    /// the largest trained budget (`coeffs` is at most this; `None`: not capped).
    pub supported_coeffs: Option<usize>,
    /// Fraction of the training variance the coefficients span.
    pub explained_variance: f64,
    /// Input fixed-point shift.
    pub shift: i32,
    /// Quantiser steps.
    pub steps: usize,
    /// Smallest budget that always works.
    pub min_budget: usize,
    /// Whether the accuracy-aware allocation was used.
    pub discriminative: bool,
    /// PCA eigenvalues of the training set (for rate-distortion bounds).
    pub eigenvalues: Vec<f64>,
    /// How far the covariance behind the transform was shrunk toward its diagonal (0 = the
    /// sample covariance; near 1 with few vectors per active dim).
    pub shrinkage: f64,
    /// Model size in bytes.
    pub model_bytes: usize,
    /// The quantiser of the model (`trellis` or `scalar`).
    pub quantiser: Quantiser,
    /// Format version of the model written.
    pub format_version: u16,
    /// Leading coefficients with decoder gains (0: none).
    pub gain_coeffs: usize,
    /// With `Quantiser::Auto` and labels: how both quantisers did on the validation split.
    pub validation: Option<choice::Validation>,
}

/// A trained model: its bytes and what it learned.
pub struct Trained {
    /// The serialised model.
    pub model: Vec<u8>,
    /// Summary for reports.
    pub summary: TrainSummary,
}

/// How far beyond the training range (as a fraction of it) reconstructions may go.
const CLAMP_MARGIN: f64 = 0.25;

fn to_fixed(v: f64, shift: i32) -> i32 {
    let limit = f64::from(codec_core::internals::INPUT_LIMIT);
    (v * 2f64.powi(shift)).round().clamp(-limit, limit) as i32
}

/// Train a model on `set` (rows are training vectors), with identity `labels` per row if known.
pub fn train(set: &FeatureSet, labels: Option<&[i64]>, cfg: &TrainConfig) -> Result<Trained> {
    train_on_sample(set, labels, pca::moments(set), set.len(), cfg)
}

/// Train a model on `set`, a sample of a training set of `total_rows` vectors whose
/// [`pca::Moments`] (mean, range, varying dims) are given: everything but those moments is
/// learned from subsamples anyway ([`TrainConfig::max_rows`] for the transform, fewer for the
/// rest), so a set too large to hold is read once for its moments and only the sample is kept.
pub fn train_on_sample(
    set: &FeatureSet,
    labels: Option<&[i64]>,
    moments: pca::Moments,
    total_rows: usize,
    cfg: &TrainConfig,
) -> Result<Trained> {
    if total_rows < 2 || set.len() < 2 {
        bail!("training needs at least 2 vectors, got {}", set.len());
    }
    if moments.mean.len() != set.dim {
        bail!(
            "moments of {} dims for a sample of {} dims",
            moments.mean.len(),
            set.dim
        );
    }
    if set.dim > MAX_DIM {
        bail!(
            "dimension {} exceeds the format's maximum of {MAX_DIM}",
            set.dim
        );
    }
    if let Some(l) = labels {
        anyhow::ensure!(
            l.len() == set.len(),
            "{} labels for {} vectors",
            l.len(),
            set.len()
        );
    }
    let mut m = moments;
    if m.active.is_empty() {
        bail!("every training vector is identical: nothing to learn");
    }
    let mut dropped = None;
    if m.active.len() > MAX_ACTIVE {
        // Keep the dims that vary most; the others are coded as their mean.
        let var = dim_variances(set, &m);
        let mut order = m.active.clone();
        order.sort_by(|&a, &b| var[b].total_cmp(&var[a]));
        let total: f64 = order.iter().map(|&d| var[d]).sum();
        let lost: f64 = order[MAX_ACTIVE..].iter().map(|&d| var[d]).sum();
        dropped = Some((order.len() - MAX_ACTIVE, lost / total.max(1e-300)));
        order.truncate(MAX_ACTIVE);
        order.sort_unstable();
        m.active = order;
    }
    let a = m.active.len();
    let shift = scale::input_shift(set, &m.active, m.max_abs())?;
    let scale = 2f64.powi(shift);
    let saturated = scale::saturated(set, shift);
    if let Some(s) = &saturated {
        m.mean = pca::moments(s).mean;
    }
    let set = saturated.as_ref().unwrap_or(set);

    let rows = pca::subsample(set.len(), cfg.max_rows);
    crate::progress::stage("training: transform (principal components)");
    let p = pca::pca(set, &m, &rows).context("PCA of the training set")?;
    let most = a.min(cfg.max_coeffs).clamp(1, MAX_COEFFS);
    let top_bits = 8.0 * cfg.budgets.iter().copied().max().unwrap_or(0) as f64;
    // A small set caps the coefficients at those its expected spectrum gives bits at the
    // largest trained budget (see `supported_coeffs`); large sets keep every one.
    let supported = (p.shrinkage > 0.0).then(|| supported_coeffs(&p.expected, top_bits));
    let k = supported.map_or(most, |s| most.min(s));
    let total_var: f64 = p.values.iter().sum();
    let explained = p.values[..k].iter().sum::<f64>() / total_var.max(1e-300);

    let transform: Vec<i16> = (0..k)
        .flat_map(|row| (0..a).map(move |col| (row, col)))
        .map(|(row, col)| {
            let v = p.vectors[(col, row)] * f64::from(1u32 << TRANSFORM_BITS);
            v.round().clamp(-32767.0, 32767.0) as i16
        })
        .collect();
    // Spread of each coefficient to expect on new vectors: shrunk eigenvalues, because test
    // vectors carry energy where the training variance looked negligible (or was zero, beyond
    // the number of training vectors).
    let floor = p.values[0].max(1e-30) * 1e-8;
    let sigma: Vec<f64> = p.expected[..k]
        .iter()
        .map(|&v| v.max(floor).sqrt())
        .collect();

    // Standardised coefficients of a subsample: the pool for the tables, the input of weights.
    let sample = pca::subsample(set.len(), 4000);
    let projected = project(set, &m, &p.vectors, k, &sample);
    // The shape of the distribution is learned from what the training set shows, so each
    // coefficient is standardised by its training variance, not by the (shrunk) estimate of
    // the population's.
    let mut pool = Vec::with_capacity(sample.len() * k);
    for row in projected.chunks_exact(k) {
        for (j, &y) in row.iter().enumerate() {
            if p.shown[j] > floor {
                pool.push((y / p.shown[j].sqrt()).abs());
            }
        }
    }
    let discriminative = labels.is_some() && cfg.reid_weight > 0.0;
    let fisher: Vec<f64> = match labels {
        Some(l) if discriminative => {
            let sample_labels: Vec<i64> = sample.iter().map(|&r| l[r]).collect();
            weights::fisher_weights(&projected, k, &sample_labels, cfg.reid_weight)
        }
        _ => vec![1.0; k],
    };
    let spread = weights::spread_weights(&sigma, cfg.spread_exponent);
    let product: Vec<f64> = fisher.iter().zip(&spread).map(|(f, s)| f * s).collect();
    // The finest coefficient keeps weight 1, so the step grid's finest step stays the finest.
    let least = product.iter().copied().fold(f64::INFINITY, f64::min);
    let weight: Vec<f64> = product.iter().map(|w| w / least).collect();
    let weight_q: Vec<u16> = weight
        .iter()
        .map(|w| {
            (w * f64::from(1u32 << WEIGHT_BITS))
                .round()
                .clamp(1.0, 65535.0) as u16
        })
        .collect();
    let coef_class_log: Vec<i16> = sigma
        .iter()
        .zip(&weight_q)
        .map(|(&s, &w)| {
            let ratio = s * scale / (f64::from(w) / f64::from(1u32 << WEIGHT_BITS));
            (ratio.log2() * 256.0).round().clamp(-32768.0, 32767.0) as i16
        })
        .collect();

    let active_u16: Vec<u16> = m.active.iter().map(|&d| d as u16).collect();
    let mean_fixed: Vec<i32> = m.mean.iter().map(|&v| to_fixed(v, shift)).collect();
    // Reconstructions are clamped to the training range, widened so that test vectors a
    // little beyond it are not cut; a bound at exactly zero (non-negative features) is kept,
    // since reconstructing below it is always wrong.
    let (lower, upper): (Vec<i32>, Vec<i32>) = m
        .active
        .iter()
        .map(|&d| {
            let margin = CLAMP_MARGIN * (m.max[d] - m.min[d]);
            let lo = if m.min[d] >= 0.0 {
                (m.min[d] - margin).max(0.0)
            } else {
                m.min[d] - margin
            };
            (to_fixed(lo, shift), to_fixed(m.max[d] + margin, shift))
        })
        .unzip();
    let budgets: Vec<u16> = cfg
        .budgets
        .iter()
        .map(|&b| b.min(internals::MAX_CODE_LEN) as u16)
        .collect();
    // What does not depend on the quantiser; `assemble` fills in the steps and tables.
    let basis = ModelParts {
        dim: set.dim,
        shift: shift as i8,
        classes_per_octave: tables::CLASSES_PER_OCTAVE,
        class_offset: tables::class_layout().1,
        clamp: cfg.clamp,
        trellis: false,
        growth: weights::step_growth(cfg.step_growth),
        budgets: &budgets,
        active: &active_u16,
        mean: &mean_fixed,
        lower: &lower,
        upper: &upper,
        transform: &transform,
        coef_class_log: &coef_class_log,
        coef_weight: &weight_q,
        step_size: &[],
        step_log: &[],
        step_cdf: &[],
        // Placeholders: `assemble` fills in the prior, the tables and their gains.
        length_step_prior: LengthStepPrior {
            centres: &[],
            residual_cdf: &[],
        },
        classes: &[],
        gains: Gains {
            coeffs: 0,
            per_class: &[],
        },
    };
    let build = |trellis: bool| assemble(&basis, &pool, set, trellis, cfg);
    let (quantiser, bytes, validation) = match (cfg.quantiser, labels) {
        (Quantiser::Scalar, _) => (Quantiser::Scalar, build(false)?, None),
        (Quantiser::Trellis, _) | (Quantiser::Auto, None) => {
            (Quantiser::Trellis, build(true)?, None)
        }
        (Quantiser::Auto, Some(labels)) => {
            let trellis = build(true)?;
            let scalar = build(false)?;
            crate::progress::stage("training: choosing the quantiser on a validation split");
            match choice::validate(set, labels, &cfg.budgets, &trellis, &scalar)? {
                Some(v) if v.chosen == Quantiser::Scalar => (Quantiser::Scalar, scalar, Some(v)),
                Some(v) => (Quantiser::Trellis, trellis, Some(v)),
                // Too few identities seen twice to measure re-ID: the default.
                None => (Quantiser::Trellis, trellis, None),
            }
        }
    };
    let parsed = codec_core::Model::parse(&bytes).map_err(|e| anyhow::anyhow!("{e}"))?;
    let min_budget = codec_core::min_budget(&parsed).map_err(|e| anyhow::anyhow!("{e}"))?;
    // A trained budget the model cannot code at would only fail later (every code at it, and
    // every scalable code, which spans the trained budgets).
    if let Some(&b) = cfg.budgets.iter().find(|&&b| b < min_budget) {
        bail!(
            "--budget: {b} is below this model's minimum budget of {} bytes (the length of its \
             coarsest code); train for budgets of at least {}",
            min_budget,
            min_budget
        );
    }
    Ok(Trained {
        summary: TrainSummary {
            rows: total_rows,
            sampled: set.len(),
            dim: set.dim,
            active_dims: a,
            dropped,
            coeffs: k,
            supported_coeffs: supported,
            explained_variance: explained,
            shift,
            steps: parsed.steps(),
            min_budget,
            discriminative,
            eigenvalues: p.values.clone(),
            shrinkage: p.shrinkage,
            model_bytes: bytes.len(),
            quantiser,
            format_version: parsed.format_version(),
            gain_coeffs: parsed.gain_coeffs(),
            validation,
        },
        model: bytes,
    })
}

/// The model of `basis` with one dead-zone quantiser or the trellis: its tables from `pool`,
/// its step grid, and the prior over step indices from encoding rows of `set`.
fn assemble(
    basis: &ModelParts<'_>,
    pool: &[f64],
    set: &FeatureSet,
    trellis: bool,
    cfg: &TrainConfig,
) -> Result<Vec<u8>> {
    let kind = if trellis { "trellis" } else { "scalar" };
    crate::progress::stage(&format!("training ({kind}): entropy tables and step grid"));
    let tables = build_tables(pool, &cfg.tables, trellis);
    let finest = if trellis {
        steps::FINEST_STEP / 2.0
    } else {
        steps::FINEST_STEP
    };
    let (step_size, step_log) = steps::step_grid(
        finest,
        basis.coef_weight.iter().copied().min().unwrap_or(4096),
    );
    let class_tables: Vec<ClassTable<'_>> = tables
        .iter()
        .map(|t| ClassTable {
            cdf: &t.cdf,
            recon: &t.recon,
            rounding: t.rounding,
            escape_order: t.escape_order,
            raw_bits: t.raw_bits,
        })
        .collect();

    crate::progress::stage(&format!(
        "training ({kind}): step prior, coding the training rows"
    ));
    let mut prior = steps::StepPrior::uniform(step_size.len(), basis.budgets.len());
    // Gains of 1 until they are fitted: they change what codes decode to, not the codes.
    let unit_gains = vec![1u16 << 15; class_tables.len() / if trellis { 2 } else { 1 }];
    // Everything but the step prior, which the loop below learns.
    let fixed = ModelParts {
        trellis,
        // The growth helps the trellis only (see `weights::step_growth`).
        growth: if trellis {
            basis.growth
        } else {
            StepGrowth::default()
        },
        step_size: &step_size,
        step_log: &step_log,
        classes: &class_tables,
        gains: Gains {
            coeffs: 0,
            per_class: &unit_gains,
        },
        ..*basis
    };
    let mut bytes = Vec::new();
    // The prior is estimated twice: it changes code lengths a little, hence which steps fit.
    for round in 0..3 {
        bytes = write_model(&with_prior(fixed, &prior))?;
        if round == 2 {
            break;
        }
        // The budgets between and around the trained ones only matter in the final prior.
        let chosen = chosen_steps(
            &bytes,
            set,
            &pca::subsample(set.len(), cfg.prior_rows),
            basis.budgets,
            round == 1,
            !prior.learned,
        )?;
        prior = steps::StepPrior::learn(&chosen, basis.budgets, step_size.len());
    }
    if cfg.gain_coeffs == 0 {
        return Ok(bytes);
    }
    // The gains change what codes decode to, not the codes: the step prior stays valid.
    crate::progress::stage(&format!("training ({kind}): decoder gains"));
    let gains = gains::fit(
        &bytes,
        set,
        &pca::subsample(set.len(), gains::FIT_ROWS),
        basis.budgets,
        cfg.gain_coeffs,
    )?;
    write_model(&ModelParts {
        gains: Gains {
            coeffs: cfg.gain_coeffs.min(basis.coef_weight.len()),
            per_class: &gains,
        },
        ..with_prior(fixed, &prior)
    })
}

/// Build all class tables from a pool of standardised magnitudes `|y / sigma|`: one per class,
/// or with the trellis two per class (every class of quantiser 0, then of quantiser 1).
fn build_tables(
    pool: &[f64],
    params: &tables::TableParams,
    trellis: bool,
) -> Vec<tables::ClassTable> {
    let (count, offset) = tables::class_layout();
    let ratio = |c: usize| {
        2f64.powf((c as f64 - f64::from(offset)) / f64::from(tables::CLASSES_PER_OCTAVE))
    };
    if trellis {
        let pairs: Vec<[tables::ClassTable; 2]> = (0..count)
            .into_par_iter()
            .map(|c| trellis_tables::build_pair(pool, ratio(c), params))
            .collect();
        let (q0, q1): (Vec<tables::ClassTable>, Vec<tables::ClassTable>) =
            pairs.into_iter().map(|[a, b]| (a, b)).unzip();
        return q0.into_iter().chain(q1).collect();
    }
    (0..count)
        .into_par_iter()
        .map(|c| tables::build_class(pool, ratio(c), params))
        .collect()
}

/// `parts` with the step prior `prior`.
fn with_prior<'p>(parts: ModelParts<'p>, prior: &'p steps::StepPrior) -> ModelParts<'p> {
    ModelParts {
        step_cdf: &prior.cdf,
        length_step_prior: prior.length_step_prior(),
        ..parts
    }
}

/// The bytes of a model.
fn write_model(parts: &ModelParts<'_>) -> Result<Vec<u8>> {
    let mut bytes = vec![0u8; parts.encoded_len()];
    let len = internals::write(parts, &mut bytes).map_err(|e| anyhow::anyhow!("{e}"))?;
    bytes.truncate(len);
    Ok(bytes)
}

/// How many leading coefficients a Gaussian source of variances `expected` gives bits at
/// `bits` bits (reverse water-filling, [`pca::water_level`]), counting those down to
/// [`SUPPORT_MARGIN`] times the level: the others are coded as zero at every budget up to
/// that one, so their transform rows only add to the model. At least 1.
fn supported_coeffs(expected: &[f64], bits: f64) -> usize {
    let theta = pca::water_level(expected, bits);
    expected
        .iter()
        .rposition(|&v| v > theta * SUPPORT_MARGIN)
        .map_or(1, |j| j + 1)
}

/// Coefficients down to this fraction of the water level are kept (see `supported_coeffs`).
const SUPPORT_MARGIN: f64 = 0.25;

fn dim_variances(set: &FeatureSet, m: &pca::Moments) -> Vec<f64> {
    let mut var = vec![0f64; set.dim];
    for row in set.rows() {
        for (j, &v) in row.iter().enumerate() {
            var[j] += (f64::from(v) - m.mean[j]).powi(2);
        }
    }
    var
}

/// Coefficients `(x - mean) V[:, :k]` of the given rows, row-major `rows x k`.
fn project(
    set: &FeatureSet,
    m: &pca::Moments,
    vectors: &Mat<f64>,
    k: usize,
    rows: &[usize],
) -> Vec<f64> {
    let a = m.active.len();
    let x = Mat::from_fn(rows.len(), a, |i, c| {
        let d = m.active[c];
        f64::from(set.row(rows[i])[d]) - m.mean[d]
    });
    let y = crate::linalg::matmul(x.as_ref(), vectors.as_ref().subcols(0, k));
    let mut out = Vec::with_capacity(rows.len() * k);
    for i in 0..rows.len() {
        out.extend((0..k).map(|j| y[(i, j)]));
    }
    out
}

/// The step indices rate control chooses for rows of `set`: at the trained budgets (all of
/// `rows`), and with `fill` also at [`steps::fill_budgets`] (every eighth row), each budget
/// with its weight (the trained ones together `1 - FILL_SHARE`, then, of the total weight 1).
fn chosen_steps(
    model_bytes: &[u8],
    set: &FeatureSet,
    rows: &[usize],
    budgets: &[u16],
    fill: bool,
    plain_step_prior: bool,
) -> Result<Vec<steps::Chosen>> {
    let model = codec_core::Model::parse(model_bytes).map_err(|e| anyhow::anyhow!("{e}"))?;
    // The first round learns the length step prior from rate control without one.
    let model = if plain_step_prior {
        model.with_plain_step_prior()
    } else {
        model
    };
    let fill = if fill {
        let min_budget = codec_core::min_budget(&model).map_err(|e| anyhow::anyhow!("{e}"))?;
        steps::fill_budgets(budgets, min_budget)
    } else {
        Vec::new()
    };
    let fill_rows: Vec<usize> = rows.iter().copied().step_by(8).collect();
    let fill_share = if fill.is_empty() {
        0.0
    } else {
        steps::FILL_SHARE
    };
    let jobs = budgets
        .iter()
        .map(|&b| {
            let weight = (1.0 - fill_share) / budgets.len() as f64;
            (usize::from(b), rows, weight, true)
        })
        .chain(
            fill.iter()
                .map(|&(b, share)| (b, &fill_rows[..], fill_share * share, false)),
        );
    let mut chosen = Vec::new();
    for (budget, rows, weight, trained) in jobs {
        let steps: Vec<usize> = rows
            .par_iter()
            .filter_map(|&r| {
                let mut out = vec![0u8; budget];
                codec_core::internals::encode_coded(&model, set.row(r), budget, &mut out)
                    .ok()
                    .map(|c| c.step)
            })
            .collect();
        chosen.push(steps::Chosen {
            budget,
            weight,
            trained,
            steps,
        });
    }
    Ok(chosen)
}

/// `rows` vectors of `dim` independent Gaussian values of standard deviation `scale`, from
/// `seed`, named by index: training input for tests.
#[cfg(test)]
pub(crate) fn gaussian_set(rows: usize, dim: usize, scale: f64, seed: u64) -> FeatureSet {
    let mut rng = crate::rng::Rng::new(seed);
    FeatureSet {
        names: (0..rows).map(|i| i.to_string()).collect(),
        dim,
        data: (0..rows * dim)
            .map(|_| (rng.normal() * scale) as f32)
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(rows: usize, dim: usize, scale: f64) -> FeatureSet {
        gaussian_set(rows, dim, scale, 5)
    }

    #[test]
    fn a_budget_below_the_models_minimum_is_refused() {
        let cfg = |budgets: Vec<usize>| TrainConfig {
            budgets,
            max_coeffs: 8,
            quantiser: Quantiser::Scalar,
            ..TrainConfig::default()
        };
        let data = set(200, 32, 1.0);
        // The step prior learned for the budgets sets the coarsest code's length: a model for
        // 1 byte alone cannot make it that short, and says so; any model that trains codes at
        // every budget it was trained for.
        let err = train(&data, None, &cfg(vec![1])).err().unwrap().to_string();
        assert!(
            err.contains("--budget: 1 is below this model's minimum budget"),
            "{err}"
        );
        for budgets in [vec![2], vec![1, 16], vec![16, 64]] {
            let model = train(&data, None, &cfg(budgets.clone())).unwrap().model;
            let min = codec_core::min_budget(&codec_core::Model::parse(&model).unwrap()).unwrap();
            assert!(budgets.iter().all(|&b| b >= min), "{budgets:?}: {min}");
        }
    }

    #[test]
    fn coefficients_are_capped_where_the_spectrum_gives_no_bits() {
        // Variances 2^-j: at 20 bits water-filling codes the leading ones only; a flat
        // spectrum gives every coefficient bits.
        let steep: Vec<f64> = (0..64).map(|j| 0.5f64.powi(j)).collect();
        let capped = supported_coeffs(&steep, 20.0);
        assert!((4..16).contains(&capped), "{capped}");
        assert!(supported_coeffs(&steep, 2000.0) == 64);
        assert_eq!(supported_coeffs(&[1.0; 64], 20.0), 64);
        assert_eq!(supported_coeffs(&[0.0; 8], 100.0), 1);
    }

    #[test]
    fn small_sets_report_the_coefficients_they_support_and_large_ones_keep_all() {
        let cfg = TrainConfig {
            budgets: vec![8],
            quantiser: Quantiser::Scalar,
            gain_coeffs: 0,
            ..TrainConfig::default()
        };
        // 40 vectors of 32 dims (fewer than 10 per dim) shrink and keep at most the
        // coefficients their spectrum supports; 400 keep the sample covariance and all 32.
        let few = train(&set(40, 32, 1.0), None, &cfg).unwrap().summary;
        assert!(few.supported_coeffs.is_some());
        assert!(few.coeffs <= few.supported_coeffs.unwrap());
        let many = train(&set(400, 32, 1.0), None, &cfg).unwrap().summary;
        assert_eq!((many.supported_coeffs, many.coeffs), (None, 32));
    }

    #[test]
    fn features_the_fixed_point_cannot_hold_are_refused() {
        let cfg = TrainConfig {
            max_coeffs: 8,
            quantiser: Quantiser::Scalar,
            ..TrainConfig::default()
        };
        for (scale, says) in [(1e-30, "too small"), (1e30, "too large")] {
            let err = train(&set(50, 8, scale), None, &cfg)
                .err()
                .unwrap()
                .to_string();
            assert!(err.contains(says), "{scale}: {err}");
        }
    }
}
