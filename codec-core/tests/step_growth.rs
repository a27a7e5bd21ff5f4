//! Low-rate step growth: steps grow only below the threshold, by the documented
//! factor, and stay ordered from the finest step index to the coarsest.

mod common;

use codec_core::Model;
use codec_core::internals::{MAX_GROWTH_LOG, StepGrowth};
use codec_core::internals::{ModelInternals, StepGrid};

fn build(growth: StepGrowth) -> Vec<u8> {
    common::build(&common::small(true, growth))
}

#[test]
fn steps_grow_by_the_documented_factor_below_the_threshold_only() {
    let plain_bytes = build(StepGrowth::default());
    let plain = Model::parse(&plain_bytes).unwrap();
    for growth in [
        StepGrowth {
            slope: 128,
            threshold: 0,
        },
        StepGrowth {
            slope: 1024,
            threshold: -700,
        },
    ] {
        let bytes = build(growth);
        let m = Model::parse(&bytes).unwrap();
        let mut grown = 0;
        for k in 0..m.coeffs() {
            let mut previous = 0;
            for j in 0..m.steps() {
                let g = m.growth_log(k, j);
                assert!(g % 16 == 0 && (0..=MAX_GROWTH_LOG).contains(&g), "{g}");
                let d = m.coef_spread_log(k) - m.step_log(j);
                let expected = if d >= i32::from(growth.threshold) {
                    0
                } else {
                    (i32::from(growth.slope) * (i32::from(growth.threshold) - d) / 256)
                        .min(MAX_GROWTH_LOG)
                };
                assert!(
                    g <= expected && expected - g < 16,
                    "k {k} j {j}: {g} vs {expected}"
                );
                let (s, base) = (m.step(k, j), plain.step(k, j));
                if g == 0 {
                    assert_eq!(s, base);
                } else {
                    grown += 1;
                    if base > 1 << 12 {
                        let ratio = s as f64 / base as f64;
                        let want = (f64::from(g) / 256.0).exp2();
                        assert!((ratio / want - 1.0).abs() < 1e-3, "{ratio} vs {want}");
                    }
                }
                assert!(s >= previous, "steps of coefficient {k} not ordered at {j}");
                previous = s;
            }
        }
        assert!(grown > 0, "the test model never reaches the growth");
    }
}
