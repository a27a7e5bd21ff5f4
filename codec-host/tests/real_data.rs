//! The codec on the competition's real kind-A features (`../shared/data/naic-a-sample`, 536
//! vectors): train on every other one, measure dr on the rest. Skipped, with a message, when
//! the samples are not there.

use codec_host::codec::{ModelFile, round_trip};
use codec_host::eval::ErrorStats;
use codec_host::io::{FeatureSet, ReadOptions, read_features};
use codec_host::train::{TrainConfig, train};
use std::path::PathBuf;

fn samples() -> Option<FeatureSet> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/naic-a-sample");
    if !dir.is_dir() {
        eprintln!("skipped: {} is not here", dir.display());
        return None;
    }
    Some(read_features(&dir, &ReadOptions::default()).unwrap().set)
}

fn split(set: &FeatureSet, parity: usize) -> FeatureSet {
    let rows: Vec<usize> = (0..set.len()).filter(|i| i % 2 == parity).collect();
    FeatureSet {
        names: rows.iter().map(|&i| set.names[i].clone()).collect(),
        dim: set.dim,
        data: rows.iter().flat_map(|&i| set.row(i).to_vec()).collect(),
    }
}

#[test]
fn real_kind_a_features_beat_the_fixed_length_quantisers() {
    let Some(all) = samples() else { return };
    assert_eq!((all.len(), all.dim), (536, 2048));
    let (tr, te) = (split(&all, 0), split(&all, 1));
    let model =
        ModelFile::from_bytes(train(&tr, None, &TrainConfig::default()).unwrap().model).unwrap();
    // FAISS on the same kind of split with twice the training vectors (536; shared/docs/
    // codec-notes.md): OPQ dr 3.71 / 2.92 / 2.48 / 1.41 / 0.70 at 16 / 32 / 64 / 128 / 256 B.
    // naicfc must beat OPQ where transform coding is at home (64 B and up) and stay close
    // below that, with half the training data.
    //
    // The sample covariance of 268 vectors in 463 active dims is rank-deficient, so training
    // shrinks it toward its diagonal (docs/decisions/0020-shrunk-covariance.md). `unshrunk` is
    // dr on this split with the plain sample covariance: the shrunk estimate must be at least
    // 5% better at 128 and 256 B, where it matters, and no worse below.
    for (budget, opq, slack, unshrunk, gain) in [
        (16, 3.71, 1.10, 3.788, 1.0),
        (32, 2.92, 1.15, 3.049, 1.0),
        (64, 2.48, 1.0, 2.267, 1.0),
        (128, 1.41, 1.0, 1.162, 0.95),
        (256, 0.70, 1.0, 0.262, 0.95),
    ] {
        let (rec, lens, ..) = round_trip(&model, &te, budget).unwrap();
        assert!(lens.iter().all(|&l| l <= budget));
        let dr = ErrorStats::between(&te, &rec).dr;
        eprintln!("real kind A, {budget:>3} B: dr {dr:.3} (FAISS OPQ {opq})");
        assert!(dr < opq * slack, "{budget} B: dr {dr:.3} vs OPQ {opq}");
        assert!(
            dr <= unshrunk * gain + 1e-3,
            "{budget} B: dr {dr:.3} vs {unshrunk} with the sample covariance"
        );
    }
}
