//! Result files: the competition JSON `{"<query>": ["<gallery>", ... N names, best first]}`,
//! checked against the query and gallery lists.
//!
//! Names are matched by stem, so a result may say `00012.png` (the list name) or `00012.dat`
//! (the feature file) for the list entry `00012.png`.

use crate::io::lists::{ListEntry, stem_of};
use crate::search::Ranking;
use anyhow::{Context, Result, bail};
use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use serde_json::Value;
use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::fmt;
use std::path::Path;

/// Render a ranking as result JSON: one entry per query, `query_names[q]` mapped to the names
/// of its ranked gallery rows (`gallery_names[row]`), queries sorted by name, one per line.
/// The bytes depend only on the arguments.
pub fn results_json(ranking: &Ranking, query_names: &[String], gallery_names: &[String]) -> String {
    debug_assert_eq!(ranking.len(), query_names.len());
    let lists: Vec<&[u32]> = ranking.iter().collect();
    lists_json(&lists, query_names, gallery_names)
}

/// [`results_json`] of ranked lists held elsewhere (the Python package's index arrays): one
/// list of gallery rows per query, every row below `gallery_names.len()`.
pub fn lists_json(lists: &[&[u32]], query_names: &[String], gallery_names: &[String]) -> String {
    debug_assert_eq!(lists.len(), query_names.len());
    let mut order: Vec<usize> = (0..lists.len()).collect();
    order.sort_by(|&a, &b| query_names[a].cmp(&query_names[b]));
    let quote = |name: &str| Value::from(name).to_string();
    let mut out = String::from("{");
    for (i, &q) in order.iter().enumerate() {
        out.push_str(if i == 0 { "\n" } else { ",\n" });
        out.push_str(&quote(&query_names[q]));
        out.push_str(":[");
        for (j, &row) in lists[q].iter().enumerate() {
            if j > 0 {
                out.push(',');
            }
            out.push_str(&quote(&gallery_names[row as usize]));
        }
        out.push(']');
    }
    out.push_str("\n}\n");
    out
}

/// How many missing queries an error message spells out before summarising the rest.
const MISSING_SHOWN: usize = 5;

/// Map each entry's stem to its row in the list; two entries with the same stem are an error,
/// since a result name could not tell them apart.
pub fn index_list<'a>(entries: &'a [ListEntry], what: &str) -> Result<HashMap<&'a str, u32>> {
    let mut index = HashMap::with_capacity(entries.len());
    for (i, e) in entries.iter().enumerate() {
        let Ok(row) = u32::try_from(i) else {
            bail!("{what} has more than {} entries", u32::MAX);
        };
        if let Some(prev) = index.insert(e.stem.as_str(), row) {
            let prev = &entries[prev as usize].name;
            if *prev == e.name {
                bail!("{what}: `{}` appears twice", e.name);
            }
            bail!("{what}: `{prev}` and `{}` have the same stem", e.name);
        }
    }
    Ok(index)
}

/// Read a result file and turn it into ranked gallery-list rows, one list per query-list
/// entry, in query-list order. See [`parse_results`] for what is checked.
pub fn read_results(
    path: &Path,
    query_list: &[ListEntry],
    gallery_list: &[ListEntry],
    top: usize,
) -> Result<Vec<Option<Vec<u32>>>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("{}: cannot read", path.display()))?;
    parse_results(&text, query_list, gallery_list, top)
        .with_context(|| format!("{}: invalid results", path.display()))
}

