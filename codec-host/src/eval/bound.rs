//! The Gaussian rate-distortion bound: the least mean squared error any code of `bits` bits
//! can reach on a Gaussian source with the data's covariance (reverse water-filling over the
//! PCA eigenvalues). Real features are clustered, not Gaussian, so a codec may beat it at low
//! rates; at high rates a good transform coder lands near it.

/// Smallest expected squared error `sum_i min(theta, lambda_i)` at a total of `bits` bits,
/// where `theta` solves `sum_i max(0, log2(lambda_i / theta) / 2) = bits`.
pub fn gaussian_mse(eigenvalues: &[f64], bits: f64) -> f64 {
    let theta = crate::train::pca::water_level(eigenvalues, bits);
    eigenvalues
        .iter()
        .filter(|&&v| v > 0.0)
        .map(|&l| l.min(theta))
        .sum()
}

/// The spectrum the bound is computed from: eigenvalues (descending) of the covariance of
/// the dims of `set` that vary (at most 20,000 evenly spaced rows), estimated as training
/// estimates it
/// ([`crate::linalg::CovarianceSums::estimate`]): with fewer rows than dims the sample
/// covariance has zero eigenvalues that no new vector shows, and a bound computed from them
/// would read zero error at high rates.
pub fn spectrum(set: &crate::io::FeatureSet) -> anyhow::Result<Vec<f64>> {
    anyhow::ensure!(
        set.len() >= 2,
        "a covariance needs at least 2 vectors, got {}",
        set.len()
    );
    // Only the dims that vary: a constant dim adds a zero eigenvalue, which the bound ignores,
    // and must not count toward the vectors per dim that decide on shrinking (as in training).
    let varying = crate::train::pca::moments(set).active;
    let rows = crate::train::pca::subsample(set.len(), 20_000);
    let n = rows.len();
    let d = varying.len();
    if d == 0 {
        return Ok(Vec::new());
    }
    let mut x = faer::Mat::from_fn(n, d, |i, k| f64::from(set.row(rows[i])[varying[k]]));
    for k in 0..d {
        let mean = (0..n).map(|i| x[(i, k)]).sum::<f64>() / n as f64;
        for i in 0..n {
            x[(i, k)] -= mean;
        }
    }
    let (cov, _) = crate::linalg::CovarianceSums::of_block(x.as_ref()).estimate();
    let (values, _) = crate::linalg::symmetric_eigen(cov.as_ref())?;
    Ok(values.into_iter().map(|v| v.max(0.0)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_gaussian_follows_six_db_per_bit() {
        // One component of variance 1: D(R) = 2^(-2R).
        for bits in [1.0, 2.0, 5.0] {
            let d = gaussian_mse(&[1.0], bits);
            assert!((d - 2f64.powf(-2.0 * bits)).abs() < 1e-9, "{bits}: {d}");
        }
    }

    #[test]
    fn fewer_training_vectors_than_dims_give_a_bound_a_codec_can_be_held_to() {
        // 40 training vectors of 512 independent unit-variance dims (at most 4 bits a dim at
        // 256 B): the sample covariance has 473 zero eigenvalues, and a bound from it read ~0
        // at high rates (ratios of 10^4 and more). The shrunk spectrum keeps the codec's rmse
        // within a small factor of it.
        let train = crate::train::gaussian_set(40, 512, 1.0, 3);
        let test = crate::train::gaussian_set(200, 512, 1.0, 4);
        let cfg = crate::train::TrainConfig {
            quantiser: crate::train::Quantiser::Scalar,
            ..crate::train::TrainConfig::default()
        };
        let model = crate::codec::ModelFile::from_bytes(
            crate::train::train(&train, None, &cfg).unwrap().model,
        )
        .unwrap();
        let values = spectrum(&train).unwrap();
        assert!(values.iter().all(|&v| v > 0.1), "{values:?}");
        for budget in [16, 32, 64, 128, 256] {
            let (rec, ..) = crate::codec::round_trip(&model, &test, budget).unwrap();
            let rmse = crate::eval::ErrorStats::between(&test, &rec).rmse;
            let bound = gaussian_mse(&values, 8.0 * budget as f64).sqrt();
            let ratio = rmse / bound;
            assert!((0.7..4.0).contains(&ratio), "{budget} B: {rmse} vs {bound}");
        }
    }

    #[test]
    fn water_filling_skips_weak_components() {
        // Variances 4 and 1/64 with 1 bit: all of it goes to the first (D1 = 1), the second
        // stays uncoded (1/64).
        let d = gaussian_mse(&[4.0, 1.0 / 64.0], 1.0);
        assert!((d - (1.0 + 1.0 / 64.0)).abs() < 1e-9, "{d}");
        assert_eq!(gaussian_mse(&[2.0, 3.0], 0.0), 5.0);
    }
}
