//! Parse arbitrary model bytes: an error or a model that can encode and decode.
//!
//! A model carries a CRC-32 over all its bytes, so almost every mutation of a valid model
//! would stop at the checksum. The custom mutator below re-seals each mutated input (length
//! field and checksum set to match), so the fuzzer's inputs get past the checksum to the
//! validation of every field; inputs from elsewhere (the seeds, a crash file) are also tried
//! re-sealed.
#![no_main]

use libfuzzer_sys::{fuzz_mutator, fuzz_target};

/// Offset of the model's total-length field (u32 LE) in its header.
const LENGTH_FIELD: usize = 8;
/// The smallest input worth sealing: a 64-byte header and the 4-byte checksum.
const SEALABLE: usize = 68;

/// Sets the length field to the buffer's length and the trailing CRC-32 to the checksum of
/// everything before it.
fn seal(bytes: &mut [u8]) {
    let n = bytes.len();
    if n < SEALABLE {
        return;
    }
    bytes[LENGTH_FIELD..LENGTH_FIELD + 4].copy_from_slice(&(n as u32).to_le_bytes());
    let sum = codec_core::internals::crc32(&bytes[..n - 4]);
    bytes[n - 4..].copy_from_slice(&sum.to_le_bytes());
}

fn exercise(bytes: &[u8]) {
    if let Ok(model) = codec_core::Model::parse(bytes) {
        // A model that parses either has a minimum budget, at which every vector codes, or
        // is refused for encoding by name (its coarsest code is too long).
        let Ok(min_budget) = codec_core::min_budget(&model) else {
            return;
        };
        // Code a vector at the minimum budget and at one of the trained budgets (the length
        // step prior predicts the step from the code length).
        let x: Vec<f32> = (0..model.dim()).map(|i| ((i % 7) as f32 - 3.0) * 0.125).collect();
        let mut budgets = vec![min_budget];
        budgets.extend(model.budget(0).filter(|&b| b >= min_budget));
        for budget in budgets {
            let mut code = vec![0u8; budget];
            let len = codec_core::encode(&model, &x, budget, &mut code)
                .expect("a budget at or above the minimum always fits");
            let mut out = vec![0f32; model.dim()];
            codec_core::decode(&model, &code[..len], &mut out).expect("own code decodes");
            assert!(out.iter().all(|v| v.is_finite()));
        }
        // Parsing without the checksum must agree on a model whose checksum is right.
        assert!(codec_core::Model::parse_trusted(bytes).is_ok());
    }
}

fuzz_target!(|data: &[u8]| {
    exercise(data);
    if data.len() >= SEALABLE {
        let mut sealed = data.to_vec();
        seal(&mut sealed);
        if sealed != data {
            exercise(&sealed);
        }
    }
    // The declared length never exceeds the buffer, and only a model's own bytes parse.
    if let Ok(n) = codec_core::Model::declared_len(data) {
        assert!(n <= data.len());
        if codec_core::Model::parse(data).is_ok() {
            assert_eq!(n, data.len());
        }
    }
});

fuzz_mutator!(|data: &mut [u8], size: usize, max_size: usize, _seed: u32| {
    let size = libfuzzer_sys::fuzzer_mutate(data, size, max_size);
    seal(&mut data[..size]);
    size
});
