//! `naicfc.Model`: a trained model, and batch encode and decode with it.

use crate::arrays::{CHUNK_ROWS, byte_rows, float_rows, pool, run, run_interruptible, to_array};
use crate::errors::{self, Kind, raise};
use codec_core::MAX_CODE_LEN;
use codec_core::Model;
use codec_core::scalable_len;
use codec_host::codec::{CodeKind, ModelFile, code_len, decode_into, encode_into};
use codec_host::io::FeatureSet;
use codec_host::train::{input::from_memory, train_on_sample};
use numpy::PyArrayMethods;
use pyo3::exceptions::{PyOSError, PyTypeError};
use pyo3::prelude::*;
use pyo3::types::{PyByteArray, PyBytes, PyDict, PyList, PyMemoryView, PyTuple, PyType};
use std::path::PathBuf;

/// A trained naicfc model (immutable). Load one with `Model.load(path)` or
/// `Model.from_bytes(b)`, or train one with `Model.train(x)`.
#[pyclass(module = "naicfc._native", name = "Model", frozen)]
pub struct PyModel {
    file: ModelFile,
}

/// The bytes of a `bytes`, `bytearray` or `memoryview` (anything else, an `int` above all,
/// which `bytes(n)` would silently turn into `n` zero bytes, is a type error).
fn bytes_of(data: &Bound<'_, PyAny>) -> PyResult<Vec<u8>> {
    if let Ok(b) = data.downcast::<PyBytes>() {
        Ok(b.as_bytes().to_vec())
    } else if let Ok(b) = data.downcast::<PyByteArray>() {
        Ok(b.to_vec())
    } else if data.is_instance_of::<PyMemoryView>() {
        let b = data
            .py()
            .import("builtins")?
            .getattr("bytes")?
            .call1((data,))?;
        Ok(b.downcast::<PyBytes>()?.as_bytes().to_vec())
    } else {
        Err(PyTypeError::new_err(format!(
            "expected bytes, bytearray or memoryview, got {}",
            data.get_type().name()?
        )))
    }
}

impl PyModel {
    fn from_vec(py: Python<'_>, bytes: Vec<u8>) -> PyResult<Self> {
        // Parsed here first for the core's error kind; `ModelFile` only keeps the message.
        Model::parse(&bytes).map_err(|e| errors::core(py, e.into(), None))?;
        let file = ModelFile::from_bytes(bytes).map_err(|e| errors::host(py, Kind::Model, &e))?;
        Ok(PyModel { file })
    }

    pub fn model(&self) -> Model<'_> {
        self.file.model()
    }

    /// The code kind `budget` and `scalable` ask for, checked against the model.
    fn code_kind(
        &self,
        py: Python<'_>,
        budget: Option<&Bound<'_, PyAny>>,
        scalable: bool,
    ) -> PyResult<CodeKind> {
        let m = self.model();
        let budget = match (budget, scalable) {
            (Some(b), false) if !b.is_none() => b,
            (None, true) => return Ok(CodeKind::Scalable),
            (Some(b), true) if b.is_none() => return Ok(CodeKind::Scalable),
            (_, true) => {
                return Err(raise(
                    py,
                    Kind::Input,
                    format!(
                        "a scalable code has the model's largest budget ({} bytes): give \
                         budget or scalable=True, not both",
                        scalable_len(&m)
                    ),
                    None,
                ));
            }
            (_, false) => {
                return Err(raise(
                    py,
                    Kind::Input,
                    "give a budget in bytes, or scalable=True",
                    None,
                ));
            }
        };
        // Any integer, numpy's included: np.int64 is no Python int but has `__index__`, which
        // `operator.index` requires. A float is refused rather than truncated.
        let Ok(budget) = py.import("operator")?.call_method1("index", (budget,)) else {
            return Err(PyTypeError::new_err(format!(
                "budget must be an integer, got {}",
                budget.get_type().name()?
            )));
        };
        let value = budget
            .extract::<i64>()
            .ok()
            .and_then(|b| usize::try_from(b).ok())
            .filter(|&b| b >= 1);
        let Some(value) = value else {
            return Err(raise(
                py,
                Kind::Budget,
                format!("budget {budget} is not between 1 and {MAX_CODE_LEN} bytes"),
                None,
            ));
        };
        self.file
            .check_budget(value)
            .map_err(|e| errors::host(py, Kind::Budget, &e))?;
        Ok(CodeKind::Budget(value))
    }
}

