//! The checks every exported function makes before touching caller memory, and the panic
//! boundary around it.

use crate::result::naicfc_result::{self, *};
use core::mem::{align_of, size_of};

/// What an exported function returns when its body panicked. Getters return a value that
/// cannot be a real answer (0 is never a dimension or a budget), so C code that only checks
/// for 0 still notices.
#[cfg(not(target_os = "none"))]
pub(crate) trait PanicValue {
    fn panic_value() -> Self;
}

#[cfg(not(target_os = "none"))]
impl PanicValue for naicfc_result {
    fn panic_value() -> Self {
        NAICFC_PANIC
    }
}

#[cfg(not(target_os = "none"))]
impl PanicValue for usize {
    fn panic_value() -> Self {
        0
    }
}

#[cfg(not(target_os = "none"))]
impl PanicValue for u32 {
    fn panic_value() -> Self {
        0
    }
}

#[cfg(not(target_os = "none"))]
impl PanicValue for *const core::ffi::c_char {
    fn panic_value() -> Self {
        NAICFC_PANIC.c_message()
    }
}

/// Runs an exported function's body so that a panic never unwinds into C (undefined
/// behaviour). Hosted builds catch it and return [`PanicValue::panic_value`]; bare-metal builds
/// cannot unwind at all (`panic = "abort"` is the target's only strategy), so the body runs
/// as is and a panic ends in the `#[panic_handler]`.
macro_rules! ffi_boundary {
    ($body:expr) => {{
        #[cfg(not(target_os = "none"))]
        {
            match ::std::panic::catch_unwind(::std::panic::AssertUnwindSafe(|| $body)) {
                Ok(v) => v,
                Err(_) => $crate::guard::PanicValue::panic_value(),
            }
        }
        // The closure gives `return` inside the body the same meaning as on hosted targets.
        #[cfg(target_os = "none")]
        {
            #[allow(clippy::redundant_closure_call)]
            let v = (|| $body)();
            v
        }
    }};
}

/// Evaluates a `Result<T, naicfc_result>` and returns the error code from the enclosing
/// closure or function: the exported functions are written as a chain of checks, each of
/// which may end the call.
macro_rules! check {
    ($e:expr) => {
        match $e {
            Ok(v) => v,
            Err(code) => return code,
        }
    };
}

/// Checks a required pointer argument: yields it when non-NULL and aligned for its type,
/// otherwise returns `NAICFC_NULL_POINTER` or `NAICFC_MISALIGNED_POINTER` from the enclosing
/// closure.
macro_rules! try_ptr {
    ($ptr:expr) => {
        $crate::guard::check!($crate::guard::non_null_aligned($ptr))
    };
}

pub(crate) use {check, ffi_boundary, try_ptr};

/// Rejects NULL and pointers that are not aligned for `T` (Rust references, unlike C
/// pointers, must be aligned even when never dereferenced unaligned).
pub(crate) fn non_null_aligned<T>(ptr: *const T) -> Result<*const T, naicfc_result> {
    if ptr.is_null() {
        Err(NAICFC_NULL_POINTER)
    } else if (ptr as usize) % align_of::<T>() != 0 {
        Err(NAICFC_MISALIGNED_POINTER)
    } else {
        Ok(ptr)
    }
}

/// Checks a pointer + length pair and returns the byte range it covers. NULL is accepted
/// with length 0 only (an empty buffer); a length whose byte size exceeds `isize::MAX` cannot
/// describe real memory.
pub(crate) fn checked_range<T>(ptr: *const T, len: usize) -> Result<Span, naicfc_result> {
    if ptr.is_null() {
        return if len == 0 {
            Ok(Span { start: 0, end: 0 })
        } else {
            Err(NAICFC_NULL_POINTER)
        };
    }
    if (ptr as usize) % align_of::<T>() != 0 {
        return Err(NAICFC_MISALIGNED_POINTER);
    }
    let bytes = len
        .checked_mul(size_of::<T>())
        .filter(|&b| b <= isize::MAX as usize)
        .ok_or(NAICFC_BAD_LENGTH)?;
    let start = ptr as usize;
    let end = start.checked_add(bytes).ok_or(NAICFC_BAD_LENGTH)?;
    Ok(Span { start, end })
}

