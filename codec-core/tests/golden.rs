//! Golden files pin the model and stream formats: a silent change to either fails here.
//!
//! After an intentional format change (with a new format version), regenerate with
//! `NAICFC_BLESS=1 cargo test -p codec-core --test golden` and commit the files.

mod common;

use codec_core::model::{FORMAT_VERSION, OLDEST_FORMAT_VERSION, StepGrowth};
use codec_core::{Model, decode, encode};
use std::path::PathBuf;

const BUDGETS: [usize; 4] = [3, 16, 32, 64];

fn golden(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name)
}

fn vectors() -> Vec<Vec<f32>> {
    // Deterministic, covering zeros, small, large and mixed-sign values.
    let mut s = 12345u32;
    let mut next = || {
        s = s.wrapping_mul(1_103_515_245).wrapping_add(12345);
        ((s >> 8) as f32 / (1u32 << 24) as f32 - 0.5) * 4.0
    };
    let mut v: Vec<Vec<f32>> = (0..6).map(|_| (0..48).map(|_| next()).collect()).collect();
    v.push(vec![0.0; 48]);
    v.push(
        (0..48)
            .map(|i| if i % 2 == 0 { 1e6 } else { -1e-30 })
            .collect(),
    );
    v
}

/// Everything the format determines, serialised: codes (length-prefixed) and decoded bits.
fn produce(model_bytes: &[u8]) -> Vec<u8> {
    let m = Model::parse(model_bytes).unwrap();
    let mut out = Vec::new();
    for x in vectors() {
        for b in BUDGETS {
            let mut code = vec![0u8; b];
            let len = encode(&m, &x, b, &mut code).unwrap();
            out.push(len as u8);
            out.extend_from_slice(&code[..len]);
            let mut back = vec![0f32; 48];
            decode(&m, &code[..len], &mut back).unwrap();
            for v in back {
                out.extend_from_slice(&v.to_bits().to_le_bytes());
            }
        }
    }
    out
}

fn check_or_bless(name: &str, bytes: &[u8]) {
    let path = golden(name);
    if std::env::var_os("NAICFC_BLESS").is_some() {
        std::fs::write(&path, bytes).unwrap();
        return;
    }
    let want = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert!(
        want == bytes,
        "{} changed: the format changed without a new format version (see this file's header)",
        path.display()
    );
}

fn spec(trellis: bool, growth: StepGrowth) -> common::Spec {
    common::Spec {
        dim: 48,
        active: 16,
        shift: 12,
        trellis,
        growth,
    }
}

/// The step growth `naicfc train` gives its models by default.
const GROWTH: StepGrowth = StepGrowth {
    slope: 128,
    threshold: 0,
};

#[test]
fn model_writer_and_streams_match_golden_files() {
    let model = common::build(&spec(true, GROWTH));
    check_or_bless(&format!("model-v{FORMAT_VERSION}.nfcm"), &model);
    check_or_bless(&format!("streams-v{FORMAT_VERSION}.bin"), &produce(&model));
}

#[test]
fn version_1_models_still_code_as_they_did() {
    // Version 1 had no trellis: its golden model must parse, and encoding and decoding with
    // it must give the same bytes and values as when version 1 was current.
    let v1 = std::fs::read(golden("model-v1.nfcm")).unwrap();
    let streams = std::fs::read(golden("streams-v1.bin")).unwrap();
    assert_eq!(produce(&v1), streams);
    // A one-quantiser model is still written as version 1, byte for byte.
    assert_eq!(common::build(&spec(false, StepGrowth::default())), v1);
}

#[test]
fn version_2_models_still_code_as_they_did() {
    // Version 2 had no step growth: the same guarantees as for version 1.
    let v2 = std::fs::read(golden("model-v2.nfcm")).unwrap();
    let streams = std::fs::read(golden("streams-v2.bin")).unwrap();
    assert_eq!(produce(&v2), streams);
    assert_eq!(common::build(&spec(true, StepGrowth::default())), v2);
}

#[test]
fn step_growth_needs_version_3() {
    let mut bytes = std::fs::read(golden("model-v2.nfcm")).unwrap();
    bytes[32] = 128;
    let err = Model::parse(&bytes).unwrap_err();
    assert_eq!(
        err,
        codec_core::Error::ModelInvalid("step growth needs format version 3")
    );
}

#[test]
fn golden_model_of_this_version_parses() {
    let bytes = std::fs::read(golden(&format!("model-v{FORMAT_VERSION}.nfcm"))).unwrap();
    let m = Model::parse(&bytes).unwrap();
    assert_eq!(m.dim(), 48);
    assert_eq!(m.format_version(), FORMAT_VERSION);
    assert_eq!(m.step_growth(), GROWTH);
}

#[test]
fn other_versions_are_rejected_naming_them() {
    for version in [0, FORMAT_VERSION + 1] {
        let mut bytes = std::fs::read(golden(&format!("model-v{FORMAT_VERSION}.nfcm"))).unwrap();
        bytes[4..6].copy_from_slice(&version.to_le_bytes());
        let text = Model::parse(&bytes).unwrap_err().to_string();
        assert!(
            text.contains(&format!("version {version} "))
                && text.contains(&format!("{OLDEST_FORMAT_VERSION} to {FORMAT_VERSION}")),
            "{text}"
        );
    }
}

#[test]
fn the_trellis_flag_needs_version_2() {
    let mut bytes = std::fs::read(golden("model-v1.nfcm")).unwrap();
    bytes[23] |= codec_core::model::FLAG_TRELLIS;
    let err = Model::parse(&bytes).unwrap_err();
    assert_eq!(err, codec_core::Error::ModelInvalid("unknown flags"));
}
