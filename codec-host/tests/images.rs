//! The image pipeline end to end, as in the semi-final and final rounds: a generated image set
//! with identities and cameras -> `extract` (the committed test model) -> `train` -> `encode`
//! at 16/32/64 B -> `decode` -> `reid` -> `score`. Re-ID on the uncompressed features must be
//! clearly better than chance; the coded pipeline's ACC_reid is printed per budget.
//! Also: how `extract` reports bad images and refuses bad models and outputs.

mod support;

use codec_extract::imageset::{ImageSetConfig, write_image_set};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use support::{expect, naicfc, ok, p, stderr};

fn test_data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../codec-extract/tests/data")
        .join(name)
}

fn extract(model: &Path, images: &Path, out: &Path, extra: &[&str]) -> std::process::Output {
    let mut args = vec![
        "extract",
        "--model",
        p(model),
        "--images",
        p(images),
        "--out",
        p(out),
    ];
    args.extend_from_slice(extra);
    naicfc(&args)
}

/// `score --json` of `results` on the image set at `root`: ACC_reid.
fn acc_reid(root: &Path, results: &Path) -> f64 {
    let o = ok(&[
        "score",
        "--json",
        "--results",
        p(results),
        "--query-list",
        p(&root.join("query_list.txt")),
        "--gallery-list",
        p(&root.join("gallery_list.txt")),
    ]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    v["acc_reid"].as_f64().unwrap()
}

/// `reid` of the queries `query` against the image set's gallery features, into `out`.
fn reid(root: &Path, query: &Path, out: &Path) {
    ok(&[
        "reid",
        "--query",
        p(query),
        "--gallery",
        p(&root.join("gallery_feature")),
        "--out",
        p(out),
        "--query-list",
        p(&root.join("query_list.txt")),
        "--gallery-list",
        p(&root.join("gallery_list.txt")),
    ]);
}

/// The ACC_reid a random ranking scores on average: for each query the share of the gallery
/// that is its identity (the chance of a hit at rank 1, and about the average precision of a
/// random order), averaged over the queries.
fn chance_level(root: &Path) -> f64 {
    let ids = |list: &str| -> Vec<String> {
        std::fs::read_to_string(root.join(list))
            .unwrap()
            .lines()
            .map(|l| l.split_whitespace().nth(1).unwrap().to_string())
            .collect()
    };
    let gallery = ids("gallery_list.txt");
    let mut per_id: HashMap<&str, usize> = HashMap::new();
    for g in &gallery {
        *per_id.entry(g).or_default() += 1;
    }
    let queries = ids("query_list.txt");
    queries
        .iter()
        .map(|q| per_id.get(q.as_str()).copied().unwrap_or(0) as f64 / gallery.len() as f64)
        .sum::<f64>()
        / queries.len() as f64
}

#[test]
fn images_to_scored_results_at_16_32_64_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("set");
    let counts = write_image_set(&root, &ImageSetConfig::default()).unwrap();
    let model = test_data("reid.onnx");
    for (images, features, n) in [
        ("train/train_images", "train/train_feature", counts.train),
        ("query_images", "query_feature", counts.query),
        ("gallery_images", "gallery_feature", counts.gallery),
    ] {
        let o = extract(
            &model,
            &root.join(images),
            &root.join(features),
            &["--json"],
        );
        assert!(o.status.success(), "{}", stderr(&o));
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        assert_eq!(v["written"], n, "{images}");
        assert_eq!(v["dim"], 2048);
    }

    let chance = chance_level(&root);
    let plain = dir.path().join("plain.json");
    reid(&root, &root.join("query_feature"), &plain);
    let uncoded = acc_reid(&root, &plain);
    println!("image pipeline: chance {chance:.4}, uncompressed ACC_reid {uncoded:.4}");
    assert!(
        uncoded > 5.0 * chance,
        "uncompressed ACC_reid {uncoded} is not clearly above chance {chance}"
    );

    let nfcm = dir.path().join("m.nfcm");
    ok(&[
        "train",
        "--data",
        p(&root),
        "--out",
        p(&nfcm),
        "--budgets",
        "16,32,64",
    ]);
    for budget in ["16", "32", "64"] {
        let codes = dir.path().join(format!("codes{budget}"));
        let rec = dir.path().join(format!("rec{budget}"));
        let query = root.join("query_feature");
        ok(&[
            "encode",
            "--model",
            p(&nfcm),
            "--budget",
            budget,
            "--in",
            p(&query),
            "--out",
            p(&codes),
        ]);
        ok(&[
            "decode",
            "--model",
            p(&nfcm),
            "--in",
            p(&codes),
            "--out",
            p(&rec),
        ]);
        let results = dir.path().join(format!("coded{budget}.json"));
        reid(&root, &rec, &results);
        let acc = acc_reid(&root, &results);
        println!("image pipeline: {budget} B ACC_reid {acc:.4}");
        // Coding loses some accuracy, never all of it.
        assert!(acc > 2.0 * chance, "{budget} B: {acc} (chance {chance})");
    }
}

