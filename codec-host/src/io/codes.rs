//! Code arrays: many codes of one model and one budget in one file.
//!
//! The `.nfcc` container (`docs/container.md`) holds fixed-size rows (each code zero-padded to
//! its slot: the decoder reads missing bytes as zero, so padding never changes what a code
//! decodes to), their names, and the identity of the model that made them (its fingerprint,
//! the row length and whether the codes are scalable), so that decoding with another model is
//! an error rather than wrong vectors. Rows are appended in blocks after the header; the
//! header's two commit slots name the committed end, and an append writes and syncs its block
//! before it rewrites the older slot, so a crash mid-append leaves the committed rows as they
//! were. A 2-D `.npy` array of uint8 (one code per row) is read too; it carries no identity.

use super::InputError;
use super::atomic::{AtomicFile, InPlaceFile, write_atomic};
use super::blobs::{Blobs, read_blobs};
use super::has_line_break;
use super::npy::{precheck_header, row_names};
use super::npy_names::read_names;
use anyhow::{Context, Result, bail};
use std::collections::HashSet;
use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom, Write};
use std::path::Path;

/// The first bytes of every container: a name, then a CR-LF, a DOS end-of-file and a LF, which
/// a transfer in text mode would change (as PNG's signature does).
pub const MAGIC: [u8; 8] = *b"NFCC\r\n\x1a\n";
/// The container's format version; a reader refuses any other.
pub const FORMAT_VERSION: u16 = 1;
/// Header length: the fixed part, then two commit slots.
pub const HEADER_LEN: usize = 128;
const FIXED_LEN: usize = 64;
const SLOT_LEN: usize = 32;
const BLOCK_MAGIC: [u8; 4] = *b"ROWS";
const BLOCK_HEAD: usize = 16;
const FLAG_SCALABLE: u16 = 1;
/// Longest row: the stream format's longest code.
const MAX_ROW_LEN: usize = codec_core::MAX_CODE_LEN;

/// Which model made a container's codes, and how they are stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// The model's fingerprint (`ModelFile::fingerprint`, 16 bytes).
    pub fingerprint: [u8; 16],
    /// Bytes per row: the budget of plain codes, the whole length of scalable ones.
    pub row_len: usize,
    /// Whether the rows are scalable codes.
    pub scalable: bool,
}

impl Identity {
    /// The identity of codes of `row_len` bytes made by the model of fingerprint `hex` (32 hex
    /// digits, as `ModelFile::fingerprint` gives it).
    pub fn new(hex: &str, row_len: usize, scalable: bool) -> Result<Self> {
        let mut fingerprint = [0u8; 16];
        if hex.len() != 32 || !hex.is_ascii() {
            bail!("fingerprint {hex:?} is not 32 hex digits");
        }
        for (i, b) in fingerprint.iter_mut().enumerate() {
            *b = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16)
                .with_context(|| format!("fingerprint {hex:?} is not 32 hex digits"))?;
        }
        if !(1..=MAX_ROW_LEN).contains(&row_len) {
            bail!("rows of {row_len} bytes: codes are 1 to {MAX_ROW_LEN} bytes long");
        }
        Ok(Identity {
            fingerprint,
            row_len,
            scalable,
        })
    }

    /// The fingerprint as 32 lower-case hex digits.
    pub fn fingerprint_hex(&self) -> String {
        self.fingerprint
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    /// Codes of this identity can be used with the model of fingerprint `model_hex` (read from
    /// `model_path`): an error naming both fingerprints otherwise.
    pub fn check_model(&self, codes: &Path, model_hex: &str, model_path: &Path) -> Result<()> {
        let ours = self.fingerprint_hex();
        if ours != model_hex {
            bail!(
                "{}: the codes were made with the model of fingerprint {ours}, but {} has \
                 fingerprint {model_hex}: decoding them with it would give wrong vectors",
                codes.display(),
                model_path.display()
            );
        }
        Ok(())
    }

    fn header(&self, commit: Commit) -> [u8; HEADER_LEN] {
        let mut h = [0u8; HEADER_LEN];
        h[0..8].copy_from_slice(&MAGIC);
        h[8..10].copy_from_slice(&FORMAT_VERSION.to_le_bytes());
        let flags = if self.scalable { FLAG_SCALABLE } else { 0 };
        h[10..12].copy_from_slice(&flags.to_le_bytes());
        h[12..16].copy_from_slice(&(self.row_len as u32).to_le_bytes());
        h[16..32].copy_from_slice(&self.fingerprint);
        let crc = crc32fast::hash(&h[..FIXED_LEN - 4]);
        h[FIXED_LEN - 4..FIXED_LEN].copy_from_slice(&crc.to_le_bytes());
        let at = slot_offset(commit.seq);
        h[at..at + SLOT_LEN].copy_from_slice(&commit.slot());
        h
    }
}