/// Parse result JSON and turn it into ranked gallery-list rows, one list per query-list entry,
/// in query-list order; `None` for a query the file has no results for (a run that rejected
/// its feature file, say): the caller decides what that costs.
///
/// A query may appear at most once, with exactly `top` distinct gallery names that are all in
/// the gallery list, and nothing else may appear. The first violation is returned as an error
/// naming the query.
pub fn parse_results(
    text: &str,
    query_list: &[ListEntry],
    gallery_list: &[ListEntry],
    top: usize,
) -> Result<Vec<Option<Vec<u32>>>> {
    let queries = index_list(query_list, "query list")?;
    let gallery = index_list(gallery_list, "gallery list")?;
    let Entries(entries) = serde_json::from_str(text).context("malformed JSON")?;

    let mut out: Vec<Option<Vec<u32>>> = vec![None; query_list.len()];
    for (key, value) in entries {
        let Some(&qi) = queries.get(stem_of(&key)) else {
            bail!("query `{key}` is not in the query list");
        };
        let slot = &mut out[qi as usize];
        if slot.is_some() {
            bail!("query `{key}` appears twice (perhaps under another name with the same stem)");
        }
        *slot = Some(ranked_rows(&key, &value, &gallery, top)?);
    }
    Ok(out)
}

/// "N queries of the query list have no results: `a`, `b`, ..." for the queries of
/// `query_list` whose `rows` are `None`, or `None` when every query has results.
pub fn missing_queries(rows: &[Option<Vec<u32>>], query_list: &[ListEntry]) -> Option<String> {
    let missing: Vec<&str> = rows
        .iter()
        .zip(query_list)
        .filter(|(o, _)| o.is_none())
        .map(|(_, e)| e.name.as_str())
        .collect();
    let first = missing.first()?;
    let mut msg = format!(
        "{} queries of the query list have no results, starting with `{first}`",
        missing.len()
    );
    for name in missing.iter().skip(1).take(MISSING_SHOWN - 1) {
        msg.push_str(&format!(", `{name}`"));
    }
    Some(msg)
}

