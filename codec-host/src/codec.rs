//! The codec core driven from the host: batch encode and decode in parallel.

use crate::batch::{BLOCK, Projection, encode_rows};
use crate::io::FeatureSet;
use anyhow::{Context, Result, bail};
use codec_core::MAX_CODE_LEN;
use codec_core::{Error, Model};
use codec_core::{decode_scalable, encode_scalable, scalable_len};
use rayon::prelude::*;
use sha2::{Digest, Sha256};
use std::path::Path;
use std::time::Instant;

#[cfg(test)]
thread_local! {
    /// Calls of [`ModelFile::model`] on this thread, which the commands' unit tests count
    /// (`crate::test_support::parses_in`).
    pub(crate) static PARSES: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// A model file held in memory.
pub struct ModelFile {
    bytes: Vec<u8>,
    /// Worked out once at load ([`codec_core::min_budget`] costs a trial of rate control), so
    /// that budget checks need no parse.
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
        let model = Model::parse(&bytes).map_err(|e| anyhow::anyhow!("{e}"))?;
        let min_budget = codec_core::min_budget(&model).map_err(|e| anyhow::anyhow!("{e}"))?;
        Ok(ModelFile { bytes, min_budget })
    }

    /// The parsed model. Each call parses (and checks) the whole model again, a few
    /// milliseconds for a large one: call it once per command, not once per vector.
    pub fn model(&self) -> Model<'_> {
        #[cfg(test)]
        PARSES.with(|p| p.set(p.get() + 1));
        // Validated in the constructor, so this cannot fail.
        Model::parse(&self.bytes).expect("model validated at load")
    }

    /// Smallest budget at which every vector can be encoded.
    pub fn min_budget(&self) -> usize {
        self.min_budget
    }

    /// The raw bytes.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The model's identity: the first 16 bytes of the SHA-256 of its bytes, as 32 lower-case
    /// hex digits. Codes carry no model identity, so whatever stores codes (a code array, a
    /// vector database) records this beside them and refuses to decode with another model.
    pub fn fingerprint(&self) -> String {
        Sha256::digest(&self.bytes)[..16]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
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

/// The length of the slot a code of `kind` needs: the budget, or the whole scalable code.
pub fn code_len(model: &Model<'_>, kind: CodeKind) -> usize {
    match kind {
        CodeKind::Budget(b) => b,
        CodeKind::Scalable => scalable_len(model),
    }
}

/// Encode one vector into `out` (at least [`code_len`] bytes); returns the code's length. Bytes
/// of `out` past it are left as the core left them.
fn encode_one(
    model: &Model<'_>,
    row: &[f32],
    kind: CodeKind,
    out: &mut [u8],
) -> Result<usize, Error> {
    match kind {
        CodeKind::Budget(b) => codec_core::encode(model, row, b, out),
        CodeKind::Scalable => encode_scalable(model, row, out),
    }
}

/// Fewest vectors handed to the batch path ([`crate::batch`]): preparing its transform (a
/// pass over the model's entries and a copy in `f64`) is not worth it for one or two.
const MIN_BATCH: usize = 8;

/// Whether `rows` vectors coded as `kind` take the batch path: plain codes of at least a
/// byte (a scalable code's layers re-run rate control on residuals, one vector at a time).
fn batched(kind: CodeKind, rows: usize) -> Option<usize> {
    match kind {
        CodeKind::Budget(b) if b > 0 && rows >= MIN_BATCH => Some(b),
        _ => None,
    }
}

/// Encode every row of `set`: one code (or error) per row, in row order. Plain codes go
/// through [`crate::batch`] a block of rows per task, which gives the same codes.
pub fn encode_all(
    model: &Model<'_>,
    set: &FeatureSet,
    kind: CodeKind,
) -> Vec<Result<Vec<u8>, Error>> {
    if let Some(budget) = batched(kind, set.len()).filter(|_| set.dim == model.dim()) {
        let proj = Projection::new(model);
        let blocks: Vec<Vec<Result<Vec<u8>, Error>>> = set
            .data
            .par_chunks(BLOCK * set.dim.max(1))
            .map(|rows| {
                let mut out = vec![0u8; rows.len() / set.dim.max(1) * budget];
                let lens = encode_rows(model, &proj, rows, budget, &mut out);
                lens.into_iter()
                    .zip(out.chunks(budget))
                    .map(|(n, code)| n.map(|n| code[..n].to_vec()))
                    .collect()
            })
            .collect();
        return blocks.into_iter().flatten().collect();
    }
    let len = code_len(model, kind);
    (0..set.len())
        .into_par_iter()
        .map(|i| {
            let mut out = vec![0u8; len];
            let n = encode_one(model, set.row(i), kind, &mut out)?;
            out.truncate(n);
            Ok(out)
        })
        .collect()
}

/// Encode the rows of `data` (`model.dim()` values each) into `out`, one slot of
/// [`code_len`] bytes per row, each code zero-padded to its slot: the codes of
/// [`encode_all`], for callers that hold the rows and the codes in their own buffers (the
/// Python package). Returns each code's length, or the first failing row and its error.
pub fn encode_into(
    model: &Model<'_>,
    data: &[f32],
    kind: CodeKind,
    out: &mut [u8],
) -> Result<Vec<usize>, (usize, Error)> {
    let (dim, len) = (model.dim().max(1), code_len(model, kind).max(1));
    if let Some(budget) = batched(kind, data.len() / dim) {
        let proj = Projection::new(model);
        let blocks: Vec<Vec<Result<usize, Error>>> = data
            .par_chunks(BLOCK * dim)
            .zip(out.par_chunks_mut(BLOCK * budget))
            .map(|(rows, slots)| encode_rows(model, &proj, rows, budget, slots))
            .collect();
        return first_error(blocks.into_iter().flatten().collect());
    }
    let results: Vec<Result<usize, Error>> = data
        .par_chunks(dim)
        .zip(out.par_chunks_mut(len))
        .map(|(row, slot)| {
            let n = encode_one(model, row, kind, slot)?;
            // Rate control leaves bytes of rejected trials past the code (as the C API does).
            slot[n..].fill(0);
            Ok(n)
        })
        .collect();
    first_error(results)
}

/// The values of `results`, or the index of the first error and that error.
fn first_error<T>(results: Vec<Result<T, Error>>) -> Result<Vec<T>, (usize, Error)> {
    results
        .into_iter()
        .enumerate()
        .map(|(i, r)| r.map_err(|e| (i, e)))
        .collect()
}

/// Decode codes (plain, or scalable codes and their prefixes) into rows of a feature matrix
/// (`codes.len() x dim`); one result per code.
pub fn decode_all(
    model: &Model<'_>,
    codes: &[&[u8]],
    scalable: bool,
) -> (Vec<f32>, Vec<Result<(), Error>>) {
    let mut data = vec![0f32; codes.len() * model.dim()];
    let results = decode_rows(model, codes, scalable, &mut data);
    (data, results)
}

/// Decode `codes` into the rows of `out` (`codes.len() x dim` values), as [`decode_all`] does,
/// for callers with their own buffer; the first failing code and its error on failure.
pub fn decode_into(
    model: &Model<'_>,
    codes: &[&[u8]],
    scalable: bool,
    out: &mut [f32],
) -> Result<(), (usize, Error)> {
    first_error(decode_rows(model, codes, scalable, out)).map(|_| ())
}

fn decode_rows(
    model: &Model<'_>,
    codes: &[&[u8]],
    scalable: bool,
    out: &mut [f32],
) -> Vec<Result<(), Error>> {
    let dim = model.dim().max(1);
    if !scalable && codes.len() >= MIN_BATCH {
        let proj = Projection::new(model);
        let blocks: Vec<Vec<Result<(), Error>>> = out
            .par_chunks_mut(BLOCK * dim)
            .zip(codes.par_chunks(BLOCK))
            .map(|(rows, codes)| crate::batch::decode_rows(model, &proj, codes, rows))
            .collect();
        return blocks.into_iter().flatten().collect();
    }
    out.par_chunks_mut(dim)
        .zip(codes.par_iter())
        .map(|(row, code)| {
            if scalable {
                decode_scalable(model, code, row).map(|_| ())
            } else {
                codec_core::decode(model, code, row)
            }
        })
        .collect()
}

/// Encode and decode every row of `set` at `budget`; the reconstruction, the code lengths and
/// the two wall times.
pub fn round_trip(
    model: &ModelFile,
    set: &FeatureSet,
    budget: usize,
) -> Result<(FeatureSet, Vec<usize>, f64, f64)> {
    round_trip_with(&model.model(), set, budget)
}

/// [`round_trip`] with the model parsed once by the caller, for a sweep over budgets.
pub fn round_trip_with(
    model: &Model<'_>,
    set: &FeatureSet,
    budget: usize,
) -> Result<(FeatureSet, Vec<usize>, f64, f64)> {
    let (codes, encode_seconds) = encode_set(model, set, CodeKind::Budget(budget))?;
    let refs: Vec<&[u8]> = codes.iter().map(Vec::as_slice).collect();
    let (rec, decode_seconds) = decode_set(model, set, &refs, false)?;
    Ok((
        rec,
        codes.iter().map(Vec::len).collect(),
        encode_seconds,
        decode_seconds,
    ))
}

/// Every row's code, failing on the first row that does not encode; and the wall time.
pub fn encode_set(
    model: &Model<'_>,
    set: &FeatureSet,
    kind: CodeKind,
) -> Result<(Vec<Vec<u8>>, f64)> {
    let t = Instant::now();
    let codes = encode_all(model, set, kind);
    let seconds = t.elapsed().as_secs_f64();
    let mut owned = Vec::with_capacity(codes.len());
    for (name, c) in set.names.iter().zip(codes) {
        owned.push(c.map_err(|e| anyhow::anyhow!("{name}: {e}"))?);
    }
    Ok((owned, seconds))
}

/// Decode codes made from the rows of `set` (same order), failing on the first that does not
/// decode; and the wall time.
pub fn decode_set(
    model: &Model<'_>,
    set: &FeatureSet,
    codes: &[&[u8]],
    scalable: bool,
) -> Result<(FeatureSet, f64)> {
    let t = Instant::now();
    let (data, results) = decode_all(model, codes, scalable);
    let seconds = t.elapsed().as_secs_f64();
    if let Some((name, e)) = set
        .names
        .iter()
        .zip(&results)
        .find_map(|(n, r)| r.as_ref().err().map(|e| (n, e)))
    {
        bail!("{name}: own code does not decode: {e}");
    }
    let rec = FeatureSet {
        names: set.names.clone(),
        dim: set.dim,
        data,
    };
    Ok((rec, seconds))
}
