//! `.npy` files: a 2-D float32 or float16 array, one feature vector per row.
//!
//! `npyz` parses and writes the header; the data itself is read in bulk straight into the
//! feature matrix (with a byte swap or a float16 conversion when needed), because decoding a
//! 430,000 x 2048 array value by value through a generic reader takes seconds.

use super::InputError;
use super::atomic::write_atomic_with;
use super::bytes::{as_bytes_mut, swap_bytes};
use super::features::{FeatureSet, Loaded, ReadOptions, check_finite, matrix_len};
use anyhow::{Context, Result, bail};
use half::f16;
use npyz::{DType, Endianness, NpyHeader, Order, TypeChar, TypeStr, WriteOptions, WriterBuilder};
use rayon::prelude::*;
use std::ffi::OsString;
use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

/// Element type of a written `.npy` file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NpyDtype {
    /// Little-endian float32 (`<f4`): exact.
    F32,
    /// Little-endian float16 (`<f2`): half the size, about 3 significant digits.
    F16,
}

/// How the values of a file are stored.
#[derive(Debug, Clone, Copy)]
enum Stored {
    F32 { swap: bool },
    F16 { big_endian: bool },
}

impl Stored {
    fn from_dtype(dtype: &DType) -> Option<Stored> {
        let DType::Plain(ts) = dtype else { return None };
        if ts.type_char() != TypeChar::Float {
            return None;
        }
        let big_endian = ts.endianness() == Endianness::Big;
        match ts.size_field() {
            4 => Some(Stored::F32 {
                swap: big_endian != cfg!(target_endian = "big"),
            }),
            2 => Some(Stored::F16 { big_endian }),
            _ => None,
        }
    }

    fn item_size(self) -> usize {
        match self {
            Stored::F32 { .. } => 4,
            Stored::F16 { .. } => 2,
        }
    }
}

/// Values converted per read for float16, to bound the staging buffer.
const F16_CHUNK: usize = 1 << 16;

/// Columns gathered per pass when transposing a Fortran-order array: 16 f32 are one cache line
/// of a row, so each output row is touched once per pass.
const FORTRAN_BLOCK: usize = 16;

/// Read `out.len()` stored values into `out`.
fn read_values(
    r: &mut impl Read,
    stored: Stored,
    out: &mut [f32],
    scratch: &mut Vec<u8>,
) -> std::io::Result<()> {
    match stored {
        Stored::F32 { swap } => {
            r.read_exact(as_bytes_mut(out))?;
            if swap {
                swap_bytes(out);
            }
        }
        Stored::F16 { big_endian } => {
            for chunk in out.chunks_mut(F16_CHUNK) {
                scratch.resize(chunk.len() * 2, 0);
                r.read_exact(scratch)?;
                for (v, b) in chunk.iter_mut().zip(scratch.chunks_exact(2)) {
                    let b = [b[0], b[1]];
                    let bits = if big_endian {
                        u16::from_be_bytes(b)
                    } else {
                        u16::from_le_bytes(b)
                    };
                    *v = f16::from_bits(bits).to_f32();
                }
            }
        }
    }
    Ok(())
}

/// A shape the way numpy prints it: `(2048,)`, `(3, 4)`.
fn fmt_shape(shape: &[u64]) -> String {
    match shape {
        [n] => format!("({n},)"),
        _ => {
            let dims: Vec<String> = shape.iter().map(u64::to_string).collect();
            format!("({})", dims.join(", "))
        }
    }
}

/// Row names for `rows` rows: the index, zero-padded to the width of the largest index.
fn row_names(rows: usize) -> Vec<String> {
    let width = rows.saturating_sub(1).to_string().len();
    (0..rows).map(|i| format!("{i:0width$}")).collect()
}

/// The path used to report a bad row: `file.npy[row 12]`.
fn row_path(path: &Path, row: usize) -> PathBuf {
    let mut s = OsString::from(path.as_os_str());
    s.push(format!("[row {row}]"));
    PathBuf::from(s)
}

/// Longest header we accept; numpy itself refuses headers over 10,000 bytes by default.
const MAX_HEADER_LEN: u64 = 1 << 16;

