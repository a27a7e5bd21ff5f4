//! Tests of the `.npy` reader and writer, through the input dispatcher as commands use them.

use super::*;
use crate::io::read_features;
use npyz::{WriteOptions, WriterBuilder};

/// Write `set` as one array through [`NpyWriter`].
fn write_npy(path: &Path, set: &FeatureSet, dtype: NpyDtype) -> Result<()> {
    let mut w = NpyWriter::create(path, dtype, set.dim, set.len())?;
    w.write(set)?;
    w.finish()
}

fn sample(rows: usize, dim: usize) -> FeatureSet {
    FeatureSet {
        names: row_names(0..rows, rows),
        dim,
        // Multiples of 1/8 are exact in float16.
        data: (0..rows * dim)
            .map(|i| (i % 97) as f32 * 0.125 - 6.0)
            .collect(),
    }
}

fn read(path: &Path) -> Result<Loaded> {
    read_features(path, &ReadOptions::default())
}

/// Write `values` (given row-major) with an explicit dtype string and order.
fn write_raw<T: npyz::Serialize + Copy>(
    path: &Path,
    dtype: &str,
    order: Order,
    shape: &[u64],
    values: &[T],
) {
    let f = File::create(path).unwrap();
    let mut w = WriteOptions::<T>::new()
        .dtype(DType::Plain(dtype.parse().unwrap()))
        .order(order)
        .shape(shape)
        .writer(std::io::BufWriter::new(f))
        .begin_nd()
        .unwrap();
    w.extend(values.iter().copied()).unwrap();
    w.finish().unwrap();
}

/// Column-major copy of a row-major `rows x dim` matrix.
fn transpose<T: Copy>(v: &[T], rows: usize, dim: usize) -> Vec<T> {
    (0..dim)
        .flat_map(|c| (0..rows).map(move |r| (r, c)))
        .map(|(r, c)| v[r * dim + c])
        .collect()
}

#[test]
fn f32_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f.npy");
    let set = FeatureSet {
        data: (0..11 * 7).map(|i| (i as f32).sin() * 3.3).collect(),
        ..sample(11, 7)
    };
    write_npy(&path, &set, NpyDtype::F32).unwrap();
    let l = read(&path).unwrap();
    assert!(l.failures.is_empty());
    assert_eq!(l.set, set);
    assert_eq!(l.set.names[0], "00");
    assert_eq!(l.set.names[10], "10");
    // The array and its names, no temporary left behind.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 2);

    // Names other than indices come back from the names file, batch by batch too.
    let named = FeatureSet {
        names: (0..11).map(|i| format!("cam1_{}", 100 - i)).collect(),
        ..set.clone()
    };
    write_npy(&path, &named, NpyDtype::F32).unwrap();
    assert_eq!(read(&path).unwrap().set, named);
    let (l, _) = read_batched(&path, 4, false).unwrap();
    assert_eq!(l.set, named);
    // Without it, rows are named by index again.
    std::fs::remove_file(dir.path().join("f.names.txt")).unwrap();
    assert_eq!(read(&path).unwrap().set, set);
}

#[test]
fn f16_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("h.npy");
    let set = sample(5, 40);
    write_npy(&path, &set, NpyDtype::F16).unwrap();
    let len = std::fs::metadata(&path).unwrap().len();
    assert!(len < 5 * 40 * 4, "float16 file is {len} bytes");
    let l = read(&path).unwrap();
    assert_eq!(l.set, set);

    // Values that are not exact in float16 come back to within its precision.
    let fuzzy = FeatureSet {
        data: (0..200).map(|i| (i as f32 * 0.37).cos()).collect(),
        ..sample(5, 40)
    };
    write_npy(&path, &fuzzy, NpyDtype::F16).unwrap();
    let l = read(&path).unwrap();
    for (a, b) in l.set.data.iter().zip(&fuzzy.data) {
        assert!((a - b).abs() <= 1e-3, "{a} vs {b}");
    }
}

#[test]
fn f16_overflow_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("h.npy");
    let mut set = sample(3, 4);
    set.data[6] = 1e6;
    let err = write_npy(&path, &set, NpyDtype::F16).unwrap_err();
    assert!(
        err.to_string()
            .contains("row 1: value at index 2 is 1000000"),
        "{err}"
    );
    assert!(!path.exists());
}

