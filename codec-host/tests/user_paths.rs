//! The command line as a new user meets it (issue 21): what each finding was, checked end to
//! end through the binary.

mod support;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use support::*;

/// Finding 3: `naicfc validate ... | head -1` must not panic when `head` closes the pipe.
#[test]
fn a_closed_pipe_ends_a_command_quietly() {
    let dir = tempfile::tempdir().unwrap();
    let codes = dir.path().join("codes");
    std::fs::create_dir(&codes).unwrap();
    // Far more offender lines than a pipe buffers, so the writer meets the closed pipe.
    for i in 0..3000 {
        std::fs::write(
            codes.join(format!("code_with_a_long_name_{i:05}.dat")),
            [1u8, 2],
        )
        .unwrap();
    }
    let mut child = Command::new(env!("CARGO_BIN_EXE_naicfc"))
        .args(["validate", "--budget", "1", "--in", p(&codes)])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    assert!(first.contains("over the budget"), "{first}");
    let o = child.wait_with_output().unwrap();
    let err = stderr(&o);
    assert!(!err.contains("panicked"), "{err}");
    assert_ne!(o.status.code(), Some(101), "{err}");
}

/// The float32 rows of a `.npy` that `naicfc decode` wrote.
fn read_npy_f32(path: &Path) -> Vec<f32> {
    let bytes = std::fs::read(path).unwrap();
    let header_len = u16::from_le_bytes([bytes[8], bytes[9]]) as usize;
    bytes[10 + header_len..]
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect()
}

/// Finding 1: rows named out of name order come back from `decode` in their input order.
#[test]
fn encode_then_decode_keeps_the_input_order_of_named_rows() {
    let dir = tempfile::tempdir().unwrap();
    let model = small_model(dir.path());
    let input = dir.path().join("named.npy");
    let data = values(5, 16, 7);
    write_npy(&input, &data, 16, false);
    std::fs::write(dir.path().join("named.names.txt"), "e\nc\na\nd\nb\n").unwrap();
    let codes = dir.path().join("codes");
    let rec = dir.path().join("rec.npy");
    ok(&[
        "encode",
        "-m",
        p(&model),
        "-b",
        "64",
        "-i",
        p(&input),
        "-o",
        p(&codes),
    ]);
    ok(&["decode", "-m", p(&model), "-i", p(&codes), "-o", p(&rec)]);
    let names = std::fs::read_to_string(dir.path().join("rec.names.txt")).unwrap();
    assert_eq!(names, "e\nc\na\nd\nb\n");
    let got = read_npy_f32(&rec);
    // Each decoded row is nearest to the input row at its own position.
    for (i, row) in got.chunks_exact(16).enumerate() {
        let dist = |j: usize| -> f32 {
            row.iter()
                .zip(&data[j * 16..(j + 1) * 16])
                .map(|(a, b)| (a - b) * (a - b))
                .sum()
        };
        let nearest = (0..5).min_by(|&a, &b| dist(a).total_cmp(&dist(b))).unwrap();
        assert_eq!(nearest, i, "row {i} of the decoded array");
    }
}