/// Checks that must happen before `npyz` sees the header: it allocates the declared header
/// length before reading it and multiplies shape entries unchecked (a panic in debug builds),
/// so a corrupt or hostile file has to be stopped here. `npyz` still does the real parsing.
fn precheck_header(r: &mut impl Read, file_len: u64) -> Result<(), String> {
    let mut pre = [0u8; 12];
    let short = |_| "file is too short for a .npy header".to_string();
    r.read_exact(&mut pre[..8]).map_err(short)?;
    if &pre[..6] != b"\x93NUMPY" {
        return Err("missing the \\x93NUMPY signature".into());
    }
    let (prefix, header_len) = match pre[6] {
        1 => {
            r.read_exact(&mut pre[8..10]).map_err(short)?;
            (10, u64::from(u16::from_le_bytes([pre[8], pre[9]])))
        }
        2 | 3 => {
            r.read_exact(&mut pre[8..12]).map_err(short)?;
            let len = u32::from_le_bytes([pre[8], pre[9], pre[10], pre[11]]);
            (12, u64::from(len))
        }
        v => return Err(format!("unsupported format version {v}.{}", pre[7])),
    };
    if header_len > MAX_HEADER_LEN || prefix + header_len > file_len {
        return Err(format!(
            "header length {header_len} does not fit the file ({file_len} bytes)"
        ));
    }
    let mut text = vec![0u8; header_len as usize];
    r.read_exact(&mut text).map_err(short)?;
    let text = String::from_utf8_lossy(&text);

    let value_of = |key: &str| {
        ["'", "\""].iter().find_map(|q| {
            let at = text.find(&format!("{q}{key}{q}"))?;
            let rest = text[at + key.len() + 2..].trim_start();
            Some(rest.strip_prefix(':')?.trim_start())
        })
    };
    let descr = value_of("descr").ok_or("header has no 'descr'")?;
    if !descr.starts_with(['\'', '"']) {
        return Err(
            "structured dtypes are not supported; expected float32 ('<f4') or float16 ('<f2')"
                .into(),
        );
    }
    let shape = value_of("shape").ok_or("header has no 'shape'")?;
    let close = match shape.chars().next() {
        Some('(') => ')',
        Some('[') => ']',
        _ => return Err("header 'shape' is not a tuple".into()),
    };
    let end = shape.find(close).ok_or("header 'shape' is not a tuple")?;
    let mut product: u64 = 1;
    for dim in shape[1..end]
        .split(',')
        .map(str::trim)
        .filter(|d| !d.is_empty())
    {
        let dim: u64 = dim
            .parse()
            .map_err(|_| format!("header 'shape' entry `{dim}` is not a size"))?;
        // Zero entries make the array empty, but npyz still multiplies the others together.
        if dim != 0 {
            product = product
                .checked_mul(dim)
                .ok_or_else(|| format!("shape {} is too large", &shape[..=end]))?;
        }
    }
    Ok(())
}

