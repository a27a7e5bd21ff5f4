use super::*;
use crate::codec::{CodeKind, encode_all, round_trip};
use crate::search::{Metric, search};
use crate::synth::{Kind, SynthConfig, write_dataset};
use crate::train::{TrainConfig, train};
use proptest::prelude::*;

/// A kind-A query and gallery, a model trained beside them, and the gallery coded at `budget`.
fn fixture(budget: usize) -> (FeatureSet, FeatureSet, ModelFile, CodeArray) {
    let dir = tempfile::tempdir().unwrap();
    let cfg = SynthConfig {
        train_identities: 60,
        train: 1200,
        test_identities: 30,
        queries: 60,
        gallery: 600,
        ..SynthConfig::default_sizes(Kind::A, 256, 7)
    };
    write_dataset(dir.path(), &cfg).unwrap();
    let read = |p: &str| {
        crate::io::read_features(&dir.path().join(p), &crate::io::ReadOptions::default())
            .unwrap()
            .set
    };
    let (tr, q, g) = (
        read("train/train_feature"),
        read("query_feature"),
        read("gallery_feature"),
    );
    let model =
        ModelFile::from_bytes(train(&tr, None, &TrainConfig::default()).unwrap().model).unwrap();
    let codes = encode_all(&model.model(), &g, CodeKind::Budget(budget));
    let mut rows = vec![0u8; g.len() * budget];
    for (c, row) in codes.into_iter().zip(rows.chunks_exact_mut(budget)) {
        let c = c.unwrap();
        row[..c.len()].copy_from_slice(&c);
    }
    let array = CodeArray {
        names: g.names.clone(),
        row_len: budget,
        rows,
        identity: None,
    };
    (q, g, model, array)
}

#[test]
fn the_index_ranks_like_exact_search_on_the_reconstructions() {
    let budget = 32;
    let (q, g, model, codes) = fixture(budget);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("g.nfci");
    let stats = build(&model, &codes, Path::new("g.nfcc"), &path).unwrap();
    assert_eq!(stats.rows, g.len());
    assert!(
        stats.dims % LANES == 0 && stats.dims <= model.model().coeffs().next_multiple_of(LANES)
    );
    let index = Index::open(&path).unwrap();
    assert_eq!(index.names(), &g.names[..]);
    assert_eq!(index.fingerprint_hex(), model.fingerprint());
    let (rg, ..) = round_trip(&model, &g, budget).unwrap();
    let (rq, ..) = round_trip(&model, &q, budget).unwrap();
    for coded in [None, Some(budget)] {
        let fast = index.search(&model, &q, coded, 10).unwrap();
        let queries = if coded.is_some() { &rq } else { &q };
        let slow = search(queries, &rg, 10, Metric::Cosine).unwrap();
        let overlap: usize = (0..q.len())
            .map(|i| {
                fast.rows(i)
                    .iter()
                    .filter(|r| slow.rows(i).contains(r))
                    .count()
            })
            .sum();
        // int8 values swap near-ties only.
        assert!(
            overlap * 100 >= q.len() * 10 * 95,
            "{coded:?}: overlap {overlap}"
        );
        let same_first = (0..q.len())
            .filter(|&i| fast.rows(i)[0] == slow.rows(i)[0])
            .count();
        assert!(
            same_first * 100 >= q.len() * 95,
            "{coded:?}: {same_first} top-1 agree"
        );
    }
}

#[test]
fn the_row_dot_product_agrees_with_a_plain_sum() {
    let dims = 96;
    let q: Vec<i16> = (0..dims).map(|i| ((i * 7919) % 65535) as i16).collect();
    let row: Vec<i8> = (0..dims).map(|i| ((i * 31) % 255) as i8).collect();
    let want: i32 = q
        .iter()
        .zip(&row)
        .map(|(&a, &b)| i32::from(a) * i32::from(b))
        .sum();
    assert_eq!(dot_row(&q, &row), want);
    assert_eq!(dot(&q, &row), want);
}

/// A random first-pass problem: `rows x dims` int8 values, their scales and inverse norms,
/// `queries x depth` int8 queries and their biases. Few distinct values, so ties are common.
#[derive(Debug, Clone)]
struct Pass {
    rows: usize,
    dims: usize,
    depth: usize,
    values: Vec<i8>,
    scale: Vec<f32>,
    inv_norm: Vec<f32>,
    queries: Vec<i8>,
    bias: Vec<f32>,
    shortlist: usize,
}

fn pass_strategy() -> impl Strategy<Value = Pass> {
    (
        1usize..2300,
        1usize..20,
        prop_oneof![Just(4usize), Just(32), Just(64)],
        1usize..60,
        any::<u64>(),
        1u8..=127,
    )
        .prop_map(|(rows, nq, depth, shortlist, seed, span)| {
            let mut rng = crate::rng::Rng::new(seed);
            let mut int = |span: u8| {
                let s = i32::from(span);
                ((rng.uniform() * f64::from(2 * s + 1)) as i32 - s).clamp(-s, s) as i8
            };
            let dims = depth + 32;
            let values = (0..rows * dims).map(|_| int(span)).collect();
            let queries = (0..nq * depth).map(|_| int(127)).collect();
            let mut rng = crate::rng::Rng::new(seed ^ 1);
            // Coarse scales and norms (multiples of 1/8) make equal keys likely.
            let mut coarse = |n: usize| -> Vec<f32> {
                (0..n)
                    .map(|_| ((rng.uniform() * 8.0).floor() / 8.0 + 0.125) as f32)
                    .collect()
            };
            let scale = coarse(rows);
            let inv_norm = coarse(rows);
            let bias = coarse(nq).iter().map(|b| (b - 0.5) * 300.0).collect();
            Pass {
                rows,
                dims,
                depth,
                values,
                scale,
                inv_norm,
                queries,
                bias,
                shortlist,
            }
        })
}

