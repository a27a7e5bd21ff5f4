//! Trellis-coded (dependent) quantisation: two scalar quantisers whose reconstruction grids
//! interleave, chosen coefficient by coefficient by a four-state machine driven by the parity
//! of the previous magnitudes.
//!
//! Quantiser 0 reconstructs magnitude `m` at level `2m` (even multiples of the step),
//! quantiser 1 at level `2m - 1` (odd multiples), both with zero. Each alone is a scalar
//! quantiser of twice the step; because the state (hence the quantiser) of the next
//! coefficient depends on the parity of this one's magnitude, the sequence of levels is a path
//! in a trellis, and the encoder's Viterbi search over that trellis picks the path that
//! minimises `distortion + lambda * bits`. The set of reachable level sequences is packed
//! more densely than a scalar grid (a space-filling gain of about 0.9 dB for four states at
//! high rate), and the decoder only has to follow the state machine. This is the dependent
//! quantisation of H.266/VVC.
//!
//! Only the encoder searches; a decoder needs [`START`], [`quantiser`], [`next_state`] and
//! [`level`]. Every quantity is an integer, so the search gives the same path everywhere.

use super::levels::level_magnitude;
use crate::entropy::cost_q8;
use crate::format::{Class, Model, ModelInternals, StepGrid};
use crate::workspace::Paths;

/// State of the machine before the first coefficient.
pub const START: usize = 0;

/// Next state from `state` after a magnitude of even (column 0) or odd (column 1) parity.
const TRANSITIONS: [[u8; 2]; 4] = [[0, 2], [2, 0], [1, 3], [3, 1]];

/// The quantiser (0 or 1) used in `state`.
#[inline]
pub fn quantiser(state: usize) -> usize {
    (state >> 1) & 1
}

/// The state after coding magnitude `m` in `state`.
#[inline]
pub fn next_state(state: usize, m: u64) -> usize {
    usize::from(TRANSITIONS[state & 3][(m & 1) as usize])
}

/// Grid level (in steps) of magnitude `m` under quantiser `q`.
#[inline]
pub fn level(q: usize, m: u64) -> u64 {
    match (m, q) {
        (0, _) => 0,
        (_, 0) => 2 * m,
        _ => 2 * m - 1,
    }
}

/// Magnitude of candidate `choice` for the value `a = |y|` under quantiser `q`: 0 for
/// choice 0, else the level just below `a` (choice 1) or just above it (choice 2). `step` is
/// at least 1, as every [`Model::step`] is.
#[inline]
pub fn candidate(q: usize, a: u32, step: u64, choice: u8) -> u64 {
    match choice {
        0 => 0,
        1 => u64::from(below(q, quotient(a, step))),
        _ => u64::from(below(q, quotient(a, step))) + 1,
    }
}

/// `a / step`. Steps are at least 1 (0 counts as 1 here, sparing firmware the division by
/// zero panic path) and at most 2^40, and a 32-bit `a` divided by a step beyond 32 bits is 0,
/// so one 32-bit division does: the Cortex-M4 divides 32-bit numbers in one instruction but
/// 64-bit ones in a library routine of ~50.
#[inline]
fn quotient(a: u32, step: u64) -> u32 {
    match u32::try_from(step) {
        Ok(s) => a.checked_div(s).unwrap_or(a),
        Err(_) => 0,
    }
}

/// Magnitude of quantiser `q`'s level at or below `a`, from `t = a / step`: levels `2m`
/// (q = 0) or `2m - 1` (q = 1) at most `a / step`, so `m = floor((t + q) / 2)` (the floor of
/// `a / step` loses nothing, as `floor(floor(x) / 2) = floor(x / 2)`). Below 2^31.
#[inline]
fn below(q: usize, t: u32) -> u32 {
    ((u64::from(t) + u64::from(q != 0)) >> 1) as u32
}

/// Cost of a path that cannot be taken.
const UNREACHABLE: u64 = u64::MAX;

/// Non-zero magnitudes, from 1, whose [`Level`] a [`Rates`] keeps per quantiser. Eight: the
/// cache is most of the trellis search's frame, the deepest of an encode (16 levels left a
/// scalable encode no stack to spare under 2 KiB), and the firmware test's instruction counts
/// did not rise at any budget with 8: larger magnitudes are too rare to matter.
const KNOWN_LEVELS: usize = 8;

