//! The evaluation as a text table and as JSON.

use super::Report;
use std::fmt::Write as _;

/// A fixed-width table, one row per budget.
pub fn table(r: &Report) -> String {
    let mut s = String::new();
    let reid = r.uncompressed.is_some() || r.rates.iter().any(|x| x.scores.is_some());
    if reid {
        let _ = writeln!(
            s,
            "{} queries x {} gallery, {}-d, mean query norm {:.3}; model {} bytes, minimum budget {} bytes",
            r.queries, r.gallery, r.dim, r.mean_norm, r.model_bytes, r.min_budget
        );
    } else {
        let _ = writeln!(
            s,
            "{} vectors, {}-d, mean norm {:.3}; model {} bytes, minimum budget {} bytes (no \
             identities: no re-ID columns)",
            r.queries, r.dim, r.mean_norm, r.model_bytes, r.min_budget
        );
    }
    if let Some(u) = r.uncompressed {
        let _ = writeln!(
            s,
            "uncompressed: ACC_reid {:.4}  AP@1 {:.4}  mAP@100 {:.4}",
            u.acc_reid, u.ap1, u.map100
        );
    }
    let _ = write!(
        s,
        "{:>6} {:>5} {:>6} {:>8} {:>8} {:>8} {:>6} {:>7} {:>7}",
        "budget", "max", "mean", "dr", "rmse", "bound", "ratio", "rel.err", "cosine"
    );
    if reid {
        let _ = write!(
            s,
            " {:>8} {:>7} {:>7} {:>7}",
            "ACC_reid", "AP@1", "mAP", "retain"
        );
    }
    s.push('\n');
    for x in &r.rates {
        // Where the bound is (nearly) zero, a ratio says nothing.
        let ratio = if x.bound_rmse > 1e-9 {
            format!("{:.2}", x.rmse / x.bound_rmse)
        } else {
            "-".to_string()
        };
        let _ = write!(
            s,
            "{:>6} {:>5} {:>6.1} {:>8.4} {:>8.4} {:>8.4} {:>6} {:>7.4} {:>7.4}",
            x.budget,
            x.bytes_max,
            x.bytes_mean,
            x.dr,
            x.rmse,
            x.bound_rmse,
            ratio,
            x.relative_error,
            x.cosine,
        );
        if reid {
            let cell = |v: Option<f64>, width: usize| match v {
                Some(v) => format!(" {v:>width$.4}"),
                None => format!(" {:>width$}", "-"),
            };
            s.push_str(&cell(x.scores.map(|sc| sc.acc_reid), 8));
            s.push_str(&cell(x.scores.map(|sc| sc.ap1), 7));
            s.push_str(&cell(x.scores.map(|sc| sc.map100), 7));
            match x.retention {
                Some(v) => {
                    let _ = write!(s, " {:>6.1}%", 100.0 * v);
                }
                None => {
                    let _ = write!(s, " {:>7}", "-");
                }
            }
        }
        s.push('\n');
    }
    if r.rates.iter().any(|x| x.scalable_dr.is_some()) {
        let _ = writeln!(
            s,
            "scalable (prefixes of one code at the largest budget) vs separate codes:"
        );
        for x in &r.rates {
            if let Some(dr) = x.scalable_dr {
                let acc = x.scalable_scores.map_or(f64::NAN, |sc| sc.acc_reid);
                let sep = x.scores.map_or(f64::NAN, |sc| sc.acc_reid);
                let _ = writeln!(
                    s,
                    "{:>6}  dr {:.4} ({:+.1}% vs {:.4})  ACC_reid {:.4} (vs {:.4})",
                    x.budget,
                    dr,
                    100.0 * (dr / x.dr - 1.0),
                    x.dr,
                    acc,
                    sep
                );
            }
        }
    }
    if r.rates.iter().any(|x| x.symmetric_scores.is_some()) {
        let _ = writeln!(s, "symmetric (gallery compressed too):");
        for x in &r.rates {
            if let Some(sc) = x.symmetric_scores {
                let _ = writeln!(
                    s,
                    "{:>6}  ACC_reid {:.4}  AP@1 {:.4}  mAP {:.4}",
                    x.budget, sc.acc_reid, sc.ap1, sc.map100
                );
            }
        }
    }
    s
}

/// The report as pretty JSON.
pub fn json(r: &Report) -> String {
    serde_json::to_string_pretty(r).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
}

/// What every column of the table means, for `naicfc eval --help`.
pub const COLUMNS: &str = "\
Columns of the table, one row per budget:
  budget    the byte budget every code respects
  max/mean  longest and mean code length in bytes
  dr        mean L2 distance between a vector and its reconstruction (the competition's dr)
  rmse      root mean squared L2 distance
  bound     the least rmse any codec of this many bits could reach on Gaussian vectors with
            the training set's spectrum (rate-distortion bound)
  ratio     rmse / bound: how far from that bound (1.00 would be on it)
  rel.err   mean of |x - x'| / |x|
  cosine    mean cosine between a vector and its reconstruction
  ACC_reid  re-ID accuracy of the reconstructed queries against the original gallery:
            (mAP@100 + AP@1) / 2 (only with identity lists)
  AP@1      share of queries whose first result has their identity
  mAP       mean average precision over the first 100 results
  retain    ACC_reid as a share of the uncompressed queries' ACC_reid";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::RateResult;

    fn report(scores: bool) -> Report {
        let s = crate::metrics::Scores {
            acc_reid: 0.8,
            ap1: 0.9,
            map100: 0.7,
            rank1: 0.9,
            rank5: 1.0,
            rank10: 1.0,
            map: 0.7,
            minp: 0.5,
            incomplete: 0,
            queries: 10,
        };
        Report {
            queries: 10,
            gallery: if scores { 20 } else { 0 },
            dim: 8,
            model_bytes: 1000,
            min_budget: 4,
            mean_norm: 1.0,
            uncompressed: scores.then_some(s),
            rates: vec![RateResult {
                budget: 16,
                bytes_max: 16,
                bytes_mean: 16.0,
                dr: 0.5,
                rmse: 0.6,
                relative_error: 0.5,
                cosine: 0.9,
                bound_rmse: 0.3,
                scores: scores.then_some(s),
                retention: scores.then_some(1.0),
                symmetric_scores: None,
                scalable_dr: None,
                scalable_scores: None,
                encode_seconds: 0.0,
                decode_seconds: 0.0,
            }],
        }
    }

    #[test]
    fn without_identities_the_table_has_no_re_id_columns_and_no_nan() {
        let t = table(&report(false));
        assert!(!t.contains("NaN"), "{t}");
        assert!(!t.contains("ACC_reid"), "{t}");
        assert!(t.contains("10 vectors, 8-d"), "{t}");
        assert!(t.contains("2.00"), "{t}"); // the ratio
        let t = table(&report(true));
        assert!(t.contains("ACC_reid"), "{t}");
        assert!(t.contains("100.0%"), "{t}");
    }

    #[test]
    fn every_column_is_explained() {
        let t = table(&report(true));
        let header = t
            .lines()
            .find(|l| l.trim_start().starts_with("budget"))
            .unwrap();
        for col in header.split_whitespace() {
            let name = if col == "max" || col == "mean" {
                "max/mean"
            } else {
                col
            };
            assert!(COLUMNS.contains(&format!("  {name} ")), "{col} unexplained");
        }
    }
}
