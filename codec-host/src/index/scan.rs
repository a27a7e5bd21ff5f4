//! The first pass of an index search: every query against every gallery row over the leading
//! coefficients only, in int8, keeping a shortlist per query for exact re-scoring.
//!
//! The coefficients are in PCA order (largest variance first), so the first [`PREFIX`] of
//! them carry most of a score; the pass reads 128 of each row's few hundred bytes. It is laid
//! out as a small integer GEMM: the gallery prefix is packed once per search into panels of
//! 16 rows (4 bytes of each row side by side, the layout of AVX-512 VNNI's `vpdpbusd`), and
//! 8 queries at a time run over a
//! cache-resident tile of panels, so each gallery byte loaded serves 8 queries and each query
//! byte 32 rows. A score is compared with its query's shortlist threshold in the same
//! registers; only the rare row that beats it is written out. The portable kernel computes
//! the same integers and the same float operations in the same order, so both give
//! bit-identical keys and therefore the same shortlists. The AVX-512 kernel needs Rust 1.89;
//! `build.rs` leaves it out of builds by older compilers.

use std::cmp::Ordering;

/// The best `k` `(key, row)` pairs of a query, where a larger key ranks first and, between
/// equal keys, the lower row: as [`crate::search::topk::TopK`] keeps them, but cheaper to feed.
/// A candidate that beats the threshold is only pushed; when `2k` are held, one selection
/// cuts them back to the best `k` and raises the threshold to the worst of those. A heap
/// instead costs a sift per candidate, and the first pass offers thousands per query.
pub(super) struct Shortlist {
    k: usize,
    held: Vec<(f32, u32)>,
    /// Once `k` are held, a key must exceed this to enter (the worst kept after a cut).
    floor: f32,
}

/// `Less` when `a` ranks before `b`. Keys are never NaN (NaN enters as −∞).
fn rank(a: &(f32, u32), b: &(f32, u32)) -> Ordering {
    b.0.total_cmp(&a.0).then(a.1.cmp(&b.1))
}

impl Shortlist {
    /// An empty list that keeps at most `k` pairs.
    pub(super) fn new(k: usize) -> Self {
        Shortlist {
            k,
            held: Vec::with_capacity(2 * k),
            floor: f32::NEG_INFINITY,
        }
    }

    /// The key a candidate must exceed, or `None` while fewer than `k` are held (every row
    /// enters). Rows arrive in increasing order, so a later row equal to the floor ranks below
    /// every kept pair and is rightly refused.
    pub(super) fn threshold(&self) -> Option<f32> {
        if self.k == 0 {
            Some(f32::INFINITY)
        } else if self.held.len() < self.k {
            None
        } else {
            Some(self.floor)
        }
    }

    /// Offer row `row` with `key` (rows in increasing order over all calls).
    pub(super) fn offer(&mut self, row: u32, key: f32) {
        if self.k == 0 {
            return;
        }
        let key = if key.is_nan() { f32::NEG_INFINITY } else { key };
        self.held.push((key, row));
        if self.held.len() >= 2 * self.k {
            self.cut();
        }
    }

    fn cut(&mut self) {
        self.held.select_nth_unstable_by(self.k - 1, rank);
        self.held.truncate(self.k);
        self.floor = self.held.iter().map(|e| e.0).fold(f32::INFINITY, f32::min);
    }

    /// The kept pairs, best first.
    pub(super) fn into_sorted(mut self) -> Vec<(f32, u32)> {
        if self.held.len() > self.k {
            self.cut();
        }
        self.held.sort_unstable_by(rank);
        self.held
    }
}

/// Leading int8 values per row scored by the first pass (fewer when the rows are shorter).
///
/// 128 is the fewest that kept ACC_reid at exact search's on a kind-A set at 64-byte codes
/// (86.47 against 86.47 with the 400-row shortlist; 64 values gave 82.36).
pub(super) const PREFIX: usize = 128;
/// Gallery rows per panel: one 512-bit register of 32-bit sums.
const PANEL: usize = 16;
/// Queries scored together against a pair of panels (16 accumulators of 32 registers).
pub(super) const GROUP: usize = 8;
/// Panels per cache tile: 128 panels of 128 bytes x 16 rows is 256 KiB, which stays in L2
/// while every query group of a block runs over it.
const TILE_PANELS: usize = 128;

