//! The C API on the host: `tests/c/host_test.c` against `libnaicfc.a`, under ASan + UBSan and
//! under valgrind, with a model trained and golden codes made by `naicfc` during the test; the
//! README's C example; and instruction counts (callgrind).

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use support::{Fixture, HOST_SYSTEM_LIBS, build_staticlib, figures_dir, require, run};

const DIM: usize = 2048;

/// One model, golden set and library for all tests of this file (they run in parallel).
fn setup() -> &'static (Fixture, PathBuf) {
    static SETUP: OnceLock<(Fixture, PathBuf)> = OnceLock::new();
    SETUP.get_or_init(|| {
        (
            support::fixture(DIM, "c_api", "trellis"),
            build_staticlib(None),
        )
    })
}

fn c_dir() -> PathBuf {
    support::workspace_root().join("tests/c")
}

/// Compile `source` against the headers and the library with extra `flags`.
fn compile(source: &str, exe: &Path, flags: &[&str]) {
    let (fx, lib) = setup();
    let mut cmd = Command::new("cc");
    cmd.args(["-std=c11", "-g", "-Wall", "-Wextra", "-Werror", "-pthread"])
        .args(flags)
        .arg("-I")
        .arg(support::workspace_root().join("include"))
        .arg("-I")
        .arg(&fx.headers)
        .arg(c_dir().join(source))
        .arg(lib)
        .args(HOST_SYSTEM_LIBS)
        .arg("-o")
        .arg(exe);
    run(&mut cmd);
}

fn stdout(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn host_test_passes_under_address_and_undefined_behaviour_sanitizers() {
    if !require(&["cc"], "C host test") {
        return;
    }
    let (fx, _) = setup();
    let exe = fx.dir.join("host_test_asan");
    compile(
        "host_test.c",
        &exe,
        &[
            "-O1",
            "-fno-omit-frame-pointer",
            "-fsanitize=address,undefined",
            "-fno-sanitize-recover=all",
        ],
    );
    let out = run(Command::new(&exe).env("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=0"));
    let text = stdout(&out);
    println!("{text}");
    assert!(
        text.contains(" 0 failed"),
        "host test reported failures:\n{text}"
    );
}

#[test]
fn host_test_passes_under_valgrind() {
    if !require(&["cc", "valgrind"], "C host test under valgrind") {
        return;
    }
    let (fx, _) = setup();
    let exe = fx.dir.join("host_test_plain");
    compile("host_test.c", &exe, &["-O1"]);
    // valgrind sees the Rust code's memory accesses too, which ASan (instrumenting only the
    // C side) does not.
    let out = run(Command::new("valgrind")
        .args(["--error-exitcode=3", "--quiet", "--track-origins=yes"])
        .arg(&exe)
        .arg("--quick"));
    let text = stdout(&out);
    assert!(
        text.contains(" 0 failed"),
        "host test reported failures:\n{text}"
    );
}

#[test]
fn readme_example_compiles_and_runs() {
    if !require(&["cc"], "README C example") {
        return;
    }
    let (fx, _) = setup();
    let exe = fx.dir.join("example");
    compile("example.c", &exe, &["-O2", "-Wpedantic"]);
    let out = run(&mut Command::new(&exe));
    let text = stdout(&out);
    assert!(text.contains("-byte code; 2048 floats restored"), "{text}");
}

/// Firmware code bases use old C standards and C++: the generated header and an exported
/// model must compile cleanly in each.
#[test]
fn headers_compile_as_c99_c11_c2x_and_cpp() {
    if !require(&["cc", "c++"], "header language check") {
        return;
    }
    let (fx, _) = setup();
    let api = support::workspace_root().join("include/naicfc.h");
    let model = fx.headers.join("naicfc_model.h");
    for (compiler, lang, std) in [
        ("cc", "c", "-std=c99"),
        ("cc", "c", "-std=c11"),
        ("cc", "c", "-std=c2x"),
        ("c++", "c++", "-std=c++11"),
        ("c++", "c++", "-std=c++17"),
    ] {
        for header in [&api, &model] {
            run(Command::new(compiler)
                .args([
                    std,
                    "-Wall",
                    "-Wextra",
                    "-Wpedantic",
                    "-Werror",
                    "-fsyntax-only",
                ])
                .args(["-x", lang])
                .arg(header));
        }
    }
}

#[test]
fn readme_shows_the_compiled_example_verbatim() {
    let example = std::fs::read_to_string(c_dir().join("example.c")).unwrap();
    let readme = std::fs::read_to_string(support::workspace_root().join("README.md")).unwrap();
    assert!(
        readme.contains(&format!("```c\n{example}```")),
        "README.md must contain tests/c/example.c verbatim in a ```c block"
    );
}

/// Instruction counts on the host (x86-64) from callgrind: exact, unlike timings on a shared
/// machine. Written to target/naicfc-figures/host-instructions.txt.
#[test]
fn instruction_counts_per_call() {
    if !require(&["cc", "valgrind"], "instruction counts") {
        return;
    }
    let (fx, _) = setup();
    let exe = fx.dir.join("bench");
    compile("bench.c", &exe, &["-O2"]);
    let vectors = 3u64;
    let count = |function: &str, op: &str, budget_index: usize| -> u64 {
        let out_file = fx.dir.join(format!("callgrind.{op}.{budget_index}"));
        run(Command::new("valgrind")
            .args(["--tool=callgrind", "--quiet"])
            .arg(format!("--toggle-collect={function}"))
            .arg(format!("--callgrind-out-file={}", out_file.display()))
            .arg(&exe)
            .args([op, &budget_index.to_string()]));
        let text = std::fs::read_to_string(&out_file).unwrap();
        let total = text
            .lines()
            .find_map(|l| {
                l.strip_prefix("totals:")
                    .or_else(|| l.strip_prefix("summary:"))
            })
            .and_then(|v| v.trim().parse::<u64>().ok())
            .expect("callgrind output has a total");
        total / vectors
    };
    let mut report = format!(
        "x86-64 instructions per call (callgrind, mean of {vectors} vectors, dimension {DIM}, trellis \
         model {} bytes)\n",
        fx.model_bytes
    );
    let init = count("naicfc_model_init", "init", 0);
    report.push_str(&format!("naicfc_model_init: {init}\n"));
    report.push_str("budget  encode  decode\n");
    for (i, budget) in support::BUDGETS.iter().enumerate() {
        let enc = count("naicfc_encode", "encode", i);
        let dec = count("naicfc_decode", "decode", i);
        assert!(enc > 1000 && dec > 1000, "implausible counts {enc} {dec}");
        report.push_str(&format!("{budget:>6}  {enc:>6}  {dec:>6}\n"));
    }
    println!("{report}");
    std::fs::write(figures_dir().join("host-instructions.txt"), report).unwrap();
}
