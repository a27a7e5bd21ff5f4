use super::*;
use crate::codec::{CodeKind, encode_all, round_trip};
use crate::search::{Metric, search};
use crate::synth::{Kind, SynthConfig, write_dataset};
use crate::train::{TrainConfig, train};

/// A kind-A query and gallery, a model trained beside them, and the gallery coded at `budget`.
fn fixture(budget: usize) -> (FeatureSet, FeatureSet, ModelFile, CodeArray) {
    let dir = tempfile::tempdir().unwrap();
    let cfg = SynthConfig {
        train_identities: 60,
        train: 1200,
        test_identities: 30,
        queries: 60,
        gallery: 600,
        ..SynthConfig::default_sizes(Kind::A, 256, 7)
    };
    write_dataset(dir.path(), &cfg).unwrap();
    let read = |p: &str| {
        crate::io::read_features(&dir.path().join(p), &crate::io::ReadOptions::default())
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
    let codes = encode_all(&model.model(), &g, CodeKind::Budget(budget));
    let mut rows = vec![0u8; g.len() * budget];
    for (c, row) in codes.into_iter().zip(rows.chunks_exact_mut(budget)) {
        let c = c.unwrap();
        row[..c.len()].copy_from_slice(&c);
    }
    let array = CodeArray {
        names: g.names.clone(),
        row_len: budget,
        rows,
        identity: None,
    };
    (q, g, model, array)
}

#[test]
fn the_index_ranks_like_exact_search_on_the_reconstructions() {
    let budget = 32;
    let (q, g, model, codes) = fixture(budget);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("g.nfci");
    let stats = build(&model, &codes, Path::new("g.nfcc"), &path).unwrap();
    assert_eq!(stats.rows, g.len());
    assert!(
        stats.dims % LANES == 0 && stats.dims <= model.model().coeffs().next_multiple_of(LANES)
    );
    let index = Index::open(&path).unwrap();
    assert_eq!(index.names(), &g.names[..]);
    assert_eq!(index.fingerprint_hex(), model.fingerprint());
    let (rg, ..) = round_trip(&model, &g, budget).unwrap();
    let (rq, ..) = round_trip(&model, &q, budget).unwrap();
    for coded in [None, Some(budget)] {
        let fast = index.search(&model, &q, coded, 10).unwrap();
        let queries = if coded.is_some() { &rq } else { &q };
        let slow = search(queries, &rg, 10, Metric::Cosine).unwrap();
        let overlap: usize = (0..q.len())
            .map(|i| {
                fast.rows(i)
                    .iter()
                    .filter(|r| slow.rows(i).contains(r))
                    .count()
            })
            .sum();
        // int8 values swap near-ties only.
        assert!(
            overlap * 100 >= q.len() * 10 * 95,
            "{coded:?}: overlap {overlap}"
        );
        let same_first = (0..q.len())
            .filter(|&i| fast.rows(i)[0] == slow.rows(i)[0])
            .count();
        assert!(
            same_first * 100 >= q.len() * 95,
            "{coded:?}: {same_first} top-1 agree"
        );
    }
}

#[test]
fn the_dot_kernels_agree_with_plain_sums() {
    let dims = 64;
    let group: Vec<i16> = (0..QUERY_GROUP * dims)
        .map(|i| ((i * 7919) % 65535) as i16)
        .collect();
    let block: Vec<i8> = (0..5 * dims).map(|i| ((i * 31) % 255) as i8).collect();
    let mut dots = vec![0i32; 5 * QUERY_GROUP];
    dot_block(&group, QUERY_GROUP, &block, dims, &mut dots);
    for r in 0..5 {
        for j in 0..QUERY_GROUP {
            let want: i32 = (0..dims)
                .map(|d| i32::from(group[j * dims + d]) * i32::from(block[r * dims + d]))
                .sum();
            assert_eq!(dots[r * QUERY_GROUP + j], want);
        }
    }
}

#[test]
fn a_damaged_or_truncated_index_is_refused_by_name() {
    let (_, _, model, codes) = fixture(16);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("g.nfci");
    build(&model, &codes, Path::new("g.nfcc"), &path).unwrap();
    let good = std::fs::read(&path).unwrap();
    for at in [3, 40, 100, good.len() - 1] {
        let mut bad = good.clone();
        bad[at] ^= 4;
        std::fs::write(&path, &bad).unwrap();
        let e = Index::open(&path)
            .err()
            .expect("damaged index accepted")
            .to_string();
        assert!(e.contains("g.nfci"), "{e}");
    }
    std::fs::write(&path, &good[..good.len() - 10]).unwrap();
    assert!(
        Index::open(&path)
            .err()
            .unwrap()
            .to_string()
            .contains("g.nfci")
    );
}
