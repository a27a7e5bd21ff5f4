//! Small cases worked out by hand; every expected number is derived in the comments.

use super::*;
use crate::io::FeatureSet;
use crate::search::{Metric, search};

fn labels(ids: &[i64]) -> Vec<Label> {
    ids.iter().map(|&id| Label { id, cam: None }).collect()
}

fn with_cams(pairs: &[(i64, i64)]) -> Vec<Label> {
    pairs
        .iter()
        .map(|&(id, c)| Label { id, cam: Some(c) })
        .collect()
}

fn score(lists: &[Vec<u32>], q: &[Label], g: &[Label], opts: ScoreOptions) -> Scores {
    score_ranking(lists.iter().map(Vec::as_slice), q, g, &opts).unwrap()
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-12
}

#[test]
fn average_precision_of_one_query() {
    // Gallery ids: g0=1 g1=2 g2=1 g3=3 g4=1; the query is id 1, so R = 3.
    // Ranked [g1, g0, g3, g2, g4]: hits at positions 2, 4, 5 with P@k = 1/2, 2/4, 3/5.
    // AP@100 = (0.5 + 0.5 + 0.6) / min(100, 3) = 1.6 / 3; AP@1 = 0 (g1 is id 2).
    // CMC: first hit at 2, so rank-1 = 0, rank-5 = rank-10 = 1.
    let s = score(
        &[vec![1, 0, 3, 2, 4]],
        &labels(&[1]),
        &labels(&[1, 2, 1, 3, 1]),
        ScoreOptions::default(),
    );
    assert!(close(s.map100, 1.6 / 3.0), "{s:?}");
    assert_eq!(
        (s.ap1, s.rank1, s.rank5, s.rank10, s.queries),
        (0.0, 0.0, 1.0, 1.0, 1)
    );
    assert!(close(s.acc_reid, (0.0 + 1.6 / 3.0) / 2.0));
}

#[test]
fn fewer_relevant_items_than_the_cut_off_and_truncation() {
    // Cut-off N = 2, R = 3 (ids of g0, g2, g4). Ranked [g0, g2, g1]: the list is cut to
    // [g0, g2], both hits: P@1 = 1, P@2 = 1, so AP@2 = (1 + 1) / min(2, 3) = 1.
    let opts = ScoreOptions {
        top: 2,
        ..ScoreOptions::default()
    };
    let g = labels(&[1, 2, 1, 3, 1]);
    let s = score(&[vec![0, 2, 1]], &labels(&[1]), &g, opts);
    assert_eq!((s.map100, s.ap1, s.acc_reid), (1.0, 1.0, 1.0));
    // Same gallery, N = 100, ranked [g0, g1, g3]: one hit at 1 of R = 3:
    // AP = 1 / min(100, 3) = 1/3, even though only one relevant item was ranked.
    let s = score(&[vec![0, 1, 3]], &labels(&[1]), &g, ScoreOptions::default());
    assert!(close(s.map100, 1.0 / 3.0));
}

#[test]
fn a_query_without_relevant_items_scores_zero_but_counts() {
    // q0 (id 1) finds g0 first with R = 1: AP = 1, AP@1 = 1. q1 (id 7) has no gallery match:
    // AP = 0, AP@1 = 0, no CMC hit. Means over 2 queries: mAP = AP@1 = rank-k = 0.5.
    let s = score(
        &[vec![0, 1], vec![0, 1]],
        &labels(&[1, 7]),
        &labels(&[1, 2]),
        ScoreOptions::default(),
    );
    assert_eq!(
        (s.map100, s.ap1, s.rank1, s.rank10, s.acc_reid),
        (0.5, 0.5, 0.5, 0.5, 0.5)
    );
    assert_eq!(s.queries, 2);
}

