//! Tells the index's first pass (`src/index/scan.rs`) whether this compiler has the AVX-512
//! intrinsics, stable since Rust 1.89: older compilers, down to the workspace's declared
//! minimum, build the portable kernel alone instead of failing.

use std::process::Command;

fn main() {
    println!("cargo::rustc-check-cfg=cfg(naicfc_avx512)");
    println!("cargo::rerun-if-changed=build.rs");
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let minor = Command::new(rustc)
        .arg("--version")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|v| {
            // "rustc 1.95.0 (59807616e 2026-04-14)"
            let version = v.split_whitespace().nth(1)?;
            let mut parts = version.split('.');
            let major: u32 = parts.next()?.parse().ok()?;
            let minor: u32 = parts.next()?.parse().ok()?;
            Some((major, minor))
        });
    if minor.is_some_and(|v| v >= (1, 89)) {
        println!("cargo::rustc-cfg=naicfc_avx512");
    }
}
