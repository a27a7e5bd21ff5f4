//! The C API on Cortex-M: `libnaicfc.a` built for `thumbv7em-none-eabihf` (Cortex-M4F) and
//! for `thumbv8m.main-none-eabihf` (Cortex-M33), linked into the test firmware of
//! `tests/firmware/` with `arm-none-eabi-gcc` and run on QEMU's mps2-an386 and mps2-an505.
//! The firmware must reproduce, bit for bit, the codes and floats the host's `naicfc encode`
//! and `naicfc decode` made; the image must hold no allocator and no panic formatting. Sizes,
//! stack depth and instruction counts go to target/naicfc-figures/firmware*.txt.

mod support;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::sync::OnceLock;
use support::{
    BUDGETS, Fixture, build_staticlib, figures_dir, fixture, require, run, workspace_root,
};

/// A core, the Rust target and C flags for it, and the QEMU board that runs it.
struct Core {
    /// For the figures: the core and how it was run.
    label: &'static str,
    target: &'static str,
    cpu_flags: &'static [&'static str],
    /// QEMU machine, and the linker script of its memory map in `tests/firmware/`.
    machine: &'static str,
    linker_script: &'static str,
}

const CORTEX_M4F: Core = Core {
    label: "Cortex-M4F (thumbv7em-none-eabihf, release, QEMU mps2-an386)",
    target: "thumbv7em-none-eabihf",
    cpu_flags: &[
        "-mcpu=cortex-m4",
        "-mthumb",
        "-mfloat-abi=hard",
        "-mfpu=fpv4-sp-d16",
    ],
    machine: "mps2-an386",
    linker_script: "mps2-an386.ld",
};

/// Armv8-M Mainline: the core of current camera MCUs, with its own target (other instruction
/// selection, the v8-M FPU), so bit-exactness is checked on it separately.
const CORTEX_M33: Core = Core {
    label: "Cortex-M33 (thumbv8m.main-none-eabihf, release, QEMU mps2-an505, Secure state)",
    target: "thumbv8m.main-none-eabihf",
    cpu_flags: &[
        "-mcpu=cortex-m33",
        "-mthumb",
        "-mfloat-abi=hard",
        "-mfpu=fpv5-sp-d16",
    ],
    machine: "mps2-an505",
    linker_script: "mps2-an505.ld",
};

const CFLAGS: &[&str] = &[
    "-O2",
    "-g",
    "-std=c11",
    "-Wall",
    "-Wextra",
    "-Werror",
    "-ffunction-sections",
    "-fdata-sections",
];

/// Symbols that must not be in the image: an allocator, or the formatting machinery a panic
/// message would need (several KiB of flash for text nobody can read on a camera).
fn forbidden(symbol: &str) -> bool {
    const NAMES: &[&str] = &[
        "__rust_alloc",
        "__rust_dealloc",
        "__rust_realloc",
        "__rg_alloc",
        "malloc",
        "free",
        "realloc",
        "calloc",
        "_sbrk",
        "_malloc_r",
    ];
    NAMES.contains(&symbol)
        || symbol.contains("core::fmt")
        || symbol.contains("panic_fmt")
        || symbol.contains("panic_bounds_check")
        || symbol.contains("core::panicking")
        || symbol.contains("slice_index_fail")
}

/// The name in a line of `nm -C`: `ADDR TYPE NAME`, or `TYPE NAME` (indented) for an
/// undefined symbol. Demangled names contain spaces, so the name is the rest of the line.
fn symbol_name(line: &str) -> Option<&str> {
    let fields = if line.starts_with(' ') { 2 } else { 3 };
    line.trim_start().splitn(fields, ' ').nth(fields - 1)
}

#[test]
fn symbol_check_reads_demangled_names_whole() {
    let name = symbol_name("0000505c T <i32 as core::fmt::Display>::fmt").unwrap();
    assert!(forbidden(name));
    assert_eq!(symbol_name("         w malloc"), Some("malloc"));
    assert!(forbidden("malloc") && forbidden("core::panicking::panic_fmt"));
    assert!(!forbidden("naicfc_encode") && !forbidden("codec_core::internals::decode"));
}

