//! Shared by the C API tests: run `naicfc` subcommands, build the static library, generate the
//! model and golden headers, find tools.

#![allow(dead_code)] // each test binary uses a different part

use clap::Parser;
use codec_host::commands::{decode, encode, export_c, synth, train};
use codec_host::exit::Outcome;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The `naicfc` subcommands the tests use, parsed exactly as the binary parses them. Running
/// them in-process tests the current sources without a separately built (and possibly stale)
/// `naicfc` binary.
#[derive(Parser)]
#[command(name = "naicfc")]
enum Cli {
    Synth(synth::Args),
    Train(train::Args),
    Encode(encode::Args),
    Decode(decode::Args),
    ExportC(export_c::Args),
}

/// Run `naicfc ARGS...`; panics unless it succeeds completely.
pub fn naicfc(args: &[&str]) {
    let cli = Cli::try_parse_from(std::iter::once("naicfc").chain(args.iter().copied()))
        .unwrap_or_else(|e| panic!("naicfc {args:?}: {e}"));
    let outcome = match &cli {
        Cli::Synth(a) => synth::run(a),
        Cli::Train(a) => train::run(a),
        Cli::Encode(a) => encode::run(a),
        Cli::Decode(a) => decode::run(a),
        Cli::ExportC(a) => export_c::run(a),
    };
    match outcome {
        Ok(Outcome::Success) => {}
        other => panic!("naicfc {args:?} failed: {other:?}"),
    }
}

pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

/// Whether a missing tool must fail the test instead of skipping it: scripts/test.sh installs
/// every tool and sets this, so CI can never pass by skipping.
pub fn tools_required() -> bool {
    std::env::var_os("NAICFC_REQUIRE_TOOLS").is_some_and(|v| v == "1")
}

