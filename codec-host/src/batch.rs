//! Batch encode and decode on one thread: the transform of a block of vectors as one matrix
//! product, bit-exact with codec-core's per-vector path.
//!
//! The core projects one vector at a time, `i16 x i32` products summed in `i64`. Here the
//! products of [`BLOCK`] vectors go to faer's GEMM (SIMD kernels picked at run time) in `f64`:
//! the entries and values are integers, and while every partial sum stays below 2^53 in
//! magnitude `f64` holds it exactly, so the sums equal the core's bit for bit whatever order
//! the kernel adds them in. [`exact`] checks that bound per vector (the sum of the absolute
//! products bounds every partial sum); a vector past it (only hostile inputs get there) takes
//! the core's per-vector transform. Rounding, rate control, entropy coding and the last step
//! of decoding are the core's own functions, so only the sums are computed here.

use codec_core::internals::{
    ModelInternals, centre, coefficient, decode_coefficients, encode_coefficients, finish_inverse,
    forward, inverse,
};
use codec_core::{Error, MAX_CODE_LEN, Model};
use faer::linalg::matmul::matmul;
use faer::{Accum, MatMut, MatRef, Par};

/// Vectors per matrix product: enough for the GEMM kernels to run at speed, few enough that
/// a block's scratch (about half a megabyte for a 2048-d model) stays in cache.
pub const BLOCK: usize = 64;

/// Magnitude below which every integer, and so every partial sum, is exact in `f64`.
const EXACT: u128 = 1 << 53;

/// A model's transform in `f64`, prepared once per model (a 463 x 463 transform: 1.7 MB).
pub struct Projection {
    /// `coeffs x active`, row-major: row `k` is the transform's row `k`.
    t: Vec<f64>,
    coeffs: usize,
    active: usize,
    dim: usize,
    /// Largest magnitude of an entry.
    max_entry: u128,
}

impl Projection {
    /// Read the transform of `model`.
    pub fn new(model: &Model<'_>) -> Self {
        let (coeffs, active) = (model.coeffs(), model.active_count());
        let mut t = Vec::with_capacity(coeffs * active);
        let mut max_entry = 0;
        for k in 0..coeffs {
            for e in model.transform_row(k).chunks_exact(2).take(active) {
                let v = i16::from_le_bytes([e[0], e[1]]);
                max_entry = max_entry.max(u128::from(v.unsigned_abs()));
                t.push(f64::from(v));
            }
        }
        Projection {
            t,
            coeffs,
            active,
            dim: model.dim(),
            max_entry,
        }
    }

    /// The transform as a `coeffs x active` matrix.
    fn matrix(&self) -> MatRef<'_, f64> {
        MatRef::from_row_major_slice(&self.t, self.coeffs, self.active)
    }

    /// Whether the sums of `values` against any row (or column) of the transform are exact
    /// in `f64`: their absolute products add up to less than 2^53.
    fn exact(&self, values: impl Iterator<Item = i32>) -> bool {
        let total: u128 = values.map(|v| u128::from(v.unsigned_abs())).sum();
        total * self.max_entry < EXACT
    }
}

/// Scratch of one block, reused from block to block.
#[derive(Default)]
struct Scratch {
    /// Integer inputs of the product, one vector after another.
    ints: Vec<i32>,
    /// The same in `f64` (zeros for vectors that failed or take the core's path).
    lhs: Vec<f64>,
    /// The product, one vector after another.
    sums: Vec<f64>,
    /// One vector's sums in `i64`.
    acc: Vec<i64>,
    /// Per vector: `Ok(true)` exact in `f64`, `Ok(false)` for the core's path, or its error.
    state: Vec<Result<bool, Error>>,
}

impl Scratch {
    fn reset(&mut self, rows: usize, width: usize, out_width: usize) {
        self.ints.clear();
        self.ints.resize(rows * width, 0);
        self.lhs.clear();
        self.lhs.resize(rows * width, 0.0);
        self.sums.clear();
        self.sums.resize(rows * out_width, 0.0);
        self.state.clear();
    }

