//! Kind B: features of a ReLU + pooling backbone (later rounds).
//!
//! Non-negative and dense (about 7% exact zeros), mean 0.25, median 0.12, 99.9% quantile 3.0,
//! max about 4.8, norm 19.8 +- 4.1. Each value is `gain * SCALE * relu(OFFSET + u)^POWER` of a
//! unit-variance pre-activation (a per-dimension level plus a per-image latent part); the constants were fitted to those five facts.

use super::Generator;
use super::latent::{Image, LatentSampler, Layout};
use crate::rng::Rng;

const SCALE: f64 = 0.0385;
/// `P(u < -OFFSET) = 7%` exact zeros.
const OFFSET: f64 = 1.476;
const POWER: f64 = 2.8;
/// Spread of the per-image gain (log scale): the norm of real kind-B features varies by +-20%.
const GAIN_SPREAD: f64 = 0.2;
/// Fraction of each dimension's variance shared through the latent (the rest is its own).
const SHARED: f64 = 0.7;
/// Part of the pre-activation variance that is a fixed per-dimension offset rather than
/// per-image variation: real kind-B dims differ a lot in level (the mean vector carries most
/// of the norm), while the pooled distribution of values stays the same.
const DIM_SPREAD: f64 = 0.5;
/// Latent directions, and how fast their variance decays (power law).
const MAX_LATENT: usize = 256;
const DECAY: f64 = 0.8;

/// Identity / camera / pose split of the latent variance.
fn layout(dims: usize, cameras: usize) -> Layout {
    Layout {
        dims,
        identity: 0.49,
        camera_leading: 0.10,
        leading: 16,
        camera: 0.05,
        pose: 0.05,
        cameras,
        poses: 8,
    }
}

/// Kind-B generator.
pub struct KindB {
    dim: usize,
    /// `dim x latent` mixing, row-major, each row of squared norm `SHARED`.
    mixing: Vec<f64>,
    /// Per-dimension pre-activation offset.
    offset: Vec<f64>,
    sampler: LatentSampler,
}

/// Latent dimension used for a given feature dimension.
pub fn latent_dims(dim: usize) -> usize {
    dim.min(MAX_LATENT)
}

impl KindB {
    /// Build the generator.
    pub fn new(dim: usize, seed: u64, cameras: usize) -> Self {
        let nl = latent_dims(dim);
        let mut rng = Rng::stream(seed, 0xB);
        let scale: Vec<f64> = (0..nl)
            .map(|k| (k as f64 + 1.0).powf(-DECAY / 2.0))
            .collect();
        let mut mixing: Vec<f64> = (0..dim * nl)
            .map(|i| rng.normal() * scale[i % nl])
            .collect();
        for row in mixing.chunks_exact_mut(nl) {
            let norm = row.iter().map(|v| v * v).sum::<f64>().sqrt().max(1e-12);
            row.iter_mut().for_each(|v| *v *= SHARED.sqrt() / norm);
        }
        let offset = (0..dim)
            .map(|_| OFFSET + DIM_SPREAD.sqrt() * rng.normal())
            .collect();
        let layout = layout(nl, cameras);
        KindB {
            dim,
            mixing,
            offset,
            sampler: LatentSampler::new(&layout, seed),
        }
    }
}

impl Generator for KindB {
    fn dim(&self) -> usize {
        self.dim
    }

    fn generate(&self, images: &[Image], out: &mut [f32]) {
        let nl = self.sampler.dims();
        let varying = (1.0 - DIM_SPREAD).sqrt();
        let own = (1.0 - SHARED).sqrt();
        let mut z = vec![0.0; nl];
        for (image, row) in images.iter().zip(out.chunks_exact_mut(self.dim)) {
            self.sampler.sample(image, &mut z);
            let mut rng = self.sampler.image_rng(image);
            let gain = (GAIN_SPREAD * rng.normal()).exp();
            for (j, v) in row.iter_mut().enumerate() {
                let m = &self.mixing[j * nl..(j + 1) * nl];
                let u: f64 = m.iter().zip(&z).map(|(a, b)| a * b).sum::<f64>() + own * rng.normal();
                *v = (gain * SCALE * (self.offset[j] + varying * u).max(0.0).powf(POWER)) as f32;
            }
        }
    }
}
