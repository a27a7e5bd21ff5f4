//! The codec core driven from the host: batch encode and decode in parallel.

use crate::io::FeatureSet;
use anyhow::{Context, Result};
use codec_core::model::MAX_CODE_LEN;
use codec_core::scalable::{decode_scalable, encode_scalable, scalable_len};
use codec_core::{Error, Model};
use rayon::prelude::*;
use std::path::Path;

/// A model file held in memory.
pub struct ModelFile {
    bytes: Vec<u8>,
    /// The model's smallest budget, kept from validation so that budget checks need no parse.
    min_budget: usize,
}

impl ModelFile {
    /// Read and validate a model file.
    pub fn read(path: &Path) -> Result<Self> {
        let bytes = std::fs::read(path)
            .with_context(|| format!("{}: cannot read model", path.display()))?;
        Self::from_bytes(bytes).with_context(|| format!("{}: unusable model", path.display()))
    }

    /// Validate model bytes.
    pub fn from_bytes(bytes: Vec<u8>) -> Result<Self> {
        let min_budget = Model::parse(&bytes)
            .map_err(|e| anyhow::anyhow!("{e}"))?
            .min_budget();
        Ok(ModelFile { bytes, min_budget })
    }

    /// The parsed model. Each call parses (and checks) the whole model again, a few
    /// milliseconds for a large one: call it once per command, not once per vector.
    pub fn model(&self) -> Model<'_> {
        #[cfg(test)]
        test_support::PARSES.with(|p| p.set(p.get() + 1));
        // Validated in the constructor, so this cannot fail.
        Model::parse(&self.bytes).expect("model validated at load")
    }

    /// The raw bytes.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// A budget this model can code at: at least its minimum, at most the format's maximum.
    /// Checked once up front, so a bad `--budget` is one error instead of one per vector.
    pub fn check_budget(&self, budget: usize) -> Result<()> {
        let minimum = self.min_budget;
        if budget < minimum {
            anyhow::bail!("budget {budget} is below this model's minimum of {minimum} bytes");
        }
        if budget > MAX_CODE_LEN {
            anyhow::bail!("budget {budget} exceeds the format's maximum of {MAX_CODE_LEN} bytes");
        }
        Ok(())
    }
}

/// The kind of code a batch is made of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeKind {
    /// A plain code of at most this many bytes.
    Budget(usize),
    /// A scalable code: layers cut at the model's budgets, each prefix ending at one of them
    /// decodable on its own (see `codec_core::scalable`).
    Scalable,
}

/// Encode every row of `set`: one code (or error) per row, in row order.
pub fn encode_all(
    model: &Model<'_>,
    set: &FeatureSet,
    kind: CodeKind,
) -> Vec<Result<Vec<u8>, Error>> {
    let len = match kind {
        CodeKind::Budget(b) => b,
        CodeKind::Scalable => scalable_len(model),
    };
    (0..set.len())
        .into_par_iter()
        .map(|i| {
            let mut out = vec![0u8; len];
            let n = match kind {
                CodeKind::Budget(b) => codec_core::encode(model, set.row(i), b, &mut out)?,
                CodeKind::Scalable => encode_scalable(model, set.row(i), &mut out)?,
            };
            out.truncate(n);
            Ok(out)
        })
        .collect()
}

/// Decode codes (plain, or scalable codes and their prefixes) into rows of a feature matrix
/// (`codes.len() x dim`); one result per code.
pub fn decode_all(
    model: &Model<'_>,
    codes: &[&[u8]],
    scalable: bool,
) -> (Vec<f32>, Vec<Result<(), Error>>) {
    let dim = model.dim();
    let mut data = vec![0f32; codes.len() * dim];
    let results = data
        .par_chunks_mut(dim.max(1))
        .zip(codes.par_iter())
        .map(|(row, code)| {
            if scalable {
                decode_scalable(model, code, row).map(|_| ())
            } else {
                codec_core::decode(model, code, row)
            }
        })
        .collect();
    (data, results)
}

/// What the unit tests of the commands share: a small trained model, and a count of the
/// model parses made on the calling thread.
#[cfg(test)]
pub(crate) mod test_support {
    use super::ModelFile;
    use crate::io::FeatureSet;
    use crate::rng::Rng;
    use crate::train::{TrainConfig, train};
    use std::cell::Cell;

    thread_local! {
        /// Calls of [`ModelFile::model`] on this thread.
        pub(crate) static PARSES: Cell<usize> = const { Cell::new(0) };
    }

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
}