/// A caller buffer as an address range, for overlap checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Span {
    pub start: usize,
    pub end: usize,
}

impl Span {
    /// The bytes of one object.
    pub fn of<T>(r: &T) -> Span {
        let start = r as *const T as usize;
        Span {
            start,
            end: start + size_of::<T>(),
        }
    }

    /// Whether two ranges share a byte. Empty ranges share none.
    pub fn overlaps(self, other: Span) -> bool {
        let empty = |s: Span| s.start >= s.end;
        !empty(self) && !empty(other) && self.start < other.end && other.start < self.end
    }
}

/// An input buffer as a slice, after [`checked_range`].
///
/// # Safety
/// A non-NULL `ptr` must point to `len` initialised values of `T` that stay unchanged for `'a`.
pub(crate) unsafe fn input<'a, T>(ptr: *const T, len: usize) -> Result<&'a [T], naicfc_result> {
    checked_range(ptr, len)?;
    if ptr.is_null() {
        return Ok(&[]);
    }
    // SAFETY: non-NULL, aligned and addressable (checked above); contents are the caller's
    // promise.
    Ok(unsafe { core::slice::from_raw_parts(ptr, len) })
}

/// An output buffer as a slice, after [`checked_range`].
///
/// # Safety
/// A non-NULL `ptr` must point to `len` writable values of `T`, used by nothing else for `'a`.
pub(crate) unsafe fn output<'a, T>(ptr: *mut T, len: usize) -> Result<&'a mut [T], naicfc_result> {
    checked_range(ptr.cast_const(), len)?;
    if ptr.is_null() {
        return Ok(&mut []);
    }
    // SAFETY: as for `input`; exclusivity against the other arguments is checked by the
    // callers with `Span::overlaps`.
    Ok(unsafe { core::slice::from_raw_parts_mut(ptr, len) })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn boom<T>() -> T {
        panic!("deliberate panic inside an exported function")
    }

    #[test]
    fn a_panic_becomes_the_panic_value() {
        let r: naicfc_result = ffi_boundary!(boom());
        assert_eq!(r, NAICFC_PANIC);
        let n: usize = ffi_boundary!(boom());
        assert_eq!(n, 0);
        let ok: naicfc_result = ffi_boundary!(NAICFC_OK);
        assert_eq!(ok, NAICFC_OK);
    }

    #[test]
    fn pointer_and_length_rules() {
        let x = [1.0f32; 4];
        let p = x.as_ptr();
        assert_eq!(
            checked_range(core::ptr::null::<f32>(), 0),
            Ok(Span { start: 0, end: 0 })
        );
        assert_eq!(
            checked_range(core::ptr::null::<f32>(), 1),
            Err(NAICFC_NULL_POINTER)
        );
        let span = checked_range(p, 4).unwrap();
        assert_eq!(span.end - span.start, 16);
        let odd = (p as usize + 1) as *const f32;
        assert_eq!(checked_range(odd, 1), Err(NAICFC_MISALIGNED_POINTER));
        assert_eq!(checked_range(p, usize::MAX / 2), Err(NAICFC_BAD_LENGTH));
        assert_eq!(
            non_null_aligned(core::ptr::null::<u32>()),
            Err(NAICFC_NULL_POINTER)
        );
    }

    #[test]
    fn overlap_is_strict() {
        let s = |start, end| Span { start, end };
        assert!(s(0, 10).overlaps(s(9, 12)));
        assert!(!s(0, 10).overlaps(s(10, 12)));
        assert!(
            !s(5, 5).overlaps(s(0, 10)),
            "an empty range overlaps nothing"
        );
        assert!(s(3, 4).overlaps(s(0, 10)));
    }
}
