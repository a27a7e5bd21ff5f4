//! `naicfc score`: the competition's re-ID metrics.

use crate::exit::Outcome;
use crate::io::lists::{ListEntry, read_list};
use crate::metrics::results::{missing_queries, read_results};
use crate::metrics::{Label, ScoreOptions, Scores, score_ranking};
use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};

/// Arguments of `naicfc score`.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "Example:\n  naicfc score -i results.json --query-list data-a/query_list.txt --gallery-list data-a/gallery_list.txt\n\nACC_reid = (AP@1 + mAP@N) / 2, the competition's score. mAP (all) and mINP follow fast-reid:\nover each query's whole list, for the queries with a match in the gallery."
)]
pub struct Args {
    /// Re-ID result JSON written by `naicfc reid`
    #[arg(short = 'i', long, visible_alias = "in")]
    pub results: PathBuf,
    /// Query list (`<name> <identity> [camera]`)
    #[arg(long)]
    pub query_list: PathBuf,
    /// Gallery list (`<name> <identity> [camera]`)
    #[arg(long)]
    pub gallery_list: PathBuf,
    /// Ignore gallery items with the query's identity and camera (needs cameras in both lists)
    #[arg(long)]
    pub exclude_same_camera: bool,
    /// Results each query must have; also the cut-off N of mAP@N
    #[arg(long, default_value_t = 100, value_parser = crate::commands::at_least_one)]
    pub top: usize,
    /// Print one JSON object instead of a table
    #[arg(long)]
    pub json: bool,
}

/// Run `naicfc score`.
pub fn run(args: &Args) -> Result<Outcome> {
    if args.top == 0 {
        bail!("--top must be at least 1");
    }
    let queries = read_list(&args.query_list)?;
    let gallery = read_list(&args.gallery_list)?;
    if args.exclude_same_camera {
        require_cameras(&args.query_list, &queries)?;
        require_cameras(&args.gallery_list, &gallery)?;
    }
    let rows = read_results(&args.results, &queries, &gallery, args.top)?;
    // A query without results (its feature file was rejected by the run, say) finds nothing:
    // it scores 0, as a missing answer would in the competition, and is reported.
    let missing = missing_queries(&rows, &queries);
    if let Some(msg) = &missing {
        eprintln!("{}: {msg} (each scored 0)", args.results.display());
    }
    let ranked: Vec<Vec<u32>> = rows.into_iter().map(Option::unwrap_or_default).collect();
    let labels = |list: &[ListEntry]| list.iter().map(Label::from).collect::<Vec<_>>();
    let opts = ScoreOptions {
        top: args.top,
        exclude_same_camera: args.exclude_same_camera,
    };
    let scores = score_ranking(
        ranked.iter().map(Vec::as_slice),
        &labels(&queries),
        &labels(&gallery),
        &opts,
    )
    .with_context(|| format!("{}: cannot score", args.query_list.display()))?;
    if args.json {
        println!("{}", serde_json::to_string(&scores)?);
    } else {
        print!("{}", table(&scores, args.top));
    }
    Ok(if missing.is_some() {
        Outcome::Partial
    } else {
        Outcome::Success
    })
}

fn require_cameras(path: &Path, list: &[ListEntry]) -> Result<()> {
    if let Some(e) = list.iter().find(|e| e.cam.is_none()) {
        bail!(
            "{}: `{}` has no camera column; --exclude-same-camera needs cameras in both lists",
            path.display(),
            e.name
        );
    }
    Ok(())
}