#[test]
fn same_camera_exclusion() {
    // Query: id 1, camera 1. Gallery (id, cam): g0 (1,1) g1 (1,2) g2 (2,1) g3 (1,1) g4 (1,3).
    // Ranked [g0, g2, g1, g3, g4].
    let q = with_cams(&[(1, 1)]);
    let g = with_cams(&[(1, 1), (1, 2), (2, 1), (1, 1), (1, 3)]);
    let list = vec![vec![0, 2, 1, 3, 4]];
    // Kept: R = 4; hits at 1, 3, 4, 5: (1/1 + 2/3 + 3/4 + 4/5) / 4 = (193/60) / 4 = 193/240.
    let s = score(&list, &q, &g, ScoreOptions::default());
    assert!(close(s.map100, 193.0 / 240.0), "{s:?}");
    assert_eq!(s.ap1, 1.0);
    // Excluded: g0 and g3 (id 1, cam 1) leave the list and R: list [g2, g1, g4], R = 4 − 2 = 2;
    // hits at 2 and 3: (1/2 + 2/3) / 2 = 7/12; AP@1 = 0; first hit at 2.
    let opts = ScoreOptions {
        exclude_same_camera: true,
        ..ScoreOptions::default()
    };
    let s = score(&list, &q, &g, opts);
    assert!(close(s.map100, 7.0 / 12.0), "{s:?}");
    assert_eq!((s.ap1, s.rank1, s.rank5), (0.0, 0.0, 1.0));
}

#[test]
fn same_camera_exclusion_needs_cameras() {
    let opts = ScoreOptions {
        exclude_same_camera: true,
        ..ScoreOptions::default()
    };
    let e = score_ranking([&[0u32][..]], &labels(&[1]), &with_cams(&[(1, 1)]), &opts).unwrap_err();
    assert!(e.to_string().contains("query row 0 has no camera"), "{e}");
}

#[test]
fn cmc_over_several_queries() {
    // Gallery ids 0..12, one item each; every query gets the list g0, g1, ..., g11.
    // q0 (id 0) hits at 1, q1 (id 2) at 3, q2 (id 6) at 7, q3 (id 99) never.
    // rank-1 = 1/4, rank-5 = 2/4, rank-10 = 3/4. R = 1 each, so AP = 1/position:
    // mAP = (1 + 1/3 + 1/7 + 0) / 4 = 31/84; AP@1 = 1/4; ACC = (21/84 + 31/84) / 2 = 26/84.
    let g = labels(&(0..12).collect::<Vec<_>>());
    let list: Vec<u32> = (0..12).collect();
    let s = score(
        &vec![list; 4],
        &labels(&[0, 2, 6, 99]),
        &g,
        ScoreOptions::default(),
    );
    assert_eq!((s.rank1, s.rank5, s.rank10), (0.25, 0.5, 0.75));
    assert!(
        close(s.map100, 31.0 / 84.0) && close(s.acc_reid, 26.0 / 84.0),
        "{s:?}"
    );
}

#[test]
fn ties_in_the_search_break_by_gallery_order_and_that_is_what_gets_scored() {
    // g0 and g1 are the same vector, equal to the query; g0 has another identity, g1 the
    // query's. The tie puts g0 first: AP@1 = 0; the hit at 2 gives AP = (1/2) / 1 = 0.5.
    let row = |v: [f32; 2]| v.to_vec();
    let gallery = FeatureSet {
        names: vec!["g0".into(), "g1".into(), "g2".into()],
        dim: 2,
        data: [row([1.0, 1.0]), row([1.0, 1.0]), row([1.0, -1.0])].concat(),
    };
    let query = FeatureSet {
        names: vec!["q".into()],
        dim: 2,
        data: row([2.0, 2.0]),
    };
    let ranking = search(&query, &gallery, 3, Metric::Cosine).unwrap();
    assert_eq!(ranking.rows(0), &[0, 1, 2]);
    let s = score_ranking(
        ranking.iter(),
        &labels(&[5]),
        &labels(&[4, 5, 6]),
        &ScoreOptions::default(),
    )
    .unwrap();
    assert_eq!((s.ap1, s.map100, s.acc_reid), (0.0, 0.5, 0.25));
}

#[test]
fn evaluate_searches_then_scores() {
    // Same data as the tie test, through `evaluate` with N = 2: g0 first (wrong identity),
    // then g1 (right): AP@1 = 0, AP@2 = (1/2) / min(2, 1) = 0.5.
    let gallery = FeatureSet {
        names: vec!["g0".into(), "g1".into(), "g2".into()],
        dim: 2,
        data: vec![1.0, 1.0, 1.0, 1.0, 1.0, -1.0],
    };
    let query = FeatureSet {
        names: vec!["q".into()],
        dim: 2,
        data: vec![2.0, 2.0],
    };
    let opts = ScoreOptions {
        top: 2,
        ..ScoreOptions::default()
    };
    let (ql, gl) = (labels(&[5]), labels(&[4, 5, 6]));
    let s = evaluate(&query, &gallery, &ql, &gl, Metric::Cosine, &opts).unwrap();
    assert_eq!((s.ap1, s.map100), (0.0, 0.5));
    assert!(evaluate(&query, &gallery, &ql, &gl[..2], Metric::Cosine, &opts).is_err());
}

