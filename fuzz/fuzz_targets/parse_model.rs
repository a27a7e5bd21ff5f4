//! Parse arbitrary model bytes: an error or a model that can encode and decode.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(model) = codec_core::Model::parse(data) {
        // A model that parses must be usable: code a vector at its minimum budget.
        let x = vec![0.25f32; model.dim()];
        let budget = model.min_budget();
        let mut code = vec![0u8; budget];
        let len = codec_core::encode(&model, &x, budget, &mut code).expect("minimum budget always fits");
        let mut out = vec![0f32; model.dim()];
        codec_core::decode(&model, &code[..len], &mut out).expect("own code decodes");
    }
});
