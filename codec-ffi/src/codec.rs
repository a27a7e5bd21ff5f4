//! Encode and decode, with the library's stack workspace or the caller's.

use crate::guard::{Span, check, checked_range, ffi_boundary, input, output};
use crate::model::{Loaded, naicfc_model, with_model};
use crate::result::naicfc_result::{self, *};
use codec_core::{Model, Op, scalable_len};

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
/// Stack: about 14 KiB in the worst case, as the working arrays (sized for any model) are on
/// it; `naicfc_encode_ws` takes them from the caller and needs under 2 KiB (see
/// `docs/c-api.md` for measured figures). No heap.
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
        // SAFETY: the caller's obligations are those of `encode_args`.
        let args =
            check!(unsafe { encode_args(model, x, x_len, budget, out, out_len, written, &[]) });
        let len = check!(
            codec_core::encode(args.model, args.x, budget, args.out).map_err(naicfc_result::from)
        );
        // SAFETY: `written` was checked by `encode_args`.
        unsafe { finish_encode(args, budget, len) }
    })
}

/// `naicfc_encode` with the working arrays in the caller's `workspace`: the same code, byte
/// for byte, and under 2 KiB of stack.
///
/// - `workspace`, `workspace_len`: scratch memory of at least
///   `naicfc_workspace_size(model, NAICFC_OP_ENCODE)` bytes (or `NAICFC_WORKSPACE_SIZE(dim)`
///   for any model of the dimension), at any alignment. Its contents on entry do not matter
///   and are unspecified afterwards; it must not overlap any other argument, and one workspace
///   must not serve two calls at the same time (give each thread or task its own).
/// - the other arguments and the results are as for `naicfc_encode`, plus
///   `NAICFC_WORKSPACE_TOO_SMALL`.
///
/// # Safety
/// As for `naicfc_encode`, and `workspace` must point to `workspace_len` writable bytes.
#[unsafe(no_mangle)]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn naicfc_encode_ws(
    model: *const naicfc_model,
    x: *const f32,
    x_len: usize,
    budget: usize,
    out: *mut u8,
    out_len: usize,
    written: *mut usize,
    workspace: *mut u8,
    workspace_len: usize,
) -> naicfc_result {
    ffi_boundary!({
        let ws_span = check!(checked_range(workspace.cast_const(), workspace_len));
        // SAFETY: the caller's obligations are those of `encode_args`.
        let args = check!(unsafe {
            encode_args(model, x, x_len, budget, out, out_len, written, &[ws_span])
        });
        // SAFETY: checked above; disjoint from every other argument (checked by
        // `encode_args`).
        let ws = check!(unsafe { output(workspace, workspace_len) });
        let len = check!(
            codec_core::encode_ws(args.model, args.x, budget, args.out, ws)
                .map_err(naicfc_result::from)
        );
        // SAFETY: `written` was checked by `encode_args`.
        unsafe { finish_encode(args, budget, len) }
    })
}

/// The checked arguments of an encode.
struct EncodeArgs<'a> {
    model: &'a Model<'static>,
    x: &'a [f32],
    out: &'a mut [u8],
    written: *mut usize,
}

