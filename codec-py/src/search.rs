//! `naicfc.search` and `naicfc.score`: exact nearest neighbours and the competition's metrics.

use crate::arrays::{float_matrix, float_rows, int_rows, int_vector, pool, run, to_array};
use crate::errors::{self, Kind, raise};
use codec_host::io::FeatureSet;
use codec_host::metrics::{Label, ScoreOptions, score_ranking};
use codec_host::search::{Metric, SearchOptions, StreamingSearch};
use numpy::{PyArray2, PyArrayMethods};
use pyo3::prelude::*;
use pyo3::types::PyDict;

/// Queries ranked between two checks for Ctrl-C. Each part scans the whole gallery; the
/// host's search gives every score from its two vectors alone, so the parts rank exactly as
/// one pass would.
const QUERY_PART: usize = 1024;

fn metric_of(py: Python<'_>, name: &str) -> PyResult<Metric> {
    let metrics = [Metric::Cosine, Metric::Euclidean, Metric::InnerProduct];
    match name {
        "l2" => Ok(Metric::Euclidean),
        _ => metrics
            .into_iter()
            .find(|m| m.name() == name)
            .ok_or_else(|| {
                raise(
                    py,
                    Kind::Input,
                    format!("metric `{name}` is not one of cosine, euclidean (or l2), ip"),
                    None,
                )
            }),
    }
}

/// Gallery values (16 MB of float32) searched between two checks for Ctrl-C, and
/// converted at once when the gallery is not float32 already.
const GALLERY_PART_VALUES: usize = 4 << 20;

/// The first non-finite value of `rows` (`dim` values each) as an error naming its row, counted
/// from `first`. A NaN scores as nothing and ranks silently wrong; the CLI's reid rejects such
/// rows too.
fn check_finite(
    py: Python<'_>,
    what: &str,
    rows: &[f32],
    dim: usize,
    first: usize,
) -> PyResult<()> {
    match rows.iter().position(|v| !v.is_finite()) {
        None => Ok(()),
        Some(i) => {
            let row = first + i / dim.max(1);
            Err(raise(
                py,
                Kind::NonFinite,
                format!(
                    "{what} row {row}: value at index {} is not finite (NaN or infinity)",
                    i % dim.max(1)
                ),
                Some(row),
            ))
        }
    }
}

/// The best `k` rows of the gallery `g` for every query row of `q`, exactly (every pair is
/// scored), on all cores. Returns `(scores, indices)` of shape (Nq, min(k, Ng)), best first:
/// float32 cosine similarities or inner products (decreasing) or squared Euclidean distances
/// (increasing), and int64 gallery rows. Ties rank the lower row first.
///
/// A float32 C-contiguous gallery (a `np.memmap` included) is read in place, never copied;
/// any other is converted to float32 a block of rows at a time.
#[pyfunction]
#[pyo3(signature = (q, g, k=100, metric="cosine", *, threads=None))]
pub fn search<'py>(
    py: Python<'py>,
    q: &Bound<'py, PyAny>,
    g: &Bound<'py, PyAny>,
    k: i64,
    metric: &str,
    threads: Option<i64>,
) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyAny>)> {
    let metric = metric_of(py, metric)?;
    let Some(k) = usize::try_from(k).ok().filter(|&k| k >= 1) else {
        return Err(raise(
            py,
            Kind::Input,
            format!("k must be at least 1, got {k}"),
            None,
        ));
    };
    let q = float_rows("q", q)?;
    let g = float_matrix("g", g)?;
    let (g_rows, g_width): (usize, usize) = g.getattr("shape")?.extract()?;
    if q.width() != g_width {
        return Err(raise(
            py,
            Kind::Dimension,
            format!(
                "queries have {} values per vector, the gallery {g_width}",
                q.width(),
            ),
            None,
        ));
    }
    let dim = q.width();
    let queries = q.array.readonly();
    let queries = queries.as_slice()?;
    check_finite(py, "q", queries, dim, 0)?;
    let pool = pool(py, threads)?;
    let opts = SearchOptions::default();
    // One search per part of the queries, each fed the gallery block by block: every step
    // (one part against one block) is short enough to check for Ctrl-C after it, and the
    // host's search gives every score from its two vectors alone, so the parts rank exactly
    // as one pass would. The parts are prepared on the call's pool too: rayon's global pool
    // is neither the caller's `threads=` nor usable in a forked child.
    let nq = q.len();
    let mut parts = run(py, &pool, || {
        queries
            .chunks((QUERY_PART * dim).max(1))
            .take(nq.div_ceil(QUERY_PART))
            .map(|part| {
                let part = FeatureSet {
                    names: vec![String::new(); part.len() / dim.max(1)],
                    dim,
                    data: part.to_vec(),
                };
                StreamingSearch::new(&part, k, metric, &opts)
            })
            .collect::<anyhow::Result<Vec<_>>>()
    })
    .map_err(|e| errors::host(py, Kind::Input, &e))?;
    let block = (GALLERY_PART_VALUES / dim.max(1)).max(1);
    let in_place = g.is_instance_of::<PyArray2<f32>>()
        && g.getattr("flags")?
            .get_item("C_CONTIGUOUS")?
            .extract::<bool>()?;
    let np = py.import("numpy")?;
    for first in (0..g_rows).step_by(block) {
        let rows = block.min(g_rows - first);
        let part = g.get_item(pyo3::types::PySlice::new(
            py,
            first as isize,
            (first + rows) as isize,
            1,
        ))?;
        // A slice of rows of a C-contiguous float32 array is a view of its memory; anything
        // else becomes one float32 block here.
        let part = if in_place {
            part
        } else {
            np.call_method1("ascontiguousarray", (part, "float32"))?
        };
        let part = part.downcast_into::<PyArray2<f32>>()?;
        let values = part.readonly();
        let values = values.as_slice()?;
        check_finite(py, "g", values, dim, first)?;
        for search in &mut parts {
            run(py, &pool, || search.add_rows(values, rows))
                .map_err(|e| errors::host(py, Kind::Input, &e))?;
            py.check_signals()?;
        }
    }
    let kept = k.min(g_rows);
    let (mut scores, mut indices) = (
        Vec::with_capacity(q.len() * kept),
        Vec::with_capacity(q.len() * kept),
    );
    for search in parts {
        let ranking = search.finish();
        for i in 0..ranking.len() {
            scores.extend_from_slice(ranking.scores(i));
            indices.extend(ranking.rows(i).iter().map(|&r| i64::from(r)));
        }
    }
    let n = q.len();
    Ok((
        to_array(py, scores, n, kept, q.single)?,
        to_array(py, indices, n, kept, q.single)?,
    ))
}

