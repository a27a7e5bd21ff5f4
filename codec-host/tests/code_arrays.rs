//! Code arrays (`.nfcc`) through the command line: written by `encode`, appended to, read by
//! `decode`, `validate` and `reid`; refused with another model; and intact after the writer is
//! killed in the middle of an append.

mod support;

use codec_host::io::codes::read_code_array;
use std::path::Path;
use support::{Fixture, naicfc, ok, p, stderr, values, write_npy};

fn fixture() -> Fixture {
    Fixture::small("5")
}

fn encode(f: &Fixture, input: &Path, out: &Path, extra: &[&str]) -> std::process::Output {
    let mut args = vec![
        "encode",
        "-m",
        p(&f.model),
        "-b",
        "16",
        "-i",
        p(input),
        "-o",
        p(out),
    ];
    args.extend_from_slice(extra);
    naicfc(&args)
}

fn fingerprint(model: &Path) -> String {
    let o = ok(&["info", "--json", p(model)]);
    let json: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    json["fingerprint"].as_str().unwrap().to_string()
}

#[test]
fn an_array_decodes_validates_and_searches_like_the_directory() {
    let f = fixture();
    let (dir, arr) = (f.path("codes"), f.path("g.nfcc"));
    assert!(encode(&f, &f.gallery(), &dir, &[]).status.success());
    let o = encode(&f, &f.gallery(), &arr, &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    let read = read_code_array(&arr).unwrap();
    assert_eq!(read.len(), 200);
    let id = read.identity.as_ref().unwrap();
    assert_eq!((id.row_len, id.scalable), (16, false));
    assert_eq!(id.fingerprint_hex(), fingerprint(&f.model));

    // The same vectors from the array as from the directory, in the same order.
    let (from_dir, from_arr) = (f.path("d.npy"), f.path("a.npy"));
    for (input, out) in [(&dir, &from_dir), (&arr, &from_arr)] {
        ok(&["decode", "-m", p(&f.model), "-i", p(input), "-o", p(out)]);
    }
    assert_eq!(
        std::fs::read(&from_dir).unwrap(),
        std::fs::read(&from_arr).unwrap()
    );
    assert_eq!(
        std::fs::read(f.path("d.names.txt")).unwrap(),
        std::fs::read(f.path("a.names.txt")).unwrap()
    );
    ok(&["validate", "-b", "16", "-i", p(&arr), "-m", p(&f.model)]);
    let o = naicfc(&["validate", "-b", "8", "-i", p(&arr)]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stdout).contains("over the budget"));

    // reid over the stored gallery ranks like reid over its decoded vectors.
    let decoded_results = f.path("dec.json");
    ok(&[
        "reid",
        "--query",
        p(&f.queries()),
        "--gallery",
        p(&from_arr),
        "--top",
        "10",
        "-o",
        p(&decoded_results),
    ]);
    let coded_results = f.path("coded.json");
    ok(&[
        "reid",
        "--query",
        p(&f.queries()),
        "--gallery",
        p(&arr),
        "-m",
        p(&f.model),
        "--top",
        "10",
        "-o",
        p(&coded_results),
    ]);
    let top1 = |path: &Path| -> Vec<(String, String)> {
        let json: serde_json::Value =
            serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
        let mut v: Vec<(String, String)> = json
            .as_object()
            .unwrap()
            .iter()
            .map(|(q, r)| (q.clone(), r[0].as_str().unwrap().to_string()))
            .collect();
        v.sort();
        v
    };
    let (a, b) = (top1(&decoded_results), top1(&coded_results));
    assert_eq!(a.len(), 40);
    let same = a.iter().zip(&b).filter(|(x, y)| x == y).count();
    assert!(same >= 38, "{same}/40 top-1 agree");
    // Coded queries too.
    ok(&[
        "reid",
        "--query",
        p(&f.queries()),
        "--gallery",
        p(&arr),
        "-m",
        p(&f.model),
        "-b",
        "16",
        "--top",
        "10",
        "-o",
        p(&f.path("both.json")),
    ]);
}