/// Checks an encode's arguments (see `naicfc_encode`) and turns them into slices; `more` are
/// further outputs (a workspace) that must overlap neither the inputs nor the outputs.
///
/// # Safety
/// As for `naicfc_encode`; the memory behind `more` must not be used through the slices
/// returned.
#[allow(clippy::too_many_arguments)]
unsafe fn encode_args<'a>(
    model: *const naicfc_model,
    x: *const f32,
    x_len: usize,
    budget: usize,
    out: *mut u8,
    out_len: usize,
    written: *mut usize,
    more: &[Span],
) -> Result<EncodeArgs<'a>, naicfc_result> {
    // SAFETY: documented caller obligation.
    let loaded = unsafe { Loaded::from_handle(model) }?;
    let written = non_null_aligned_mut(written)?;
    let x_span = checked_range(x, x_len)?;
    let out_span = checked_range(out.cast_const(), out_len)?;
    let written_span = checked_range(written.cast_const(), 1)?;
    let [handle_span, bytes_span] = loaded.spans();
    let inputs = [x_span, handle_span, bytes_span];
    disjoint(out_span, &[x_span, handle_span, bytes_span, written_span])?;
    // `*written` is an output too: written into the vector, the handle or the model bytes
    // it would change an input behind the caller's back.
    disjoint(written_span, &inputs)?;
    for &extra in more {
        disjoint(
            extra,
            &[x_span, handle_span, bytes_span, out_span, written_span],
        )?;
    }
    // The core refuses a budget below the minimum before it writes; checking here too
    // keeps "failures write nothing" independent of the order the core works in.
    if budget < loaded.min_budget {
        return Err(NAICFC_BUDGET_TOO_SMALL);
    }
    // SAFETY: spans checked above; the caller promises the memory behind them.
    let x = unsafe { input(x, x_len) }?;
    // SAFETY: as above, and `out` overlaps no input (checked).
    let out = unsafe { output(out, out_len) }?;
    Ok(EncodeArgs {
        model: &loaded.model,
        x,
        out,
        written,
    })
}

/// `written` as a required, aligned output pointer.
fn non_null_aligned_mut(written: *mut usize) -> Result<*mut usize, naicfc_result> {
    crate::guard::non_null_aligned(written.cast_const()).map(|p| p.cast_mut())
}

/// The end of a successful encode of `len` bytes: zero the rest of the budget and report the
/// length.
///
/// # Safety
/// `args.written` must have been checked by `encode_args`.
unsafe fn finish_encode(args: EncodeArgs<'_>, budget: usize, len: usize) -> naicfc_result {
    // Rate control leaves bytes of rejected trials past the code; zeroing them makes the
    // whole budget deterministic for callers that send fixed-size frames.
    if let Some(tail) = args.out.get_mut(len..budget) {
        tail.fill(0);
    }
    // SAFETY: non-NULL, aligned and disjoint from `out` (checked by `encode_args`).
    unsafe { args.written.write(len) };
    NAICFC_OK
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
/// Stack: about 21 KiB in the worst case, as the working arrays (sized for any model) are on
/// it; `naicfc_decode_ws` takes them from the caller and needs under 2 KiB (see
/// `docs/c-api.md` for measured figures). No heap.
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
        // SAFETY: the caller's obligations are those of `decode_args`.
        let (m, code, out) =
            check!(unsafe { decode_args(model, code, code_len, out, out_len, &[]) });
        // The core reads and checks the whole code before writing `out`.
        check!(codec_core::decode(m, code, out).map_err(naicfc_result::from));
        NAICFC_OK
    })
}

/// `naicfc_decode` with the working arrays in the caller's `workspace`: the same floats, bit
/// for bit, and under 2 KiB of stack.
///
/// - `workspace`, `workspace_len`: scratch memory of at least
///   `naicfc_workspace_size(model, NAICFC_OP_DECODE)` bytes (or `NAICFC_WORKSPACE_SIZE(dim)`
///   for any model of the dimension), at any alignment, as for `naicfc_encode_ws`.
/// - the other arguments and the results are as for `naicfc_decode`, plus
///   `NAICFC_WORKSPACE_TOO_SMALL`.
///
/// # Safety
/// As for `naicfc_decode`, and `workspace` must point to `workspace_len` writable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn naicfc_decode_ws(
    model: *const naicfc_model,
    code: *const u8,
    code_len: usize,
    out: *mut f32,
    out_len: usize,
    workspace: *mut u8,
    workspace_len: usize,
) -> naicfc_result {
    ffi_boundary!({
        let ws_span = check!(checked_range(workspace.cast_const(), workspace_len));
        // SAFETY: the caller's obligations are those of `decode_args`.
        let (m, code, out) =
            check!(unsafe { decode_args(model, code, code_len, out, out_len, &[ws_span]) });
        // SAFETY: checked above; disjoint from every other argument (checked by
        // `decode_args`).
        let ws = check!(unsafe { output(workspace, workspace_len) });
        check!(codec_core::decode_ws(m, code, out, ws).map_err(naicfc_result::from));
        NAICFC_OK
    })
}

