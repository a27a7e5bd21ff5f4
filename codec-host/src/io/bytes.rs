//! Viewing `f32` buffers as bytes, so files can be read straight into (and written straight from)
//! the feature matrix without a per-file staging buffer.

use std::borrow::Cow;

/// The bytes of `values`, in native byte order (bytemuck checks that the view is sound, so
/// this crate needs no `unsafe` of its own for it).
pub(crate) fn as_bytes(values: &[f32]) -> &[u8] {
    bytemuck::cast_slice(values)
}

/// The bytes of `values`, mutably, in native byte order: any bytes written are some `f32`
/// (possibly NaN, which callers check for).
pub(crate) fn as_bytes_mut(values: &mut [f32]) -> &mut [u8] {
    bytemuck::cast_slice_mut(values)
}

/// Turn values just read as little-endian bytes into native `f32`s (a no-op on little-endian
/// machines, which is every machine we ship for).
pub(crate) fn le_to_native(values: &mut [f32]) {
    if cfg!(target_endian = "big") {
        swap_bytes(values);
    }
}

/// Reverse the byte order of every value (for files written on a machine of the other
/// endianness).
pub(crate) fn swap_bytes(values: &mut [f32]) {
    for v in values {
        *v = f32::from_bits(v.to_bits().swap_bytes());
    }
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
    fn le_round_trip() {
        let v = [1.5f32, -2.25, 0.0, f32::MAX];
        let bytes = le_bytes(&v).into_owned();
        let expected: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
        assert_eq!(bytes, expected);
        let mut back = [0f32; 4];
        as_bytes_mut(&mut back).copy_from_slice(&bytes);
        le_to_native(&mut back);
        assert_eq!(back, v);
    }

    #[test]
    fn swap_is_an_involution() {
        let mut v = [1.0f32, 3.5];
        swap_bytes(&mut v);
        assert_ne!(v, [1.0, 3.5]);
        swap_bytes(&mut v);
        assert_eq!(v, [1.0, 3.5]);
    }
}
