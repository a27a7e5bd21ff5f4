//! Search against a brute-force f64 reference, plus the exactness promises: ties, zero
//! vectors, dimension compaction, independence from block sizes and thread count.

use super::*;
use crate::rng::Rng;

fn set(rows: usize, dim: usize, mut value: impl FnMut(usize, usize) -> f32) -> FeatureSet {
    FeatureSet {
        names: (0..rows).map(|i| format!("{i:05}")).collect(),
        dim,
        data: (0..rows * dim).map(|i| value(i / dim, i % dim)).collect(),
    }
}

fn random(rows: usize, dim: usize, seed: u64) -> FeatureSet {
    let mut rng = Rng::new(seed);
    set(rows, dim, |_, _| rng.normal() as f32)
}

/// `s` with a zero dimension inserted after every `every` dimensions.
fn with_zero_dims(s: &FeatureSet, every: usize) -> FeatureSet {
    let dim = s.dim + s.dim / every;
    set(s.len(), dim, |r, c| {
        if c % (every + 1) == every {
            0.0
        } else {
            s.row(r)[c - c / (every + 1)]
        }
    })
}

/// Scores in f64 over all dimensions, sorted best first, ties by gallery order.
fn reference(q: &[f32], gallery: &FeatureSet, metric: Metric) -> Vec<(u32, f64)> {
    let dot = |a: &[f32], b: &[f32]| -> f64 {
        a.iter()
            .zip(b)
            .map(|(&x, &y)| f64::from(x) * f64::from(y))
            .sum()
    };
    let mut all: Vec<(u32, f64)> = gallery
        .rows()
        .enumerate()
        .map(|(i, g)| {
            let s = match metric {
                Metric::Cosine => {
                    let n = (dot(q, q) * dot(g, g)).sqrt();
                    if n > 0.0 { dot(q, g) / n } else { 0.0 }
                }
                Metric::Euclidean => dot(q, q) + dot(g, g) - 2.0 * dot(q, g),
                Metric::InnerProduct => dot(q, g),
            };
            (i as u32, s)
        })
        .collect();
    match metric {
        Metric::Cosine | Metric::InnerProduct => {
            all.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)))
        }
        Metric::Euclidean => all.sort_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0))),
    }
    all
}

/// `got` must be a best-`k` list of the reference: position by position, the score of the row
/// we returned matches the reference's score at that position (f32 rounding aside, which may
/// legitimately swap near-ties), the rows are distinct, and the returned scores are right.
fn assert_matches_reference(query: &FeatureSet, gallery: &FeatureSet, r: &Ranking, m: Metric) {
    assert_eq!(r.len(), query.len());
    for q in 0..query.len() {
        let want = reference(query.row(q), gallery, m);
        let by_row: Vec<f64> = {
            let mut v = vec![0.0; gallery.len()];
            want.iter().for_each(|&(i, s)| v[i as usize] = s);
            v
        };
        let scale = match m {
            Metric::Cosine => 1.0,
            Metric::Euclidean | Metric::InnerProduct => {
                want.iter().fold(1.0f64, |m, w| m.max(w.1.abs()))
            }
        };
        let mut seen = std::collections::HashSet::new();
        for (p, (&row, &score)) in r.rows(q).iter().zip(r.scores(q)).enumerate() {
            assert!(seen.insert(row), "query {q}: row {row} twice");
            let tol = 1e-4 * scale;
            let (exact, at_p) = (by_row[row as usize], want[p].1);
            assert!(
                (exact - at_p).abs() <= tol,
                "q {q} pos {p}: {exact} vs {at_p}"
            );
            assert!(
                (f64::from(score) - exact).abs() <= tol,
                "q {q} pos {p} score"
            );
        }
    }
}

fn opts(gallery_block: usize, query_block: usize) -> SearchOptions {
    SearchOptions {
        gallery_block,
        query_block,
        ..SearchOptions::default()
    }
}

#[test]
fn matches_brute_force_for_block_sizes_k_and_metrics() {
    let query = random(37, 24, 1);
    let gallery = random(301, 24, 2);
    for metric in [Metric::Cosine, Metric::Euclidean, Metric::InnerProduct] {
        for (gb, qb) in [(1, 1), (7, 3), (64, 512), (300, 16), (4096, 5)] {
            for k in [1, 10, 100, 301] {
                let r = search_with(&query, &gallery, k, metric, &opts(gb, qb)).unwrap();
                assert_eq!(r.k(), k);
                assert_matches_reference(&query, &gallery, &r, metric);
            }
        }
    }
}

