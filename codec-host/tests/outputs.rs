//! Where commands write: never over one of their own inputs, through symbolic links, never
//! into a directory of stale files, and with a clear status when nothing could be written
//! (README: 1 = some inputs rejected, 3 = nothing could be done).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

mod support;

use support::{Fixture, dat_files, expect, naicfc, naicfc_in, ok, p};

/// Every file under `dir` (or `dir` itself if it is a file) and its content, to show that a
/// refused command left its inputs exactly as they were.
fn snapshot(path: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    if path.is_file() {
        out.insert(path.to_path_buf(), std::fs::read(path).unwrap());
        return out;
    }
    for e in std::fs::read_dir(path).unwrap() {
        out.extend(snapshot(&e.unwrap().path()));
    }
    out
}

/// A small dataset (64-d, 10 queries) and a model trained on it.
fn fixture() -> Fixture {
    Fixture::new(&[
        "--dim",
        "64",
        "--identities",
        "20",
        "--images-per-identity",
        "5",
        "--test-identities",
        "10",
        "--queries",
        "10",
        "--gallery",
        "40",
    ])
}

#[test]
fn an_output_that_is_an_input_is_refused_and_the_input_kept() {
    let f = fixture();
    let q = f.queries();
    let codes = f.path("codes");
    assert!(f.encode(&q, &codes).status.success());
    let list = f.data.join("query_list.txt");
    let train = f.data.join("train/train_feature");
    let first_train = std::fs::read_dir(&train)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let (m, g) = (p(&f.model), f.gallery());
    let packed = q.join("all.npy");
    let cases: Vec<(Vec<&str>, &Path, &str)> = vec![
        (
            vec![
                "encode",
                "--model",
                m,
                "--budget",
                "16",
                "--in",
                p(&q),
                "--out",
                p(&q),
            ],
            &q,
            "--out is the input --in",
        ),
        (
            vec!["export-c", "--model", m, "--out", m],
            &f.model,
            "--out is the input --model",
        ),
        (
            vec![
                "reid",
                "--query",
                p(&q),
                "--gallery",
                p(&g),
                "--query-list",
                p(&list),
                "--out",
                p(&list),
            ],
            &list,
            "--out is the input --query-list",
        ),
        (
            vec!["train", "--features", p(&train), "--out", p(&first_train)],
            &train,
            "--out is inside the input directory --in",
        ),
        (
            vec!["pack", "--in", p(&q), "--out", p(&packed)],
            &q,
            "--out is inside the input directory --in",
        ),
    ];
    for (args, input, needle) in cases {
        let before = snapshot(input);
        expect(
            &naicfc(&args),
            3,
            &[needle, "refusing to overwrite an input"],
        );
        assert_eq!(snapshot(input), before, "{args:?} changed its input");
    }

    // The same directory spelled another way, relative to the working directory.
    let before = snapshot(&codes);
    let o = naicfc_in(
        f.dir.path(),
        &["decode", "--model", m, "--in", "codes", "--out", "./codes/"],
    );
    expect(&o, 3, &["./codes/: --out is the input --in codes"]);
    assert_eq!(snapshot(&codes), before);

    // An evaluation report inside the query features.
    let o = naicfc(&[
        "eval",
        "--model",
        m,
        "--data",
        p(&f.data),
        "--budgets",
        "16",
        "--report",
        p(&q.join("report")),
    ]);
    expect(&o, 3, &["--report is inside the input directory --data"]);
    assert!(!q.join("report").exists());
}

#[test]
fn a_symlinked_output_is_written_through_to_its_target() {
    let f = fixture();
    let target = f.path("target.json");
    std::fs::write(&target, b"old").unwrap();
    let link = f.path("link.json");
    std::os::unix::fs::symlink("target.json", &link).unwrap();
    ok(&[
        "reid",
        "--query",
        p(&f.queries()),
        "--gallery",
        p(&f.gallery()),
        "--top",
        "5",
        "--out",
        p(&link),
    ]);
    assert!(
        std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink(),
        "the link is still a link"
    );
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(&target).unwrap()).unwrap();
    assert_eq!(json.as_object().unwrap().len(), 10);
}

#[test]
fn a_link_in_a_batch_output_directory_is_replaced_not_written_through() {
    // A link in the output directory that points at one of the inputs: writing through it
    // would turn that input into an output (a feature file into a code, a code into floats).
    let f = fixture();
    let q = f.some_queries("q", 3);
    let before = snapshot(&q);
    let mut names: Vec<PathBuf> = before.keys().cloned().collect();
    names.sort();
    let first = names[0].file_name().unwrap().to_owned();
    let codes = f.path("codes");
    std::fs::create_dir(&codes).unwrap();
    std::os::unix::fs::symlink(&names[0], codes.join(&first)).unwrap();
    assert!(f.encode(&q, &codes).status.success());
    assert_eq!(snapshot(&q), before, "the inputs are untouched");
    let code = codes.join(&first);
    assert!(std::fs::symlink_metadata(&code).unwrap().is_file());
    assert!(std::fs::metadata(&code).unwrap().len() <= 16);

    let kept = snapshot(&codes);
    let decoded = f.path("decoded");
    std::fs::create_dir(&decoded).unwrap();
    std::os::unix::fs::symlink(&code, decoded.join(&first)).unwrap();
    assert!(f.decode(&codes, &decoded).status.success());
    assert_eq!(snapshot(&codes), kept, "the codes are untouched");
    assert_eq!(
        std::fs::metadata(decoded.join(&first)).unwrap().len(),
        64 * 4
    );
}

