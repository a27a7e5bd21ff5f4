//! The workspace functions code exactly as the stack-backed ones, in a buffer of exactly
//! `workspace_size` bytes at any alignment and whatever it held before; a smaller buffer is an
//! error that says how much is needed, and leaves the outputs untouched.

mod common;

use codec_core::internals::{StepGrowth, encode_at_step};
use codec_core::{
    Error, Model, Op, decode, decode_scalable, decode_scalable_ws, decode_ws, encode,
    encode_scalable, encode_scalable_ws, encode_ws, max_workspace_size, min_budget, scalable_len,
    workspace_size,
};
use std::path::PathBuf;

/// The golden models (a trellis model and a one-quantiser model, 48-d) and the 64-d test
/// model whose transform rows reach the coefficient limit.
fn model_bytes() -> Vec<Vec<u8>> {
    let golden = |name: &str| {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("tests/golden")
            .join(name);
        std::fs::read(path).unwrap()
    };
    let mut wide = common::small(true, common::DEFAULT_GROWTH);
    wide.dim = 64;
    wide.active = 64;
    wide.transform_entry = Some(32767);
    vec![
        golden("model-v1.nfcm"),
        golden("model-v1-scalar.nfcm"),
        common::build(&common::small(false, StepGrowth::default())),
        common::build(&wide),
    ]
}

fn inputs(dim: usize) -> Vec<Vec<f32>> {
    common::vectors(7, 12)
        .into_iter()
        .map(|v| v.into_iter().cycle().take(dim).collect())
        .collect()
}

/// A workspace of exactly `size` bytes starting `offset` bytes into a buffer full of `fill`.
fn buffer(size: usize, offset: usize, fill: u8) -> Vec<u8> {
    vec![fill; size + offset]
}

#[test]
fn workspace_codes_match_the_stack_codes_byte_for_byte() {
    for bytes in model_bytes() {
        let m = Model::parse(&bytes).unwrap();
        let min = min_budget(&m).unwrap();
        for (i, x) in inputs(m.dim()).iter().enumerate() {
            let offset = i % 8;
            let fill = [0u8, 0xA5, 0xFF][i % 3];
            for budget in [min, 16.max(min), 33, 64, 200] {
                let mut want = vec![0u8; budget];
                let want_len = encode(&m, x, budget, &mut want).unwrap();
                let size = workspace_size(&m, Op::Encode);
                let mut ws = buffer(size, offset, fill);
                let mut got = vec![0u8; budget];
                let got_len = encode_ws(&m, x, budget, &mut got, &mut ws[offset..]).unwrap();
                assert_eq!((got_len, &got), (want_len, &want), "budget {budget}");

                let mut back = vec![0f32; m.dim()];
                decode(&m, &want[..want_len], &mut back).unwrap();
                let mut ws = buffer(workspace_size(&m, Op::Decode), offset, fill);
                let mut back_ws = vec![0f32; m.dim()];
                decode_ws(&m, &want[..want_len], &mut back_ws, &mut ws[offset..]).unwrap();
                let bits = |v: &[f32]| v.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
                assert_eq!(bits(&back_ws), bits(&back), "budget {budget}");
            }

            let total = scalable_len(&m);
            let mut want = vec![0u8; total];
            encode_scalable(&m, x, &mut want).unwrap();
            let mut ws = buffer(workspace_size(&m, Op::EncodeScalable), offset, fill);
            let mut got = vec![0u8; total];
            encode_scalable_ws(&m, x, &mut got, &mut ws[offset..]).unwrap();
            assert_eq!(got, want);
            let mut back = vec![0f32; m.dim()];
            let layers = decode_scalable(&m, &want, &mut back).unwrap();
            let mut ws = buffer(workspace_size(&m, Op::DecodeScalable), offset, fill);
            let mut back_ws = vec![0f32; m.dim()];
            let layers_ws = decode_scalable_ws(&m, &want, &mut back_ws, &mut ws[offset..]).unwrap();
            assert_eq!(layers_ws, layers);
            assert!(
                back_ws
                    .iter()
                    .zip(&back)
                    .all(|(a, b)| a.to_bits() == b.to_bits())
            );
        }
    }
}

#[test]
fn a_short_workspace_is_refused_with_both_sizes_and_writes_nothing() {
    for bytes in model_bytes() {
        let m = Model::parse(&bytes).unwrap();
        let x = &inputs(m.dim())[0];
        let needed = workspace_size(&m, Op::Encode);
        let mut ws = vec![0u8; needed - 1];
        let mut out = [0xA5u8; 64];
        assert_eq!(
            encode_ws(&m, x, 64, &mut out, &mut ws),
            Err(Error::WorkspaceTooSmall {
                needed,
                actual: needed - 1
            })
        );
        assert!(out.iter().all(|&b| b == 0xA5));

        let mut code = [0u8; 64];
        let len = encode(&m, x, 64, &mut code).unwrap();
        let needed = workspace_size(&m, Op::Decode);
        let mut ws = vec![0u8; needed - 1];
        let mut back = vec![1.5f32; m.dim()];
        assert_eq!(
            decode_ws(&m, &code[..len], &mut back, &mut ws),
            Err(Error::WorkspaceTooSmall {
                needed,
                actual: needed - 1
            })
        );
        assert!(back.iter().all(|&v| v == 1.5));

        for op in [Op::EncodeScalable, Op::DecodeScalable] {
            let needed = workspace_size(&m, op);
            let mut ws = vec![0u8; needed - 1];
            let mut code = vec![0u8; scalable_len(&m)];
            let err = Err(Error::WorkspaceTooSmall {
                needed,
                actual: needed - 1,
            });
            if op == Op::EncodeScalable {
                assert_eq!(encode_scalable_ws(&m, x, &mut code, &mut ws), err);
            } else {
                encode_scalable(&m, x, &mut code).unwrap();
                assert_eq!(decode_scalable_ws(&m, &code, &mut back, &mut ws), err);
            }
        }
        let message = Error::WorkspaceTooSmall {
            needed: 100,
            actual: 99,
        }
        .to_string();
        assert!(
            message.contains("100") && message.contains("99"),
            "{message}"
        );
    }
}

