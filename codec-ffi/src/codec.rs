//! Encode and decode.

use crate::guard::{Span, check, checked_range, ffi_boundary, input, output, try_ptr};
use crate::model::{Loaded, naicfc_model};
use crate::result::naicfc_result::{self, *};

/// Fails with `NAICFC_OVERLAPPING_BUFFERS` when `out` shares a byte with any of `inputs`:
/// Rust may not alias a `&mut` buffer with anything it reads, and a C caller decoding "in
/// place" would get garbage rather than an error otherwise.
fn disjoint(out: Span, inputs: &[Span]) -> Result<(), naicfc_result> {
    if inputs.iter().any(|i| out.overlaps(*i)) {
        Err(NAICFC_OVERLAPPING_BUFFERS)
    } else {
        Ok(())
    }
}

/// Compresses one vector into at most `budget` bytes.
///
/// - `model`: a handle set up by `naicfc_model_init`.
/// - `x`, `x_len`: the vector; `x_len` must equal `naicfc_model_dim(model)` and every value
///   must be finite.
/// - `budget`: the most bytes the code may take, from `naicfc_model_min_budget(model)` to
///   `NAICFC_MAX_BUDGET`. Any value in that range works, not only the trained budgets.
/// - `out`, `out_len`: where the code goes; `out_len` must be at least `budget`.
/// - `written`: receives the code's length: always `budget`, as the code is padded to the
///   length its step index was coded for. Send or store exactly those bytes: the decoder
///   needs the length.
///
/// On success `out[0 .. *written]` holds the code and `out[*written .. budget]` is set to
/// zero; bytes past `budget` are never touched. On error neither `out` nor `*written` is
/// written. The same model, vector and budget give the same bytes on every platform.
///
/// Stack: about 17 KiB in the worst case (see `docs/c-api.md` for measured figures); no heap.
///
/// Returns `NAICFC_OK`, `NAICFC_NULL_POINTER`, `NAICFC_MISALIGNED_POINTER`,
/// `NAICFC_MODEL_UNINITIALIZED`, `NAICFC_BAD_LENGTH`, `NAICFC_NON_FINITE`,
/// `NAICFC_BUDGET_TOO_SMALL`, `NAICFC_BUDGET_TOO_LARGE`, `NAICFC_OUTPUT_TOO_SMALL` or
/// `NAICFC_OVERLAPPING_BUFFERS`.
///
/// # Safety
/// `model` must point to a readable `naicfc_model`; `x` to `x_len` readable floats; `out` to
/// `out_len` writable bytes; `written` to a writable `size_t`. NULL is detected.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn naicfc_encode(
    model: *const naicfc_model,
    x: *const f32,
    x_len: usize,
    budget: usize,
    out: *mut u8,
    out_len: usize,
    written: *mut usize,
) -> naicfc_result {
    ffi_boundary!({
        // SAFETY: documented caller obligation.
        let loaded = check!(unsafe { Loaded::from_handle(model) });
        let written = try_ptr!(written.cast_const()).cast_mut();
        let x_span = check!(checked_range(x, x_len));
        let out_span = check!(checked_range(out.cast_const(), out_len));
        let written_span = check!(checked_range(written.cast_const(), 1));
        let [handle_span, bytes_span] = loaded.spans();
        check!(disjoint(
            out_span,
            &[x_span, handle_span, bytes_span, written_span]
        ));
        // `*written` is an output too: written into the vector, the handle or the model bytes
        // it would change an input behind the caller's back.
        check!(disjoint(written_span, &[x_span, handle_span, bytes_span]));
        let m = &loaded.model;
        // The core refuses a budget below the minimum before it writes; checking here too
        // keeps "failures write nothing" independent of the order the core works in.
        if budget < loaded.min_budget {
            return NAICFC_BUDGET_TOO_SMALL;
        }
        // SAFETY: spans checked above; the caller promises the memory behind them.
        let x = check!(unsafe { input(x, x_len) });
        // SAFETY: as above, and `out` overlaps no input (checked).
        let out = check!(unsafe { output(out, out_len) });
        // Every other error of the core (length, NaN, budget above the maximum, short output)
        // is detected before it writes anything.
        let len = check!(codec_core::encode(m, x, budget, out).map_err(naicfc_result::from));
        // Rate control leaves bytes of rejected trials past the code; zeroing them makes the
        // whole budget deterministic for callers that send fixed-size frames.
        if let Some(tail) = out.get_mut(len..budget) {
            tail.fill(0);
        }
        // SAFETY: non-NULL, aligned (try_ptr!) and disjoint from `out` (checked).
        unsafe { written.write(len) };
        NAICFC_OK
    })
}

/// Reconstructs a vector from a code made by `naicfc_encode` with the same model.
///
/// - `model`: a handle set up by `naicfc_model_init`.
/// - `code`, `code_len`: the code, exactly the `written` bytes `naicfc_encode` produced.
/// - `out`, `out_len`: receives `naicfc_model_dim(model)` floats; `out_len` must be at least
///   that. Values past the dimension are not touched.
///
/// Every byte string is either decoded or rejected, and nothing outside `code` is read. Codes
/// carry no checksum (every byte goes to the vector), so damage is detected only by chance:
/// measured, 2% to 14% of single-bit errors (by model; 1% to 24% at one budget) and 7% to 42%
/// of truncations are rejected with `NAICFC_CORRUPT_STREAM` (`docs/c-api.md`); the rest decode,
/// without an error, to a different vector. Protect the link with a CRC of your own and check
/// it before decoding. On error `out` is not written. The same model and code give the same
/// floats, bit for bit, on every platform.
///
/// Stack: about 21 KiB in the worst case (see `docs/c-api.md` for measured figures); no heap.
///
/// Returns `NAICFC_OK`, `NAICFC_NULL_POINTER`, `NAICFC_MISALIGNED_POINTER`,
/// `NAICFC_BAD_LENGTH` (a length too large to address), `NAICFC_MODEL_UNINITIALIZED`,
/// `NAICFC_CORRUPT_STREAM`, `NAICFC_OUTPUT_TOO_SMALL` or `NAICFC_OVERLAPPING_BUFFERS`.
///
/// # Safety
/// `model` must point to a readable `naicfc_model`; `code` to `code_len` readable bytes;
/// `out` to `out_len` writable floats. NULL is detected.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn naicfc_decode(
    model: *const naicfc_model,
    code: *const u8,
    code_len: usize,
    out: *mut f32,
    out_len: usize,
) -> naicfc_result {
    ffi_boundary!({
        // SAFETY: documented caller obligation.
        let loaded = check!(unsafe { Loaded::from_handle(model) });
        let code_span = check!(checked_range(code, code_len));
        let out_span = check!(checked_range(out.cast_const(), out_len));
        let [handle_span, bytes_span] = loaded.spans();
        check!(disjoint(out_span, &[code_span, handle_span, bytes_span]));
        // SAFETY: spans checked above; the caller promises the memory behind them.
        let code = check!(unsafe { input(code, code_len) });
        // SAFETY: as above, and `out` overlaps no input (checked).
        let out = check!(unsafe { output(out, out_len) });
        // The core reads and checks the whole code before writing `out`.
        check!(codec_core::decode(&loaded.model, code, out).map_err(naicfc_result::from));
        NAICFC_OK
    })
}
