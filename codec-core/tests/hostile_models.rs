//! Valid but hostile models: every field within what `Model::parse` accepts, chosen to reach
//! the edges of the coder's arithmetic. Test builds check overflow, so an intermediate that
//! leaves its integer type fails here even where release builds would only wrap.

use codec_core::scalable::{decode_scalable, scalable_len};
use codec_core::{Model, decode, encode};

mod common;

/// Step logs alternating between -2^24 and +2^24 with 64 classes per octave and step growth:
/// a scalable layer after a step logged at -2^24 leaves a spread near -2^24, and the next
/// layer's step logged at +2^24 puts the spread/step difference near -2^25 before the
/// multiplication by the classes per octave.
fn extreme_step_logs() -> Vec<u8> {
    common::build(&common::Spec {
        extreme_step_logs: true,
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
fn extreme_step_logs_decode_without_overflow() {
    let bytes = extreme_step_logs();
    let model = Model::parse(&bytes).unwrap();
    let mut out = vec![0f32; model.dim()];
    let total = scalable_len(&model);
    for code in byte_strings(total.max(8)) {
        let _ = decode(&model, &code, &mut out);
        let _ = decode_scalable(&model, &code, &mut out);
    }
    for x in common::vectors(3, 20) {
        for budget in [model.min_budget(), 16, 64] {
            let mut code = vec![0u8; budget];
            if let Ok(len) = encode(&model, &x, budget, &mut code) {
                decode(&model, &code[..len], &mut out).unwrap();
            }
        }
    }
}
