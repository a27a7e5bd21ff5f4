//! The rest of a new user's findings (issue 21): one meaning per flag, `--quiet` that is quiet,
//! and messages that say what is wrong with an input. Checked end to end through the binary.

mod support;

use support::*;

/// `info` takes its model as the other commands do (`-m/--model`) as well as positionally.
#[test]
fn info_takes_the_model_as_other_commands_do() {
    let dir = tempfile::tempdir().unwrap();
    let model = small_model(dir.path());
    let positional = ok(&["info", p(&model), "--json"]).stdout;
    assert_eq!(ok(&["info", "-m", p(&model), "--json"]).stdout, positional);
    assert_eq!(
        ok(&["info", "--model", p(&model), "--json"]).stdout,
        positional
    );
    expect(&naicfc(&["info"]), 2, &["MODEL"]);
    expect(
        &naicfc(&["info", p(&model), "-m", p(&model)]),
        2,
        &["cannot be used with"],
    );
}

/// `-b` is `--budget` in every command; where a command measures several budgets it takes a
/// comma-separated list (and still answers to `--budgets`).
#[test]
fn b_means_budget_everywhere() {
    for sub in ["encode", "validate", "reid", "eval", "bench", "train"] {
        let help = String::from_utf8(ok(&[sub, "--help"]).stdout).unwrap();
        assert!(help.contains("-b, --budget <"), "{sub}: {help}");
    }
    let dir = tempfile::tempdir().unwrap();
    let train = dir.path().join("train.npy");
    write_npy(&train, &values(200, 16, 1), 16, false);
    let model = dir.path().join("m.nfcm");
    ok(&[
        "-q",
        "train",
        "-i",
        p(&train),
        "-o",
        p(&model),
        "--budget",
        "24,48",
    ]);
    let info = ok(&["info", p(&model), "--json"]).stdout;
    let v: serde_json::Value = serde_json::from_slice(&info).unwrap();
    assert_eq!(v["budgets"], serde_json::json!([24, 48]));
    ok(&[
        "-q",
        "train",
        "-i",
        p(&train),
        "-o",
        p(&model),
        "--budgets",
        "32",
    ]);
}

/// `--quiet` leaves only errors and rejected inputs: no training summary, no float64 note.
#[test]
fn quiet_silences_the_train_summary_and_the_float64_note() {
    let dir = tempfile::tempdir().unwrap();
    let train = dir.path().join("t64.npy");
    write_npy(&train, &values(200, 16, 3), 16, true);
    let model = dir.path().join("m.nfcm");
    let loud = ok(&["train", "-i", p(&train), "-o", p(&model)]);
    let said = stderr(&loud);
    for line in [
        "float64",
        "naicfc train:",
        "covariance:",
        "quantiser:",
        "model format",
    ] {
        assert!(said.contains(line), "{line}: {said}");
    }
    for args in [
        vec!["-q", "train", "-i", p(&train), "-o", p(&model)],
        vec!["-q", "stats", "-i", p(&train)],
        vec!["train", "-i", p(&train), "-o", p(&model), "--quiet"],
    ] {
        let o = ok(&args);
        assert!(o.stderr.is_empty(), "{args:?}: {}", stderr(&o));
    }
}

/// An empty `.npy` is refused as an empty directory is, by every command that reads features,
/// and nothing is created.
#[test]
fn an_empty_npy_is_refused_and_nothing_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let model = small_model(dir.path());
    let empty = dir.path().join("empty.npy");
    write_npy(&empty, &[], 16, false);
    let out = dir.path().join("codes");
    let o = naicfc(&[
        "encode",
        "-m",
        p(&model),
        "-b",
        "32",
        "-i",
        p(&empty),
        "-o",
        p(&out),
    ]);
    expect(&o, 3, &["empty.npy: the array has no rows"]);
    assert!(!out.exists());
    let packed = dir.path().join("packed.npy");
    let o = naicfc(&["pack", "-i", p(&empty), "-o", p(&packed)]);
    expect(&o, 3, &["empty.npy: the array has no rows"]);
    assert!(!packed.exists());
    expect(&naicfc(&["stats", "-i", p(&empty)]), 3, &["no rows"]);
}

/// `rows` vectors of `dim` values with a decaying spectrum, like features (dim `i` has
/// variance about `1 / (1 + i)`).
fn decaying(rows: usize, dim: usize, seed: u32) -> Vec<f32> {
    values(rows, dim, seed)
        .iter()
        .enumerate()
        .map(|(i, v)| v * 1.7 / (1.0 + (i % dim) as f32).sqrt())
        .collect()
}

