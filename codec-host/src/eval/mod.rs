//! The rate sweep: for every budget, encode the queries, decode them, and measure what was
//! lost — reconstruction error, and re-ID accuracy of the reconstructed queries against the
//! original gallery — next to the uncompressed baseline and the Gaussian bound.

pub mod bound;
pub mod plot;
pub mod report;

use crate::codec::{CodeKind, ModelFile, decode_set, encode_set, round_trip_with};
use crate::io::dataset::{Dataset, Split, SplitData};
use crate::io::{FeatureSet, InputError, ReadOptions};
use crate::metrics::{Label, ScoreOptions, Scores, evaluate};
use crate::search::Metric;
use crate::train::input::read_training_input;
use anyhow::{Context, Result, bail};
use serde::Serialize;
use std::path::Path;

/// What to measure.
#[derive(Debug, Clone)]
pub struct EvalConfig {
    /// Budgets in bytes.
    pub budgets: Vec<usize>,
    /// Also compress the gallery (storage scenario) and score compressed against compressed.
    pub symmetric: bool,
    /// Re-ID scoring options.
    pub score: ScoreOptions,
    /// Similarity used for re-ID.
    pub metric: Metric,
    /// Also encode each query once as a scalable code and score its prefix at every budget
    /// that is a layer boundary of the model.
    pub scalable: bool,
}

/// Queries, gallery, labels and the spectrum the bound is computed from.
pub struct EvalData {
    /// Query features.
    pub query: FeatureSet,
    /// Gallery features.
    pub gallery: FeatureSet,
    /// Labels of queries and gallery, when both lists exist.
    pub labels: Option<(Vec<Label>, Vec<Label>)>,
    /// PCA eigenvalues of the training split (or of the gallery when it has none, or fewer
    /// than 2 usable vectors).
    pub eigenvalues: Vec<f64>,
    /// Inputs left out while loading.
    pub failures: Vec<InputError>,
}

fn labels_of(split: &SplitData) -> Option<Vec<Label>> {
    let ids = split.labels.as_ref()?;
    Some(
        ids.iter()
            .enumerate()
            .map(|(i, &id)| Label {
                id,
                cam: split.cams.as_ref().and_then(|c| c.get(i).copied()),
            })
            .collect(),
    )
}

/// Most training vectors read for the spectrum of the Gaussian bound (as many as training uses
/// for its transform by default).
const SPECTRUM_ROWS: usize = 100_000;

/// The Gaussian bound's spectrum of `set` ([`bound::spectrum`]), with a note when `set` has no
/// more vectors than varying dims: the spectrum's weak directions are then estimates.
fn spectrum_of(set: &FeatureSet) -> Result<Vec<f64>> {
    let varying = crate::train::pca::moments(set).active.len();
    if set.len() <= varying {
        crate::summary!(
            "naicfc eval: note: the bound's spectrum comes from {} vectors for {varying} varying \
             dims; its weak directions are estimated by shrinking the covariance toward its \
             diagonal, so read the bound at high rates as an estimate",
            set.len()
        );
    }
    bound::spectrum(set).context("spectrum for the Gaussian bound")
}

/// Load a dataset in the standard layout for evaluation.
pub fn load(root: &Path, read: &ReadOptions) -> Result<EvalData> {
    let ds = Dataset::new(root);
    let query = ds.load_split(Split::Query, read)?;
    let gallery = ds.load_split(Split::Gallery, read)?;
    for (split, data) in [(Split::Query, &query), (Split::Gallery, &gallery)] {
        if data.features.is_empty() {
            let first = data
                .failures
                .first()
                .map_or(String::new(), |f| format!("; the first: {f}"));
            bail!(
                "{}: no usable vector ({} rejected{first})",
                ds.features_dir(split).display(),
                data.failures.len()
            );
        }
    }
    let labels = labels_of(&query).zip(labels_of(&gallery));
    let mut failures = query.failures;
    failures.extend(gallery.failures);
    let train_dir = ds.features_dir(Split::Train);
    let training = if train_dir.is_dir() {
        // An even sample gives the spectrum; the whole training set can be gigabytes.
        let list = ds.existing_list(Split::Train)?;
        let input = read_training_input(&train_dir, list.as_deref(), read, SPECTRUM_ROWS, 65_536)
            .context("loading the train split")?;
        failures.extend(input.failures);
        if input.sample.len() < 2 {
            crate::summary!(
                "naicfc eval: {}: fewer than 2 usable training vectors; the bound's spectrum \
                 comes from the gallery",
                train_dir.display()
            );
        }
        Some(input.sample).filter(|s| s.len() >= 2)
    } else {
        None
    };
    let spectrum_source = training.unwrap_or_else(|| gallery.features.clone());
    let eigenvalues = spectrum_of(&spectrum_source)?;
    Ok(EvalData {
        query: query.features,
        gallery: gallery.features,
        labels,
        eigenvalues,
        failures,
    })
}

