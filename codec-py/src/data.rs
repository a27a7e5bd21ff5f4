//! The competition's files: feature and code directories, dataset splits, result JSON, and
//! synthetic datasets, read and written by the host library's own functions.

use crate::arrays::{byte_rows, float_rows, int_rows, to_array};
use crate::errors::{self, Kind, raise};
use codec_core::MAX_CODE_LEN;
use codec_host::io::lists::{ListEntry, stem_of};
use codec_host::io::{Dataset, FeatureSet, InputError, ReadOptions, Split};
use codec_host::metrics::results::{lists_json, parse_results};
use numpy::PyArrayMethods;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList};
use std::path::{Path, PathBuf};

/// The problems of a read as text, one per input left out.
fn problems(failures: &[InputError]) -> Vec<String> {
    failures.iter().map(ToString::to_string).collect()
}

/// Features as `(names, array)`, the array float32 (N, D).
type Features<'py> = (Vec<String>, Bound<'py, PyAny>);

fn features_out(py: Python<'_>, set: FeatureSet) -> PyResult<Features<'_>> {
    let (n, dim) = (set.len(), set.dim);
    Ok((set.names, to_array(py, set.data, n, dim, false)?))
}

/// Read a directory of `.dat` features or a `.npy` file: `(names, features, problems)`, rows
/// sorted by name for a directory (in file order for a `.npy`), and one line per input left
/// out (unreadable, wrong size, NaN or infinity).
#[pyfunction]
pub fn read_features(
    py: Python<'_>,
    path: PathBuf,
) -> PyResult<(Vec<String>, Bound<'_, PyAny>, Vec<String>)> {
    let loaded = py
        .allow_threads(|| codec_host::io::read_features(&path, &ReadOptions::default()))
        .map_err(|e| errors::host(py, Kind::File, &e))?;
    let failures = problems(&loaded.failures);
    let (names, array) = features_out(py, loaded.set)?;
    Ok((names, array, failures))
}

/// Write rows of `x` as `<dir>/<name>.dat` files (little-endian float32), each atomically.
#[pyfunction]
pub fn write_features(
    py: Python<'_>,
    dir: PathBuf,
    names: Vec<String>,
    x: &Bound<'_, PyAny>,
) -> PyResult<()> {
    let rows = float_rows("x", x)?;
    if names.len() != rows.len() {
        return Err(raise(
            py,
            Kind::Input,
            format!("{} names for {} rows", names.len(), rows.len()),
            None,
        ));
    }
    let set = FeatureSet {
        names,
        dim: rows.width(),
        data: rows.array.readonly().as_slice()?.to_vec(),
    };
    let failures = py
        .allow_threads(|| codec_host::io::write_rows_dat(&dir, &set))
        .map_err(|e| errors::host(py, Kind::File, &e))?;
    match failures.first() {
        Some(f) => Err(raise(py, Kind::File, f.to_string(), None)),
        None => Ok(()),
    }
}

/// Read a directory of codes (`<name>.dat`, as `naicfc encode` writes them): `(names, codes,
/// problems)` with the codes as `bytes` of their exact lengths, sorted by name.
#[pyfunction]
pub fn read_codes(
    py: Python<'_>,
    dir: PathBuf,
) -> PyResult<(Vec<String>, Bound<'_, PyList>, Vec<String>)> {
    let (blobs, failures) = py
        .allow_threads(|| codec_host::io::blobs::read_blobs(&dir, MAX_CODE_LEN))
        .map_err(|e| errors::host(py, Kind::File, &e))?;
    let codes = PyList::new(py, blobs.bytes.iter().map(|b| PyBytes::new(py, b)))?;
    Ok((blobs.names, codes, problems(&failures)))
}

/// Write codes (a list of `bytes`) as `<dir>/<name>.dat` files, as `naicfc encode` does.
#[pyfunction]
pub fn write_codes(
    py: Python<'_>,
    dir: PathBuf,
    names: Vec<String>,
    codes: Vec<Vec<u8>>,
) -> PyResult<()> {
    if names.len() != codes.len() {
        return Err(raise(
            py,
            Kind::Input,
            format!("{} names for {} codes", names.len(), codes.len()),
            None,
        ));
    }
    // As `naicfc encode`: codes of an earlier run left beside these would be read with them.
    codec_host::io::outputs::require_empty_dir(&dir, "dir")
        .map_err(|e| errors::host(py, Kind::File, &e))?;
    let items: Vec<(String, Vec<u8>)> = names.into_iter().zip(codes).collect();
    let failures = py
        .allow_threads(|| codec_host::io::write_blobs(&dir, "dat", &items))
        .map_err(|e| errors::host(py, Kind::File, &e))?;
    match failures.first() {
        Some(f) => Err(raise(py, Kind::File, f.to_string(), None)),
        None => Ok(()),
    }
}

/// Read a code array (`.nfcc`, or `.npy` of uint8): `(names, codes, fingerprint, row_len,
/// scalable)`, the codes uint8 (N, row_len); `fingerprint` is `None` for a `.npy`, which does
/// not record its model.
#[pyfunction]
#[allow(clippy::type_complexity)]
pub fn read_code_array(
    py: Python<'_>,
    path: PathBuf,
) -> PyResult<(Vec<String>, Bound<'_, PyAny>, Option<String>, usize, bool)> {
    let array = py
        .allow_threads(|| codec_host::io::codes::read_code_array(&path))
        .map_err(|e| errors::host(py, Kind::File, &e))?;
    let (n, len) = (array.len(), array.row_len);
    let fingerprint = array.identity.as_ref().map(|i| i.fingerprint_hex());
    let scalable = array.identity.as_ref().is_some_and(|i| i.scalable);
    let codes = to_array(py, array.rows, n, len, false)?;
    Ok((array.names, codes, fingerprint, len, scalable))
}

/// Write codes (uint8 (N, row_len), each zero-padded to the row) as the `.nfcc` code array
/// `path` of the model of fingerprint `fingerprint`: a new file, or with `append` rows added
/// to an existing one (made when missing), which must hold codes of the same model and kind.
#[pyfunction]
#[pyo3(signature = (path, names, codes, fingerprint, scalable=false, append=false))]
pub fn write_code_array(
    py: Python<'_>,
    path: PathBuf,
    names: Vec<String>,
    codes: &Bound<'_, PyAny>,
    fingerprint: String,
    scalable: bool,
    append: bool,
) -> PyResult<()> {
    use codec_host::io::codes::{Appender, Identity, create_empty, write_container};
    let rows = byte_rows("codes", codes)?;
    let (n, len) = if rows.single {
        (1, rows.len() * rows.width())
    } else {
        (rows.len(), rows.width())
    };
    if names.len() != n {
        return Err(raise(
            py,
            Kind::Input,
            format!("{} names for {n} codes", names.len()),
            None,
        ));
    }
    let data = rows.array.readonly().as_slice()?.to_vec();
    let result = py.allow_threads(|| -> anyhow::Result<()> {
        let identity = Identity::new(&fingerprint, len, scalable)?;
        if !append {
            return write_container(&path, identity, &names, &data);
        }
        if !path.exists() {
            create_empty(&path, identity.clone())?;
        }
        let mut a = Appender::open(&path)?;
        let have = a.identity().clone();
        have.check_model(&path, &fingerprint, Path::new("the model given"))?;
        if (have.row_len, have.scalable) != (len, scalable) {
            anyhow::bail!(
                "{}: holds rows of {} bytes (scalable: {}); these are {len} bytes (scalable: {scalable})",
                path.display(),
                have.row_len,
                have.scalable
            );
        }
        if !names.is_empty() {
            a.append(&names, &data)?;
        }
        Ok(())
    });
    result.map_err(|e| errors::host(py, Kind::File, &e))
}

/// One split of a dataset in the competition's layout: `(names, features, ids, cams,
/// problems)`; `ids` and `cams` are int64 arrays, or `None` without a list (or a camera
/// column).
#[pyfunction]
#[allow(clippy::type_complexity)]
pub fn read_split<'py>(
    py: Python<'py>,
    root: PathBuf,
    split: &str,
) -> PyResult<(
    Vec<String>,
    Bound<'py, PyAny>,
    Option<Bound<'py, PyAny>>,
    Option<Bound<'py, PyAny>>,
    Vec<String>,
)> {
    let which = match split {
        "train" => Split::Train,
        "query" => Split::Query,
        "gallery" => Split::Gallery,
        _ => {
            return Err(raise(
                py,
                Kind::Input,
                format!("split `{split}` is not one of train, query, gallery"),
                None,
            ));
        }
    };
    let data = py
        .allow_threads(|| Dataset::new(&root).load_split(which, &ReadOptions::default()))
        .map_err(|e| errors::host(py, Kind::File, &e))?;
    let failures = problems(&data.failures);
    let n = data.features.len();
    let column = |v: Option<Vec<i64>>| v.map(|v| to_array(py, v, n, 1, true)).transpose();
    let (ids, cams) = (column(data.labels)?, column(data.cams)?);
    let (names, features) = features_out(py, data.features)?;
    Ok((names, features, ids, cams, failures))
}

