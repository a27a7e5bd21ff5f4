//! Decode arbitrary bytes as a scalable code with a valid model: never a panic; nothing
//! written on failure. Each layer's step changes the spreads the next layer's classes come
//! from, an arithmetic path plain decoding never takes.
#![no_main]

mod models;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, code)) = data.split_first() else { return };
    let model = models::pick(selector);
    let mut out = vec![1.5f32; model.dim()];
    match codec_core::decode_scalable(&model, code, &mut out) {
        Ok(_) => assert!(out.iter().all(|v| v.is_finite())),
        Err(_) => assert!(out.iter().all(|&v| v == 1.5), "output written on failure"),
    }
});