fn text(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `.text`, `.data` and `.bss` of an object or image (`arm-none-eabi-size`, Berkeley format).
fn sizes(file: &Path) -> (u64, u64, u64) {
    let out = run(Command::new("arm-none-eabi-size").arg(file));
    let line = text(&out).lines().nth(1).unwrap_or_default().to_string();
    let v: Vec<u64> = line
        .split_whitespace()
        .take(3)
        .map(|n| n.parse().unwrap())
        .collect();
    (v[0], v[1], v[2])
}

/// Bytes the library contributes to the linked image, by kind (`.text`, `.rodata`, `.data`,
/// `.bss`), from the linker map: every input section kept from `libnaicfc.a` (codec, C API,
/// and the compiler builtins such as memcpy that the library brings).
fn library_sections(map: &Path) -> BTreeMap<&'static str, u64> {
    let text = std::fs::read_to_string(map).unwrap();
    let kept = text
        .split_once("Linker script and memory map")
        .map_or("", |(_, kept)| kept);
    let mut sums = BTreeMap::new();
    let mut pending: Option<String> = None;
    for line in kept.lines() {
        let tokens: Vec<&str> = line.split_whitespace().collect();
        let (name, rest) = if line.starts_with(" .") {
            if tokens.len() == 1 {
                pending = Some(tokens[0].to_string());
                continue;
            }
            (tokens[0].to_string(), &tokens[1..])
        } else if let Some(name) = pending.take() {
            (name, &tokens[..])
        } else {
            continue;
        };
        pending = None;
        if rest.len() < 3 || !rest[2].contains("libnaicfc.a(") {
            continue;
        }
        let Ok(size) = u64::from_str_radix(rest[1].trim_start_matches("0x"), 16) else {
            continue;
        };
        let kind = [".text", ".rodata", ".data", ".bss"]
            .into_iter()
            .find(|k| name == *k || name.starts_with(&format!("{k}.")));
        if let Some(kind) = kind {
            *sums.entry(kind).or_insert(0) += size;
        }
    }
    sums
}

#[test]
fn firmware_reproduces_the_host_bit_for_bit_on_a_cortex_m4() {
    firmware_matches_host(&CORTEX_M4F, "trellis", "firmware.txt");
}

#[test]
fn firmware_reproduces_the_host_with_one_quantiser_too() {
    firmware_matches_host(&CORTEX_M4F, "scalar", "firmware-scalar.txt");
}

#[test]
fn firmware_reproduces_the_host_bit_for_bit_on_a_cortex_m33() {
    firmware_matches_host(&CORTEX_M33, "trellis", "firmware-m33.txt");
}

/// The model and golden data for `quantiser`, made once and shared by the cores' tests (which
/// run in parallel): training is the slow part, and every core must match the same host
/// output.
fn shared_fixture(quantiser: &str) -> &'static Fixture {
    static TRELLIS: OnceLock<Fixture> = OnceLock::new();
    static SCALAR: OnceLock<Fixture> = OnceLock::new();
    let cell = if quantiser == "scalar" {
        &SCALAR
    } else {
        &TRELLIS
    };
    cell.get_or_init(|| fixture(2048, &format!("firmware-{quantiser}"), quantiser))
}

/// Writes `golden_scalable.h` beside the fixture's headers, once per fixture (the cores' tests
/// share it and run in parallel): each test vector's scalable code, as the host's
/// `encode_scalable` makes it, and what `decode_scalable` makes of the whole code and of its
/// first layer.
fn scalable_golden(fx: &'static Fixture) {
    static TRELLIS: OnceLock<()> = OnceLock::new();
    static SCALAR: OnceLock<()> = OnceLock::new();
    let cell = if fx.dir.ends_with("firmware-scalar") {
        &SCALAR
    } else {
        &TRELLIS
    };
    cell.get_or_init(|| {
        let bytes = std::fs::read(&fx.model).unwrap();
        let model = codec_core::Model::parse(&bytes).unwrap();
        let len = codec_core::scalable_len(&model);
        let first = model.budget(0).unwrap();
        let mut h = format!(
            "/* Generated by tests/tests/firmware.rs: the host's scalable codes of the golden \
             vectors and their decodings. */\n#ifndef GOLDEN_SCALABLE_H\n\
             #define GOLDEN_SCALABLE_H\n#include <stdint.h>\n\
             #define GOLDEN_SCALABLE_LEN {len}\n#define GOLDEN_SCALABLE_FIRST_LAYER {first}\n\
             #define GOLDEN_SCALABLE_LAYERS {}u\n",
            model.budget_count()
        );
        let (mut codes, mut whole, mut firsts) = (String::new(), String::new(), String::new());
        for v in 0..3 {
            let raw = std::fs::read(fx.dir.join(format!("vectors/v{v}.dat"))).unwrap();
            let x: Vec<f32> = raw
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect();
            let mut code = vec![0u8; len];
            assert_eq!(codec_core::encode_scalable(&model, &x, &mut code), Ok(len));
            codes.push_str("\n  {");
            for b in &code {
                codes.push_str(&format!("0x{b:02x},"));
            }
            codes.push_str("},");
            for (prefix, out) in [(len, &mut whole), (first, &mut firsts)] {
                let mut y = vec![0f32; fx.dim];
                codec_core::decode_scalable(&model, &code[..prefix], &mut y).unwrap();
                out.push_str("\n  {");
                for f in &y {
                    out.push_str(&format!("0x{:08x}u,", f.to_bits()));
                }
                out.push_str("},");
            }
        }
        h.push_str(&format!(
            "static const uint8_t golden_scalable_code[GOLDEN_VECTORS][GOLDEN_SCALABLE_LEN] = \
             {{{codes}\n}};\n\
             static const uint32_t golden_scalable_decoded[GOLDEN_VECTORS][GOLDEN_DIM] = \
             {{{whole}\n}};\n\
             static const uint32_t golden_scalable_first[GOLDEN_VECTORS][GOLDEN_DIM] = \
             {{{firsts}\n}};\n#endif\n"
        ));
        std::fs::write(fx.headers.join("golden_scalable.h"), h).unwrap();
    });
}

