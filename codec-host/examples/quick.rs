use codec_host::io::{ReadOptions, read_features};
use codec_host::train::{TrainConfig, train};
use std::path::Path;
fn main() -> anyhow::Result<()> {
    let root = std::env::args().nth(1).unwrap();
    let root = Path::new(&root);
    let t0 = std::time::Instant::now();
    let tr = read_features(&root.join("train/train_feature"), &ReadOptions::default())?.set;
    let q = read_features(&root.join("query_feature"), &ReadOptions::default())?.set;
    let cfg = TrainConfig::default();
    let trained = train(&tr, None, &cfg)?;
    eprintln!("train {:.1}s {:?}", t0.elapsed().as_secs_f64(), {let mut s = trained.summary.clone(); s.eigenvalues.truncate(3); s});
    let model = codec_core::Model::parse(&trained.model).unwrap();
    for b in [16usize, 32, 64, 128, 256] {
        let t = std::time::Instant::now();
        let codes = codec_host::codec::encode_all(&model, &q, b);
        let codes: Vec<Vec<u8>> = codes.into_iter().map(|c| c.unwrap()).collect();
        let te = t.elapsed().as_secs_f64();
        let refs: Vec<&[u8]> = codes.iter().map(|c| c.as_slice()).collect();
        let (rec, res) = codec_host::codec::decode_all(&model, &refs);
        assert!(res.iter().all(|r| r.is_ok()));
        let mut dr = 0.0; let mut mse = 0.0;
        for i in 0..q.len() { let e: f64 = q.row(i).iter().zip(&rec[i*q.dim..(i+1)*q.dim]).map(|(a,b)| (f64::from(*a)-f64::from(*b)).powi(2)).sum(); dr += e.sqrt(); mse += e; }
        let n = q.len() as f64;
        let maxlen = codes.iter().map(|c| c.len()).max().unwrap();
        let meanlen = codes.iter().map(|c| c.len()).sum::<usize>() as f64 / n;
        println!("B={b:4} dr={:.4} rmse={:.4} len max {maxlen} mean {meanlen:.1} enc {:.0}/s", dr/n, (mse/n).sqrt(), n/te);
        let out = codec_host::io::FeatureSet { names: q.names.clone(), dim: q.dim, data: rec };
        codec_host::io::npy::write_npy(Path::new(&format!("/tmp/rec{b}.npy")), &out, codec_host::io::npy::NpyDtype::F32)?;
    }
    Ok(())
}