#[test]
fn big_endian_and_fortran_order() {
    let dir = tempfile::tempdir().unwrap();
    let (rows, dim) = (37, 21); // a partial last column block
    let set = sample(rows, dim);
    let h: Vec<f16> = set.data.iter().map(|&v| f16::from_f32(v)).collect();
    let cases: [(&str, Order, bool); 6] = [
        (">f4", Order::C, false),
        ("<f4", Order::Fortran, false),
        (">f4", Order::Fortran, false),
        ("<f2", Order::Fortran, true),
        (">f2", Order::C, true),
        (">f2", Order::Fortran, true),
    ];
    for (dtype, order, half) in cases {
        let path = dir.path().join("x.npy");
        let shape = [rows as u64, dim as u64];
        match (order, half) {
            (Order::C, false) => write_raw(&path, dtype, order, &shape, &set.data),
            (Order::Fortran, false) => write_raw(
                &path,
                dtype,
                order,
                &shape,
                &transpose(&set.data, rows, dim),
            ),
            (Order::C, true) => write_raw(&path, dtype, order, &shape, &h),
            (Order::Fortran, true) => {
                write_raw(&path, dtype, order, &shape, &transpose(&h, rows, dim))
            }
        }
        let l = read(&path).unwrap();
        assert_eq!(l.set, set, "{dtype} {order:?}");
    }
}

/// Every row of `path`, read through [`crate::io::read_in_batches`] `batch` rows at a time.
fn read_batched(path: &Path, batch: usize, strict: bool) -> Result<(Loaded, usize)> {
    let opts = ReadOptions {
        dim: None,
        strict,
        prefer_dim: None,
    };
    let mut all = Loaded::default();
    let mut batches = 0;
    crate::io::read_in_batches(path, &opts, batch, |l| {
        assert!(l.set.len() + l.failures.len() <= batch);
        batches += 1;
        all.set.dim = l.set.dim;
        all.set.names.extend(l.set.names);
        all.set.data.extend(l.set.data);
        all.failures.extend(l.failures);
        Ok(())
    })?;
    Ok((all, batches))
}

#[test]
fn batches_read_the_same_rows_as_the_whole_file() {
    let dir = tempfile::tempdir().unwrap();
    let (rows, dim) = (37, 21);
    let mut set = sample(rows, dim);
    set.data[30 * dim + 4] = f32::NAN; // in the fifth batch of 7
    let h: Vec<f16> = set.data.iter().map(|&v| f16::from_f32(v)).collect();
    let shape = [rows as u64, dim as u64];
    for (dtype, order) in [
        ("<f4", Order::C),
        (">f4", Order::C),
        ("<f2", Order::C),
        ("<f4", Order::Fortran),
        (">f2", Order::Fortran),
    ] {
        let path = dir.path().join("b.npy");
        let column_major = order == Order::Fortran;
        let cm = |v: &[f32]| transpose(v, rows, dim);
        let cmh = |v: &[f16]| transpose(v, rows, dim);
        match (dtype.ends_with('2'), column_major) {
            (false, false) => write_raw(&path, dtype, order, &shape, &set.data),
            (false, true) => write_raw(&path, dtype, order, &shape, &cm(&set.data)),
            (true, false) => write_raw(&path, dtype, order, &shape, &h),
            (true, true) => write_raw(&path, dtype, order, &shape, &cmh(&h)),
        }
        let whole = read(&path).unwrap();
        assert_eq!(whole.set.len(), rows - 1);
        for batch in [1, 7, 36, 37, 1000] {
            let (l, batches) = read_batched(&path, batch, false).unwrap();
            assert_eq!(l.set, whole.set, "{dtype} {order:?} batch {batch}");
            assert_eq!(batches, rows.div_ceil(batch), "{dtype} {order:?}");
            let shown: Vec<String> = l.failures.iter().map(|f| f.to_string()).collect();
            assert_eq!(shown.len(), 1);
            assert!(
                shown[0].ends_with("b.npy[row 30]: value at index 4 is NaN"),
                "{shown:?}"
            );
        }
        // Strict stops at the batch holding the bad row, naming it.
        let err = read_batched(&path, 7, true).unwrap_err().to_string();
        assert!(
            err.ends_with("b.npy[row 30]: value at index 4 is NaN"),
            "{err}"
        );
    }

    // An empty array is refused as a whole, like a directory without .dat files.
    let path = dir.path().join("e.npy");
    write_npy(&path, &sample(0, 5), NpyDtype::F16).unwrap();
    let err = read_batched(&path, 4, false).unwrap_err().to_string();
    assert!(
        err.ends_with("e.npy: the array has no rows: nothing to read"),
        "{err}"
    );
}