/// Build the test firmware for `core` around a model with `quantiser`, run it on QEMU, check
/// that it reproduces the host's codes and reconstructions bit for bit, and write its figures
/// to `figures` in the figures directory.
fn firmware_matches_host(core: &Core, quantiser: &str, figures: &str) {
    let tools = [
        "arm-none-eabi-gcc",
        "arm-none-eabi-nm",
        "arm-none-eabi-size",
        "qemu-system-arm",
        "timeout",
    ];
    if !require(&tools, "firmware test") {
        return;
    }
    let fx = shared_fixture(quantiser);
    scalable_golden(fx);
    let lib = build_staticlib(Some(core.target));
    let root = workspace_root();
    let fw = root.join("tests/firmware");
    let elf = fx.dir.join(format!("fw-{}.elf", core.machine));
    let map = fx.dir.join(format!("fw-{}.map", core.machine));

    run(Command::new("arm-none-eabi-gcc")
        .args(core.cpu_flags)
        .args(CFLAGS)
        .args(["-nostartfiles", "--specs=nano.specs", "-Wl,--gc-sections"])
        .arg(format!("-Wl,-Map={}", map.display()))
        .arg("-L")
        .arg(&fw)
        .arg("-T")
        .arg(fw.join(core.linker_script))
        .arg("-I")
        .arg(root.join("include"))
        .arg("-I")
        .arg(&fx.headers)
        .args(["startup.c", "semihost.c", "main.c"].map(|f| fw.join(f)))
        .arg(&lib)
        .arg("-o")
        .arg(&elf));

    let symbols = text(&run(Command::new("arm-none-eabi-nm").arg("-C").arg(&elf)));
    let bad: Vec<&str> = symbols
        .lines()
        .filter_map(symbol_name)
        .filter(|s| forbidden(s))
        .collect();
    assert!(
        bad.is_empty(),
        "the firmware image links an allocator or panic formatting:\n{}",
        bad.join("\n")
    );
    assert!(
        symbols.contains(" naicfc_encode_ws") && symbols.contains(" naicfc_decode_ws"),
        "the symbol check looked at an image without the library"
    );

    // -icount shift=0: virtual time advances 1 ns per instruction, which the firmware reads
    // through SysTick to count instructions. The timeout catches a hang (a fault handler that
    // does not exit, a wrong exit call).
    let out = Command::new("timeout")
        .args(["300", "qemu-system-arm", "-M", core.machine, "-nographic"])
        .args(["-icount", "shift=0"])
        .args(["-semihosting-config", "enable=on,target=native"])
        .arg("-kernel")
        .arg(&elf)
        .output()
        .expect("run qemu-system-arm");
    // QEMU prints the semihosting console on its stderr.
    let console = String::from_utf8_lossy(&out.stderr).into_owned();
    println!("{console}");
    assert!(
        out.status.success(),
        "firmware failed ({}; 99 is a fault, 124 the timeout):\n{console}",
        out.status,
    );
    assert!(
        console.contains(" 0 failed"),
        "firmware output without its summary line:\n{console}"
    );

    // Figures.
    let value = |key: &str| -> u64 {
        console
            .lines()
            .find_map(|l| l.strip_prefix(key)?.trim().parse().ok())
            .unwrap_or_else(|| panic!("firmware did not report {key}"))
    };
    let mut per_budget: BTreeMap<u64, (Vec<u64>, Vec<u64>)> = BTreeMap::new();
    for line in console.lines().filter(|l| l.starts_with("measure ")) {
        let f: Vec<&str> = line.split_whitespace().collect();
        let get = |k: &str| -> u64 {
            let i = f.iter().position(|x| *x == k).unwrap();
            f[i + 1].parse().unwrap()
        };
        let e = per_budget.entry(get("budget")).or_default();
        e.0.push(get("encode_insns"));
        e.1.push(get("decode_insns"));
    }
    assert_eq!(per_budget.len(), BUDGETS.len());
    let calibration = value("calibration_insns_per_1024_ticks");
    assert!(calibration > 0, "the SysTick counter did not run");

    let (text_all, data_all, bss_all) = sizes(&elf);
    let lib_sections = library_sections(&map);
    let lib_text = lib_sections.get(".text").copied().unwrap_or(0);
    assert!(lib_text > 1000, "no library code found in the linker map");
    let mean = |v: &[u64]| v.iter().sum::<u64>() / v.len() as u64;
    let mut report = String::new();
    report.push_str(&format!(
        "{}, dimension {}, {quantiser} model {} bytes\n",
        core.label, fx.dim, fx.model_bytes
    ));
    report.push_str(&format!(
        "linked test firmware (arm-none-eabi-size): text {text_all} (model and golden data \
         included), data {data_all}, bss {bss_all}\n"
    ));
    report.push_str(&format!(
        "library in the image (linker map): .text {lib_text}, .rodata {}, .data {}, .bss {} bytes\n",
        lib_sections.get(".rodata").copied().unwrap_or(0),
        lib_sections.get(".data").copied().unwrap_or(0),
        lib_sections.get(".bss").copied().unwrap_or(0),
    ));
    // The targets of the workspace calls (issue 18): an RTOS task of 2 KiB can call them, and
    // the 2048-d model's workspace fits 8 KiB.
    for key in ["encode_stack_max", "decode_stack_max"] {
        assert!(value(key) <= 2048, "{key} {} above 2 KiB", value(key));
    }
    for key in ["encode_scalable_stack_max", "decode_scalable_stack_max"] {
        assert!(value(key) <= 2048, "{key} {} above 2 KiB", value(key));
    }
    for key in [
        "workspace_encode_bytes",
        "workspace_decode_bytes",
        "workspace_encode_scalable_bytes",
        "workspace_decode_scalable_bytes",
    ] {
        assert!(value(key) <= 8192, "{key} {} above 8 KiB", value(key));
    }
    // The workspace calls, which firmware should use; then the calls without one.
    report.push_str(&format!(
        "stack, worst case over all vectors and budgets: encode {} bytes, decode {} bytes\n",
        value("encode_stack_max"),
        value("decode_stack_max")
    ));
    report.push_str(&format!(
        "workspace (naicfc_workspace_size): encode {} bytes, decode {} bytes\n",
        value("workspace_encode_bytes"),
        value("workspace_decode_bytes")
    ));
    report.push_str(&format!(
        "scalable codes (naicfc_encode_scalable_ws, naicfc_decode_scalable_ws), worst case: \
         stack encode {} bytes, decode {} bytes; workspace encode {} bytes, decode {} bytes; \
         instructions (mean) encode {}, decode {}\n",
        value("encode_scalable_stack_max"),
        value("decode_scalable_stack_max"),
        value("workspace_encode_scalable_bytes"),
        value("workspace_decode_scalable_bytes"),
        value("encode_scalable_insns_mean"),
        value("decode_scalable_insns_mean"),
    ));
    report.push_str(&format!(
        "stack without a workspace (naicfc_encode, naicfc_decode), worst case: encode {} bytes, \
         decode {} bytes\n",
        value("encode_stack_nows_max"),
        value("decode_stack_nows_max")
    ));
    report.push_str(&format!(
        "naicfc_model_init: {} instructions; naicfc_model_init_trusted (no checksum): {}\n",
        value("model_init_insns"),
        value("model_init_trusted_insns")
    ));
    report.push_str(&format!(
        "naicfc_model_init: stack {} bytes\n",
        value("model_init_stack")
    ));
    report.push_str(
        "Thumb-2 instructions per call of naicfc_encode_ws and naicfc_decode_ws (QEMU -icount \
         via SysTick, mean of the test vectors)\n",
    );
    report.push_str("budget  encode  decode\n");
    for (budget, (enc, dec)) in &per_budget {
        report.push_str(&format!(
            "{budget:>6}  {:>6}  {:>6}\n",
            mean(enc),
            mean(dec)
        ));
    }
    println!("{report}");
    std::fs::write(figures_dir().join(figures), report).unwrap();
}