/// Each query's shortlist from `scan` with `kernel`, as `(key bits, row)` best first.
fn shortlists(p: &Pass, kernel: scan::Kernel) -> Vec<Vec<(u32, u32)>> {
    let packed = scan::Packed::new(&p.values, p.dims, p.depth, &p.scale, &p.inv_norm);
    let groups: Vec<scan::Group> = p
        .queries
        .chunks(scan::GROUP * p.depth)
        .zip(p.bias.chunks(scan::GROUP))
        .map(|(q, b)| scan::Group::new(q, b, p.depth))
        .collect();
    let mut tops: Vec<scan::Shortlist> = p
        .bias
        .iter()
        .map(|_| scan::Shortlist::new(p.shortlist))
        .collect();
    scan::scan(kernel, &packed, &groups, &mut tops);
    tops.into_iter()
        .map(|t| {
            t.into_sorted()
                .into_iter()
                .map(|(k, r)| (k.to_bits(), r))
                .collect()
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// The first pass keeps, for every query, exactly the best rows of a brute-force sort of
    /// the same int8 keys (larger key first, then lower row); the SIMD kernel and the portable
    /// one give bit-identical keys.
    #[test]
    fn the_first_pass_keeps_the_brute_force_best(p in pass_strategy()) {
        let portable = shortlists(&p, scan::Kernel::Portable);
        for (j, got) in portable.iter().enumerate() {
            let q = &p.queries[j * p.depth..(j + 1) * p.depth];
            let mut all: Vec<(f32, u32)> = (0..p.rows)
                .map(|r| {
                    let row = &p.values[r * p.dims..r * p.dims + p.depth];
                    let d: i32 = q.iter().zip(row).map(|(&a, &b)| i32::from(a) * i32::from(b)).sum();
                    (p.scale[r] * d as f32 + p.bias[j] * p.inv_norm[r], r as u32)
                })
                .collect();
            all.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
            let want: Vec<(u32, u32)> =
                all.iter().take(p.shortlist).map(|&(k, r)| (k.to_bits(), r)).collect();
            prop_assert_eq!(got, &want, "query {}", j);
        }
        let fastest = scan::Kernel::detect();
        if fastest != scan::Kernel::Portable {
            prop_assert_eq!(shortlists(&p, fastest), portable);
        }
    }
}

#[test]
fn a_shortlist_of_the_whole_gallery_is_a_full_int8_search() {
    let budget = 32;
    let (q, _, model, codes) = fixture(budget);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("g.nfci");
    build(&model, &codes, Path::new("g.nfcc"), &path).unwrap();
    let index = Index::open(&path).unwrap();
    let (dims, rows) = (index.dims(), index.len());
    let depth = scan::PREFIX.min(dims);
    let queries = prepare_queries(&model, &q, None, dims, depth).unwrap();
    let (scales, inv) = (
        index.f32s(index.layout.scales()),
        index.f32s(index.layout.inv_norms()),
    );
    let values = index.values();
    let k = 10;
    for kernel in [scan::Kernel::Portable, scan::Kernel::detect()] {
        let fast = index
            .search_with(&model, &q, None, k, rows, kernel)
            .unwrap();
        let short = index.search_with(&model, &q, None, k, 40, kernel).unwrap();
        let mut same = 0;
        for i in 0..q.len() {
            let qi = &queries.full[i * dims..(i + 1) * dims];
            let mut all: Vec<(f32, u32)> = (0..rows)
                .map(|r| {
                    let d: i32 = qi
                        .iter()
                        .zip(&values[r * dims..(r + 1) * dims])
                        .map(|(&a, &b)| i32::from(a) * i32::from(b))
                        .sum();
                    (
                        scales[r] * d as f32 + queries.full_bias[i] * inv[r],
                        r as u32,
                    )
                })
                .collect();
            all.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
            let want: Vec<u32> = all[..k].iter().map(|e| e.1).collect();
            assert_eq!(fast.rows(i), &want[..], "query {i}");
            same += usize::from(short.rows(i) == &want[..]);
        }
        // A 40-row shortlist from the leading values loses little of the top 10.
        assert!(
            same * 10 >= q.len() * 9,
            "{kernel:?}: {same} of {} equal",
            q.len()
        );
    }
}

#[test]
fn a_damaged_or_truncated_index_is_refused_by_name() {
    let (_, _, model, codes) = fixture(16);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("g.nfci");
    build(&model, &codes, Path::new("g.nfcc"), &path).unwrap();
    let good = std::fs::read(&path).unwrap();
    for at in [3, 40, 100, good.len() - 1] {
        let mut bad = good.clone();
        bad[at] ^= 4;
        std::fs::write(&path, &bad).unwrap();
        let e = Index::open(&path)
            .err()
            .expect("damaged index accepted")
            .to_string();
        assert!(e.contains("g.nfci"), "{e}");
    }
    std::fs::write(&path, &good[..good.len() - 10]).unwrap();
    assert!(
        Index::open(&path)
            .err()
            .unwrap()
            .to_string()
            .contains("g.nfci")
    );
}
