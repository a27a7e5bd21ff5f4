//! What the command-line fault tests share: running `naicfc`, checking its status and
//! messages, and a small dataset with a model trained on it.

// Each test crate that includes this module uses only part of it.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn naicfc(args: &[&str]) -> Output {
    naicfc_in(Path::new("."), args)
}

/// `naicfc` run from the directory `cwd`, for relative paths.
pub fn naicfc_in(cwd: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_naicfc"))
        .current_dir(cwd)
        .args(args)
        .output()
        .expect("run naicfc")
}

/// `naicfc` that must succeed.
pub fn ok(args: &[&str]) -> Output {
    let o = naicfc(args);
    assert!(o.status.success(), "naicfc {args:?}: {}", stderr(&o));
    o
}

pub fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The exit status is `code` and stderr holds every one of `needles`.
pub fn expect(o: &Output, code: i32, needles: &[&str]) {
    let err = stderr(o);
    assert_eq!(o.status.code(), Some(code), "stderr: {err}");
    for n in needles {
        assert!(err.contains(n), "missing {n:?} in: {err}");
    }
}

/// `naicfc synth --out out <flags>`, which must succeed.
pub fn synth(out: &Path, flags: &[&str]) {
    let mut args = vec!["synth", "--out", p(out)];
    args.extend_from_slice(flags);
    ok(&args);
}

/// A synthetic dataset in a temporary directory and a model trained on it.
pub struct Fixture {
    pub dir: tempfile::TempDir,
    pub data: PathBuf,
    pub model: PathBuf,
}

impl Fixture {
    /// A small 64-d dataset (40 training identities of 10 images, 40 queries, 200 gallery
    /// items) from `seed`, and its model: enough for the fault and code-array tests.
    pub fn small(seed: &str) -> Fixture {
        Fixture::new(&[
            "--dim",
            "64",
            "--identities",
            "40",
            "--images-per-identity",
            "10",
            "--test-identities",
            "20",
            "--queries",
            "40",
            "--gallery",
            "200",
            "--seed",
            seed,
        ])
    }
    /// The dataset `naicfc synth` makes with `synth_flags`, and its model.
    pub fn new(synth_flags: &[&str]) -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let model = dir.path().join("m.nfcm");
        synth(&data, synth_flags);
        ok(&["train", "--data", p(&data), "--out", p(&model)]);
        Fixture { dir, data, model }
    }
    pub fn path(&self, s: &str) -> PathBuf {
        self.dir.path().join(s)
    }
    pub fn queries(&self) -> PathBuf {
        self.data.join("query_feature")
    }
    pub fn gallery(&self) -> PathBuf {
        self.data.join("gallery_feature")
    }
    /// A copy of the first `n` query files in a new directory.
    pub fn some_queries(&self, name: &str, n: usize) -> PathBuf {
        let d = self.path(name);
        std::fs::create_dir_all(&d).unwrap();
        let mut files: Vec<_> = std::fs::read_dir(self.queries())
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        for f in files.into_iter().take(n) {
            std::fs::copy(&f, d.join(f.file_name().unwrap())).unwrap();
        }
        d
    }
    /// `naicfc encode` of `input` with the model at 16 bytes into `out`, with `--overwrite`:
    /// the fault tests put things in the output directory on purpose.
    pub fn encode(&self, input: &Path, out: &Path) -> Output {
        naicfc(&[
            "encode",
            "--overwrite",
            "--model",
            p(&self.model),
            "--budget",
            "16",
            "--in",
            p(input),
            "--out",
            p(out),
        ])
    }
    /// `naicfc eval` of the model on the dataset at `data` at 16 bytes, with `extra` flags.
    pub fn eval(&self, data: &Path, extra: &[&str]) -> Output {
        let mut args = vec![
            "eval",
            "--model",
            p(&self.model),
            "--data",
            p(data),
            "--budgets",
            "16",
        ];
        args.extend_from_slice(extra);
        naicfc(&args)
    }
    /// `naicfc decode` of the codes in `input` with the model into `out`, with `--overwrite`
    /// (see [`Fixture::encode`]).
    pub fn decode(&self, input: &Path, out: &Path) -> Output {
        naicfc(&[
            "decode",
            "--overwrite",
            "--model",
            p(&self.model),
            "--in",
            p(input),
            "--out",
            p(out),
        ])
    }
}

/// The `.dat` files in `dir` (an output directory also holds its `names.txt`).
pub fn dat_files(dir: impl AsRef<Path>) -> usize {
    std::fs::read_dir(dir)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "dat")
        })
        .count()
}

/// `rows` vectors of `dim` pseudo-random values in [-1, 1], row-major.
pub fn values(rows: usize, dim: usize, seed: u32) -> Vec<f32> {
    let mut x = seed.wrapping_mul(2_654_435_761).max(1);
    (0..rows * dim)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            (x % 2001) as f32 / 1000.0 - 1.0
        })
        .collect()
}

/// A 2-D little-endian float `.npy` (`<f4` or `<f8`) of `data`, `dim` values a row.
pub fn write_npy(path: &Path, data: &[f32], dim: usize, f64_values: bool) {
    let descr = if f64_values { "<f8" } else { "<f4" };
    let dict = format!(
        "{{'descr': '{descr}', 'fortran_order': False, 'shape': ({}, {dim}), }}",
        data.len() / dim
    );
    let mut header = dict.into_bytes();
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(b' ');
    }
    header.push(b'\n');
    let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
    bytes.extend_from_slice(&(header.len() as u16).to_le_bytes());
    bytes.extend_from_slice(&header);
    for v in data {
        if f64_values {
            bytes.extend_from_slice(&f64::from(*v).to_le_bytes());
        } else {
            bytes.extend_from_slice(&v.to_le_bytes());
        }
    }
    std::fs::write(path, bytes).unwrap();
}

/// A model of 16-d vectors trained on 200 random ones (`dir/train.npy`), at `dir/m.nfcm`.
pub fn small_model(dir: &Path) -> PathBuf {
    let train = dir.join("train.npy");
    write_npy(&train, &values(200, 16, 1), 16, false);
    let model = dir.join("m.nfcm");
    ok(&["-q", "train", "-i", p(&train), "-o", p(&model)]);
    model
}
