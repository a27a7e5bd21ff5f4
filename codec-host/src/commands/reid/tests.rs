//! `naicfc reid` end to end on a few hand-made vectors, then scored from its own output.

use super::*;
use crate::metrics::results::read_results;
use crate::metrics::{Label, ScoreOptions, score_ranking};

fn write_dat(dir: &Path, stem: &str, v: &[f32]) {
    let bytes: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
    std::fs::write(dir.join(format!("{stem}.dat")), bytes).unwrap();
}

/// Gallery g0..g4 = e0, e1, e2, e0 + e1, e3; queries qa = e0, qb = e1, qc = e2.
/// Cosine top 3, ties by gallery order: qa → g0 (1), g3 (0.71), g1 (0, first of the zeros);
/// qb → g1, g3, g0; qc → g2 (1), then g0 and g1 (first of the zeros).
struct Fixture {
    dir: tempfile::TempDir,
}

impl Fixture {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let (q, g) = (dir.path().join("q"), dir.path().join("g"));
        std::fs::create_dir_all(&q).unwrap();
        std::fs::create_dir_all(&g).unwrap();
        let e = |i: usize| {
            let mut v = [0.0f32; 4];
            v[i] = 1.0;
            v
        };
        for (i, v) in [e(0), e(1), e(2), [1.0, 1.0, 0.0, 0.0], e(3)]
            .iter()
            .enumerate()
        {
            write_dat(&g, &format!("g{i}"), v);
        }
        for (name, v) in [("qa", e(0)), ("qb", e(1)), ("qc", e(2))] {
            write_dat(&q, name, &v);
        }
        let lists = [
            ("q.txt", "qa.png 1 2\nqb.png 2 2\nqc.png 3 1\n"),
            (
                "g.txt",
                "g0.png 1 1\ng1.png 2 1\ng2.png 3 2\ng3.png 1 2\ng4.png 4 1\n",
            ),
        ];
        for (name, text) in lists {
            std::fs::write(dir.path().join(name), text).unwrap();
        }
        Fixture { dir }
    }

    fn path(&self, p: &str) -> PathBuf {
        self.dir.path().join(p)
    }

    fn args(&self, top: usize, lists: bool) -> Args {
        Args {
            query: self.path("q"),
            gallery: self.path("g"),
            out: self.path("out.json"),
            top,
            metric: Metric::Cosine,
            query_list: lists.then(|| self.path("q.txt")),
            gallery_list: lists.then(|| self.path("g.txt")),
            dim: None,
            strict: false,
            model: None,
            budget: None,
            coded: crate::coded_search::CodedSide::Query,
            batch_rows: 65_536,
            rerank: Default::default(),
            learn: Default::default(),
        }
    }

    fn output(&self) -> String {
        std::fs::read_to_string(self.path("out.json")).unwrap()
    }
}

#[test]
fn writes_ranked_list_names_and_scores_back() {
    let f = Fixture::new();
    assert_eq!(run(&f.args(3, true)).unwrap(), Outcome::Success);
    assert_eq!(
        f.output(),
        "{\n\"qa.png\":[\"g0.png\",\"g3.png\",\"g1.png\"],\
         \n\"qb.png\":[\"g1.png\",\"g3.png\",\"g0.png\"],\
         \n\"qc.png\":[\"g2.png\",\"g0.png\",\"g1.png\"]\n}\n"
    );
    // qa (id 1) has R = 2 (g0, g3), both in first two places: AP = (1/1 + 2/2) / 2 = 1;
    // qb and qc find their single match first. Everything is 1.
    let (ql, gl) = (
        read_list(&f.path("q.txt")).unwrap(),
        read_list(&f.path("g.txt")).unwrap(),
    );
    let ranked: Vec<Vec<u32>> = read_results(&f.path("out.json"), &ql, &gl, 3)
        .unwrap()
        .into_iter()
        .map(|r| r.expect("every query has results"))
        .collect();
    let labels = |l: &[crate::io::lists::ListEntry]| l.iter().map(Label::from).collect::<Vec<_>>();
    let opts = ScoreOptions {
        top: 3,
        ..ScoreOptions::default()
    };
    let s = score_ranking(
        ranked.iter().map(Vec::as_slice),
        &labels(&ql),
        &labels(&gl),
        &opts,
    )
    .unwrap();
    assert_eq!((s.acc_reid, s.queries), (1.0, 3));
}

#[test]
fn without_lists_names_are_feature_files() {
    let f = Fixture::new();
    assert_eq!(run(&f.args(1, false)).unwrap(), Outcome::Success);
    assert_eq!(
        f.output(),
        "{\n\"qa.dat\":[\"g0.dat\"],\n\"qb.dat\":[\"g1.dat\"],\n\"qc.dat\":[\"g2.dat\"]\n}\n"
    );
}

#[test]
fn bad_inputs_are_reported_and_the_rest_processed_unless_strict() {
    let f = Fixture::new();
    std::fs::write(f.path("g/zz_broken.dat"), [0u8; 3]).unwrap();
    // qd is listed but has no features.
    std::fs::write(
        f.path("q.txt"),
        "qa.png 1 2\nqb.png 2 2\nqc.png 3 1\nqd.png 5 1\n",
    )
    .unwrap();
    assert_eq!(run(&f.args(3, true)).unwrap(), Outcome::Partial);
    let out = f.output();
    assert!(out.contains("\"qc.png\"") && !out.contains("qd") && !out.contains("broken"));

    let mut strict = f.args(3, true);
    strict.strict = true;
    let e = run(&strict).unwrap_err().to_string();
    let want = format!(
        "q.txt: `qd.png` has no features in {}",
        f.path("q").display()
    );
    assert!(e.ends_with(&want), "{e}");
    let mut strict = f.args(3, false);
    strict.strict = true;
    let e = run(&strict).unwrap_err().to_string();
    assert!(e.contains("zz_broken.dat: "), "{e}");
}

#[test]
fn too_small_a_gallery_or_mismatched_dims_are_errors() {
    let f = Fixture::new();
    let e = run(&f.args(6, false)).unwrap_err().to_string();
    assert!(
        e.contains("5 usable gallery items, fewer than --top 6"),
        "{e}"
    );
    assert!(!f.path("out.json").exists());
    let mut wrong_dim = f.args(3, false);
    wrong_dim.dim = Some(3);
    assert!(run(&wrong_dim).is_err());
    std::fs::remove_dir_all(f.path("q")).unwrap();
    std::fs::create_dir_all(f.path("q")).unwrap();
    write_dat(&f.path("q"), "qa", &[1.0, 0.0]);
    let e = run(&f.args(3, false)).unwrap_err().to_string();
    assert!(
        e.contains("query features have 2 dimensions but gallery features have 4"),
        "{e}"
    );
}
