use super::*;
use npyz::WriterBuilder;
use proptest::prelude::*;
use std::path::PathBuf;

const FP: &str = "000102030405060708090a0b0c0d0e0f";

fn names(range: std::ops::Range<usize>) -> Vec<String> {
    range.map(|i| format!("r{i}")).collect()
}

fn rows(n: usize, len: usize, seed: u8) -> Vec<u8> {
    (0..n * len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

/// The golden container: two rows written, then three appended (two blocks, commit seq 2).
fn golden_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden/codes-v1.nfcc")
}

fn make_golden(path: &Path) {
    let id = Identity::new(FP, 4, false).unwrap();
    write_container(path, id, &names(0..2), &rows(2, 4, 1)).unwrap();
    let mut a = Appender::open(path).unwrap();
    a.append(&names(2..5), &rows(3, 4, 2)).unwrap();
}

#[test]
fn the_golden_container_reads_and_is_written_the_same_today() {
    let dir = tempfile::tempdir().unwrap();
    let fresh = dir.path().join("g.nfcc");
    make_golden(&fresh);
    if std::env::var_os("NAICFC_BLESS").is_some() && !golden_path().exists() {
        std::fs::copy(&fresh, golden_path()).unwrap();
    }
    let golden = std::fs::read(golden_path()).expect("golden file (bless with NAICFC_BLESS=1)");
    assert_eq!(std::fs::read(&fresh).unwrap(), golden);
    let read = read_code_array(&golden_path()).unwrap();
    assert_eq!(read.names, names(0..5));
    let mut want = rows(2, 4, 1);
    want.extend(rows(3, 4, 2));
    assert_eq!(read.rows, want);
    let id = read.identity.unwrap();
    assert_eq!(id.fingerprint_hex(), FP);
    assert_eq!((id.row_len, id.scalable), (4, false));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]
    #[test]
    fn any_rows_and_names_round_trip(
        row_len in 1usize..40,
        blocks in proptest::collection::vec(1usize..20, 0..4),
        scalable: bool,
        names_seed in proptest::collection::vec("[^\r\n]{1,12}", 80),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.nfcc");
        let id = Identity::new(FP, row_len, scalable).unwrap();
        create_empty(&path, id.clone()).unwrap();
        let mut all_names: Vec<String> = Vec::new();
        let mut all_rows = Vec::new();
        let mut app = Appender::open(&path).unwrap();
        for (b, &n) in blocks.iter().enumerate() {
            let first = all_names.len();
            // Unique names whatever the generated strings.
            let block_names: Vec<String> =
                (first..first + n).map(|i| format!("{}#{i}", names_seed[i % 80])).collect();
            let block_rows = rows(n, row_len, b as u8);
            app.append(&block_names, &block_rows).unwrap();
            all_names.extend(block_names);
            all_rows.extend(block_rows);
        }
        let read = read_code_array(&path).unwrap();
        prop_assert_eq!(&read.names, &all_names);
        prop_assert_eq!(&read.rows, &all_rows);
        prop_assert_eq!(read.identity, Some(id));
    }

    #[test]
    fn any_truncation_or_flipped_byte_is_refused_or_reads_committed_rows(
        cut in 0usize..200,
        flip in 0usize..200,
        bit in 0u8..8,
    ) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("g.nfcc");
        make_golden(&path);
        let good = std::fs::read(&path).unwrap();
        let expected = read_code_array(&path).unwrap();
        let cut = cut % good.len();
        std::fs::write(&path, &good[..cut]).unwrap();
        let err = read_code_array(&path).unwrap_err().to_string();
        prop_assert!(err.contains("g.nfcc"), "{}", err);
        let mut bad = good.clone();
        let flip = flip % good.len();
        bad[flip] ^= 1 << bit;
        std::fs::write(&path, &bad).unwrap();
        match read_code_array(&path) {
            // A flip in the older (unused) commit slot, or one that damages the current
            // slot so that the older slot, also valid, is used: both leave committed rows.
            Ok(read) => {
                prop_assert!((64..128).contains(&flip), "flip at {} accepted", flip);
                prop_assert_eq!(&read.names[..], &expected.names[..read.names.len()]);
                prop_assert_eq!(&read.rows[..], &expected.rows[..read.rows.len()]);
            }
            Err(e) => prop_assert!(e.to_string().contains("g.nfcc")),
        }
    }
}

#[test]
fn an_append_torn_before_its_commit_leaves_the_old_rows() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.nfcc");
    make_golden(&path);
    let before = read_code_array(&path).unwrap();
    // A block written but not committed: junk past the committed end.
    let mut bytes = std::fs::read(&path).unwrap();
    bytes.extend_from_slice(b"ROWS\x05\x00\x00\x00garbage that never got committed");
    std::fs::write(&path, &bytes).unwrap();
    assert_eq!(read_code_array(&path).unwrap(), before);
    // The next append cuts the junk off and goes on from the committed end.
    let mut a = Appender::open(&path).unwrap();
    a.append(&names(9..10), &rows(1, 4, 7)).unwrap();
    let after = read_code_array(&path).unwrap();
    assert_eq!(after.len(), before.len() + 1);
    assert_eq!(&after.rows[..before.rows.len()], &before.rows[..]);
    assert_eq!(after.row(before.len()), &rows(1, 4, 7)[..]);
}