/// The gallery prefix, packed for the kernels, with each row's scale and `1 / n`.
pub(super) struct Packed {
    /// Panels of `PANEL` rows: for each group of 4 values, the 4 bytes of each row in turn,
    /// stored as unsigned (`v + 128`, what `vpdpbusd` multiplies); rows past the end are 0.
    bytes: Vec<u8>,
    /// Per row (padded with zeros to whole panel pairs).
    scale: Vec<f32>,
    inv_norm: Vec<f32>,
    rows: usize,
    depth: usize,
}

impl Packed {
    /// Pack the first `depth` (a multiple of 4, at most `dims`) of each row of `values`
    /// (`rows x dims`, row-major).
    pub(super) fn new(
        values: &[i8],
        dims: usize,
        depth: usize,
        scale: &[f32],
        inv_norm: &[f32],
    ) -> Self {
        let rows = scale.len();
        debug_assert!(depth % 4 == 0 && depth <= dims && values.len() == rows * dims);
        let padded = rows.next_multiple_of(2 * PANEL);
        let panel_bytes = PANEL * depth;
        let mut bytes = vec![0u8; padded * depth];
        use rayon::prelude::*;
        bytes
            .par_chunks_mut(panel_bytes)
            .enumerate()
            .for_each(|(p, panel)| {
                for r in 0..PANEL {
                    let row = p * PANEL + r;
                    if row >= rows {
                        break;
                    }
                    let src = &values[row * dims..row * dims + depth];
                    for (g, four) in src.chunks_exact(4).enumerate() {
                        for (b, &v) in four.iter().enumerate() {
                            panel[g * 4 * PANEL + 4 * r + b] = (v as u8) ^ 0x80;
                        }
                    }
                }
            });
        let pad = |v: &[f32]| {
            let mut out = v.to_vec();
            out.resize(padded, 0.0);
            out
        };
        Packed {
            bytes,
            scale: pad(scale),
            inv_norm: pad(inv_norm),
            rows,
            depth,
        }
    }
}

/// A group of up to [`GROUP`] queries prepared for the kernels (missing ones are zeros).
pub(super) struct Group {
    /// Per query, its `depth` int8 values as little-endian 32-bit words (4 values each).
    words: Vec<i32>,
    /// Per query, `128 * sum(values)`: the offset the unsigned gallery bytes add.
    offset: [i32; GROUP],
    /// Per query, its bias term in its own units.
    bias: [f32; GROUP],
}

impl Group {
    /// `values` holds `n <= GROUP` queries of `depth` int8 values each; `bias` their biases.
    pub(super) fn new(values: &[i8], bias: &[f32], depth: usize) -> Self {
        let mut words = vec![0i32; GROUP * depth / 4];
        let mut offset = [0i32; GROUP];
        let mut b = [0f32; GROUP];
        for (j, q) in values.chunks_exact(depth).enumerate().take(GROUP) {
            for (g, four) in q.chunks_exact(4).enumerate() {
                words[j * depth / 4 + g] = i32::from_le_bytes([
                    four[0] as u8,
                    four[1] as u8,
                    four[2] as u8,
                    four[3] as u8,
                ]);
            }
            offset[j] = 128 * q.iter().map(|&v| i32::from(v)).sum::<i32>();
            b[j] = bias[j];
        }
        Group {
            words,
            offset,
            bias: b,
        }
    }
}

/// Which kernel scores the tiles.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kernel {
    /// AVX-512 with VNNI (`vpdpbusd`).
    #[cfg(all(target_arch = "x86_64", naicfc_avx512))]
    Vnni,
    /// Plain Rust, any CPU.
    Portable,
}

impl Kernel {
    /// The fastest kernel this CPU runs.
    #[allow(clippy::incompatible_msrv)] // the AVX-512 test needs Rust 1.89 (`build.rs`)
    pub(super) fn detect() -> Self {
        #[cfg(all(target_arch = "x86_64", naicfc_avx512))]
        if std::arch::is_x86_feature_detected!("avx512f")
            && std::arch::is_x86_feature_detected!("avx512bw")
            && std::arch::is_x86_feature_detected!("avx512vnni")
        {
            return Kernel::Vnni;
        }
        Kernel::Portable
    }
}

