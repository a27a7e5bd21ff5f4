//! `.npy` files: a 2-D float32 or float16 array (float64 too, on reading), one feature vector per row.
//!
//! `npyz` parses the header; the data itself is read in bulk straight into the feature matrix
//! (with a byte swap or a float16 conversion when needed), because decoding a 430,000 x 2048
//! array value by value through a generic reader takes seconds. Both directions work a batch of
//! rows at a time ([`NpyFile`], [`NpyWriter`]), so memory does not grow with the file. We write
//! the (format 1.0) header ourselves: its row count is only known at the end.

use super::InputError;
use super::atomic::{AtomicFile, commit_pair};
use super::bytes::{as_bytes_mut, le_bytes, swap_bytes};
use super::matrix::{FeatureSet, Loaded, ReadOptions, check_finite, matrix_len};
use super::npy_names::{names_file, read_names};
use anyhow::{Context, Result, bail};
use half::f16;
use npyz::{DType, Endianness, NpyHeader, Order, TypeChar};
use rayon::prelude::*;
use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom, Write};
use std::ops::Range;
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
    F32 {
        swap: bool,
    },
    F16 {
        big_endian: bool,
    },
    /// numpy's default dtype, converted to f32 as it is read (rounded to nearest; a value
    /// beyond the f32 range becomes infinite and its row is reported as non-finite).
    F64 {
        big_endian: bool,
    },
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
            8 => Some(Stored::F64 { big_endian }),
            _ => None,
        }
    }

    fn item_size(self) -> usize {
        match self {
            Stored::F32 { .. } => 4,
            Stored::F16 { .. } => 2,
            Stored::F64 { .. } => 8,
        }
    }
}

