//! The trellis search as first written (commit 9eda2b8), before it was tuned for 32-bit
//! cores: the reference that the tuned search must match bit for bit, with the same paths,
//! early stops and rate-control hints, on random models and values (ties, saturated costs,
//! escapes, raw bits and steps beyond 32 bits included).

use crate::entropy::cost_q8;
use crate::format::{
    self, Class, ClassTable, MAX_CLASSES, MAX_COEFFS, Model, ModelInternals, ModelParts,
    STEP_RESIDUAL_SYMBOLS, StepGrid, StepGrowth,
};
use crate::quant::levels::reconstruct_level;
use crate::quant::trellis::{START, level, next_state, quantiser};

/// Magnitude of candidate `choice` for the value `a = |y|` under quantiser `q`: 0 for
/// choice 0, else the level just below `a` (choice 1) or just above it (choice 2).
#[inline]
pub(super) fn candidate(q: usize, a: u32, step: u64, choice: u8) -> u64 {
    let a = u64::from(a);
    // Levels 2m (q = 0) or 2m - 1 (q = 1) at or below a / step. Steps are at least 1 and
    // at most 2^40; `max(1)` only spares firmware the division-by-zero panic path.
    let cell = step.saturating_mul(2).max(1);
    let below = if q == 0 { a / cell } else { (a + step) / cell };
    match choice {
        0 => 0,
        1 => below,
        _ => below + 1,
    }
}

/// Cost of a path that cannot be taken.
const UNREACHABLE: u64 = u64::MAX;

/// Each class table's slope and cost of a zero, read once per search: most coefficients at
/// small budgets need nothing else.
struct ClassCache {
    slope_and_zero: [[(u16, u16); 2]; MAX_CLASSES],
    alphabet: usize,
}

impl ClassCache {
    fn new(model: &Model<'_>) -> Self {
        let alphabet = model.alphabet();
        let mut slope_and_zero = [[(0u16, 0u16); 2]; MAX_CLASSES];
        for (c, pair) in slope_and_zero.iter_mut().enumerate().take(model.classes()) {
            for (q, entry) in pair.iter_mut().enumerate() {
                let t = model.table(c, q);
                // A zero costs at most 15 + 24 raw bits: (15 + 24) * 256 fits in 16 bits.
                *entry = (t.rounding as u16, cost_q8(&t, alphabet, 0) as u16);
            }
        }
        ClassCache {
            slope_and_zero,
            alphabet,
        }
    }
}

/// One value at one step: what choosing among its candidates costs.
struct Site {
    class_index: usize,
    step: u64,
    a: u32,
    /// Rate-distortion slope per 1/256 bit, per quantiser.
    lambdas: [u64; 2],
    zero_bits: [u64; 2],
}

/// A candidate: magnitude, cost `error^2 + lambda * bits`, bits (Q8). Unusable candidates
/// cost [`UNREACHABLE`].
type Candidates = [(u64, u64, u64); 3];

impl Site {
    fn new(
        model: &Model<'_>,
        cache: &ClassCache,
        spread: i32,
        k: usize,
        step: usize,
        y: i32,
    ) -> Self {
        let class_index = model.class_for(spread, k, step);
        let s = model.step(k, step);
        let cached = cache
            .slope_and_zero
            .get(class_index)
            .copied()
            .unwrap_or_default();
        // A class's slope (Q16, squared steps per bit) per 1/256 bit: slope * step^2 / 2^24,
        // in 64 bits while it fits (steps below 2^24: most of a trained model's step grid).
        let lambdas = cached.map(|(slope, _)| match s.checked_mul(s) {
            Some(s2) if s2 < 1 << 48 => (u64::from(slope) * s2) >> 24,
            _ => ((u128::from(slope) * u128::from(s) * u128::from(s)) >> 24)
                .min(u128::from(u64::MAX)) as u64,
        });
        Site {
            class_index,
            step: s,
            a: super::coded_magnitude(model, step, y),
            lambdas,
            zero_bits: cached.map(|(_, z)| u64::from(z)),
        }
    }

