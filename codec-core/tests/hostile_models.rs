//! Valid but hostile models: every field within what `Model::parse` accepts, chosen to reach
//! the edges of the coder's arithmetic. Test builds check overflow, so an intermediate that
//! leaves its integer type fails here even where release builds would only wrap.

use codec_core::internals::STEP_LOG_LIMIT;
use codec_core::{Model, decode, encode};
use codec_core::{decode_scalable, scalable_len};

mod common;

/// A model with step logs alternating between `-magnitude` and `+magnitude`, with 64 classes
/// per octave and step growth: a scalable layer after a step logged at `-magnitude` leaves a
/// spread near it, and the next layer's step logged at `+magnitude` doubles the spread/step
/// difference that is multiplied by the classes per octave.
fn extreme_step_logs(magnitude: u32) -> Result<Vec<u8>, codec_core::ModelError> {
    common::try_build(&common::Spec {
        extreme_step_logs: Some(magnitude as i32),
        ..common::small(true, common::DEFAULT_GROWTH)
    })
}

/// Byte strings of every length up to `max`, from a fixed pseudo-random sequence.
fn byte_strings(max: usize) -> Vec<Vec<u8>> {
    let mut s = 7u32;
    let mut next = || {
        s = s.wrapping_mul(1_103_515_245).wrapping_add(12345);
        (s >> 16) as u8
    };
    (1..=max)
        .flat_map(|len| (0..40).map(move |_| len))
        .map(|len| (0..len).map(|_| next()).collect())
        .collect()
}

#[test]
fn the_largest_step_logs_decode_without_overflow() {
    let bytes = extreme_step_logs(STEP_LOG_LIMIT).unwrap();
    let model = Model::parse(&bytes).unwrap();
    let mut out = vec![0f32; model.dim()];
    let total = scalable_len(&model);
    for code in byte_strings(total.max(8)) {
        let _ = decode(&model, &code, &mut out);
        let _ = decode_scalable(&model, &code, &mut out);
    }
    for x in common::vectors(3, 20) {
        for budget in [codec_core::min_budget(&model).unwrap(), 16, 64] {
            let mut code = vec![0u8; budget];
            if let Ok(len) = encode(&model, &x, budget, &mut code) {
                decode(&model, &code[..len], &mut out).unwrap();
            }
        }
    }
}

#[test]
fn step_logs_beyond_the_limit_are_rejected() {
    // The limit keeps the class arithmetic inside 32 bits: step logs of 2^24, once valid, made
    // a scalable decode overflow. The writer refuses such a model as the parser does.
    assert_eq!(
        extreme_step_logs(STEP_LOG_LIMIT + 1),
        Err(codec_core::ModelError::StepLogOutOfRange)
    );
}
