//! Inputs that once crashed the codec or broke a promise (found by fuzzing): each must now be
//! a clean error or a clean result. File names say what they exercised; `model-*` files are
//! parsed as models (and one that parses must code a vector at its minimum budget), `code-*`
//! files decoded with the golden model.

use codec_core::{Model, decode, encode, min_budget};
use std::path::PathBuf;

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/regressions")
}

#[test]
fn former_crashes_are_handled() {
    let golden =
        std::fs::read(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden/model-v1.nfcm"))
            .unwrap();
    let golden = Model::parse(&golden).unwrap();
    let mut seen = 0;
    for entry in std::fs::read_dir(dir()).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let bytes = std::fs::read(&path).unwrap();
        if name.starts_with("model-") {
            if let Ok(model) = Model::parse(&bytes)
                && let Ok(min) = min_budget(&model)
            {
                let x: Vec<f32> = (0..model.dim())
                    .map(|i| ((i % 7) as f32 - 3.0) * 0.125)
                    .collect();
                let mut code = vec![0u8; min];
                let len = encode(&model, &x, min, &mut code)
                    .unwrap_or_else(|e| panic!("{name}: no code at the minimum budget {min}: {e}"));
                let mut out = vec![0f32; model.dim()];
                decode(&model, &code[..len], &mut out).unwrap();
            }
        } else if name.starts_with("code-") {
            let mut out = vec![0f32; golden.dim()];
            let _ = decode(&golden, &bytes, &mut out);
        } else {
            panic!("{name}: regression files start with model- or code-");
        }
        seen += 1;
    }
    assert!(seen > 0);
}
