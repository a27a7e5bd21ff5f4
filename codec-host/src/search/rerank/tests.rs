//! Re-ranking on hand-made pools, plus its invariants: a permutation of the candidates,
//! deterministic, the first stage's order when λ = 1.

use super::*;
use crate::rng::Rng;
use crate::search::{SearchOptions, search, search_with};

fn set(rows: &[[f32; 2]]) -> FeatureSet {
    FeatureSet {
        names: (0..rows.len()).map(|i| format!("{i}")).collect(),
        dim: 2,
        data: rows.iter().flatten().copied().collect(),
    }
}

fn rerank(
    query: &FeatureSet,
    gallery: &FeatureSet,
    metric: Metric,
    top: usize,
    opts: &RerankOptions,
) -> (Ranking, Ranking) {
    let first = search(query, gallery, opts.pool.max(top), metric).unwrap();
    let mask = vec![true; query.dim];
    let mut r = Reranker::new(first.clone(), metric, &mask).unwrap();
    // Fed in two parts, as the gallery streams by.
    let half = gallery.len() / 2;
    for range in [0..half, half..gallery.len()] {
        r.add(&FeatureSet {
            names: gallery.names[range.clone()].to_vec(),
            dim: gallery.dim,
            data: gallery.data[range.start * gallery.dim..range.end * gallery.dim].to_vec(),
        });
    }
    (first, r.finish(query, top, opts))
}

/// The query q = (0, 0). The distractor x = (-1, 0) is its nearest item, but x's own two
/// nearest are its group (-1.2, 0), (-1.2, 0.2): q is not among them, so x and q are not
/// 2-reciprocal and share no neighbours. t1 = (1.1, 0) is a little farther, but q is among
/// t1's two nearest (t1's group (2.3, 0), (2.3, 0.5) is farther still): q and t1 are
/// reciprocal, their encodings overlap, and re-ranking must put t1 first.
#[test]
fn a_reciprocal_neighbour_overtakes_a_closer_distractor() {
    let query = set(&[[0.0, 0.0]]);
    let gallery = set(&[
        [-1.0, 0.0],
        [-1.2, 0.0],
        [-1.2, 0.2],
        [1.1, 0.0],
        [2.3, 0.0],
        [2.3, 0.5],
    ]);
    let opts = RerankOptions {
        k1: 2,
        k2: 1,
        lambda: 0.3,
        pool: 6,
    };
    let (first, re) = rerank(&query, &gallery, Metric::Euclidean, 6, &opts);
    assert_eq!(first.rows(0), &[0, 3, 1, 2, 4, 5]);
    assert_eq!(re.rows(0)[0], 3, "{:?}", re.rows(0));
    assert!(re.rows(0).iter().position(|&r| r == 0).unwrap() > 0);
}

/// With λ = 1 only the (row-scaled) original distance counts: the first stage's order.
#[test]
fn lambda_one_keeps_the_first_order() {
    let mut rng = Rng::new(3);
    let q = random_set(&mut rng, 5, 8);
    let g = random_set(&mut rng, 60, 8);
    let opts = RerankOptions {
        lambda: 1.0,
        pool: 30,
        ..RerankOptions::default()
    };
    let (first, re) = rerank(&q, &g, Metric::Cosine, 30, &opts);
    for i in 0..q.len() {
        assert_eq!(first.rows(i), re.rows(i));
    }
}

fn random_set(rng: &mut Rng, rows: usize, dim: usize) -> FeatureSet {
    FeatureSet {
        names: (0..rows).map(|i| format!("{i}")).collect(),
        dim,
        data: (0..rows * dim).map(|_| rng.normal() as f32).collect(),
    }
}

/// The output of every query is `top` of its pool's rows, each once, and the same from one
/// thread as from several.
#[test]
fn output_is_part_of_a_permutation_of_the_pool_and_deterministic() {
    let mut rng = Rng::new(7);
    let q = random_set(&mut rng, 9, 12);
    let g = random_set(&mut rng, 200, 12);
    for metric in [Metric::Cosine, Metric::Euclidean] {
        let opts = RerankOptions {
            pool: 40,
            ..RerankOptions::default()
        };
        let (first, re) = rerank(&q, &g, metric, 40, &opts);
        let one = rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .build()
            .unwrap()
            .install(|| rerank(&q, &g, metric, 40, &opts).1);
        assert_eq!(re, one);
        for i in 0..q.len() {
            let (mut a, mut b) = (first.rows(i).to_vec(), re.rows(i).to_vec());
            a.sort_unstable();
            b.sort_unstable();
            assert_eq!(a, b, "query {i}");
        }
        let (_, cut) = rerank(&q, &g, metric, 10, &opts);
        for i in 0..q.len() {
            assert_eq!(cut.rows(i), &re.rows(i)[..10]);
        }
    }
}

/// Re-ranked distances lie in [0, 1] and the scores are their negatives, best first.
#[test]
fn distances_are_bounded_and_scores_sorted() {
    let mut rng = Rng::new(11);
    let q = random_set(&mut rng, 4, 6);
    let g = random_set(&mut rng, 50, 6);
    let (_, re) = rerank(&q, &g, Metric::Cosine, 25, &RerankOptions::default());
    for i in 0..q.len() {
        let s = re.scores(i);
        assert!(s.iter().all(|&x| (-1.0..=0.0).contains(&x)), "{s:?}");
        assert!(s.windows(2).all(|w| w[0] >= w[1]), "{s:?}");
    }
}

/// Non-finite features do not panic and keep the output a permutation.
#[test]
fn non_finite_rows_do_not_break_the_ranking() {
    let q = set(&[[0.0, 1.0]]);
    let g = set(&[[f32::NAN, 1.0], [0.0, 2.0], [1.0, 1.0], [0.0, 0.0]]);
    let opts = RerankOptions {
        k1: 2,
        pool: 4,
        ..RerankOptions::default()
    };
    let first = search_with(&q, &g, 4, Metric::Cosine, &SearchOptions::default()).unwrap();
    let mut r = Reranker::new(first, Metric::Cosine, &[true, true]).unwrap();
    r.add(&g);
    let re = r.finish(&q, 4, &opts);
    let mut rows = re.rows(0).to_vec();
    rows.sort_unstable();
    assert_eq!(rows, vec![0, 1, 2, 3]);
}

#[test]
fn inner_product_is_refused() {
    let q = set(&[[0.0, 1.0]]);
    let first = search(&q, &q, 1, Metric::InnerProduct).unwrap();
    assert!(Reranker::new(first, Metric::InnerProduct, &[true, true]).is_err());
}
