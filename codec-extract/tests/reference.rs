//! naicfc's features of the committed test images match onnxruntime's (computed by
//! scripts/make-test-onnx.py) within 1e-4, plain and with flip averaging and L2 normalisation;
//! its bilinear resize matches PIL's; malformed models are refused naming their shapes.

use codec_extract::{Extractor, Options, read_image};
use std::path::{Path, PathBuf};

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

fn read_dat(path: &Path) -> Vec<f32> {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    bytes
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect()
}

/// The images with references (all but `small.png`, whose reference is a resized picture).
const IMAGES: [&str; 4] = ["grey.png", "person.png", "rgba.png", "vehicle.bmp"];

/// Largest difference between naicfc's features of every reference image and onnxruntime's.
fn max_error(opts: &Options, refs: &str) -> f32 {
    let extractor = Extractor::load(&data("reid.onnx"), opts).unwrap();
    assert_eq!(extractor.dim(), 2048);
    let images: Vec<_> = IMAGES
        .iter()
        .map(|n| read_image(&data(&format!("images/{n}"))).unwrap())
        .collect();
    let features = extractor.features(&images).unwrap();
    let mut worst = 0f32;
    for (name, row) in IMAGES.iter().zip(features.chunks_exact(2048)) {
        let stem = name.split('.').next().unwrap();
        let want = read_dat(&data(&format!("refs/{refs}/{stem}.dat")));
        assert_eq!(want.len(), 2048, "{name}");
        for (a, b) in row.iter().zip(&want) {
            worst = worst.max((a - b).abs());
        }
    }
    worst
}

#[test]
fn features_match_onnxruntime_within_1e_4() {
    // Batches of 3 for 4 images: a full batch and a padded one.
    for batch in [1, 3] {
        let opts = Options {
            batch,
            ..Options::default()
        };
        let err = max_error(&opts, "plain");
        println!("batch {batch}: max |naicfc - onnxruntime| = {err:.2e} (plain)");
        assert!(err <= 1e-4, "batch {batch}: {err}");
    }
    let opts = Options {
        flip: true,
        normalize: true,
        ..Options::default()
    };
    let err = max_error(&opts, "flip_l2");
    println!("max |naicfc - onnxruntime| = {err:.2e} (--flip --normalize)");
    assert!(err <= 1e-4, "{err}");
}

#[test]
fn a_wrong_preprocessing_does_not_match() {
    // The reference test above can fail: swapping the channels moves the features well past it.
    let opts = Options {
        bgr: true,
        ..Options::default()
    };
    assert!(max_error(&opts, "plain") > 1e-2);
}

#[test]
fn the_bilinear_resize_is_pils() {
    let small = read_image(&data("images/small.png")).unwrap();
    let pil = read_image(&data("resized/small.png")).unwrap();
    let ours = image::imageops::resize(&small, 128, 256, image::imageops::FilterType::Triangle);
    let diffs: Vec<i32> = ours
        .as_raw()
        .iter()
        .zip(pil.as_raw())
        .map(|(a, b)| (i32::from(*a) - i32::from(*b)).abs())
        .collect();
    let max = diffs.iter().max().copied().unwrap_or(0);
    let off = diffs.iter().filter(|d| **d > 0).count() as f64 / diffs.len() as f64;
    println!(
        "resize vs PIL: max difference {max} levels, {:.1}% of values differ",
        off * 100.0
    );
    // Rounding of the last level only: the filters are the same.
    assert!(max <= 1, "{max}");
}

#[test]
fn models_of_the_wrong_shape_are_refused_naming_the_shapes() {
    let err = Extractor::load(&data("two_inputs.onnx"), &Options::default()).unwrap_err();
    let msg = format!("{err:#}");
    assert!(msg.contains("has 2 inputs"), "{msg}");
    assert!(
        msg.contains("a [batch,3,256,128]") && msg.contains("b [batch,3,256,128]"),
        "{msg}"
    );

    let err = Extractor::load(&data("map_output.onnx"), &Options::default()).unwrap_err();
    let msg = format!("{err:#}");
    assert!(msg.contains("output is map [16,4,128,64]"), "{msg}");
    assert!(msg.contains("[batch, D]"), "{msg}");

    let opts = Options {
        height: 128,
        ..Options::default()
    };
    let err = Extractor::load(&data("reid.onnx"), &opts).unwrap_err();
    let msg = format!("{err:#}");
    assert!(msg.contains("images [batch,3,256,128]"), "{msg}");
    assert!(msg.contains("[batch, 3, 128, 128]"), "{msg}");
}

#[test]
fn a_corrupt_image_is_an_error_not_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    let png = std::fs::read(data("images/person.png")).unwrap();
    let cases: [(&str, &[u8]); 3] = [
        ("truncated.png", &png[..png.len() / 2]),
        ("text.jpg", b"not an image at all"),
        ("empty.bmp", b""),
    ];
    for (name, bytes) in cases {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        assert!(read_image(&path).is_err(), "{name}");
    }
    assert!(read_image(&dir.path().join("missing.png")).is_err());
}
