//! `naicfc validate`: check that every code respects the budget (and decodes, given a model).

use crate::codec::ModelFile;
use crate::exit::Outcome;
use crate::io::InputError;
use crate::io::codes::CodesInput;
use anyhow::Result;
use std::path::PathBuf;

/// Arguments of `naicfc validate`.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "Examples:\n  naicfc validate -b 64 -i codes/64\n  naicfc validate -b 64 -i codes/64 -m model.nfcm"
)]
pub struct Args {
    /// Byte budget every code must respect (1 to 8192)
    #[arg(short, long, value_parser = crate::commands::budget())]
    pub budget: usize,
    /// Directory of codes (`<name>.dat`), a `.nfcc` code array, or a `.npy` of uint8 (one code
    /// per row)
    #[arg(short, long = "in")]
    pub input: PathBuf,
    /// Also check that every code decodes with this model
    #[arg(short, long)]
    pub model: Option<PathBuf>,
    /// The codes are scalable codes or prefixes of them (with --model; a `.nfcc` array says
    /// so itself)
    #[arg(long, requires = "model")]
    pub scalable: bool,
    /// Print one JSON object (files, offenders with their problems, longest code, budget)
    /// instead of one line per offender
    #[arg(long)]
    pub json: bool,
}

/// What `naicfc validate --json` prints.
#[derive(Debug, serde::Serialize)]
struct Report<'a> {
    files: usize,
    budget: usize,
    longest: usize,
    offenders: Vec<Offender<'a>>,
}

#[derive(Debug, serde::Serialize)]
struct Offender<'a> {
    path: String,
    problem: &'a str,
}

/// Put offenders (unreadable files and bad codes, found apart) in the order of the directory
/// (its `names.txt`, else name order), as every listing follows the input order.
fn in_input_order(dir: &std::path::Path, offenders: &mut [InputError]) -> Result<()> {
    let position: std::collections::HashMap<std::ffi::OsString, usize> =
        crate::io::dat::list_dat_files(dir)?
            .into_iter()
            .enumerate()
            .map(|(i, f)| (f.file_name, i))
            .collect();
    offenders.sort_by_key(|f| {
        f.path
            .file_name()
            .and_then(|n| position.get(n).copied())
            .unwrap_or(usize::MAX)
    });
    Ok(())
}

/// Run `naicfc validate`.
pub fn run(args: &Args) -> Result<Outcome> {
    let model_file = args.model.as_deref().map(ModelFile::read).transpose()?;
    // Parsed once: a parse checks the whole model (its CRC among others), which at a few
    // milliseconds per code made validation of a large directory take minutes.
    let model = model_file.as_ref().map(ModelFile::model);
    // Read a little past the budget so an over-long file is reported with its real size
    // whenever it is not absurdly large.
    let mut codes = CodesInput::read(&args.input, args.budget.saturating_mul(4).max(1 << 16))?;
    let mut scalable = args.scalable;
    if let (Some(id), Some(file), Some(path)) = (&codes.identity, &model_file, &args.model) {
        id.check_model(&args.input, &file.fingerprint(), path)?;
        scalable |= id.scalable;
    }
    let mut offenders = std::mem::take(&mut codes.failures);
    let codes = codes;
    let blobs = &codes.blobs;
    let unreadable = offenders.len();
    let mut out = vec![0f32; model.as_ref().map_or(0, |m| m.dim())];
    for (index, (name, bytes)) in blobs.names.iter().zip(&blobs.bytes).enumerate() {
        let problem = if bytes.is_empty() {
            Some("empty file".to_string())
        } else if bytes.len() > args.budget {
            Some(format!(
                "{} bytes, over the budget of {}",
                bytes.len(),
                args.budget
            ))
        } else if let Some(m) = &model {
            let decoded = if scalable {
                codec_core::decode_scalable(m, bytes, &mut out).map(|_| ())
            } else {
                codec_core::decode(m, bytes, &mut out)
            };
            decoded.err().map(|e| format!("does not decode: {e}"))
        } else {
            None
        };
        if let Some(problem) = problem {
            offenders.push(codes.problem(&args.input, index, name, problem));
        }
    }
    if !codes.array {
        in_input_order(&args.input, &mut offenders)?;
    }
    let total = blobs.names.len() + unreadable;
    let longest = blobs.bytes.iter().map(Vec::len).max().unwrap_or(0);
    if args.json {
        let report = Report {
            files: total,
            budget: args.budget,
            longest,
            offenders: offenders
                .iter()
                .map(|f| Offender {
                    path: match &f.row {
                        Some(row) => format!("{}[row {}]", f.path.display(), row.index),
                        None => f.path.display().to_string(),
                    },
                    problem: &f.problem,
                })
                .collect(),
        };
        println!("{}", serde_json::to_string(&report)?);
    } else {
        for f in &offenders {
            println!("{f}");
        }
    }
    crate::summary!(
        "naicfc validate: {} files, {} offenders; longest code {longest} bytes, budget {}{}",
        total,
        offenders.len(),
        args.budget,
        if model.is_some() {
            ", all others decode"
        } else {
            ""
        }
    );
    Ok(if offenders.is_empty() {
        Outcome::Success
    } else {
        Outcome::Partial
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::{CodeKind, encode_all};
    use crate::test_support::{gaussian, parses_in, tiny_model};

    #[test]
    fn offenders_are_listed_in_the_input_order() {
        let dir = tempfile::tempdir().unwrap();
        for n in ["a", "b", "c"] {
            std::fs::write(dir.path().join(format!("{n}.dat")), [1u8]).unwrap();
        }
        crate::io::order::write_order(dir.path(), &["c".into(), "a".into(), "b".into()]).unwrap();
        let mut offenders: Vec<InputError> = ["a", "b", "c"]
            .iter()
            .map(|n| InputError::new(dir.path().join(format!("{n}.dat")), "bad"))
            .collect();
        in_input_order(dir.path(), &mut offenders).unwrap();
        let names: Vec<_> = offenders
            .iter()
            .map(|f| f.path.file_stem().unwrap().to_str().unwrap().to_string())
            .collect();
        assert_eq!(names, ["c", "a", "b"]);
    }

    #[test]
    fn the_model_is_parsed_once_whatever_the_number_of_codes() {
        let dir = tempfile::tempdir().unwrap();
        let model = tiny_model(12);
        let set = gaussian(20, 12, 9);
        let codes = encode_all(&model.model(), &set, CodeKind::Budget(16));
        let codes_dir = dir.path().join("codes");
        std::fs::create_dir(&codes_dir).unwrap();
        for (name, code) in set.names.iter().zip(codes) {
            std::fs::write(codes_dir.join(format!("{name}.dat")), code.unwrap()).unwrap();
        }
        let model_path = dir.path().join("m.nfcm");
        std::fs::write(&model_path, model.bytes()).unwrap();
        let args = Args {
            budget: 16,
            input: codes_dir,
            model: Some(model_path),
            scalable: false,
            json: false,
        };
        let (outcome, parses) = parses_in(|| run(&args).unwrap());
        assert_eq!(outcome, Outcome::Success);
        assert_eq!(parses, 1);
    }
}
