//! The minimum budget is the length of the coarsest code of the zero vector, and a model
//! promises that every input fits it. The dead-zone quantiser zeroes every coefficient at the
//! coarsest step; the trellis once could pay a level there for a huge coefficient when a
//! (valid, if hostile) model gave it no rate penalty and reconstruction offsets that make the
//! level cheap in error: the coarsest code then outgrew the minimum budget.

use codec_core::internals::StepGrowth;
use codec_core::{Model, decode, encode};

mod common;

/// A 64-d trellis model whose transform rows are all ±1 (not unit norm: a coefficient reaches
/// the coder's limit), with a zero slope and offsets that put quantiser 0's first level near
/// a step and quantiser 1's near half a step.
fn hostile() -> Vec<u8> {
    common::build(&common::Spec {
        dim: 64,
        active: 64,
        shift: 12,
        trellis: true,
        growth: StepGrowth::default(),
        transform_entry: Some(32767),
        trellis_slope: 0,
        recon_offset: [32735, 18000],
        extreme_step_logs: None,
        gains: None,
    })
}

#[test]
fn every_input_fits_the_minimum_budget_whatever_the_trellis_slope() {
    let bytes = hostile();
    let model = Model::parse(&bytes).unwrap();
    let min = codec_core::min_budget(&model).unwrap();
    // Hadamard row 1 is +1 on even columns: this input puts coefficients 0 and 1 at the
    // limit and every other near zero.
    let x: Vec<f32> = (0..64)
        .map(|i| if i % 2 == 0 { 4096.0 } else { 0.0 })
        .collect();
    for input in [x.clone(), x.iter().map(|v| -v).collect(), vec![4096.0; 64]] {
        for budget in min..min + 4 {
            let mut code = vec![0u8; budget];
            let len = encode(&model, &input, budget, &mut code)
                .unwrap_or_else(|e| panic!("budget {budget} (minimum {min}): {e}"));
            assert!(len <= budget);
            let mut out = vec![0f32; 64];
            decode(&model, &code[..len], &mut out).unwrap();
        }
    }
}
