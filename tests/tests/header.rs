//! include/naicfc.h must be exactly what the pinned cbindgen makes of codec-ffi's sources, so
//! a change to the API or its documentation cannot leave the header behind.

mod support;

use std::process::Command;
use support::{run, tools_required, workspace_root};

#[test]
fn checked_in_header_matches_a_fresh_one() {
    let root = workspace_root();
    let script = std::fs::read_to_string(root.join("scripts/gen-header.sh")).unwrap();
    let pinned = script
        .lines()
        .find_map(|l| l.strip_prefix("CBINDGEN_VERSION="))
        .expect("scripts/gen-header.sh pins CBINDGEN_VERSION")
        .trim()
        .to_string();
    let cargo_home = std::env::var_os("CARGO_HOME")
        .map(std::path::PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| std::path::Path::new(&h).join(".cargo")))
        .expect("CARGO_HOME or HOME");
    let cbindgen = cargo_home.join("bin/cbindgen");
    let version = Command::new(&cbindgen)
        .arg("--version")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    if version != format!("cbindgen {pinned}") {
        // The script would install it; a test should not spend minutes doing that.
        let msg = format!(
            "header check: SKIPPED, cbindgen {pinned} not installed (found {version:?}); \
             scripts/test.sh installs it"
        );
        assert!(!tools_required(), "{msg}");
        eprintln!("{msg}");
        return;
    }
    let out = run(Command::new("bash")
        .arg(root.join("scripts/gen-header.sh"))
        .arg("--check"));
    assert!(String::from_utf8_lossy(&out.stdout).contains("up to date"));
}