/// What a commit slot records: everything up to `end` is committed, `rows` rows in all. The
/// slot of the higher `seq` that passes its checksum is the current one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Commit {
    seq: u64,
    rows: u64,
    end: u64,
}

impl Commit {
    fn slot(&self) -> [u8; SLOT_LEN] {
        let mut s = [0u8; SLOT_LEN];
        s[0..8].copy_from_slice(&self.seq.to_le_bytes());
        s[8..16].copy_from_slice(&self.rows.to_le_bytes());
        s[16..24].copy_from_slice(&self.end.to_le_bytes());
        let crc = crc32fast::hash(&s[..SLOT_LEN - 4]);
        s[SLOT_LEN - 4..].copy_from_slice(&crc.to_le_bytes());
        s
    }

    fn parse(s: &[u8]) -> Option<Commit> {
        let word = |i: usize| u64::from_le_bytes(s[i..i + 8].try_into().expect("8 bytes"));
        let crc = u32::from_le_bytes(s[SLOT_LEN - 4..SLOT_LEN].try_into().expect("4 bytes"));
        let commit = Commit {
            seq: word(0),
            rows: word(8),
            end: word(16),
        };
        let valid = crc == crc32fast::hash(&s[..SLOT_LEN - 4])
            && commit.seq > 0
            && commit.end >= HEADER_LEN as u64
            && s[24..28] == [0; 4];
        valid.then_some(commit)
    }
}

/// Commit `seq` goes to slot `seq % 2`, so each commit overwrites the older of the two.
fn slot_offset(seq: u64) -> usize {
    FIXED_LEN + (seq % 2) as usize * SLOT_LEN
}

/// Parse a header: the identity and the current commit, or what is wrong with it.
fn parse_header(h: &[u8; HEADER_LEN]) -> Result<(Identity, Commit), String> {
    if h[0..8] != MAGIC {
        return Err("not a code array (no NFCC signature)".into());
    }
    let version = u16::from_le_bytes([h[8], h[9]]);
    if version != FORMAT_VERSION {
        return Err(format!(
            "container format version {version}; this naicfc reads version {FORMAT_VERSION}"
        ));
    }
    let crc = u32::from_le_bytes(h[FIXED_LEN - 4..FIXED_LEN].try_into().expect("4 bytes"));
    if crc != crc32fast::hash(&h[..FIXED_LEN - 4]) {
        return Err("damaged header (checksum mismatch)".into());
    }
    let flags = u16::from_le_bytes([h[10], h[11]]);
    if flags & !FLAG_SCALABLE != 0 {
        return Err(format!("unknown flags {flags:#06x}"));
    }
    let row_len = u32::from_le_bytes(h[12..16].try_into().expect("4 bytes")) as usize;
    if !(1..=MAX_ROW_LEN).contains(&row_len) || h[32..FIXED_LEN - 4].iter().any(|&b| b != 0) {
        return Err("damaged header (impossible field values)".into());
    }
    let identity = Identity {
        fingerprint: h[16..32].try_into().expect("16 bytes"),
        row_len,
        scalable: flags & FLAG_SCALABLE != 0,
    };
    let commit = [0, 1]
        .iter()
        .filter_map(|&i| {
            Commit::parse(&h[FIXED_LEN + i * SLOT_LEN..FIXED_LEN + (i + 1) * SLOT_LEN])
                .filter(|c| slot_offset(c.seq) == FIXED_LEN + i * SLOT_LEN)
        })
        .max_by_key(|c| c.seq)
        .ok_or("damaged header (no valid commit record)")?;
    Ok((identity, commit))
}

