//! The byte budget holds for a TRAINED model (kind A and kind B), whatever the vector.

use codec_core::internals::{ModelInternals, StepGrid};
use codec_core::{Error, Model, decode, encode};
use codec_host::io::{ReadOptions, read_features};
use codec_host::synth::{Kind, SynthConfig, write_dataset};
use codec_host::train::{Quantiser, TrainConfig, train};
use proptest::prelude::*;
use std::sync::OnceLock;

const DIM: usize = 128;

fn trained(kind: Kind) -> Vec<u8> {
    trained_with(kind, None, true)
}

/// A small synthetic training set.
fn training_set(kind: Kind, dir: &std::path::Path) -> codec_host::io::FeatureSet {
    let cfg = SynthConfig {
        train_identities: 50,
        train: 1000,
        test_identities: 5,
        queries: 5,
        gallery: 10,
        ..SynthConfig::default_sizes(kind, DIM, 3)
    };
    write_dataset(dir, &cfg).unwrap();
    read_features(&dir.join("train/train_feature"), &ReadOptions::default())
        .unwrap()
        .set
}

/// With `reid_weight`, the identity labels of the training list drive the allocation;
/// `trellis` picks the quantiser.
fn trained_with(kind: Kind, reid_weight: Option<f64>, trellis: bool) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let set = training_set(kind, dir.path());
    let tc = TrainConfig {
        prior_rows: 200,
        reid_weight: reid_weight.unwrap_or(0.0),
        quantiser: if trellis {
            Quantiser::Trellis
        } else {
            Quantiser::Scalar
        },
        ..TrainConfig::default()
    };
    let labels = reid_weight.map(|_| training_labels(dir.path(), &set));
    let trained = train(&set, labels.as_deref(), &tc).unwrap();
    assert_eq!(trained.summary.discriminative, reid_weight.is_some());
    trained.model
}

/// Identity of every row of `set`, from the training list under `dir`.
fn training_labels(dir: &std::path::Path, set: &codec_host::io::FeatureSet) -> Vec<i64> {
    let list = std::fs::read_to_string(dir.join("train/train_list.txt")).unwrap();
    let id: std::collections::HashMap<&str, i64> = list
        .lines()
        .map(|l| {
            let mut f = l.split_whitespace();
            let name = f.next().unwrap();
            let stem = name.rsplit_once('.').map_or(name, |(s, _)| s);
            (stem, f.next().unwrap().parse().unwrap())
        })
        .collect();
    set.names.iter().map(|n| id[n.as_str()]).collect()
}

#[test]
fn auto_keeps_one_of_the_two_models_by_validation() {
    let dir = tempfile::tempdir().unwrap();
    let set = training_set(Kind::B, dir.path());
    let labels = training_labels(dir.path(), &set);
    let with = |quantiser| TrainConfig {
        prior_rows: 200,
        quantiser,
        ..TrainConfig::default()
    };
    let auto = train(&set, Some(&labels), &with(Quantiser::Auto)).unwrap();
    let v = auto
        .summary
        .validation
        .clone()
        .expect("50 identities are enough to validate");
    assert_eq!(v.queries, 50);
    assert_eq!(v.gallery, 950);
    assert_eq!((v.trellis.len(), v.scalar.len()), (5, 5));
    assert!(
        v.trellis
            .iter()
            .chain(&v.scalar)
            .all(|a| (0.0..=1.0).contains(a))
    );
    assert_eq!(v.chosen, auto.summary.quantiser);
    let explicit = train(&set, Some(&labels), &with(v.chosen)).unwrap();
    assert_eq!(auto.model, explicit.model);
    assert!(explicit.summary.validation.is_none());
    // Only budgets both models can code are measured (beyond the format's longest code is
    // not); one below a model's minimum is refused, naming it.
    let odd = TrainConfig {
        budgets: vec![16, 100_000],
        ..with(Quantiser::Auto)
    };
    let v = train(&set, Some(&labels), &odd).unwrap().summary.validation;
    assert_eq!(v.expect("16 bytes is codable").budgets, vec![16]);
    let tiny = TrainConfig {
        budgets: vec![1, 16],
        ..with(Quantiser::Auto)
    };
    let err = train(&set, Some(&labels), &tiny).err().unwrap().to_string();
    assert!(err.contains("--budget: 1 is below"), "{err}");
    // Without labels there is nothing to measure: the trellis.
    let unlabelled = train(&set, None, &with(Quantiser::Auto)).unwrap();
    assert_eq!(unlabelled.summary.quantiser, Quantiser::Trellis);
    assert!(unlabelled.summary.validation.is_none());
    assert!(Model::parse(&unlabelled.model).unwrap().trellis());
}

/// Kind A, kind B, kind A with a strongly identity-aware allocation (every step weight at its
/// clamp, the widest spread of steps the grid must still cover), and kind A with one dead-zone
/// quantiser instead of the trellis.
fn models() -> &'static [Vec<u8>; 4] {
    static M: OnceLock<[Vec<u8>; 4]> = OnceLock::new();
    M.get_or_init(|| {
        [
            trained(Kind::A),
            trained(Kind::B),
            trained_with(Kind::A, Some(8.0), true),
            trained_with(Kind::A, None, false),
        ]
    })
}