/// A non-zero magnitude in a class: its bits (Q8) and reconstruction offset, the same at
/// every step, and at one step where it reconstructs and what its bits cost
/// (`lambda * bits`). The same for every value, so worked out once per [`Rates`].
#[derive(Clone, Copy, Default)]
struct Level {
    bits: u16,
    offset: i16,
    reconstruction: u32,
    rate: u64,
}

/// A class, and a step size, per quantiser: the class's tables and what bits cost at the
/// step. Consecutive coefficients mostly share the class (classes change slowly along the
/// coefficients), and often the step (steps change only with the coefficients' weights), so
/// a search keeps the last ones and what it learned about their levels, instead of redoing
/// table lookups and 64-bit products.
struct Rates<'a> {
    /// Borrowed, not copied: a copy of the model is 40 words of a firmware stack.
    model: &'a Model<'a>,
    /// Scale of the tables' slopes, Q8 (see [`search`]).
    slope_scale: u32,
    class_index: usize,
    /// The step `lambdas`, `zero_rates` and the levels' reconstructions are for; 0 for none.
    step: u64,
    tables: [Class<'a>; 2],
    /// Rate-distortion slopes (Q16 squared steps per bit, at most 1/2).
    slopes: [u16; 2],
    /// Slopes per 1/256 bit at `step`.
    lambdas: [u64; 2],
    /// Bits (Q8) of a zero, and their cost at `step`.
    zero_bits: [u32; 2],
    zero_rates: [u64; 2],
    /// Levels of magnitudes `1..=KNOWN_LEVELS`: the class's part valid where `known` has bit
    /// `m - 1` set, the step's where `current` has.
    levels: [[Level; KNOWN_LEVELS]; 2],
    known: [u16; 2],
    current: [u16; 2],
}

impl<'a> Rates<'a> {
    /// Rates for no class yet, with the tables' slopes scaled by `slope_scale / 256`: the
    /// first [`Rates::update`] fills them in.
    fn new(model: &'a Model<'a>, slope_scale: u32) -> Self {
        Rates {
            slope_scale,
            model,
            class_index: usize::MAX,
            step: 0,
            tables: [0, 1].map(|q| model.table(0, q)),
            slopes: [0; 2],
            lambdas: [0; 2],
            zero_bits: [0; 2],
            zero_rates: [0; 2],
            levels: [[Level::default(); KNOWN_LEVELS]; 2],
            known: [0; 2],
            current: [0; 2],
        }
    }

    /// Make these the rates of `class_index` at `step`, unless they already are.
    #[inline]
    fn update(&mut self, class_index: usize, step: u64) {
        if class_index != self.class_index {
            self.set_class(class_index);
        }
        if step != self.step {
            self.set_step(step);
        }
    }

    /// [`Rates::update`] to another class: its tables, slopes and zero bits, no levels known,
    /// and no step yet.
    #[inline(never)]
    fn set_class(&mut self, class_index: usize) {
        self.class_index = class_index;
        let model = self.model;
        let alphabet = model.alphabet();
        // One table at a time, in place: building both in a temporary array took 200 bytes
        // of a frame that is on an encode's deepest path.
        let per_quantiser = self
            .tables
            .iter_mut()
            .zip(self.slopes.iter_mut())
            .zip(self.zero_bits.iter_mut());
        for (q, ((table, slope), zero_bits)) in per_quantiser.enumerate() {
            *table = model.table(class_index, q);
            // Slopes are at most 2^15 (validated) and the scale at most FULL_SLOPE.
            let scaled = (u64::from(table.rounding) * u64::from(self.slope_scale)) >> 8;
            *slope = scaled.min(u64::from(u16::MAX)) as u16;
            // A zero costs at most 15 + 24 raw bits: (15 + 24) * 256 fits in 16 bits.
            *zero_bits = u32::from(cost_q8(table, alphabet, 0) as u16);
        }
        self.known = [0; 2];
        self.current = [0; 2];
        self.step = 0;
    }

