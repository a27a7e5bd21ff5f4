//! Viewing `f32` buffers as bytes, so files can be read straight into (and written straight from)
//! the feature matrix without a per-file staging buffer.

use std::borrow::Cow;

/// The bytes of `values`, in native byte order.
pub(crate) fn as_bytes(values: &[f32]) -> &[u8] {
    // SAFETY: `f32` has no padding and no invalid bit patterns, `u8` has alignment 1, and the
    // byte length is exactly the size of the slice, so the view covers the same memory with the
    // same lifetime.
    unsafe { std::slice::from_raw_parts(values.as_ptr().cast::<u8>(), size_of_val(values)) }
}

/// `values` as little-endian bytes: borrowed on little-endian machines, converted otherwise.
pub(crate) fn le_bytes(values: &[f32]) -> Cow<'_, [u8]> {
    if cfg!(target_endian = "little") {
        Cow::Borrowed(as_bytes(values))
    } else {
        Cow::Owned(values.iter().flat_map(|v| v.to_le_bytes()).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn le_bytes_are_little_endian() {
        let v = [1.5f32, -2.25, 0.0, f32::MAX];
        let expected: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
        assert_eq!(le_bytes(&v).into_owned(), expected);
    }
}