/// Whether `tool` runs (`tool --version`).
pub fn have(tool: &str) -> bool {
    Command::new(tool)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Skip (return false with a message) or fail when a tool is missing.
pub fn require(tools: &[&str], what: &str) -> bool {
    let missing: Vec<&str> = tools.iter().copied().filter(|t| !have(t)).collect();
    if missing.is_empty() {
        return true;
    }
    let msg = format!(
        "{what}: SKIPPED, missing {} (scripts/test.sh installs them)",
        missing.join(", ")
    );
    assert!(!tools_required(), "{msg}, and NAICFC_REQUIRE_TOOLS=1");
    eprintln!("{msg}");
    false
}

/// Run a command; panic with its output unless it exits 0.
pub fn run(cmd: &mut Command) -> Output {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    if !out.status.success() {
        panic!(
            "{cmd:?} failed with {}\n--- stdout\n{}\n--- stderr\n{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    out
}

/// `cargo build -p codec-ffi --release [--target T]` and the path of the `libnaicfc.a` it
/// produced, read from cargo's JSON messages so a custom target directory works too.
pub fn build_staticlib(target: Option<&str>) -> PathBuf {
    build_library(target, "libnaicfc.a")
}

/// The shared library (`libnaicfc.so`) of the same build, for hosts that load it dynamically.
pub fn build_cdylib(target: Option<&str>) -> PathBuf {
    build_library(target, "libnaicfc.so")
}

/// Cross linker for a hosted target's shared library: cargo's default `cc` links only for the
/// host. An explicit `CARGO_TARGET_<TRIPLE>_LINKER` in the environment wins.
fn cross_linker(target: &str) -> Option<(String, &'static str)> {
    let gcc = match target {
        "aarch64-unknown-linux-gnu" => "aarch64-linux-gnu-gcc",
        _ => return None,
    };
    let var = format!(
        "CARGO_TARGET_{}_LINKER",
        target.to_uppercase().replace('-', "_")
    );
    std::env::var_os(&var).is_none().then_some((var, gcc))
}

fn build_library(target: Option<&str>, file: &str) -> PathBuf {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(workspace_root()).args([
        "build",
        "-p",
        "codec-ffi",
        "--release",
        "--message-format=json-render-diagnostics",
    ]);
    if let Some(t) = target {
        cmd.args(["--target", t]);
        if let Some((var, gcc)) = cross_linker(t) {
            cmd.env(var, gcc);
        }
    }
    let out = run(&mut cmd);
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let Ok(msg) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        if msg["reason"] != "compiler-artifact" || msg["target"]["name"] != "naicfc" {
            continue;
        }
        if let Some(files) = msg["filenames"].as_array() {
            for f in files.iter().filter_map(|f| f.as_str()) {
                if f.ends_with(file) {
                    return PathBuf::from(f);
                }
            }
        }
    }
    panic!("cargo build -p codec-ffi produced no {file}");
}

/// Libraries a hosted Rust static library needs from the system (what
/// `rustc --print native-static-libs` reports for linux-gnu).
pub const HOST_SYSTEM_LIBS: &[&str] = &[
    "-lgcc_s",
    "-lutil",
    "-lrt",
    "-lpthread",
    "-lm",
    "-ldl",
    "-lc",
];

/// The trained budgets and the ones the golden data covers.
pub const BUDGETS: [usize; 5] = [16, 32, 64, 128, 256];

/// Everything the C tests include, generated from a model trained during the test.
pub struct Fixture {
    /// Work directory (under `target/`, emptied first): the dataset, model, codes, headers
    /// and builds. Kept after the run so a failure can be inspected.
    pub dir: PathBuf,
    /// Holds `naicfc_model.h` and `golden.h`.
    pub headers: PathBuf,
    pub model: PathBuf,
    pub model_bytes: usize,
    pub dim: usize,
}

fn read_f32s(path: &Path) -> Vec<f32> {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    bytes
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}

fn write_f32s(path: &Path, v: &[f32]) {
    let bytes: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
    std::fs::write(path, bytes).unwrap();
}

/// A vector that exercises the exact float conversion's edge cases on both platforms:
/// signed zeros, subnormals, values that saturate the fixed-point range, and ordinary values.
fn extreme_vector(like: &[f32]) -> Vec<f32> {
    like.iter()
        .enumerate()
        .map(|(i, &v)| match i % 11 {
            0 => -0.0,
            1 => f32::from_bits(1),            // smallest subnormal
            2 => -f32::from_bits(0x007F_FFFF), // largest subnormal, negative
            3 => 1.0e30,
            4 => -3.4e38,
            5 => v * 4.0,
            6 => f32::MIN_POSITIVE,
            _ => v,
        })
        .collect()
}

/// Synthesise a tiny dataset, train a `dim`-dimensional model with the default budgets and
/// `quantiser` (`trellis` or `scalar`: named, because `auto` may pick either on so small a
/// set), pick test vectors (two real ones and one of edge cases), and record what the host's
/// `naicfc encode` and `naicfc decode` make of them at every budget. Writes `naicfc_model.h`
/// (by `naicfc export-c`) and `golden.h`.
pub fn fixture(dim: usize, name: &str, quantiser: &str) -> Fixture {
    let dir = work_dir(name);
    let p = |rel: &str| dir.join(rel);
    let s = |path: &Path| path.to_str().unwrap().to_string();
    let data = p("data");
    let dim_text = dim.to_string();
    naicfc(&[
        "synth",
        "--out",
        &s(&data),
        "--dim",
        &dim_text,
        "--seed",
        "7",
        "--identities",
        "100",
        "--images-per-identity",
        "8",
        "--test-identities",
        "4",
        "--queries",
        "4",
        "--gallery",
        "8",
    ]);
    let model = p("model.nfcm");
    naicfc(&[
        "train",
        "--data",
        &s(&data),
        "--out",
        &s(&model),
        "--quantiser",
        quantiser,
    ]);

    let vectors = p("vectors");
    std::fs::create_dir_all(&vectors).unwrap();
    let mut gallery: Vec<PathBuf> = std::fs::read_dir(data.join("gallery_feature"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    gallery.sort();
    let real: Vec<Vec<f32>> = gallery.iter().take(2).map(|f| read_f32s(f)).collect();
    write_f32s(&vectors.join("v0.dat"), &real[0]);
    write_f32s(&vectors.join("v1.dat"), &real[1]);
    write_f32s(&vectors.join("v2.dat"), &extreme_vector(&real[0]));
    let names = ["v0", "v1", "v2"];

    let mut codes: Vec<Vec<Vec<u8>>> = vec![Vec::new(); names.len()]; // [vector][budget]
    let mut decoded: Vec<Vec<Vec<f32>>> = vec![Vec::new(); names.len()];
    for budget in BUDGETS {
        let b = budget.to_string();
        let code_dir = p(&format!("codes-{budget}"));
        let dec_dir = p(&format!("decoded-{budget}"));
        naicfc(&[
            "encode",
            "--model",
            &s(&model),
            "--budget",
            &b,
            "--in",
            &s(&vectors),
            "--out",
            &s(&code_dir),
        ]);
        naicfc(&[
            "decode",
            "--model",
            &s(&model),
            "--in",
            &s(&code_dir),
            "--out",
            &s(&dec_dir),
        ]);
        for (v, name) in names.iter().enumerate() {
            let code = std::fs::read(code_dir.join(format!("{name}.dat"))).unwrap();
            assert!(!code.is_empty() && code.len() <= budget);
            codes[v].push(code);
            let back = read_f32s(&dec_dir.join(format!("{name}.dat")));
            assert_eq!(back.len(), dim);
            decoded[v].push(back);
        }
    }

    let headers = p("headers");
    std::fs::create_dir_all(&headers).unwrap();
    naicfc(&[
        "export-c",
        "--model",
        &s(&model),
        "--out",
        &s(&headers.join("naicfc_model.h")),
    ]);
    let inputs: Vec<Vec<f32>> = (0..names.len())
        .map(|i| read_f32s(&vectors.join(format!("v{i}.dat"))))
        .collect();
    // Every code of format 1 is padded to the length its step index was coded for.
    let padded = true;
    std::fs::write(
        headers.join("golden.h"),
        golden_header(dim, padded, &inputs, &codes, &decoded),
    )
    .unwrap();
    let model_bytes = std::fs::metadata(&model).unwrap().len() as usize;
    Fixture {
        dir,
        headers,
        model,
        model_bytes,
        dim,
    }
}

fn hex_u32s(out: &mut String, values: impl Iterator<Item = u32>) {
    for (i, v) in values.enumerate() {
        if i % 8 == 0 {
            out.push_str("\n    ");
        }
        write!(out, "0x{v:08x}u,").unwrap();
    }
}

/// Floats are written as bit patterns so the comparison on the target is exact, NaN
/// payloads and signed zeros included. `padded`: the model pads codes to their budget,
/// so codes may end in zero bytes (always, since the format froze).
fn golden_header(
    dim: usize,
    padded: bool,
    inputs: &[Vec<f32>],
    codes: &[Vec<Vec<u8>>],
    decoded: &[Vec<Vec<f32>>],
) -> String {
    let max_budget = BUDGETS[BUDGETS.len() - 1];
    let mut h = String::new();
    writeln!(
        h,
        "/* Generated by tests/tests/support: vectors, and what the host's `naicfc encode` and\n \
         * `naicfc decode` made of them at every budget. */\n\
         #ifndef GOLDEN_H\n#define GOLDEN_H\n#include <stdint.h>\n\
         #define GOLDEN_DIM {dim}\n#define GOLDEN_VECTORS {}\n#define GOLDEN_BUDGETS {}\n\
         #define GOLDEN_MAX_BUDGET {max_budget}\n#define GOLDEN_PADDED_CODES {}",
        inputs.len(),
        BUDGETS.len(),
        u8::from(padded)
    )
    .unwrap();
    let list = |v: &[usize]| {
        v.iter()
            .map(|b| b.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    };
    writeln!(
        h,
        "static const uint32_t golden_budget[GOLDEN_BUDGETS] = {{{}}};",
        list(&BUDGETS)
    )
    .unwrap();
    h.push_str("static const uint32_t golden_x[GOLDEN_VECTORS][GOLDEN_DIM] = {");
    for x in inputs {
        h.push_str("\n  {");
        hex_u32s(&mut h, x.iter().map(|v| v.to_bits()));
        h.push_str("\n  },");
    }
    h.push_str("\n};\n");
    h.push_str("static const uint16_t golden_code_len[GOLDEN_VECTORS][GOLDEN_BUDGETS] = {");
    for c in codes {
        let lens: Vec<usize> = c.iter().map(Vec::len).collect();
        write!(h, "\n  {{{}}},", list(&lens)).unwrap();
    }
    h.push_str("\n};\n");
    h.push_str(
        "static const uint8_t golden_code[GOLDEN_VECTORS][GOLDEN_BUDGETS][GOLDEN_MAX_BUDGET] = {",
    );
    for c in codes {
        h.push_str("\n  {");
        for code in c {
            h.push_str("\n    {");
            for b in code {
                write!(h, "0x{b:02x},").unwrap();
            }
            h.push_str("},");
        }
        h.push_str("\n  },");
    }
    h.push_str("\n};\n");
    h.push_str(
        "static const uint32_t golden_decoded[GOLDEN_VECTORS][GOLDEN_BUDGETS][GOLDEN_DIM] = {",
    );
    for d in decoded {
        h.push_str("\n  {");
        for y in d {
            h.push_str("\n    {");
            hex_u32s(&mut h, y.iter().map(|v| v.to_bits()));
            h.push_str("\n    },");
        }
        h.push_str("\n  },");
    }
    h.push_str("\n};\n#endif\n");
    h
}

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target"))
}

/// An empty directory `target/naicfc-work/NAME` for one test's files.
pub fn work_dir(name: &str) -> PathBuf {
    let dir = target_dir().join("naicfc-work").join(name);
    if dir.exists() {
        std::fs::remove_dir_all(&dir).unwrap();
    }
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Where tests leave measured figures for scripts/test.sh to print: `target/naicfc-figures`.
pub fn figures_dir() -> PathBuf {
    let dir = target_dir().join("naicfc-figures");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
