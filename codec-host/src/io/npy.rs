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
use super::features::{FeatureSet, Loaded, ReadOptions, check_finite, matrix_len};
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
fn row_names(range: Range<usize>, total: usize) -> Vec<String> {
    let width = total.saturating_sub(1).to_string().len();
    range.map(|i| format!("{i:0width$}")).collect()
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
            eprintln!(
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
            "value {col} is {}, beyond the float16 range (±65504)",
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::read_features;
    use npyz::{WriteOptions, WriterBuilder};

    /// Write `set` as one array through [`NpyWriter`].
    fn write_npy(path: &Path, set: &FeatureSet, dtype: NpyDtype) -> Result<()> {
        let mut w = NpyWriter::create(path, dtype, set.dim, set.len())?;
        w.write(set)?;
        w.finish()
    }

    fn sample(rows: usize, dim: usize) -> FeatureSet {
        FeatureSet {
            names: row_names(0..rows, rows),
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
        // The array and its names, no temporary left behind.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 2);

        // Names other than indices come back from the names file, batch by batch too.
        let named = FeatureSet {
            names: (0..11).map(|i| format!("cam1_{}", 100 - i)).collect(),
            ..set.clone()
        };
        write_npy(&path, &named, NpyDtype::F32).unwrap();
        assert_eq!(read(&path).unwrap().set, named);
        let (l, _) = read_batched(&path, 4, false).unwrap();
        assert_eq!(l.set, named);
        // Without it, rows are named by index again.
        std::fs::remove_file(dir.path().join("f.names.txt")).unwrap();
        assert_eq!(read(&path).unwrap().set, set);
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
            err.to_string().contains("row 1: value 2 is 1000000"),
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

    /// Every row of `path`, read through [`crate::io::read_in_batches`] `batch` rows at a time.
    fn read_batched(path: &Path, batch: usize, strict: bool) -> Result<(Loaded, usize)> {
        let opts = ReadOptions {
            dim: None,
            strict,
            prefer_dim: None,
        };
        let mut all = Loaded::default();
        let mut batches = 0;
        crate::io::read_in_batches(path, &opts, batch, |l| {
            assert!(l.set.len() + l.failures.len() <= batch);
            batches += 1;
            all.set.dim = l.set.dim;
            all.set.names.extend(l.set.names);
            all.set.data.extend(l.set.data);
            all.failures.extend(l.failures);
            Ok(())
        })?;
        Ok((all, batches))
    }

    #[test]
    fn batches_read_the_same_rows_as_the_whole_file() {
        let dir = tempfile::tempdir().unwrap();
        let (rows, dim) = (37, 21);
        let mut set = sample(rows, dim);
        set.data[30 * dim + 4] = f32::NAN; // in the fifth batch of 7
        let h: Vec<f16> = set.data.iter().map(|&v| f16::from_f32(v)).collect();
        let shape = [rows as u64, dim as u64];
        for (dtype, order) in [
            ("<f4", Order::C),
            (">f4", Order::C),
            ("<f2", Order::C),
            ("<f4", Order::Fortran),
            (">f2", Order::Fortran),
        ] {
            let path = dir.path().join("b.npy");
            let column_major = order == Order::Fortran;
            let cm = |v: &[f32]| transpose(v, rows, dim);
            let cmh = |v: &[f16]| transpose(v, rows, dim);
            match (dtype.ends_with('2'), column_major) {
                (false, false) => write_raw(&path, dtype, order, &shape, &set.data),
                (false, true) => write_raw(&path, dtype, order, &shape, &cm(&set.data)),
                (true, false) => write_raw(&path, dtype, order, &shape, &h),
                (true, true) => write_raw(&path, dtype, order, &shape, &cmh(&h)),
            }
            let whole = read(&path).unwrap();
            assert_eq!(whole.set.len(), rows - 1);
            for batch in [1, 7, 36, 37, 1000] {
                let (l, batches) = read_batched(&path, batch, false).unwrap();
                assert_eq!(l.set, whole.set, "{dtype} {order:?} batch {batch}");
                assert_eq!(batches, rows.div_ceil(batch), "{dtype} {order:?}");
                let shown: Vec<String> = l.failures.iter().map(|f| f.to_string()).collect();
                assert_eq!(shown.len(), 1);
                assert!(
                    shown[0].ends_with("b.npy[row 30]: value 4 is NaN"),
                    "{shown:?}"
                );
            }
            // Strict stops at the batch holding the bad row, naming it.
            let err = read_batched(&path, 7, true).unwrap_err().to_string();
            assert!(err.ends_with("b.npy[row 30]: value 4 is NaN"), "{err}");
        }

        // An empty array is one empty batch that still tells the dimension.
        let path = dir.path().join("e.npy");
        write_npy(&path, &sample(0, 5), NpyDtype::F16).unwrap();
        let (l, batches) = read_batched(&path, 4, false).unwrap();
        assert_eq!((l.set.len(), l.set.dim, batches), (0, 5, 1));
    }

    #[test]
    fn writer_completes_the_header_when_fewer_rows_arrive_than_announced() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w.npy");
        let set = sample(9, 6);
        let part = |rows: std::ops::Range<usize>| FeatureSet {
            names: set.names[rows.clone()].to_vec(),
            dim: 6,
            data: set.data[rows.start * 6..rows.end * 6].to_vec(),
        };
        for dtype in [NpyDtype::F32, NpyDtype::F16] {
            let _ = std::fs::remove_file(&path);
            // Room for ten million rows in the header, nine written in three batches.
            let mut w = NpyWriter::create(&path, dtype, 6, 10_000_000).unwrap();
            for rows in [0..4, 4..4, 4..9] {
                w.write(&part(rows)).unwrap();
                assert!(!path.exists(), "the file appears only when complete");
            }
            w.finish().unwrap();
            let bytes = std::fs::read(&path).unwrap();
            let header_len = usize::from(u16::from_le_bytes([bytes[8], bytes[9]])) + 10;
            assert_eq!(header_len % 64, 0);
            let item = if dtype == NpyDtype::F32 { 4 } else { 2 };
            assert_eq!(bytes.len(), header_len + 9 * 6 * item);
            assert_eq!(read(&path).unwrap().set, set);
            assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 2);
        }

        // Too many rows, or rows of another length, are errors; a writer dropped unfinished
        // leaves neither the file nor a temporary behind.
        std::fs::remove_file(&path).unwrap();
        std::fs::remove_file(dir.path().join("w.names.txt")).unwrap();
        let mut w = NpyWriter::create(&path, NpyDtype::F32, 6, 5).unwrap();
        let err = w.write(&set).unwrap_err().to_string();
        assert!(err.contains("more than the 5 rows announced"), "{err}");
        let err = w.write(&sample(2, 3)).unwrap_err().to_string();
        assert!(
            err.contains("rows of 3 values cannot join an array of 6"),
            "{err}"
        );
        drop(w);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);

        // A refused batch leaves the array as it was.
        let mut w = NpyWriter::create(&path, NpyDtype::F16, 6, 9).unwrap();
        w.write(&part(0..4)).unwrap();
        let mut huge = part(4..9);
        huge.data[7] = 1e6;
        let err = w.write(&huge).unwrap_err().to_string();
        assert!(err.contains("row 5: value 1 is 1000000"), "{err}");
        w.write(&part(4..9)).unwrap();
        w.finish().unwrap();
        assert_eq!(read(&path).unwrap().set, set);
    }

    #[test]
    fn unwritable_rows_are_taken_out_one_by_one() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("u.npy");
        let mut set = sample(5, 3);
        set.data[3 + 2] = 70_000.0;
        set.names[3] = "cam\n3".into();
        let w = NpyWriter::create(&path, NpyDtype::F16, 3, 5).unwrap();
        let mut taken = set.clone();
        let failures = w.take_unwritable(&mut taken, |_, n, p| {
            InputError::new(dir.path().join(format!("{n}.dat")), p)
        });
        let shown: Vec<String> = failures.iter().map(|f| f.to_string()).collect();
        assert_eq!(shown.len(), 2, "{shown:?}");
        assert!(
            shown[0].ends_with("1.dat: value 2 is 70000, beyond the float16 range (±65504)"),
            "{shown:?}"
        );
        assert!(shown[1].contains("contains a line break"), "{shown:?}");
        assert_eq!(taken.names, ["0", "2", "4"]);
        assert_eq!(taken.row(1), set.row(2));
        // The same rows are refused by `write` itself, which leaves the array as it was.
        let mut w = w;
        assert!(w.write(&set).is_err());
        w.write(&taken).unwrap();
        w.finish().unwrap();
        assert_eq!(read(&path).unwrap().set.names, ["0", "2", "4"]);

        // float32 holds any finite value; only the name is refused.
        let w = NpyWriter::create(&path, NpyDtype::F32, 3, 5).unwrap();
        let mut taken = set.clone();
        assert_eq!(
            w.take_unwritable(&mut taken, |_, n: &str, p| InputError::new(n, p))
                .len(),
            1
        );
        assert_eq!(taken.len(), 4);
    }

    #[test]
    fn header_is_padded_like_numpy_and_keeps_its_length() {
        let h = npy_header(NpyDtype::F32, 3, 2048, None);
        assert_eq!(h.len(), 128);
        assert_eq!(h.len() % 64, 0);
        let text = String::from_utf8_lossy(&h[10..]);
        assert!(text.starts_with("{'descr': '<f4', 'fortran_order': False, 'shape': (3, 2048), }"));
        assert!(text.ends_with(" \n"));
        let wide = npy_header(NpyDtype::F16, usize::MAX, 2048, None);
        let narrow = npy_header(NpyDtype::F16, 0, 2048, Some(wide.len()));
        assert_eq!(narrow.len(), wide.len());
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
    fn float64_is_read_as_float32_in_either_order_and_overflow_is_a_bad_row() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("d.npy");
        let (rows, dim) = (5, 3);
        let values: Vec<f64> = (0..rows * dim).map(|i| i as f64 / 3.0 - 2.0).collect();
        let want: Vec<f32> = values.iter().map(|&v| v as f32).collect();
        for (dtype, order) in [
            (">f8", Order::C),
            ("<f8", Order::C),
            ("<f8", Order::Fortran),
        ] {
            let stored = match order {
                Order::C => values.clone(),
                Order::Fortran => transpose(&values, rows, dim),
            };
            write_raw(&path, dtype, order, &[rows as u64, dim as u64], &stored);
            let l = read(&path).unwrap();
            assert_eq!(l.set.data, want, "{dtype} {order:?}");
            assert_eq!(l.set.len(), rows);
        }
        let mut big = values.clone();
        big[4] = 1e300;
        write_raw(&path, "<f8", Order::C, &[rows as u64, dim as u64], &big);
        let l = read(&path).unwrap();
        assert_eq!(l.set.len(), rows - 1);
        assert_eq!(l.failures.len(), 1);
        assert!(l.failures[0].problem.contains("+inf"), "{:?}", l.failures);
    }

    #[test]
    fn other_dtypes_are_rejected() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("d.npy");
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
            prefer_dim: None,
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
            prefer_dim: None,
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
        assert_eq!(row_names(0..1, 1), ["0"]);
        assert_eq!(row_names(0..10, 10)[0], "0");
        assert_eq!(row_names(0..11, 11)[0], "00");
        assert_eq!(row_names(0..1001, 1001)[7], "0007");
        assert_eq!(row_names(998..1001, 1001), ["0998", "0999", "1000"]);
    }
}
