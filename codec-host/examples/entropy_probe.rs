//! Probe: would better probability tables buy bits?
//!
//! Encodes training vectors and queries at each budget with a model, reads back every
//! coefficient's symbol (its trellis quantiser, class and magnitude) and compares, per query,
//! the bits the code uses (up to its last non-zero byte) with the information content of its
//! coefficients under the model's own tables (the rest is the step index and the range coder's
//! termination) and with the cross-entropy of the same symbols under tables fitted on the
//! training codes: one table per class and quantiser, as the model has (how well the model's
//! tables fit), and one per coefficient and quantiser (whether finer tables would pay).
//!
//! ```sh
//! cargo run --release -p codec-host --example entropy_probe -- \
//!     MODEL DATA/train/train_feature DATA/query_feature [TRAIN_ROWS]
//! ```

use anyhow::{Context, Result, bail};
use codec_core::internals::{self, ModelInternals, StepGrid};
use codec_core::internals::{Class, Decoder, PROB_BITS, decode_step, decode_values};
use codec_core::{Model, encode};
use codec_host::codec::ModelFile;
use codec_host::io::{FeatureSet, ReadOptions, read_features};
use std::collections::HashMap;
use std::path::Path;

const BUDGETS: [usize; 5] = [16, 32, 64, 128, 256];

/// One coefficient's symbol in a code.
struct Symbol {
    coeff: usize,
    quantiser: usize,
    class: usize,
    magnitude: u64,
}

/// The symbols of `code`, coefficient by coefficient.
fn symbols(model: &Model<'_>, code: &[u8]) -> Result<Vec<Symbol>> {
    let mut dec = Decoder::new(code);
    let step = decode_step(&mut dec, model, model.step_prediction(code.len()))
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut magnitudes = Vec::with_capacity(model.coeffs());
    decode_values(
        &mut dec,
        model,
        step,
        |k| model.coef_spread_log(k),
        |_, m, _| magnitudes.push(m),
    )
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut state = internals::START;
    Ok(magnitudes
        .into_iter()
        .enumerate()
        .map(|(k, m)| {
            let quantiser = if model.trellis() {
                internals::quantiser(state)
            } else {
                0
            };
            state = internals::next_state(state, m);
            Symbol {
                coeff: k,
                quantiser,
                class: model.class_for(model.coef_spread_log(k), k, step),
                magnitude: m,
            }
        })
        .collect())
}

/// Bits of magnitude `m` (and its sign) under `class` as the coder spends them: the table
/// symbol's information content, then the escape, raw bits and sign.
fn model_bits(class: &Class<'_>, alphabet: usize, m: u64) -> f64 {
    let esc = alphabet as u64 - 1;
    let high = m >> class.raw_bits;
    let s = high.min(esc) as usize;
    let freq = class.cdf(s + 1).saturating_sub(class.cdf(s)).max(1);
    let mut bits = f64::from(PROB_BITS) - f64::from(freq).log2();
    if high >= esc {
        let w = high - esc + (1u64 << class.escape_order);
        let n = u64::from(64 - w.leading_zeros());
        bits += (2 * n - 1 - u64::from(class.escape_order)) as f64;
    }
    bits += f64::from(class.raw_bits);
    if m != 0 {
        bits += 1.0;
    }
    bits
}

/// Symbol counts per context.
#[derive(Default)]
struct Counts {
    symbol: HashMap<(usize, u64), f64>,
    context: HashMap<usize, f64>,
}

impl Counts {
    fn add(&mut self, context: usize, m: u64) {
        *self.symbol.entry((context, m)).or_default() += 1.0;
        *self.context.entry(context).or_default() += 1.0;
    }

    /// Bits of magnitude `m` (and its sign) in `context`: add-1/2 estimate over `alphabet`
    /// symbols, so an unseen magnitude costs bits rather than infinity.
    fn bits(&self, context: usize, m: u64, alphabet: f64) -> f64 {
        let n = self.symbol.get(&(context, m)).copied().unwrap_or(0.0);
        let total = self.context.get(&context).copied().unwrap_or(0.0);
        let sign = if m == 0 { 0.0 } else { 1.0 };
        -((n + 0.5) / (total + 0.5 * alphabet)).log2() + sign
    }
}

fn rows(set: &FeatureSet) -> impl Iterator<Item = &[f32]> {
    set.data.chunks_exact(set.dim)
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() < 3 {
        bail!("usage: entropy_probe MODEL TRAIN_FEATURES QUERY_FEATURES [TRAIN_ROWS]");
    }
    let file = ModelFile::read(Path::new(&args[0]))?;
    let model = file.model();
    let train_rows: usize = match args.get(3) {
        Some(n) => n.parse().context("TRAIN_ROWS")?,
        None => 5000,
    };
    let read = ReadOptions {
        dim: Some(model.dim()),
        strict: true,
        prefer_dim: None,
    };
    let train = read_features(Path::new(&args[1]), &read)?.set;
    let query = read_features(Path::new(&args[2]), &read)?.set;
    let stride = (train.len() / train_rows.max(1)).max(1);
    // Magnitudes seen per context are few; 64 bounds the smoothing's alphabet.
    let alphabet = 64.0;
    println!(
        "budget | bits used | coefficients under the model's tables | per-class tables fitted \
         on training codes | per-coefficient tables"
    );
    for budget in BUDGETS.into_iter().filter(|&b| b >= file.min_budget()) {
        let mut code = vec![0u8; budget];
        let (mut per_class, mut per_coeff) = (Counts::default(), Counts::default());
        for x in rows(&train).step_by(stride).take(train_rows) {
            let len = encode(&model, x, budget, &mut code).map_err(|e| anyhow::anyhow!("{e}"))?;
            for s in symbols(&model, &code[..len])? {
                per_class.add(2 * s.class + s.quantiser, s.magnitude);
                per_coeff.add(2 * s.coeff + s.quantiser, s.magnitude);
            }
        }
        let (mut used, mut own_bits, mut class_bits, mut coeff_bits) = (0.0, 0.0, 0.0, 0.0);
        for x in rows(&query) {
            let len = encode(&model, x, budget, &mut code).map_err(|e| anyhow::anyhow!("{e}"))?;
            // Padding (length-conditioned models) carries no information.
            let end = code[..len]
                .iter()
                .rposition(|&b| b != 0)
                .map_or(0, |i| i + 1);
            used += 8.0 * end as f64;
            for s in symbols(&model, &code[..len])? {
                let table = model.table(s.class, s.quantiser);
                own_bits += model_bits(&table, model.alphabet(), s.magnitude);
                class_bits += per_class.bits(2 * s.class + s.quantiser, s.magnitude, alphabet);
                coeff_bits += per_coeff.bits(2 * s.coeff + s.quantiser, s.magnitude, alphabet);
            }
        }
        let n = query.len().max(1) as f64;
        println!(
            "{budget} B | {:.1} | {:.1} | {:.1} | {:.1}",
            used / n,
            own_bits / n,
            class_bits / n,
            coeff_bits / n
        );
    }
    Ok(())
}