#[test]
fn writer_completes_the_header_when_fewer_rows_arrive_than_announced() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("w.npy");
    let set = sample(9, 6);
    let part = |rows: std::ops::Range<usize>| FeatureSet {
        names: set.names[rows.clone()].to_vec(),
        dim: 6,
        data: set.data[rows.start * 6..rows.end * 6].to_vec(),
    };
    for dtype in [NpyDtype::F32, NpyDtype::F16] {
        let _ = std::fs::remove_file(&path);
        // Room for ten million rows in the header, nine written in three batches.
        let mut w = NpyWriter::create(&path, dtype, 6, 10_000_000).unwrap();
        for rows in [0..4, 4..4, 4..9] {
            w.write(&part(rows)).unwrap();
            assert!(!path.exists(), "the file appears only when complete");
        }
        w.finish().unwrap();
        let bytes = std::fs::read(&path).unwrap();
        let header_len = usize::from(u16::from_le_bytes([bytes[8], bytes[9]])) + 10;
        assert_eq!(header_len % 64, 0);
        let item = if dtype == NpyDtype::F32 { 4 } else { 2 };
        assert_eq!(bytes.len(), header_len + 9 * 6 * item);
        assert_eq!(read(&path).unwrap().set, set);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 2);
    }

    // Too many rows, or rows of another length, are errors; a writer dropped unfinished
    // leaves neither the file nor a temporary behind.
    std::fs::remove_file(&path).unwrap();
    std::fs::remove_file(dir.path().join("w.names.txt")).unwrap();
    let mut w = NpyWriter::create(&path, NpyDtype::F32, 6, 5).unwrap();
    let err = w.write(&set).unwrap_err().to_string();
    assert!(err.contains("more than the 5 rows announced"), "{err}");
    let err = w.write(&sample(2, 3)).unwrap_err().to_string();
    assert!(
        err.contains("rows of 3 values cannot join an array of 6"),
        "{err}"
    );
    drop(w);
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);

    // A refused batch leaves the array as it was.
    let mut w = NpyWriter::create(&path, NpyDtype::F16, 6, 9).unwrap();
    w.write(&part(0..4)).unwrap();
    let mut huge = part(4..9);
    huge.data[7] = 1e6;
    let err = w.write(&huge).unwrap_err().to_string();
    assert!(err.contains("row 5: value at index 1 is 1000000"), "{err}");
    w.write(&part(4..9)).unwrap();
    w.finish().unwrap();
    assert_eq!(read(&path).unwrap().set, set);
}

#[test]
fn unwritable_rows_are_taken_out_one_by_one() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("u.npy");
    let mut set = sample(5, 3);
    set.data[3 + 2] = 70_000.0;
    set.names[3] = "cam\n3".into();
    let w = NpyWriter::create(&path, NpyDtype::F16, 3, 5).unwrap();
    let mut taken = set.clone();
    let failures = w.take_unwritable(&mut taken, |_, n, p| {
        InputError::new(dir.path().join(format!("{n}.dat")), p)
    });
    let shown: Vec<String> = failures.iter().map(|f| f.to_string()).collect();
    assert_eq!(shown.len(), 2, "{shown:?}");
    assert!(
        shown[0].ends_with("1.dat: value at index 2 is 70000, beyond the float16 range (±65504)"),
        "{shown:?}"
    );
    assert!(shown[1].contains("contains a line break"), "{shown:?}");
    assert_eq!(taken.names, ["0", "2", "4"]);
    assert_eq!(taken.row(1), set.row(2));
    // The same rows are refused by `write` itself, which leaves the array as it was.
    let mut w = w;
    assert!(w.write(&set).is_err());
    w.write(&taken).unwrap();
    w.finish().unwrap();
    assert_eq!(read(&path).unwrap().set.names, ["0", "2", "4"]);

    // float32 holds any finite value; only the name is refused.
    let w = NpyWriter::create(&path, NpyDtype::F32, 3, 5).unwrap();
    let mut taken = set.clone();
    assert_eq!(
        w.take_unwritable(&mut taken, |_, n: &str, p| InputError::new(n, p))
            .len(),
        1
    );
    assert_eq!(taken.len(), 4);
}

