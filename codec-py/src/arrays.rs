//! Turning what Python callers pass into contiguous Rust slices, and results into arrays.
//!
//! numpy itself converts (`numpy.ascontiguousarray`), so every dtype, order and stride numpy
//! knows is accepted, and a float32 C-contiguous array is used in place, never copied.

use crate::errors::{Kind, raise};
use numpy::{Element, PyArray1, PyArray2, PyArrayMethods, PyUntypedArrayMethods};
use pyo3::prelude::*;
use rayon::ThreadPool;
use std::sync::{Arc, Mutex};

/// A C-contiguous 2-D array, and whether the caller passed a single row (1-D).
pub struct Rows<'py, T: Element> {
    pub array: Bound<'py, PyArray2<T>>,
    pub single: bool,
}

impl<T: Element> Rows<'_, T> {
    pub fn len(&self) -> usize {
        self.array.shape()[0]
    }

    pub fn width(&self) -> usize {
        self.array.shape()[1]
    }
}

/// `x` as a C-contiguous 2-D array of `target` (a numpy dtype name), after checking that
/// `accept` takes its dtype (numpy's one-letter kind: `f` float, `u`/`i` integer; and item
/// size): only dtypes that convert to `target` without losing values are accepted.
fn rows_of<'py, T: Element>(
    what: &str,
    x: &Bound<'py, PyAny>,
    accept: fn(&str, usize) -> bool,
    target: &str,
) -> PyResult<Rows<'py, T>> {
    let py = x.py();
    let np = py.import("numpy")?;
    let arr = np.call_method1("asarray", (x,))?;
    let dtype = arr.getattr("dtype")?;
    let kind: String = dtype.getattr("kind")?.extract()?;
    let size: usize = dtype.getattr("itemsize")?.extract()?;
    if !accept(&kind, size) {
        let name: String = dtype.getattr("name")?.extract()?;
        return Err(raise(
            py,
            Kind::DType,
            format!("{what}: dtype {name} is not accepted (expected {target}-compatible values)"),
            None,
        ));
    }
    let (arr, single) = two_d(what, arr)?;
    let arr = np.call_method1("ascontiguousarray", (arr, target))?;
    let array = arr.downcast_into::<PyArray2<T>>()?;
    Ok(Rows { array, single })
}

/// A 1-D or 2-D array as 2-D (one row for 1-D: a view, not a copy), and whether it was 1-D.
fn two_d<'py>(what: &str, arr: Bound<'py, PyAny>) -> PyResult<(Bound<'py, PyAny>, bool)> {
    let ndim: usize = arr.getattr("ndim")?.extract()?;
    match ndim {
        1 => Ok((arr.call_method1("reshape", ((1, -1),))?, true)),
        2 => Ok((arr, false)),
        n => Err(raise(
            arr.py(),
            Kind::Dimension,
            format!("{what}: expected a 1-D or 2-D array, got {n} dimensions"),
            None,
        )),
    }
}

/// `x` as a 2-D numpy array of floats (float16, float32 or float64), as it is: neither
/// converted nor copied, for callers that read it a block at a time.
pub fn float_matrix<'py>(what: &str, x: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    let py = x.py();
    let arr = py.import("numpy")?.call_method1("asarray", (x,))?;
    let dtype = arr.getattr("dtype")?;
    let kind: String = dtype.getattr("kind")?.extract()?;
    if kind != "f" {
        let name: String = dtype.getattr("name")?.extract()?;
        return Err(raise(
            py,
            Kind::DType,
            format!("{what}: dtype {name} is not accepted (expected float32-compatible values)"),
            None,
        ));
    }
    Ok(two_d(what, arr)?.0)
}

/// Feature rows: float16, float32 or float64 in, float32 rows out.
pub fn float_rows<'py>(what: &str, x: &Bound<'py, PyAny>) -> PyResult<Rows<'py, f32>> {
    rows_of(what, x, |kind, _| kind == "f", "float32")
}

/// Code rows: uint8 only (any other dtype would be reinterpreted, not converted).
pub fn byte_rows<'py>(what: &str, x: &Bound<'py, PyAny>) -> PyResult<Rows<'py, u8>> {
    rows_of(what, x, |kind, size| kind == "u" && size == 1, "uint8")
}

/// A 1-D array of integers (labels, cameras) as `i64`.
pub fn int_vector(what: &str, x: &Bound<'_, PyAny>) -> PyResult<Vec<i64>> {
    let py = x.py();
    let rows = rows_of::<i64>(what, x, integers, "int64")?;
    if !rows.single {
        return Err(raise(
            py,
            Kind::Dimension,
            format!("{what}: expected a 1-D array"),
            None,
        ));
    }
    Ok(rows.array.readonly().as_slice()?.to_vec())
}