/// Codes read from a `.nfcc` container or a `.npy` uint8 array.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeArray {
    /// Row names, in row order.
    pub names: Vec<String>,
    /// Bytes per row.
    pub row_len: usize,
    /// `names.len() * row_len` bytes, row-major.
    pub rows: Vec<u8>,
    /// The model and kind of the codes (`None` for a `.npy` array, which cannot say).
    pub identity: Option<Identity>,
}

impl CodeArray {
    /// Number of rows.
    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// True when there are no rows.
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// Row `i`: one code, zero-padded to the row length.
    pub fn row(&self, i: usize) -> &[u8] {
        &self.rows[i * self.row_len..(i + 1) * self.row_len]
    }
}

/// Whether `path` names a code array by its extension: `.nfcc`.
pub fn is_container(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("nfcc"))
}

/// Whether `path` is a code array: a `.nfcc` container, or a `.npy` file of uint8 (a feature
/// array is a `.npy` of floats). A `.npy` that cannot be read is not one (its reader reports
/// why).
pub fn is_code_array(path: &Path) -> bool {
    if is_container(path) {
        return true;
    }
    if !path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("npy"))
    {
        return false;
    }
    let Ok(file) = File::open(path) else {
        return false;
    };
    let mut r = BufReader::new(file);
    npyz::NpyHeader::from_reader(&mut r).is_ok_and(|h| {
        matches!(h.dtype(), npyz::DType::Plain(ts) if ts.type_char() == npyz::TypeChar::Uint && ts.size_field() == 1)
    })
}

/// Read the code array `path`: a `.nfcc` container, or any other path as a `.npy` uint8 array
/// of shape (N, B).
pub fn read_code_array(path: &Path) -> Result<CodeArray> {
    if is_container(path) {
        read_container(path)
    } else {
        read_npy_codes(path)
    }
}

/// The identity of the container `path`, from its header alone.
pub fn read_identity(path: &Path) -> Result<Identity> {
    let mut file = File::open(path).with_context(|| format!("{}: cannot open", path.display()))?;
    let (identity, _) = read_header(path, &mut file)?;
    Ok(identity)
}

fn read_header(path: &Path, file: &mut File) -> Result<(Identity, Commit)> {
    let mut h = [0u8; HEADER_LEN];
    file.read_exact(&mut h).map_err(|_| {
        anyhow::anyhow!(
            "{}: not a code array (shorter than its {HEADER_LEN}-byte header)",
            path.display()
        )
    })?;
    parse_header(&h).map_err(|p| anyhow::anyhow!("{}: {p}", path.display()))
}

/// Read a whole container, checking every block; only committed rows are read.
fn read_container(path: &Path) -> Result<CodeArray> {
    let mut file = File::open(path).with_context(|| format!("{}: cannot open", path.display()))?;
    let (identity, commit) = read_header(path, &mut file)?;
    let file_len = file
        .metadata()
        .with_context(|| format!("{}: cannot read", path.display()))?
        .len();
    if commit.end > file_len {
        bail!(
            "{}: truncated: {} bytes are committed but the file has {file_len}",
            path.display(),
            commit.end
        );
    }
    let mut body = vec![0u8; (commit.end - HEADER_LEN as u64) as usize];
    file.read_exact(&mut body)
        .with_context(|| format!("{}: cannot read", path.display()))?;
    let row_len = identity.row_len;
    let capacity = (commit.rows as usize).min(body.len() / row_len);
    let mut out = CodeArray {
        names: Vec::with_capacity(capacity),
        row_len,
        rows: Vec::with_capacity(capacity * row_len),
        identity: Some(identity),
    };
    let mut seen = HashSet::new();
    let mut at = 0usize;
    while at < body.len() {
        let offset = at + HEADER_LEN;
        let block = parse_block(&body[at..], row_len).map_err(|p| {
            anyhow::anyhow!("{}: damaged block at byte {offset}: {p}", path.display())
        })?;
        for name in &block.names {
            if !seen.insert(*name) {
                bail!(
                    "{}: damaged block at byte {offset}: the name {name:?} is given twice",
                    path.display()
                );
            }
        }
        out.names.extend(block.names.iter().map(|s| s.to_string()));
        out.rows.extend_from_slice(block.rows);
        at += block.len;
    }
    if out.names.len() as u64 != commit.rows {
        bail!(
            "{}: damaged: {} rows committed but the blocks hold {}",
            path.display(),
            commit.rows,
            out.names.len()
        );
    }
    Ok(out)
}