/// Full-length scalable codes decoded without `--scalable`: those that also decode as plain
/// codes (to other values) are recognised and refused with the flag to add, not decoded
/// into wrong vectors with exit 0.
#[test]
fn scalable_codes_decoded_as_plain_ones_are_recognised() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("f.npy");
    write_npy(&input, &decaying(300, 256, 11), 256, false);
    let model = dir.path().join("m.nfcm");
    ok(&["-q", "train", "-i", p(&input), "-o", p(&model)]);
    let scalable = dir.path().join("scalable");
    ok(&[
        "-q",
        "encode",
        "-m",
        p(&model),
        "--scalable",
        "-i",
        p(&input),
        "-o",
        p(&scalable),
    ]);

    // Keep only the codes that also pass as plain ones: alone, they used to decode quietly.
    let file = codec_host::codec::ModelFile::read(&model).unwrap();
    let m = file.model();
    let mut out = vec![0f32; m.dim()];
    let mut kept = 0;
    for e in std::fs::read_dir(&scalable).unwrap() {
        let path = e.unwrap().path();
        if path.extension().is_none_or(|x| x != "dat") {
            continue;
        }
        let code = std::fs::read(&path).unwrap();
        if codec_core::decode(&m, &code, &mut out).is_ok() {
            kept += 1;
        } else {
            std::fs::remove_file(&path).unwrap();
        }
    }
    assert!(kept > 0, "no scalable code decodes as a plain one");
    // With the identity file `encode` wrote beside them, decode knows they are scalable.
    let known = dir.path().join("known.npy");
    ok(&[
        "decode",
        "-m",
        p(&model),
        "-i",
        p(&scalable),
        "-o",
        p(&known),
    ]);
    // Copied by hand without it, the bulk check has to recognise them.
    std::fs::remove_file(scalable.join("codes.id")).unwrap();
    let rec = dir.path().join("rec.npy");
    let o = naicfc(&["decode", "-m", p(&model), "-i", p(&scalable), "-o", p(&rec)]);
    expect(&o, 3, &["look like scalable codes", "pass --scalable"]);
    assert!(!rec.exists());
    ok(&[
        "-q",
        "decode",
        "-m",
        p(&model),
        "-i",
        p(&scalable),
        "-o",
        p(&rec),
        "--scalable",
    ]);

    // Plain codes at every budget, the first included (where a plain code is also a valid
    // one-layer scalable code), are not refused.
    for budget in ["16", "32", "64", "256"] {
        let plain = dir.path().join(format!("plain{budget}"));
        ok(&[
            "-q",
            "encode",
            "-m",
            p(&model),
            "-b",
            budget,
            "-i",
            p(&input),
            "-o",
            p(&plain),
        ]);
        let rec = dir.path().join(format!("rec{budget}.npy"));
        ok(&[
            "-q",
            "decode",
            "-m",
            p(&model),
            "-i",
            p(&plain),
            "-o",
            p(&rec),
        ]);
    }
}

/// Scalable codes cut between layers are named as cut, not as codes of another model.
#[test]
fn scalable_codes_cut_between_layers_are_named_as_cut() {
    let dir = tempfile::tempdir().unwrap();
    let model = small_model(dir.path());
    let input = dir.path().join("in.npy");
    write_npy(&input, &values(20, 16, 12), 16, false);
    let scalable = dir.path().join("scalable");
    ok(&[
        "-q",
        "encode",
        "-m",
        p(&model),
        "--scalable",
        "-i",
        p(&input),
        "-o",
        p(&scalable),
    ]);
    for e in std::fs::read_dir(&scalable).unwrap() {
        let path = e.unwrap().path();
        if path.extension().is_some_and(|x| x == "dat") {
            let bytes = std::fs::read(&path).unwrap();
            std::fs::write(&path, &bytes[..40]).unwrap();
        }
    }
    let o = naicfc(&[
        "decode",
        "-m",
        p(&model),
        "--scalable",
        "-i",
        p(&scalable),
        "-o",
        p(&dir.path().join("r.npy")),
    ]);
    expect(
        &o,
        3,
        &[
            "20 of them end between layers",
            "16, 32, 64, 128, 256 bytes",
        ],
    );
    assert!(!stderr(&o).contains("another model"), "{}", stderr(&o));
}

/// `--json` on the commands that make things (train, pack, synth, export-c): one object on
/// stdout, as encode and eval print it; refused where stdout already carries the output.
#[test]
fn making_commands_report_in_json() {
    let dir = tempfile::tempdir().unwrap();
    let json = |args: &[&str]| -> serde_json::Value {
        let o = ok(args);
        assert!(o.stderr.is_empty(), "{args:?}: {}", stderr(&o));
        serde_json::from_slice(&o.stdout).unwrap()
    };
    let data = dir.path().join("data");
    let v = json(&[
        "-q",
        "synth",
        "-o",
        p(&data),
        "--dim",
        "16",
        "--identities",
        "20",
        "--queries",
        "10",
        "--gallery",
        "30",
        "--json",
    ]);
    assert_eq!(
        (v["kind"].as_str(), v["dim"].as_u64()),
        (Some("a"), Some(16))
    );
    assert_eq!(
        (v["query"].as_u64(), v["gallery"].as_u64()),
        (Some(10), Some(30))
    );

    let train = dir.path().join("train.npy");
    write_npy(&train, &values(200, 16, 1), 16, false);
    let model = dir.path().join("m.nfcm");
    let v = json(&["-q", "train", "-i", p(&train), "-o", p(&model), "--json"]);
    assert_eq!(
        (v["rows"].as_u64(), v["dim"].as_u64()),
        (Some(200), Some(16))
    );
    assert_eq!(
        v["model_bytes"].as_u64(),
        Some(std::fs::metadata(&model).unwrap().len())
    );
    assert_eq!(v["quantiser"], "trellis");
    let o = naicfc(&["train", "-i", p(&train), "-o", "-", "--json"]);
    expect(&o, 3, &["--json and -o -"]);

    let packed = dir.path().join("p.npy");
    let v = json(&["-q", "pack", "-i", p(&train), "-o", p(&packed), "--json"]);
    assert_eq!(
        (v["written"].as_u64(), v["rejected"].as_u64()),
        (Some(200), Some(0))
    );
    assert_eq!(v["dtype"], "float32");

    let header = dir.path().join("m.h");
    let v = json(&[
        "-q",
        "export-c",
        "-m",
        p(&model),
        "-o",
        p(&header),
        "--json",
    ]);
    assert_eq!(v["name"], "naicfc_model_data");
    assert_eq!(
        v["bytes"].as_u64(),
        Some(std::fs::metadata(&model).unwrap().len())
    );
    let o = naicfc(&["export-c", "-m", p(&model), "-o", "-", "--json"]);
    expect(&o, 3, &["--json and -o -"]);
}
