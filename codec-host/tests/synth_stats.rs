//! The synthetic generator reproduces the published facts of real features (task.md), within
//! the tolerances stated next to each assertion.

use codec_host::io::{ReadOptions, read_features};
use codec_host::stats::{FeatureStats, feature_stats};
use codec_host::synth::{Kind, SynthConfig, write_dataset};

fn small(kind: Kind, dim: usize) -> SynthConfig {
    SynthConfig {
        train_identities: 200,
        train: 4000,
        test_identities: 10,
        queries: 10,
        gallery: 20,
        ..SynthConfig::default_sizes(kind, dim, 11)
    }
}

fn generate(cfg: &SynthConfig) -> (tempfile::TempDir, FeatureStats) {
    let dir = tempfile::tempdir().unwrap();
    write_dataset(dir.path(), cfg).unwrap();
    let loaded = read_features(
        &dir.path().join("train/train_feature"),
        &ReadOptions::default(),
    )
    .unwrap();
    assert!(loaded.failures.is_empty());
    assert_eq!(loaded.set.len(), cfg.train);
    let stats = feature_stats(&loaded.set).unwrap();
    (dir, stats)
}

fn near(what: &str, got: f64, want: f64, tol: f64) {
    assert!(
        (got - want).abs() <= tol,
        "{what}: got {got:.4}, want {want} +- {tol}"
    );
}

#[test]
fn kind_a_matches_the_published_statistics() {
    let (_dir, s) = generate(&small(Kind::A, 2048));
    assert_eq!(s.active_dims, 463, "exactly 463 active dims");
    assert_eq!(
        s.always_nonzero_dims, 463,
        "the same index set in every vector"
    );
    assert!(
        (6..=12).contains(&s.near_constant_dims),
        "about 8 near-constant dims: {}",
        s.near_constant_dims
    );
    near("norm mean", s.norm[0], 5.52, 0.15);
    near("norm sd", s.norm[1], 0.43, 0.08);
    near("mean vector norm", s.mean_vector_norm, 1.13, 0.25);
    near("negative fraction", s.negative_fraction, 0.53, 0.02);
    near("|v| < 0.05 fraction", s.small_fraction, 0.29, 0.04);
    near("1% quantile", s.quantiles[1], -0.68, 0.1);
    near("99% quantile", s.quantiles[2], 0.80, 0.1);
    near("total variance", s.total_variance, 29.4, 1.5);
    assert!(
        s.excess_kurtosis > 1.5 && s.excess_kurtosis < 5.0,
        "kurtosis {}",
        s.excess_kurtosis
    );
    // Published cumulative variance: 16% at 8, 28% at 16, 46% at 32, 68% at 64, 87% at 128,
    // 98% at 256, ~100% at 400. 4,000 vectors estimate these within a few points.
    for (rank, want) in [
        (8, 0.16),
        (16, 0.28),
        (32, 0.46),
        (64, 0.68),
        (128, 0.87),
        (256, 0.98),
        (400, 1.0),
    ] {
        let got = s.pca.iter().find(|p| p.0 == rank).unwrap().2;
        near(&format!("cumulative variance at {rank}"), got, want, 0.04);
    }
}

#[test]
fn kind_b_matches_the_published_statistics() {
    let (_dir, s) = generate(&small(Kind::B, 2048));
    assert_eq!(s.active_dims, 2048, "dense");
    assert_eq!(s.negative_fraction, 0.0, "non-negative");
    near("exact zeros", s.zero_fraction, 0.07, 0.015);
    near("mean value", s.mean, 0.25, 0.03);
    near("median value", s.median, 0.12, 0.02);
    near("99.9% quantile", s.quantiles[3], 3.0, 0.4);
    near("norm mean", s.norm[0], 19.8, 1.5);
    near("norm sd", s.norm[1], 4.1, 1.0);
}

#[test]
fn kind_a_scales_its_support_with_the_dimension() {
    let (_dir, s) = generate(&SynthConfig {
        train: 600,
        ..small(Kind::A, 512)
    });
    assert_eq!(s.active_dims, 116, "463/2048 of 512 dims");
    near("norm mean", s.norm[0], 5.52, 0.3);
}

#[test]
fn same_seed_same_bytes() {
    let cfg = SynthConfig {
        train: 50,
        train_identities: 5,
        ..small(Kind::A, 64)
    };
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    write_dataset(a.path(), &cfg).unwrap();
    write_dataset(b.path(), &cfg).unwrap();
    let ra = read_features(&a.path().join("gallery_feature"), &ReadOptions::default()).unwrap();
    let rb = read_features(&b.path().join("gallery_feature"), &ReadOptions::default()).unwrap();
    assert_eq!(ra.set, rb.set);
    let other = SynthConfig { seed: 12, ..cfg };
    let c = tempfile::tempdir().unwrap();
    write_dataset(c.path(), &other).unwrap();
    let rc = read_features(&c.path().join("gallery_feature"), &ReadOptions::default()).unwrap();
    assert_ne!(ra.set.data, rc.set.data);
}
