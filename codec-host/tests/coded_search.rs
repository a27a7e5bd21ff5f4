//! The coefficient-domain search ranks like cosine search with the reconstructed vectors.

use codec_host::codec::ModelFile;
use codec_host::coded_search::{CodedSearch, CodedSide, coded_search, reconstructed_search};
use codec_host::io::{FeatureSet, ReadOptions, read_features};
use codec_host::search::SearchOptions;
use codec_host::synth::{Kind, SynthConfig, write_dataset};
use codec_host::train::{TrainConfig, train};

/// A small kind-A set (train, query, gallery) and a model trained on it.
fn fixture() -> (FeatureSet, FeatureSet, ModelFile) {
    let dir = tempfile::tempdir().unwrap();
    let cfg = SynthConfig {
        train_identities: 80,
        train: 1600,
        test_identities: 40,
        queries: 80,
        gallery: 800,
        ..SynthConfig::default_sizes(Kind::A, 512, 4)
    };
    write_dataset(dir.path(), &cfg).unwrap();
    let read = |p: &str| {
        read_features(&dir.path().join(p), &ReadOptions::default())
            .unwrap()
            .set
    };
    let (tr, q, g) = (
        read("train/train_feature"),
        read("query_feature"),
        read("gallery_feature"),
    );
    let model =
        ModelFile::from_bytes(train(&tr, None, &TrainConfig::default()).unwrap().model).unwrap();
    (q, g, model)
}

#[test]
fn coefficient_domain_matches_reconstructed_space() {
    let (q, g, model) = fixture();
    for side in [CodedSide::Query, CodedSide::Both] {
        for budget in [16, 64] {
            let (fast, stats) = coded_search(&model, &q, &g, budget, side, 10).unwrap();
            let slow = reconstructed_search(&model, &q, &g, budget, side, 10).unwrap();
            assert!(stats.dims <= model.model().coeffs() + 1);
            // Float sums in a different order may swap near-ties; the lists must agree almost
            // everywhere.
            let same_first = (0..q.len())
                .filter(|&i| fast.rows(i)[0] == slow.rows(i)[0])
                .count();
            assert!(
                same_first * 100 >= q.len() * 97,
                "{side:?} {budget}: {same_first}/{} top-1 agree",
                q.len()
            );
            let overlap: usize = (0..q.len())
                .map(|i| {
                    fast.rows(i)
                        .iter()
                        .filter(|r| slow.rows(i).contains(r))
                        .count()
                })
                .sum();
            assert!(
                overlap * 100 >= q.len() * 10 * 97,
                "{side:?} {budget}: overlap {overlap}"
            );
        }
    }
}

/// The first `n` rows of `set` from row `from`.
fn part(set: &FeatureSet, from: usize, n: usize) -> FeatureSet {
    FeatureSet {
        names: set.names[from..from + n].to_vec(),
        dim: set.dim,
        data: set.data[from * set.dim..(from + n) * set.dim].to_vec(),
    }
}

#[test]
fn a_gallery_fed_in_parts_ranks_like_one_pass() {
    let (q, g, model) = fixture();
    for side in [CodedSide::Query, CodedSide::Both] {
        let (whole, _) = coded_search(&model, &q, &g, 32, side, 10).unwrap();
        let mut search =
            CodedSearch::new(&model, &q, 32, side, 10, &SearchOptions::default()).unwrap();
        // Uneven parts, one of them empty.
        for (from, n) in [(0, 333), (333, 0), (333, 1), (334, g.len() - 334)] {
            search.add(&part(&g, from, n)).unwrap();
        }
        let (parts, stats) = search.finish();
        assert_eq!(parts, whole, "{side:?}");
        assert!(stats.search_seconds > 0.0);
    }
}

#[test]
fn a_gallery_of_another_dimension_is_an_error() {
    let (q, g, model) = fixture();
    let mut search = CodedSearch::new(
        &model,
        &q,
        16,
        CodedSide::Query,
        10,
        &SearchOptions::default(),
    )
    .unwrap();
    let short = FeatureSet {
        names: vec!["x".into()],
        dim: g.dim - 1,
        data: vec![0.5; g.dim - 1],
    };
    let err = search.add(&short).unwrap_err().to_string();
    assert!(err.contains("dimensions"), "{err}");
}

/// The gallery as a code array of `budget`-byte codes, as `naicfc encode --out g.nfcc` writes.
fn stored(model: &ModelFile, g: &FeatureSet, budget: usize) -> codec_host::io::codes::CodeArray {
    use codec_host::codec::{CodeKind, encode_all};
    let codes = encode_all(&model.model(), g, CodeKind::Budget(budget));
    let mut rows = vec![0u8; g.len() * budget];
    for (code, row) in codes.into_iter().zip(rows.chunks_exact_mut(budget)) {
        let code = code.unwrap();
        row[..code.len()].copy_from_slice(&code);
    }
    codec_host::io::codes::CodeArray {
        names: g.names.clone(),
        row_len: budget,
        rows,
        identity: None,
    }
}

#[test]
fn a_stored_gallery_ranks_like_its_reconstruction() {
    use codec_host::coded_search::stored_coefficients;
    use codec_host::search::{Metric, search};
    let (q, g, model) = fixture();
    for budget in [16, 64] {
        let codes = stored(&model, &g, budget);
        let (rg, ..) = codec_host::codec::round_trip(&model, &g, budget).unwrap();
        let (rq, ..) = codec_host::codec::round_trip(&model, &q, budget).unwrap();
        let opts = SearchOptions::default();
        for coded_queries in [false, true] {
            let mut s = if coded_queries {
                CodedSearch::new(&model, &q, budget, CodedSide::Both, 10, &opts).unwrap()
            } else {
                CodedSearch::original_queries(&model, &q, 10, &opts).unwrap()
            };
            // In two parts, as `reid` feeds batches.
            let m = model.model();
            let path = std::path::Path::new("g.nfcc");
            for range in [0..300, 300..g.len()] {
                let loaded = stored_coefficients(&m, &codes, range, path);
                assert!(loaded.failures.is_empty());
                s.add_coefficients(&loaded.set).unwrap();
            }
            let (fast, _) = s.finish();
            let queries = if coded_queries { &rq } else { &q };
            let slow = search(queries, &rg, 10, Metric::Cosine).unwrap();
            let same_first = (0..q.len())
                .filter(|&i| fast.rows(i)[0] == slow.rows(i)[0])
                .count();
            assert!(
                same_first * 100 >= q.len() * 97,
                "{budget} coded queries {coded_queries}: {same_first}/{} top-1 agree",
                q.len()
            );
        }
    }
}
