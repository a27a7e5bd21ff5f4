//! The coefficient-domain search ranks like cosine search with the reconstructed vectors.

use codec_host::codec::ModelFile;
use codec_host::coded_search::{CodedSide, coded_search, reconstructed_search};
use codec_host::io::{ReadOptions, read_features};
use codec_host::synth::{Kind, SynthConfig, write_dataset};
use codec_host::train::{TrainConfig, train};

#[test]
fn coefficient_domain_matches_reconstructed_space() {
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
