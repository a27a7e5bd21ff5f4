//! Search vectors for an inner-product engine (Milvus, FAISS, any vector database).
//!
//! The coefficient-domain identity of the parent module, with every coefficient kept (an
//! engine's collection outlives any one batch of queries) and both gallery kinds in one width
//! `K + 2`, so a collection can hold original and coded rows side by side:
//!
//! - query, reconstructed from its code: `[y, 1, |mu|^2 + c . y] / |x_hat|`;
//! - original gallery row `g`: `[T g, mu . g, 0] / |g|`;
//! - coded gallery row: `[y_g, c . y_g, 1] / |x_hat_g|`;
//!
//! with `c = T mu`. A query's inner product with a gallery vector is then the cosine between
//! the reconstructed query and that gallery item (original or reconstructed), up to the
//! decoder's clamping and its fixed-point transform: ranking by it is naicfc's exact search.

use super::{CodedSearch, Geometry, Model, ModelInternals, code_coefficients, dot};
use crate::codec::{CodeKind, encode_into};
use crate::io::FeatureSet;
use codec_core::Error;
use faer::Mat;
use rayon::prelude::*;

/// What turns features and codes into search vectors for one model. Every method takes rows
/// one after another in a flat slice and fails on the first bad row, naming its index.
pub struct SearchVectors<'m> {
    model: Model<'m>,
    /// The whole transform (`K x A`) and the mean (all dims), in input units.
    t: Mat<f32>,
    mean: Vec<f32>,
    active: Vec<usize>,
    /// `c = T mu` and `|mu|^2`.
    t_mean: Vec<f32>,
    mean_sq: f32,
}

impl<'m> SearchVectors<'m> {
    pub fn new(model: Model<'m>) -> Self {
        let Geometry {
            t,
            mean,
            active,
            t_mean,
            mean_sq,
        } = Geometry::of(&model);
        SearchVectors {
            model,
            t,
            mean,
            active,
            t_mean,
            mean_sq,
        }
    }

    /// Values per search vector: the model's coefficients and two more.
    pub fn width(&self) -> usize {
        self.model.coeffs() + 2
    }

    /// Vectors of original (uncompressed) gallery rows (`model.dim()` values each).
    pub fn gallery(&self, rows: &[f32]) -> Result<Vec<f32>, (usize, Error)> {
        let dim = self.check_dim(rows)?;
        // A NaN would poison every score it touches and rank silently wrong.
        if let Some(i) = rows.iter().position(|v| !v.is_finite()) {
            return Err((i / dim, Error::NonFinite { index: i % dim }));
        }
        let set = FeatureSet {
            names: vec![String::new(); rows.len() / dim],
            dim,
            data: rows.to_vec(),
        };
        let width = self.width();
        Ok(CodedSearch::projected(
            &self.t,
            &self.mean,
            &self.active,
            width,
            &set,
        ))
    }

    /// Vectors of coded gallery items: each code decoded to its coefficients.
    pub fn gallery_codes(&self, codes: &[&[u8]]) -> Result<Vec<f32>, (usize, Error)> {
        let kc = self.model.coeffs();
        let y = self.coefficients(codes)?;
        let (t_mean, width) = (&self.t_mean, self.width());
        Ok(CodedSearch::coded(t_mean, self.mean_sq, kc, kc, width, &y))
    }

    /// Vectors of queries given as codes, scaled so that inner products are cosines.
    pub fn query_codes(&self, codes: &[&[u8]]) -> Result<Vec<f32>, (usize, Error)> {
        let y = self.coefficients(codes)?;
        Ok(self.query_rows(&y))
    }

    /// Vectors of queries given as features: each coded at `budget` bytes first, as a camera
    /// would (the bytes of `naicfc encode`), then as [`Self::query_codes`].
    pub fn queries(&self, rows: &[f32], budget: usize) -> Result<Vec<f32>, (usize, Error)> {
        let dim = self.check_dim(rows)?;
        if budget == 0 {
            // No code fits in zero bytes; the rows below would be zero, not errors.
            let minimum = codec_core::min_budget(&self.model).unwrap_or(1);
            return Err((0, Error::BudgetTooSmall { budget, minimum }));
        }
        let mut codes = vec![0u8; rows.len() / dim * budget];
        let lens = encode_into(&self.model, rows, CodeKind::Budget(budget), &mut codes)?;
        let refs: Vec<&[u8]> = codes
            .chunks(budget.max(1))
            .zip(&lens)
            .map(|(c, &n)| &c[..n])
            .collect();
        self.query_codes(&refs)
    }

    /// The model's dimension, checked to divide the rows.
    fn check_dim(&self, rows: &[f32]) -> Result<usize, (usize, Error)> {
        let dim = self.model.dim();
        if dim == 0 || rows.len() % dim != 0 {
            return Err((
                rows.len() / dim.max(1),
                Error::DimensionMismatch {
                    expected: dim,
                    actual: rows.len() % dim.max(1),
                },
            ));
        }
        Ok(dim)
    }

    /// Decoded coefficients of every code, `K` per row.
    fn coefficients(&self, codes: &[&[u8]]) -> Result<Vec<f32>, (usize, Error)> {
        let kc = self.model.coeffs();
        let unit = 2f32.powi(-self.model.shift());
        let mut out = vec![0f32; codes.len() * kc];
        let results: Vec<Result<(), Error>> = out
            .par_chunks_mut(kc.max(1))
            .zip(codes.par_iter())
            .map(|(row, code)| code_coefficients(&self.model, code, unit, row))
            .collect();
        match results.into_iter().enumerate().find(|(_, r)| r.is_err()) {
            Some((i, Err(e))) => Err((i, e)),
            _ => Ok(out),
        }
    }