    /// [`Rates::update`] to another step: slopes per 1/256 bit, slope * step^2 / 2^24, in 64
    /// bits while that fits (steps below 2^24: most of a trained model's step grid), and the
    /// zeros' cost.
    #[inline(never)]
    fn set_step(&mut self, step: u64) {
        self.step = step;
        for (q, &slope) in self.slopes.iter().enumerate() {
            self.lambdas[q] = if step < 1 << 24 {
                (u64::from(slope) * (step * step)) >> 24
            } else {
                ((u128::from(slope) * u128::from(step) * u128::from(step)) >> 24)
                    .min(u128::from(u64::MAX)) as u64
            };
            self.zero_rates[q] = rate_cost(self.lambdas[q], self.zero_bits[q]);
        }
        self.current = [0; 2];
    }

    /// The level of magnitude `m >= 1` under quantiser `q`.
    #[inline]
    fn level(&mut self, q: usize, m: u32) -> Level {
        let q = q & 1;
        let i = m.wrapping_sub(1);
        let bit = 1u16.checked_shl(i).unwrap_or(0);
        match self.levels[q].get(i as usize) {
            Some(&level) if self.current[q] & bit != 0 => level,
            Some(&level) if self.known[q] & bit != 0 => self.keep(q, m, level.bits, level.offset),
            _ => self.new_level(q, m),
        }
    }

    /// [`Rates::level`] from the class's table.
    #[inline(never)]
    fn new_level(&mut self, q: usize, m: u32) -> Level {
        let q = q & 1;
        let class = &self.tables[q];
        // Symbol, escape, raw and sign bits: below (15 + 127 + 24 + 1) * 256 < 2^16.
        let bits = cost_q8(class, self.model.alphabet(), u64::from(m)) as u16;
        // A table's offsets are 16-bit.
        let offset = class.recon(u64::from(m)) as i16;
        if let Some(i) = m.checked_sub(1).filter(|&i| (i as usize) < KNOWN_LEVELS) {
            self.known[q] |= 1 << i;
        }
        self.keep(q, m, bits, offset)
    }

    /// The level of magnitude `m` with bits `bits` and offset `offset` at this step, kept if
    /// it is one of the first [`KNOWN_LEVELS`].
    #[inline]
    fn keep(&mut self, q: usize, m: u32, bits: u16, offset: i16) -> Level {
        let q = q & 1;
        let level = Level {
            bits,
            offset,
            reconstruction: reconstruction(q, m, offset, self.step),
            rate: rate_cost(self.lambdas[q], u32::from(bits)),
        };
        let i = m.wrapping_sub(1) as usize;
        if let Some(slot) = self.levels[q].get_mut(i) {
            *slot = level;
            self.current[q] |= 1 << i;
        }
        level
    }
}

/// `lambda * bits`, saturating. Bits (Q8) of one value are below 2^16 (see
/// [`Rates::new_level`]), so below 2^48 a slope needs no overflow check, and on a 32-bit core
/// a 64 x 32-bit product is two multiplies.
#[inline]
fn rate_cost(lambda: u64, bits: u32) -> u64 {
    if lambda < 1 << 48 && bits < 1 << 16 {
        lambda * u64::from(bits)
    } else {
        lambda.saturating_mul(u64::from(bits))
    }
}

/// The cheapest candidate of one parity of magnitude under one quantiser: its cost
/// (`error^2 + lambda * bits`), bits (Q8) and choice (see [`candidate`]). A candidate that
/// costs [`UNREACHABLE`] (none, or its cost saturated) is never taken.
#[derive(Clone, Copy)]
struct Best {
    cost: u64,
    bits: u32,
    choice: u8,
}

/// No candidate of this parity.
const NONE: Best = Best {
    cost: UNREACHABLE,
    bits: 0,
    choice: 0,
};

/// A value's options under one quantiser, by parity of the magnitude (even, odd): the parity
/// alone decides the next state, so the search never needs the other candidates.
type Options = [Best; 2];

/// One value at one step.
struct Site {
    class_index: usize,
    step: u64,
    a: u32,
    /// `a / step`
    quotient: u32,
}

impl Site {
    fn new(model: &Model<'_>, spread: i32, k: usize, step: usize, y: i32) -> Self {
        let (s, class_index) = model.step_and_class(spread, k, step);
        let a = coded_magnitude(model, step, y);
        Site {
            class_index,
            step: s,
            a,
            quotient: quotient(a, s),
        }
    }

