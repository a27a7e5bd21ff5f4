//! How well a trained model carries over to vectors it was not trained on: few training vectors,
//! another split of the real sample, another synthetic seed. Prints one table per case: the
//! model's size and coefficients, and dr per budget. The before/after tables come from
//! this program run on both sides of a change. Synthetic cases have identities: they also print
//! ACC_reid of the reconstructed queries against the original gallery.
//!
//! Usage: `cargo run --release -p codec-host --example generalise [-- CASE ...]`, cases
//! `real-parity`, `real-halves`, `b512-108`, `a-seeds`, `b-seeds` (all by default). The real
//! cases read `../shared/data/naic-a-sample` and are skipped without it. Synthetic sets are
//! written once under `target/naicfc-generalise`.

use anyhow::Result;
use codec_host::codec::{ModelFile, round_trip};
use codec_host::eval::{ErrorStats, EvalData};
use codec_host::io::{FeatureSet, ReadOptions, read_features};
use codec_host::metrics::{ScoreOptions, evaluate};
use codec_host::search::Metric;
use codec_host::synth::{Kind, SynthConfig, write_dataset};
use codec_host::train::{TrainConfig, train};
use std::path::{Path, PathBuf};

const BUDGETS: [usize; 5] = [16, 32, 64, 128, 256];

fn rows(set: &FeatureSet, keep: impl Fn(usize) -> bool) -> FeatureSet {
    let idx: Vec<usize> = (0..set.len()).filter(|&i| keep(i)).collect();
    FeatureSet {
        names: idx.iter().map(|&i| set.names[i].clone()).collect(),
        dim: set.dim,
        data: idx.iter().flat_map(|&i| set.row(i).to_vec()).collect(),
    }
}

/// Train on `train`, code `test` at every budget; prints a row and returns the drs. With a
/// gallery and labels (`reid`), also prints ACC_reid per budget and uncompressed.
fn measure(
    label: &str,
    train_set: &FeatureSet,
    test: &FeatureSet,
    reid: Option<&EvalData>,
) -> Result<Vec<f64>> {
    let mut cfg = TrainConfig::default();
    if let Some(k) = std::env::var("GENERALISE_MAX_COEFFS")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        cfg.max_coeffs = k;
    }
    let trained = train(train_set, None, &cfg)?;
    let size = trained.model.len();
    let coeffs = trained.summary.coeffs;
    let model = ModelFile::from_bytes(trained.model)?;
    // The error of sending nothing (every vector decoded as the training mean): a codec that
    // does worse than this has learned the wrong thing.
    let mean: Vec<f64> = (0..train_set.dim)
        .map(|j| train_set.rows().map(|r| f64::from(r[j])).sum::<f64>() / train_set.len() as f64)
        .collect();
    let zero_rate = test
        .rows()
        .map(|r| {
            r.iter()
                .zip(&mean)
                .map(|(&v, &m)| (f64::from(v) - m).powi(2))
                .sum::<f64>()
                .sqrt()
        })
        .sum::<f64>()
        / test.len() as f64;
    let acc = |queries: &FeatureSet| -> Result<Option<f64>> {
        Ok(match reid {
            Some(EvalData {
                gallery,
                labels: Some((ql, gl)),
                ..
            }) => Some(
                evaluate(
                    queries,
                    gallery,
                    ql,
                    gl,
                    Metric::Cosine,
                    &ScoreOptions::default(),
                )?
                .acc_reid,
            ),
            _ => None,
        })
    };
    let mut drs = Vec::new();
    let mut line = format!("{label:<34} {size:>8} {coeffs:>5} {zero_rate:>7.3}");
    let mut acc_line = format!("{:<34} {:>8} {:>5}", "  ACC_reid (uncompressed)", "", "");
    if let Some(a) = acc(test)? {
        acc_line += &format!(" {a:>7.4}");
    }
    for b in BUDGETS {
        let dr = match round_trip(&model, test, b) {
            Ok((rec, ..)) => {
                if let Some(a) = acc(&rec)? {
                    acc_line += &format!(" {a:>7.4}");
                }
                ErrorStats::between(test, &rec).dr
            }
            Err(_) => f64::NAN,
        };
        line += &format!(" {dr:>7.3}");
        drs.push(dr);
    }
    println!("{line}");
    if reid.is_some() {
        println!("{acc_line}");
    }
    Ok(drs)
}

