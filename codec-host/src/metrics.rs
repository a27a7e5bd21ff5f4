//! Re-ID metrics of the competition: `ACC_reid = (AP@1 + mAP@100) / 2`, plus CMC.
//!
//! For one query with `R` relevant gallery items (same identity) and a ranked list cut at `N`
//! (100 by default):
//!
//! * `AP@N = Σ_{k ≤ N} P@k · rel_k / min(N, R)`, where `P@k` is the fraction of relevant items
//!   among the first `k` and `rel_k` is 1 when item `k` is relevant. mAP@N is the mean over
//!   queries. A query with no relevant gallery item has AP 0 (it still counts in the mean).
//! * `AP@1` is 1 when the first item is relevant, else 0 (the formula above with `N = 1`).
//! * CMC rank-`k` is the fraction of queries with a relevant item among the first `k`.
//!
//! With `exclude_same_camera`, gallery items with the query's identity AND camera are removed
//! from the ranked list (later items move up) and from `R` before scoring, as in the standard
//! re-ID protocol. A list shortened that way is not refilled.

pub mod results;

use crate::io::FeatureSet;
use crate::search::{Metric, search};
use anyhow::{Result, bail};
use serde::Serialize;
use std::collections::HashMap;

/// The competition's scores over a set of queries. All fractions are in [0, 1].
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Scores {
    /// `(ap1 + map100) / 2`.
    pub acc_reid: f64,
    /// Mean AP@1.
    pub ap1: f64,
    /// Mean AP@N with `N` = [`ScoreOptions::top`] (100 by default).
    pub map100: f64,
    /// CMC rank-1.
    pub rank1: f64,
    /// CMC rank-5.
    pub rank5: f64,
    /// CMC rank-10.
    pub rank10: f64,
    /// Mean average precision over each query's whole ranked list, with every gallery match
    /// counted (fast-reid's mAP, not cut at N); averaged over the queries with at least one
    /// match in the gallery, as fast-reid does.
    pub map: f64,
    /// Mean inverse negative penalty (fast-reid's mINP): per query, its matches divided by
    /// the position of the last (hardest) one; over the queries with a match.
    pub minp: f64,
    /// Queries whose ranked list does not hold all their gallery matches (lists cut at N):
    /// for them the missing matches count as never found in `map` and as ranked last in
    /// `minp`, so both are then lower bounds. 0 when every list is complete.
    pub incomplete: usize,
    /// Number of queries scored.
    pub queries: usize,
}

/// Ground truth for one query or gallery row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Label {
    /// Identity.
    pub id: i64,
    /// Camera, when known.
    pub cam: Option<i64>,
}

impl From<&crate::io::lists::ListEntry> for Label {
    fn from(e: &crate::io::lists::ListEntry) -> Self {
        Label {
            id: e.id,
            cam: e.cam,
        }
    }
}

/// How to score.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScoreOptions {
    /// Cut-off `N` of mAP@N; longer ranked lists are truncated (after same-camera removal).
    pub top: usize,
    /// Drop same-identity same-camera gallery items from each query's list and relevant count.
    pub exclude_same_camera: bool,
}

impl Default for ScoreOptions {
    fn default() -> Self {
        Self {
            top: 100,
            exclude_same_camera: false,
        }
    }
}

/// Score ranked lists of gallery rows, one list per query, best first.
///
/// `ranked` yields one list per row of `query` (e.g. [`crate::search::Ranking::iter`]); the
/// numbers in a list are rows of `gallery`. Fails when the counts disagree, when a list names a
/// row outside the gallery or the same row twice, when there are no queries, or when same-camera
/// exclusion is asked for and a row has no camera.
pub fn score_ranking<'a, I>(
    ranked: I,
    query: &[Label],
    gallery: &[Label],
    opts: &ScoreOptions,
) -> Result<Scores>
where
    I: IntoIterator<Item = &'a [u32]>,
{
    if query.is_empty() {
        bail!("no queries to score");
    }
    if opts.exclude_same_camera {
        require_cameras(query, "query")?;
        require_cameras(gallery, "gallery")?;
    }
    let mut per_id: HashMap<i64, usize> = HashMap::new();
    let mut per_id_cam: HashMap<(i64, i64), usize> = HashMap::new();
    for g in gallery {
        *per_id.entry(g.id).or_default() += 1;
        if let Some(c) = g.cam {
            *per_id_cam.entry((g.id, c)).or_default() += 1;
        }
    }

    // Generation stamps instead of a per-query set: duplicate detection stays O(list length).
    let mut seen = vec![u32::MAX; gallery.len()];
    let (mut ap1, mut map, mut cmc) = (0.0, 0.0, [0usize; 3]);
    let (mut full_ap, mut inp, mut with_match, mut incomplete) = (0.0, 0.0, 0usize, 0usize);
    let mut lists = 0;
    for (qi, list) in ranked.into_iter().enumerate() {
        let Some(q) = query.get(qi) else {
            bail!("more ranked lists than the {} queries", query.len());
        };
        for &g in list {
            match seen.get_mut(g as usize) {
                None => bail!(
                    "query {qi}: gallery row {g} is out of range (gallery has {} rows)",
                    gallery.len()
                ),
                Some(s) if *s == qi as u32 => bail!("query {qi}: gallery row {g} is ranked twice"),
                Some(s) => *s = qi as u32,
            }
        }
        let s = score_one(list, q, gallery, &per_id, &per_id_cam, opts);
        ap1 += s.ap1;
        map += s.ap;
        if let Some(full) = &s.full {
            full_ap += full.ap;
            inp += full.inp;
            with_match += 1;
            incomplete += usize::from(full.incomplete);
        }
        for (c, k) in cmc.iter_mut().zip([1, 5, 10]) {
            *c += usize::from(s.first_hit.is_some_and(|p| p <= k));
        }
        lists += 1;
    }
    if lists != query.len() {
        bail!("{lists} ranked lists for {} queries", query.len());
    }
    let n = query.len() as f64;
    let (ap1, map100) = (ap1 / n, map / n);
    Ok(Scores {
        acc_reid: (ap1 + map100) / 2.0,
        ap1,
        map100,
        rank1: cmc[0] as f64 / n,
        rank5: cmc[1] as f64 / n,
        rank10: cmc[2] as f64 / n,
        map: full_ap / with_match.max(1) as f64,
        minp: inp / with_match.max(1) as f64,
        incomplete,
        queries: query.len(),
    })
}