    /// The candidates of quantiser `q` (0 or 1), zero first.
    fn options(&self, model: &Model<'_>, cache: &ClassCache, q: usize) -> Candidates {
        let q = q & 1;
        let (a, s) = (self.a, self.step);
        let a2 = u64::from(a) * u64::from(a);
        let mut row = [(0u64, UNREACHABLE, 0u64); 3];
        let r0 = self.zero_bits[q];
        row[0] = (0, a2.saturating_add(self.lambdas[q].saturating_mul(r0)), r0);
        // Within an eighth of a step of zero only zero is tried: a non-zero level is at least
        // 7/8 of a step away, 3/4 of a squared step more error than zero, which the state it
        // leads to practically never wins back (on kind-A features, a cut at 1/8 step costs
        // 0.02% in dr at 16 B; at 1/2 step, 1.2%). Most coefficients at small budgets.
        if 8 * u64::from(a) <= s {
            return row;
        }
        let class: Class<'_> = model.table(self.class_index, q);
        for (choice, slot) in row.iter_mut().enumerate().skip(1) {
            let m = candidate(q, a, s, choice as u8);
            if m == 0 {
                continue; // the same as choice 0
            }
            let v = reconstruct_level(level(q, m), m, false, s, &class);
            let e = (i64::from(a) - i64::from(v)).unsigned_abs();
            let r = cost_q8(&class, cache.alphabet, m);
            let here = e
                .saturating_mul(e)
                .saturating_add(self.lambdas[q].saturating_mul(r));
            *slot = (m, here, r);
        }
        row
    }
}