/// A 2-D array of integers (ranked indices) as `i64` rows.
pub fn int_rows<'py>(what: &str, x: &Bound<'py, PyAny>) -> PyResult<Rows<'py, i64>> {
    rows_of(what, x, integers, "int64")
}

/// Integer dtypes whose every value fits in an `int64`.
fn integers(kind: &str, size: usize) -> bool {
    kind == "i" || (kind == "u" && size < 8)
}

/// `data` (`rows x width`, row-major) as a numpy array: 2-D, or 1-D when `single`.
pub fn to_array<'py, T: Element>(
    py: Python<'py>,
    data: Vec<T>,
    rows: usize,
    width: usize,
    single: bool,
) -> PyResult<Bound<'py, PyAny>> {
    let flat = PyArray1::from_vec(py, data);
    if single {
        Ok(flat.into_any())
    } else {
        Ok(flat.reshape([rows, width])?.into_any())
    }
}

/// The pool a call runs on: `threads` threads, or the process's shared pool (one thread per
/// core) when `None`.
pub fn pool(py: Python<'_>, threads: Option<i64>) -> PyResult<Arc<ThreadPool>> {
    let Some(n) = threads else {
        return shared_pool()
            .map_err(|e| raise(py, Kind::Input, format!("cannot start threads: {e}"), None));
    };
    let Some(n) = usize::try_from(n).ok().filter(|&n| n >= 1) else {
        return Err(raise(
            py,
            Kind::Input,
            format!("threads must be at least 1, got {n}"),
            None,
        ));
    };
    rayon::ThreadPoolBuilder::new()
        .num_threads(n)
        .build()
        .map(Arc::new)
        .map_err(|e| {
            raise(
                py,
                Kind::Input,
                format!("cannot start {n} threads: {e}"),
                None,
            )
        })
}

/// One pool per process, made again in a child that `fork` made (multiprocessing's default on
/// Linux, PySpark's workers): the child inherits the parent's pool without its threads, and
/// rayon's global pool would wait for them forever.
fn shared_pool() -> Result<Arc<ThreadPool>, rayon::ThreadPoolBuildError> {
    static SHARED: Mutex<Option<(u32, Arc<ThreadPool>)>> = Mutex::new(None);
    let pid = std::process::id();
    let mut slot = SHARED.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((owner, pool)) = &*slot {
        if *owner == pid {
            return Ok(Arc::clone(pool));
        }
    }
    let pool = Arc::new(rayon::ThreadPoolBuilder::new().build()?);
    // The parent's pool has no threads here: dropping it would signal threads that do not
    // exist, so it is left alone.
    if let Some(stale) = slot.replace((pid, Arc::clone(&pool))) {
        std::mem::forget(stale);
    }
    Ok(pool)
}

/// Run `f` on `pool` without the GIL: the work of one chunk of a batch.
pub fn run<R: Send>(py: Python<'_>, pool: &ThreadPool, f: impl FnOnce() -> R + Send) -> R {
    py.allow_threads(|| pool.install(f))
}

/// Run `f` on `pool` on a thread of its own, without the GIL, checking for Ctrl-C every tenth
/// of a second: for one long call that has no chunks to check between (training). On
/// KeyboardInterrupt the call returns at once and the work is left to finish in the
/// background, its result dropped: the host library has no way to stop it midway, and the
/// caller gets no partial result.
pub fn run_interruptible<R: Send + 'static>(
    py: Python<'_>,
    pool: Arc<ThreadPool>,
    f: impl FnOnce() -> R + Send + 'static,
) -> PyResult<R> {
    use std::sync::mpsc::{RecvTimeoutError, channel};
    let (done, mut result) = channel();
    std::thread::Builder::new()
        .name("naicfc-train".into())
        .spawn(move || {
            // The receiver is gone when the caller was interrupted: nobody wants the result.
            let _ = done.send(pool.install(f));
        })
        .map_err(|e| raise(py, Kind::Input, format!("cannot start a thread: {e}"), None))?;
    loop {
        // The receiver is not `Sync`: it crosses into the GIL-free closure and back by value.
        let (got, back) = py.allow_threads(move || {
            let got = result.recv_timeout(std::time::Duration::from_millis(100));
            (got, result)
        });
        result = back;
        match got {
            Ok(r) => return Ok(r),
            Err(RecvTimeoutError::Timeout) => py.check_signals()?,
            Err(RecvTimeoutError::Disconnected) => {
                // Only a panic in the host library ends the thread without a result.
                return Err(pyo3::exceptions::PyRuntimeError::new_err(
                    "naicfc internal error: the training thread stopped without a result",
                ));
            }
        }
    }
}

/// Rows handed to the workers between two checks for Ctrl-C: a tenth of a second or so of
/// coding on one core at the largest budgets, against some microseconds per check.
pub const CHUNK_ROWS: usize = 1024;
