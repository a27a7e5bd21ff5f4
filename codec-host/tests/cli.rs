//! The `naicfc` command end to end: synth -> train -> encode -> validate -> decode -> eval,
//! and what it does with bad input (clear message naming the file, rest of the batch done,
//! documented exit code).

mod support;

use std::path::Path;
use std::process::{Command, Output};
use support::dat_files;

fn naicfc(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_naicfc"))
        .args(args)
        .output()
        .expect("run naicfc")
}

fn ok(args: &[&str]) -> Output {
    let out = naicfc(args);
    assert!(
        out.status.success(),
        "naicfc {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// A small dataset and a model trained on it.
fn setup(dir: &Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let data = dir.join("data");
    let model = dir.join("model.nfcm");
    ok(&[
        "synth",
        "--out",
        p(&data),
        "--dim",
        "256",
        "--identities",
        "60",
        "--images-per-identity",
        "10",
        "--test-identities",
        "40",
        "--queries",
        "80",
        "--gallery",
        "400",
        "--seed",
        "5",
    ]);
    ok(&[
        "train",
        "--data",
        p(&data),
        "--out",
        p(&model),
        "--budgets",
        "16,64",
    ]);
    (data, model)
}

#[test]
fn full_pipeline() {
    let dir = tempfile::tempdir().unwrap();
    let (data, model) = setup(dir.path());
    let codes = dir.path().join("codes");
    let rec = dir.path().join("rec");
    for budget in ["16", "40", "64"] {
        let out = codes.join(budget);
        ok(&[
            "encode",
            "--model",
            p(&model),
            "--budget",
            budget,
            "--in",
            p(&data.join("query_feature")),
            "--out",
            p(&out),
        ]);
        let files: Vec<_> = std::fs::read_dir(&out)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "dat"))
            .collect();
        assert_eq!(files.len(), 80);
        let limit: u64 = budget.parse().unwrap();
        assert!(
            files
                .iter()
                .all(|f| (1..=limit).contains(&f.metadata().unwrap().len()))
        );
        ok(&[
            "validate",
            "--budget",
            budget,
            "--in",
            p(&out),
            "--model",
            p(&model),
        ]);
        ok(&[
            "decode",
            "--model",
            p(&model),
            "--in",
            p(&out),
            "--out",
            p(&rec.join(budget)),
        ]);
        let decoded = dat_files(rec.join(budget));
        assert_eq!(decoded, 80);
    }
    // .npy in and out.
    let npy = dir.path().join("rec.npy");
    ok(&[
        "decode",
        "--model",
        p(&model),
        "--in",
        p(&codes.join("64")),
        "--out",
        p(&npy),
    ]);
    assert!(npy.metadata().unwrap().len() > 80 * 256 * 4);
    // Both directions stream a .npy a batch at a time, to the same bytes; a code that does not
    // decode is left out of the array and reported.
    let bad = dir.path().join("codes-with-a-bad-one");
    std::fs::create_dir_all(&bad).unwrap();
    for e in std::fs::read_dir(codes.join("64")).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), bad.join(e.file_name())).unwrap();
    }
    std::fs::write(bad.join("zzz-bad.dat"), [0xff; 65]).unwrap();
    let batched = dir.path().join("rec-batched.npy");
    let out = naicfc(&[
        "decode",
        "--model",
        p(&model),
        "--in",
        p(&bad),
        "--out",
        p(&batched),
        "--batch-rows",
        "7",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("zzz-bad.dat"), "{}", stderr(&out));
    assert_eq!(
        std::fs::read(&batched).unwrap(),
        std::fs::read(&npy).unwrap()
    );
    // Encoding from the array: the default batch and batches of 7 give the same codes.
    for (out, batch) in [("npycodes", "65536"), ("npycodes-batched", "7")] {
        ok(&[
            "encode",
            "--model",
            p(&model),
            "--budget",
            "32",
            "--in",
            p(&npy),
            "--out",
            p(&dir.path().join(out)),
            "--batch-rows",
            batch,
        ]);
    }
    for e in std::fs::read_dir(dir.path().join("npycodes")).unwrap() {
        let e = e.unwrap();
        let other = dir.path().join("npycodes-batched").join(e.file_name());
        assert_eq!(
            std::fs::read(e.path()).unwrap(),
            std::fs::read(other).unwrap()
        );
    }

    // Scalable codes: one encode, every prefix at a model budget (16, 64) decodes.
    let full = dir.path().join("scalable");
    ok(&[
        "encode",
        "--model",
        p(&model),
        "--scalable",
        "--in",
        p(&data.join("query_feature")),
        "--out",
        p(&full),
    ]);
    let prefix = dir.path().join("prefix16");
    std::fs::create_dir_all(&prefix).unwrap();
    for e in std::fs::read_dir(&full).unwrap() {
        let e = e.unwrap();
        if e.path().extension().is_none_or(|x| x != "dat") {
            continue;
        }
        let bytes = std::fs::read(e.path()).unwrap();
        assert_eq!(bytes.len(), 64, "a scalable code fills the largest budget");
        std::fs::write(prefix.join(e.file_name()), &bytes[..16]).unwrap();
    }
    ok(&[
        "validate",
        "--budget",
        "16",
        "--in",
        p(&prefix),
        "--model",
        p(&model),
        "--scalable",
    ]);
    ok(&[
        "decode",
        "--model",
        p(&model),
        "--scalable",
        "--in",
        p(&prefix),
        "--out",
        p(&dir.path().join("rec16")),
    ]);
    ok(&[
        "decode",
        "--model",
        p(&model),
        "--scalable",
        "--in",
        p(&full),
        "--out",
        p(&dir.path().join("rec64")),
    ]);

    let report = dir.path().join("report");
    let out = ok(&[
        "eval",
        "--model",
        p(&model),
        "--data",
        p(&data),
        "--budgets",
        "16,64",
        "--report",
        p(&report),
        "--scalable",
    ]);
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(table.contains("uncompressed"), "{table}");
    assert!(table.contains("scalable"), "{table}");
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(report.join("report.json")).unwrap()).unwrap();
    let rates = json["rates"].as_array().unwrap();
    assert_eq!(rates.len(), 2);
    for r in rates {
        assert!(r["bytes_max"].as_u64().unwrap() <= r["budget"].as_u64().unwrap());
        assert!(r["dr"].as_f64().unwrap() > 0.0);
        assert!(r["scores"]["acc_reid"].as_f64().unwrap() > 0.0);
        assert!(r["scalable_dr"].as_f64().unwrap() > 0.0);
    }
    // More bytes, less error.
    assert!(rates[1]["dr"].as_f64().unwrap() < rates[0]["dr"].as_f64().unwrap());
    assert!(
        std::fs::read_to_string(report.join("rate.svg"))
            .unwrap()
            .contains("<svg")
    );
}