struct Block<'a> {
    names: Vec<&'a str>,
    rows: &'a [u8],
    /// Bytes taken, head included.
    len: usize,
}

/// Parse the block at the start of `bytes`.
fn parse_block(bytes: &[u8], row_len: usize) -> Result<Block<'_>, String> {
    let (n, names_len) = block_sizes(bytes, row_len)?;
    let rows_len = n * row_len;
    let len = BLOCK_HEAD + rows_len + names_len;
    if bytes.len() < len {
        return Err("it runs past the committed end".into());
    }
    let crc = u32::from_le_bytes(bytes[12..16].try_into().expect("4 bytes"));
    let mut hasher = crc32fast::Hasher::new();
    hasher.update(&bytes[..12]);
    hasher.update(&bytes[BLOCK_HEAD..len]);
    if hasher.finalize() != crc {
        return Err("checksum mismatch".into());
    }
    let rows = &bytes[BLOCK_HEAD..BLOCK_HEAD + rows_len];
    let names = parse_names(&bytes[BLOCK_HEAD + rows_len..len], n)?;
    Ok(Block { names, rows, len })
}

/// Rows and name bytes of the block at the start of `head`.
fn block_sizes(head: &[u8], row_len: usize) -> Result<(usize, usize), String> {
    if head.len() < BLOCK_HEAD || head[0..4] != BLOCK_MAGIC {
        return Err("no block signature".into());
    }
    let n = u32::from_le_bytes(head[4..8].try_into().expect("4 bytes")) as usize;
    let names_len = u32::from_le_bytes(head[8..12].try_into().expect("4 bytes")) as usize;
    if n == 0 || names_len < 2 * n {
        return Err(format!("{n} rows with {names_len} bytes of names"));
    }
    n.checked_mul(row_len)
        .ok_or_else(|| format!("{n} rows is too many"))?;
    Ok((n, names_len))
}

fn parse_names(bytes: &[u8], n: usize) -> Result<Vec<&str>, String> {
    let text = std::str::from_utf8(bytes).map_err(|_| "names are not UTF-8".to_string())?;
    let names: Vec<&str> = text.split_terminator('\n').collect();
    if !text.ends_with('\n')
        || names.len() != n
        || names.iter().any(|s| s.is_empty() || s.contains('\r'))
    {
        return Err(format!("its names do not make {n} non-empty lines"));
    }
    Ok(names)
}

/// One block: head, rows, names. `names` must be usable and not in `seen` (which they join).
fn block(
    names: &[String],
    rows: &[u8],
    row_len: usize,
    seen: &mut HashSet<String>,
) -> Result<Vec<u8>> {
    if names.is_empty() || rows.len() != names.len() * row_len {
        bail!(
            "{} bytes of rows for {} names of {row_len}-byte rows",
            rows.len(),
            names.len()
        );
    }
    let mut text = String::new();
    for name in names {
        if name.is_empty() || has_line_break(name) {
            bail!("the row name {name:?} is empty or holds a line break");
        }
        if seen.contains(name) {
            bail!("a row named {name:?} is in the code array already");
        }
        text.push_str(name);
        text.push('\n');
    }
    seen.extend(names.iter().cloned());
    let n = u32::try_from(names.len()).context("too many rows in one block")?;
    let names_len = u32::try_from(text.len()).context("names too long for one block")?;
    let mut out = Vec::with_capacity(BLOCK_HEAD + rows.len() + text.len());
    out.extend_from_slice(&BLOCK_MAGIC);
    out.extend_from_slice(&n.to_le_bytes());
    out.extend_from_slice(&names_len.to_le_bytes());
    out.extend_from_slice(&[0; 4]);
    out.extend_from_slice(rows);
    out.extend_from_slice(text.as_bytes());
    let mut hasher = crc32fast::Hasher::new();
    hasher.update(&out[..12]);
    hasher.update(&out[BLOCK_HEAD..]);
    let crc = hasher.finalize();
    out[12..16].copy_from_slice(&crc.to_le_bytes());
    Ok(out)
}

