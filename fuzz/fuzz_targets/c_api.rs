//! Round trip through the C API with arbitrary vectors, budgets and buffer lengths: every call
//! returns a result code, outputs change only on success, and the C API agrees with the core.
#![no_main]

mod models;

use naicfc::{naicfc_decode, naicfc_encode, naicfc_model, naicfc_model_init, naicfc_result};
use libfuzzer_sys::fuzz_target;

const OK: naicfc_result = naicfc_result::NAICFC_OK;

fuzz_target!(|data: &[u8]| {
    let [selector, b0, b1, o0, rest @ ..] = data else { return };
    let bytes = models::bytes(*selector);
    let core = models::pick(*selector);
    let mut model = core::mem::MaybeUninit::<naicfc_model>::uninit();
    // SAFETY: valid pointers and lengths; the model bytes outlive every use of the handle.
    let r = unsafe { naicfc_model_init(model.as_mut_ptr(), bytes.as_ptr(), bytes.len()) };
    assert_eq!(r, OK);
    let model = model.as_ptr();

    let budget = usize::from(u16::from_le_bytes([*b0, *b1])) % 300;
    let out_len = budget.saturating_sub(usize::from(*o0 % 4)); // sometimes too short
    let mut x: Vec<f32> = rest
        .chunks_exact(4)
        .map(|c| f32::from_bits(u32::from_le_bytes([c[0], c[1], c[2], c[3]])))
        .collect();
    x.resize(core.dim(), 0.5);
    let mut out = vec![0xEEu8; out_len.max(1)];
    let mut written = usize::MAX;
    // SAFETY: every pointer is valid for its length.
    let r = unsafe { naicfc_encode(model, x.as_ptr(), x.len(), budget, out.as_mut_ptr(), out_len, &mut written) };
    let mut reference = vec![0u8; budget];
    let expected = codec_core::encode(&core, &x, budget, &mut reference);
    if r == OK {
        let len = expected.expect("the core agrees that this encodes");
        assert!(out_len >= budget && written == len && out[..len] == reference[..len]);
        let mut back = vec![9f32; core.dim()];
        // SAFETY: valid pointers and lengths.
        let d = unsafe { naicfc_decode(model, out.as_ptr(), written, back.as_mut_ptr(), back.len()) };
        assert_eq!(d, OK);
    } else {
        assert_eq!(written, usize::MAX, "written changed on failure");
        assert!(out.iter().all(|&b| b == 0xEE), "output changed on failure");
    }

    // Decode the raw fuzz bytes too: any result, output untouched unless OK.
    let mut back = vec![9f32; core.dim()];
    // SAFETY: valid pointers and lengths.
    let d = unsafe { naicfc_decode(model, rest.as_ptr(), rest.len(), back.as_mut_ptr(), back.len()) };
    if d != OK {
        assert!(back.iter().all(|&v| v == 9.0));
    }
});