    /// `sums = t x lhs` (`forward`) or `t^T x lhs` for the vectors of the block, each column
    /// of both one vector.
    fn product(&mut self, proj: &Projection, rows: usize, forward: bool) {
        let (width, out_width) = if forward {
            (proj.active, proj.coeffs)
        } else {
            (proj.coeffs, proj.active)
        };
        if rows == 0 || width == 0 || out_width == 0 {
            return;
        }
        let lhs = MatRef::from_column_major_slice(&self.lhs, width, rows);
        let dst = MatMut::from_column_major_slice_mut(&mut self.sums, out_width, rows);
        if forward {
            matmul(dst, Accum::Replace, proj.matrix(), lhs, 1.0, Par::Seq);
            return;
        }
        // Small codes quantise the trailing (small-spread) coefficients to zero: only the
        // coefficients up to the block's last non-zero one take part, as the core skips zeros.
        let used = (0..rows)
            .filter_map(|r| {
                let column = &self.lhs[r * width..(r + 1) * width];
                column.iter().rposition(|&v| v != 0.0).map(|k| k + 1)
            })
            .max()
            .unwrap_or(0);
        if used == 0 {
            self.sums.fill(0.0);
            return;
        }
        let t = proj.matrix().subrows(0, used).transpose();
        matmul(dst, Accum::Replace, t, lhs.subrows(0, used), 1.0, Par::Seq);
    }

    /// Mark vector `r` exact or not from its integers, and copy them to `lhs` when exact.
    fn load(&mut self, proj: &Projection, r: usize, width: usize) {
        let ints = &self.ints[r * width..(r + 1) * width];
        let exact = proj.exact(ints.iter().copied());
        if exact {
            for (f, &v) in self.lhs[r * width..(r + 1) * width].iter_mut().zip(ints) {
                *f = f64::from(v);
            }
        }
        self.state.push(Ok(exact));
    }
}

/// Encode the vectors of `data` (`model.dim()` values each; a shorter last one fails) at
/// `budget` bytes into `out`, one slot of `budget` bytes per vector, on this thread: per
/// vector the code's length or the error [`codec_core::encode`] gives. Each code is the one
/// [`codec_core::encode`] writes, byte for byte; the slot's bytes past it are zero.
/// `proj` is [`Projection::new`] of `model`.
pub fn encode_rows(
    model: &Model<'_>,
    proj: &Projection,
    data: &[f32],
    budget: usize,
    out: &mut [u8],
) -> Vec<Result<usize, Error>> {
    let (dim, active, coeffs) = (proj.dim.max(1), proj.active, proj.coeffs);
    let slots = out.chunks_mut(budget.max(1));
    let rows = data.chunks(dim).zip(slots);
    if budget > MAX_CODE_LEN {
        let e = Error::BudgetTooLarge {
            budget,
            maximum: MAX_CODE_LEN,
        };
        return rows.map(|_| Err(e)).collect();
    }
    let mut results = Vec::with_capacity(data.len().div_ceil(dim));
    let mut scratch = Scratch::default();
    let mut y = vec![0i32; coeffs];
    let mut rows = rows.peekable();
    while rows.peek().is_some() {
        let block: Vec<(&[f32], &mut [u8])> = rows.by_ref().take(BLOCK).collect();
        let n = block.len();
        scratch.reset(n, active, coeffs);
        for (r, (x, _)) in block.iter().enumerate() {
            match centre(model, x, &mut scratch.ints[r * active..(r + 1) * active]) {
                Ok(()) => scratch.load(proj, r, active),
                Err(e) => scratch.state.push(Err(e)),
            }
        }
        scratch.product(proj, n, true);
        for (r, (_, slot)) in block.into_iter().enumerate() {
            let state = std::mem::replace(&mut scratch.state[r], Ok(false));
            let result = state.and_then(|exact| {
                if exact {
                    for (c, &s) in y.iter_mut().zip(&scratch.sums[r * coeffs..]) {
                        *c = coefficient(s as i64);
                    }
                } else {
                    forward(model, &scratch.ints[r * active..(r + 1) * active], &mut y);
                }
                let too_small = Error::OutputTooSmall {
                    needed: budget,
                    actual: slot.len(),
                };
                let code = slot.get_mut(..budget).ok_or(too_small)?;
                let len = encode_coefficients(model, &y, code)?.len;
                // Rate control leaves bytes of rejected trials past the code.
                code[len..].fill(0);
                Ok(len)
            });
            results.push(result);
        }
    }
    results
}

