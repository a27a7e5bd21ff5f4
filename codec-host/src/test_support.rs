//! What the unit tests of the commands share: a small trained model, and a count of the
//! model parses made on the calling thread. Apart from `codec` so that `codec` does not
//! import `train` (which imports `codec`).

use crate::codec::{ModelFile, PARSES};
use crate::io::FeatureSet;
use crate::rng::Rng;
use crate::train::{TrainConfig, train};
use std::cell::Cell;

/// Calls of [`ModelFile::model`] made on this thread by `f`.
pub(crate) fn parses_in<T>(f: impl FnOnce() -> T) -> (T, usize) {
    let before = PARSES.with(Cell::get);
    let out = f();
    (out, PARSES.with(Cell::get) - before)
}

/// `rows` Gaussian vectors of `dim` values.
pub(crate) fn gaussian(rows: usize, dim: usize, seed: u64) -> FeatureSet {
    let mut rng = Rng::new(seed);
    FeatureSet {
        names: (0..rows).map(|i| format!("{i:04}")).collect(),
        dim,
        data: (0..rows * dim).map(|_| rng.normal() as f32).collect(),
    }
}

/// A model trained on 64 Gaussian vectors of `dim` values.
pub(crate) fn tiny_model(dim: usize) -> ModelFile {
    let cfg = TrainConfig {
        max_coeffs: 6.min(dim),
        ..TrainConfig::default()
    };
    let set = gaussian(64, dim, 5);
    ModelFile::from_bytes(train(&set, None, &cfg).unwrap().model).unwrap()
}