/// Checks a decode's arguments (see `naicfc_decode`) and turns them into slices; `more` are
/// further outputs (a workspace) that must overlap neither the inputs nor the output.
///
/// # Safety
/// As for `naicfc_decode`; the memory behind `more` must not be used through the slices
/// returned.
unsafe fn decode_args<'a>(
    model: *const naicfc_model,
    code: *const u8,
    code_len: usize,
    out: *mut f32,
    out_len: usize,
    more: &[Span],
) -> Result<(&'a Model<'static>, &'a [u8], &'a mut [f32]), naicfc_result> {
    // SAFETY: documented caller obligation.
    let loaded = unsafe { Loaded::from_handle(model) }?;
    let code_span = checked_range(code, code_len)?;
    let out_span = checked_range(out.cast_const(), out_len)?;
    let [handle_span, bytes_span] = loaded.spans();
    disjoint(out_span, &[code_span, handle_span, bytes_span])?;
    for &extra in more {
        disjoint(extra, &[code_span, handle_span, bytes_span, out_span])?;
    }
    // SAFETY: spans checked above; the caller promises the memory behind them.
    let code = unsafe { input(code, code_len) }?;
    // SAFETY: as above, and `out` overlaps no input (checked).
    let out = unsafe { output(out, out_len) }?;
    Ok((&loaded.model, code, out))
}

/// Compresses one vector into a scalable code: layers cut at the model's budgets
/// (`naicfc_model_budget`), whose every prefix ending at a budget decodes on its own with
/// `naicfc_decode_scalable_ws`, so a link can drop the tail when it is congested. Encodes
/// once at the largest budget; the working arrays are in the caller's `workspace`.
///
/// - `model`, `x`, `x_len`: as for `naicfc_encode`.
/// - `out`, `out_len`: where the code goes; `out_len` must be at least the model's largest
///   budget, `naicfc_model_budget(model, naicfc_model_budget_count(model) - 1)`.
/// - `written`: receives the code's length, that largest budget (each layer is padded with
///   zero bytes to its budget).
/// - `workspace`, `workspace_len`: scratch memory of at least
///   `naicfc_workspace_size(model, NAICFC_OP_ENCODE_SCALABLE)` bytes (or
///   `NAICFC_SCALABLE_WORKSPACE_SIZE(dim)` for any model of the dimension), at any
///   alignment, as for `naicfc_encode_ws`.
///
/// On error neither `out` nor `*written` is written. The same model and vector give the same
/// bytes on every platform. Stack: under 2 KiB (see `docs/c-api.md`). No heap.
///
/// Returns `NAICFC_OK`, `NAICFC_NULL_POINTER`, `NAICFC_MISALIGNED_POINTER`,
/// `NAICFC_MODEL_UNINITIALIZED`, `NAICFC_BAD_LENGTH`, `NAICFC_NON_FINITE`,
/// `NAICFC_BAD_MODEL` (a model without budgets), `NAICFC_OUTPUT_TOO_SMALL`,
/// `NAICFC_OVERLAPPING_BUFFERS` or `NAICFC_WORKSPACE_TOO_SMALL`.
///
/// # Safety
/// As for `naicfc_encode_ws`.
#[unsafe(no_mangle)]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn naicfc_encode_scalable_ws(
    model: *const naicfc_model,
    x: *const f32,
    x_len: usize,
    out: *mut u8,
    out_len: usize,
    written: *mut usize,
    workspace: *mut u8,
    workspace_len: usize,
) -> naicfc_result {
    ffi_boundary!({
        let ws_span = check!(checked_range(workspace.cast_const(), workspace_len));
        // SAFETY: documented caller obligation; checked by `Loaded::from_handle`.
        let total = check!(unsafe { Loaded::from_handle(model) }.map(|l| scalable_len(&l.model)));
        if total == 0 {
            return NAICFC_BAD_MODEL;
        }
        // SAFETY: the caller's obligations are those of `encode_args`; the budget is the
        // model's largest, so at least its minimum.
        let args = check!(unsafe {
            encode_args(model, x, x_len, total, out, out_len, written, &[ws_span])
        });
        // SAFETY: checked above; disjoint from every other argument (checked by
        // `encode_args`).
        let ws = check!(unsafe { output(workspace, workspace_len) });
        let len = check!(
            codec_core::encode_scalable_ws(args.model, args.x, args.out, ws)
                .map_err(naicfc_result::from)
        );
        // SAFETY: `written` was checked by `encode_args`.
        unsafe { finish_encode(args, total, len) }
    })
}

