//! Caller-provided working memory (the rust-brotli pattern): each operation says how many
//! bytes of scratch a model needs ([`workspace_size`]) and carves the arrays it works in out of
//! the caller's buffer, sized to the model's active dimensions and coefficients rather than to
//! the format's maxima. Firmware then keeps the stack of a call small and puts the scratch
//! where it likes (a static buffer, a task's memory pool).
//!
//! The buffer is bytes, of any alignment: the arrays are carved from its 8-byte-aligned
//! middle (by `bytemuck`, so this crate stays free of unsafe code), and the size asked for
//! includes the up to 7 bytes that aligning may skip.

use crate::error::Error;
use crate::format::{MAX_ACTIVE, MAX_COEFFS, MAX_DIM, Model, ModelInternals};

/// What a workspace is for: each operation needs its own amount ([`workspace_size`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Op {
    /// [`crate::encode_ws`].
    Encode,
    /// [`crate::decode_ws`].
    Decode,
    /// [`crate::encode_scalable_ws`].
    EncodeScalable,
    /// [`crate::decode_scalable_ws`].
    DecodeScalable,
}

impl Op {
    /// Every operation.
    pub const ALL: [Op; 4] = [
        Op::Encode,
        Op::Decode,
        Op::EncodeScalable,
        Op::DecodeScalable,
    ];
}

/// Longest code rate control keeps a copy of (in the workspace) instead of coding it again.
pub(crate) const KEEP_LEN: usize = 256;

/// Bytes that aligning an arbitrary buffer to 8 bytes may skip.
const ALIGN_SLACK: usize = 7;

/// 8-byte words that hold `bytes` bytes.
const fn words(bytes: usize) -> usize {
    bytes.div_ceil(8)
}

const fn max(a: usize, b: usize) -> usize {
    if a > b { a } else { b }
}

/// Words `op` needs for a model of `active` active dimensions and `coeffs` coefficients (with
/// the trellis or not). Each array starts on a word, in the order the operations carve them;
/// where a phase's arrays are dead before the next phase's are born (the centred input before
/// rate control) they share words.
const fn op_words(op: Op, active: usize, coeffs: usize, trellis: bool) -> usize {
    let values = words(4 * coeffs);
    let spreads = words(2 * coeffs);
    // The trellis's decisions and path, and rate control's copy of its best code.
    let search = if trellis {
        words(2 * coeffs) + words(coeffs)
    } else {
        0
    } + words(KEEP_LEN);
    match op {
        // Coefficients; then the centred input, or rate control's scratch.
        Op::Encode => values + max(words(4 * active), search),
        // Coefficients and the inverse transform's 64-bit sums.
        Op::Decode => values + active,
        // Target, reconstruction and (16-bit) spread per coefficient; then the centred input,
        // or one layer's residuals and rate control's scratch.
        Op::EncodeScalable => 2 * values + spreads + max(words(4 * active), values + search),
        // Reconstruction and spread per coefficient, and the 64-bit sums.
        Op::DecodeScalable => values + spreads + active,
    }
}

/// Bytes of workspace `op` needs for `model`: a buffer of at least this many bytes, at any
/// address, serves every call of `op` with this model. The default 2048-d trellis model (463
/// active dimensions and coefficients) needs 3,719 bytes to encode and 5,567 to decode, and
/// 8,151 and 6,495 for scalable codes.
pub fn workspace_size(model: &Model<'_>, op: Op) -> usize {
    8 * op_words(op, model.active_count(), model.coeffs(), model.trellis()) + ALIGN_SLACK
}

/// Bytes of workspace `op` needs for any model of dimension `dim` (at most the format's
/// maximum dimension): at least [`workspace_size`] of every such model, for buffers sized
/// before the model is known. The C header's `NAICFC_WORKSPACE_SIZE` gives the same figure.
pub const fn max_workspace_size(op: Op, dim: usize) -> usize {
    let dim = if dim < MAX_DIM { dim } else { MAX_DIM };
    let active = if dim < MAX_ACTIVE { dim } else { MAX_ACTIVE };
    let coeffs = if active < MAX_COEFFS {
        active
    } else {
        MAX_COEFFS
    };
    8 * op_words(op, active, coeffs, true) + ALIGN_SLACK
}