/// Labels of one side: identities and, when given, cameras.
fn labels(
    py: Python<'_>,
    side: &str,
    ids: &Bound<'_, PyAny>,
    cams: Option<&Bound<'_, PyAny>>,
) -> PyResult<Vec<Label>> {
    let ids = int_vector(&format!("{side}_ids"), ids)?;
    let cams = match cams {
        Some(c) if !c.is_none() => Some(int_vector(&format!("{side}_cams"), c)?),
        _ => None,
    };
    if let Some(c) = &cams {
        if c.len() != ids.len() {
            return Err(raise(
                py,
                Kind::Input,
                format!(
                    "{} {side} cameras for {} {side} identities",
                    c.len(),
                    ids.len()
                ),
                None,
            ));
        }
    }
    Ok(ids
        .iter()
        .enumerate()
        .map(|(i, &id)| Label {
            id,
            cam: cams.as_ref().map(|c| c[i]),
        })
        .collect())
}

/// Score ranked gallery rows (`indices`, one row per query, best first, as `search` returns)
/// against identity labels: ACC_reid = (AP@1 + mAP@top) / 2, AP@1, mAP@top and CMC ranks
/// 1, 5 and 10, as `naicfc score` computes them. With `exclude_same_camera`, gallery items of
/// the query's identity and camera are dropped (cameras needed on both sides).
#[pyfunction]
#[pyo3(signature = (indices, query_ids, gallery_ids, query_cams=None, gallery_cams=None, *, top=100, exclude_same_camera=false))]
#[allow(clippy::too_many_arguments)]
pub fn score<'py>(
    py: Python<'py>,
    indices: &Bound<'py, PyAny>,
    query_ids: &Bound<'py, PyAny>,
    gallery_ids: &Bound<'py, PyAny>,
    query_cams: Option<&Bound<'py, PyAny>>,
    gallery_cams: Option<&Bound<'py, PyAny>>,
    top: i64,
    exclude_same_camera: bool,
) -> PyResult<Bound<'py, PyDict>> {
    let Some(top) = usize::try_from(top).ok().filter(|&t| t >= 1) else {
        return Err(raise(
            py,
            Kind::Input,
            format!("top must be at least 1, got {top}"),
            None,
        ));
    };
    let query = labels(py, "query", query_ids, query_cams)?;
    let gallery = labels(py, "gallery", gallery_ids, gallery_cams)?;
    let ranked = int_rows("indices", indices)?;
    let readonly = ranked.array.readonly();
    let flat = readonly.as_slice()?;
    let rows: Vec<u32> = flat
        .iter()
        .map(|&r| u32::try_from(r))
        .collect::<Result<_, _>>()
        .map_err(|_| {
            raise(
                py,
                Kind::Input,
                "indices: a gallery row is negative or beyond 2^32 (-1 marks no result in \
                 FAISS; give only real results)",
                None,
            )
        })?;
    let width = ranked.width();
    let lists: Vec<&[u32]> = if width == 0 {
        vec![&[]; ranked.len()]
    } else {
        rows.chunks(width).collect()
    };
    let opts = ScoreOptions {
        top,
        exclude_same_camera,
    };
    let s = score_ranking(lists, &query, &gallery, &opts)
        .map_err(|e| errors::host(py, Kind::Input, &e))?;
    let out = PyDict::new(py);
    out.set_item("acc_reid", s.acc_reid)?;
    out.set_item("ap1", s.ap1)?;
    out.set_item("map100", s.map100)?;
    out.set_item("rank1", s.rank1)?;
    out.set_item("rank5", s.rank5)?;
    out.set_item("rank10", s.rank10)?;
    out.set_item("queries", s.queries)?;
    Ok(out)
}