/// Finding 2: an output directory holding files of another run is refused, or cleared with
/// `--overwrite`.
#[test]
fn an_output_directory_with_other_files_is_refused_unless_overwritten() {
    let dir = tempfile::tempdir().unwrap();
    let model = small_model(dir.path());
    let input = dir.path().join("in.npy");
    write_npy(&input, &values(4, 16, 3), 16, false);
    let codes = dir.path().join("codes");
    std::fs::create_dir(&codes).unwrap();
    std::fs::write(codes.join("stale.dat"), [1u8; 8]).unwrap();
    let encode = |extra: &[&str]| {
        let mut args = vec!["encode", "--model", p(&model), "--budget", "32"];
        args.extend_from_slice(&["--in", p(&input), "--out", p(&codes)]);
        args.extend_from_slice(extra);
        naicfc(&args)
    };
    expect(&encode(&[]), 3, &["--out is not empty", "--overwrite"]);
    assert!(codes.join("stale.dat").exists());
    let o = encode(&["--overwrite"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(!codes.join("stale.dat").exists());
    assert_eq!(std::fs::read_dir(&codes).unwrap().count(), 5); // 4 codes + names.txt

    let rec = dir.path().join("rec");
    std::fs::create_dir(&rec).unwrap();
    std::fs::write(rec.join("old.dat"), [0u8; 64]).unwrap();
    let decode = |extra: &[&str]| {
        let mut args = vec!["decode", "--model", p(&model), "--in", p(&codes)];
        args.extend_from_slice(&["--out", p(&rec)]);
        args.extend_from_slice(extra);
        naicfc(&args)
    };
    expect(&decode(&[]), 3, &["--out is not empty"]);
    assert!(decode(&["--overwrite"]).status.success());
    assert!(!rec.join("old.dat").exists());
}

/// Finding 7: numpy's default dtype is read (converted to float32, with a note).
#[test]
fn a_float64_npy_is_encoded_like_its_float32_copy() {
    let dir = tempfile::tempdir().unwrap();
    let model = small_model(dir.path());
    let data = values(6, 16, 11);
    let (a, b) = (dir.path().join("a.npy"), dir.path().join("b.npy"));
    write_npy(&a, &data, 16, false);
    write_npy(&b, &data, 16, true);
    let (ca, cb) = (dir.path().join("ca"), dir.path().join("cb"));
    ok(&[
        "encode",
        "--model",
        p(&model),
        "--budget",
        "32",
        "--in",
        p(&a),
        "--out",
        p(&ca),
    ]);
    let o = ok(&[
        "encode",
        "--model",
        p(&model),
        "--budget",
        "32",
        "--in",
        p(&b),
        "--out",
        p(&cb),
    ]);
    assert!(
        stderr(&o).contains("float64 values are converted to float32"),
        "{}",
        stderr(&o)
    );
    for i in 0..6 {
        let name = format!("{i}.dat");
        assert_eq!(
            std::fs::read(ca.join(&name)).unwrap(),
            std::fs::read(cb.join(&name)).unwrap()
        );
    }
}

/// `naicfc encode` of `input` with `model` at `budget` (or `--scalable`) into `out`.
fn encode(model: &Path, input: &Path, out: &Path, budget: Option<&str>) {
    let mut args = vec!["encode", "-m", p(model), "-i", p(input), "-o", p(out)];
    match budget {
        Some(b) => args.extend_from_slice(&["-b", b]),
        None => args.push("--scalable"),
    }
    ok(&args);
}

/// Finding 5: codes of another model, or prefixes of scalable codes decoded as plain codes,
/// are one error that says what they look like, not a quiet success.
#[test]
fn codes_of_another_model_or_kind_are_refused_with_a_hint() {
    let dir = tempfile::tempdir().unwrap();
    let small = small_model(dir.path());
    let wide_train = dir.path().join("wide.npy");
    write_npy(&wide_train, &values(200, 64, 2), 64, false);
    let wide = dir.path().join("wide.nfcm");
    ok(&["train", "-i", p(&wide_train), "-o", p(&wide)]);

    let input = dir.path().join("w.npy");
    write_npy(&input, &values(40, 64, 5), 64, false);
    let codes = dir.path().join("codes");
    encode(&wide, &input, &codes, Some("64"));
    let o = naicfc(&[
        "decode",
        "-m",
        p(&small),
        "-i",
        p(&codes),
        "-o",
        p(&dir.path().join("r.npy")),
    ]);
    expect(&o, 3, &["do not decode with this model", "another model"]);
    assert!(!dir.path().join("r.npy").exists());

    let input = dir.path().join("s.npy");
    write_npy(&input, &values(40, 16, 6), 16, false);
    let scalable = dir.path().join("scalable");
    encode(&small, &input, &scalable, None);
    // Cut every code to its first layer, as a stream would be truncated.
    for e in std::fs::read_dir(&scalable).unwrap() {
        let path = e.unwrap().path();
        if path.extension().is_some_and(|x| x == "dat") {
            let bytes = std::fs::read(&path).unwrap();
            std::fs::write(&path, &bytes[..32.min(bytes.len())]).unwrap();
        }
    }
    let out = dir.path().join("s_rec.npy");
    let o = naicfc(&["decode", "-m", p(&small), "-i", p(&scalable), "-o", p(&out)]);
    expect(&o, 3, &["add --scalable"]);
    ok(&[
        "decode",
        "-m",
        p(&small),
        "-i",
        p(&scalable),
        "-o",
        p(&out),
        "--scalable",
    ]);
}

/// `naicfc info` and its JSON.
#[test]
fn info_describes_a_model() {
    let dir = tempfile::tempdir().unwrap();
    let model = small_model(dir.path());
    let o = ok(&["info", p(&model), "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["dim"], 16);
    assert_eq!(v["bytes"], std::fs::metadata(&model).unwrap().len());
    // The first 128 bits of the SHA-256 of the file, as hex (the same as Python's).
    assert_eq!(v["fingerprint"].as_str().unwrap().len(), 32);
    let text = String::from_utf8(ok(&["info", p(&model)]).stdout).unwrap();
    assert!(text.contains("dimension     16"), "{text}");
}

/// Finding 6: `eval --test` on features without identities: dr and the bound, no NaN.
#[test]
fn eval_of_unlabelled_features_has_no_nan() {
    let dir = tempfile::tempdir().unwrap();
    let model = small_model(dir.path());
    let test = dir.path().join("t.npy");
    write_npy(&test, &values(50, 16, 8), 16, false);
    let train = dir.path().join("train.npy");
    let o = ok(&[
        "eval",
        "-m",
        p(&model),
        "--test",
        p(&test),
        "--train",
        p(&train),
        "-b",
        "32,64",
    ]);
    let table = String::from_utf8(o.stdout).unwrap();
    assert!(!table.contains("NaN"), "{table}");
    assert!(!table.contains("ACC_reid"), "{table}");
    assert!(table.contains("50 vectors, 16-d"), "{table}");
    let o = ok(&["eval", "-m", p(&model), "--test", p(&test), "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["rates"].as_array().unwrap().len(), 5);
    let help = String::from_utf8(ok(&["eval", "--help"]).stdout).unwrap();
    for col in ["ratio", "retain", "bound", "rel.err"] {
        assert!(
            help.contains(&format!("  {col} ")),
            "{col} not explained: {help}"
        );
    }
}

/// Finding 10: one grammar. Every subcommand's help has an example and no rustdoc link
/// syntax; short flags and `-` for standard output work; a missing input names both inputs.
#[test]
fn every_subcommand_speaks_one_grammar() {
    let subcommands = [
        "synth", "reid", "score", "train", "encode", "decode", "validate", "eval", "bench",
        "stats", "pack", "demo", "export-c", "info",
    ];
    for sub in subcommands {
        let help = String::from_utf8(ok(&[sub, "--help"]).stdout).unwrap();
        assert!(help.contains("Example"), "{sub}: no example");
        assert!(!help.contains("[`"), "{sub}: rustdoc syntax in help");
        assert!(help.contains("-q, --quiet"), "{sub}: no --quiet");
        assert!(help.contains("-j, --threads"), "{sub}: no --threads");
    }
    let train_help = String::from_utf8(ok(&["train", "--help"]).stdout).unwrap();
    assert!(train_help.contains("Advanced:"), "{train_help}");

    let dir = tempfile::tempdir().unwrap();
    let o = naicfc(&["train", "-o", p(&dir.path().join("m.nfcm"))]);
    expect(&o, 2, &["--data", "--in"]);

    let model = small_model(dir.path());
    let o = ok(&["export-c", "-m", p(&model), "-o", "-"]);
    assert!(
        String::from_utf8(o.stdout)
            .unwrap()
            .contains("#define NAICFC_MODEL_DATA_LEN")
    );
    assert!(!dir.path().join("-").exists());
    let o = ok(&["-q", "-j", "1", "info", p(&model)]);
    assert!(o.stderr.is_empty(), "{}", stderr(&o));

    // Reporting commands speak JSON on stdout; --quiet leaves stderr empty.
    let input = dir.path().join("in.npy");
    write_npy(&input, &values(4, 16, 9), 16, false);
    let codes = dir.path().join("codes");
    let o = ok(&[
        "-q",
        "encode",
        "-m",
        p(&model),
        "-b",
        "32",
        "-i",
        p(&input),
        "-o",
        p(&codes),
        "--json",
    ]);
    assert!(o.stderr.is_empty(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["written"], 4);
    let rec = dir.path().join("rec.npy");
    let o = ok(&[
        "decode",
        "-m",
        p(&model),
        "-i",
        p(&codes),
        "-o",
        p(&rec),
        "--json",
    ]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        (v["written"].as_u64(), v["dim"].as_u64()),
        (Some(4), Some(16))
    );
    let o = ok(&["validate", "-b", "32", "-i", p(&codes), "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["files"], 4);
    assert_eq!(v["offenders"].as_array().unwrap().len(), 0);
}

/// Finding 8: Ctrl-C ends a run with a message and status 130.
#[cfg(unix)]
#[test]
fn ctrl_c_ends_a_run_with_a_message() {
    let dir = tempfile::tempdir().unwrap();
    let model = small_model(dir.path());
    let input = dir.path().join("in.npy");
    write_npy(&input, &values(50, 16, 4), 16, false);
    let child = Command::new(env!("CARGO_BIN_EXE_naicfc"))
        .args(["bench", "-m", p(&model), "-i", p(&input), "--seconds", "30"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1500));
    // SAFETY: sends a signal to the child we started.
    let sent = unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGINT) };
    assert_eq!(sent, 0);
    let o = child.wait_with_output().unwrap();
    expect(&o, 130, &["naicfc: interrupted"]);
}
