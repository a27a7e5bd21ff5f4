//! `naicfc export-c`: write a model as a C header, so firmware can compile it into flash.
//!
//! The header holds one `static const uint8_t` array aligned to 8 bytes and a `<NAME>_LEN`
//! macro. `naicfc_model_init` reads the model in place from that array, so nothing is copied
//! to RAM. The alignment is not needed by this library version (it reads bytes), but costs at
//! most 7 bytes of flash and lets later versions or the firmware read wider fields in place.

use crate::codec::ModelFile;
use crate::exit::Outcome;
use crate::io::atomic::write_atomic_with;
use crate::io::outputs::{Place, check_file_outputs, check_outputs};
use anyhow::{Result, bail};
use std::io::Write;
use std::path::PathBuf;

/// Arguments of `naicfc export-c`.
#[derive(clap::Args, Debug)]
#[command(after_help = "Example:\n  naicfc export-c -m model.nfcm -o naicfc_model_data.h")]
pub struct Args {
    /// Model file from `naicfc train`
    #[arg(short, long)]
    pub model: PathBuf,
    /// Output C header (`-` for standard output)
    #[arg(short, long)]
    pub out: PathBuf,
    /// C identifier of the array; the length macro is its upper-case form plus `_LEN` (none of
    /// the names may be a C keyword or clash with a name of naicfc.h)
    #[arg(long, default_value = "naicfc_model_data", value_parser = identifier)]
    pub name: String,
    /// Print the summary as one JSON object on stdout (header, array name, model bytes); not
    /// with `-o -`, where stdout is the header
    #[arg(long)]
    pub json: bool,
}

/// What `naicfc export-c --json` prints.
#[derive(Debug, serde::Serialize)]
struct Summary<'a> {
    out: String,
    name: &'a str,
    bytes: usize,
}

