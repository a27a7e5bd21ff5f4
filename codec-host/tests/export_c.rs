//! `naicfc export-c` through the real binary: the header holds the model byte for byte, and
//! bad arguments or models fail without touching an existing output.

use std::path::Path;
use std::process::{Command, Output};

fn naicfc(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_naicfc"))
        .args(args)
        .output()
        .expect("run naicfc")
}

fn ok(args: &[&str]) {
    let out = naicfc(args);
    assert!(
        out.status.success(),
        "naicfc {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// The bytes of the array in an exported header.
fn array_bytes(header: &str) -> Vec<u8> {
    let body = &header[header.find("= {").unwrap() + 3..header.rfind("};").unwrap()];
    body.split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(|t| u8::from_str_radix(t.trim_start_matches("0x"), 16).unwrap())
        .collect()
}

#[test]
fn export_c_writes_the_model_as_an_aligned_array_and_fails_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let model = dir.path().join("m.nfcm");
    ok(&[
        "synth",
        "--out",
        s(&data),
        "--dim",
        "128",
        "--identities",
        "40",
        "--images-per-identity",
        "5",
        "--test-identities",
        "2",
        "--queries",
        "2",
        "--gallery",
        "4",
    ]);
    ok(&["train", "--data", s(&data), "--out", s(&model)]);
    let model_bytes = std::fs::read(&model).unwrap();

    let header = dir.path().join("inc").join("fw_model.h");
    std::fs::create_dir_all(header.parent().unwrap()).unwrap();
    ok(&[
        "export-c",
        "--model",
        s(&model),
        "--out",
        s(&header),
        "--name",
        "fw_model",
    ]);
    let text = std::fs::read_to_string(&header).unwrap();
    assert_eq!(array_bytes(&text), model_bytes);
    assert!(text.contains(&format!("#define FW_MODEL_LEN {}u", model_bytes.len())));
    assert!(text.contains("FW_MODEL_ALIGN static const uint8_t fw_model[FW_MODEL_LEN]"));
    assert!(text.contains("aligned(8)") && text.contains("_Alignas(8)"));
    assert!(text.contains("dimension 128"));

    // Failures exit with status 3 and leave the existing header as it was, with no
    // temporary file behind.
    let corrupt = dir.path().join("corrupt.nfcm");
    let mut bad = model_bytes.clone();
    let mid = bad.len() / 2;
    bad[mid] ^= 1;
    std::fs::write(&corrupt, &bad).unwrap();
    // A name that cannot be used is a wrong command line (2); a model that cannot be, a
    // failure (3). Either way the header already there is kept.
    let name = |n: &'static str| {
        vec![
            "export-c",
            "--model",
            s(&model),
            "--out",
            s(&header),
            "--name",
            n,
        ]
    };
    for (args, status) in [
        (
            vec!["export-c", "--model", s(&corrupt), "--out", s(&header)],
            3,
        ),
        (name("2bad"), 2),
        (name("static"), 2),
        (name("naicfc"), 2),
        (name("naicfc_model"), 2),
        (
            vec![
                "export-c",
                "--model",
                "/nonexistent/m.nfcm",
                "--out",
                s(&header),
            ],
            3,
        ),
    ] {
        let out = naicfc(&args);
        assert_eq!(out.status.code(), Some(status), "{args:?}");
        assert_eq!(std::fs::read_to_string(&header).unwrap(), text, "{args:?}");
    }
    let leftovers: Vec<_> = std::fs::read_dir(header.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(leftovers, vec![std::ffi::OsString::from("fw_model.h")]);

    // The default name.
    let default = dir.path().join("naicfc_model.h");
    ok(&["export-c", "--model", s(&model), "--out", s(&default)]);
    let text = std::fs::read_to_string(&default).unwrap();
    assert!(text.contains("static const uint8_t naicfc_model_data[NAICFC_MODEL_DATA_LEN]"));
}
