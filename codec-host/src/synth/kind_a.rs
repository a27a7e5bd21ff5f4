//! Kind A: the organiser's features of the preliminary round.
//!
//! A fixed set of active dimensions (463 of 2048, scaled with the dimension), the rest exactly
//! zero; about 8 of the active ones nearly constant; signed values with a slight positive skew
//! per dimension; norm 5.5 +- 0.43; PCA spectrum and per-dimension spreads as measured.

use super::Generator;
use super::latent::{Image, LatentSampler, Layout};
use super::spectrum;
use crate::rng::Rng;
use anyhow::Result;
use faer::Mat;

/// Per-dimension skew of real kind-A values is about +0.6; `t + a (t^2 - 1)` gives skew ~6a.
const SKEW: f64 = 0.1;
/// Norm of the mean vector of real kind-A features.
const MEAN_NORM: f64 = 1.13;
/// Near-constant active dims per 463 active dims, and their spread.
const NEAR_CONSTANT_AT_463: usize = 8;
const NEAR_CONSTANT_SD: (f64, f64) = (1e-5, 2e-4);

/// Identity / camera / pose split of the latent variance, calibrated so that cosine re-ID on
/// the default sets scores ACC_reid close to the real features' 0.89. With fewer latent
/// directions (a small `--dim`) each must carry more identity for re-ID to stay meaningful; the
/// identity share is interpolated (in log-dims) between points calibrated at 128-, 512- and
/// 2048-d, and the nuisances shrink to make room.
fn layout(dims: usize, cameras: usize) -> Layout {
    const CALIBRATED: [(f64, f64); 3] = [(27.0, 0.894), (114.0, 0.647), (455.0, 0.39)];
    let pts: Vec<(f64, f64)> = CALIBRATED.iter().map(|&(d, r)| (d.ln(), r)).collect();
    let identity = spectrum::interp(&pts, (dims.max(1) as f64).ln());
    let room = (1.0 - identity) / (1.0 - CALIBRATED[2].1);
    Layout {
        dims,
        identity,
        camera_leading: 0.04 * room,
        leading: 16,
        camera: 0.02 * room,
        pose: 0.03 * room,
        cameras,
        poses: 16,
    }
}

/// Kind-A generator.
pub struct KindA {
    dim: usize,
    /// Active dimension indices (sorted).
    active: Vec<usize>,
    mean: Vec<f64>,
    sd: Vec<f64>,
    /// Positions (into `active`) of the dims driven by the latent, and their mixing rows.
    live: Vec<usize>,
    /// `live.len() x latent` mixing, row-major: `x_live = mixing * z`.
    mixing: Vec<f64>,
    sampler: LatentSampler,
}

/// Number of active dims for a given dimension.
pub fn active_count(dim: usize) -> usize {
    ((spectrum::KIND_A_ACTIVE_AT_2048 * dim + 1024) / 2048).clamp(1, dim)
}

impl KindA {
    /// Build the generator (draws the active set, spreads, mean and mixing from `seed`).
    pub fn new(dim: usize, seed: u64, cameras: usize) -> Result<Self> {
        let mut rng = Rng::stream(seed, 0xA);
        let n_active = active_count(dim);
        let mut all: Vec<usize> = (0..dim).collect();
        rng.shuffle(&mut all);
        let mut active = all[..n_active].to_vec();
        active.sort_unstable();

        let total = spectrum::KIND_A_TOTAL_VARIANCE;
        let mut sd =
            spectrum::sample_from_quantiles(&spectrum::KIND_A_SD_QUANTILES, n_active, &mut rng);
        let n_const = if n_active > 1 {
            ((NEAR_CONSTANT_AT_463 * n_active + 231) / 463).min(n_active - 1)
        } else {
            0
        };
        for s in sd.iter_mut().take(n_const) {
            *s = NEAR_CONSTANT_SD.0 + (NEAR_CONSTANT_SD.1 - NEAR_CONSTANT_SD.0) * rng.uniform();
        }
        rng.shuffle(&mut sd);
        let live: Vec<usize> = (0..n_active)
            .filter(|&j| sd[j] > NEAR_CONSTANT_SD.1)
            .collect();
        let live_var: f64 = live.iter().map(|&j| sd[j] * sd[j]).sum();
        for &j in &live {
            sd[j] *= (total / live_var).sqrt();
        }

        let mut mean: Vec<f64> = sd.iter().map(|s| s * rng.normal()).collect();
        let mnorm = mean.iter().map(|m| m * m).sum::<f64>().sqrt().max(1e-12);
        mean.iter_mut().for_each(|m| *m *= MEAN_NORM / mnorm);

        let live_sd: Vec<f64> = live.iter().map(|&j| sd[j]).collect();
        let target = spectrum::kind_a_eigenvalues(live.len(), total);
        let c: Mat<f64> = spectrum::mixing_for(&target, &live_sd, &mut rng)?;
        let mixing: Vec<f64> = (0..live.len())
            .flat_map(|i| (0..live.len()).map(move |k| (i, k)))
            .map(|(i, k)| c[(i, k)])
            .collect();
        let layout = layout(live.len(), cameras);
        Ok(KindA {
            dim,
            active,
            mean,
            sd,
            live,
            mixing,
            sampler: LatentSampler::new(&layout, seed),
        })
    }

    /// Active dimension indices.
    pub fn active(&self) -> &[usize] {
        &self.active
    }
}

fn skewed(t: f64) -> f64 {
    (t + SKEW * (t * t - 1.0)) / (1.0 + 2.0 * SKEW * SKEW).sqrt()
}

impl Generator for KindA {
    fn dim(&self) -> usize {
        self.dim
    }

    fn generate(&self, images: &[Image], out: &mut [f32]) {
        let nl = self.live.len();
        let mut z = vec![0.0; nl];
        let mut live_value = vec![0.0; self.active.len()];
        for (image, row) in images.iter().zip(out.chunks_exact_mut(self.dim)) {
            self.sampler.sample(image, &mut z);
            let mut rng = self.sampler.image_rng(image);
            // Near-constant dims: their mean plus a whisper of independent noise.
            for (j, v) in live_value.iter_mut().enumerate() {
                *v = self.mean[j] + self.sd[j] * rng.normal();
            }
            for (i, &j) in self.live.iter().enumerate() {
                let m = &self.mixing[i * nl..(i + 1) * nl];
                let x: f64 = m.iter().zip(&z).map(|(a, b)| a * b).sum();
                live_value[j] = self.mean[j] + self.sd[j] * skewed(x / self.sd[j]);
            }
            row.fill(0.0);
            for (&d, &v) in self.active.iter().zip(&live_value) {
                row[d] = v as f32;
            }
        }
    }
}