#[test]
fn without_clamping_reconstructions_leave_the_training_range() {
    // Kind B is non-negative: a clamped reconstruction never goes below zero, an unclamped
    // one does where the quantisation error pushes it there.
    let dir = tempfile::tempdir().unwrap();
    let set = training_set(Kind::B, dir.path());
    let cfg = |clamp| TrainConfig {
        prior_rows: 200,
        quantiser: Quantiser::Scalar,
        clamp,
        ..TrainConfig::default()
    };
    let negatives = |clamp| {
        let bytes = train(&set, None, &cfg(clamp)).unwrap().model;
        let m = Model::parse(&bytes).unwrap();
        assert_eq!(m.clamps(), clamp);
        let mut count = 0;
        for row in set.rows().take(100) {
            let mut code = [0u8; 16];
            let len = encode(&m, row, 16, &mut code).unwrap();
            let mut back = vec![0f32; DIM];
            decode(&m, &code[..len], &mut back).unwrap();
            count += back.iter().filter(|&&v| v < 0.0).count();
        }
        count
    };
    assert_eq!(negatives(true), 0);
    assert!(negatives(false) > 0);
}

#[test]
fn the_trellis_has_less_error_than_one_quantiser() {
    let dir = tempfile::tempdir().unwrap();
    let set = training_set(Kind::A, dir.path());
    let [trellis, _, _, scalar] = models();
    let (trellis, scalar) = (
        Model::parse(trellis).unwrap(),
        Model::parse(scalar).unwrap(),
    );
    assert!(trellis.trellis() && !scalar.trellis());
    for budget in [16, 32] {
        let error = |m: &Model<'_>| {
            let mut total = 0.0;
            for row in set.rows().take(300) {
                let mut code = vec![0u8; budget];
                let len = encode(m, row, budget, &mut code).unwrap();
                let mut back = vec![0f32; DIM];
                decode(m, &code[..len], &mut back).unwrap();
                total += row
                    .iter()
                    .zip(&back)
                    .map(|(a, b)| f64::from(a - b).powi(2))
                    .sum::<f64>()
                    .sqrt();
            }
            total / 300.0
        };
        let (t, s) = (error(&trellis), error(&scalar));
        eprintln!("{budget} B: mean error trellis {t:.4}, one quantiser {s:.4}");
        assert!(t < s, "{budget} B: trellis {t} vs {s}");
    }
}

fn any_finite() -> impl Strategy<Value = f32> {
    prop_oneof![
        6 => -3.0f32..3.0,
        1 => Just(0.0f32),
        1 => any::<u32>().prop_map(f32::from_bits).prop_filter("finite", |v| v.is_finite()),
        1 => prop_oneof![Just(f32::MAX), Just(f32::MIN), Just(1e-42f32), Just(-1e-42f32)],
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(600))]

    #[test]
    fn budget_holds_for_trained_models(
        which in 0usize..3,
        x in prop::collection::vec(any_finite(), DIM),
        budget in prop_oneof![Just(16usize), Just(32), Just(64), Just(128), Just(256), 1usize..400],
    ) {
        let m = Model::parse(&models()[which]).unwrap();
        let mut out = vec![0u8; budget];
        match encode(&m, &x, budget, &mut out) {
            Ok(len) => {
                prop_assert!((1..=budget).contains(&len));
                let mut back = vec![0f32; DIM];
                prop_assert!(decode(&m, &out[..len], &mut back).is_ok());
            }
            Err(Error::BudgetTooSmall { minimum, .. }) => prop_assert!(budget < minimum),
            Err(e) => prop_assert!(false, "{}", e),
        }
    }

    #[test]
    fn trained_decoder_survives_garbage(which in 0usize..3, bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        let m = Model::parse(&models()[which]).unwrap();
        let mut back = vec![0f32; DIM];
        let _ = decode(&m, &bytes, &mut back);
    }
}

#[test]
fn minimum_budget_is_small_and_all_zero_vector_codes() {
    for bytes in models() {
        let m = Model::parse(bytes).unwrap();
        let min = codec_core::min_budget(&m).unwrap();
        assert!(min <= 4, "minimum budget {min}");
        let mut out = vec![0u8; 16];
        let len = encode(&m, &vec![0f32; DIM], 16, &mut out).unwrap();
        assert!(len <= 16);
    }
}

#[test]
fn training_writes_format_1_with_either_quantiser_and_any_gains() {
    let dir = tempfile::tempdir().unwrap();
    let set = training_set(Kind::A, dir.path());
    for (quantiser, step_growth, gain_coeffs) in [
        (Quantiser::Scalar, 0.5, 0),
        (Quantiser::Trellis, 0.0, 0),
        (Quantiser::Trellis, 0.5, 8),
    ] {
        let tc = TrainConfig {
            prior_rows: 200,
            quantiser,
            step_growth,
            gain_coeffs,
            ..TrainConfig::default()
        };
        let bytes = train(&set, None, &tc).unwrap().model;
        let m = Model::parse(&bytes).unwrap();
        assert_eq!(m.format_version(), 1);
        assert_eq!(m.gain_coeffs(), gain_coeffs);
        assert!(m.step_prediction(16).is_some());
    }
}
