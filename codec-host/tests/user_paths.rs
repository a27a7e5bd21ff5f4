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
    assert_eq!(std::fs::read_dir(&codes).unwrap().count(), 6); // 4 codes, names.txt, codes.id

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
    let rec = dir.path().join("r.npy");
    let decode_small = |codes: &Path, extra: &[&str]| {
        let mut args = vec!["decode", "-m", p(&small), "-i", p(codes), "-o", p(&rec)];
        args.extend_from_slice(extra);
        naicfc(&args)
    };
    // The directory's identity file names the model: a certain refusal, naming both.
    let o = decode_small(&codes, &[]);
    expect(
        &o,
        3,
        &["made with the model of fingerprint", "wrong vectors"],
    );
    assert!(!dir.path().join("r.npy").exists());
    // Plain codes are not read as scalable ones either.
    let o = naicfc(&[
        "decode",
        "-m",
        p(&wide),
        "-i",
        p(&codes),
        "-o",
        p(&dir.path().join("w_rec.npy")),
        "--scalable",
    ]);
    expect(&o, 3, &["not scalable ones: drop --scalable"]);
    // Codes copied without it: the bulk check still catches this mix-up.
    std::fs::remove_file(codes.join("codes.id")).unwrap();
    let o = decode_small(&codes, &[]);
    expect(&o, 3, &["do not decode with this model", "another model"]);
    assert!(!dir.path().join("r.npy").exists());

    let input = dir.path().join("s.npy");
    write_npy(&input, &values(40, 16, 6), 16, false);
    let scalable = dir.path().join("scalable");
    encode(&small, &input, &scalable, None);
    // The identity file says the codes are scalable: no flag needed.
    ok(&[
        "decode",
        "-m",
        p(&small),
        "-i",
        p(&scalable),
        "-o",
        p(&dir.path().join("s_whole.npy")),
    ]);
    std::fs::remove_file(scalable.join("codes.id")).unwrap();
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
    let mut subcommands = vec![
        "synth", "reid", "score", "train", "encode", "decode", "validate", "eval", "bench",
        "stats", "pack", "demo", "export-c", "info", "index",
    ];
    // `extract` is built only with the default feature.
    if cfg!(feature = "extract") {
        subcommands.push("extract");
    }
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

/// `rows` 16-d vectors as `.dat` files in `dir`, and one file of another size that every
/// reading command rejects.
fn dat_dir_with_a_bad_file(dir: &Path, rows: usize) {
    std::fs::create_dir(dir).unwrap();
    for (i, row) in values(rows, 16, 21).chunks_exact(16).enumerate() {
        let bytes: Vec<u8> = row.iter().flat_map(|v| v.to_le_bytes()).collect();
        std::fs::write(dir.join(format!("{i:04}.dat")), bytes).unwrap();
    }
    std::fs::write(dir.join("bad.dat"), [0u8; 10]).unwrap();
}

/// Finding 10: `-` is standard output only where one file is written; where a command writes
/// a directory or a file set, `-` is refused before any work, and no file named `-` appears.
#[test]
fn standard_output_is_refused_where_more_than_one_file_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let model = small_model(dir.path());
    let input = dir.path().join("in.npy");
    write_npy(&input, &values(20, 16, 5), 16, false);
    let codes = dir.path().join("codes.nfcc");
    encode(&model, &input, &codes, Some("32"));
    let (m, i, c) = (p(&model), p(&input), p(&codes));
    let runs: [&[&str]; 6] = [
        &["index", "--gallery", c, "-m", m, "-o", "-"],
        &["synth", "-o", "-"],
        &["eval", "-m", m, "--test", i, "--report", "-"],
        &["pack", "-i", i, "-o", "-"],
        &["demo", "-o", "-"],
        &["decode", "-m", m, "-i", c, "-o", "-"],
    ];
    for args in runs {
        let o = support::naicfc_in(dir.path(), args);
        expect(&o, 3, &["cannot go to standard output"]);
        assert!(o.stdout.is_empty(), "{args:?}");
        assert!(!dir.path().join("-").exists(), "{args:?} made a `-`");
    }
}