/// Load unlabelled features for evaluation: the vectors at `test` (a directory of `.dat`
/// files or a `.npy`) are coded and compared with their reconstructions (dr, rmse and the
/// bound; no re-ID, which needs identities); the bound's spectrum comes from an even sample of
/// `train` when given, else from the test vectors themselves.
pub fn load_unlabelled(test: &Path, train: Option<&Path>, read: &ReadOptions) -> Result<EvalData> {
    let loaded = crate::io::read_features(test, read)?;
    let mut failures = loaded.failures;
    if loaded.set.is_empty() {
        bail!(
            "{}: no usable vector ({} rejected)",
            test.display(),
            failures.len()
        );
    }
    let training = match train {
        Some(path) => {
            let input = read_training_input(path, None, read, SPECTRUM_ROWS, 65_536)
                .with_context(|| format!("loading {}", path.display()))?;
            failures.extend(input.failures);
            if input.sample.len() < 2 {
                bail!(
                    "{}: fewer than 2 usable vectors for the bound's spectrum",
                    path.display()
                );
            }
            input.sample
        }
        None => loaded.set.clone(),
    };
    let eigenvalues = spectrum_of(&training)?;
    Ok(EvalData {
        gallery: FeatureSet {
            dim: loaded.set.dim,
            ..FeatureSet::default()
        },
        query: loaded.set,
        labels: None,
        eigenvalues,
        failures,
    })
}

/// Results at one budget.
#[derive(Debug, Clone, Serialize)]
pub struct RateResult {
    /// Budget in bytes.
    pub budget: usize,
    /// Longest and mean code length.
    pub bytes_max: usize,
    /// Mean code length.
    pub bytes_mean: f64,
    /// Mean L2 reconstruction error (the competition's dr).
    pub dr: f64,
    /// sqrt of the mean squared L2 error.
    pub rmse: f64,
    /// Mean of `||x - x_hat|| / ||x||`.
    pub relative_error: f64,
    /// Mean cosine between a vector and its reconstruction.
    pub cosine: f64,
    /// Gaussian rate-distortion bound on `rmse` at this many bits.
    pub bound_rmse: f64,
    /// Re-ID of reconstructed queries against the original gallery.
    pub scores: Option<Scores>,
    /// `scores.acc_reid / uncompressed.acc_reid`.
    pub retention: Option<f64>,
    /// Re-ID with the gallery compressed too (`--symmetric`).
    pub symmetric_scores: Option<Scores>,
    /// The prefix of one scalable code at this budget (`--scalable`): its dr ...
    pub scalable_dr: Option<f64>,
    /// ... and its re-ID scores.
    pub scalable_scores: Option<Scores>,
    /// Wall time of encoding / decoding all queries (all cores).
    pub encode_seconds: f64,
    /// Wall time of decoding.
    pub decode_seconds: f64,
}

/// A whole evaluation.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// Queries evaluated.
    pub queries: usize,
    /// Gallery size.
    pub gallery: usize,
    /// Dimension.
    pub dim: usize,
    /// Model size in bytes.
    pub model_bytes: usize,
    /// Smallest budget the model always meets.
    pub min_budget: usize,
    /// Mean query norm (puts `dr` in proportion).
    pub mean_norm: f64,
    /// Re-ID of the uncompressed queries.
    pub uncompressed: Option<Scores>,
    /// One entry per budget.
    pub rates: Vec<RateResult>,
}