/// Decode `codes` into `out`, one slot of `model.dim()` values per code, on this thread: per
/// code `Ok` or the error [`codec_core::decode`] gives. The values are those of
/// [`codec_core::decode`], bit for bit; a slot whose code fails is left as it was.
/// `proj` is [`Projection::new`] of `model`.
pub fn decode_rows(
    model: &Model<'_>,
    proj: &Projection,
    codes: &[&[u8]],
    out: &mut [f32],
) -> Vec<Result<(), Error>> {
    let (dim, active, coeffs) = (proj.dim.max(1), proj.active, proj.coeffs);
    let mut results = Vec::with_capacity(codes.len());
    let mut scratch = Scratch::default();
    let mut slots = out.chunks_mut(dim);
    for block in codes.chunks(BLOCK) {
        let outs: Vec<&mut [f32]> = slots.by_ref().take(block.len()).collect();
        let n = outs.len();
        scratch.reset(n, coeffs, active);
        for (r, code) in block.iter().take(n).enumerate() {
            let y = &mut scratch.ints[r * coeffs..(r + 1) * coeffs];
            match decode_coefficients(model, code, y) {
                Ok(_) if outs[r].len() < dim => scratch.state.push(Err(Error::OutputTooSmall {
                    needed: dim,
                    actual: outs[r].len(),
                })),
                Ok(_) => scratch.load(proj, r, coeffs),
                Err(e) => scratch.state.push(Err(e)),
            }
        }
        scratch.product(proj, n, false);
        scratch.acc.resize(active, 0);
        for (r, row) in outs.into_iter().enumerate() {
            let state = std::mem::replace(&mut scratch.state[r], Ok(false));
            let result = state.map(|exact| {
                if exact {
                    let sums = &scratch.sums[r * active..(r + 1) * active];
                    for (a, &s) in scratch.acc.iter_mut().zip(sums) {
                        *a = s as i64;
                    }
                    finish_inverse(model, &scratch.acc, row);
                } else {
                    let y = &scratch.ints[r * coeffs..(r + 1) * coeffs];
                    inverse(model, y, &mut scratch.acc, row);
                }
            });
            results.push(result);
        }
    }
    results
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;
    use proptest::prelude::*;

    /// The core's golden models (48 values, 16 coefficients), one per quantiser: committed
    /// files rather than trained ones, so these tests import nothing above this module.
    const MODELS: [&[u8]; 2] = [
        include_bytes!("../../codec-core/tests/golden/model-v1.nfcm"),
        include_bytes!("../../codec-core/tests/golden/model-v1-scalar.nfcm"),
    ];

    fn model(which: usize) -> Model<'static> {
        Model::parse(MODELS[which]).unwrap()
    }

    /// `rows` vectors of `dim` values: Gaussian at several scales, with zeros, values past
    /// the fixed-point range and (when `bad`) a non-finite value here and there.
    fn vectors(rows: usize, dim: usize, seed: u64, bad: bool) -> Vec<f32> {
        let mut rng = Rng::new(seed);
        (0..rows * dim)
            .map(|i| {
                let scale = [0.0, 0.3, 1.0, 3.0, 1e9][(i / dim) % 5];
                match rng.below(400) {
                    0 if bad => f32::NAN,
                    1 => f32::MAX,
                    2 => -1e30,
                    _ => (rng.normal() * scale) as f32,
                }
            })
            .collect()
    }

    /// Batch encode and decode of `data` against codec-core's per-vector calls: the same
    /// results, codes byte for byte and values bit for bit; returns the codes.
    fn check(model: &Model<'_>, proj: &Projection, data: &[f32], budget: usize) -> Vec<Vec<u8>> {
        let dim = model.dim();
        let rows = data.len().div_ceil(dim);
        let mut out = vec![0xa5u8; rows * budget];
        let results = encode_rows(model, proj, data, budget, &mut out);
        assert_eq!(results.len(), rows);
        let mut codes = Vec::new();
        for (i, (got, slot)) in results.iter().zip(out.chunks(budget)).enumerate() {
            let mut want = vec![0u8; budget];
            let row = &data[i * dim..((i + 1) * dim).min(data.len())];
            match codec_core::encode(model, row, budget, &mut want) {
                Ok(n) => {
                    assert_eq!(*got, Ok(n), "row {i}");
                    assert_eq!(&slot[..n], &want[..n], "row {i}");
                    assert!(slot[n..].iter().all(|&b| b == 0), "row {i}");
                    codes.push(want[..n].to_vec());
                }
                Err(e) => assert_eq!(*got, Err(e), "row {i}"),
            }
        }
        // The codes, then each damaged: a byte flipped, cut short, extended, emptied.
        let mut inputs = codes.clone();
        for (i, c) in codes.iter().enumerate() {
            let mut c = c.clone();
            match i % 4 {
                0 => {
                    let at = i % c.len();
                    c[at] ^= 1 << (i % 8);
                }
                1 => c.truncate(c.len() / 2),
                2 => c.push(1),
                _ => c.clear(),
            }
            inputs.push(c);
        }
        let refs: Vec<&[u8]> = inputs.iter().map(Vec::as_slice).collect();
        let mut back = vec![7f32; refs.len() * dim];
        let results = decode_rows(model, proj, &refs, &mut back);
        assert_eq!(results.len(), refs.len());
        for (i, (got, row)) in results.iter().zip(back.chunks(dim)).enumerate() {
            let mut want = vec![7f32; dim];
            let expected = codec_core::decode(model, refs[i], &mut want);
            assert_eq!(*got, expected, "code {i}");
            let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(row), bits(&want), "code {i}");
        }
        codes
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]
        #[test]
        fn batch_is_the_per_vector_path_byte_for_byte_and_bit_for_bit(
            which in 0usize..2,
            rows in prop_oneof![Just(0usize), Just(1), Just(BLOCK), 2usize..3 * BLOCK],
            extra in prop_oneof![Just(0usize), 1usize..40],
            budget_pick in 0usize..6,
            seed: u64,
            bad: bool,
        ) {
            let model = model(which);
            let proj = Projection::new(&model);
            let minimum = codec_core::min_budget(&model).unwrap();
            let budget = [(minimum - 1).max(1), minimum, minimum + 1, 16, 64, 256][budget_pick];
            // `extra` values past the last whole vector make a short last one.
            let data = vectors(rows + 1, model.dim(), seed, bad);
            let data = &data[..rows * model.dim() + extra.min(model.dim() - 1)];
            check(&model, &proj, data, budget);
        }
    }

    #[test]
    fn vectors_past_the_exactness_bound_take_the_core_path_with_the_same_results() {
        let model = model(0);
        let mut proj = Projection::new(&model);
        let data = vectors(2 * BLOCK + 3, model.dim(), 3, true);
        let fast = check(&model, &proj, &data, 32);
        // With the bound at a single unit, every non-zero vector takes the core's path.
        proj.max_entry = EXACT;
        assert_eq!(check(&model, &proj, &data, 32), fast);
    }

    #[test]
    fn budgets_over_the_maximum_and_slots_too_small_are_the_cores_errors() {
        let model = model(0);
        let proj = Projection::new(&model);
        let data = vectors(3, model.dim(), 1, false);
        let big = MAX_CODE_LEN + 1;
        let results = encode_rows(&model, &proj, &data, big, &mut vec![0; 3 * big]);
        let too_large = Error::BudgetTooLarge {
            budget: big,
            maximum: MAX_CODE_LEN,
        };
        assert_eq!(results, vec![Err(too_large); 3]);
        let mut code = [0u8; 64];
        let n = codec_core::encode(&model, &data[..model.dim()], 64, &mut code).unwrap();
        let mut short = vec![0f32; model.dim() - 1];
        let results = decode_rows(&model, &proj, &[&code[..n]], &mut short);
        let want = codec_core::decode(&model, &code[..n], &mut short.clone());
        assert_eq!(results, vec![want]);
        assert!(matches!(want, Err(Error::OutputTooSmall { .. })));
    }

    #[test]
    fn the_exactness_bound_is_the_sum_of_absolute_products() {
        let proj = Projection::new(&model(0));
        assert!(proj.max_entry > 0 && proj.max_entry <= 1 << 15);
        let per = u128::from(i32::MIN.unsigned_abs()) * proj.max_entry;
        let n = (EXACT / per) as usize;
        let values = |n: usize, v: i32| std::iter::repeat_n(v, n);
        assert_eq!(proj.exact(values(n, i32::MIN)), (n as u128) * per < EXACT);
        assert!(!proj.exact(values(n + 1, i32::MIN)));
        assert!(proj.exact(values(n, i32::MAX)));
        assert!(proj.exact(values(5000, 0)));
    }
}
