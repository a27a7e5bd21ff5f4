//! Class tables for trellis-coded quantisation, learned by running the trellis on the pool.
//!
//! Under the trellis a value's magnitude depends on its neighbours' (through the state), so
//! there is no closed form for its distribution. For one class (one ratio of spread to step)
//! the pool's standardised values, taken as one long sequence of coefficients of that class,
//! are quantised by the same Viterbi search the encoder runs (`codec_core::trellis`: the same
//! two grids, candidates and cost `error^2 + lambda * bits`), with bit costs from the previous
//! round's tables; the magnitudes each quantiser produced become its table. A few rounds
//! settle the tables and the decisions together.

use super::tables::{
    ALPHABET, ClassTable, Escapes, MAX_TRELLIS_LAMBDA, TableParams, raw_bits_for, recon_q15,
    symbol_bits, to_cdf,
};
use codec_core::internals::{level, next_state};

/// Values of the pool simulated per class: plenty for 24-symbol tables, and quick.
const SAMPLES: usize = 60_000;
/// Rounds of (decide, then re-estimate the tables).
const ROUNDS: usize = 3;

/// One quantiser's table, and what it says about the cost of a magnitude.
struct Rates {
    cdf: Vec<u16>,
    /// Bits of each table symbol.
    symbol_bits: Vec<f64>,
    raw: u32,
    escape_order: u32,
    /// Reconstruction offsets (in steps) of magnitudes `1..ALPHABET`.
    offsets: Vec<f64>,
}

impl Rates {
    fn bits(&self, m: u64) -> f64 {
        let esc = (ALPHABET - 1) as u64;
        let high = m >> self.raw;
        let s = high.min(esc) as usize;
        let mut b = self.symbol_bits[s] + f64::from(self.raw);
        if high >= esc {
            let w = (high - esc) + (1u64 << self.escape_order);
            let n = f64::from(64 - w.leading_zeros());
            b += 2.0 * n - 1.0 - f64::from(self.escape_order);
        }
        if m > 0 {
            b += 1.0;
        }
        b
    }

    /// Where quantiser `q`'s magnitude `m` is put back, in steps.
    fn value(&self, q: usize, m: u64) -> f64 {
        if m == 0 {
            return 0.0;
        }
        level(q, m) as f64 - self.offsets[(m as usize - 1).min(ALPHABET - 2)]
    }
}

/// Candidate magnitudes for `t` (in steps) under quantiser `q`: zero and the levels on either
/// side.
fn candidates(q: usize, t: f64) -> [u64; 3] {
    let below = if q == 0 {
        (t / 2.0).floor()
    } else {
        ((t + 1.0) / 2.0).floor()
    } as u64;
    [0, below, below + 1]
}

/// Values per simulated run of coefficients: each run starts in its own state.
const SEGMENT: usize = 16;

/// Magnitude and quantiser of every value on the cheapest trellis path, the values taken in
/// runs of [`SEGMENT`] that start in states 0, 1, 2, 3 in turn. In a real vector the state a
/// coefficient meets is set by the coefficients before it, mostly of other classes: after
/// one odd magnitude, even a run of zeros keeps alternating between the two quantisers. One
/// long run of a low-rate class alone would stay in state 0 and never show quantiser 1 at
/// work, leaving its table untrained although real codes use it for half their zeros.
fn decide(ts: &[f64], rates: &[Rates; 2], lambda: f64) -> Vec<(usize, u64)> {
    ts.chunks(SEGMENT)
        .enumerate()
        .flat_map(|(i, run)| decide_run(run, rates, lambda, i % 4))
        .collect()
}

