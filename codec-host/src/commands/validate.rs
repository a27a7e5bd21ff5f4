//! `naicfc validate`: check that every code respects the budget (and decodes, given a model).

use crate::codec::ModelFile;
use crate::exit::Outcome;
use crate::io::InputError;
use crate::io::blobs::read_blobs;
use anyhow::Result;
use std::path::PathBuf;

/// Arguments of `naicfc validate`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Byte budget every code must respect (1 to 8192)
    #[arg(long, value_parser = crate::commands::budget())]
    pub budget: usize,
    /// Directory of codes (`<name>.dat`)
    #[arg(long = "in")]
    pub input: PathBuf,
    /// Also check that every code decodes with this model
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// The codes are scalable codes or prefixes of them (with --model)
    #[arg(long, requires = "model")]
    pub scalable: bool,
}

/// Run `naicfc validate`.
pub fn run(args: &Args) -> Result<Outcome> {
    let model = args.model.as_deref().map(ModelFile::read).transpose()?;
    // Read a little past the budget so an over-long file is reported with its real size
    // whenever it is not absurdly large.
    let (blobs, mut offenders) =
        read_blobs(&args.input, args.budget.saturating_mul(4).max(1 << 16))?;
    let unreadable = offenders.len();
    let mut out = vec![0f32; model.as_ref().map_or(0, |m| m.model().dim())];
    for (name, bytes) in blobs.names.iter().zip(&blobs.bytes) {
        let path = args.input.join(format!("{name}.dat"));
        let problem = if bytes.is_empty() {
            Some("empty file".to_string())
        } else if bytes.len() > args.budget {
            Some(format!(
                "{} bytes, over the budget of {}",
                bytes.len(),
                args.budget
            ))
        } else if let Some(m) = &model {
            let decoded = if args.scalable {
                codec_core::decode_scalable(&m.model(), bytes, &mut out).map(|_| ())
            } else {
                codec_core::decode(&m.model(), bytes, &mut out)
            };
            decoded.err().map(|e| format!("does not decode: {e}"))
        } else {
            None
        };
        if let Some(problem) = problem {
            offenders.push(InputError { path, problem });
        }
    }
    offenders.sort_by(|a, b| a.path.cmp(&b.path));
    for f in &offenders {
        println!("{f}");
    }
    let total = blobs.names.len() + unreadable;
    let longest = blobs.bytes.iter().map(Vec::len).max().unwrap_or(0);
    eprintln!(
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