#[test]
fn a_packed_float16_gallery_ranks_like_the_directory_under_the_same_names() {
    let dir = tempfile::tempdir().unwrap();
    let (data, _model) = setup(dir.path());
    let packed = dir.path().join("gallery.npy");
    let out = ok(&[
        "pack",
        "--in",
        p(&data.join("gallery_feature")),
        "--out",
        p(&packed),
        "--f16",
        "--batch-rows",
        "64",
    ]);
    assert!(
        stderr(&out).contains("400 vectors of 256 values"),
        "{}",
        stderr(&out)
    );
    // Half of float32, plus the header.
    assert!(packed.metadata().unwrap().len() < 400 * 256 * 2 + 256);
    let names = std::fs::read_to_string(dir.path().join("gallery.names.txt")).unwrap();
    assert_eq!(names.lines().count(), 400);

    let (query_list, gallery_list) = (data.join("query_list.txt"), data.join("gallery_list.txt"));
    let lists = [
        "--query-list",
        p(&query_list),
        "--gallery-list",
        p(&gallery_list),
    ];
    let mut scores = Vec::new();
    for (gallery, tag) in [(data.join("gallery_feature"), "dir"), (packed, "npy")] {
        let results = dir.path().join(format!("{tag}.json"));
        let query = data.join("query_feature");
        let reid = [
            "reid",
            "--query",
            p(&query),
            "--gallery",
            p(&gallery),
            "--out",
            p(&results),
            "--batch-rows",
            "100",
        ];
        ok(&[&reid[..], &lists].concat());
        let out = ok(&[&["score", "--results", p(&results), "--json"][..], &lists].concat());
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        scores.push(json["acc_reid"].as_f64().unwrap());
    }
    assert!(scores[0] > 0.3, "{scores:?}");
    assert!((scores[0] - scores[1]).abs() < 0.01, "{scores:?}");

    // A names file that does not fit its array is an error, not a silent renaming.
    std::fs::write(dir.path().join("gallery.names.txt"), "a\nb\n").unwrap();
    let out = naicfc(&[
        "reid",
        "--query",
        p(&data.join("query_feature")),
        "--gallery",
        p(&dir.path().join("gallery.npy")),
        "--out",
        p(&dir.path().join("x.json")),
    ]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("gallery.names.txt: 2 names for the 400 rows"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn bad_inputs_are_reported_and_the_batch_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let (data, model) = setup(dir.path());
    let input = dir.path().join("in");
    std::fs::create_dir(&input).unwrap();
    let queries: Vec<_> = std::fs::read_dir(data.join("query_feature"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .take(5)
        .collect();
    for q in &queries {
        std::fs::copy(q, input.join(q.file_name().unwrap())).unwrap();
    }
    std::fs::write(input.join("short.dat"), [0u8; 100]).unwrap();
    let mut nan = std::fs::read(&queries[0]).unwrap();
    nan[8..12].copy_from_slice(&f32::NAN.to_le_bytes());
    std::fs::write(input.join("nan.dat"), nan).unwrap();

    let out_dir = dir.path().join("codes");
    let o = naicfc(&[
        "encode",
        "--model",
        p(&model),
        "--budget",
        "32",
        "--in",
        p(&input),
        "--out",
        p(&out_dir),
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains("short.dat") && err.contains("100 bytes"),
        "{err}"
    );
    assert!(err.contains("nan.dat") && err.contains("NaN"), "{err}");
    assert_eq!(dat_files(&out_dir), 5, "good files still encoded");

    // --strict stops at the first bad file.
    let o = naicfc(&[
        "encode",
        "--model",
        p(&model),
        "--budget",
        "32",
        "--in",
        p(&input),
        "--out",
        p(&dir.path().join("strict")),
        "--strict",
    ]);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));

    // A code over the budget and a corrupt code are offenders; the rest validates.
    std::fs::write(out_dir.join("long.dat"), [1u8; 40]).unwrap();
    // Random bytes often decode to some vector (codes carry no checksum); an empty code is
    // surely rejected.
    std::fs::write(out_dir.join("junk.dat"), []).unwrap();
    let o = naicfc(&[
        "validate",
        "--budget",
        "32",
        "--in",
        p(&out_dir),
        "--model",
        p(&model),
    ]);
    assert_eq!(o.status.code(), Some(1));
    let listed = String::from_utf8_lossy(&o.stdout);
    assert!(
        listed.contains("long.dat") && listed.contains("40 bytes"),
        "{listed}"
    );
    assert!(listed.contains("junk.dat"), "{listed}");
    let o = naicfc(&[
        "decode",
        "--model",
        p(&model),
        "--in",
        p(&out_dir),
        "--out",
        p(&dir.path().join("rec")),
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("junk.dat"), "{}", stderr(&o));
    assert!(std::fs::read_dir(dir.path().join("rec")).unwrap().count() >= 5);
}

#[test]
fn fatal_problems_exit_3_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let (data, model) = setup(dir.path());
    let (q, out) = (data.join("query_feature"), dir.path().join("x"));
    let (q, out) = (p(&q), p(&out));
    // `naicfc encode` with these inputs must exit 3 and name the problem.
    let fails = |model: &str, budget: &str, input: &str, needle: &str| {
        let o = naicfc(&[
            "encode", "--model", model, "--budget", budget, "--in", input, "--out", out,
        ]);
        assert_eq!(o.status.code(), Some(3));
        assert!(stderr(&o).contains(needle), "{}", stderr(&o));
    };
    fails("/nonexistent/model", "32", q, "/nonexistent/model");

    let mut damaged = std::fs::read(&model).unwrap();
    let mid = damaged.len() / 2;
    damaged[mid] ^= 0x10;
    let bad = dir.path().join("bad.nfcm");
    std::fs::write(&bad, damaged).unwrap();
    fails(p(&bad), "32", q, "checksum");
    fails(p(&model), "1", q, "minimum");
    fails(p(&model), "32", "/nonexistent/dir", "/nonexistent/dir");

    // A budget the model cannot code at is one error before any work, in every command that
    // takes one.
    let g = data.join("gallery_feature");
    let (m, d, g) = (p(&model), p(&data), p(&g));
    for (args, needle) in [
        (
            vec!["eval", "--model", m, "--data", d, "--budgets", "16,1"],
            "budget 1 is below",
        ),
        (
            vec!["bench", "--model", m, "--features", q, "--budgets", "1"],
            "budget 1 is below",
        ),
        (
            vec![
                "reid",
                "--query",
                q,
                "--gallery",
                g,
                "--out",
                out,
                "--model",
                m,
                "--budget",
                "1",
            ],
            "budget 1 is below",
        ),
    ] {
        let o = naicfc(&args);
        assert_eq!(o.status.code(), Some(3), "{args:?}");
        let err = stderr(&o);
        assert!(err.contains(needle), "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
    }

    let o = naicfc(&["encode", "--model", p(&model)]);
    assert_eq!(o.status.code(), Some(2), "usage errors exit 2");
}