/// Values converted at a time between stored bytes and f32, to bound the staging buffer.
const CONVERT_CHUNK: usize = 1 << 16;

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
            for chunk in out.chunks_mut(CONVERT_CHUNK) {
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
        Stored::F64 { big_endian } => {
            for chunk in out.chunks_mut(CONVERT_CHUNK) {
                scratch.resize(chunk.len() * 8, 0);
                r.read_exact(scratch)?;
                for (v, b) in chunk.iter_mut().zip(scratch.chunks_exact(8)) {
                    let b: [u8; 8] = b.try_into().expect("chunks of 8 bytes");
                    let x = if big_endian {
                        f64::from_be_bytes(b)
                    } else {
                        f64::from_le_bytes(b)
                    };
                    *v = x as f32;
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

/// Names of the rows `range` of a `total`-row array: the index, zero-padded to the width of the
/// largest index, so that names sort like rows.
pub(super) fn row_names(range: Range<usize>, total: usize) -> Vec<String> {
    let width = total.saturating_sub(1).to_string().len();
    range.map(|i| format!("{i:0width$}")).collect()
}

/// Longest header we accept; numpy itself refuses headers over 10,000 bytes by default.
const MAX_HEADER_LEN: u64 = 1 << 16;

/// The one thing `npyz` (0.8) cannot do: read a hostile header safely. It allocates the declared
/// header length (up to 4 GiB) before reading it, and multiplies the shape entries, and those of
/// a structured dtype's sub-arrays, without overflow checks (a panic in debug builds, a wrong
/// size in release). So this looks only at the length, the shape's entries and whether `descr`
/// is a plain type string; `npyz` then parses the header for real.
pub(super) fn precheck_header(r: &mut impl Read, file_len: u64) -> Result<(), String> {
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
            "structured dtypes are not supported; expected float32 ('<f4'), float16 ('<f2') or \
             float64 ('<f8')"
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

/// An open `.npy` feature array whose header has been checked; rows are read on demand, so a
/// file of any size can be processed a batch at a time ([`super::read_in_batches`]).
///
/// The array is 2-D float32, float16 or float64 (either byte order, C or Fortran order; float64
/// converted once, as it is read, with a note on stderr), read into f32
/// rows named by its names file (`g.names.txt` beside `g.npy`, see [`super::npy_names`]) or,
/// without one, `0`, `1`, ... zero-padded to the width of the largest index (`000` ... `123`).
/// Anything else (another dtype, a 1-D or 3-D array, a truncated file, a dimension other than
/// `opts.dim`, a names file that does not fit) is an `Err` naming the file. A row with a
/// non-finite value is reported in [`Loaded::failures`] as `file.npy[row 12]` and left out;
/// the other rows keep their names.
pub struct NpyFile {
    path: PathBuf,
    reader: BufReader<File>,
    stored: Stored,
    order: Order,
    rows: usize,
    dim: usize,
    /// Offset of the first value.
    data_start: u64,
    /// From the names file beside the array, if there is one; else rows are named by index.
    names: Option<Vec<String>>,
}

impl NpyFile {
    /// Open `path` and check everything but the values.
    pub fn open(path: &Path, opts: &ReadOptions) -> Result<NpyFile> {
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
                "{}: dtype {} is not supported; expected float32 ('<f4'), float16 ('<f2') or \
                 float64 ('<f8')",
                path.display(),
                dtype.descr()
            );
        };
        let shape = header.shape();
        let (rows, dim) = match *shape {
            [rows, dim] => (rows, dim),
            [n] => bail!(
                "{}: a 1-D array of shape {}; expected a 2-D array (rows x dim), e.g. shape (1, \
                 {n}) for a single vector",
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
        // Check against the file size before anything is allocated: a corrupt header must not
        // make us try to allocate terabytes.
        let needed = (total as u64).saturating_mul(stored.item_size() as u64);
        let available = file_len.saturating_sub(data_start);
        if needed > available {
            bail!(
                "{}: truncated: shape {} needs {needed} bytes of data but the file has \
                 {available}",
                path.display(),
                fmt_shape(shape)
            );
        }
        if matches!(stored, Stored::F64 { .. }) && rows > 0 {
            crate::summary!(
                "naicfc: note: {}: float64 values are converted to float32 as they are read",
                path.display()
            );
        }
        Ok(NpyFile {
            path: path.to_path_buf(),
            reader: r,
            stored,
            order: header.order(),
            rows,
            dim,
            data_start,
            names: read_names(path, rows)?,
        })
    }

    /// Number of rows in the file.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Read the rows `range` (clipped to the file), named and checked as described above; row
    /// names and reported row numbers are those of the whole file. `strict` is left to the
    /// caller.
    pub fn read(&mut self, range: Range<usize>) -> Result<Loaded> {
        let end = range.end.min(self.rows);
        let first = range.start.min(end);
        let n = end - first;
        let mut data = vec![0f32; n * self.dim];
        let read = match self.order {
            Order::C => self.read_c(first, &mut data),
            Order::Fortran => self.read_fortran(first, n, &mut data),
        };
        read.with_context(|| format!("{}: cannot read", self.path.display()))?;

        let problems: Vec<Option<String>> = data
            .par_chunks(self.dim)
            .map(|row| check_finite(row).err())
            .collect();
        let names = match &self.names {
            Some(names) => names[first..end].to_vec(),
            None => row_names(first..end, self.rows),
        };
        let failures: Vec<InputError> = problems
            .iter()
            .enumerate()
            .filter_map(|(i, p)| {
                p.as_ref()
                    .map(|p| InputError::row(&self.path, first + i, &names[i], p.clone()))
            })
            .collect();
        let mut set = FeatureSet {
            names,
            dim: self.dim,
            data,
        };
        if !failures.is_empty() {
            set.retain_rows(|i| problems[i].is_none());
        }
        Ok(Loaded { set, failures })
    }

    /// Byte offset of value `index` (in storage order).
    fn offset(&self, index: usize) -> u64 {
        self.data_start + index as u64 * self.stored.item_size() as u64
    }

    /// Row-major rows from `first`: one contiguous run of the file.
    fn read_c(&mut self, first: usize, out: &mut [f32]) -> std::io::Result<()> {
        let at = self.offset(first * self.dim);
        self.reader.seek(SeekFrom::Start(at))?;
        read_values(&mut self.reader, self.stored, out, &mut Vec::new())
    }

    /// Rows `first..first + n` of a column-major array: a run of `n` values in each column,
    /// gathered [`FORTRAN_BLOCK`] columns at a time so that each output row is touched once per
    /// block.
    fn read_fortran(&mut self, first: usize, n: usize, out: &mut [f32]) -> std::io::Result<()> {
        let dim = self.dim;
        let mut block = vec![0f32; n * FORTRAN_BLOCK.min(dim)];
        let mut scratch = Vec::new();
        for c0 in (0..dim).step_by(FORTRAN_BLOCK) {
            let cols = FORTRAN_BLOCK.min(dim - c0);
            for (k, run) in block.chunks_exact_mut(n.max(1)).take(cols).enumerate() {
                let at = self.offset((c0 + k) * self.rows + first);
                self.reader.seek(SeekFrom::Start(at))?;
                read_values(&mut self.reader, self.stored, &mut run[..n], &mut scratch)?;
            }
            for (row, out_row) in out.chunks_exact_mut(dim).enumerate() {
                for (k, v) in out_row[c0..c0 + cols].iter_mut().enumerate() {
                    *v = block[k * n + row];
                }
            }
        }
        Ok(())
    }
}

/// A 2-D `.npy` array written a batch of rows at a time, so that an output of any size needs
/// memory for one batch only. The row count goes in the header, which is written first with
/// room for the most rows announced and completed by [`NpyWriter::finish`]; the file appears
/// under its name only then, whole (see [`AtomicFile`]).
///
/// The row names go to the names file beside it ([`super::npy_names`]), written after the
/// array. With [`NpyDtype::F16`], a value beyond the float16 range (±65504) is an error rather
/// than being silently written as infinity, which the reader would then reject; so is a row
/// name with a line break. Callers take such rows out first ([`NpyWriter::take_unwritable`])
/// to report them one by one and write the rest.
pub struct NpyWriter {
    out: AtomicFile,
    path: PathBuf,
    dtype: NpyDtype,
    dim: usize,
    max_rows: usize,
    header_len: usize,
    rows: usize,
    names: Vec<String>,
    /// A write failed part-way: the rows on disk no longer match the count.
    broken: bool,
}

impl NpyWriter {
    /// Start `path` for rows of `dim` values, at most `max_rows` of them.
    pub fn create(path: &Path, dtype: NpyDtype, dim: usize, max_rows: usize) -> Result<Self> {
        let mut out = AtomicFile::create(path)?;
        let header = npy_header(dtype, max_rows, dim, None);
        out.writer()
            .write_all(&header)
            .with_context(|| format!("{}: cannot write", path.display()))?;
        Ok(NpyWriter {
            out,
            path: path.to_path_buf(),
            dtype,
            dim,
            max_rows,
            header_len: header.len(),
            rows: 0,
            names: Vec::new(),
            broken: false,
        })
    }

    /// Append the rows of `set`. A batch that is refused (wrong shape, too many rows, a value
    /// float16 cannot hold) leaves the array as it was.
    pub fn write(&mut self, set: &FeatureSet) -> Result<()> {
        let path = self.path.display();
        if set.data.len() != set.names.len() * set.dim {
            bail!(
                "{path}: feature set is inconsistent: {} names x {} values but {} values in total",
                set.names.len(),
                set.dim,
                set.data.len()
            );
        }
        if !set.is_empty() && set.dim != self.dim {
            bail!(
                "{path}: rows of {} values cannot join an array of {}",
                set.dim,
                self.dim
            );
        }
        if self.rows + set.len() > self.max_rows {
            bail!(
                "{path}: more than the {} rows announced for the array",
                self.max_rows
            );
        }
        if let Some((name, problem)) = self.first_unwritable(set) {
            bail!("{path}: row {name}: {problem}");
        }
        // Once some bytes of a batch may be out, the array can no longer be completed.
        self.broken = true;
        let w = self.out.writer();
        match self.dtype {
            NpyDtype::F32 => w.write_all(&le_bytes(&set.data)),
            NpyDtype::F16 => set.data.chunks(CONVERT_CHUNK).try_for_each(|chunk| {
                let bytes: Vec<u8> = chunk
                    .iter()
                    .flat_map(|&v| f16::from_f32(v).to_bits().to_le_bytes())
                    .collect();
                w.write_all(&bytes)
            }),
        }
        .with_context(|| format!("{path}: cannot write"))?;
        self.broken = false;
        self.rows += set.len();
        self.names.extend_from_slice(&set.names);
        Ok(())
    }

    /// Take the rows this array cannot hold (a name with a line break; for float16, a value
    /// beyond its range) out of `set`, each reported as an input error against
    /// `source(i, name, problem)` (`i` the row's position in `set`), the input it came from:
    /// one bad row must not cost the whole batch. The rest of `set` can be written.
    pub fn take_unwritable(
        &self,
        set: &mut FeatureSet,
        source: impl Fn(usize, &str, String) -> InputError,
    ) -> Vec<InputError> {
        let problems: Vec<Option<String>> = set
            .names
            .iter()
            .zip(set.rows())
            .map(|(name, row)| self.row_problem(name, row))
            .collect();
        let failures = set
            .names
            .iter()
            .zip(&problems)
            .enumerate()
            .filter_map(|(i, (name, p))| p.as_ref().map(|problem| source(i, name, problem.clone())))
            .collect::<Vec<_>>();
        if !failures.is_empty() {
            set.retain_rows(|i| problems.get(i).is_none_or(Option::is_none));
        }
        failures
    }

    /// Why the row `name` holding `values` cannot go into this array, if it cannot: a name
    /// with a line break (the names file could not be read back), or for float16 a value
    /// beyond its range (±65504), which would be stored as an infinity the reader rejects.
    fn row_problem(&self, name: &str, values: &[f32]) -> Option<String> {
        if super::has_line_break(name) {
            return Some(format!(
                "the row name {name:?} contains a line break, which a names file cannot hold"
            ));
        }
        if self.dtype != NpyDtype::F16 {
            return None;
        }
        let col = values
            .iter()
            .position(|v| v.is_finite() && f16::from_f32(*v).is_infinite())?;
        Some(format!(
            "value at index {col} is {}, beyond the float16 range (±65504)",
            values[col]
        ))
    }

    /// The first row of `set` that cannot be written, with its problem.
    fn first_unwritable<'s>(&self, set: &'s FeatureSet) -> Option<(&'s str, String)> {
        set.names
            .iter()
            .zip(set.rows())
            .find_map(|(name, row)| Some((name.as_str(), self.row_problem(name, row)?)))
    }

    /// Rows written so far.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Complete the header with the number of rows written and put the file in place.
    pub fn finish(mut self) -> Result<()> {
        if self.broken {
            bail!(
                "{}: not written: an earlier write failed",
                self.path.display()
            );
        }
        let header = npy_header(self.dtype, self.rows, self.dim, Some(self.header_len));
        let w = self.out.writer();
        w.seek(SeekFrom::Start(0))
            .and_then(|_| w.write_all(&header))
            .with_context(|| format!("{}: cannot write", self.path.display()))?;
        let names = names_file(&self.path, &self.names)?;
        commit_pair(self.out, names)
    }
}

/// A format-1.0 `.npy` header for a little-endian C-order `rows x dim` array, padded with
/// spaces to a multiple of 64 bytes as numpy does, or to exactly `len` bytes when given (a
/// header for fewer rows than the one it replaces is never longer).
fn npy_header(dtype: NpyDtype, rows: usize, dim: usize, len: Option<usize>) -> Vec<u8> {
    let descr = match dtype {
        NpyDtype::F32 => "<f4",
        NpyDtype::F16 => "<f2",
    };
    let mut dict =
        format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': ({rows}, {dim}), }}");
    // Magic (6), version (2), header length (2), then the dictionary ending in a newline.
    let target = len.unwrap_or_else(|| (10 + dict.len() + 1).div_ceil(64) * 64);
    while 10 + dict.len() + 1 < target {
        dict.push(' ');
    }
    dict.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend((dict.len() as u16).to_le_bytes());
    out.extend(dict.as_bytes());
    out
}

// In a file of their own: they read through the input dispatcher (`super::features`), which
// imports this reader.
#[cfg(test)]
mod tests;