#[test]
fn a_bad_image_is_reported_by_name_and_the_rest_extracted() {
    let dir = tempfile::tempdir().unwrap();
    let images = dir.path().join("images");
    std::fs::create_dir(&images).unwrap();
    for name in ["person.png", "vehicle.bmp", "grey.png"] {
        std::fs::copy(test_data(&format!("images/{name}")), images.join(name)).unwrap();
    }
    std::fs::write(images.join("broken.jpg"), b"\xff\xd8\xff\xe0 not really").unwrap();
    std::fs::write(images.join("notes.txt"), b"ignored").unwrap();
    // Same stem as person.png: one of them would overwrite the other's features.
    std::fs::copy(test_data("images/person.png"), images.join("person.bmp")).unwrap();
    let out = dir.path().join("f");
    let o = extract(&test_data("reid.onnx"), &images, &out, &[]);
    expect(
        &o,
        1,
        &[
            "broken.jpg: cannot read the image",
            "person.png: same stem as",
            "2 images rejected",
        ],
    );
    let mut written: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    written.sort();
    assert_eq!(written, ["grey.dat", "person.dat", "vehicle.dat"]);
    assert_eq!(
        std::fs::metadata(out.join("grey.dat")).unwrap().len(),
        2048 * 4
    );

    // --strict stops at the first (the listing's); a .npy output carries the names.
    let o = extract(
        &test_data("reid.onnx"),
        &images,
        &dir.path().join("s"),
        &["--strict"],
    );
    expect(&o, 3, &["person.png: same stem as"]);
    let npy = dir.path().join("f.npy");
    let o = extract(&test_data("reid.onnx"), &images, &npy, &["--normalize"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let names = std::fs::read_to_string(dir.path().join("f.names.txt")).unwrap();
    assert_eq!(
        names.lines().collect::<Vec<_>>(),
        ["grey", "person", "vehicle"]
    );
    assert_eq!(
        std::fs::metadata(&npy).unwrap().len(),
        128 + 3 * 2048 * 4,
        "header + 3 rows"
    );
}

#[test]
fn bad_models_and_outputs_are_refused_before_any_work() {
    let dir = tempfile::tempdir().unwrap();
    let images = test_data("images");
    let out = dir.path().join("f");
    let o = extract(&test_data("two_inputs.onnx"), &images, &out, &[]);
    expect(
        &o,
        3,
        &["has 2 inputs", "a [batch,3,256,128]", "b [batch,3,256,128]"],
    );
    let o = extract(&test_data("map_output.onnx"), &images, &out, &[]);
    expect(&o, 3, &["output is map [16,4,128,64]", "[batch, D]"]);
    let o = extract(&test_data("images/person.png"), &images, &out, &[]);
    expect(&o, 3, &["cannot read the ONNX model"]);
    // The output inside the image directory would mix features into the images.
    let o = extract(&test_data("reid.onnx"), &images, &images.join("f"), &[]);
    expect(&o, 3, &["is inside the input directory --images"]);
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let o = extract(&test_data("reid.onnx"), &empty, &out, &[]);
    expect(&o, 3, &["no images"]);
    assert!(!out.exists());
}