/// A new container written through a temporary file: nothing appears under its path until
/// [`ContainerWriter::finish`].
pub struct ContainerWriter {
    out: AtomicFile,
    identity: Identity,
    commit: Commit,
    seen: HashSet<String>,
}

impl ContainerWriter {
    /// Start the container `path` for codes of `identity`.
    pub fn create(path: &Path, identity: Identity) -> Result<Self> {
        let mut out = AtomicFile::create(path)?;
        let commit = Commit {
            seq: 1,
            rows: 0,
            end: HEADER_LEN as u64,
        };
        out.writer()
            .write_all(&identity.header(commit))
            .with_context(|| format!("{}: cannot write", path.display()))?;
        Ok(ContainerWriter {
            out,
            identity,
            commit,
            seen: HashSet::new(),
        })
    }

    /// Add rows (`names.len()` codes of the row length, each zero-padded to it).
    pub fn add(&mut self, names: &[String], rows: &[u8]) -> Result<()> {
        let block = block(names, rows, self.identity.row_len, &mut self.seen)?;
        self.out.writer().write_all(&block)?;
        self.commit.rows += names.len() as u64;
        self.commit.end += block.len() as u64;
        Ok(())
    }

    /// Write the commit record and put the container in place.
    pub fn finish(mut self) -> Result<()> {
        let w = self.out.writer();
        w.seek(SeekFrom::Start(0))?;
        w.write_all(&self.identity.header(self.commit))?;
        self.out.commit()
    }
}

/// Write a whole container at once (see [`ContainerWriter`]).
pub fn write_container(
    path: &Path,
    identity: Identity,
    names: &[String],
    rows: &[u8],
) -> Result<()> {
    let mut w = ContainerWriter::create(path, identity)?;
    if !names.is_empty() {
        w.add(names, rows)?;
    }
    w.finish()
}

/// An existing container opened to add rows in place (see the module documentation).
pub struct Appender {
    file: InPlaceFile,
    identity: Identity,
    commit: Commit,
    seen: HashSet<String>,
}

impl Appender {
    /// Open the container `path`, reading its header and its row names (so that no name is
    /// added twice). Bytes past the committed end, left by an append that did not finish, are
    /// cut off.
    pub fn open(path: &Path) -> Result<Self> {
        let mut file = InPlaceFile::open(path)?;
        let (identity, commit) = read_header(path, file.file())?;
        let seen = read_names_only(path, file.file(), &identity, commit)?;
        file.truncate(commit.end)?;
        Ok(Appender {
            file,
            identity,
            commit,
            seen,
        })
    }

    /// The identity of the container's codes.
    pub fn identity(&self) -> &Identity {
        &self.identity
    }

    /// Rows committed so far.
    pub fn rows(&self) -> u64 {
        self.commit.rows
    }

    /// Append rows and commit them: the block is written and synced past the committed end,
    /// then the older commit slot is rewritten to name the new end, and synced.
    pub fn append(&mut self, names: &[String], rows: &[u8]) -> Result<()> {
        let mut seen = self.seen.clone();
        let block = block(names, rows, self.identity.row_len, &mut seen)?;
        self.file.write_at(self.commit.end, &block)?;
        self.file.sync()?;
        let next = Commit {
            seq: self.commit.seq + 1,
            rows: self.commit.rows + names.len() as u64,
            end: self.commit.end + block.len() as u64,
        };
        self.file
            .write_at(slot_offset(next.seq) as u64, &next.slot())?;
        self.file.sync()?;
        self.commit = next;
        self.seen = seen;
        Ok(())
    }
}