/// Read a 2-D float32 or float16 `.npy` array (either byte order, C or Fortran order) into f32
/// rows named `0`, `1`, ... zero-padded to the width of the largest index (`000` ... `123`).
///
/// Anything else (another dtype, a 1-D or 3-D array, a truncated file, a dimension other than
/// `opts.dim`) is an `Err` naming the file. A row with a non-finite value is reported in
/// [`Loaded::failures`] as `file.npy[row 12]` and left out (with `opts.strict`, the first such
/// row is an `Err`); the other rows keep their names, so names always give the original index.
pub fn read_npy(path: &Path, opts: &ReadOptions) -> Result<Loaded> {
    let file = File::open(path).with_context(|| format!("{}: cannot open", path.display()))?;
    let file_len = file
        .metadata()
        .with_context(|| format!("{}: cannot read", path.display()))?
        .len();
    let mut r = BufReader::with_capacity(1 << 20, file);
    precheck_header(&mut r, file_len).map_err(|problem| {
        anyhow::anyhow!("{}: not a valid .npy file: {problem}", path.display())
    })?;
    r.seek(SeekFrom::Start(0))
        .with_context(|| format!("{}: cannot read", path.display()))?;
    let header = NpyHeader::from_reader(&mut r)
        .with_context(|| format!("{}: not a valid .npy file", path.display()))?;
    let data_start = r
        .stream_position()
        .with_context(|| format!("{}: cannot read", path.display()))?;

    let dtype = header.dtype();
    let Some(stored) = Stored::from_dtype(&dtype) else {
        bail!(
            "{}: dtype {} is not supported; expected float32 ('<f4') or float16 ('<f2')",
            path.display(),
            dtype.descr()
        );
    };
    let shape = header.shape();
    let (rows, dim) = match *shape {
        [rows, dim] => (rows, dim),
        [n] => bail!(
            "{}: a 1-D array of shape {}; expected a 2-D array (rows x dim), e.g. shape (1, {n}) \
             for a single vector",
            path.display(),
            fmt_shape(shape)
        ),
        _ => bail!(
            "{}: a {}-D array of shape {}; expected a 2-D array (rows x dim)",
            path.display(),
            shape.len(),
            fmt_shape(shape)
        ),
    };
    let too_large = || {
        format!(
            "{}: shape {} is too large",
            path.display(),
            fmt_shape(shape)
        )
    };
    let rows = usize::try_from(rows).ok().with_context(too_large)?;
    let dim = usize::try_from(dim).ok().with_context(too_large)?;
    if dim == 0 {
        bail!(
            "{}: shape {} has rows of 0 values",
            path.display(),
            fmt_shape(shape)
        );
    }
    if let Some(want) = opts.dim.filter(|&d| d != dim) {
        bail!(
            "{}: rows have {dim} values, expected {want}",
            path.display()
        );
    }
    let total = matrix_len(rows, dim).with_context(too_large)?;
    // Check against the file size before allocating: a corrupt header must not make us try to
    // allocate terabytes.
    let needed = (total as u64).saturating_mul(stored.item_size() as u64);
    let available = file_len.saturating_sub(data_start);
    if needed > available {
        bail!(
            "{}: truncated: shape {} needs {needed} bytes of data but the file has {available}",
            path.display(),
            fmt_shape(shape)
        );
    }

    let mut data = vec![0f32; total];
    let mut scratch = Vec::new();
    let read = match header.order() {
        Order::C => read_values(&mut r, stored, &mut data, &mut scratch),
        Order::Fortran => read_fortran(&mut r, stored, &mut data, rows, dim, &mut scratch),
    };
    read.with_context(|| format!("{}: cannot read", path.display()))?;

    let problems: Vec<Option<String>> = data
        .par_chunks(dim)
        .map(|row| check_finite(row).err())
        .collect();
    let failures: Vec<InputError> = problems
        .iter()
        .enumerate()
        .filter_map(|(i, p)| {
            p.as_ref().map(|p| InputError {
                path: row_path(path, i),
                problem: p.clone(),
            })
        })
        .collect();
    let mut set = FeatureSet {
        names: row_names(rows),
        dim,
        data,
    };
    if !failures.is_empty() {
        set.retain_rows(|i| problems[i].is_none());
    }
    Loaded { set, failures }.check_strict(opts.strict)
}

/// Read a column-major `rows x dim` array into row-major `out`.
fn read_fortran(
    r: &mut impl Read,
    stored: Stored,
    out: &mut [f32],
    rows: usize,
    dim: usize,
    scratch: &mut Vec<u8>,
) -> std::io::Result<()> {
    let mut block = vec![0f32; rows * FORTRAN_BLOCK.min(dim)];
    for c0 in (0..dim).step_by(FORTRAN_BLOCK) {
        let cols = FORTRAN_BLOCK.min(dim - c0);
        let block = &mut block[..rows * cols];
        read_values(r, stored, block, scratch)?;
        for (row, out_row) in out.chunks_exact_mut(dim).enumerate() {
            for (k, v) in out_row[c0..c0 + cols].iter_mut().enumerate() {
                *v = block[k * rows + row];
            }
        }
    }
    Ok(())
}