#[test]
fn results_are_bitwise_identical_across_block_sizes_and_threads() {
    // Duplicated gallery rows make exact ties; they land in different blocks for most sizes.
    let base = random(150, 40, 3);
    let mut gallery = base.clone();
    for i in [0, 3, 77, 149, 20] {
        gallery.names.push(format!("dup{i}"));
        gallery.data.extend_from_slice(base.row(i));
    }
    let mut query = random(30, 40, 4);
    query.data[..40].copy_from_slice(base.row(77));
    for metric in [Metric::Cosine, Metric::Euclidean] {
        let first = search_with(&query, &gallery, 50, metric, &opts(1, 1)).unwrap();
        for (gb, qb) in [(2, 3), (16, 16), (17, 1), (64, 7), (155, 512), (8192, 2)] {
            for threads in [1, 2, 3] {
                let pool = rayon::ThreadPoolBuilder::new()
                    .num_threads(threads)
                    .build()
                    .unwrap();
                let r = pool
                    .install(|| search_with(&query, &gallery, 50, metric, &opts(gb, qb)))
                    .unwrap();
                assert_eq!(r, first, "{metric:?} gb {gb} qb {qb} threads {threads}");
            }
        }
    }
}

#[test]
fn exact_ties_come_out_in_gallery_order() {
    // Rows 1, 4 and 6 equal the query; rows 0 and 5 are copies scaled by powers of two, which
    // normalise to the very same f32 vector, so all five tie at cosine 1.
    let q = [1.0, 2.0, 0.0, -1.0];
    let other = [0.0, 1.0, 1.0, 0.0];
    let rows: Vec<[f32; 4]> = vec![
        [2.0, 4.0, 0.0, -2.0],
        q,
        other,
        other,
        q,
        [4.0, 8.0, 0.0, -4.0],
        q,
    ];
    let gallery = set(rows.len(), 4, |r, c| rows[r][c]);
    let query = set(1, 4, |_, c| q[c]);
    let cos = search(&query, &gallery, 7, Metric::Cosine).unwrap();
    assert_eq!(&cos.rows(0)[..5], &[0, 1, 4, 5, 6]);
    assert_eq!(&cos.rows(0)[5..], &[2, 3]);
    let euc = search(&query, &gallery, 3, Metric::Euclidean).unwrap();
    assert_eq!(euc.rows(0), &[1, 4, 6]);
    assert_eq!(euc.scores(0), &[0.0, 0.0, 0.0]);
}

#[test]
fn zero_vectors_have_cosine_similarity_zero() {
    let gallery = set(4, 3, |r, c| {
        [[0.0; 3], [1.0, 0.0, 0.0], [-1.0, 0.0, 0.0], [0.0; 3]][r][c]
    });
    let zero_query = set(1, 3, |_, _| 0.0);
    let r = search(&zero_query, &gallery, 4, Metric::Cosine).unwrap();
    assert_eq!(r.rows(0), &[0, 1, 2, 3]);
    assert_eq!(r.scores(0), &[0.0; 4]);
    let query = set(1, 3, |_, c| [-2.0, 0.0, 0.0][c]);
    let r = search(&query, &gallery, 4, Metric::Cosine).unwrap();
    assert_eq!(r.rows(0), &[2, 0, 3, 1]);
    assert_eq!(r.scores(0), &[1.0, 0.0, 0.0, -1.0]);
}

#[test]
fn dropping_zero_dimensions_changes_nothing() {
    let query = random(20, 30, 5);
    let gallery = random(200, 30, 6);
    let (zq, zg) = (with_zero_dims(&query, 3), with_zero_dims(&gallery, 3));
    assert_eq!(zq.dim, 40);
    for metric in [Metric::Cosine, Metric::Euclidean] {
        let plain = search(&query, &gallery, 25, metric).unwrap();
        let padded = search(&zq, &zg, 25, metric).unwrap();
        assert_eq!(padded.dims_used(), 30);
        assert_eq!(plain, padded, "{metric:?}");
    }
}

#[test]
fn dimensions_zero_on_one_side_still_count_in_euclidean_norms() {
    // Dim 0 is zero in the whole gallery, dim 2 in every query: both are dropped from the
    // products, yet each distance is the full ||q||² + ||g||² − 2q·g.
    let query = set(2, 3, |r, c| [[5.0, 1.0, 0.0], [-1.0, 2.0, 0.0]][r][c]);
    let gallery = set(3, 3, |r, c| {
        [[0.0, 1.0, 2.0], [0.0, 3.0, 0.0], [0.0, 0.0, 1.0]][r][c]
    });
    let r = search(&query, &gallery, 3, Metric::Euclidean).unwrap();
    assert_eq!(r.dims_used(), 1);
    // q0 against g0, g1, g2: (25 + 1) + {5, 9, 1} − 2·{1, 3, 0} = {29, 29, 27}; g0 and g1 tie.
    assert_eq!(r.rows(0), &[2, 0, 1]);
    assert_eq!(r.scores(0), &[27.0, 29.0, 29.0]);
    assert_matches_reference(&query, &gallery, &r, Metric::Euclidean);
}

