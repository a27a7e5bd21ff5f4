//! Golden files pin the model and stream formats: a silent change to either fails here.
//!
//! - `model-vN.nfcm`: the test model as the writer wrote it when version N was current.
//! - `streams-vN.bin`: codes of that model made when version N was current, at each budget,
//!   with the values they decode to. Decoding is the format: these codes decode to these
//!   values forever.
//! - `encoder.bin`: what the reference encoder makes of the same vectors with each version's
//!   model today. How it chooses a code is not part of the format (`docs/stream-format.md`),
//!   so it may improve: then its output is re-blessed, and the stored streams must still
//!   decode as they did.
//!
//! After an intentional change (a new format version, or a better encoder), regenerate with
//! `NAICFC_BLESS=1 cargo test -p codec-core --test golden` and commit the files: blessing
//! writes the model and streams of the current version only when they are missing, and
//! rewrites `encoder.bin`.

mod common;

use codec_core::internals::ModelInternals;
use codec_core::internals::{FORMAT_VERSION, OLDEST_FORMAT_VERSION, StepGrowth};
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
    let mut v = common::vectors(12345, 6);
    v.push(vec![0.0; 48]);
    v.push(
        (0..48)
            .map(|i| if i % 2 == 0 { 1e6 } else { -1e-30 })
            .collect(),
    );
    v
}

/// Codes of [`vectors`] at each of [`BUDGETS`] (length-prefixed), each followed by the bits of
/// its decoded values.
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

/// The records of [`produce`]'s output: budget, code and decoded values.
fn records(mut bytes: &[u8]) -> Vec<(usize, Vec<u8>, Vec<u32>)> {
    let mut out = Vec::new();
    for _ in vectors() {
        for b in BUDGETS {
            let (&len, rest) = bytes.split_first().expect("truncated streams file");
            let (code, rest) = rest.split_at(usize::from(len));
            let (values, rest) = rest.split_at(48 * 4);
            let values = values
                .chunks_exact(4)
                .map(|v| u32::from_le_bytes(v.try_into().unwrap()))
                .collect();
            out.push((b, code.to_vec(), values));
            bytes = rest;
        }
    }
    assert!(bytes.is_empty(), "streams file longer than its records");
    out
}

/// Compare `bytes` with the golden file `name`; with `NAICFC_BLESS` set, write them instead,
/// when `rewrite` or when the file does not exist yet.
fn check_or_bless(name: &str, bytes: &[u8], rewrite: bool) {
    let path = golden(name);
    if std::env::var_os("NAICFC_BLESS").is_some() && (rewrite || !path.exists()) {
        std::fs::write(&path, bytes).unwrap();
        return;
    }
    let want = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert!(
        want == bytes,
        "{} changed: the format or the reference encoder changed (see this file's header)",
        path.display()
    );
}

/// Each format version's model: whether it has the trellis, its step growth, a
/// length-conditioned step prior and decoder gains (version 1 had no trellis, version 2 no
/// step growth, version 3 no length-conditioned step prior, version 4 no decoder gains).
fn versions() -> [(u16, common::Spec); 5] {
    [
        (1, common::small(false, StepGrowth::default())),
        (2, common::small(true, StepGrowth::default())),
        (3, common::small(true, common::DEFAULT_GROWTH)),
        (
            4,
            common::small(true, common::DEFAULT_GROWTH).with_length_step_prior(),
        ),
        (
            5,
            common::Spec {
                gains: Some((8, 30000)),
                ..common::small(true, common::DEFAULT_GROWTH).with_length_step_prior()
            },
        ),
    ]
}

#[test]
fn model_writer_matches_golden_files() {
    // A model without the newer features is still written in its old version, byte for byte.
    for (version, spec) in versions() {
        check_or_bless(
            &format!("model-v{version}.nfcm"),
            &common::build(&spec),
            false,
        );
    }
}

#[test]
fn stored_streams_still_decode_as_they_did() {
    for (version, _) in versions() {
        let model = std::fs::read(golden(&format!("model-v{version}.nfcm"))).unwrap();
        let m = Model::parse(&model).unwrap();
        let name = format!("streams-v{version}.bin");
        if std::env::var_os("NAICFC_BLESS").is_some() && !golden(&name).exists() {
            std::fs::write(golden(&name), produce(&model)).unwrap();
        }
        let streams = std::fs::read(golden(&name)).unwrap();
        for (budget, code, want) in records(&streams) {
            assert!(code.len() <= budget, "{name}: a code over its budget");
            let mut back = vec![0f32; 48];
            decode(&m, &code, &mut back).unwrap();
            let got: Vec<u32> = back.iter().map(|v| v.to_bits()).collect();
            assert_eq!(got, want, "{name}: {code:02x?} decodes differently");
        }
    }
}

#[test]
fn reference_encoder_matches_golden_codes() {
    let mut all = Vec::new();
    for (version, _) in versions() {
        let model = std::fs::read(golden(&format!("model-v{version}.nfcm"))).unwrap();
        all.extend(produce(&model));
    }
    check_or_bless("encoder.bin", &all, true);
}

#[test]
fn step_growth_needs_version_3() {
    let mut bytes = std::fs::read(golden("model-v2.nfcm")).unwrap();
    bytes[32] = 128;
    let err = Model::parse(&bytes).unwrap_err();
    assert_eq!(err, codec_core::ModelError::GrowthNeedsVersion3);
}

#[test]
fn golden_model_of_this_version_parses() {
    let bytes = std::fs::read(golden(&format!("model-v{FORMAT_VERSION}.nfcm"))).unwrap();
    let m = Model::parse(&bytes).unwrap();
    assert_eq!(m.dim(), 48);
    assert_eq!(m.format_version(), FORMAT_VERSION);
    assert_eq!(m.step_growth(), common::DEFAULT_GROWTH);
    assert_eq!(m.gain_coeffs(), 8);
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
    bytes[23] |= codec_core::internals::FLAG_TRELLIS;
    let err = Model::parse(&bytes).unwrap_err();
    assert_eq!(err, codec_core::ModelError::UnknownFlags);
}