/// Reconstructs a vector from a scalable code made by `naicfc_encode_scalable_ws` with the
/// same model, or from any prefix of one that ends at one of the model's budgets (the layers
/// that arrived). The working arrays are in the caller's `workspace`.
///
/// - `model`, `out`, `out_len`: as for `naicfc_decode`.
/// - `code`, `code_len`: the code or its prefix; `code_len` must be one of the model's
///   budgets, else `NAICFC_CORRUPT_STREAM`.
/// - `workspace`, `workspace_len`: scratch memory of at least
///   `naicfc_workspace_size(model, NAICFC_OP_DECODE_SCALABLE)` bytes (or
///   `NAICFC_SCALABLE_WORKSPACE_SIZE(dim)`), at any alignment, as for `naicfc_encode_ws`.
/// - `layers`: if not NULL, receives the number of layers decoded.
///
/// On error `out` is not written. The same model and code give the same floats, bit for bit,
/// on every platform. Stack: under 2 KiB (see `docs/c-api.md`). No heap.
///
/// Returns `NAICFC_OK`, `NAICFC_NULL_POINTER`, `NAICFC_MISALIGNED_POINTER`,
/// `NAICFC_BAD_LENGTH`, `NAICFC_MODEL_UNINITIALIZED`, `NAICFC_CORRUPT_STREAM`,
/// `NAICFC_OUTPUT_TOO_SMALL`, `NAICFC_OVERLAPPING_BUFFERS` or `NAICFC_WORKSPACE_TOO_SMALL`.
///
/// # Safety
/// As for `naicfc_decode_ws`, and `layers`, if not NULL, must point to a writable `size_t`
/// that overlaps no other argument.
#[unsafe(no_mangle)]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn naicfc_decode_scalable_ws(
    model: *const naicfc_model,
    code: *const u8,
    code_len: usize,
    out: *mut f32,
    out_len: usize,
    workspace: *mut u8,
    workspace_len: usize,
    layers: *mut usize,
) -> naicfc_result {
    ffi_boundary!({
        let ws_span = check!(checked_range(workspace.cast_const(), workspace_len));
        let mut more = [ws_span; 2];
        let layers = if layers.is_null() {
            None
        } else {
            let p = check!(non_null_aligned_mut(layers));
            more[1] = check!(checked_range(p.cast_const(), 1));
            check!(disjoint(more[1], &[ws_span]));
            Some(p)
        };
        // SAFETY: the caller's obligations are those of `decode_args`.
        let (m, code, out) =
            check!(unsafe { decode_args(model, code, code_len, out, out_len, &more) });
        // SAFETY: checked above; disjoint from every other argument (checked by
        // `decode_args`).
        let ws = check!(unsafe { output(workspace, workspace_len) });
        let n =
            check!(codec_core::decode_scalable_ws(m, code, out, ws).map_err(naicfc_result::from));
        if let Some(p) = layers {
            // SAFETY: non-NULL, aligned and disjoint from every other argument (checked).
            unsafe { p.write(n) };
        }
        NAICFC_OK
    })
}

/// What a workspace is for: the argument of `naicfc_workspace_size`. A `uint32_t` in C, like
/// `naicfc_result`, so that its size is the same on every compiler.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(non_camel_case_types)]
pub enum naicfc_op {
    /// `naicfc_encode_ws`.
    NAICFC_OP_ENCODE = 0,
    /// `naicfc_decode_ws`.
    NAICFC_OP_DECODE = 1,
    /// `naicfc_encode_scalable_ws`.
    NAICFC_OP_ENCODE_SCALABLE = 2,
    /// `naicfc_decode_scalable_ws`.
    NAICFC_OP_DECODE_SCALABLE = 3,
}

