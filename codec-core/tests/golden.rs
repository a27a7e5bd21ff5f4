//! Golden files pin the model and stream formats: a silent change to either fails here.
//!
//! - `model-v1.nfcm`, `model-v1-scalar.nfcm`: the test models (trellis with every default
//!   feature; one dead-zone quantiser) as the writer writes them in format version 1.
//! - `streams-v1*.bin`: codes of those models at each budget, with the values they decode
//!   to. Decoding is the format: these codes decode to these values forever.
//!   (`streams-v1.bin` was written by an earlier encoder; the stored codes must still decode
//!   to the stored values, whatever the encoder makes today.)
//! - `encoder.bin`: what the reference encoder makes of the same vectors with each model
//!   today. How it chooses a code is not part of the format (`docs/stream-format.md`),
//!   so it may improve: then its output is re-blessed, and the stored streams must still
//!   decode as they did.
//!
//! After an intentional change (a new format version, or a better encoder), regenerate with
//! `NAICFC_BLESS=1 cargo test -p codec-core --test golden` and commit the files: blessing
//! writes the models and streams only when they are missing, and
//! rewrites `encoder.bin`.

mod common;

use codec_core::internals::ModelInternals;
use codec_core::internals::{FORMAT_VERSION, StepGrowth};
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

/// The models the golden files hold, by name: the trellis model with the default features
/// (low-rate step growth, the length step prior, decoder gains) and the one-quantiser model
/// without growth or gains, the two kinds `naicfc train` makes.
fn models() -> [(&'static str, common::Spec); 2] {
    [
        (
            "v1",
            common::Spec {
                gains: Some((8, 30000)),
                ..common::small(true, common::DEFAULT_GROWTH)
            },
        ),
        ("v1-scalar", common::small(false, StepGrowth::default())),
    ]
}

#[test]
fn model_writer_matches_golden_files() {
    for (name, spec) in models() {
        check_or_bless(&format!("model-{name}.nfcm"), &common::build(&spec), false);
    }
}

#[test]
fn stored_streams_still_decode_as_they_did() {
    for (name, _) in models() {
        let model = std::fs::read(golden(&format!("model-{name}.nfcm"))).unwrap();
        let m = Model::parse(&model).unwrap();
        let name = format!("streams-{name}.bin");
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
    for (name, _) in models() {
        let model = std::fs::read(golden(&format!("model-{name}.nfcm"))).unwrap();
        all.extend(produce(&model));
    }
    check_or_bless("encoder.bin", &all, true);
}

#[test]
fn golden_model_of_this_version_parses() {
    let bytes = std::fs::read(golden("model-v1.nfcm")).unwrap();
    let m = Model::parse(&bytes).unwrap();
    assert_eq!(m.dim(), 48);
    assert_eq!(m.format_version(), FORMAT_VERSION);
    assert!(m.trellis());
    assert_eq!(m.step_growth(), common::DEFAULT_GROWTH);
    assert_eq!(m.gain_coeffs(), 8);
    let scalar = std::fs::read(golden("model-v1-scalar.nfcm")).unwrap();
    let s = Model::parse(&scalar).unwrap();
    assert!(!s.trellis());
    assert_eq!(s.gain_coeffs(), 0);
}

#[test]
fn other_versions_are_rejected_naming_them() {
    // Only version 1 is read: 2 to 5 were never released, and a reader must not guess.
    for version in [0, 2, 5, FORMAT_VERSION + 1] {
        let mut bytes = std::fs::read(golden("model-v1.nfcm")).unwrap();
        bytes[4..6].copy_from_slice(&version.to_le_bytes());
        let err = Model::parse(&bytes).unwrap_err();
        assert_eq!(
            err,
            codec_core::ModelError::UnsupportedVersion {
                found: version,
                supported: FORMAT_VERSION,
            }
        );
        let text = err.to_string();
        assert!(
            text.contains(&format!("version {version} ")) && text.contains("reads version 1"),
            "{text}"
        );
    }
}

#[test]
fn flags_other_than_clamp_and_trellis_are_refused() {
    for bit in 2..8 {
        let mut bytes = std::fs::read(golden("model-v1.nfcm")).unwrap();
        bytes[23] |= 1 << bit;
        let err = Model::parse(&bytes).unwrap_err();
        assert_eq!(err, codec_core::ModelError::UnknownFlags);
    }
}