#[test]
fn malformed_rankings_are_errors() {
    let (q, g) = (labels(&[1, 1]), labels(&[1, 2]));
    let opts = ScoreOptions::default();
    let run = |lists: &[&[u32]]| score_ranking(lists.iter().copied(), &q, &g, &opts);
    let e = run(&[&[0], &[2]]).unwrap_err().to_string();
    assert!(e.contains("query 1: gallery row 2 is out of range"), "{e}");
    let e = run(&[&[1, 1], &[0]]).unwrap_err().to_string();
    assert!(e.contains("query 0: gallery row 1 is ranked twice"), "{e}");
    assert!(run(&[&[0]]).is_err());
    assert!(run(&[&[0], &[0], &[0]]).is_err());
    assert!(score_ranking([], &[], &g, &opts).is_err());
}

/// fast-reid's mAP and mINP over whole lists, by hand. Gallery identities 1, 2, 1, 3, 1.
/// Query of identity 1 ranked g1 g0 g3 g2 g4: matches at 2, 4, 5 → AP = (1/2 + 2/4 + 3/5) / 3
/// = 0.5333, INP = 3/5. Query of identity 2 ranked g1 first: AP = INP = 1. A query of identity
/// 9 has no match: left out of both means (not of ACC_reid, where it scores 0).
#[test]
fn full_map_and_minp_follow_fast_reid() {
    let g: Vec<Label> = [1, 2, 1, 3, 1]
        .iter()
        .map(|&id| Label { id, cam: None })
        .collect();
    let q: Vec<Label> = [1, 2, 9]
        .iter()
        .map(|&id| Label { id, cam: None })
        .collect();
    let lists = vec![
        vec![1, 0, 3, 2, 4],
        vec![1, 0, 2, 3, 4],
        vec![0, 1, 2, 3, 4],
    ];
    let s = score(&lists, &q, &g, ScoreOptions::default());
    let ap0 = (0.5 + 0.5 + 0.6) / 3.0;
    assert!((s.map - (ap0 + 1.0) / 2.0).abs() < 1e-12, "{s:?}");
    assert!((s.minp - (0.6 + 1.0) / 2.0).abs() < 1e-12, "{s:?}");
    assert_eq!(s.incomplete, 0);

    // Lists cut after one result: the identity-1 query found 1 of its 3 matches, so its AP is
    // at least 1/3 and its INP at least 3/5 (the last match no later than the gallery's end).
    let cut: Vec<Vec<u32>> = vec![vec![0], vec![1], vec![0]];
    let s = score(
        &cut,
        &q,
        &g,
        ScoreOptions {
            top: 1,
            ..ScoreOptions::default()
        },
    );
    assert!((s.map - (1.0 / 3.0 + 1.0) / 2.0).abs() < 1e-12, "{s:?}");
    assert!((s.minp - (0.6 + 1.0) / 2.0).abs() < 1e-12, "{s:?}");
    assert_eq!(s.incomplete, 1);
}

/// With same-camera exclusion, the excluded items leave the list before positions count.
#[test]
fn full_map_skips_same_camera_matches() {
    let l = |id, cam| Label { id, cam: Some(cam) };
    let g = vec![l(1, 1), l(1, 2), l(2, 2)];
    let q = vec![l(1, 1)];
    // Ranked g0 (same camera: dropped), g2, g1: the one match left is at position 2.
    let s = score(
        &[vec![0, 2, 1]],
        &q,
        &g,
        ScoreOptions {
            exclude_same_camera: true,
            ..ScoreOptions::default()
        },
    );
    assert!((s.map - 0.5).abs() < 1e-12, "{s:?}");
    assert!((s.minp - 0.5).abs() < 1e-12, "{s:?}");
}