    /// Within an eighth of a step of zero only zero is tried: a non-zero level is at least 7/8
    /// of a step away, 3/4 of a squared step more error than zero, which the state it leads to
    /// practically never wins back (on kind-A features, a cut at 1/8 step costs 0.02% in dr at
    /// 16 B; at 1/2 step, 1.2%). Most coefficients at small budgets.
    #[inline]
    fn near_zero(&self) -> bool {
        8 * u64::from(self.a) <= self.step
    }

    /// Candidate 0, the zero, under quantiser `q` with `rates` (this site's class and step).
    #[inline]
    fn zero(&self, rates: &Rates<'_>, q: usize) -> Best {
        let a = u64::from(self.a);
        // a <= 2^31: the square fits in 64 bits, as does every error's below.
        Best {
            cost: (a * a).saturating_add(rates.zero_rates[q & 1]),
            bits: rates.zero_bits[q & 1],
            choice: 0,
        }
    }

    /// The options of quantiser `q` (0 or 1) with `rates` (this site's class and step).
    #[inline]
    fn options(&self, rates: &mut Rates<'_>, q: usize) -> Options {
        let zero = self.zero(rates, q);
        if self.near_zero() {
            return [zero, NONE];
        }
        self.nonzero_options(rates, q, zero)
    }

    /// [`Site::options`] beyond an eighth of a step, where the non-zero candidates join the
    /// zero: the level below (choice 1, unless it is zero) and the level above (choice 2), of
    /// opposite parities. The even one competes with the zero, which wins ties, as a scan in
    /// choice order keeps the first.
    #[inline(never)]
    fn nonzero_options(&self, rates: &mut Rates<'_>, q: usize, zero: Best) -> Options {
        let q = q & 1;
        let m1 = below(q, self.quotient);
        let above = self.candidate(rates, q, 2, m1 + 1);
        if m1 == 0 {
            return [zero, above]; // choice 1 is the zero, and m = 1 is odd
        }
        let below = self.candidate(rates, q, 1, m1);
        let (even, odd) = if m1 % 2 == 0 {
            (below, above)
        } else {
            (above, below)
        };
        [if even.cost < zero.cost { even } else { zero }, odd]
    }

    /// Candidate `choice`, of magnitude `m >= 1`, under quantiser `q`.
    #[inline]
    fn candidate(&self, rates: &mut Rates<'_>, q: usize, choice: u8, m: u32) -> Best {
        let level = rates.level(q, m);
        let e = u64::from(self.a.abs_diff(level.reconstruction));
        Best {
            cost: (e * e).saturating_add(level.rate),
            bits: u32::from(level.bits),
            choice,
        }
    }
}

/// The magnitude the search sees for value `y` at step index `step`: `|y|`, except at the
/// coarsest step, where every value is taken as zero. The minimum budget is the length of the
/// coarsest code of the zero vector, and must fit every input: the dead-zone quantiser zeroes
/// any coefficient at that step, but the trellis could still pay a level for a huge one when
/// the model's slope is small.
#[inline]
pub(crate) fn coded_magnitude(model: &Model<'_>, step: usize, y: i32) -> u32 {
    if step + 1 >= model.steps() {
        0
    } else {
        y.unsigned_abs()
    }
}

/// Where candidate `m >= 1` of quantiser `q` reconstructs (before its sign), with the class's
/// offset `offset` for `m` (Q15), as the decoder will put it.
#[inline]
fn reconstruction(q: usize, m: u32, offset: i16, step: u64) -> u32 {
    level_magnitude(level(q, u64::from(m)), i32::from(offset), step)
}

