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
fn older_versions_still_code_as_they_did() {
    // Version 1 had no trellis, version 2 no step growth: each golden model must parse,
    // encoding and decoding with it must give the same bytes and values as when its version was
    // current, and a model without the newer features is still written in that version, byte
    // for byte.
    for (version, trellis) in [(1, false), (2, true)] {
        let model = std::fs::read(golden(&format!("model-v{version}.nfcm"))).unwrap();
        let streams = std::fs::read(golden(&format!("streams-v{version}.bin"))).unwrap();
        assert_eq!(produce(&model), streams, "version {version}");
        assert_eq!(
            common::build(&spec(trellis, StepGrowth::default())),
            model,
            "version {version}"
        );
    }
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