/// List entries for plain names (a result file is checked against them by stem).
fn entries(names: &[String]) -> Vec<ListEntry> {
    names
        .iter()
        .enumerate()
        .map(|(i, name)| ListEntry {
            name: name.clone(),
            stem: stem_of(name).to_string(),
            id: 0,
            cam: None,
            line: i + 1,
        })
        .collect()
}

/// Write the competition's result JSON: for each query name, the names of its ranked gallery
/// rows (`indices`, as `search` returns them), queries sorted by name; the bytes of
/// `naicfc reid` for the same ranking.
#[pyfunction]
pub fn write_results(
    py: Python<'_>,
    path: PathBuf,
    indices: &Bound<'_, PyAny>,
    query_names: Vec<String>,
    gallery_names: Vec<String>,
) -> PyResult<()> {
    let ranked = int_rows("indices", indices)?;
    if ranked.len() != query_names.len() {
        return Err(raise(
            py,
            Kind::Input,
            format!(
                "{} ranked lists for {} query names",
                ranked.len(),
                query_names.len()
            ),
            None,
        ));
    }
    let readonly = ranked.array.readonly();
    let rows: Vec<u32> = readonly
        .as_slice()?
        .iter()
        .map(|&r| {
            u32::try_from(r)
                .ok()
                .filter(|&r| (r as usize) < gallery_names.len())
        })
        .collect::<Option<_>>()
        .ok_or_else(|| {
            raise(
                py,
                Kind::Input,
                format!(
                    "indices: a row is outside the {} gallery names",
                    gallery_names.len()
                ),
                None,
            )
        })?;
    let width = ranked.width();
    let lists: Vec<&[u32]> = if width == 0 {
        vec![&[]; ranked.len()]
    } else {
        rows.chunks(width).collect()
    };
    let text = lists_json(&lists, &query_names, &gallery_names);
    codec_host::io::write_atomic(&path, text.as_bytes())
        .map_err(|e| errors::host(py, Kind::File, &e))
}