    /// `[y, 1, |mu|^2 + c . y] / |x_hat|` for every row of coefficients; `|x_hat|^2` is
    /// `|mu|^2 + 2 c . y + |y|^2` because the transform's rows are orthonormal.
    fn query_rows(&self, y: &[f32]) -> Vec<f32> {
        let (kc, width) = (self.model.coeffs(), self.width());
        let mut out = vec![0f32; y.len() / kc.max(1) * width];
        out.par_chunks_mut(width)
            .zip(y.par_chunks(kc.max(1)))
            .for_each(|(row, y)| {
                let cy = dot(&self.t_mean, y);
                let n2 = self.mean_sq + 2.0 * cy + dot(y, y);
                let inv = if n2 > 0.0 { 1.0 / n2.sqrt() } else { 0.0 };
                for (o, v) in row[..kc].iter_mut().zip(y) {
                    *o = v * inv;
                }
                row[kc] = inv;
                row[kc + 1] = (self.mean_sq + cy) * inv;
            });
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::{ModelFile, encode_set};
    use crate::search::{Metric, search};
    use crate::synth::{Kind, SynthConfig, write_dataset};
    use crate::train::{TrainConfig, train};

    /// A small kind-A set (train, query, gallery) and a model trained on it.
    fn fixture() -> (FeatureSet, FeatureSet, ModelFile) {
        let dir = tempfile::tempdir().unwrap();
        let cfg = SynthConfig {
            train_identities: 60,
            train: 1200,
            test_identities: 30,
            queries: 60,
            gallery: 400,
            ..SynthConfig::default_sizes(Kind::A, 256, 4)
        };
        write_dataset(dir.path(), &cfg).unwrap();
        let read = |p: &str| {
            crate::io::read_features(&dir.path().join(p), &crate::io::ReadOptions::default())
                .unwrap()
                .set
        };
        let tr = read("train/train_feature");
        let model = ModelFile::from_bytes(train(&tr, None, &TrainConfig::default()).unwrap().model)
            .unwrap();
        (read("query_feature"), read("gallery_feature"), model)
    }

    fn inner_products(q: &[f32], g: &[f32], width: usize) -> Vec<Vec<f32>> {
        q.chunks(width)
            .map(|a| g.chunks(width).map(|b| dot(a, b)).collect())
            .collect()
    }

    #[test]
    fn inner_products_are_cosines_with_the_reconstructed_vectors() {
        let (q, g, file) = fixture();
        let model = file.model();
        let v = SearchVectors::new(file.model());
        let budget = 32;
        let (codes, _) = encode_set(&model, &q, CodeKind::Budget(budget)).unwrap();
        let refs: Vec<&[u8]> = codes.iter().map(Vec::as_slice).collect();
        let from_codes = v.query_codes(&refs).unwrap();
        // Features in, coded at the budget: the same vectors as from their codes.
        assert_eq!(v.queries(&q.data, budget).unwrap(), from_codes);
        let (rq, ..) = crate::codec::round_trip(&file, &q, budget).unwrap();
        let (gcodes, _) = encode_set(&model, &g, CodeKind::Budget(budget)).unwrap();
        let grefs: Vec<&[u8]> = gcodes.iter().map(Vec::as_slice).collect();
        let (rg, ..) = crate::codec::round_trip(&file, &g, budget).unwrap();
        for (gallery, vectors) in [
            (&g, v.gallery(&g.data).unwrap()),
            (&rg, v.gallery_codes(&grefs).unwrap()),
        ] {
            let ip = inner_products(&from_codes, &vectors, v.width());
            let exact = search(&rq, gallery, gallery.len(), Metric::Cosine).unwrap();
            let mut far = 0;
            let mut same_first = 0;
            for (i, row) in ip.iter().enumerate() {
                for (&r, &s) in exact.rows(i).iter().zip(exact.scores(i)) {
                    far += usize::from((row[r as usize] - s).abs() > 1e-3);
                }
                let best =
                    (0..row.len()).max_by(|&a, &b| row[a].total_cmp(&row[b]).then(b.cmp(&a)));
                same_first += usize::from(best == Some(exact.rows(i)[0] as usize));
            }
            // Only the fixed-point transform and, for a few coded rows, the decoder's clamping
            // (which the coefficients do not see) separate the two.
            assert!(
                far * 100 <= q.len() * gallery.len(),
                "{far} scores off by > 1e-3"
            );
            assert!(
                same_first * 100 >= q.len() * 97,
                "{same_first}/{} top-1 agree",
                q.len()
            );
        }
    }

    #[test]
    fn bad_rows_are_errors_naming_the_row() {
        let (q, _, file) = fixture();
        let v = SearchVectors::new(file.model());
        let good = v.queries(&q.data[..q.dim], 32);
        assert!(good.is_ok());
        let bad = [0xffu8; 16];
        let empty: &[u8] = &[];
        assert_eq!(v.gallery_codes(&[&bad, empty]).unwrap_err().0, 0);
        assert_eq!(v.query_codes(&[empty]).unwrap_err().0, 0);
        let mut rows = q.data[..3 * q.dim].to_vec();
        rows[2 * q.dim + 5] = f32::NAN;
        let nan = v.gallery(&rows).unwrap_err();
        assert!(matches!(nan, (2, Error::NonFinite { index: 5 })), "{nan:?}");
        assert!(matches!(v.queries(&rows, 32).unwrap_err(), (2, _)));
        assert!(matches!(
            v.gallery(&rows[1..]).unwrap_err().1,
            Error::DimensionMismatch { .. }
        ));
        for budget in [0, 1] {
            assert!(matches!(
                v.queries(&q.data[..q.dim], budget).unwrap_err().1,
                Error::BudgetTooSmall { .. }
            ));
        }
    }
}