/// The row names of a container, reading block heads and names only.
fn read_names_only(
    path: &Path,
    file: &mut File,
    identity: &Identity,
    commit: Commit,
) -> Result<HashSet<String>> {
    let len = file.metadata()?.len();
    if commit.end > len {
        bail!(
            "{}: truncated: {} bytes are committed but the file has {len}",
            path.display(),
            commit.end
        );
    }
    let mut seen = HashSet::new();
    let mut at = HEADER_LEN as u64;
    let damaged =
        |at: u64, p: String| anyhow::anyhow!("{}: damaged block at byte {at}: {p}", path.display());
    while at < commit.end {
        let mut head = [0u8; BLOCK_HEAD];
        file.seek(SeekFrom::Start(at))?;
        file.read_exact(&mut head)
            .map_err(|_| damaged(at, "it runs past the committed end".into()))?;
        let (n, names_len) = block_sizes(&head, identity.row_len).map_err(|p| damaged(at, p))?;
        let names_at = at + (BLOCK_HEAD + n * identity.row_len) as u64;
        if names_at + names_len as u64 > commit.end {
            return Err(damaged(at, "it runs past the committed end".into()));
        }
        let mut names = vec![0u8; names_len];
        file.seek(SeekFrom::Start(names_at))?;
        file.read_exact(&mut names)?;
        for name in parse_names(&names, n).map_err(|p| damaged(at, p))? {
            seen.insert(name.to_string());
        }
        at = names_at + names_len as u64;
    }
    Ok(seen)
}

/// The file beside a directory of `.dat` codes that names the model and kind that made them
/// (`docs/container.md`): a bare code carries no model identity, so without it a directory of
/// codes decoded with another model gives wrong vectors, often without any error.
pub const IDENTITY_FILE: &str = "codes.id";

/// The first line of an identity file: its format and version.
const IDENTITY_MAGIC: &str = "naicfc codes 1";

impl Identity {
    /// The identity file's text: four `key value` lines.
    fn to_text(&self) -> String {
        format!(
            "{IDENTITY_MAGIC}\nfingerprint {}\nbytes {}\nscalable {}\n",
            self.fingerprint_hex(),
            self.row_len,
            self.scalable
        )
    }

    /// Parse an identity file's text; the error names what is wrong.
    fn from_text(text: &str) -> std::result::Result<Self, String> {
        let mut lines = text.lines();
        if lines.next() != Some(IDENTITY_MAGIC) {
            return Err(format!("does not start with {IDENTITY_MAGIC:?}"));
        }
        let mut field = |key: &str| -> std::result::Result<String, String> {
            let line = lines.next().unwrap_or_default();
            line.strip_prefix(key)
                .and_then(|rest| rest.strip_prefix(' '))
                .map(str::to_string)
                .ok_or_else(|| format!("expected a line \"{key} ...\", found {line:?}"))
        };
        let hex = field("fingerprint")?;
        let bytes = field("bytes")?;
        let scalable = field("scalable")?;
        let row_len = bytes
            .parse()
            .map_err(|_| format!("bytes {bytes:?} is not a number"))?;
        let scalable = match scalable.as_str() {
            "true" => true,
            "false" => false,
            other => return Err(format!("scalable {other:?} is neither true nor false")),
        };
        Identity::new(&hex, row_len, scalable).map_err(|e| format!("{e:#}"))
    }
}

/// Write the identity file of the codes in directory `dir`, replacing any earlier one.
pub fn write_dir_identity(dir: &Path, identity: &Identity) -> Result<()> {
    write_atomic(&dir.join(IDENTITY_FILE), identity.to_text().as_bytes())
}

/// The identity of the codes in directory `dir`, from its identity file (`None` without one:
/// codes copied by hand, or made before the file existed).
pub fn read_dir_identity(dir: &Path) -> Result<Option<Identity>> {
    let path = dir.join(IDENTITY_FILE);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).with_context(|| format!("{}: cannot read", path.display())),
    };
    Identity::from_text(&text)
        .map(Some)
        .map_err(|problem| anyhow::anyhow!("{}: {problem}", path.display()))
}

/// Create an empty container at `path` (atomically), for a first append.
pub fn create_empty(path: &Path, identity: Identity) -> Result<()> {
    write_container(path, identity, &[], &[])
}