/// Run `naicfc export-c`.
pub fn run(args: &Args) -> Result<Outcome> {
    if args.json && crate::io::atomic::is_stdout(&args.out) {
        bail!("--json and -o - both write to standard output: name a header file");
    }
    let outputs = [Place::new("--out", &args.out)];
    check_outputs(&outputs, &[Place::new("--model", &args.model)])?;
    check_file_outputs(&outputs)?;
    // Validating first means firmware never gets a model that `naicfc_model_init` rejects.
    let model = ModelFile::read(&args.model)?;
    let source = args.model.file_name().map_or_else(
        || args.model.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    write_atomic_with(&args.out, |w| write_header(w, &args.name, &source, &model))?;
    if args.json {
        let summary = Summary {
            out: args.out.display().to_string(),
            name: &args.name,
            bytes: model.bytes().len(),
        };
        println!("{}", serde_json::to_string(&summary)?);
    }
    crate::summary!(
        "naicfc export-c: {} ({} bytes of model as `{}`)",
        args.out.display(),
        model.bytes().len(),
        args.name
    );
    Ok(Outcome::Success)
}

/// C keywords (C11 and the common C++ ones) cannot name the array.
const RESERVED: &[&str] = &[
    "auto",
    "break",
    "case",
    "char",
    "const",
    "continue",
    "default",
    "do",
    "double",
    "else",
    "enum",
    "extern",
    "float",
    "for",
    "goto",
    "if",
    "inline",
    "int",
    "long",
    "register",
    "restrict",
    "return",
    "short",
    "signed",
    "sizeof",
    "static",
    "struct",
    "switch",
    "typedef",
    "union",
    "unsigned",
    "void",
    "volatile",
    "while",
    "bool",
    "class",
    "delete",
    "new",
    "namespace",
    "template",
    "this",
    "true",
    "false",
];

/// The C API's header: the generated header is included beside it, so none of the names it
/// defines may be one of this header's (`--name naicfc` would reuse its include guard and
/// make the array vanish; `--name naicfc_model` would redeclare the handle type).
const API_HEADER: &str = include_str!("../../../include/naicfc.h");

/// The identifiers of C source `text` outside its comments (the header's comments mention
/// names, such as examples of `--name`, that it does not define).
fn header_identifiers(text: &str) -> std::collections::HashSet<String> {
    let mut code = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("/*") {
        code.push_str(&rest[..start]);
        code.push(' ');
        rest = match rest[start..].find("*/") {
            Some(end) => &rest[start + end + 2..],
            None => "",
        };
    }
    code.push_str(rest);
    code.lines()
        .flat_map(|line| {
            let line = line.split("//").next().unwrap_or("");
            line.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .filter(|w| !w.is_empty())
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .collect()
}

/// The parser of `--name`: a usable C identifier whose generated names are free.
fn identifier(name: &str) -> Result<String, String> {
    check_identifier(name)
        .map(|()| name.to_string())
        .map_err(|e| e.to_string())
}

fn check_identifier(name: &str) -> Result<()> {
    let mut chars = name.chars();
    let valid = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !valid || RESERVED.contains(&name) {
        bail!("{name:?} is not a usable C identifier (letters, digits and _, not a keyword)");
    }
    let upper = name.to_ascii_uppercase();
    let generated = [
        name.to_string(),
        format!("{upper}_H"),
        format!("{upper}_LEN"),
        format!("{upper}_ALIGN"),
    ];
    let declared = header_identifiers(API_HEADER);
    if let Some(clash) = generated.iter().find(|id| declared.contains(*id)) {
        bail!("{name:?} would define `{clash}`, which naicfc.h already defines");
    }
    Ok(())
}

/// Path-independent text for the header's comment: the file name only, so the header does not
/// change with the directory it was generated in.
fn write_header(w: &mut dyn Write, name: &str, source: &str, model: &ModelFile) -> Result<()> {
    let bytes = model.bytes();
    let m = model.model();
    let upper = name.to_ascii_uppercase();
    let budgets: Vec<String> = (0..m.budget_count())
        .filter_map(|i| m.budget(i))
        .map(|b| b.to_string())
        .collect();
    writeln!(
        w,
        "/* Generated by `naicfc export-c` from {source}: do not edit, regenerate instead.\n \
         * naicfc model, format version {}: dimension {}, minimum budget {} bytes,\n \
         * trained budgets {}, {} bytes.\n \
         * Use: naicfc_model_init(&model, {name}, {upper}_LEN);\n \
         * The array must stay where it is while the model is used (it is read in place). */",
        m.format_version(),
        m.dim(),
        model.min_budget(),
        if budgets.is_empty() {
            "none".to_string()
        } else {
            budgets.join(", ")
        },
        bytes.len(),
    )?;
    writeln!(w, "#ifndef {upper}_H\n#define {upper}_H\n")?;
    writeln!(w, "#include <stdint.h>\n")?;
    writeln!(
        w,
        "/** Bytes in `{name}`. */\n#define {upper}_LEN {}u\n",
        bytes.len()
    )?;
    // `unused` keeps -Wall quiet in translation units that include the header but do not use
    // the model; GCC, Clang and armclang all take the attribute form.
    writeln!(
        w,
        "#if defined(__GNUC__) || defined(__clang__)\n\
         #define {upper}_ALIGN __attribute__((aligned(8), unused))\n\
         #elif defined(__cplusplus)\n\
         #define {upper}_ALIGN alignas(8)\n\
         #else\n\
         #define {upper}_ALIGN _Alignas(8)\n\
         #endif\n"
    )?;
    writeln!(
        w,
        "/** The model, as written by `naicfc train`. */\n\
         {upper}_ALIGN static const uint8_t {name}[{upper}_LEN] = {{"
    )?;
    for line in bytes.chunks(16) {
        let mut text = String::with_capacity(16 * 6);
        for b in line {
            text.push_str(&format!("0x{b:02x},"));
        }
        writeln!(w, "  {text}")?;
    }
    writeln!(w, "}};\n\n#endif /* {upper}_H */")?;
    Ok(())
}

/// The header for `model` as a string (for tests and callers that do not write files).
pub fn render(name: &str, source: &str, model: &ModelFile) -> Result<String> {
    check_identifier(name)?;
    let mut out = Vec::new();
    write_header(&mut out, name, source, model)?;
    Ok(String::from_utf8(out)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::FeatureSet;
    use crate::rng::Rng;
    use crate::train::{TrainConfig, train};

    fn tiny_model() -> ModelFile {
        let (rows, dim) = (64, 12);
        let mut rng = Rng::new(5);
        let data = (0..rows * dim).map(|_| rng.normal() as f32).collect();
        let set = FeatureSet {
            names: (0..rows).map(|i| i.to_string()).collect(),
            dim,
            data,
        };
        let cfg = TrainConfig {
            max_coeffs: 6,
            ..TrainConfig::default()
        };
        ModelFile::from_bytes(train(&set, None, &cfg).unwrap().model).unwrap()
    }

    #[test]
    fn the_array_holds_the_model_bytes_aligned_with_their_length() {
        let model = tiny_model();
        let text = render("fw_model", "tiny.nfcm", &model).unwrap();
        let n = model.bytes().len();
        assert!(text.contains(&format!("#define FW_MODEL_LEN {n}u")));
        assert!(text.contains("#ifndef FW_MODEL_H"));
        assert!(text.contains("__attribute__((aligned(8), unused))"));
        assert!(text.contains("_Alignas(8)"));
        assert!(text.contains("FW_MODEL_ALIGN static const uint8_t fw_model[FW_MODEL_LEN] = {"));
        assert!(text.contains("from tiny.nfcm"));
        let body = &text[text.find("= {").unwrap() + 3..text.rfind("};").unwrap()];
        let parsed: Vec<u8> = body
            .split(',')
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(|t| u8::from_str_radix(t.trim_start_matches("0x"), 16).unwrap())
            .collect();
        assert_eq!(parsed, model.bytes());
    }

    #[test]
    fn identifiers_are_checked() {
        for ok in ["naicfc_model_data", "_m", "model2", "M"] {
            assert!(check_identifier(ok).is_ok(), "{ok}");
        }
        for bad in ["", "2model", "my-model", "static", "mödel", "a b"] {
            assert!(check_identifier(bad).is_err(), "{bad}");
        }
        // Names whose array, guard or macros naicfc.h already defines.
        for (clash, what) in [
            ("naicfc", "NAICFC_H"),
            ("naicfc_model", "naicfc_model"),
            ("naicfc_encode", "naicfc_encode"),
            ("NAICFC_MAX_BUDGET", "NAICFC_MAX_BUDGET"),
        ] {
            let err = check_identifier(clash).map(|()| "accepted").unwrap_err();
            assert!(err.to_string().contains(what), "{clash}: {err}");
        }
    }
}