/// Rate control's starting guess: the finest step whose quick one-path estimate fits
/// `budget` bytes (less half a byte for the step index and the coder's termination), found by
/// bisection. The quick path gives each value its cheapest candidate in the state the earlier
/// choices left, without searching over paths: a quarter of the work of [`search`] and close
/// to its rate.
pub(super) fn estimate_step(
    model: &Model<'_>,
    values: &[i32],
    spread: &impl Fn(usize) -> i32,
    budget: usize,
) -> usize {
    let cache = ClassCache::new(model);
    let target = (budget as u64 * 8).saturating_sub(4) * 256;
    let fits = |step: usize| {
        let mut state = START;
        let mut bits = 0u64;
        for (k, &y) in values.iter().enumerate() {
            let site = Site::new(model, &cache, spread(k), k, step, y);
            let row = site.options(model, &cache, quantiser(state));
            let (m, _, r) = row
                .iter()
                .fold(row[0], |best, &o| if o.1 < best.1 { o } else { best });
            bits = bits.saturating_add(r);
            if bits > target {
                return false;
            }
            state = next_state(state, m);
        }
        true
    };
    let (mut lo, mut hi) = (0, model.steps() - 1);
    while lo < hi {
        let mid = (lo + hi) / 2;
        if fits(mid) {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    hi
}

/// Viterbi search: for every coefficient the candidate (see [`candidate`]) on the cheapest
/// path through the trellis, written to `path` (one entry per value). Returns `false`, with
/// `path` unfinished, when `budget_bytes` is given and every surviving path already needs
/// clearly more bits than that: rate control then knows the step is too fine without coding.
pub(super) fn search(
    model: &Model<'_>,
    values: &[i32],
    spread: &impl Fn(usize) -> i32,
    step: usize,
    budget_bytes: Option<usize>,
    path: &mut [u8; MAX_COEFFS],
) -> bool {
    let n = values.len().min(MAX_COEFFS);
    // Per coefficient and arrival state: the state it came from (bits 2-3) and the candidate
    // taken (bits 0-1).
    let mut came_from = [0u8; 4 * MAX_COEFFS];
    let mut cost = [UNREACHABLE; 4];
    cost[START] = 0;
    // Estimated bits (Q8) of each survivor. Every finished path extends a survivor, so the
    // least of them bounds the code from below, up to the estimate's error: `cost_q8`
    // overstates a table symbol by less than 0.09 bit, allowed for per coefficient.
    let mut bits = [0u64; 4];
    let limit = budget_bytes.map(|b| (b as u64) * 8 * 256);
    let cache = ClassCache::new(model);
    for (k, &y) in values.iter().enumerate().take(n) {
        let site = Site::new(model, &cache, spread(k), k, step, y);
        let options = [
            site.options(model, &cache, 0),
            site.options(model, &cache, 1),
        ];
        let mut next = [UNREACHABLE; 4];
        let mut next_bits = [0u64; 4];
        let mut from = [0u8; 4];
        for (state, &so_far) in cost.iter().enumerate() {
            if so_far == UNREACHABLE {
                continue;
            }
            let row = &options[quantiser(state)];
            for (choice, &(m, here, r)) in row.iter().enumerate() {
                if here == UNREACHABLE {
                    continue;
                }
                let total = so_far.saturating_add(here);
                // `& 3`: states are 0..4, and the mask lets the compiler drop the bounds check.
                let to = next_state(state, m) & 3;
                if total < next[to] {
                    next[to] = total;
                    next_bits[to] = bits[state & 3].saturating_add(r);
                    from[to] = ((state as u8) << 2) | choice as u8;
                }
            }
        }
        cost = next;
        bits = next_bits;
        if let Some(limit) = limit {
            let least = cost
                .iter()
                .zip(&bits)
                .filter(|(c, _)| **c != UNREACHABLE)
                .map(|(_, b)| *b)
                .min()
                .unwrap_or(0);
            // 23/256 bit (0.09) of overstatement per coefficient so far.
            if least > limit.saturating_add(23 * (k as u64 + 1)) {
                return false;
            }
        }
        if let Some(slot) = came_from.get_mut(4 * k..4 * k + 4) {
            slot.copy_from_slice(&from);
        }
    }
    // The cheapest end state (the lowest on ties), then back along the decisions.
    let mut state = (0..4).fold(0, |best, s| {
        if cost[s & 3] < cost[best & 3] {
            s
        } else {
            best
        }
    });
    for k in (0..n).rev() {
        let d = came_from.get(4 * k + state).copied().unwrap_or(0);
        if let Some(p) = path.get_mut(k) {
            *p = d & 3;
        }
        state = usize::from(d >> 2);
    }
    true
}

/// xorshift64: reproducible test data without a dependency.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// A random valid trellis model (or an empty vector when the writer refuses it): up to 16
/// coefficients, weights from just above 1/2 up (the coarsest step must zero everything),
/// unordered spreads (so classes change from one coefficient to the next), random tables,
/// slopes up to 1/2, escape orders and raw bits, and steps from 1 to 2^31.
fn random_model(rng: &mut Rng) -> Vec<u8> {
    let coeffs = 1 + rng.below(16) as usize;
    let active = coeffs + rng.below(4) as usize;
    let dim = active + rng.below(4) as usize;
    let alphabet = 2 + rng.below(20) as usize;
    let classes = 1 + rng.below(12) as usize;
    let steps = 2 + rng.below(40) as usize;
    let act: Vec<u16> = (0..active as u16).collect();
    let mean = vec![0i32; dim];
    let lower = vec![-(1 << 20); active];
    let upper = vec![1 << 20; active];
    let transform: Vec<i16> = (0..coeffs * active).map(|_| rng.next() as i16).collect();
    let ccl: Vec<i16> = (0..coeffs)
        .map(|_| (rng.below(16000) as i16) - 4000)
        .collect();
    let uniform = rng.below(2) == 0;
    let w0 = 2049 + rng.below(65535 - 2049) as u16;
    let weight: Vec<u16> = (0..coeffs)
        .map(|_| {
            if uniform {
                w0
            } else {
                2049 + rng.below(65535 - 2049) as u16
            }
        })
        .collect();
    // Increasing steps, the last 2^31.
    let mut ss: Vec<u32> = (0..steps - 1)
        .map(|_| {
            let b = 1 + rng.below(31);
            1 + rng.below(1 << b) as u32
        })
        .collect();
    ss.push(1 << 31);
    ss.sort();
    ss.dedup();
    let steps = ss.len();
    let step_log: Vec<i32> = ss
        .iter()
        .map(|&s| (s.ilog2() as i32) * 256 + rng.below(256) as i32)
        .collect();
    let step_cdf: Vec<u16> = (0..=steps)
        .map(|i| ((i as u64 * 32768) / steps as u64) as u16)
        .collect();
    let mut cdfs = Vec::new();
    let mut recons = Vec::new();
    for _ in 0..2 * classes {
        let mut cuts: Vec<u16> = Vec::new();
        while cuts.len() < alphabet - 1 {
            let c = 1 + rng.below(32767) as u16;
            if !cuts.contains(&c) {
                cuts.push(c);
            }
        }
        cuts.sort();
        let mut cdf = vec![0u16];
        cdf.extend(cuts);
        cdf.push(32768);
        cdfs.push(cdf);
        recons.push(
            (0..alphabet - 1)
                .map(|_| rng.next() as i16)
                .collect::<Vec<i16>>(),
        );
    }
    let big_slopes = rng.below(3) == 0;
    let tables: Vec<ClassTable<'_>> = (0..2 * classes)
        .map(|c| ClassTable {
            cdf: &cdfs[c],
            recon: &recons[c],
            rounding: {
                let r = rng.below(32769) as u16;
                if big_slopes { 32768 - r % 100 } else { r }
            },
            escape_order: rng.below(31) as u8,
            raw_bits: {
                let r = rng.below(50) as u8;
                if r >= 25 { 0 } else { r }
            },
        })
        .collect();
    let residual_cdf: Vec<u16> = (0..=STEP_RESIDUAL_SYMBOLS as u32)
        .map(|i| (i * 32768 / STEP_RESIDUAL_SYMBOLS as u32) as u16)
        .collect();
    let unit_gains = vec![1u16 << 15; tables.len() / 2];
    let parts = ModelParts {
        dim,
        shift: 0,
        classes_per_octave: 1 + rng.below(8) as u8,
        class_offset: rng.below(20) as i32 - 5,
        clamp: false,
        trellis: true,
        // Half the models with step growth, of any slope and threshold the format allows.
        growth: if rng.below(2) == 0 {
            StepGrowth::default()
        } else {
            StepGrowth {
                slope: rng.below(1025) as u16,
                threshold: rng.below(2049) as i16 - 1024,
            }
        },
        budgets: &[16],
        active: &act,
        mean: &mean,
        lower: &lower,
        upper: &upper,
        transform: &transform,
        coef_class_log: &ccl,
        coef_weight: &weight,
        step_size: &ss,
        step_log: &step_log,
        step_cdf: &step_cdf,
        // The search does not read the length step prior or the gains: placeholders.
        length_step_prior: format::LengthStepPrior {
            centres: &[0],
            residual_cdf: &residual_cdf,
        },
        classes: &tables,
        gains: format::Gains {
            coeffs: 0,
            per_class: &unit_gains,
        },
    };
    let mut out = vec![0u8; parts.encoded_len()];
    match format::write(&parts, &mut out) {
        Ok(n) => {
            out.truncate(n);
            out
        }
        Err(_) => Vec::new(),
    }
}

/// A coefficient around `scale`, or an extreme one.
fn random_value(rng: &mut Rng, scale: u64) -> i32 {
    let v = match rng.below(10) {
        0 => [
            0,
            1,
            -1,
            i32::MIN,
            i32::MAX,
            1 << 29,
            -(1 << 29),
            i32::MIN + 1,
        ][rng.below(8) as usize],
        1 => rng.next() as i32,
        2..=5 => (rng.below(scale.max(1) * 4)) as i32,
        6 => (rng.below(scale.max(1) / 4 + 1)) as i32,
        _ => (rng.below(scale.max(1) * 40 + 1) as i64).min(i32::MAX as i64) as i32,
    };
    if rng.below(2) == 0 {
        v.wrapping_neg()
    } else {
        v
    }
}

/// The tuned search, hint and candidates against the reference, at every step of `m`.
fn compare(m: &Model<'_>, values: &[i32], rng: &mut Rng) {
    let spread = |k| m.coef_spread_log(k);
    for step in 0..m.steps() {
        let budget = (rng.below(3) != 0).then(|| rng.below(300) as usize);
        let (mut tuned, mut plain) = ([0u8; MAX_COEFFS], [0u8; MAX_COEFFS]);
        let mut decisions = [0u16; MAX_COEFFS];
        let done = super::search(
            m,
            values,
            &spread,
            step,
            budget,
            &mut crate::workspace::Paths {
                decisions: &mut decisions,
                path: &mut tuned,
            },
            super::FULL_SLOPE,
        );
        let want = search(m, values, &spread, step, budget, &mut plain);
        assert_eq!(
            done, want,
            "search's early stop at step {step} of {values:?}"
        );
        assert!(tuned == plain, "path at step {step} of {values:?}");
    }
    for _ in 0..4 {
        let budget = rng.below(400) as usize;
        assert_eq!(
            super::estimate_step(m, values, &spread, budget, None),
            estimate_step(m, values, &spread, budget),
            "hint for {budget} bytes of {values:?}"
        );
    }
    for &y in values {
        for s in [1, 2, 3, 7, 1000, (1 << 32) - 1, 1 << 32, (1 << 35) - 5] {
            for (q, c) in [(0, 1), (0, 2), (1, 1), (1, 2)] {
                let a = y.unsigned_abs();
                assert_eq!(super::candidate(q, a, s, c), candidate(q, a, s, c));
            }
        }
    }
}

#[test]
fn the_tuned_search_matches_the_reference() {
    // Miri interprets, 10^4 times slower: a token run there.
    let (models, sets) = if cfg!(miri) { (1, 1) } else { (400, 3) };
    let mut rng = Rng(0x1234_5678_9abc_def1);
    let mut done = 0;
    while done < models {
        let bytes = random_model(&mut rng);
        let Ok(m) = Model::parse(&bytes) else {
            continue; // the coarsest code is too long: try another
        };
        done += 1;
        for _ in 0..sets {
            let scale = 1u64 << rng.below(32);
            // Mostly one value per coefficient; sometimes more than the search takes.
            let n = if rng.below(10) == 0 && !cfg!(miri) {
                rng.below(1100) as usize
            } else {
                m.coeffs()
            };
            let values: Vec<i32> = (0..n).map(|_| random_value(&mut rng, scale)).collect();
            compare(&m, &values, &mut rng);
        }
    }
}
