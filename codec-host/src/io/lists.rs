//! List files: `<name> <identity> [camera]` per line, matched to feature files by stem.

use anyhow::{Context, Result, bail};
use std::path::Path;

/// One line of a list file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListEntry {
    /// The name as written in the list (`00012.png`).
    pub name: String,
    /// The name without its extension (`00012`), which matches the feature file `00012.dat`.
    pub stem: String,
    /// Identity label.
    pub id: i64,
    /// Camera, when the list has a third column.
    pub cam: Option<i64>,
}

/// The stem of a file name: everything before the last `.` (the whole name if there is none).
pub fn stem_of(name: &str) -> &str {
    match name.rfind('.') {
        Some(i) if i > 0 => &name[..i],
        _ => name,
    }
}

/// Parse a list file.
pub fn read_list(path: &Path) -> Result<Vec<ListEntry>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("{}: cannot read", path.display()))?;
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let mut it = line.split_whitespace();
        let Some(name) = it.next() else { continue };
        let id = match it.next().map(str::parse::<i64>) {
            Some(Ok(v)) => v,
            _ => bail!(
                "{}:{}: expected `<name> <identity> [camera]`",
                path.display(),
                i + 1
            ),
        };
        let cam = match it.next().map(str::parse::<i64>) {
            None => None,
            Some(Ok(v)) => Some(v),
            Some(Err(_)) => bail!("{}:{}: camera is not an integer", path.display(), i + 1),
        };
        out.push(ListEntry {
            name: name.to_string(),
            stem: stem_of(name).to_string(),
            id,
            cam,
        });
    }
    Ok(out)
}
