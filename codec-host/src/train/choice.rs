//! Which quantiser to keep, decided by re-ID on a validation split of the training set.
//!
//! The trellis has the lower reconstruction error on every feature kind we measured, but its
//! effect on ranking depends on the data: on kind-A synthetic features it keeps 1.6 points
//! more ACC_reid at 16 bytes than one dead-zone quantiser, on kind B (equal steps) 1-3 points
//! less at 16 to 128 bytes with the same dr (README, Results). So with identity labels, training builds
//! both and measures ACC_reid of each on held-back queries against the other training
//! vectors, as `naicfc eval` would.
//!
//! The split is in-sample (the transform saw these vectors), which flatters both quantisers
//! alike. It is small, so its ACC_reid is noisy: on the kind-A default set (equal steps), a
//! random 3,000-row split with 835 queries put one dead-zone quantiser 0.1 point ahead on
//! average over the five budgets, this split (936 queries) the trellis 0.2 point, and the
//! 2,000 test queries the trellis 0.4 point; on kind B (equal steps) all agreed (this split
//! 2.1 points, the test queries 1.5 points for the dead-zone quantiser). The trellis, lower
//! in dr, therefore stays unless the other wins by [`SCALAR_MARGIN`]. With the default spread
//! rule and step growth kind B is close to a tie (this split 0.35 point, the test queries 0.13
//! point for the dead-zone quantiser), and the trellis stays.

use super::Quantiser;
use crate::codec::ModelFile;
use crate::codec::round_trip;
use crate::io::FeatureSet;
use crate::metrics::{Label, ScoreOptions, evaluate};
use crate::search::Metric;
use anyhow::Result;
use codec_core::internals::MAX_CODE_LEN;
use serde::Serialize;

/// Training rows looked at for the validation split.
pub const VALIDATION_ROWS: usize = 4000;
/// Fewest validation queries for a decision; with fewer the trellis stays.
pub const MIN_QUERIES: usize = 50;
/// How much higher (mean ACC_reid over the budgets, as a fraction) the dead-zone quantiser
/// must score to replace the trellis.
pub const SCALAR_MARGIN: f64 = 0.005;

/// What the validation measured, for the training report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Validation {
    /// Validation queries (one per identity seen at least twice in the split).
    pub queries: usize,
    /// Validation gallery rows (the rest of the split).
    pub gallery: usize,
    /// Budgets measured, bytes.
    pub budgets: Vec<usize>,
    /// ACC_reid of the trellis model per budget.
    pub trellis: Vec<f64>,
    /// ACC_reid of the dead-zone model per budget.
    pub scalar: Vec<f64>,
    /// The quantiser kept.
    pub chosen: Quantiser,
}

impl Validation {
    /// Mean ACC_reid over the budgets: (trellis, dead-zone).
    pub fn means(&self) -> (f64, f64) {
        (mean(&self.trellis), mean(&self.scalar))
    }
}

fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len().max(1) as f64
}

/// The quantiser to keep given each one's ACC_reid per budget.
pub fn decide(trellis: &[f64], scalar: &[f64]) -> Quantiser {
    if mean(scalar) > mean(trellis) + SCALAR_MARGIN {
        Quantiser::Scalar
    } else {
        Quantiser::Trellis
    }
}

/// Query and gallery rows of the validation split of rows labelled `labels`: among
/// [`VALIDATION_ROWS`] rows spread over the set, the first row of every identity that occurs
/// at least twice is a query, every other row is in the gallery.
pub fn split(labels: &[i64]) -> (Vec<usize>, Vec<usize>) {
    let rows = super::pca::subsample(labels.len(), VALIDATION_ROWS);
    let mut count = std::collections::HashMap::<i64, usize>::new();
    for &r in &rows {
        *count.entry(labels[r]).or_default() += 1;
    }
    let mut queried = std::collections::HashSet::<i64>::new();
    let (mut query, mut gallery) = (Vec::new(), Vec::new());
    for r in rows {
        let id = labels[r];
        if count[&id] >= 2 && queried.insert(id) {
            query.push(r);
        } else {
            gallery.push(r);
        }
    }
    (query, gallery)
}