fn decide_run(ts: &[f64], rates: &[Rates; 2], lambda: f64, start: usize) -> Vec<(usize, u64)> {
    let mut cost = [f64::INFINITY; 4];
    cost[start] = 0.0;
    let mut back: Vec<[(u8, u64); 4]> = Vec::with_capacity(ts.len());
    for &t in ts {
        let mut next = [f64::INFINITY; 4];
        let mut from = [(0u8, 0u64); 4];
        for (state, &so_far) in cost.iter().enumerate() {
            if !so_far.is_finite() {
                continue;
            }
            let q = state >> 1;
            for m in candidates(q, t) {
                let r = rates[q].value(q, m);
                let total = so_far + (t - r) * (t - r) + lambda * rates[q].bits(m);
                let to = next_state(state, m);
                if total < next[to] {
                    next[to] = total;
                    from[to] = (state as u8, m);
                }
            }
        }
        cost = next;
        back.push(from);
    }
    let mut state = (0..4)
        .min_by(|&a, &b| cost[a].total_cmp(&cost[b]))
        .unwrap_or(0);
    let mut out = vec![(0usize, 0u64); ts.len()];
    for (i, from) in back.iter().enumerate().rev() {
        let (prev, m) = from[state];
        out[i] = (usize::from(prev) >> 1, m);
        state = usize::from(prev);
    }
    out
}

/// Per quantiser: symbol counts, escape statistics and centroid sums of the decisions.
struct Counts {
    symbols: Vec<f64>,
    escapes: Escapes,
    /// Sum of (level - value) and count per magnitude bucket `1..ALPHABET`.
    offset_sum: Vec<f64>,
    offset_n: Vec<f64>,
}

fn count(ts: &[f64], decisions: &[(usize, u64)], q: usize, raw: u32) -> Counts {
    let esc = (ALPHABET - 1) as u64;
    let mut c = Counts {
        symbols: vec![0.0; ALPHABET],
        escapes: Escapes::default(),
        offset_sum: vec![0.0; ALPHABET - 1],
        offset_n: vec![0.0; ALPHABET - 1],
    };
    for (&t, &(dq, m)) in ts.iter().zip(decisions) {
        if dq != q {
            continue;
        }
        let high = m >> raw;
        c.symbols[high.min(esc) as usize] += 1.0;
        if high >= esc {
            c.escapes.add(high - esc);
        }
        if m > 0 {
            let i = (m as usize - 1).min(ALPHABET - 2);
            c.offset_sum[i] += level(q, m) as f64 - t;
            c.offset_n[i] += 1.0;
        }
    }
    c
}

fn rates_from(c: &Counts, raw: u32, centroid_weight: f64) -> Rates {
    let cdf = to_cdf(&c.symbols);
    let offsets = c
        .offset_sum
        .iter()
        .zip(&c.offset_n)
        .map(|(&s, &n)| {
            // The middle of a trellis cell is its level (offset 0); the centroid is the mean
            // offset of the values that landed there.
            let centroid = if n > 0.0 { s / n } else { 0.0 };
            (centroid_weight * centroid).clamp(-0.999, 0.999)
        })
        .collect();
    Rates {
        symbol_bits: symbol_bits(&cdf),
        cdf,
        raw,
        escape_order: c.escapes.order(),
        offsets,
    }
}