/// Search and score in one go, without a result file: rank the best `opts.top` gallery rows
/// for every query and score them. `query_labels[i]` and `gallery_labels[j]` describe row `i`
/// of `query` and row `j` of `gallery`. Gives the same scores as `naicfc reid` followed by
/// `naicfc score` with the same `--top`.
pub fn evaluate(
    query: &FeatureSet,
    gallery: &FeatureSet,
    query_labels: &[Label],
    gallery_labels: &[Label],
    metric: Metric,
    opts: &ScoreOptions,
) -> Result<Scores> {
    if query_labels.len() != query.len() || gallery_labels.len() != gallery.len() {
        bail!(
            "{} query labels for {} rows, {} gallery labels for {} rows",
            query_labels.len(),
            query.len(),
            gallery_labels.len(),
            gallery.len()
        );
    }
    let ranking = search(query, gallery, opts.top, metric)?;
    score_ranking(ranking.iter(), query_labels, gallery_labels, opts)
}

fn require_cameras(labels: &[Label], what: &str) -> Result<()> {
    if let Some(i) = labels.iter().position(|l| l.cam.is_none()) {
        bail!("{what} row {i} has no camera; excluding same-camera matches needs cameras");
    }
    Ok(())
}

/// What one query contributes.
struct QueryScore {
    ap1: f64,
    ap: f64,
    /// 1-based position of the first relevant item, if any made the cut.
    first_hit: Option<usize>,
    /// Over the whole list, for a query with at least one match in the gallery.
    full: Option<FullScore>,
}

/// A query's fast-reid scores over its whole ranked list.
struct FullScore {
    ap: f64,
    inp: f64,
    /// Some matches are not in the list.
    incomplete: bool,
}

fn score_one(
    list: &[u32],
    q: &Label,
    gallery: &[Label],
    per_id: &HashMap<i64, usize>,
    per_id_cam: &HashMap<(i64, i64), usize>,
    opts: &ScoreOptions,
) -> QueryScore {
    let same_cam = |g: &Label| opts.exclude_same_camera && g.id == q.id && g.cam == q.cam;
    let mut relevant = per_id.get(&q.id).copied().unwrap_or(0);
    if opts.exclude_same_camera {
        // `require_cameras` has run, so the camera is there.
        let cam = q.cam.unwrap_or_default();
        relevant -= per_id_cam.get(&(q.id, cam)).copied().unwrap_or(0);
    }
    let (mut hits, mut sum, mut first_hit) = (0usize, 0.0, None);
    let kept = list
        .iter()
        .map(|&g| &gallery[g as usize])
        .filter(|g| !same_cam(g));
    for (pos, g) in (1..=opts.top).zip(kept) {
        if g.id == q.id {
            hits += 1;
            sum += hits as f64 / pos as f64;
            first_hit.get_or_insert(pos);
        }
    }
    let denom = relevant.min(opts.top);
    QueryScore {
        ap1: if first_hit == Some(1) { 1.0 } else { 0.0 },
        ap: if denom == 0 { 0.0 } else { sum / denom as f64 },
        first_hit,
        full: full_score(list, q, gallery, relevant, &same_cam),
    }
}

/// fast-reid's AP and INP of one query over its whole list (not cut at N); `None` for a query
/// without any match, which fast-reid leaves out. Matches missing from a cut list count as
/// never found (AP) and as the last of the gallery (INP): lower bounds, flagged incomplete.
fn full_score(
    list: &[u32],
    q: &Label,
    gallery: &[Label],
    relevant: usize,
    same_cam: &dyn Fn(&Label) -> bool,
) -> Option<FullScore> {
    if relevant == 0 {
        return None;
    }
    let (mut hits, mut sum, mut last) = (0usize, 0.0, 0usize);
    let kept = list
        .iter()
        .map(|&g| &gallery[g as usize])
        .filter(|g| !same_cam(g));
    for (pos, g) in (1..).zip(kept) {
        if g.id == q.id {
            hits += 1;
            sum += hits as f64 / pos as f64;
            last = pos;
        }
    }
    let incomplete = hits < relevant;
    if incomplete {
        last = gallery.iter().filter(|g| !same_cam(g)).count();
    }
    Some(FullScore {
        ap: sum / relevant as f64,
        inp: relevant as f64 / last.max(1) as f64,
        incomplete,
    })
}

#[cfg(test)]
mod tests;