/// The numeric value of a `naicfc_op`: a plain integer on the Rust side, because C may pass
/// any number; in the header it is spelled `naicfc_op`.
/// cbindgen:ignore
#[allow(non_camel_case_types)]
pub type naicfc_op_value = u32;

/// Bytes of workspace `op` (a `naicfc_op`) needs for `model`, sized to the model (its active
/// dimensions and coefficients): a buffer of at least this many bytes, at any address, serves
/// every call of that operation (`naicfc_encode_ws`, `naicfc_decode_ws`,
/// `naicfc_encode_scalable_ws` or `naicfc_decode_scalable_ws`) with this model. Returns 0 if
/// `model` is NULL or not initialised, or `op` is not an operation. For the plain operations
/// it is never above `NAICFC_WORKSPACE_SIZE(naicfc_model_dim(model))`, for the scalable ones
/// never above `NAICFC_SCALABLE_WORKSPACE_SIZE(naicfc_model_dim(model))`: the sizes for any
/// model of the dimension, which static buffers can be declared with.
///
/// # Safety
/// `model`, if not NULL, must point to a readable `naicfc_model`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn naicfc_workspace_size(
    model: *const naicfc_model,
    op: naicfc_op_value,
) -> usize {
    let op = match op {
        0 => Op::Encode,
        1 => Op::Decode,
        2 => Op::EncodeScalable,
        3 => Op::DecodeScalable,
        _ => return 0,
    };
    with_model(model, |m| codec_core::workspace_size(&m.model, op))
}

/// `NAICFC_WORKSPACE_SIZE(dim)` of the header (`codec-ffi/cbindgen.toml`), term for term.
const fn header_workspace_size(dim: usize) -> usize {
    const fn words(n: usize) -> usize {
        n.div_ceil(8) // (n + 7) / 8 in C
    }
    const fn max(a: usize, b: usize) -> usize {
        if a > b { a } else { b }
    }
    const fn min(a: usize, b: usize) -> usize {
        if a < b { a } else { b }
    }
    let (active, coeffs) = (min(dim, 2048), min(dim, 1024));
    let encode = 8
        * (words(4 * coeffs) + max(words(4 * active), words(2 * coeffs) + words(coeffs) + 32))
        + 7;
    let decode = 8 * (words(4 * coeffs) + active) + 7;
    max(encode, decode)
}

/// `NAICFC_SCALABLE_WORKSPACE_SIZE(dim)` of the header, term for term.
const fn header_scalable_workspace_size(dim: usize) -> usize {
    const fn words(n: usize) -> usize {
        n.div_ceil(8)
    }
    const fn min(a: usize, b: usize) -> usize {
        if a < b { a } else { b }
    }
    let (active, coeffs) = (min(dim, 2048), min(dim, 1024));
    let encode = 8
        * (2 * words(4 * coeffs)
            + words(2 * coeffs)
            + max_of(
                words(4 * active),
                words(4 * coeffs) + words(2 * coeffs) + words(coeffs) + 32,
            ))
        + 7;
    let decode = 8 * (words(4 * coeffs) + words(2 * coeffs) + active) + 7;
    max_of(encode, decode)
}

// The header's macro must give at least what the codec needs, for every dimension; it gives
// exactly the codec's bound for any model of the dimension, so it is no larger than needed.
const _: () = {
    let mut dim = 0;
    while dim <= 2 * codec_core::internals::MAX_DIM {
        let bound = max_of(
            codec_core::max_workspace_size(Op::Encode, dim),
            codec_core::max_workspace_size(Op::Decode, dim),
        );
        assert!(
            header_workspace_size(dim) == bound,
            "NAICFC_WORKSPACE_SIZE differs from the codec's workspace sizes"
        );
        let scalable = max_of(
            codec_core::max_workspace_size(Op::EncodeScalable, dim),
            codec_core::max_workspace_size(Op::DecodeScalable, dim),
        );
        assert!(
            header_scalable_workspace_size(dim) == scalable,
            "NAICFC_SCALABLE_WORKSPACE_SIZE differs from the codec's workspace sizes"
        );
        dim += 1;
    }
};

const fn max_of(a: usize, b: usize) -> usize {
    if a > b { a } else { b }
}
