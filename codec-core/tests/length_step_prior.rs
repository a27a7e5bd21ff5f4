//! The length step prior: the step index is coded with a prior conditioned on the code's
//! length, and codes are padded with zero bytes to the length they were coded for.

mod common;

use codec_core::internals::StepGrid;
use codec_core::internals::{encode_at_step, encode_coded};
use codec_core::{Error, Model, StreamError, decode};

fn model_bytes() -> Vec<u8> {
    common::build(&common::small(true, common::DEFAULT_GROWTH))
}

#[test]
fn codes_fill_their_budget_and_decode() {
    let bytes = model_bytes();
    let m = Model::parse(&bytes).unwrap();
    assert!(m.step_prediction(16).is_some());
    assert_eq!(m.format_version(), 1);
    for x in common::vectors(5, 50) {
        for budget in [
            codec_core::min_budget(&m).unwrap(),
            12,
            16,
            20,
            32,
            48,
            64,
            100,
            300,
        ] {
            let mut code = vec![0u8; budget];
            let c = encode_coded(&m, &x, budget, &mut code).unwrap();
            assert_eq!(c.len, budget);
            let mut back = vec![0f32; 48];
            decode(&m, &code, &mut back).unwrap();
        }
    }
}

#[test]
fn a_fixed_step_code_is_conditioned_on_its_own_length() {
    let bytes = model_bytes();
    let m = Model::parse(&bytes).unwrap();
    for x in common::vectors(6, 20) {
        let mut code = vec![0u8; 64];
        let c = encode_coded(&m, &x, 64, &mut code).unwrap();
        let mut at_step = vec![0u8; 4096];
        let len = encode_at_step(&m, &x, c.step, 4096, &mut at_step)
            .unwrap()
            .unwrap();
        assert!(len <= 64, "{len} bytes for a step that fits 64");
        let (mut a, mut b) = (vec![0f32; 48], vec![0f32; 48]);
        decode(&m, &code, &mut a).unwrap();
        decode(&m, &at_step[..len], &mut b).unwrap();
        // The same step and slope: the same values, whatever the length.
        if c.slope_scale == codec_core::internals::FULL_SLOPE {
            assert_eq!(a, b);
        }
    }
}

#[test]
fn padding_must_be_zero() {
    let bytes = model_bytes();
    let m = Model::parse(&bytes).unwrap();
    let mut code = vec![0u8; 64];
    encode_coded(&m, &[0.0; 48], 64, &mut code).unwrap();
    assert_eq!(
        code[60..],
        [0, 0, 0, 0],
        "an all-zero vector needs few bytes"
    );
    let mut back = vec![0f32; 48];
    decode(&m, &code, &mut back).unwrap();
    code[63] = 1;
    assert_eq!(
        decode(&m, &code, &mut back),
        Err(Error::Stream(StreamError::BytesAfterSymbols))
    );
}