/// Run the sweep.
pub fn run(model: &ModelFile, data: &EvalData, cfg: &EvalConfig) -> Result<Report> {
    let m = model.model();
    if data.query.dim != m.dim() {
        bail!(
            "the data has {} dimensions, the model {}",
            data.query.dim,
            m.dim()
        );
    }
    if data.query.is_empty() {
        bail!("no query vectors to evaluate");
    }
    for &budget in &cfg.budgets {
        model.check_budget(budget)?;
    }
    // Re-ID scores of `queries` against `gallery`, when the data has identity labels.
    let scores = |queries: &FeatureSet, gallery: &FeatureSet| -> Result<Option<Scores>> {
        data.labels
            .as_ref()
            .map(|(ql, gl)| evaluate(queries, gallery, ql, gl, cfg.metric, &cfg.score))
            .transpose()
    };
    let uncompressed = scores(&data.query, &data.gallery)?;
    let scalable_codes = if cfg.scalable {
        Some(encode_set(&m, &data.query, CodeKind::Scalable)?.0)
    } else {
        None
    };
    let mut rates = Vec::new();
    for &budget in &cfg.budgets {
        let (rec, lens, encode_seconds, decode_seconds) = round_trip_with(&m, &data.query, budget)?;
        let errors = ErrorStats::between(&data.query, &rec);
        let rate_scores = scores(&rec, &data.gallery)?;
        let symmetric_scores = if cfg.symmetric && data.labels.is_some() {
            let (gallery_rec, ..) = round_trip_with(&m, &data.gallery, budget)?;
            scores(&rec, &gallery_rec)?
        } else {
            None
        };
        let (scalable_dr, scalable_scores) = match &scalable_codes {
            Some(codes) if (0..m.budget_count()).any(|i| m.budget(i) == Some(budget)) => {
                let prefixes: Vec<&[u8]> =
                    codes.iter().map(|c| c.get(..budget).unwrap_or(c)).collect();
                let (rec, _) = decode_set(&m, &data.query, &prefixes, true)?;
                (
                    Some(ErrorStats::between(&data.query, &rec).dr),
                    scores(&rec, &data.gallery)?,
                )
            }
            _ => (None, None),
        };
        let n = lens.len().max(1) as f64;
        rates.push(RateResult {
            budget,
            bytes_max: lens.iter().copied().max().unwrap_or(0),
            bytes_mean: lens.iter().sum::<usize>() as f64 / n,
            dr: errors.dr,
            rmse: errors.rmse,
            relative_error: errors.relative,
            cosine: errors.cosine,
            bound_rmse: bound::gaussian_mse(&data.eigenvalues, 8.0 * budget as f64).sqrt(),
            retention: rate_scores
                .zip(uncompressed)
                .map(|(s, u)| s.acc_reid / u.acc_reid),
            scores: rate_scores,
            symmetric_scores,
            scalable_dr,
            scalable_scores,
            encode_seconds,
            decode_seconds,
        });
    }
    let mean_norm = data
        .query
        .rows()
        .map(|r| r.iter().map(|&v| f64::from(v).powi(2)).sum::<f64>().sqrt())
        .sum::<f64>()
        / data.query.len() as f64;
    Ok(Report {
        queries: data.query.len(),
        gallery: data.gallery.len(),
        dim: m.dim(),
        model_bytes: model.bytes().len(),
        min_budget: model.min_budget(),
        mean_norm,
        uncompressed,
        rates,
    })
}

/// Reconstruction error statistics over rows.
pub struct ErrorStats {
    /// Mean L2 error.
    pub dr: f64,
    /// Root mean squared L2 error.
    pub rmse: f64,
    /// Mean relative L2 error.
    pub relative: f64,
    /// Mean cosine similarity.
    pub cosine: f64,
}

impl ErrorStats {
    /// Compare `rec` with `orig` row by row.
    pub fn between(orig: &FeatureSet, rec: &FeatureSet) -> Self {
        let (mut dr, mut sq, mut rel, mut cos) = (0.0, 0.0, 0.0, 0.0);
        for (x, y) in orig.rows().zip(rec.rows()) {
            let (mut e, mut xx, mut yy, mut xy) = (0.0, 0.0, 0.0, 0.0);
            for (&a, &b) in x.iter().zip(y) {
                let (a, b) = (f64::from(a), f64::from(b));
                e += (a - b) * (a - b);
                xx += a * a;
                yy += b * b;
                xy += a * b;
            }
            dr += e.sqrt();
            sq += e;
            rel += if xx > 0.0 { (e / xx).sqrt() } else { 0.0 };
            cos += if xx > 0.0 && yy > 0.0 {
                xy / (xx * yy).sqrt()
            } else {
                0.0
            };
        }
        let n = orig.len().max(1) as f64;
        ErrorStats {
            dr: dr / n,
            rmse: (sq / n).sqrt(),
            relative: rel / n,
            cosine: cos / n,
        }
    }
}
