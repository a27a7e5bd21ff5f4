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
use super::features::DatFile;
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

/// Put `files` (in name order) into the order of `dir`'s order file, when it has one.
pub(crate) fn apply_order(dir: &Path, files: &mut [DatFile]) -> Result<()> {
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
        f.stem
            .as_ref()
            .ok()
            .and_then(|s| rank.get(s.as_str()).copied())
            .unwrap_or(usize::MAX)
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::features::list_dat_files;

    #[test]
    fn a_directory_is_listed_in_its_order_then_by_name() {
        let dir = tempfile::tempdir().unwrap();
        for n in ["a", "b", "c", "d", "e"] {
            std::fs::write(dir.path().join(format!("{n}.dat")), [0u8; 4]).unwrap();
        }
        let stems = |d: &Path| -> Vec<String> {
            list_dat_files(d)
                .unwrap()
                .into_iter()
                .map(|f| f.stem.unwrap())
                .collect()
        };
        assert_eq!(stems(dir.path()), ["a", "b", "c", "d", "e"]);
        let order: Vec<String> = ["d", "gone", "b", "e"].map(String::from).to_vec();
        write_order(dir.path(), &order).unwrap();
        assert_eq!(stems(dir.path()), ["d", "b", "e", "a", "c"]);
        let bad = write_order(dir.path(), &["x\ny".to_string()]).unwrap_err();
        assert!(bad.to_string().contains("line break"), "{bad}");
    }
}
