//! A model handle the caller allocates: a parsed model kept next to a pointer to the caller's
//! bytes, which are never copied (firmware keeps them in flash).
//!
//! Parsing validates the whole model, checksum included, which costs about as much as reading
//! every byte of it: far more than one encode of a small model. The handle keeps the parse
//! result so it is paid once, at `naicfc_model_init`, and not on every call.

use crate::guard::{Span, check, checked_range, ffi_boundary, input, non_null_aligned, try_ptr};
use crate::result::naicfc_result::{self, *};
use codec_core::Model;
use core::mem::{align_of, needs_drop, size_of};

/// Size of `naicfc_model` in machine words (`size_t`): 64 words, 256 bytes on a 32-bit
/// MCU and 512 on a 64-bit host. The parsed model needs about 40 words; the rest is room for
/// later library versions, so the size (an ABI promise) need not change with them.
pub const NAICFC_MODEL_WORDS: usize = 64;

/// A loaded model. Allocate it yourself (static, stack or inside your own struct), set it up
/// with `naicfc_model_init`, then pass it to every other call. It holds no resources, so it
/// has no "free" function: it is done with when you stop using it. It points into the model
/// bytes given to `naicfc_model_init`, which must stay valid and unchanged while it is used.
/// Copying it with `memcpy` or assignment gives a second handle to the same model.
///
/// The contents are private: the only promise is the size, `NAICFC_MODEL_WORDS` words.
#[repr(C)]
#[allow(non_camel_case_types)]
pub struct naicfc_model {
    _opaque: [usize; NAICFC_MODEL_WORDS],
}

/// What `naicfc_model` really holds. `repr(C)` keeps `tag` at offset 0, where it can be read
/// before anything else is trusted.
#[repr(C)]
pub(crate) struct Loaded {
    /// [`TAG`] once initialised. A zero-filled or never-initialised handle is caught here
    /// instead of being read as a model (best effort: garbage could match, which is why the
    /// documentation still requires a successful init).
    tag: usize,
    /// The caller's model bytes, for overlap checks against output buffers.
    bytes: Span,
    pub model: Model<'static>,
    /// The model's minimum budget, worked out once here ([`codec_core::min_budget`] costs a
    /// trial of rate control).
    pub min_budget: usize,
}

/// "NFCM" and a format generation, so a handle from a library build with a different layout
/// (linked against a stale header) is not mistaken for a valid one.
const TAG: usize = 0x4E46_434D ^ (size_of::<Loaded>() << 3);

// The handle's size and alignment are ABI: if the core's `Model` ever outgrows them, the
// build must stop here rather than write past the caller's storage.
const _: () = {
    assert!(size_of::<Loaded>() <= size_of::<naicfc_model>());
    assert!(align_of::<Loaded>() <= align_of::<naicfc_model>());
    // Nothing is ever dropped: a handle is plain memory the caller may discard at any time.
    assert!(!needs_drop::<Loaded>());
    // No padding between or after the fields (codec-core keeps `Model` free of it), so a
    // written handle holds no uninitialised bytes for C code that copies or compares it.
    assert!(size_of::<Loaded>() == 4 * size_of::<usize>() + size_of::<Model<'static>>());
};

impl Loaded {
    /// The loaded model behind a caller's handle pointer.
    ///
    /// # Safety
    /// `handle`, if non-NULL and aligned, must point to a readable `naicfc_model`.
    pub(crate) unsafe fn from_handle<'h>(
        handle: *const naicfc_model,
    ) -> Result<&'h Loaded, naicfc_result> {
        let handle = non_null_aligned(handle)?;
        let handle = handle.cast::<Loaded>();
        // SAFETY: non-NULL, aligned, and the caller promises a readable `naicfc_model`, which
        // is at least as large and as aligned as `Loaded` (asserted above). Reading only the
        // tag word needs no assumption about the rest.
        let tag = unsafe { (&raw const (*handle).tag).read() };
        if tag != TAG {
            return Err(NAICFC_MODEL_UNINITIALIZED);
        }
        // SAFETY: the tag says `naicfc_model_init` wrote a `Loaded` here.
        Ok(unsafe { &*handle })
    }

    /// Address ranges an output buffer must not overlap: the handle and the model bytes.
    pub(crate) fn spans(&self) -> [Span; 2] {
        [Span::of(self), self.bytes]
    }
}

