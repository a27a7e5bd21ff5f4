//! The row order of a directory of `.dat` files, kept in `names.txt` inside it (one name per
//! line, in row order).
//!
//! A directory has no order of its own: read in name order, the codes of a `.npy` whose rows
//! are named (`g.names.txt`) came back from `decode` sorted by name, another vector at most
//! positions of the array. So `encode` and `decode` write the order of what they wrote beside
//! it, and every directory reader follows it: listed files first, in its order, then any file
//! it does not list in name order. A listed name without a file is skipped (a row that was
//! rejected, or a code deleted since): the file is an order, not an inventory.

use super::atomic::write_atomic;
use super::has_line_break;
use anyhow::{Context, Result, bail};
use std::collections::HashMap;
use std::path::Path;

/// The order file of a directory.
pub const ORDER_FILE: &str = "names.txt";

/// Write the order of `names` into `dir` (which exists), replacing any earlier one.
pub fn write_order(dir: &Path, names: &[String]) -> Result<()> {
    let path = dir.join(ORDER_FILE);
    if let Some(name) = names.iter().find(|n| has_line_break(n)) {
        bail!(
            "{}: cannot hold the name {name:?}: it contains a line break",
            path.display()
        );
    }
    let mut text = String::with_capacity(names.iter().map(|n| n.len() + 1).sum());
    for n in names {
        text.push_str(n);
        text.push('\n');
    }
    write_atomic(&path, text.as_bytes())
}

/// Put `files` (in name order) into the order of `dir`'s order file, when it has one;
/// `row_name` gives a file's row name (`None` for a file that cannot have one, which goes last).
pub(crate) fn apply_order<T>(
    dir: &Path,
    files: &mut [T],
    row_name: impl Fn(&T) -> Option<&str>,
) -> Result<()> {
    let path = dir.join(ORDER_FILE);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e).with_context(|| format!("{}: cannot read", path.display())),
    };
    let mut rank: HashMap<&str, usize> = HashMap::new();
    for (i, name) in text
        .split_terminator('\n')
        .map(|l| l.strip_suffix('\r').unwrap_or(l))
        .enumerate()
    {
        // A name listed twice keeps its first place.
        rank.entry(name).or_insert(i);
    }
    // Stable: unlisted files keep their name order, after the listed ones.
    files.sort_by_key(|f| {
        row_name(f)
            .and_then(|s| rank.get(s).copied())
            .unwrap_or(usize::MAX)
    });
    Ok(())
}
