//! `naicfc.search_vectors`: the vectors an inner-product engine (Milvus, FAISS) stores and
//! searches so that its ranking is naicfc's exact search on the reconstructed queries.
//!
//! The identity and the arithmetic are the host library's (`codec_host::coded_search::vectors`);
//! this only moves arrays and errors across.

use crate::arrays::{CHUNK_ROWS, byte_rows, float_rows, pool, run, to_array};
use crate::errors::{self, Kind, raise};
use crate::model::PyModel;
use codec_host::coded_search::vectors::SearchVectors;
use numpy::PyArrayMethods;
use pyo3::prelude::*;
use pyo3::types::PyInt;

/// Search vectors of `x` for `model`: float32 (N, K + 2), or (K + 2,) for one row.
///
/// `x` is either uint8 codes (N, budget) as `Model.encode` returns them, or float features
/// (N, D). `side="gallery"` (the default) gives what a collection stores: original features
/// as they are, codes as the vectors they decode to. `side="query"` gives what is searched
/// with: codes decoded, features coded at `budget` bytes first (as a camera would). The
/// inner product of a query vector with a gallery vector is the cosine between the
/// reconstructed query and the gallery item (original, or reconstructed from its code), so
/// an engine ranking by inner product ranks as `naicfc reid` does.
#[pyfunction]
#[pyo3(signature = (model, x, side="gallery", budget=None, *, threads=None))]
pub fn search_vectors<'py>(
    py: Python<'py>,
    model: &Bound<'py, PyModel>,
    x: &Bound<'py, PyAny>,
    side: &str,
    budget: Option<&Bound<'py, PyAny>>,
    threads: Option<i64>,
) -> PyResult<Bound<'py, PyAny>> {
    let query = match side {
        "query" => true,
        "gallery" => false,
        _ => {
            return Err(raise(
                py,
                Kind::Input,
                format!("side `{side}` is not one of gallery, query"),
                None,
            ));
        }
    };
    let budget = budget.filter(|b| !b.is_none());
    let m = model.get().model();
    let vectors = SearchVectors::new(m);
    let width = vectors.width();
    let pool = pool(py, threads)?;
    let kind: String = py
        .import("numpy")?
        .call_method1("asarray", (x,))?
        .getattr("dtype")?
        .getattr("kind")?
        .extract()?;
    let (n, single, out) = if kind == "u" {
        if budget.is_some() {
            return Err(raise(
                py,
                Kind::Input,
                "codes carry their budget (their length): give no budget with codes",
                None,
            ));
        }
        let rows = byte_rows("x", x)?;
        let len = rows.width();
        let readonly = rows.array.readonly();
        let codes: Vec<&[u8]> = readonly
            .as_slice()?
            .chunks(len.max(1))
            .take(rows.len())
            .collect();
        let mut out = Vec::with_capacity(codes.len() * width);
        for (c, chunk) in codes.chunks(CHUNK_ROWS).enumerate() {
            let part = run(py, &pool, || {
                if query {
                    vectors.query_codes(chunk)
                } else {
                    vectors.gallery_codes(chunk)
                }
            })
            .map_err(|(i, e)| errors::core(py, e, Some(c * CHUNK_ROWS + i)))?;
            out.extend_from_slice(&part);
            py.check_signals()?;
        }
        (rows.len(), rows.single, out)
    } else {
        let budget = match (query, budget) {
            (true, Some(b)) => Some(budget_of(py, b)?),
            (true, None) => {
                return Err(raise(
                    py,
                    Kind::Input,
                    "query features are coded first: give the budget in bytes",
                    None,
                ));
            }
            (false, Some(_)) => {
                return Err(raise(
                    py,
                    Kind::Input,
                    "gallery features are stored uncoded: give no budget (encode them first \
                     for a coded gallery)",
                    None,
                ));
            }
            (false, None) => None,
        };
        let rows = float_rows("x", x)?;
        let dim = m.dim();
        if rows.width() != dim {
            return Err(raise(
                py,
                Kind::Dimension,
                format!(
                    "x has {} values per vector, the model expects {dim}",
                    rows.width()
                ),
                None,
            ));
        }
        let readonly = rows.array.readonly();
        let data = readonly.as_slice()?;
        let mut out = Vec::with_capacity(rows.len() * width);
        for (c, chunk) in data.chunks((CHUNK_ROWS * dim).max(1)).enumerate() {
            let part = run(py, &pool, || match budget {
                Some(b) => vectors.queries(chunk, b),
                None => vectors.gallery(chunk),
            })
            .map_err(|(i, e)| errors::core(py, e, Some(c * CHUNK_ROWS + i)))?;
            out.extend_from_slice(&part);
            py.check_signals()?;
        }
        (rows.len(), rows.single, out)
    };
    to_array(py, out, n, width, single)
}

/// A budget argument: an `int` from 1 to the format's maximum.
fn budget_of(py: Python<'_>, b: &Bound<'_, PyAny>) -> PyResult<usize> {
    if !b.is_instance_of::<PyInt>() {
        return Err(pyo3::exceptions::PyTypeError::new_err(format!(
            "budget must be an int, got {}",
            b.get_type().name()?
        )));
    }
    b.extract::<i64>()
        .ok()
        .and_then(|v| usize::try_from(v).ok())
        .filter(|&v| (1..=codec_core::MAX_CODE_LEN).contains(&v))
        .ok_or_else(|| {
            raise(
                py,
                Kind::Budget,
                format!(
                    "budget {b} is not between 1 and {} bytes",
                    codec_core::MAX_CODE_LEN
                ),
                None,
            )
        })
}