#[test]
fn header_is_padded_like_numpy_and_keeps_its_length() {
    let h = npy_header(NpyDtype::F32, 3, 2048, None);
    assert_eq!(h.len(), 128);
    assert_eq!(h.len() % 64, 0);
    let text = String::from_utf8_lossy(&h[10..]);
    assert!(text.starts_with("{'descr': '<f4', 'fortran_order': False, 'shape': (3, 2048), }"));
    assert!(text.ends_with(" \n"));
    let wide = npy_header(NpyDtype::F16, usize::MAX, 2048, None);
    let narrow = npy_header(NpyDtype::F16, 0, 2048, Some(wide.len()));
    assert_eq!(narrow.len(), wide.len());
}

#[test]
fn one_d_array_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v.npy");
    write_raw(&path, "<f4", Order::C, &[2048], &vec![0f32; 2048]);
    let err = read(&path).unwrap_err().to_string();
    assert!(err.contains("v.npy: a 1-D array of shape (2048,)"), "{err}");
    assert!(err.contains("expected a 2-D array"), "{err}");
}

#[test]
fn three_d_array_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v.npy");
    write_raw(&path, "<f4", Order::C, &[2, 3, 4], &[0f32; 24]);
    let err = read(&path).unwrap_err().to_string();
    assert!(err.contains("3-D array of shape (2, 3, 4)"), "{err}");
}

#[test]
fn float64_is_read_as_float32_in_either_order_and_overflow_is_a_bad_row() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("d.npy");
    let (rows, dim) = (5, 3);
    let values: Vec<f64> = (0..rows * dim).map(|i| i as f64 / 3.0 - 2.0).collect();
    let want: Vec<f32> = values.iter().map(|&v| v as f32).collect();
    for (dtype, order) in [
        (">f8", Order::C),
        ("<f8", Order::C),
        ("<f8", Order::Fortran),
    ] {
        let stored = match order {
            Order::C => values.clone(),
            Order::Fortran => transpose(&values, rows, dim),
        };
        write_raw(&path, dtype, order, &[rows as u64, dim as u64], &stored);
        let l = read(&path).unwrap();
        assert_eq!(l.set.data, want, "{dtype} {order:?}");
        assert_eq!(l.set.len(), rows);
    }
    let mut big = values.clone();
    big[4] = 1e300;
    write_raw(&path, "<f8", Order::C, &[rows as u64, dim as u64], &big);
    let l = read(&path).unwrap();
    assert_eq!(l.set.len(), rows - 1);
    assert_eq!(l.failures.len(), 1);
    assert!(l.failures[0].problem.contains("+inf"), "{:?}", l.failures);
}

#[test]
fn other_dtypes_are_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("d.npy");
    write_raw(&path, "<i4", Order::C, &[2, 2], &[0i32; 4]);
    let err = read(&path).unwrap_err().to_string();
    assert!(err.contains("dtype '<i4' is not supported"), "{err}");
}

#[test]
fn non_finite_rows_are_reported_per_row() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("n.npy");
    let mut set = sample(13, 3);
    set.data[12 * 3 + 1] = f32::NAN;
    set.data[2 * 3] = f32::NEG_INFINITY;
    write_npy(&path, &set, NpyDtype::F32).unwrap();
    let l = read(&path).unwrap();
    assert_eq!(l.set.len(), 11);
    assert!(!l.set.names.contains(&"02".to_string()));
    assert_eq!(l.set.names[2], "03");
    assert_eq!(l.set.row(2), set.row(3));
    let shown: Vec<String> = l.failures.iter().map(|f| f.to_string()).collect();
    assert!(
        shown[0].ends_with("n.npy[row 2]: value at index 0 is -inf"),
        "{shown:?}"
    );
    assert!(
        shown[1].ends_with("n.npy[row 12]: value at index 1 is NaN"),
        "{shown:?}"
    );

    let strict = ReadOptions {
        dim: None,
        strict: true,
        prefer_dim: None,
    };
    let err = read_features(&path, &strict).unwrap_err().to_string();
    assert!(
        err.ends_with("n.npy[row 2]: value at index 0 is -inf"),
        "{err}"
    );
}