/// Parses and validates a model held in caller memory and sets up `model` to use it.
///
/// - `model`: caller-allocated handle to set up (not NULL).
/// - `bytes`, `len`: the model, as written by `naicfc train` (embed it with
///   `naicfc export-c`), exactly `len` bytes long: for a model at the start of a larger
///   region (a padded flash partition) get its length with `naicfc_model_length` first. Not
///   copied: the handle points into these bytes, so they must stay valid and unchanged for as
///   long as `model` is used. Any alignment.
///
/// Validation checks the whole model, its checksum included, so this costs roughly one pass
/// over the bytes; do it once at start-up, not per vector. Where secure boot has already
/// verified the image, `naicfc_model_init_trusted` skips the checksum.
///
/// On success every byte of `*model` is written (the parts the library does not use are set
/// to zero), so the handle may be copied, hashed or compared byte by byte.
///
/// Returns `NAICFC_OK`, `NAICFC_NULL_POINTER`, `NAICFC_MISALIGNED_POINTER`,
/// `NAICFC_BAD_LENGTH`, `NAICFC_OVERLAPPING_BUFFERS` (the handle lies inside the bytes),
/// `NAICFC_BAD_MODEL`, `NAICFC_MODEL_TRUNCATED`, `NAICFC_MODEL_VERSION` or
/// `NAICFC_MODEL_CHECKSUM`. On error `*model` is left untouched.
///
/// # Safety
/// `model` must point to a writable `naicfc_model`; `bytes` to `len` readable bytes that
/// outlive every use of `model`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn naicfc_model_init(
    model: *mut naicfc_model,
    bytes: *const u8,
    len: usize,
) -> naicfc_result {
    // SAFETY: the caller's obligations are those of `init`.
    unsafe { init(model, bytes, len, Model::parse) }
}

/// `naicfc_model_init` without the checksum comparison, for a model whose integrity the
/// firmware has already verified (secure boot, a signed update): the checksum is most of the
/// cost of an init (about 4.5 million instructions on a Cortex-M4 for the default model).
///
/// Every other check still runs, so damaged bytes are still an error or a valid but different
/// model, never a crash or an out-of-bounds read; but a damaged model that passes them encodes
/// and decodes wrongly without any error. Use `naicfc_model_init` unless the bytes are
/// verified by other means. Arguments, results and the handle are as for `naicfc_model_init`,
/// except that `NAICFC_MODEL_CHECKSUM` is never returned.
///
/// # Safety
/// As for `naicfc_model_init`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn naicfc_model_init_trusted(
    model: *mut naicfc_model,
    bytes: *const u8,
    len: usize,
) -> naicfc_result {
    // SAFETY: the caller's obligations are those of `init`.
    unsafe { init(model, bytes, len, Model::parse_trusted) }
}