/// Finding 2, for `eval --report`: a directory holding other files is refused, or its old
/// report deleted first with `--overwrite`.
#[test]
fn an_eval_report_directory_with_other_files_is_refused_unless_overwritten() {
    let dir = tempfile::tempdir().unwrap();
    let model = small_model(dir.path());
    let test = dir.path().join("t.npy");
    write_npy(&test, &values(30, 16, 8), 16, false);
    let report = dir.path().join("report");
    std::fs::create_dir(&report).unwrap();
    std::fs::write(report.join("notes.md"), "mine").unwrap();
    let eval = |extra: &[&str]| {
        let mut args = vec!["eval", "-m", p(&model), "--test", p(&test), "-b", "32"];
        args.extend_from_slice(&["--report", p(&report)]);
        args.extend_from_slice(extra);
        naicfc(&args)
    };
    let o = eval(&[]);
    expect(&o, 3, &["--report is not empty", "--overwrite"]);
    assert!(o.stdout.is_empty(), "refused before the sweep");
    assert!(!report.join("report.json").exists());
    let o = eval(&["--overwrite"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(report.join("report.json").exists());
    assert_eq!(
        std::fs::read_to_string(report.join("notes.md")).unwrap(),
        "mine"
    );
}

/// Finding 10: `--strict` on the commands that read features in one go (stats, eval, bench):
/// without it a bad file is reported and the status is 1, with it the run stops (status 3).
#[test]
fn strict_stops_stats_eval_and_bench_at_a_bad_file() {
    let dir = tempfile::tempdir().unwrap();
    let model = small_model(dir.path());
    let feats = dir.path().join("feats");
    dat_dir_with_a_bad_file(&feats, 12);
    let (m, f) = (p(&model), p(&feats));
    let runs: [&[&str]; 3] = [
        &["stats", "-i", f],
        &["eval", "-m", m, "--test", f, "-b", "32"],
        &["bench", "-m", m, "-i", f, "-b", "32", "--seconds", "0.01"],
    ];
    for args in runs {
        expect(&naicfc(args), 1, &["bad.dat"]);
        let mut strict = args.to_vec();
        strict.push("--strict");
        let o = naicfc(&strict);
        expect(&o, 3, &["bad.dat"]);
        assert!(o.stdout.is_empty(), "{args:?}: stopped before reporting");
    }
}

/// Finding 10: `naicfc demo --json` is documented in its help (the run itself is checked by
/// the unit test beside it: the full demo takes minutes in a test build).
#[test]
fn demo_speaks_json() {
    let help = String::from_utf8(ok(&["demo", "--help"]).stdout).unwrap();
    assert!(help.contains("--json"), "{help}");
}

/// Finding 10: one value name for `--in`, `--labels` refers to it, research knobs under
/// "Advanced", and every default a flag has is said in its help.
#[test]
fn help_names_inputs_alike_and_says_the_defaults() {
    for sub in [
        "encode", "decode", "validate", "pack", "train", "bench", "stats",
    ] {
        let help = String::from_utf8(ok(&[sub, "--help"]).stdout).unwrap();
        assert!(help.contains("--in <INPUT>"), "{sub}: {help}");
    }
    let train = String::from_utf8(ok(&["train", "--help"]).stdout).unwrap();
    assert!(train.contains("Identity list for --in"), "{train}");
    assert!(!train.contains("for --features"), "{train}");
    let advanced = &train[train.find("Advanced:").expect("an Advanced heading")..];
    for knob in [
        "--step-growth",
        "--no-clamp",
        "--gain-coeffs",
        "--spread-exponent",
        "--centroid-weight",
        "--reid-weight",
        "--trellis-lambda",
    ] {
        assert!(
            advanced.contains(knob),
            "{knob} not under Advanced: {train}"
        );
    }
    // The text up to the next flag.
    let dim = train.split("--dim <DIM>").nth(1).unwrap();
    let dim = dim.split("\n      --").next().unwrap();
    assert!(dim.contains("when omitted"), "{dim}");
    let synth = String::from_utf8(ok(&["synth", "--help"]).stdout).unwrap();
    assert_eq!(
        synth.matches("(default: from --scale)").count(),
        6,
        "{synth}"
    );
    if cfg!(feature = "extract") {
        let extract = String::from_utf8(ok(&["extract", "--help"]).stdout).unwrap();
        assert!(extract.contains("--in"), "{extract}");
    }
}
