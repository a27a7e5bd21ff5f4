//! The native module of the Python package `naicfc` (`naicfc._native`).
//!
//! A thin layer over `codec-core` and the host library (`codec-host`): numpy arrays in and
//! out, the GIL released during every batch, work on rayon's threads, and the codec's errors
//! raised as Python exceptions of their kind. Nothing here codes, trains, searches or scores
//! by itself; the public API and its documentation are in `python/naicfc` and
//! `docs/python.md`.

mod arrays;
mod data;
mod errors;
mod model;
mod options;
mod search;
mod vectors;

use pyo3::prelude::*;

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add("MAX_BUDGET", codec_core::MAX_CODE_LEN)?;
    m.add("FORMAT_VERSION", codec_core::FORMAT_VERSION)?;
    m.add_class::<model::PyModel>()?;
    m.add_function(wrap_pyfunction!(search::search, m)?)?;
    m.add_function(wrap_pyfunction!(search::score, m)?)?;
    m.add_function(wrap_pyfunction!(data::read_features, m)?)?;
    m.add_function(wrap_pyfunction!(data::write_features, m)?)?;
    m.add_function(wrap_pyfunction!(data::read_codes, m)?)?;
    m.add_function(wrap_pyfunction!(data::write_codes, m)?)?;
    m.add_function(wrap_pyfunction!(data::read_code_array, m)?)?;
    m.add_function(wrap_pyfunction!(data::write_code_array, m)?)?;
    m.add_function(wrap_pyfunction!(data::read_split, m)?)?;
    m.add_function(wrap_pyfunction!(data::write_results, m)?)?;
    m.add_function(wrap_pyfunction!(data::read_results, m)?)?;
    m.add_function(wrap_pyfunction!(data::synth, m)?)?;
    m.add_function(wrap_pyfunction!(data::is_npy, m)?)?;
    m.add_function(wrap_pyfunction!(vectors::search_vectors, m)?)?;
    Ok(())
}
