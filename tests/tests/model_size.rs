//! Model size by dimension, budget set and coefficient count: what a firmware pays in flash.
//! Written to target/naicfc-figures/model-size.txt.

mod support;

use codec_core::Model;
use codec_core::internals::ModelInternals;
use support::{naicfc, work_dir};

#[test]
fn model_size_per_dimension_and_budget_set() {
    let dir = work_dir("model_size");
    let s = |p: &std::path::Path| p.to_str().unwrap().to_string();
    let mut report = String::from(
        "model bytes (naicfc train on synthetic kind-A features, 400 training vectors)\n\
         dim  budgets              max-coeffs  active  coeffs  bytes\n",
    );
    for dim in [128usize, 512, 2048] {
        let data = dir.join(format!("data-{dim}"));
        let dim_text = dim.to_string();
        naicfc(&[
            "synth",
            "--out",
            &s(&data),
            "--dim",
            &dim_text,
            "--identities",
            "80",
            "--images-per-identity",
            "5",
            "--test-identities",
            "2",
            "--queries",
            "2",
            "--gallery",
            "4",
        ]);
        let mut sizes = Vec::new();
        for (budgets, max_coeffs) in [
            ("16,32,64,128,256", "512"),
            ("16", "512"),
            ("256", "512"),
            ("16,32,64,128,256", "64"),
        ] {
            let model = dir.join(format!("m-{dim}-{budgets}-{max_coeffs}.nfcm"));
            naicfc(&[
                "train",
                "--data",
                &s(&data),
                "--out",
                &s(&model),
                "--budgets",
                budgets,
                "--max-coeffs",
                max_coeffs,
            ]);
            let bytes = std::fs::read(&model).unwrap();
            let m = Model::parse(&bytes).unwrap();
            assert_eq!(m.dim(), dim);
            assert_eq!(m.budget_count(), budgets.split(',').count());
            assert!(m.coeffs() <= max_coeffs.parse().unwrap());
            report.push_str(&format!(
                "{dim:>4} {budgets:<20} {max_coeffs:>11} {:>7} {:>7} {:>6}\n",
                m.active_count(),
                m.coeffs(),
                bytes.len()
            ));
            sizes.push(bytes.len());
        }
        // Fewer coefficients must mean a smaller model: the transform dominates its size.
        assert!(sizes[3] <= sizes[0], "max-coeffs 64 gave a larger model");
    }
    println!("{report}");
    std::fs::write(support::figures_dir().join("model-size.txt"), report).unwrap();
}