/// Write `set` as a 2-D `len x dim` array, atomically (see [`write_atomic_with`]).
///
/// Row names are not stored: reading the file back names rows by index. With
/// [`NpyDtype::F16`], a value beyond the float16 range (±65504) is an error rather than being
/// silently written as infinity, which the reader would then reject.
pub fn write_npy(path: &Path, set: &FeatureSet, dtype: NpyDtype) -> Result<()> {
    if set.data.len() != set.names.len() * set.dim {
        bail!(
            "{}: feature set is inconsistent: {} names x {} values but {} values in total",
            path.display(),
            set.names.len(),
            set.dim,
            set.data.len()
        );
    }
    if dtype == NpyDtype::F16 {
        let overflow = set
            .data
            .iter()
            .position(|v| v.is_finite() && f16::from_f32(*v).is_infinite());
        if let Some(k) = overflow {
            let (row, col) = (k / set.dim, k % set.dim);
            bail!(
                "{}: cannot store as float16: row {} value {col} is {}, beyond the float16 range \
                 (±65504)",
                path.display(),
                set.names[row],
                set.data[k]
            );
        }
    }
    let shape = [set.len() as u64, set.dim as u64];
    write_atomic_with(path, |w| {
        match dtype {
            NpyDtype::F32 => {
                let mut npy = WriteOptions::<f32>::new()
                    .dtype(little_endian("f4"))
                    .shape(&shape)
                    .writer(w)
                    .begin_nd()?;
                npy.extend(set.data.iter().copied())?;
                npy.finish()?;
            }
            NpyDtype::F16 => {
                let mut npy = WriteOptions::<f16>::new()
                    .dtype(little_endian("f2"))
                    .shape(&shape)
                    .writer(w)
                    .begin_nd()?;
                npy.extend(set.data.iter().map(|&v| f16::from_f32(v)))?;
                npy.finish()?;
            }
        }
        Ok(())
    })
}