#[test]
fn dim_mismatch_truncation_and_garbage_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.npy");
    write_npy(&path, &sample(4, 8), NpyDtype::F32).unwrap();
    let opts = ReadOptions {
        dim: Some(16),
        strict: false,
        prefer_dim: None,
    };
    let err = read_features(&path, &opts).unwrap_err().to_string();
    assert!(err.contains("rows have 8 values, expected 16"), "{err}");

    let bytes = std::fs::read(&path).unwrap();
    std::fs::write(&path, &bytes[..bytes.len() - 5]).unwrap();
    let err = read(&path).unwrap_err().to_string();
    assert!(err.contains("t.npy: truncated"), "{err}");

    std::fs::write(&path, b"definitely not numpy").unwrap();
    let err = read(&path).unwrap_err().to_string();
    assert!(err.contains("t.npy: not a valid .npy file"), "{err}");

    std::fs::write(&path, b"").unwrap();
    assert!(read(&path).is_err());
}

/// A hand-made `.npy` file, for headers `npyz` would refuse to write.
fn raw_npy(dict: &str, data: &[u8]) -> Vec<u8> {
    let mut h = dict.to_string();
    while (10 + h.len() + 1) % 64 != 0 {
        h.push(' ');
    }
    h.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend((h.len() as u16).to_le_bytes());
    out.extend(h.as_bytes());
    out.extend(data);
    out
}

#[test]
fn huge_shape_in_small_file_is_rejected_without_allocating() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.npy");
    let dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (9999999999, 4), }";
    std::fs::write(&path, raw_npy(dict, &[0; 16])).unwrap();
    let err = read(&path).unwrap_err().to_string();
    assert!(err.contains("big.npy: truncated"), "{err}");

    let dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (2305843009213693952, 4), }";
    std::fs::write(&path, raw_npy(dict, &[0; 16])).unwrap();
    let err = read(&path).unwrap_err().to_string();
    assert!(err.contains("big.npy: shape"), "{err}");
    assert!(err.contains("too large"), "{err}");

    // The product overflows u64: npyz alone would panic (debug) or wrap (release).
    let dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (0, 4294967296, 4294967296), }";
    std::fs::write(&path, raw_npy(dict, &[])).unwrap();
    let err = read(&path).unwrap_err().to_string();
    assert!(err.contains("not a valid .npy file: shape"), "{err}");

    // A header length far beyond the file: npyz alone would allocate it before reading.
    let mut bytes = b"\x93NUMPY\x02\x00".to_vec();
    bytes.extend(u32::MAX.to_le_bytes());
    std::fs::write(&path, &bytes).unwrap();
    let err = read(&path).unwrap_err().to_string();
    assert!(
        err.contains("header length 4294967295 does not fit"),
        "{err}"
    );

    let dict = "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,), }";
    std::fs::write(&path, raw_npy(dict, &[0; 4])).unwrap();
    let err = read(&path).unwrap_err().to_string();
    assert!(err.contains("structured dtypes are not supported"), "{err}");

    let dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 0), }";
    std::fs::write(&path, raw_npy(dict, &[])).unwrap();
    let err = read(&path).unwrap_err().to_string();
    assert!(err.contains("rows of 0 values"), "{err}");
}

#[test]
fn hand_made_header_reads() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ok.npy");
    let dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 2), }";
    let data: Vec<u8> = [1.5f32, -2.0]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    std::fs::write(&path, raw_npy(dict, &data)).unwrap();
    let l = read(&path).unwrap();
    assert_eq!(l.set.data, [1.5, -2.0]);
    assert_eq!(l.set.names, ["0"]);
}

/// The reader itself opens an empty array (its dimension is known); the input dispatcher,
/// which every command reads through, refuses it.
#[test]
fn empty_array_is_opened_but_refused_as_an_input() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("e.npy");
    let set = FeatureSet {
        names: vec![],
        dim: 5,
        data: vec![],
    };
    write_npy(&path, &set, NpyDtype::F32).unwrap();
    let npy = NpyFile::open(&path, &ReadOptions::default()).unwrap();
    assert_eq!(npy.rows(), 0);
    let err = read(&path).unwrap_err().to_string();
    assert!(err.contains("e.npy: the array has no rows"), "{err}");
}

#[test]
fn row_names_are_padded_to_largest_index() {
    assert_eq!(row_names(0..1, 1), ["0"]);
    assert_eq!(row_names(0..10, 10)[0], "0");
    assert_eq!(row_names(0..11, 11)[0], "00");
    assert_eq!(row_names(0..1001, 1001)[7], "0007");
    assert_eq!(row_names(998..1001, 1001), ["0998", "0999", "1000"]);
}