/// Read a result JSON back as int64 indices (one row of `top` gallery rows per query name, in
/// `query_names` order), checked as `naicfc score` checks it: every query present once with
/// exactly `top` distinct gallery names.
#[pyfunction]
#[pyo3(signature = (path, query_names, gallery_names, top=100))]
pub fn read_results<'py>(
    py: Python<'py>,
    path: PathBuf,
    query_names: Vec<String>,
    gallery_names: Vec<String>,
    top: usize,
) -> PyResult<Bound<'py, PyAny>> {
    let (queries, gallery) = (entries(&query_names), entries(&gallery_names));
    let text = std::fs::read_to_string(&path)?;
    let rows = parse_results(&text, &queries, &gallery, top)
        .map_err(|e| raise(py, Kind::Input, format!("{}: {e:#}", path.display()), None))?;
    if let Some(msg) = codec_host::metrics::results::missing_queries(&rows, &queries) {
        return Err(raise(
            py,
            Kind::Input,
            format!("{}: {msg}", path.display()),
            None,
        ));
    }
    let flat: Vec<i64> = rows
        .into_iter()
        .flatten()
        .flatten()
        .map(i64::from)
        .collect();
    to_array(py, flat, query_names.len(), top, false)
}

/// Generate a synthetic dataset in the competition's layout under `out` (which must not exist
/// or be empty), as `naicfc synth` does; `options` are its flags with underscores (`kind`,
/// `dim`, `seed`, `scale`, `identities`, `images_per_identity`, `test_identities`, `queries`,
/// `gallery`, `cameras`). Returns `out`.
#[pyfunction]
#[pyo3(signature = (out, **options))]
pub fn synth(
    py: Python<'_>,
    out: PathBuf,
    options: Option<&Bound<'_, PyDict>>,
) -> PyResult<PathBuf> {
    let args = crate::options::synth_args(py, &out, options)?;
    py.allow_threads(|| codec_host::commands::synth::run(&args))
        .map_err(|e| errors::host(py, Kind::File, &e))?;
    Ok(out)
}

/// Whether `path` names a `.npy` file (as the command line decides it).
#[pyfunction]
pub fn is_npy(path: PathBuf) -> bool {
    codec_host::io::is_npy(Path::new(&path))
}
