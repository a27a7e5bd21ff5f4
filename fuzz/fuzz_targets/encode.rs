//! Encode arbitrary f32 bit patterns at arbitrary budgets: the budget holds or a clear error
//! returns, and every code decodes.
#![no_main]

mod models;

use codec_core::Error;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let [selector, b0, b1, rest @ ..] = data else { return };
    let model = models::pick(*selector);
    let budget = usize::from(u16::from_le_bytes([*b0, *b1])) % 9000;
    let mut x: Vec<f32> = rest
        .chunks_exact(4)
        .map(|c| f32::from_bits(u32::from_le_bytes([c[0], c[1], c[2], c[3]])))
        .collect();
    x.resize(model.dim(), 0.0);
    let mut code = vec![0u8; budget];
    match codec_core::encode(&model, &x, budget, &mut code) {
        Ok(len) => {
            assert!(len >= 1 && len <= budget);
            let mut out = vec![0f32; model.dim()];
            codec_core::decode(&model, &code[..len], &mut out).expect("own code decodes");
        }
        Err(Error::NonFinite { index }) => assert!(!x[index].is_finite()),
        Err(Error::BudgetTooSmall { minimum, .. }) => assert!(budget < minimum),
        Err(Error::BudgetTooLarge { .. }) => assert!(budget > codec_core::MAX_CODE_LEN),
        Err(e) => panic!("unexpected error {e}"),
    }
});