/// Checks that `bytes` holds `op`'s workspace for `model` and hands out its arrays.
pub(crate) fn carve<'a>(
    model: &Model<'_>,
    op: Op,
    bytes: &'a mut [u8],
) -> Result<Carver<'a>, Error> {
    let needed = workspace_size(model, op);
    if bytes.len() < needed {
        return Err(Error::WorkspaceTooSmall {
            needed,
            actual: bytes.len(),
        });
    }
    let (_, words, _) = bytemuck::pod_align_to_mut::<u8, u64>(bytes);
    Ok(Carver { words })
}

/// The uncarved rest of a workspace. Every array taken starts on an 8-byte boundary. A take
/// that does not fit is an error rather than a shorter array: [`workspace_size`] is checked
/// first, so it means a bug in the sizes, which must not turn into a wrong code.
pub(crate) struct Carver<'a> {
    words: &'a mut [u64],
}

impl<'a> Carver<'a> {
    /// The next `n` words.
    fn take(&mut self, n: usize) -> Result<&'a mut [u64], Error> {
        let words = core::mem::take(&mut self.words);
        if n > words.len() {
            return Err(Error::WorkspaceTooSmall {
                needed: 8 * n,
                actual: 8 * words.len(),
            });
        }
        let (head, tail) = words.split_at_mut(n);
        self.words = tail;
        Ok(head)
    }

    /// The next `n` values of `T` (an integer type of at most 8 bytes).
    fn array<T: bytemuck::Pod>(&mut self, n: usize) -> Result<&'a mut [T], Error> {
        let bytes = n.saturating_mul(core::mem::size_of::<T>());
        let words = self.take(words(bytes))?;
        let values: &mut [T] =
            bytemuck::try_cast_slice_mut(words).map_err(|_| Error::WorkspaceTooSmall {
                needed: bytes,
                actual: 0,
            })?;
        let got = values.len();
        values.get_mut(..n).ok_or(Error::WorkspaceTooSmall {
            needed: bytes,
            actual: got.saturating_mul(core::mem::size_of::<T>()),
        })
    }

    /// `n` values of `i32`.
    pub fn i32s(&mut self, n: usize) -> Result<&'a mut [i32], Error> {
        self.array(n)
    }

    /// `n` values of `i64`.
    pub fn i64s(&mut self, n: usize) -> Result<&'a mut [i64], Error> {
        self.array(n)
    }

    /// `n` values of `u16`.
    pub fn u16s(&mut self, n: usize) -> Result<&'a mut [u16], Error> {
        self.array(n)
    }

    /// `n` bytes.
    pub fn bytes(&mut self, n: usize) -> Result<&'a mut [u8], Error> {
        self.array(n)
    }

    /// A carver over the rest, for arrays that live only while it does; the rest is whole
    /// again afterwards (phases that do not overlap in time share memory).
    pub fn scoped(&mut self) -> Carver<'_> {
        Carver {
            words: &mut *self.words,
        }
    }

    /// Rate control's scratch for `model` (see [`Search`]).
    pub fn search(&mut self, model: &Model<'_>) -> Result<Search<'a>, Error> {
        Ok(Search {
            paths: self.paths(model)?,
            kept: self.bytes(KEEP_LEN)?,
        })
    }

    /// The trellis search's scratch for `model` (see [`Paths`]).
    pub fn paths(&mut self, model: &Model<'_>) -> Result<Paths<'a>, Error> {
        let n = if model.trellis() { model.coeffs() } else { 0 };
        Ok(Paths {
            decisions: self.u16s(n)?,
            path: self.bytes(n)?,
        })
    }
}

/// The trellis search's scratch: its decisions and the path they give, one entry per
/// coefficient (empty for a model without the trellis).
pub(crate) struct Paths<'a> {
    /// Per coefficient, the search's decisions (see `trellis::search`).
    pub decisions: &'a mut [u16],
    /// Per coefficient, the candidate on the cheapest path.
    pub path: &'a mut [u8],
}

/// Rate control's scratch: the trellis's, and the copy of the best code so far.
pub(crate) struct Search<'a> {
    /// The trellis search's scratch.
    pub paths: Paths<'a>,
    /// Rate control's copy of its best code (up to [`KEEP_LEN`] bytes).
    pub kept: &'a mut [u8],
}
