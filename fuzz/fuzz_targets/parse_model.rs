//! Parse arbitrary model bytes: an error or a model that can encode and decode. Each input is
//! also parsed with its length field and checksum repaired, so the fuzzer gets past the
//! checksum to the validation of every field.
#![no_main]

use libfuzzer_sys::fuzz_target;

fn exercise(bytes: &[u8]) {
    if let Ok(model) = codec_core::Model::parse(bytes) {
        // A model that parses either has a minimum budget, at which every vector codes, or
        // is refused for encoding by name (its coarsest code is too long).
        let Ok(budget) = codec_core::min_budget(&model) else {
            return;
        };
        let x = vec![0.25f32; model.dim()];
        let mut code = vec![0u8; budget];
        let len = codec_core::encode(&model, &x, budget, &mut code).expect("minimum budget always fits");
        let mut out = vec![0f32; model.dim()];
        codec_core::decode(&model, &code[..len], &mut out).expect("own code decodes");
    }
}

fuzz_target!(|data: &[u8]| {
    exercise(data);
    if data.len() >= 68 {
        let mut fixed = data.to_vec();
        let n = fixed.len();
        fixed[8..12].copy_from_slice(&(n as u32).to_le_bytes());
        let sum = codec_core::internals::crc32(&fixed[..n - 4]);
        fixed[n - 4..].copy_from_slice(&sum.to_le_bytes());
        exercise(&fixed);
    }
});