/// Keys of one query group against one panel pair (32 rows), and which beat the thresholds.
struct Tile {
    keys: [[f32; 2 * PANEL]; GROUP],
    /// Bit `r` of `masks[j]`: row `r` of the pair is offered to query `j`.
    masks: [u32; GROUP],
}

/// Per query of a group: the threshold to beat and the rows offered regardless (all of them
/// while the shortlist is not full, so that it fills exactly as a brute-force sort would).
struct Gate {
    threshold: [f32; GROUP],
    open: [u32; GROUP],
}

/// Score `groups` (consecutive query groups of one block) against every row of `packed`,
/// offering each query's keys to its list in `tops` (`GROUP` lists per group; the lists of
/// missing queries are never read). Rows arrive at each list in increasing order.
pub(super) fn scan(kernel: Kernel, packed: &Packed, groups: &[Group], tops: &mut [Shortlist]) {
    match kernel {
        #[cfg(all(target_arch = "x86_64", naicfc_avx512))]
        // SAFETY: `Kernel::Vnni` is only made after checking these CPU features.
        Kernel::Vnni => unsafe { scan_vnni(packed, groups, tops) },
        Kernel::Portable => scan_with(packed, groups, tops, tile_portable),
    }
}

#[cfg(all(target_arch = "x86_64", naicfc_avx512))]
#[allow(clippy::incompatible_msrv)] // compiled only by Rust 1.89 or later (`build.rs`)
#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
fn scan_vnni(packed: &Packed, groups: &[Group], tops: &mut [Shortlist]) {
    // The closure inherits this function's target features, so the kernel inlines into it.
    scan_with(packed, groups, tops, |p, g, first, gate, tile| {
        tile_vnni(p, g, first, gate, tile)
    });
}

/// The loops shared by every kernel: tiles of panels outside, query groups, panel pairs
/// inside; `tile` scores one group against the pair starting at row `first`.
#[inline(always)]
fn scan_with(
    packed: &Packed,
    groups: &[Group],
    tops: &mut [Shortlist],
    mut tile: impl FnMut(&Packed, &Group, usize, &Gate, &mut Tile),
) {
    let mut out = Tile {
        keys: [[0.0; 2 * PANEL]; GROUP],
        masks: [0; GROUP],
    };
    let pairs = packed.scale.len() / (2 * PANEL);
    let mut gate = Gate {
        threshold: [f32::NEG_INFINITY; GROUP],
        open: [0; GROUP],
    };
    for tile_start in (0..pairs).step_by(TILE_PANELS / 2) {
        let tile_end = (tile_start + TILE_PANELS / 2).min(pairs);
        for (group, tops) in groups.iter().zip(tops.chunks_mut(GROUP)) {
            for (j, top) in tops.iter().enumerate() {
                (gate.threshold[j], gate.open[j]) = match top.threshold() {
                    Some(t) => (t, 0),
                    None => (f32::NEG_INFINITY, u32::MAX),
                };
            }
            for pair in tile_start..tile_end {
                let first = pair * 2 * PANEL;
                tile(packed, group, first, &gate, &mut out);
                let valid = if first + 2 * PANEL <= packed.rows {
                    u32::MAX
                } else {
                    (1u32 << (packed.rows - first)) - 1
                };
                for (j, top) in tops.iter_mut().enumerate() {
                    let mut m = out.masks[j] & valid;
                    while m != 0 {
                        let r = m.trailing_zeros() as usize;
                        m &= m - 1;
                        top.offer((first + r) as u32, out.keys[j][r]);
                    }
                    if out.masks[j] & valid != 0 {
                        (gate.threshold[j], gate.open[j]) = match top.threshold() {
                            Some(t) => (t, 0),
                            None => (f32::NEG_INFINITY, u32::MAX),
                        };
                    }
                }
            }
        }
    }
}

/// One key: the integer product turned into a score as both kernels do it (`d` converted
/// with rounding to nearest, two products, one sum; no fused multiply-add).
#[inline(always)]
fn key(scale: f32, d: i32, bias: f32, inv_norm: f32) -> f32 {
    scale * d as f32 + bias * inv_norm
}