/// Measure both models on the validation split of `set` at those of `budgets` both can code,
/// and say which to keep; `None` when the split has fewer than [`MIN_QUERIES`] queries or no
/// budget is usable.
pub fn validate(
    set: &FeatureSet,
    labels: &[i64],
    budgets: &[usize],
    trellis: &[u8],
    scalar: &[u8],
) -> Result<Option<Validation>> {
    let models = [
        ModelFile::from_bytes(trellis.to_vec())?,
        ModelFile::from_bytes(scalar.to_vec())?,
    ];
    // Budgets both models can code (`--budgets` may name any).
    let least = models.iter().map(|m| m.min_budget()).max().unwrap_or(1);
    let budgets: Vec<usize> = budgets
        .iter()
        .copied()
        .filter(|b| (least..=MAX_CODE_LEN).contains(b))
        .collect();
    let (query, gallery) = split(labels);
    if query.len() < MIN_QUERIES || budgets.is_empty() {
        return Ok(None);
    }
    let label = |r: &usize| Label {
        id: labels[*r],
        cam: None,
    };
    let query_labels: Vec<Label> = query.iter().map(label).collect();
    let gallery_labels: Vec<Label> = gallery.iter().map(label).collect();
    let query_set = rows_of(set, &query);
    let gallery_set = rows_of(set, &gallery);
    let acc = |model: &ModelFile| -> Result<Vec<f64>> {
        budgets
            .iter()
            .map(|&b| {
                let (coded, ..) = round_trip(model, &query_set, b)?;
                let scores = evaluate(
                    &coded,
                    &gallery_set,
                    &query_labels,
                    &gallery_labels,
                    Metric::Cosine,
                    &ScoreOptions::default(),
                )?;
                Ok(scores.acc_reid)
            })
            .collect()
    };
    let [t, d] = &models;
    let (trellis, scalar) = (acc(t)?, acc(d)?);
    Ok(Some(Validation {
        queries: query.len(),
        gallery: gallery.len(),
        budgets,
        chosen: decide(&trellis, &scalar),
        trellis,
        scalar,
    }))
}

/// The given rows of `set`, as a set of their own.
fn rows_of(set: &FeatureSet, rows: &[usize]) -> FeatureSet {
    FeatureSet {
        names: rows.iter().map(|&r| set.names[r].clone()).collect(),
        dim: set.dim,
        data: rows.iter().flat_map(|&r| set.row(r)).copied().collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_trellis_stays_unless_clearly_beaten() {
        assert_eq!(decide(&[0.5, 0.8], &[0.5, 0.8]), Quantiser::Trellis);
        assert_eq!(decide(&[0.5, 0.8], &[0.504, 0.805]), Quantiser::Trellis);
        assert_eq!(decide(&[0.5, 0.8], &[0.51, 0.81]), Quantiser::Scalar);
        assert_eq!(decide(&[0.6, 0.8], &[0.5, 0.8]), Quantiser::Trellis);
    }

    #[test]
    fn split_queries_one_row_per_repeated_identity() {
        // Identities 1 and 3 occur twice, 2 once, 4 three times.
        let labels = [1, 2, 1, 3, 4, 3, 4, 4];
        let (query, gallery) = split(&labels);
        assert_eq!(query, vec![0, 3, 4]);
        assert_eq!(gallery, vec![1, 2, 5, 6, 7]);
    }

    #[test]
    fn split_looks_at_a_bounded_spread_sample() {
        // 503 identities, each seen about 8 times among the rows looked at.
        let labels: Vec<i64> = (0..10 * VALIDATION_ROWS as i64).map(|i| i % 503).collect();
        let (query, gallery) = split(&labels);
        assert_eq!(query.len() + gallery.len(), VALIDATION_ROWS);
        assert_eq!(query.len(), 503);
        assert!(gallery.iter().any(|&r| r > 9 * VALIDATION_ROWS));
    }
}