#[test]
fn sizes_follow_the_model_and_the_bound_covers_every_model_of_a_dimension() {
    for bytes in model_bytes() {
        let m = Model::parse(&bytes).unwrap();
        for op in Op::ALL {
            let size = workspace_size(&m, op);
            assert!(size <= max_workspace_size(op, m.dim()), "{op:?}");
        }
    }
    // The format's largest model: 2048 active dimensions and 1024 coefficients.
    assert_eq!(max_workspace_size(Op::Decode, 8192), 8 * (512 + 2048) + 7);
    assert_eq!(max_workspace_size(Op::Encode, 8192), 8 * (512 + 1024) + 7);
    assert!(max_workspace_size(Op::Encode, 16) < max_workspace_size(Op::Encode, 2048));
}

#[test]
fn the_minimum_budget_is_the_length_of_the_coarsest_code() {
    // `min_budget` writes the coarsest code directly; rate control's coder must agree.
    for bytes in model_bytes() {
        let m = Model::parse(&bytes).unwrap();
        let min = min_budget(&m).unwrap();
        for x in inputs(m.dim()) {
            let mut out = [0u8; 128];
            let coarsest = m.steps() - 1;
            let len = encode_at_step(&m, &x, coarsest, 128, &mut out).unwrap();
            assert_eq!(len, Some(min));
        }
    }
}

mod properties {
    use super::*;
    use proptest::prelude::*;
    use std::sync::OnceLock;

    fn models() -> &'static Vec<Vec<u8>> {
        static BYTES: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
        BYTES.get_or_init(model_bytes)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]

        /// Any vector, budget, workspace address and leftover content: the workspace call
        /// returns what the stack call returns, error or code, and decodes alike.
        #[test]
        fn workspace_calls_agree_with_the_stack_calls(
            which in 0usize..4,
            values in prop::collection::vec(-8.0f32..8.0, 64),
            budget in 1usize..300,
            offset in 0usize..8,
            fill in any::<u8>(),
            extra in 0usize..16,
        ) {
            let m = Model::parse(&models()[which]).unwrap();
            let x: Vec<f32> = values.into_iter().cycle().take(m.dim()).collect();
            let mut want = vec![0u8; budget];
            let want_result = encode(&m, &x, budget, &mut want);
            let mut ws = vec![fill; workspace_size(&m, Op::Encode) + offset + extra];
            let mut got = vec![0u8; budget];
            let got_result = encode_ws(&m, &x, budget, &mut got, &mut ws[offset..]);
            prop_assert_eq!(got_result, want_result);
            let Ok(len) = want_result else { return Ok(()) };
            prop_assert_eq!(&got[..len], &want[..len]);

            let mut back = vec![0f32; m.dim()];
            let mut back_ws = vec![0f32; m.dim()];
            decode(&m, &want[..len], &mut back).unwrap();
            let mut ws = vec![fill; workspace_size(&m, Op::Decode) + offset + extra];
            decode_ws(&m, &want[..len], &mut back_ws, &mut ws[offset..]).unwrap();
            prop_assert!(back.iter().zip(&back_ws).all(|(a, b)| a.to_bits() == b.to_bits()));
        }

        /// Any bytes decode, or fail, alike with and without a workspace; a failure leaves the
        /// output as it was.
        #[test]
        fn workspace_decode_agrees_on_any_bytes(
            which in 0usize..4,
            code in prop::collection::vec(any::<u8>(), 0..80),
            offset in 0usize..8,
        ) {
            let m = Model::parse(&models()[which]).unwrap();
            let mut back = vec![0.25f32; m.dim()];
            let mut back_ws = vec![0.25f32; m.dim()];
            let want = decode(&m, &code, &mut back);
            let mut ws = vec![0x5Au8; workspace_size(&m, Op::Decode) + offset];
            let got = decode_ws(&m, &code, &mut back_ws, &mut ws[offset..]);
            prop_assert_eq!(got, want);
            prop_assert!(back.iter().zip(&back_ws).all(|(a, b)| a.to_bits() == b.to_bits()));
            if got.is_err() {
                prop_assert!(back_ws.iter().all(|&v| v == 0.25));
            }
        }
    }
}