#[test]
fn k_beyond_the_gallery_returns_everything_and_k_zero_nothing() {
    let query = random(3, 8, 7);
    let gallery = random(5, 8, 8);
    let r = search(&query, &gallery, 100, Metric::Cosine).unwrap();
    assert_eq!((r.k(), r.len()), (5, 3));
    let mut all = r.rows(1).to_vec();
    all.sort();
    assert_eq!(all, vec![0, 1, 2, 3, 4]);
    let r = search(&query, &gallery, 0, Metric::Cosine).unwrap();
    assert_eq!((r.k(), r.len(), r.iter().len()), (0, 3, 3));
    assert!(r.rows(2).is_empty());
}

#[test]
fn nan_scores_rank_last() {
    let gallery = set(3, 2, |r, c| [[f32::NAN, 1.0], [1.0, 0.0], [0.0, 1.0]][r][c]);
    let query = set(1, 2, |_, _| 1.0);
    for metric in [Metric::Cosine, Metric::Euclidean] {
        let r = search(&query, &gallery, 3, metric).unwrap();
        assert_eq!(r.rows(0), &[1, 2, 0], "{metric:?}");
    }
}

#[test]
fn mismatched_inputs_are_errors() {
    let e = search(&random(2, 4, 1), &random(2, 5, 2), 1, Metric::Cosine).unwrap_err();
    assert!(e.to_string().contains("4 dimensions"), "{e}");
    let mut broken = random(2, 4, 1);
    broken.data.pop();
    assert!(search(&broken, &random(2, 4, 2), 1, Metric::Cosine).is_err());
}

#[test]
fn empty_sides() {
    let empty = FeatureSet::default();
    let r = search(&empty, &random(4, 3, 1), 2, Metric::Cosine).unwrap();
    assert_eq!(r.len(), 0);
    let r = search(&random(4, 3, 1), &empty, 2, Metric::Euclidean).unwrap();
    assert_eq!((r.k(), r.len()), (0, 4));
}

#[test]
fn streaming_in_parts_equals_one_pass() {
    let query = random(23, 16, 5);
    let gallery = random(250, 16, 6);
    for metric in [Metric::Cosine, Metric::Euclidean, Metric::InnerProduct] {
        let whole = search_with(&query, &gallery, 20, metric, &opts(64, 8)).unwrap();
        let mut s = StreamingSearch::new(&query, 20, metric, &opts(64, 8)).unwrap();
        for (a, b) in [(0, 7), (7, 130), (130, 250)] {
            let part = FeatureSet {
                names: gallery.names[a..b].to_vec(),
                dim: gallery.dim,
                data: gallery.data[a * gallery.dim..b * gallery.dim].to_vec(),
            };
            s.add(&part).unwrap();
        }
        let streamed = s.finish();
        for q in 0..query.len() {
            assert_eq!(streamed.rows(q), whole.rows(q), "{metric:?} query {q}");
        }
    }
}

#[test]
fn rows_read_in_place_rank_as_a_feature_set_and_wrong_lengths_fail() {
    let query = random(9, 16, 7);
    let gallery = random(100, 16, 8);
    let whole = search_with(&query, &gallery, 10, Metric::Cosine, &opts(32, 4)).unwrap();
    let mut s = StreamingSearch::new(&query, 10, Metric::Cosine, &opts(32, 4)).unwrap();
    s.add_rows(&gallery.data[..40 * 16], 40).unwrap();
    s.add_rows(&gallery.data[40 * 16..], 60).unwrap();
    let streamed = s.finish();
    for q in 0..query.len() {
        assert_eq!(streamed.rows(q), whole.rows(q), "query {q}");
        assert_eq!(streamed.scores(q), whole.scores(q), "query {q}");
    }
    let mut s = StreamingSearch::new(&query, 10, Metric::Cosine, &opts(32, 4)).unwrap();
    assert!(s.add_rows(&gallery.data[..16 * 3 - 1], 3).is_err());
    assert!(s.add_rows(&gallery.data[..16 * 3], usize::MAX).is_err());
}