#[test]
fn a_torn_commit_record_falls_back_to_the_previous_commit() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.nfcc");
    let id = Identity::new(FP, 4, false).unwrap();
    write_container(&path, id, &names(0..2), &rows(2, 4, 1)).unwrap();
    let mut a = Appender::open(&path).unwrap();
    a.append(&names(2..5), &rows(3, 4, 2)).unwrap();
    // Commit 2 went to slot 0; half of it overwritten, as by a crash during its write.
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[FIXED_LEN + 8..FIXED_LEN + 16].fill(0xff);
    std::fs::write(&path, &bytes).unwrap();
    let read = read_code_array(&path).unwrap();
    assert_eq!(read.names, names(0..2));
    assert_eq!(read.rows, rows(2, 4, 1));
}

#[test]
fn names_given_twice_and_other_models_are_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.nfcc");
    make_golden(&path);
    let mut a = Appender::open(&path).unwrap();
    let e = a.append(&names(1..2), &rows(1, 4, 0)).unwrap_err();
    assert!(e.to_string().contains("\"r1\""), "{e}");
    // The refused append changed nothing.
    assert_eq!(read_code_array(&path).unwrap().len(), 5);
    let id = read_identity(&path).unwrap();
    let other = "ffffffffffffffffffffffffffffffff";
    let e = id
        .check_model(&path, other, Path::new("m.nfcm"))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains(FP) && e.contains(other) && e.contains("m.nfcm"),
        "{e}"
    );
    id.check_model(&path, FP, Path::new("m.nfcm")).unwrap();
}

#[test]
fn other_files_are_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("x.nfcc");
    std::fs::write(&path, b"not a container at all").unwrap();
    let e = read_code_array(&path).unwrap_err().to_string();
    assert!(e.contains("x.nfcc") && e.contains("header"), "{e}");
    let mut h = [0u8; HEADER_LEN];
    h[..8].copy_from_slice(&MAGIC);
    std::fs::write(&path, h).unwrap();
    let e = read_code_array(&path).unwrap_err().to_string();
    assert!(e.contains("version"), "{e}");
}

#[test]
fn a_uint8_npy_is_read_with_its_names_and_a_float_one_is_not_codes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.npy");
    let data: Vec<u8> = (0..12).collect();
    let mut w = npyz::WriteOptions::<u8>::new()
        .default_dtype()
        .shape(&[3, 4])
        .writer(std::fs::File::create(&path).unwrap())
        .begin_nd()
        .unwrap();
    w.extend(data.iter().copied()).unwrap();
    w.finish().unwrap();
    assert!(is_code_array(&path));
    let read = read_code_array(&path).unwrap();
    assert_eq!(read.names, ["0", "1", "2"]);
    assert_eq!((read.row_len, read.row(2)), (4, &[8u8, 9, 10, 11][..]));
    assert_eq!(read.identity, None);
    std::fs::write(dir.path().join("c.names.txt"), "a\nb\nc\n").unwrap();
    assert_eq!(read_code_array(&path).unwrap().names, ["a", "b", "c"]);

    let f = dir.path().join("f.npy");
    let set = crate::io::FeatureSet {
        names: vec!["a".into(), "b".into()],
        dim: 3,
        data: vec![0.5; 6],
    };
    let mut w = crate::io::npy::NpyWriter::create(&f, crate::io::NpyDtype::F32, 3, 2).unwrap();
    w.write(&set).unwrap();
    w.finish().unwrap();
    assert!(!is_code_array(&f));
    let e = read_code_array(&f).unwrap_err().to_string();
    assert!(e.contains("f.npy") && e.contains("uint8"), "{e}");
}

#[test]
fn the_identity_file_is_pinned_and_reads_back() {
    let id = Identity::new("00112233445566778899aabbccddeeff", 64, false).unwrap();
    // The format of docs/container.md, byte for byte: changing it needs a new version line.
    assert_eq!(
        id.to_text(),
        "naicfc codes 1\nfingerprint 00112233445566778899aabbccddeeff\nbytes 64\nscalable false\n"
    );
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(read_dir_identity(dir.path()).unwrap(), None);
    write_dir_identity(dir.path(), &id).unwrap();
    assert_eq!(read_dir_identity(dir.path()).unwrap(), Some(id));
    let scalable = Identity::new("ffeeddccbbaa99887766554433221100", 256, true).unwrap();
    assert_eq!(Identity::from_text(&scalable.to_text()), Ok(scalable));
}

#[test]
fn a_damaged_identity_file_is_an_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    for (text, says) in [
        ("naicfc codes 2\n", "does not start with"),
        (
            "naicfc codes 1\nfingerprint 0011\nbytes 64\nscalable false\n",
            "32 hex digits",
        ),
        (
            "naicfc codes 1\nfingerprint 00112233445566778899aabbccddeeff\nbytes x\nscalable false\n",
            "not a number",
        ),
        (
            "naicfc codes 1\nfingerprint 00112233445566778899aabbccddeeff\nbytes 64\n",
            "expected a line",
        ),
        (
            "naicfc codes 1\nfingerprint 00112233445566778899aabbccddeeff\nbytes 64\nscalable 1\n",
            "neither true nor false",
        ),
    ] {
        std::fs::write(dir.path().join(IDENTITY_FILE), text).unwrap();
        let e = format!("{:#}", read_dir_identity(dir.path()).unwrap_err());
        assert!(
            e.contains(IDENTITY_FILE) && e.contains(says),
            "{text:?}: {e}"
        );
    }
}