#[test]
fn another_model_and_another_budget_are_refused_naming_both() {
    let f = fixture();
    let arr = f.path("g.nfcc");
    assert!(encode(&f, &f.gallery(), &arr, &[]).status.success());
    // A model of the same dimension trained on other data.
    let other_fixture = Fixture::small("9");
    let other = other_fixture.model.clone();
    let (mine, theirs) = (fingerprint(&f.model), fingerprint(&other));
    assert_ne!(mine, theirs);
    for args in [
        vec![
            "decode",
            "-m",
            p(&other),
            "-i",
            p(&arr),
            "-o",
            p(&f.path("x.npy")),
        ],
        vec!["validate", "-b", "16", "-m", p(&other), "-i", p(&arr)],
        vec![
            "reid",
            "--query",
            p(&f.queries()),
            "--gallery",
            p(&arr),
            "-m",
            p(&other),
            "-o",
            p(&f.path("r.json")),
        ],
    ] {
        let o = naicfc(&args);
        assert!(!o.status.success(), "{args:?}");
        let err = stderr(&o);
        assert!(
            err.contains(&mine) && err.contains(&theirs),
            "{args:?}: {err}"
        );
    }
    let o = naicfc(&[
        "encode",
        "-m",
        p(&f.model),
        "-b",
        "32",
        "-i",
        p(&f.queries()),
        "-o",
        p(&arr),
        "--append",
    ]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("budget 16"), "{}", stderr(&o));
    assert_eq!(read_code_array(&arr).unwrap().len(), 200);
}

#[test]
fn appending_gives_the_rows_of_one_encode() {
    let f = fixture();
    let whole = f.path("whole.nfcc");
    let arr = f.path("parts.nfcc");
    let all = f.path("all");
    std::fs::create_dir_all(&all).unwrap();
    for src in [f.gallery(), f.queries()] {
        for e in std::fs::read_dir(src).unwrap() {
            let e = e.unwrap().path();
            std::fs::copy(&e, all.join(e.file_name().unwrap())).unwrap();
        }
    }
    assert!(encode(&f, &all, &whole, &[]).status.success());
    // Missing: --append makes it.
    assert!(
        encode(&f, &f.gallery(), &arr, &["--append"])
            .status
            .success()
    );
    let o = encode(&f, &f.queries(), &arr, &["--append", "--batch-rows", "7"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let (w, a) = (
        read_code_array(&whole).unwrap(),
        read_code_array(&arr).unwrap(),
    );
    assert_eq!(a.len(), 240);
    let mut wn: Vec<_> = w.names.iter().zip(w.rows.chunks(16)).collect();
    let mut an: Vec<_> = a.names.iter().zip(a.rows.chunks(16)).collect();
    wn.sort();
    an.sort();
    assert_eq!(wn, an);
    // The same rows again: refused by name, nothing added.
    let o = encode(&f, &f.queries(), &arr, &["--append"]);
    assert!(!o.status.success());
    assert_eq!(read_code_array(&arr).unwrap().len(), 240);
}

#[test]
fn killing_the_writer_mid_append_keeps_the_rows_already_there() {
    let f = fixture();
    let arr = f.path("g.nfcc");
    assert!(encode(&f, &f.gallery(), &arr, &[]).status.success());
    let before = read_code_array(&arr).unwrap();
    let big = f.path("big.npy");
    write_npy(&big, &values(200_000, 64, 1), 64, false);
    let start_len = std::fs::metadata(&arr).unwrap().len();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_naicfc"))
        .args([
            "encode",
            "-m",
            p(&f.model),
            "-b",
            "16",
            "-i",
            p(&big),
            "-o",
            p(&arr),
            "--append",
            "--batch-rows",
            "1000",
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Kill it once it has started writing, in the middle of the append.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    while std::fs::metadata(&arr).unwrap().len() <= start_len + 100_000 {
        assert!(
            std::time::Instant::now() < deadline,
            "the append never started"
        );
        assert!(
            child.try_wait().unwrap().is_none(),
            "the append ended before it was killed"
        );
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    child.kill().unwrap(); // SIGKILL on Unix
    child.wait().unwrap();
    let after = read_code_array(&arr).unwrap();
    assert!(
        after.len() >= before.len() && after.len() < before.len() + 200_000,
        "{}",
        after.len()
    );
    assert_eq!(&after.names[..before.len()], &before.names[..]);
    assert_eq!(&after.rows[..before.rows.len()], &before.rows[..]);
    // The rows that got in are the input's first rows, in order.
    for (i, name) in after.names[before.len()..].iter().enumerate() {
        assert_eq!(name, &format!("{i:06}"));
    }
    ok(&["validate", "-b", "16", "-m", p(&f.model), "-i", p(&arr)]);
    // Appending again goes on from the committed rows.
    let small = f.path("small.npy");
    write_npy(&small, &values(3, 64, 2), 64, false);
    std::fs::write(f.path("small.names.txt"), "s0\ns1\ns2\n").unwrap();
    assert!(encode(&f, &small, &arr, &["--append"]).status.success());
    assert_eq!(read_code_array(&arr).unwrap().len(), after.len() + 3);
}