/// Rate control's starting guess: the finest step whose quick one-path estimate fits
/// `budget` bytes (less half a byte for the step index and the coder's termination), searched
/// from `start` (see [`boundary`]; by bisection without one). The quick path gives each value
/// its cheapest candidate in the state the earlier choices left, without searching over
/// paths: a third of the work of [`search`] and close to its rate.
pub(crate) fn estimate_step(
    model: &Model<'_>,
    values: &[i32],
    spread: &impl Fn(usize) -> i32,
    budget: usize,
    start: Option<usize>,
) -> usize {
    let target = (budget as u64 * 8).saturating_sub(4) * 256;
    let fits = |step: usize| {
        let mut rates = Rates::new(model, FULL_SLOPE);
        let mut state = START;
        let mut bits = 0u64;
        for (k, &y) in values.iter().enumerate() {
            let site = Site::new(model, spread(k), k, step, y);
            let q = quantiser(state);
            // The cheapest option, the lower choice on ties; near zero, the zero, whose bits
            // need only the class: most values at low rates skip the slopes at their step.
            let (here, odd_wins) = if site.near_zero() {
                if site.class_index != rates.class_index {
                    rates.set_class(site.class_index);
                }
                (rates.zero_bits[q & 1], false)
            } else {
                rates.update(site.class_index, site.step);
                let [even, odd] = site.options(&mut rates, q);
                let odd_wins = (odd.cost, odd.choice) < (even.cost, even.choice);
                (if odd_wins { odd.bits } else { even.bits }, odd_wins)
            };
            bits += u64::from(here);
            if bits > target {
                return false;
            }
            state = usize::from(TRANSITIONS[state & 3][usize::from(odd_wins)]);
        }
        true
    };
    boundary(model.steps(), start, fits)
}

/// A step in `0..steps` where `fits` holds and, unless it is 0, fails one step finer: the
/// finest where `fits` is monotone (true from some step on). The coarsest step is taken to
/// fit without a probe. From `start` it walks away in the direction the first probe says,
/// doubling its stride, and bisects once a probe lands on the other side: `2 log2(d) + 2`
/// probes for an answer `d` steps away, so a good start (the length step prior's prediction)
/// needs two or three instead of bisection's `log2(steps)`; without a start it bisects.
pub(crate) fn boundary(
    steps: usize,
    start: Option<usize>,
    mut fits: impl FnMut(usize) -> bool,
) -> usize {
    // `hi` fits (or is the coarsest); every step below `lo` was found not to fit, or is taken
    // not to.
    let (mut lo, mut hi) = (0, steps.saturating_sub(1));
    // A start at (or past) the coarsest walks from the finest step that is probed.
    let mut probe = start.map(|s| s.min(hi.saturating_sub(1)));
    let mut stride = 1usize;
    let mut heading: Option<bool> = None;
    while lo < hi {
        let walking = probe.filter(|&p| p >= lo && p < hi);
        let mid = walking.unwrap_or(lo + (hi - lo) / 2);
        let fitted = fits(mid);
        if fitted {
            hi = mid;
        } else {
            lo = mid + 1;
        }
        // Keep walking while the probes agree; a probe on the other side, or one that left the
        // bracket, ends the walk.
        probe = match (walking, heading) {
            (Some(_), None) => Some(fitted),
            (Some(_), Some(h)) if h == fitted => Some(fitted),
            _ => None,
        }
        .and_then(|f| {
            heading = Some(f);
            let next = if f {
                mid.checked_sub(stride)
            } else {
                mid.checked_add(stride)
            };
            stride = stride.saturating_mul(2);
            next
        });
    }
    hi
}

/// Bits of an unreachable state: above any path's, so that the least of all survivors' bits
/// is a plain minimum.
const NO_BITS: u32 = u32::MAX;

/// The survivors of the Viterbi search, per state: the cheapest path's cost and bits (Q8).
/// Unreachable states cost [`UNREACHABLE`] and have [`NO_BITS`].
#[derive(Clone, Copy)]
struct Survivors {
    cost: [u64; 4],
    bits: [u32; 4],
}

impl Survivors {
    /// The survivors after one more value with `options` (per quantiser), and their
    /// decisions: per arrival state `s`, bits `4s..4s + 4` hold the state it came from (upper
    /// two) and the candidate taken (lower two). The two states of quantiser `q`, `a = 2q` and
    /// `b = 2q + 1`, lead to the same two states: `x` by an even magnitude from `a` or an odd
    /// one from `b`, and `y` the other way round.
    #[inline]
    fn advance(&self, options: &[Options; 2]) -> (Survivors, u16) {
        let mut next = Survivors {
            cost: [UNREACHABLE; 4],
            bits: [NO_BITS; 4],
        };
        let mut decisions = 0;
        for (q, &[even, odd]) in options.iter().enumerate() {
            let (a, b) = (2 * q, 2 * q + 1);
            let [x, y] = TRANSITIONS[a & 3].map(|t| usize::from(t) & 3);
            for (to, via_a, via_b) in [(x, even, odd), (y, odd, even)] {
                let from;
                (next.cost[to], next.bits[to], from) = self.arrive(a, via_a, b, via_b);
                decisions |= u16::from(from) << (4 * to);
            }
        }
        (next, decisions)
    }