#[test]
fn synth_refuses_a_directory_that_holds_anything() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("old");
    std::fs::create_dir(&out).unwrap();
    std::fs::write(out.join("keep.txt"), b"mine").unwrap();
    let small = ["--dim", "8", "--scale", "default", "--identities", "2"];
    let o = naicfc(&[&["synth", "--out", p(&out)][..], &small].concat());
    expect(&o, 3, &[p(&out), "--out is not empty"]);
    assert_eq!(snapshot(&out).len(), 1, "nothing was written");

    // An empty or new directory is fine.
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    for d in [&empty, &dir.path().join("new")] {
        let args = [
            &["synth", "--out", p(d)][..],
            &small,
            &["--test-identities", "2", "--queries", "2", "--gallery", "4"],
        ]
        .concat();
        ok(&args);
    }

    let help = ok(&["synth", "--help"]);
    let help = String::from_utf8_lossy(&help.stdout).replace('\n', " ");
    let help = help.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(help.contains("must not exist yet or be empty"), "{help}");
}

#[test]
fn an_unusable_report_directory_fails_before_the_sweep() {
    let f = fixture();
    let file = f.path("report");
    std::fs::write(&file, b"not a directory").unwrap();
    for report in [file.clone(), file.join("sub")] {
        let o = f.eval(&f.data, &["--report", p(&report)]);
        expect(
            &o,
            3,
            &[&format!("{}: cannot create directory", p(&report))],
        );
        assert!(o.stdout.is_empty(), "no sweep table: the run stopped first");
    }
}

#[test]
fn eval_reports_never_land_on_an_input_or_in_the_dataset() {
    let f = fixture();
    let model_before = std::fs::read(&f.model).unwrap();
    let list = f.data.join("query_list.txt");
    let list_before = std::fs::read(&list).unwrap();
    // Links where the report's files go, pointing at the model and at a list.
    let rep = f.path("rep");
    std::fs::create_dir(&rep).unwrap();
    std::os::unix::fs::symlink(&f.model, rep.join("report.json")).unwrap();
    std::os::unix::fs::symlink(&list, rep.join("rate.svg")).unwrap();
    let eval = |report: &Path| f.eval(&f.data, &["--report", p(report)]);
    expect(
        &eval(&rep),
        3,
        &["rep/report.json: --report is the input --model"],
    );
    std::fs::remove_file(rep.join("report.json")).unwrap();
    expect(
        &eval(&rep),
        3,
        &["rep/rate.svg: --report is inside the input directory --data"],
    );
    // The dataset's root and any directory in it are inputs too.
    for report in [f.data.clone(), f.data.join("train")] {
        expect(&eval(&report), 3, &["--report", "--data"]);
        assert!(!report.join("report.json").exists());
    }
    assert_eq!(std::fs::read(&f.model).unwrap(), model_before);
    assert_eq!(std::fs::read(&list).unwrap(), list_before);
}

#[test]
fn a_file_output_that_is_a_directory_fails_before_the_work() {
    let f = fixture();
    // pack and decode write a `.npy` here (a directory is decode's other mode).
    let (dir, npy) = (f.path("taken"), f.path("taken.npy"));
    std::fs::create_dir(&dir).unwrap();
    std::fs::create_dir(&npy).unwrap();
    let (q, g, m) = (f.queries(), f.gallery(), p(&f.model));
    let (q, g, d, n) = (p(&q), p(&g), p(&dir), p(&npy));
    for args in [
        vec!["reid", "--query", q, "--gallery", g, "--out", d],
        vec!["train", "--features", g, "--out", d],
        vec!["export-c", "--model", m, "--out", d],
        vec!["pack", "--in", q, "--out", n],
        vec!["decode", "--model", m, "--in", q, "--out", n],
    ] {
        let o = naicfc(&args);
        expect(&o, 3, &["--out is a directory; give a file name"]);
        assert!(o.stdout.is_empty(), "{args:?}: stopped before the work");
    }
}

#[test]
fn a_batch_that_could_write_nothing_exits_3() {
    let f = fixture();
    let q = f.queries();
    let names: Vec<String> = std::fs::read_dir(&q)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    // A directory in the place of every output file: each rename fails.
    let blocked = f.path("blocked");
    for n in &names {
        std::fs::create_dir_all(blocked.join(n)).unwrap();
    }
    let o = f.encode(&q, &blocked);
    expect(
        &o,
        3,
        &[
            &format!("{}: no output could be written (10 failures", p(&blocked)),
            &names[0],
        ],
    );
    // Only some blocked: the rest is written, status 1.
    let partly = f.path("partly");
    std::fs::create_dir_all(partly.join(&names[0])).unwrap();
    let o = f.encode(&q, &partly);
    expect(&o, 1, &["0 inputs rejected, 1 outputs not written"]);
    assert_eq!(dat_files(&partly), 10);

    // decode follows the same rule.
    let codes = f.path("codes");
    assert!(f.encode(&q, &codes).status.success());
    let o = f.decode(&codes, &blocked);
    expect(&o, 3, &["no output could be written"]);
}
