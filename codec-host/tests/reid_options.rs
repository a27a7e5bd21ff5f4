//! `naicfc reid --rerank` and `--learn` end to end on a small synthetic set: each runs, writes
//! `--top` distinct gallery names per query, scores, and says what it did; and the flags refuse
//! what they cannot do.

mod support;
use support::{Fixture, expect, naicfc, ok, p, stderr};

fn fixture() -> Fixture {
    Fixture::new(&[
        "--dim",
        "128",
        "--identities",
        "120",
        "--images-per-identity",
        "6",
        "--test-identities",
        "60",
        "--queries",
        "60",
        "--gallery",
        "400",
    ])
}

/// `naicfc reid` with `extra` flags into `out`, then `naicfc score`: ACC_reid and stderr.
fn reid_and_score(f: &Fixture, out: &str, extra: &[&str]) -> (f64, String) {
    let results = f.path(out);
    let (ql, gl) = (
        f.data.join("query_list.txt"),
        f.data.join("gallery_list.txt"),
    );
    let (q, g) = (f.queries(), f.gallery());
    let lists = ["--query-list", p(&ql), "--gallery-list", p(&gl)];
    let mut args = vec![
        "reid",
        "--query",
        p(&q),
        "--gallery",
        p(&g),
        "--out",
        p(&results),
        "--top",
        "20",
    ];
    args.extend_from_slice(extra);
    let o = ok(&[&args[..], &lists].concat());
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&results).unwrap()).unwrap();
    let map = json.as_object().unwrap();
    assert_eq!(map.len(), 60);
    for (q, names) in map {
        let names: Vec<&str> = names
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        let mut distinct = names.clone();
        distinct.sort_unstable();
        distinct.dedup();
        assert_eq!((names.len(), distinct.len()), (20, 20), "{q}");
    }
    let s = ok(&[
        &["score", "--results", p(&results), "--json", "--top", "20"][..],
        &lists,
    ]
    .concat());
    let s: serde_json::Value = serde_json::from_slice(&s.stdout).unwrap();
    (s["acc_reid"].as_f64().unwrap(), stderr(&o))
}

#[test]
fn rerank_runs_says_so_and_is_deterministic() {
    let f = fixture();
    let (plain, _) = reid_and_score(&f, "plain.json", &[]);
    let (re, err) = reid_and_score(&f, "re.json", &["--rerank", "--rerank-pool", "40"]);
    assert!(
        err.contains("re-ranked (k1 20, k2 6, lambda 0.3, pool 40"),
        "{err}"
    );
    assert!(plain > 0.3 && re > 0.3, "{plain} {re}");
    let first = std::fs::read(f.path("re.json")).unwrap();
    reid_and_score(
        &f,
        "re2.json",
        &["--rerank", "--rerank-pool", "40", "-j", "1"],
    );
    assert_eq!(first, std::fs::read(f.path("re2.json")).unwrap());
    // lambda 1 is the original distance alone: the plain ranking.
    reid_and_score(&f, "l1.json", &["--rerank", "--rerank-lambda", "1"]);
    assert_eq!(
        std::fs::read(f.path("plain.json")).unwrap(),
        std::fs::read(f.path("l1.json")).unwrap()
    );
}

#[test]
fn learned_metric_runs_on_training_features_only() {
    let f = fixture();
    let train = f.data.join("train");
    let feats = train.join("train_feature");
    let list = train.join("train_list.txt");
    let (acc, err) = reid_and_score(
        &f,
        "learned.json",
        &[
            "-m",
            p(&f.model),
            "--learn",
            p(&feats),
            "--learn-list",
            p(&list),
        ],
    );
    assert!(err.contains("learned metric (alpha"), "{err}");
    assert!(err.contains("held-out ACC_reid"), "{err}");
    assert!(acc > 0.3, "{acc}");
    let (fixed, err) = reid_and_score(
        &f,
        "fixed.json",
        &["-m", p(&f.model), "--learn", p(&feats), "--alpha", "0.25"],
    );
    assert!(err.contains("alpha 0.25, uncentred"), "{err}");
    assert!(fixed > 0.3, "{fixed}");
    // Re-ranking composes with the learned metric.
    reid_and_score(
        &f,
        "both.json",
        &[
            "-m",
            p(&f.model),
            "--learn",
            p(&feats),
            "--alpha",
            "0.25",
            "--rerank",
        ],
    );
}

#[test]
fn the_options_refuse_what_they_cannot_do() {
    let f = fixture();
    let (q, g, out) = (f.queries(), f.gallery(), f.path("x.json"));
    let base = [
        "reid",
        "--query",
        p(&q),
        "--gallery",
        p(&g),
        "--out",
        p(&out),
    ];
    let run = |extra: &[&str]| naicfc(&[&base[..], extra].concat());
    expect(
        &run(&["--rerank", "-m", p(&f.model), "-b", "16"]),
        3,
        &["--rerank ranks features"],
    );
    expect(
        &run(&["--rerank", "--metric", "ip"]),
        3,
        &["needs a distance"],
    );
    expect(&run(&["--learn", p(&g)]), 2, &["--model"]);
    expect(
        &run(&["-m", p(&f.model), "--learn", p(&g)]),
        3,
        &["--learn-list", "--alpha"],
    );
    expect(&run(&["--alpha", "0.3"]), 2, &["--learn"]);
    expect(
        &run(&["--rerank-lambda", "2", "--rerank"]),
        2,
        &["--rerank-lambda"],
    );
    assert!(!out.exists());
}