    /// The cheaper way into a state, from state `a` by option `via_a` or from state `b` by
    /// `via_b`: its cost, bits and decision. Ties go to `a`, the lower state, as a scan in state
    /// order keeps the first; a path whose cost saturates is dropped, as unreachable.
    #[inline]
    fn arrive(&self, a: usize, via_a: Best, b: usize, via_b: Best) -> (u64, u32, u8) {
        let (a, b) = (a & 3, b & 3);
        let total_a = self.cost[a].saturating_add(via_a.cost);
        let total_b = self.cost[b].saturating_add(via_b.cost);
        // Reachable paths have at most 1024 values of under 2^16 bits each: no overflow.
        if total_b < total_a {
            (
                total_b,
                self.bits[b] + via_b.bits,
                ((b as u8) << 2) | via_b.choice,
            )
        } else if total_a != UNREACHABLE {
            (
                total_a,
                self.bits[a] + via_a.bits,
                ((a as u8) << 2) | via_a.choice,
            )
        } else {
            (UNREACHABLE, NO_BITS, 0)
        }
    }

    /// The least bits of any reachable path (0 when none is).
    fn least_bits(&self) -> u32 {
        match self.bits.into_iter().min() {
            Some(NO_BITS) | None => 0,
            Some(b) => b,
        }
    }

    /// The cheapest end state, the lowest on ties.
    fn cheapest(&self) -> usize {
        (0..4).fold(0, |best, s| {
            if self.cost[s & 3] < self.cost[best & 3] {
                s
            } else {
                best
            }
        })
    }
}

/// The tables' rate-distortion slopes as trained (a `slope_scale` of 1, Q8).
pub const FULL_SLOPE: u32 = 256;

/// Viterbi search: for every coefficient the candidate (see [`candidate`]) on the cheapest
/// path through the trellis, written to `paths.path` (one entry per value; `paths.decisions`,
/// as long, is the search's scratch, from the caller's workspace). Returns `false`, with the
/// path unfinished, when `budget_bytes` is given and every surviving path already needs
/// clearly more bits than that: rate control then knows the step is too fine without coding.
/// `slope_scale` (Q8, at most [`FULL_SLOPE`]) scales the slopes of the tables: below
/// [`FULL_SLOPE`] bits are cheaper, so the path spends more of them on less error.
pub(crate) fn search(
    model: &Model<'_>,
    values: &[i32],
    spread: &impl Fn(usize) -> i32,
    step: usize,
    budget_bytes: Option<usize>,
    paths: &mut Paths<'_>,
    slope_scale: u32,
) -> bool {
    let Paths { decisions, path } = paths;
    // Per coefficient, the decisions of `Survivors::advance`. Values beyond the scratch get no
    // path entry, so a caller that codes them all (`code_values`) finds the code incomplete.
    let n = values.len().min(path.len()).min(decisions.len());
    let mut survivors = Survivors {
        cost: [UNREACHABLE; 4],
        bits: [NO_BITS; 4],
    };
    survivors.cost[START] = 0;
    survivors.bits[START] = 0;
    // Every finished path extends a survivor, so the least of their estimated bits bounds the
    // code from below, up to the estimate's error: `cost_q8` overstates a table symbol by less
    // than 0.09 bit, allowed for per coefficient.
    let limit = budget_bytes.map(|b| (b as u64) * 8 * 256);
    let mut rates = Rates::new(model, slope_scale.min(FULL_SLOPE));
    for (k, &y) in values.iter().enumerate().take(n) {
        let site = Site::new(model, spread(k), k, step, y);
        rates.update(site.class_index, site.step);
        let made;
        (survivors, made) = if site.near_zero() {
            // The same as below, spelt out so that the compiler drops the missing odd options.
            let zeros = [[site.zero(&rates, 0), NONE], [site.zero(&rates, 1), NONE]];
            survivors.advance(&zeros)
        } else {
            let options = [site.options(&mut rates, 0), site.options(&mut rates, 1)];
            survivors.advance(&options)
        };
        if let Some(limit) = limit {
            // 23/256 bit (0.09) of overstatement per coefficient so far.
            let least = u64::from(survivors.least_bits());
            if least > limit.saturating_add(23 * (k as u64 + 1)) {
                return false;
            }
        }
        if let Some(slot) = decisions.get_mut(k) {
            *slot = made;
        }
    }
    // From the cheapest end state back along the decisions.
    let mut state = survivors.cheapest();
    for k in (0..n).rev() {
        let d = decisions.get(k).map_or(0, |d| (d >> (4 * state)) & 15) as u8;
        if let Some(p) = path.get_mut(k) {
            *p = d & 3;
        }
        state = usize::from(d >> 2);
    }
    true
}