/// The scores as an aligned two-column text table; `top` is the N of mAP@N.
pub fn table(s: &Scores, top: usize) -> String {
    let rows = [
        ("ACC_reid".to_string(), format!("{:.6}", s.acc_reid)),
        ("AP@1".to_string(), format!("{:.6}", s.ap1)),
        (format!("mAP@{top}"), format!("{:.6}", s.map100)),
        ("CMC rank-1".to_string(), format!("{:.6}", s.rank1)),
        ("CMC rank-5".to_string(), format!("{:.6}", s.rank5)),
        ("CMC rank-10".to_string(), format!("{:.6}", s.rank10)),
        ("mAP (all)".to_string(), format!("{:.6}", s.map)),
        ("mINP".to_string(), format!("{:.6}", s.minp)),
        ("queries".to_string(), s.queries.to_string()),
    ];
    let width = rows.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
    let mut text: String = rows
        .iter()
        .map(|(k, v)| format!("{k:<width$}  {v:>8}\n"))
        .collect();
    if s.incomplete > 0 {
        text.push_str(&format!(
            "note: {} queries have matches beyond their {top} results: mAP (all) and mINP are \
             lower bounds for them (more results with `naicfc reid --top`)\n",
            s.incomplete
        ));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(dir: &Path, exclude_same_camera: bool) -> Args {
        Args {
            results: dir.join("r.json"),
            query_list: dir.join("q.txt"),
            gallery_list: dir.join("g.txt"),
            exclude_same_camera,
            top: 2,
            json: true,
        }
    }

    #[test]
    fn scores_a_result_file_and_checks_cameras_when_excluding() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::write(d.join("q.txt"), "q1.png 1\n").unwrap();
        std::fs::write(d.join("g.txt"), "a.png 1 1\nb.png 2 1\n").unwrap();
        std::fs::write(d.join("r.json"), r#"{"q1.png": ["a.png", "b.png"]}"#).unwrap();
        assert_eq!(run(&args(d, false)).unwrap(), Outcome::Success);
        let e = run(&args(d, true)).unwrap_err().to_string();
        assert!(e.ends_with("q.txt: `q1.png` has no camera column; --exclude-same-camera needs cameras in both lists"), "{e}");
        std::fs::write(d.join("r.json"), r#"{"q1.png": ["a.png"]}"#).unwrap();
        let e = format!("{:#}", run(&args(d, false)).unwrap_err());
        assert!(
            e.contains("r.json: invalid results: query `q1.png`: 1 results, expected 2"),
            "{e}"
        );
    }

    #[test]
    fn a_query_without_results_scores_0_and_makes_the_status_partial() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::write(d.join("q.txt"), "q1.png 1\nq2.png 2\n").unwrap();
        std::fs::write(d.join("g.txt"), "a.png 1\nb.png 2\n").unwrap();
        std::fs::write(d.join("r.json"), r#"{"q1.png": ["a.png", "b.png"]}"#).unwrap();
        assert_eq!(run(&args(d, false)).unwrap(), Outcome::Partial);
        // What it is scored as: q1 finds its match first, q2 nothing.
        let (q, g) = (
            read_list(&d.join("q.txt")).unwrap(),
            read_list(&d.join("g.txt")).unwrap(),
        );
        let labels = |l: &[ListEntry]| l.iter().map(Label::from).collect::<Vec<_>>();
        let ranked: [&[u32]; 2] = [&[0, 1], &[]];
        let opts = ScoreOptions {
            top: 2,
            exclude_same_camera: false,
        };
        let s = score_ranking(ranked, &labels(&q), &labels(&g), &opts).unwrap();
        assert_eq!((s.acc_reid, s.ap1, s.queries), (0.5, 0.5, 2));
    }

    #[test]
    fn table_is_aligned() {
        let s = Scores {
            acc_reid: 0.75,
            ap1: 1.0,
            map100: 0.5,
            rank1: 1.0,
            rank5: 1.0,
            rank10: 1.0,
            map: 0.625,
            minp: 0.25,
            incomplete: 0,
            queries: 12,
        };
        let t = table(&s, 100);
        assert_eq!(
            t,
            "ACC_reid     0.750000\nAP@1         1.000000\nmAP@100      0.500000\n\
             CMC rank-1   1.000000\nCMC rank-5   1.000000\nCMC rank-10  1.000000\n\
             mAP (all)    0.625000\nmINP         0.250000\nqueries            12\n"
        );
        let cut = table(&Scores { incomplete: 3, ..s }, 100);
        assert!(
            cut.ends_with("are lower bounds for them (more results with `naicfc reid --top`)\n")
        );
        let json = serde_json::to_string(&s).unwrap();
        assert_eq!(
            json,
            r#"{"acc_reid":0.75,"ap1":1.0,"map100":0.5,"rank1":1.0,"rank5":1.0,"rank10":1.0,"map":0.625,"minp":0.25,"incomplete":0,"queries":12}"#
        );
    }
}
