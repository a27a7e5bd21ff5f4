//! Decode arbitrary bytes with a valid model: never a panic; nothing written on failure.
#![no_main]

mod models;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, code)) = data.split_first() else { return };
    let model = models::pick(selector);
    let mut out = vec![1.5f32; model.dim()];
    match codec_core::decode(&model, code, &mut out) {
        Ok(()) => assert!(out.iter().all(|v| v.is_finite())),
        Err(_) => assert!(out.iter().all(|&v| v == 1.5), "output written on failure"),
    }
});