#[cfg(test)]
mod reference;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantisers_interleave_into_the_integer_grid() {
        // Quantiser 0: 0, 2, 4, ...; quantiser 1: 0, 1, 3, 5, ...
        let q0: [u64; 4] = core::array::from_fn(|m| level(0, m as u64));
        let q1: [u64; 4] = core::array::from_fn(|m| level(1, m as u64));
        assert_eq!(q0, [0, 2, 4, 6]);
        assert_eq!(q1, [0, 1, 3, 5]);
    }

    #[test]
    fn parity_drives_the_state_machine() {
        assert_eq!(next_state(0, 0), 0);
        assert_eq!(next_state(0, 1), 2);
        assert_eq!(next_state(2, 2), 1);
        assert_eq!(next_state(3, 5), 1);
        assert_eq!(quantiser(0) + quantiser(1), 0);
        assert_eq!(quantiser(2) + quantiser(3), 2);
    }

    #[test]
    fn each_quantiser_s_two_states_lead_to_the_same_two() {
        // `Survivors::advance` relies on it: the odd magnitude from state 2q + 1 goes where the
        // even one from 2q does, and the other way round.
        for q in 0..2 {
            let [x, y] = TRANSITIONS[2 * q];
            assert_eq!(TRANSITIONS[2 * q + 1], [y, x]);
            assert_eq!([quantiser(2 * q), quantiser(2 * q + 1)], [q, q]);
        }
    }

    #[test]
    fn boundary_finds_the_threshold_from_any_start_and_walks_little_from_a_close_one() {
        for steps in [1usize, 2, 3, 10, 434] {
            for threshold in 0..steps {
                for start in [
                    None,
                    Some(0),
                    Some(threshold),
                    Some(threshold + 1),
                    Some(steps + 5),
                ]
                .into_iter()
                .chain((0..steps).step_by(7).map(Some))
                {
                    let mut probes = 0;
                    let found = boundary(steps, start, |j| {
                        probes += 1;
                        j >= threshold
                    });
                    assert_eq!(found, threshold, "{steps} steps, start {start:?}");
                    if let Some(s) = start.filter(|&s| s < steps) {
                        // Two probes per doubling of the distance, two more to close it.
                        let d = s.abs_diff(threshold) + 1;
                        let bound = 2 * (usize::BITS - d.leading_zeros()) as usize + 2;
                        assert!(probes <= bound, "{probes} probes for distance {d}");
                    }
                }
            }
        }
        // Not monotone: still a step that fits with one finer that does not.
        let fits = |j: usize| j == 3 || j >= 8;
        for start in [None, Some(2), Some(3), Some(5), Some(9)] {
            let found = boundary(12, start, fits);
            assert!(fits(found) && (found == 0 || !fits(found - 1)), "{found}");
        }
    }

    #[test]
    fn candidates_bracket_the_value() {
        // a = 7 steps of 10 (70): quantiser 0 levels 6 (m 3) and 8 (m 4); quantiser 1 levels
        // 7 (m 4) and 9 (m 5).
        assert_eq!(candidate(0, 70, 10, 1), 3);
        assert_eq!(candidate(0, 70, 10, 2), 4);
        assert_eq!(candidate(1, 70, 10, 1), 4);
        assert_eq!(candidate(1, 70, 10, 2), 5);
        assert_eq!(candidate(1, 5, 10, 1), 0);
        assert_eq!(candidate(1, 5, 10, 2), 1);
        assert_eq!(candidate(0, u32::MAX, 1, 2), u64::from(u32::MAX) / 2 + 1);
    }
}