/// A little-endian dtype, whatever the machine: files must not depend on where they were made.
fn little_endian(ty: &str) -> DType {
    let ts: TypeStr = format!("<{ty}")
        .parse()
        .expect("constant dtype strings are valid");
    DType::Plain(ts)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::read_features;

    fn sample(rows: usize, dim: usize) -> FeatureSet {
        FeatureSet {
            names: row_names(rows),
            dim,
            // Multiples of 1/8 are exact in float16.
            data: (0..rows * dim)
                .map(|i| (i % 97) as f32 * 0.125 - 6.0)
                .collect(),
        }
    }

    fn read(path: &Path) -> Result<Loaded> {
        read_features(path, &ReadOptions::default())
    }

    /// Write `values` (given row-major) with an explicit dtype string and order.
    fn write_raw<T: npyz::Serialize + Copy>(
        path: &Path,
        dtype: &str,
        order: Order,
        shape: &[u64],
        values: &[T],
    ) {
        let f = File::create(path).unwrap();
        let mut w = WriteOptions::<T>::new()
            .dtype(DType::Plain(dtype.parse().unwrap()))
            .order(order)
            .shape(shape)
            .writer(std::io::BufWriter::new(f))
            .begin_nd()
            .unwrap();
        w.extend(values.iter().copied()).unwrap();
        w.finish().unwrap();
    }

    /// Column-major copy of a row-major `rows x dim` matrix.
    fn transpose<T: Copy>(v: &[T], rows: usize, dim: usize) -> Vec<T> {
        (0..dim)
            .flat_map(|c| (0..rows).map(move |r| (r, c)))
            .map(|(r, c)| v[r * dim + c])
            .collect()
    }

    #[test]
    fn f32_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.npy");
        let set = FeatureSet {
            data: (0..11 * 7).map(|i| (i as f32).sin() * 3.3).collect(),
            ..sample(11, 7)
        };
        write_npy(&path, &set, NpyDtype::F32).unwrap();
        let l = read(&path).unwrap();
        assert!(l.failures.is_empty());
        assert_eq!(l.set, set);
        assert_eq!(l.set.names[0], "00");
        assert_eq!(l.set.names[10], "10");
        // Only the output file: no temporary left behind.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn f16_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("h.npy");
        let set = sample(5, 40);
        write_npy(&path, &set, NpyDtype::F16).unwrap();
        let len = std::fs::metadata(&path).unwrap().len();
        assert!(len < 5 * 40 * 4, "float16 file is {len} bytes");
        let l = read(&path).unwrap();
        assert_eq!(l.set, set);

        // Values that are not exact in float16 come back to within its precision.
        let fuzzy = FeatureSet {
            data: (0..200).map(|i| (i as f32 * 0.37).cos()).collect(),
            ..sample(5, 40)
        };
        write_npy(&path, &fuzzy, NpyDtype::F16).unwrap();
        let l = read(&path).unwrap();
        for (a, b) in l.set.data.iter().zip(&fuzzy.data) {
            assert!((a - b).abs() <= 1e-3, "{a} vs {b}");
        }
    }

    #[test]
    fn f16_overflow_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("h.npy");
        let mut set = sample(3, 4);
        set.data[6] = 1e6;
        let err = write_npy(&path, &set, NpyDtype::F16).unwrap_err();
        assert!(
            err.to_string().contains("row 1 value 2 is 1000000"),
            "{err}"
        );
        assert!(!path.exists());
    }

    #[test]
    fn big_endian_and_fortran_order() {
        let dir = tempfile::tempdir().unwrap();
        let (rows, dim) = (37, 21); // a partial last column block
        let set = sample(rows, dim);
        let h: Vec<f16> = set.data.iter().map(|&v| f16::from_f32(v)).collect();
        let cases: [(&str, Order, bool); 6] = [
            (">f4", Order::C, false),
            ("<f4", Order::Fortran, false),
            (">f4", Order::Fortran, false),
            ("<f2", Order::Fortran, true),
            (">f2", Order::C, true),
            (">f2", Order::Fortran, true),
        ];
        for (dtype, order, half) in cases {
            let path = dir.path().join("x.npy");
            let shape = [rows as u64, dim as u64];
            match (order, half) {
                (Order::C, false) => write_raw(&path, dtype, order, &shape, &set.data),
                (Order::Fortran, false) => write_raw(
                    &path,
                    dtype,
                    order,
                    &shape,
                    &transpose(&set.data, rows, dim),
                ),
                (Order::C, true) => write_raw(&path, dtype, order, &shape, &h),
                (Order::Fortran, true) => {
                    write_raw(&path, dtype, order, &shape, &transpose(&h, rows, dim))
                }
            }
            let l = read(&path).unwrap();
            assert_eq!(l.set, set, "{dtype} {order:?}");
        }
    }

    #[test]
    fn one_d_array_is_rejected() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v.npy");
        write_raw(&path, "<f4", Order::C, &[2048], &vec![0f32; 2048]);
        let err = read(&path).unwrap_err().to_string();
        assert!(err.contains("v.npy: a 1-D array of shape (2048,)"), "{err}");
        assert!(err.contains("expected a 2-D array"), "{err}");
    }

    #[test]
    fn three_d_array_is_rejected() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v.npy");
        write_raw(&path, "<f4", Order::C, &[2, 3, 4], &[0f32; 24]);
        let err = read(&path).unwrap_err().to_string();
        assert!(err.contains("3-D array of shape (2, 3, 4)"), "{err}");
    }

    #[test]
    fn other_dtypes_are_rejected() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("d.npy");
        write_raw(&path, "<f8", Order::C, &[2, 2], &[0f64; 4]);
        let err = read(&path).unwrap_err().to_string();
        assert!(err.contains("d.npy: dtype '<f8' is not supported"), "{err}");
        write_raw(&path, "<i4", Order::C, &[2, 2], &[0i32; 4]);
        let err = read(&path).unwrap_err().to_string();
        assert!(err.contains("dtype '<i4' is not supported"), "{err}");
    }

    #[test]
    fn non_finite_rows_are_reported_per_row() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("n.npy");
        let mut set = sample(13, 3);
        set.data[12 * 3 + 1] = f32::NAN;
        set.data[2 * 3] = f32::NEG_INFINITY;
        write_npy(&path, &set, NpyDtype::F32).unwrap();
        let l = read(&path).unwrap();
        assert_eq!(l.set.len(), 11);
        assert!(!l.set.names.contains(&"02".to_string()));
        assert_eq!(l.set.names[2], "03");
        assert_eq!(l.set.row(2), set.row(3));
        let shown: Vec<String> = l.failures.iter().map(|f| f.to_string()).collect();
        assert!(
            shown[0].ends_with("n.npy[row 2]: value 0 is -inf"),
            "{shown:?}"
        );
        assert!(
            shown[1].ends_with("n.npy[row 12]: value 1 is NaN"),
            "{shown:?}"
        );

        let strict = ReadOptions {
            dim: None,
            strict: true,
        };
        let err = read_features(&path, &strict).unwrap_err().to_string();
        assert!(err.ends_with("n.npy[row 2]: value 0 is -inf"), "{err}");
    }

    #[test]
    fn dim_mismatch_truncation_and_garbage_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.npy");
        write_npy(&path, &sample(4, 8), NpyDtype::F32).unwrap();
        let opts = ReadOptions {
            dim: Some(16),
            strict: false,
        };
        let err = read_features(&path, &opts).unwrap_err().to_string();
        assert!(err.contains("rows have 8 values, expected 16"), "{err}");

        let bytes = std::fs::read(&path).unwrap();
        std::fs::write(&path, &bytes[..bytes.len() - 5]).unwrap();
        let err = read(&path).unwrap_err().to_string();
        assert!(err.contains("t.npy: truncated"), "{err}");

        std::fs::write(&path, b"definitely not numpy").unwrap();
        let err = read(&path).unwrap_err().to_string();
        assert!(err.contains("t.npy: not a valid .npy file"), "{err}");

        std::fs::write(&path, b"").unwrap();
        assert!(read(&path).is_err());
    }

    /// A hand-made `.npy` file, for headers `npyz` would refuse to write.
    fn raw_npy(dict: &str, data: &[u8]) -> Vec<u8> {
        let mut h = dict.to_string();
        while (10 + h.len() + 1) % 64 != 0 {
            h.push(' ');
        }
        h.push('\n');
        let mut out = b"\x93NUMPY\x01\x00".to_vec();
        out.extend((h.len() as u16).to_le_bytes());
        out.extend(h.as_bytes());
        out.extend(data);
        out
    }

    #[test]
    fn huge_shape_in_small_file_is_rejected_without_allocating() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big.npy");
        let dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (9999999999, 4), }";
        std::fs::write(&path, raw_npy(dict, &[0; 16])).unwrap();
        let err = read(&path).unwrap_err().to_string();
        assert!(err.contains("big.npy: truncated"), "{err}");

        let dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (2305843009213693952, 4), }";
        std::fs::write(&path, raw_npy(dict, &[0; 16])).unwrap();
        let err = read(&path).unwrap_err().to_string();
        assert!(err.contains("big.npy: shape"), "{err}");
        assert!(err.contains("too large"), "{err}");

        // The product overflows u64: npyz alone would panic (debug) or wrap (release).
        let dict =
            "{'descr': '<f4', 'fortran_order': False, 'shape': (0, 4294967296, 4294967296), }";
        std::fs::write(&path, raw_npy(dict, &[])).unwrap();
        let err = read(&path).unwrap_err().to_string();
        assert!(err.contains("not a valid .npy file: shape"), "{err}");

        // A header length far beyond the file: npyz alone would allocate it before reading.
        let mut bytes = b"\x93NUMPY\x02\x00".to_vec();
        bytes.extend(u32::MAX.to_le_bytes());
        std::fs::write(&path, &bytes).unwrap();
        let err = read(&path).unwrap_err().to_string();
        assert!(
            err.contains("header length 4294967295 does not fit"),
            "{err}"
        );

        let dict = "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,), }";
        std::fs::write(&path, raw_npy(dict, &[0; 4])).unwrap();
        let err = read(&path).unwrap_err().to_string();
        assert!(err.contains("structured dtypes are not supported"), "{err}");

        let dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 0), }";
        std::fs::write(&path, raw_npy(dict, &[])).unwrap();
        let err = read(&path).unwrap_err().to_string();
        assert!(err.contains("rows of 0 values"), "{err}");
    }

    #[test]
    fn hand_made_header_reads() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ok.npy");
        let dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 2), }";
        let data: Vec<u8> = [1.5f32, -2.0]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        std::fs::write(&path, raw_npy(dict, &data)).unwrap();
        let l = read(&path).unwrap();
        assert_eq!(l.set.data, [1.5, -2.0]);
        assert_eq!(l.set.names, ["0"]);
    }

    #[test]
    fn empty_array_reads_as_no_rows() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("e.npy");
        let set = FeatureSet {
            names: vec![],
            dim: 5,
            data: vec![],
        };
        write_npy(&path, &set, NpyDtype::F32).unwrap();
        let l = read(&path).unwrap();
        assert!(l.set.is_empty());
        assert_eq!(l.set.dim, 5);
    }

    #[test]
    fn row_names_are_padded_to_largest_index() {
        assert_eq!(row_names(1), ["0"]);
        assert_eq!(row_names(10)[0], "0");
        assert_eq!(row_names(11)[0], "00");
        assert_eq!(row_names(1001)[7], "0007");
    }
}