fn header(title: &str) {
    println!("\n## {title}");
    println!(
        "{:<34} {:>8} {:>5} {:>7} {:>7} {:>7} {:>7} {:>7} {:>7}",
        "train -> test", "bytes", "k", "mean", "16 B", "32 B", "64 B", "128 B", "256 B"
    );
}

fn synth(kind: Kind, dim: usize, seed: u64, train_n: usize, dir: &Path) -> Result<PathBuf> {
    let root = dir.join(format!("{kind:?}-{dim}-{seed}-{train_n}"));
    if !root.join("query_feature").is_dir() {
        let mut cfg = SynthConfig::default_sizes(kind, dim, seed);
        cfg.train = train_n;
        cfg.train_identities = (train_n / 10).max(2);
        cfg.gallery = 2000;
        write_dataset(&root, &cfg)?;
    }
    Ok(root)
}

fn read(dir: &Path) -> Result<FeatureSet> {
    Ok(read_features(dir, &ReadOptions::default())?.set)
}

fn main() -> Result<()> {
    let cases: Vec<String> = std::env::args().skip(1).collect();
    let want = |c: &str| cases.is_empty() || cases.iter().any(|x| x == c);
    let scratch = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/naicfc-generalise");
    std::fs::create_dir_all(&scratch)?;
    let real = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/naic-a-sample");

    if real.is_dir() && (want("real-parity") || want("real-halves")) {
        // Files are read in name order.
        let all = read(&real)?;
        let n = all.len();
        if want("real-parity") {
            header("real kind A, 268 / 268 (every other file)");
            measure(
                "even -> odd",
                &rows(&all, |i| i % 2 == 0),
                &rows(&all, |i| i % 2 == 1),
                None,
            )?;
        }
        if want("real-halves") {
            header("real kind A, 268 / 268 (first and last half by name)");
            let (lo, hi) = (rows(&all, |i| i < n / 2), rows(&all, |i| i >= n / 2));
            measure("first -> last", &lo, &hi, None)?;
            measure("last -> first", &hi, &lo, None)?;
        }
    }
    if want("b512-108") {
        header("kind B 512-d, 108 training vectors (post-ReLU), 2,000 queries");
        let root = synth(Kind::B, 512, 3, 108, &scratch)?;
        let tr = read(&root.join("train/train_feature"))?;
        let te = codec_host::eval::load(&root, &ReadOptions::default())?;
        measure("108 train -> queries", &tr, &te.query, Some(&te))?;
    }
    for (case, kind, dim) in [("a-seeds", Kind::A, 2048), ("b-seeds", Kind::B, 512)] {
        if !want(case) {
            continue;
        }
        header(&format!(
            "kind {kind:?} {dim}-d, 5,000 training vectors: seed 1 vs seed 2"
        ));
        let s1 = synth(kind, dim, 1, 5000, &scratch)?;
        let s2 = synth(kind, dim, 2, 5000, &scratch)?;
        let (t1, t2) = (
            read(&s1.join("train/train_feature"))?,
            read(&s2.join("train/train_feature"))?,
        );
        let q2 = codec_host::eval::load(&s2, &ReadOptions::default())?;
        measure("seed 2 -> seed 2 (own source)", &t2, &q2.query, Some(&q2))?;
        measure("seed 1 -> seed 2 (other source)", &t1, &q2.query, Some(&q2))?;
    }
    Ok(())
}