/// The gallery rows of one query's result list.
fn ranked_rows(
    query: &str,
    value: &Value,
    gallery: &HashMap<&str, u32>,
    top: usize,
) -> Result<Vec<u32>> {
    let Value::Array(items) = value else {
        bail!(
            "query `{query}`: expected a list of gallery names, found {}",
            kind(value)
        );
    };
    if items.len() != top {
        bail!("query `{query}`: {} results, expected {top}", items.len());
    }
    let mut position: HashMap<u32, usize> = HashMap::with_capacity(top);
    let mut rows = Vec::with_capacity(top);
    for (p, item) in items.iter().enumerate() {
        let Value::String(name) = item else {
            bail!(
                "query `{query}`: result {} is {}, not a gallery name",
                p + 1,
                kind(item)
            );
        };
        let Some(&row) = gallery.get(stem_of(name)) else {
            bail!("query `{query}`: `{name}` is not in the gallery list");
        };
        match position.entry(row) {
            Entry::Occupied(prev) => bail!(
                "query `{query}`: `{name}` is listed twice (results {} and {})",
                prev.get() + 1,
                p + 1
            ),
            Entry::Vacant(v) => v.insert(p),
        };
        rows.push(row);
    }
    Ok(rows)
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// The top-level object as written, duplicate keys included: deserialising into a map would
/// silently keep only the last of two entries for the same query.
struct Entries(Vec<(String, Value)>);

impl<'de> Deserialize<'de> for Entries {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct EntriesVisitor;
        impl<'de> Visitor<'de> for EntriesVisitor {
            type Value = Entries;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object mapping each query name to a list of gallery names")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Entries, A::Error> {
                let mut entries = Vec::with_capacity(map.size_hint().unwrap_or(0));
                while let Some(entry) = map.next_entry()? {
                    entries.push(entry);
                }
                Ok(Entries(entries))
            }
        }
        d.deserialize_map(EntriesVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(names: &[&str]) -> Vec<ListEntry> {
        names
            .iter()
            .map(|n| ListEntry {
                name: n.to_string(),
                stem: stem_of(n).to_string(),
                id: 0,
                cam: None,
                line: 1,
            })
            .collect()
    }

    fn parse(text: &str, top: usize) -> Result<Vec<Vec<u32>>> {
        let queries = list(&["q1.png", "q2.png"]);
        let rows = parse_results(text, &queries, &list(&["a.png", "b.png", "c.png"]), top)?;
        if let Some(msg) = missing_queries(&rows, &queries) {
            anyhow::bail!(msg);
        }
        Ok(rows.into_iter().flatten().collect())
    }

    fn err(text: &str, top: usize) -> String {
        format!("{:#}", parse(text, top).unwrap_err())
    }

    #[test]
    fn valid_results_map_to_rows_in_query_list_order() {
        let rows = parse(
            r#"{"q2.dat": ["c.dat", "a.png"], "q1.png": ["b.png", "c"]}"#,
            2,
        )
        .unwrap();
        assert_eq!(rows, vec![vec![1, 2], vec![2, 0]]);
    }

    #[test]
    fn each_problem_is_named() {
        let cases = [
            (r#"{"q1.png": ["a.png"], "#, "malformed JSON"),
            (r#"["q1.png"]"#, "an object mapping each query name"),
            (
                r#"{"q1.png": "a.png"}"#,
                "query `q1.png`: expected a list of gallery names, found a string",
            ),
            (
                r#"{"q1.png": ["a.png", 3]}"#,
                "query `q1.png`: result 2 is a number, not a gallery name",
            ),
            (
                r#"{"q1.png": ["a.png"]}"#,
                "query `q1.png`: 1 results, expected 2",
            ),
            (
                r#"{"q1.png": ["a.png", "a.dat"]}"#,
                "query `q1.png`: `a.dat` is listed twice (results 1 and 2)",
            ),
            (
                r#"{"q1.png": ["a.png", "zz.png"]}"#,
                "query `q1.png`: `zz.png` is not in the gallery list",
            ),
            (
                r#"{"q9.png": ["a.png", "b.png"]}"#,
                "query `q9.png` is not in the query list",
            ),
            (
                r#"{"q1.png": ["a.png", "b.png"], "q1.dat": ["a.png", "b.png"]}"#,
                "query `q1.dat` appears twice",
            ),
            (
                r#"{"q1.png": ["a.png", "b.png"]}"#,
                "1 queries of the query list have no results, starting with `q2.png`",
            ),
        ];
        for (text, want) in cases {
            let got = err(text, 2);
            assert!(got.contains(want), "{text}\n got: {got}\nwant: {want}");
        }
    }

    #[test]
    fn written_json_is_sorted_escaped_and_reads_back() {
        use crate::io::FeatureSet;
        use crate::search::{Metric, search};
        let set = |names: &[&str], data: Vec<f32>| FeatureSet {
            names: names.iter().map(|n| n.to_string()).collect(),
            dim: 1,
            data,
        };
        let gallery = set(&["a", "b", "c"], vec![1.0, -1.0, 0.5]);
        let query = set(&["q2", "q1"], vec![-2.0, 3.0]);
        let ranking = search(&query, &gallery, 2, Metric::Euclidean).unwrap();
        let qnames = vec!["q2.png".to_string(), "q1.png".to_string()];
        let gnames = vec![
            "a.png".to_string(),
            "b\"x.png".to_string(),
            "c.png".to_string(),
        ];
        let json = results_json(&ranking, &qnames, &gnames);
        // q1 = 3 is nearest a = 1 then c = 0.5; q2 = −2 is nearest b = −1 then c = 0.5.
        assert_eq!(
            json,
            "{\n\"q1.png\":[\"a.png\",\"c.png\"],\n\"q2.png\":[\"b\\\"x.png\",\"c.png\"]\n}\n"
        );
        let glist = list(&["a.png", "b\"x.png", "c.png"]);
        let rows = parse_results(&json, &list(&["q1.png", "q2.png"]), &glist, 2).unwrap();
        assert_eq!(rows, vec![Some(vec![0, 2]), Some(vec![1, 2])]);
    }

    #[test]
    fn lists_with_clashing_stems_are_rejected() {
        let e = index_list(&list(&["a.png", "a.jpg"]), "gallery list").unwrap_err();
        assert_eq!(
            e.to_string(),
            "gallery list: `a.png` and `a.jpg` have the same stem"
        );
        let e = index_list(&list(&["a.png", "a.png"]), "query list").unwrap_err();
        assert_eq!(e.to_string(), "query list: `a.png` appears twice");
    }
}