fn tile_portable(packed: &Packed, group: &Group, first: usize, gate: &Gate, out: &mut Tile) {
    let depth = packed.depth;
    let words = depth / 4;
    for half in 0..2 {
        let start = first + half * PANEL;
        let panel = &packed.bytes[start * depth..(start + PANEL) * depth];
        for j in 0..GROUP {
            let q = &group.words[j * words..(j + 1) * words];
            let mut acc = [0i32; PANEL];
            for (g, &w) in q.iter().enumerate() {
                let qb = w.to_le_bytes();
                for (r, a) in acc.iter_mut().enumerate() {
                    let gb = &panel[g * 4 * PANEL + 4 * r..g * 4 * PANEL + 4 * r + 4];
                    for b in 0..4 {
                        *a += i32::from(gb[b]) * i32::from(qb[b] as i8);
                    }
                }
            }
            let mut m = 0u32;
            for (r, a) in acc.iter().enumerate() {
                let row = start + r;
                let k = key(
                    packed.scale[row],
                    a - group.offset[j],
                    group.bias[j],
                    packed.inv_norm[row],
                );
                out.keys[j][half * PANEL + r] = k;
                if k > gate.threshold[j] {
                    m |= 1 << (half * PANEL + r);
                }
            }
            if half == 0 {
                out.masks[j] = m | gate.open[j];
            } else {
                out.masks[j] |= m;
            }
        }
    }
}

#[cfg(all(target_arch = "x86_64", naicfc_avx512))]
#[allow(clippy::incompatible_msrv)] // compiled only by Rust 1.89 or later (`build.rs`)
#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
#[inline]
fn tile_vnni(packed: &Packed, group: &Group, first: usize, gate: &Gate, out: &mut Tile) {
    use std::arch::x86_64::*;
    let depth = packed.depth;
    let words = depth / 4;
    let panels = &packed.bytes[first * depth..(first + 2 * PANEL) * depth];
    let q = &group.words[..GROUP * words];
    let mut acc = [[_mm512_setzero_si512(); 2]; GROUP];
    for g in 0..words {
        let at = g * 4 * PANEL;
        // SAFETY: each panel holds `words` groups of 64 bytes, so both reads are in bounds
        // (the slice above has `2 * PANEL * depth` bytes).
        let (a0, a1) = unsafe {
            (
                _mm512_loadu_si512(panels.as_ptr().add(at).cast()),
                _mm512_loadu_si512(panels.as_ptr().add(PANEL * depth + at).cast()),
            )
        };
        for (j, acc) in acc.iter_mut().enumerate() {
            let b = _mm512_set1_epi32(q[j * words + g]);
            acc[0] = _mm512_dpbusd_epi32(acc[0], a0, b);
            acc[1] = _mm512_dpbusd_epi32(acc[1], a1, b);
        }
    }
    // SAFETY: `scale` and `inv_norm` are padded to whole panel pairs.
    let (scale, inv) = unsafe {
        let (s, v) = (
            packed.scale.as_ptr().add(first),
            packed.inv_norm.as_ptr().add(first),
        );
        (
            [_mm512_loadu_ps(s), _mm512_loadu_ps(s.add(PANEL))],
            [_mm512_loadu_ps(v), _mm512_loadu_ps(v.add(PANEL))],
        )
    };
    for (j, (acc, keys)) in acc.iter().zip(out.keys.iter_mut()).enumerate() {
        let offset = _mm512_set1_epi32(group.offset[j]);
        let bias = _mm512_set1_ps(group.bias[j]);
        let threshold = _mm512_set1_ps(gate.threshold[j]);
        let mut mask = gate.open[j];
        for (half, &sum) in acc.iter().enumerate() {
            let d = _mm512_sub_epi32(sum, offset);
            let k = _mm512_add_ps(
                _mm512_mul_ps(scale[half], _mm512_cvtepi32_ps(d)),
                _mm512_mul_ps(bias, inv[half]),
            );
            mask |= u32::from(_mm512_cmp_ps_mask::<_CMP_GT_OQ>(k, threshold)) << (half * PANEL);
            if mask >> (half * PANEL) & 0xFFFF != 0 {
                // SAFETY: `keys` has room for 32 values; this half writes 16 of them.
                unsafe { _mm512_storeu_ps(keys.as_mut_ptr().add(half * PANEL), k) };
            }
        }
        out.masks[j] = mask;
    }
}
