//! The C API on the host: `tests/c/host_test.c` against `libnaicfc.a`, under ASan + UBSan and
//! under valgrind, and against the shared `libnaicfc.so`, with a model trained and golden codes
//! made by `naicfc` during the test; the same test cross-built for AArch64 Linux and run under
//! `qemu-aarch64`, which checks its codes and floats against the x86-64 ones; the README's C
//! example; and instruction counts (callgrind).

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use support::{
    Fixture, HOST_SYSTEM_LIBS, build_cdylib, build_staticlib, figures_dir, require, run,
};

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
    check_workspace_sizes(fx, &text);
}

/// The workspace sizes the C test printed: the library's for the test model must be the
/// codec's, and the header's macros must give the codec's bound for every dimension printed
/// (for dimensions up to 1024 a model may have as many active dimensions and coefficients).
fn check_workspace_sizes(fx: &Fixture, text: &str) {
    use codec_core::{Model, Op, max_workspace_size, workspace_size};
    let bytes = std::fs::read(&fx.model).unwrap();
    let model = Model::parse(&bytes).unwrap();
    let want = format!(
        "workspace: encode {} bytes, decode {} bytes",
        workspace_size(&model, Op::Encode),
        workspace_size(&model, Op::Decode)
    );
    assert!(text.contains(&want), "{want} missing from:\n{text}");
    let mut seen = 0;
    for line in text.lines() {
        let Some(rest) = line.strip_prefix("workspace macro dim ") else {
            continue;
        };
        let f: Vec<usize> = rest
            .split_whitespace()
            .filter_map(|w| w.parse().ok())
            .collect();
        let [dim, encode, decode, any] = f[..] else {
            panic!("malformed line {line}");
        };
        let (e, d) = (
            max_workspace_size(Op::Encode, dim),
            max_workspace_size(Op::Decode, dim),
        );
        assert_eq!((encode, decode, any), (e, d, e.max(d)), "dimension {dim}");
        seen += 1;
    }
    assert!(seen >= 10, "the C test printed {seen} macro lines");
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

/// The shared library, as a host that links it dynamically (or loads it with `dlopen`, ctypes)
/// uses it: the whole host test against `libnaicfc.so`, and only the C API exported from it.
#[test]
fn host_test_passes_against_the_shared_library() {
    if !require(&["cc", "nm", "readelf"], "C host test against libnaicfc.so") {
        return;
    }
    let (fx, _) = setup();
    let so = build_cdylib(None);
    let lib_dir = so.parent().unwrap();
    let exe = fx.dir.join("host_test_shared");
    run(Command::new("cc")
        .args([
            "-std=c11", "-O1", "-g", "-Wall", "-Wextra", "-Werror", "-pthread",
        ])
        .arg("-I")
        .arg(support::workspace_root().join("include"))
        .arg("-I")
        .arg(&fx.headers)
        .arg(c_dir().join("host_test.c"))
        .arg("-L")
        .arg(lib_dir)
        .arg("-l:libnaicfc.so")
        .arg(format!("-Wl,-rpath,{}", lib_dir.display()))
        .arg("-o")
        .arg(&exe));
    let dynamic = stdout(&run(Command::new("readelf").arg("-d").arg(&exe)));
    assert!(
        dynamic.contains("Shared library: [libnaicfc.so]"),
        "the test program does not load libnaicfc.so:\n{dynamic}"
    );
    // cargo test puts target/<profile>/deps on LD_LIBRARY_PATH, which outranks the runpath:
    // a libnaicfc.so left there by an earlier build would be loaded instead of this one.
    let out = run(Command::new(&exe)
        .env_remove("LD_LIBRARY_PATH")
        .arg("--quick"));
    let text = stdout(&out);
    assert!(
        text.contains(" 0 failed"),
        "host test against libnaicfc.so reported failures:\n{text}"
    );

    // The dynamic symbol table is the library's whole surface for dlopen and ctypes users:
    // the C API and nothing of Rust's internals.
    let symbols = stdout(&run(Command::new("nm")
        .args(["-D", "--defined-only", "--format=posix"])
        .arg(&so)));
    let exported: Vec<&str> = symbols
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert!(exported.contains(&"naicfc_encode") && exported.contains(&"naicfc_model_length"));
    let foreign: Vec<&&str> = exported
        .iter()
        .filter(|s| !s.starts_with("naicfc_"))
        .collect();
    assert!(
        foreign.is_empty(),
        "libnaicfc.so exports more than the C API: {foreign:?}"
    );
}

const AARCH64: &str = "aarch64-unknown-linux-gnu";
/// The Debian cross toolchain's sysroot, where `qemu-aarch64` finds the dynamic loader.
const AARCH64_SYSROOT: &str = "/usr/aarch64-linux-gnu";

/// AArch64 Linux, the SoC class of IP cameras: the host test, built with the cross compiler
/// against `libnaicfc.a` and `libnaicfc.so` for `aarch64-unknown-linux-gnu`, runs under QEMU's
/// user mode. Its golden data is what `naicfc` made on this (x86-64) machine, so passing means
/// the same code bytes and decoded float bits on both. Figures go to
/// target/naicfc-figures/aarch64.txt.
#[test]
fn host_test_is_bit_exact_on_aarch64_linux() {
    let tools = [
        "aarch64-linux-gnu-gcc",
        "aarch64-linux-gnu-size",
        "qemu-aarch64",
    ];
    if !require(&tools, "AArch64 host test") {
        return;
    }
    let (fx, _) = setup();
    let static_lib = build_staticlib(Some(AARCH64));
    let shared_lib = build_cdylib(Some(AARCH64));
    let compile = |exe: &Path, link: &[std::ffi::OsString]| {
        run(Command::new("aarch64-linux-gnu-gcc")
            .args([
                "-std=c11", "-O2", "-g", "-Wall", "-Wextra", "-Werror", "-pthread",
            ])
            .arg("-I")
            .arg(support::workspace_root().join("include"))
            .arg("-I")
            .arg(&fx.headers)
            .arg(c_dir().join("host_test.c"))
            .args(link)
            .arg("-o")
            .arg(exe));
    };
    let static_exe = fx.dir.join("host_test_aarch64");
    let mut link: Vec<std::ffi::OsString> = vec![static_lib.clone().into()];
    link.extend(HOST_SYSTEM_LIBS.iter().map(Into::into));
    compile(&static_exe, &link);
    let shared_exe = fx.dir.join("host_test_aarch64_shared");
    let lib_dir = shared_lib.parent().unwrap();
    compile(
        &shared_exe,
        &[
            "-L".into(),
            lib_dir.into(),
            "-l:libnaicfc.so".into(),
            format!("-Wl,-rpath,{}", lib_dir.display()).into(),
        ],
    );

    let mut report = String::from(
        "AArch64 Linux (aarch64-unknown-linux-gnu, release, aarch64-linux-gnu-gcc, qemu-aarch64 \
         user mode)\n",
    );
    // --quick: the damage sweep over one code only (QEMU is slow); every golden code and
    // decoded vector is still compared.
    for (exe, what) in [(&static_exe, "libnaicfc.a"), (&shared_exe, "libnaicfc.so")] {
        let out = run(Command::new("qemu-aarch64")
            .args(["-L", AARCH64_SYSROOT])
            .arg(exe)
            .arg("--quick"));
        let text = stdout(&out);
        println!("{text}");
        let summary = text
            .lines()
            .find(|l| l.starts_with("host_test: "))
            .unwrap_or_else(|| panic!("no summary line:\n{text}"));
        assert!(
            summary.ends_with(" 0 failed"),
            "host test on AArch64 ({what}) reported failures:\n{text}"
        );
        report.push_str(&format!(
            "host test (--quick) against {what}: {} (codes and decoded floats identical to \
             x86-64's at every budget)\n",
            summary.trim_start_matches("host_test: ")
        ));
    }
    let size = stdout(&run(Command::new("aarch64-linux-gnu-size").arg(&shared_lib)));
    let text_bytes = size
        .lines()
        .nth(1)
        .and_then(|l| l.split_whitespace().next())
        .unwrap_or("?");
    report.push_str(&format!(
        "libnaicfc.so: {} bytes on disk, .text {text_bytes} bytes\n",
        std::fs::metadata(&shared_lib).unwrap().len()
    ));
    println!("{report}");
    std::fs::write(figures_dir().join("aarch64.txt"), report).unwrap();
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