/// The two inits, which differ only in how the bytes are parsed.
///
/// # Safety
/// `model` must point to a writable `naicfc_model`; `bytes` to `len` readable bytes that
/// outlive every use of `model`.
unsafe fn init(
    model: *mut naicfc_model,
    bytes: *const u8,
    len: usize,
    parse: fn(&'static [u8]) -> Result<Model<'static>, codec_core::ModelError>,
) -> naicfc_result {
    ffi_boundary!({
        let handle = try_ptr!(model.cast_const());
        let span = check!(checked_range(bytes, len));
        let handle_span = Span {
            start: handle as usize,
            end: handle as usize + size_of::<naicfc_model>(),
        };
        if handle_span.overlaps(span) {
            return NAICFC_OVERLAPPING_BUFFERS;
        }
        // SAFETY: checked above; the caller promises the bytes outlive the handle, which is
        // what the 'static lifetime stands for here.
        let slice: &'static [u8] = check!(unsafe { input(bytes, len) });
        let parsed = check!(parse(slice).map_err(naicfc_result::from));
        // A model whose coarsest code exceeds the longest minimum budget cannot encode.
        let min_budget = check!(codec_core::min_budget(&parsed).map_err(naicfc_result::from));
        let loaded = Loaded {
            tag: TAG,
            bytes: span,
            model: parsed,
            min_budget,
        };
        // SAFETY: `model` is non-NULL, aligned and writable (caller's promise), large enough
        // for `Loaded` (asserted), and disjoint from the bytes the parsed model points into.
        // Zeroing first defines the bytes past `Loaded`; `Loaded` itself has no padding
        // (asserted above), so after the write no byte of the handle is uninitialised.
        unsafe {
            model.write_bytes(0, 1);
            model.cast::<Loaded>().write(loaded);
        }
        NAICFC_OK
    })
}

/// The exact length of the model at the start of `bytes`, read from its header: firmware that
/// keeps the model in a flash partition larger than the model passes the partition here and
/// the length it gets to `naicfc_model_init`.
///
/// - `bytes`, `len`: the start of the region holding the model, at least its 64-byte header
///   (any alignment); `len` may exceed the model.
/// - `out`: receives the model's length in bytes, at most `len`.
///
/// Only the header's magic, format version and lengths are checked; `naicfc_model_init`
/// validates the rest. Returns `NAICFC_OK`, `NAICFC_NULL_POINTER`, `NAICFC_MISALIGNED_POINTER`,
/// `NAICFC_BAD_LENGTH`, `NAICFC_OVERLAPPING_BUFFERS` (`out` lies inside the bytes),
/// `NAICFC_BAD_MODEL`, `NAICFC_MODEL_VERSION` or `NAICFC_MODEL_TRUNCATED`
/// (`len` is shorter than the header or than the length it declares). On error `*out` is not
/// written.
///
/// # Safety
/// `bytes` must point to `len` readable bytes; `out` to a writable `size_t`. NULL is detected.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn naicfc_model_length(
    bytes: *const u8,
    len: usize,
    out: *mut usize,
) -> naicfc_result {
    ffi_boundary!({
        let out = try_ptr!(out.cast_const()).cast_mut();
        let span = check!(checked_range(bytes, len));
        let out_span = check!(checked_range(out.cast_const(), 1));
        if out_span.overlaps(span) {
            return NAICFC_OVERLAPPING_BUFFERS;
        }
        // SAFETY: checked above; the caller promises `len` readable bytes.
        let slice = check!(unsafe { input(bytes, len) });
        let n = check!(Model::declared_len(slice).map_err(naicfc_result::from));
        // SAFETY: non-NULL, aligned (try_ptr!) and disjoint from the bytes (checked).
        unsafe { out.write(n) };
        NAICFC_OK
    })
}

/// Looks up a loaded model for the getters below, which answer 0 for an unusable handle.
pub(crate) fn with_model(handle: *const naicfc_model, f: impl FnOnce(&Loaded) -> usize) -> usize {
    ffi_boundary!({
        // SAFETY: getters document that a non-NULL handle must be readable.
        match unsafe { Loaded::from_handle(handle) } {
            Ok(loaded) => f(loaded),
            Err(_) => 0,
        }
    })
}

/// Number of `float` values in a vector of this model, or 0 if `model` is NULL or not
/// initialised.
///
/// # Safety
/// `model`, if not NULL, must point to a readable `naicfc_model`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn naicfc_model_dim(model: *const naicfc_model) -> usize {
    with_model(model, |m| m.model.dim())
}

/// Smallest budget, in bytes, at which `naicfc_encode` succeeds for every vector (a few bytes
/// for trained models), or 0 if `model` is NULL or not initialised.
///
/// # Safety
/// `model`, if not NULL, must point to a readable `naicfc_model`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn naicfc_model_min_budget(model: *const naicfc_model) -> usize {
    with_model(model, |m| m.min_budget)
}

/// Number of budgets the model was tuned for (`naicfc train --budgets`), or 0 if `model` is
/// NULL or not initialised. The model works at any budget from `naicfc_model_min_budget` to
/// `NAICFC_MAX_BUDGET`; the trained ones are where it is at its best.
///
/// # Safety
/// `model`, if not NULL, must point to a readable `naicfc_model`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn naicfc_model_budget_count(model: *const naicfc_model) -> usize {
    with_model(model, |m| m.model.budget_count())
}

/// The `index`-th trained budget in bytes (increasing with `index`), or 0 if `index` is not
/// below `naicfc_model_budget_count` or `model` is NULL or not initialised.
///
/// # Safety
/// `model`, if not NULL, must point to a readable `naicfc_model`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn naicfc_model_budget(model: *const naicfc_model, index: usize) -> usize {
    with_model(model, |m| m.model.budget(index).unwrap_or(0))
}

/// Bytes of the model this handle was initialised with, or 0 if `model` is NULL or not
/// initialised.
///
/// # Safety
/// `model`, if not NULL, must point to a readable `naicfc_model`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn naicfc_model_size(model: *const naicfc_model) -> usize {
    ffi_boundary!({
        // SAFETY: as documented.
        match unsafe { Loaded::from_handle(model) } {
            Ok(loaded) => loaded.bytes.end - loaded.bytes.start,
            Err(_) => 0,
        }
    })
}