/// The tables of quantiser 0 and quantiser 1 for the class of spread/step `ratio`.
pub fn build_pair(pool: &[f64], ratio: f64, params: &TableParams) -> [ClassTable; 2] {
    let stride = (pool.len() / SAMPLES).max(1);
    let ts: Vec<f64> = pool.iter().step_by(stride).map(|u| u * ratio).collect();
    // Each quantiser's step is twice the trellis step.
    let raw = raw_bits_for(ratio / 2.0);
    // The model stores the slope in Q16, at most 1/2: decide with exactly what the encoder
    // will use.
    let slope_q16 = (params.trellis_slope(ratio).clamp(0.0, MAX_TRELLIS_LAMBDA) * 65536.0).round();
    let lambda = slope_q16 / 65536.0;
    // Start from plain rounding to each grid.
    let mut decisions: Vec<(usize, u64)> = ts
        .iter()
        .enumerate()
        .map(|(i, &t)| {
            let q = i & 1;
            let m = if q == 0 {
                (t / 2.0).round()
            } else {
                ((t + 1.0) / 2.0).round()
            };
            (q, m as u64)
        })
        .collect();
    let learn = |decisions: &[(usize, u64)]| {
        [0, 1].map(|q| rates_from(&count(&ts, decisions, q, raw), raw, params.centroid_weight))
    };
    let mut rates = learn(&decisions);
    for _ in 0..ROUNDS {
        decisions = decide(&ts, &rates, lambda);
        rates = learn(&decisions);
    }
    let n = ts.len().max(1) as f64;
    let mut distortion = 0.0;
    let mut bits = 0.0;
    for (&t, &(q, m)) in ts.iter().zip(&decisions) {
        let r = rates[q].value(q, m);
        distortion += (t - r) * (t - r);
        bits += rates[q].bits(m);
    }
    rates.map(|r| ClassTable {
        recon: recon_q15(&r.offsets),
        cdf: r.cdf,
        rounding: slope_q16 as u16,
        escape_order: r.escape_order as u8,
        raw_bits: raw as u8,
        bits: bits / n,
        distortion: distortion / n / (ratio * ratio),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::train::tables::gaussian_pool;
    use codec_core::internals::{Class, PROB_BITS, cost_q8};

    #[test]
    fn training_prices_magnitudes_as_the_coder_does() {
        // Training's f64 bit costs and the core's Q8 estimate (which the encoder's trellis
        // search uses) must describe the same code: the estimate takes log2 with a linear
        // mantissa, so it may overstate a table symbol by up to 0.09 bit, never understate it.
        // A change to how the coder sends escapes, raw bits or signs breaks this.
        let pool = gaussian_pool(50_000, 3);
        let params = TableParams::default();
        for ratio in [0.25, 1.0, 4.0, 16.0, 64.0, 1024.0] {
            for t in build_pair(&pool, ratio, &params) {
                let cdf: Vec<u8> = t.cdf.iter().flat_map(|v| v.to_le_bytes()).collect();
                let recon: Vec<u8> = t.recon.iter().flat_map(|v| v.to_le_bytes()).collect();
                let class = Class::from_table(
                    &cdf,
                    &recon,
                    u32::from(t.rounding),
                    u32::from(t.escape_order),
                    u32::from(t.raw_bits),
                );
                let rates = Rates {
                    symbol_bits: symbol_bits(&t.cdf),
                    cdf: t.cdf.clone(),
                    raw: u32::from(t.raw_bits),
                    escape_order: u32::from(t.escape_order),
                    offsets: Vec::new(),
                };
                for m in (0..300u64).chain([1000, 65_535, 1 << 20, 1 << 30]) {
                    let core = cost_q8(&class, ALPHABET, m) as f64 / 256.0;
                    let ours = rates.bits(m);
                    assert!(
                        core >= ours - 1e-9 && core - ours < 0.09,
                        "ratio {ratio}, m {m}: core {core} bits, training {ours}"
                    );
                }
            }
        }
    }

    #[test]
    fn trellis_beats_the_dead_zone_quantiser_at_the_same_rate() {
        // At a medium rate the trellis reaches a lower error for fewer bits than the best
        // one-quantiser table of a nearby step: compare by D + lambda R at the slope.
        let pool = gaussian_pool(200_000, 5);
        let params = TableParams::default();
        let [t, _] = build_pair(&pool, 8.0, &params);
        let scalar = super::super::tables::build_class(&pool, 4.0, &params);
        // Trellis step 1/8 sigma vs scalar step 1/4 sigma: similar rates.
        assert!(
            (t.bits - scalar.bits).abs() < 0.6,
            "{} vs {}",
            t.bits,
            scalar.bits
        );
        // At high rate each bit divides the error by 4.
        let slope = 2.0 * std::f64::consts::LN_2;
        let adjusted = t.distortion.ln() + slope * (t.bits - scalar.bits);
        assert!(
            adjusted < scalar.distortion.ln() - 0.1,
            "trellis {} bits D {}, scalar {} bits D {}",
            t.bits,
            t.distortion,
            scalar.bits,
            scalar.distortion
        );
    }

    #[test]
    fn tables_are_valid_and_low_rate_is_mostly_zero() {
        let pool = gaussian_pool(50_000, 5);
        let [q0, q1] = build_pair(&pool, 0.25, &TableParams::default());
        for t in [&q0, &q1] {
            assert_eq!(t.cdf.len(), ALPHABET + 1);
            assert!(t.cdf.windows(2).all(|w| w[1] > w[0]));
        }
        // Zero is by far the likeliest symbol of quantiser 0 at a quarter-sigma step ratio.
        assert!(
            u32::from(q0.cdf[1]) > 3 * (1u32 << PROB_BITS) / 4,
            "{:?}",
            &q0.cdf[..3]
        );
        assert!(q0.bits < 1.0, "{}", q0.bits);
    }
}
