//! Synthetic re-ID features that reproduce the statistics of real ones.
//!
//! Every vector is `latent -> linear mixing -> per-kind marginal shaping`:
//! - the latent of an image is the sum of an identity part (shared by all images of the
//!   identity), a camera part and a pose part (shared across identities: they are what makes
//!   re-identification hard) and an image-specific part, mixed per latent direction;
//! - [`kind_a`] mixes the latent with a covariance whose spectrum and per-dimension spread follow
//!   the published facts of the organiser's features (463 active dims of 2048, signed, norm 5.5);
//! - [`kind_b`] feeds it through a ReLU + power nonlinearity like pooled CNN activations
//!   (non-negative, dense, heavy upper tail, norm about 20).
//!
//! Generation is deterministic from the seed: each image draws from its own random stream,
//! so chunks can be generated in parallel and in any order.

pub mod dataset;
pub mod kind_a;
pub mod kind_b;
pub mod latent;
pub mod spectrum;

pub use dataset::{SynthConfig, write_dataset};

/// Which family of features to imitate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
pub enum Kind {
    /// Organiser's features: sparse fixed support, signed, norm about 5.5.
    A,
    /// ReLU + pooling backbone: non-negative, dense, norm about 20.
    B,
}

/// A generator of feature vectors for labelled images.
pub trait Generator: Sync {
    /// Dimension of the vectors.
    fn dim(&self) -> usize;
    /// Write the features of `images` (one row of `dim` values each) into `out`.
    fn generate(&self, images: &[latent::Image], out: &mut [f32]);
}

/// Build the generator of `kind` for dimension `dim` and `cameras` cameras.
pub fn generator(
    kind: Kind,
    dim: usize,
    seed: u64,
    cameras: usize,
) -> anyhow::Result<Box<dyn Generator>> {
    Ok(match kind {
        Kind::A => Box::new(kind_a::KindA::new(dim, seed, cameras)?),
        Kind::B => Box::new(kind_b::KindB::new(dim, seed, cameras)),
    })
}