/// Codes as `decode` and `validate` take them: a directory of `<name>.dat` codes, or a code
/// array. The identity is the array's or the directory's identity file's (`None` for a `.npy`
/// or a directory without one).
pub struct CodesInput {
    /// The codes, in input order; a code array's rows keep their padding.
    pub blobs: Blobs,
    /// Files of a directory that could not be read.
    pub failures: Vec<InputError>,
    /// The model and kind of the codes, when the input says.
    pub identity: Option<Identity>,
    /// Whether the codes came from one array (problems are then named by row).
    pub array: bool,
}

impl CodesInput {
    /// Read the codes at `path`; a directory's files longer than `max_len` are reported.
    pub fn read(path: &Path, max_len: usize) -> Result<Self> {
        if !is_code_array(path) && path.extension().is_none_or(|e| e != "npy") {
            let (blobs, failures) = read_blobs(path, max_len)?;
            let identity = if path.is_dir() {
                read_dir_identity(path)?
            } else {
                None
            };
            return Ok(CodesInput {
                blobs,
                failures,
                identity,
                array: false,
            });
        }
        let array = read_code_array(path)?;
        if array.is_empty() {
            bail!("{}: holds no codes", path.display());
        }
        let bytes = array
            .rows
            .chunks_exact(array.row_len)
            .map(<[u8]>::to_vec)
            .collect();
        Ok(CodesInput {
            blobs: Blobs {
                names: array.names,
                bytes,
            },
            failures: Vec::new(),
            identity: array.identity,
            array: true,
        })
    }

    /// A problem with code `index`, named `name`, of the input `path`: that row of an array,
    /// or the `<name>.dat` file of a directory.
    pub fn problem(&self, path: &Path, index: usize, name: &str, problem: String) -> InputError {
        if self.array {
            InputError::row(path, index, name, problem)
        } else {
            InputError::new(path.join(format!("{name}.dat")), problem)
        }
    }
}

/// Read a `.npy` array of uint8 codes, shape (N, B), C order; rows named by its names file
/// (`<stem>.names.txt`) or by index, as feature arrays are.
fn read_npy_codes(path: &Path) -> Result<CodeArray> {
    let file = File::open(path).with_context(|| format!("{}: cannot open", path.display()))?;
    let file_len = file.metadata()?.len();
    let mut r = BufReader::new(file);
    precheck_header(&mut r, file_len)
        .map_err(|p| anyhow::anyhow!("{}: not a valid .npy file: {p}", path.display()))?;
    r.seek(SeekFrom::Start(0))?;
    let header = npyz::NpyHeader::from_reader(&mut r)
        .with_context(|| format!("{}: not a valid .npy file", path.display()))?;
    let is_u8 = matches!(header.dtype(), npyz::DType::Plain(ts)
        if ts.type_char() == npyz::TypeChar::Uint && ts.size_field() == 1);
    if !is_u8 {
        bail!(
            "{}: dtype {} is not an array of codes; expected uint8 ('|u1'), one code per row",
            path.display(),
            header.dtype().descr()
        );
    }
    let (rows, row_len) = match *header.shape() {
        [rows, len] => (rows, len),
        _ => bail!(
            "{}: expected a 2-D array of codes (rows x bytes)",
            path.display()
        ),
    };
    if header.order() == npyz::Order::Fortran && rows > 1 && row_len > 1 {
        bail!(
            "{}: a Fortran-order array; save it in C order",
            path.display()
        );
    }
    if !(1..=MAX_ROW_LEN as u64).contains(&row_len) {
        bail!(
            "{}: rows of {row_len} bytes: codes are 1 to {MAX_ROW_LEN} bytes long",
            path.display()
        );
    }
    let data_start = r.stream_position()?;
    let needed = rows.saturating_mul(row_len);
    if needed > file_len.saturating_sub(data_start) {
        bail!(
            "{}: truncated: {rows} rows of {row_len} bytes do not fit the file",
            path.display()
        );
    }
    let (rows, row_len) = (rows as usize, row_len as usize);
    let mut data = vec![0u8; needed as usize];
    r.read_exact(&mut data)
        .with_context(|| format!("{}: cannot read", path.display()))?;
    let names = match read_names(path, rows)? {
        Some(names) => names,
        None => row_names(0..rows, rows),
    };
    Ok(CodeArray {
        names,
        row_len,
        rows: data,
        identity: None,
    })
}

#[cfg(test)]
mod tests;