#[pymethods]
impl PyModel {
    /// `Model(data)`: the same as `Model.from_bytes(data)` (and what unpickling calls).
    #[new]
    fn new(py: Python<'_>, data: &Bound<'_, PyAny>) -> PyResult<Self> {
        Self::from_vec(py, bytes_of(data)?)
    }

    /// A model from the bytes of a model file (validated whole, checksum included).
    #[staticmethod]
    fn from_bytes(py: Python<'_>, data: &Bound<'_, PyAny>) -> PyResult<Self> {
        Self::from_vec(py, bytes_of(data)?)
    }

    /// A model read from a file written by `naicfc train` or `Model.save`.
    #[staticmethod]
    fn load(py: Python<'_>, path: PathBuf) -> PyResult<Self> {
        // OSError(errno, message, filename) makes the usual subclass (FileNotFoundError, ...)
        // and names the file, which a bare conversion of the io::Error would not.
        let bytes = std::fs::read(&path).map_err(|e| {
            PyOSError::new_err((e.raw_os_error().unwrap_or(0), e.to_string(), path.clone()))
        })?;
        Model::parse(&bytes)
            .map_err(|e| raise(py, Kind::Model, format!("{}: {e}", path.display()), None))?;
        Self::from_vec(py, bytes)
    }

    /// Train a model on the rows of `x` (N x D), with one identity label per row if known.
    ///
    /// `options` are `naicfc train`'s options with underscores: `max_coeffs`, `reid_weight`,
    /// `spread_exponent`, `step_growth`, `no_clamp`, `centroid_weight`,
    /// `quantiser`, `trellis_lambda`, `trellis_lambda_low`, `gain_coeffs`, `max_rows`. The
    /// same rows and options give the same model bytes as the command line. Ctrl-C raises
    /// `KeyboardInterrupt` within a tenth of a second, and no model.
    #[staticmethod]
    #[pyo3(signature = (x, labels=None, budgets=vec![16, 32, 64, 128, 256], *, threads=None, **options))]
    fn train(
        py: Python<'_>,
        x: &Bound<'_, PyAny>,
        labels: Option<&Bound<'_, PyAny>>,
        budgets: Vec<i64>,
        threads: Option<i64>,
        options: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<Self> {
        let cfg = crate::options::train_config(py, &budgets, options)?;
        let rows = float_rows("x", x)?;
        let labels = match labels {
            Some(l) if !l.is_none() => Some(crate::arrays::int_vector("labels", l)?),
            _ => None,
        };
        let n = rows.len();
        if let Some(l) = &labels {
            if l.len() != n {
                return Err(raise(
                    py,
                    Kind::Input,
                    format!("{} labels for {n} rows", l.len()),
                    None,
                ));
            }
        }
        let set = FeatureSet {
            names: (0..n).map(|i| i.to_string()).collect(),
            dim: rows.width(),
            data: rows.array.readonly().as_slice()?.to_vec(),
        };
        if let Some(i) = set.data.iter().position(|v| !v.is_finite()) {
            let row = i / set.dim.max(1);
            return Err(raise(
                py,
                Kind::NonFinite,
                format!(
                    "row {row}: value at index {} is not finite (NaN or infinity)",
                    i % set.dim.max(1)
                ),
                Some(row),
            ));
        }
        let pool = pool(py, threads)?;
        let trained = run_interruptible(py, pool, move || {
            let input = from_memory(&set, labels.as_deref(), cfg.max_rows)?;
            train_on_sample(
                &input.sample,
                input.labels.as_deref(),
                input.moments,
                input.rows,
                &cfg,
            )
        })?
        .map_err(|e| errors::host(py, Kind::Training, &e))?;
        Self::from_vec(py, trained.model)
    }

    /// Write the model to `path` (atomically: a crash leaves the old file or the new one).
    fn save(&self, py: Python<'_>, path: PathBuf) -> PyResult<()> {
        codec_host::io::write_atomic(&path, self.file.bytes())
            .map_err(|e| errors::host(py, Kind::File, &e))
    }

    /// The model file's bytes.
    fn to_bytes<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, self.file.bytes())
    }

    /// Values per vector.
    #[getter]
    fn dim(&self) -> usize {
        self.model().dim()
    }

    /// The budgets (bytes) the model was tuned for, increasing; it codes at any budget from
    /// `min_budget` to `MAX_BUDGET`.
    #[getter]
    fn budgets<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        let m = self.model();
        let budgets: Vec<usize> = (0..m.budget_count()).filter_map(|i| m.budget(i)).collect();
        PyTuple::new(py, budgets)
    }

    /// Smallest budget at which every vector can be coded.
    #[getter]
    fn min_budget(&self) -> usize {
        self.file.min_budget()
    }

    /// Format version of the model file.
    #[getter]
    fn format_version(&self) -> u16 {
        self.model().format_version()
    }

    /// Length of a scalable code: the largest of `budgets`.
    #[getter]
    fn scalable_length(&self) -> usize {
        scalable_len(&self.model())
    }

    /// The model's identity: 32 hex digits (the first 128 bits of the SHA-256 of its bytes).
    /// Store it beside codes: codes decoded with another model give wrong vectors silently.
    #[getter]
    fn fingerprint(&self) -> String {
        self.file.fingerprint()
    }

    /// Size of the model file in bytes.
    #[getter]
    fn size(&self) -> usize {
        self.file.bytes().len()
    }

    /// Compress the rows of `x` (N x D, or one vector of D values) at `budget` bytes each, or
    /// into scalable codes (`scalable=True`, the model's largest budget, every prefix ending
    /// at one of `budgets` decodable on its own).
    ///
    /// Returns uint8 codes of shape (N, budget) (or (budget,) for one vector), each padded
    /// with zeros to the budget: the bytes of `naicfc encode` and of the C API. A bad row
    /// (NaN, infinity) raises `NonFiniteError` naming it, and nothing is returned.
    #[pyo3(signature = (x, budget=None, scalable=false, *, threads=None))]
    fn encode<'py>(
        &self,
        py: Python<'py>,
        x: &Bound<'py, PyAny>,
        budget: Option<&Bound<'py, PyAny>>,
        scalable: bool,
        threads: Option<i64>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let kind = self.code_kind(py, budget, scalable)?;
        let rows = float_rows("x", x)?;
        let m = self.model();
        if rows.width() != m.dim() {
            return Err(raise(
                py,
                Kind::Dimension,
                format!(
                    "x has {} values per vector, the model expects {}",
                    rows.width(),
                    m.dim()
                ),
                None,
            ));
        }
        let (n, dim, len) = (rows.len(), m.dim(), code_len(&m, kind));
        let readonly = rows.array.readonly();
        let data = readonly.as_slice()?;
        let pool = pool(py, threads)?;
        let mut out = vec![0u8; n * len];
        for (c, (rows_in, codes)) in data
            .chunks(CHUNK_ROWS * dim)
            .zip(out.chunks_mut(CHUNK_ROWS * len))
            .enumerate()
        {
            run(py, &pool, || encode_into(&m, rows_in, kind, codes))
                .map_err(|(i, e)| errors::core(py, e, Some(c * CHUNK_ROWS + i)))?;
            py.check_signals()?;
        }
        to_array(py, out, n, len, rows.single)
    }

    /// Reconstruct vectors from codes made with this model: the uint8 array `encode` returned
    /// ((N, budget) or one code of (budget,)), or `bytes` / a list of `bytes` holding codes of
    /// their exact lengths (the files of `naicfc encode`). `scalable=True` for scalable codes
    /// or their prefixes. Returns float32 (N, D), or (D,) for one code.
    #[pyo3(signature = (codes, scalable=false, *, threads=None))]
    fn decode<'py>(
        &self,
        py: Python<'py>,
        codes: &Bound<'py, PyAny>,
        scalable: bool,
        threads: Option<i64>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let m = self.model();
        let dim = m.dim();
        let pool = pool(py, threads)?;
        // Codes of exact lengths (`bytes`), or rows of a padded array.
        let owned: Vec<Vec<u8>>;
        let readonly;
        let (slices, single): (Vec<&[u8]>, bool) =
            if codes.is_instance_of::<PyBytes>() || codes.is_instance_of::<PyByteArray>() {
                owned = vec![bytes_of(codes)?];
                (owned.iter().map(Vec::as_slice).collect(), true)
            } else if codes.is_instance_of::<PyList>() || codes.is_instance_of::<PyTuple>() {
                owned = codes
                    .try_iter()?
                    .map(|c| bytes_of(&c?))
                    .collect::<PyResult<_>>()?;
                (owned.iter().map(Vec::as_slice).collect(), false)
            } else {
                let rows = byte_rows("codes", codes)?;
                let width = rows.width();
                readonly = rows.array.readonly();
                let data = readonly.as_slice()?;
                // Every code is exactly as long as the budget it was coded for (stream format 1).
                let slices = data.chunks(width.max(1)).take(rows.len()).collect();
                (slices, rows.single)
            };
        let n = slices.len();
        let mut out = vec![0f32; n * dim];
        for (c, (chunk, rows_out)) in slices
            .chunks(CHUNK_ROWS)
            .zip(out.chunks_mut(CHUNK_ROWS * dim))
            .enumerate()
        {
            run(py, &pool, || decode_into(&m, chunk, scalable, rows_out))
                .map_err(|(i, e)| errors::core(py, e, Some(c * CHUNK_ROWS + i)))?;
            py.check_signals()?;
        }
        to_array(py, out, n, dim, single)
    }

    /// The rows of a code array as the byte strings `naicfc encode` writes (every code is
    /// exactly its budget long).
    #[pyo3(signature = (codes,))]
    fn code_bytes<'py>(
        &self,
        py: Python<'py>,
        codes: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyList>> {
        let rows = byte_rows("codes", codes)?;
        let readonly = rows.array.readonly();
        let data = readonly.as_slice()?;
        let width = rows.width();
        let items = data
            .chunks(width.max(1))
            .take(rows.len())
            .map(|row| PyBytes::new(py, row));
        PyList::new(py, items)
    }

    fn __reduce__<'py>(
        slf: &Bound<'py, Self>,
    ) -> PyResult<(Bound<'py, PyType>, (Bound<'py, PyBytes>,))> {
        let py = slf.py();
        Ok((py.get_type::<PyModel>(), (slf.get().to_bytes(py),)))
    }

    fn __eq__(&self, other: &Bound<'_, PyAny>) -> bool {
        other
            .downcast::<PyModel>()
            .is_ok_and(|o| o.get().file.bytes() == self.file.bytes())
    }

    fn __hash__(&self) -> u64 {
        // The fingerprint's first 64 bits: equal models hash equal.
        u64::from_str_radix(&self.file.fingerprint()[..16], 16).unwrap_or(0)
    }

    fn __repr__(&self) -> String {
        let m = self.model();
        let budgets: Vec<String> = (0..m.budget_count())
            .filter_map(|i| m.budget(i))
            .map(|b| b.to_string())
            .collect();
        format!(
            "naicfc.Model(dim={}, budgets=({}), min_budget={}, format_version={}, fingerprint='{}')",
            m.dim(),
            budgets.join(", "),
            self.file.min_budget(),
            m.format_version(),
            self.file.fingerprint()
        )
    }
}
