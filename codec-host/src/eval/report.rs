//! The evaluation as a text table and as JSON.

use super::Report;
use std::fmt::Write as _;

/// A fixed-width table, one row per budget.
pub fn table(r: &Report) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{} queries x {} gallery, {}-d, mean query norm {:.3}; model {} bytes, minimum budget {} bytes",
        r.queries, r.gallery, r.dim, r.mean_norm, r.model_bytes, r.min_budget
    );
    if let Some(u) = r.uncompressed {
        let _ = writeln!(
            s,
            "uncompressed: ACC_reid {:.4}  AP@1 {:.4}  mAP@100 {:.4}",
            u.acc_reid, u.ap1, u.map100
        );
    }
    let _ = writeln!(
        s,
        "{:>6} {:>5} {:>6} {:>8} {:>8} {:>8} {:>6} {:>7} {:>7} {:>8} {:>7} {:>7} {:>7}",
        "budget",
        "max",
        "mean",
        "dr",
        "rmse",
        "bound",
        "ratio",
        "rel.err",
        "cosine",
        "ACC_reid",
        "AP@1",
        "mAP",
        "retain"
    );
    for x in &r.rates {
        let (acc, ap1, map) = x.scores.map_or((f64::NAN, f64::NAN, f64::NAN), |sc| {
            (sc.acc_reid, sc.ap1, sc.map100)
        });
        // Where the bound is (nearly) zero, a ratio says nothing.
        let ratio = if x.bound_rmse > 1e-9 {
            format!("{:.2}", x.rmse / x.bound_rmse)
        } else {
            "-".to_string()
        };
        let _ = writeln!(
            s,
            "{:>6} {:>5} {:>6.1} {:>8.4} {:>8.4} {:>8.4} {:>6} {:>7.4} {:>7.4} {:>8.4} {:>7.4} {:>7.4} {:>6.1}%",
            x.budget,
            x.bytes_max,
            x.bytes_mean,
            x.dr,
            x.rmse,
            x.bound_rmse,
            ratio,
            x.relative_error,
            x.cosine,
            acc,
            ap1,
            map,
            100.0 * x.retention.unwrap_or(f64::NAN),
        );
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
