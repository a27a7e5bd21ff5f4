//! `naicfc reid`: exact batch re-identification, of features or of a gallery stored as codes.

use crate::codec::ModelFile;
use crate::coded_search::{CodedSearch, CodedSide, stored_coefficients};
use crate::exit::Outcome;
use crate::io::codes::{CodeArray, is_code_array, read_code_array};
use crate::io::lists::read_list;
use crate::io::outputs::{Place, check_file_outputs, check_outputs};
use crate::io::{FeatureSet, InputError, ReadOptions, read_features, read_in_batches};
use crate::listed::restrict_to_list;
use crate::metrics::results::results_json;
use crate::search::{
    Metric, Ranking, RerankOptions, Reranker, SearchOptions, StreamingSearch, active_dims,
};
use anyhow::{Result, bail};
use std::path::{Path, PathBuf};
use std::time::Instant;

mod learned;
use learned::Learned;

/// Arguments of `naicfc reid`.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "Examples:\n  naicfc reid --query data-a/query_feature --gallery data-a/gallery_feature -o results.json\n  naicfc reid --query q.npy --gallery g.npy -o - | head\n  naicfc reid --query q.npy --gallery gallery.nfcc -m model.nfcm -o results.json\n  naicfc reid --query q.npy --gallery gallery.nfcc -m model.nfcm -b 64 -o results.json\n  naicfc reid --query q.npy --gallery g.npy --rerank -o results.json\n  naicfc reid --query q.npy --gallery g.npy -m model.nfcm --learn data-a/train/train_feature --learn-list data-a/train/train_list.txt -o results.json"
)]
pub struct Args {
    /// Directory of query features (.dat) or a .npy file
    #[arg(long)]
    pub query: PathBuf,
    /// Directory of gallery features (.dat) or a .npy file; or, with --model, a gallery stored
    /// as codes (a .nfcc code array or a .npy of uint8), ranked by cosine with its
    /// reconstruction without decoding it to vectors
    #[arg(long)]
    pub gallery: PathBuf,
    /// Output JSON file (query name -> ranked gallery names; `-` for standard output)
    #[arg(short, long)]
    pub out: PathBuf,
    /// Results per query
    #[arg(long, default_value_t = 100, value_parser = crate::commands::at_least_one)]
    pub top: usize,
    /// How to compare features (the coefficient-domain search, --model, ranks by cosine)
    #[arg(long, value_enum, default_value_t = Metric::Cosine, conflicts_with = "model")]
    pub metric: Metric,
    /// Query list (`<name> <identity> [camera]`): only listed queries are searched, under their
    /// list names
    #[arg(long)]
    pub query_list: Option<PathBuf>,
    /// Gallery list (`<name> <identity> [camera]`): only listed items are ranked, under their
    /// list names
    #[arg(long)]
    pub gallery_list: Option<PathBuf>,
    /// Expected feature dimension (default: taken from the first readable file)
    #[arg(long)]
    pub dim: Option<usize>,
    /// Stop at the first bad input instead of reporting it and going on
    #[arg(long)]
    pub strict: bool,
    /// Search in the codec's coefficient domain with this model (needs --budget, unless the
    /// gallery is a code array: its codes must be this model's); with --learn, the model whose
    /// coefficients the learned metric weighs
    #[arg(short, long)]
    pub model: Option<PathBuf>,
    /// Byte budget at which the queries (and with --coded both, the gallery) are coded; with a
    /// coded gallery and no budget, the original queries are ranked against it
    #[arg(short, long, requires = "model", value_parser = crate::commands::budget())]
    pub budget: Option<usize>,
    /// Which side is coded in the coefficient-domain search (needs --model)
    #[arg(long, value_enum, default_value_t = CodedSide::Query, requires = "model")]
    pub coded: CodedSide,
    /// Gallery vectors read and scored at a time by the exact search (bounds memory)
    #[arg(long, default_value_t = 65_536)]
    pub batch_rows: usize,
    #[command(flatten)]
    pub rerank: RerankArgs,
    #[command(flatten)]
    pub learn: LearnArgs,
}

/// `reid --rerank` and its parameters (the defaults are Zhong et al.'s).
#[derive(clap::Args, Debug, Clone)]
#[command(next_help_heading = "Re-ranking")]
pub struct RerankArgs {
    /// Re-rank each query's best --rerank-pool gallery items by k-reciprocal encoding (Zhong
    /// et al. 2017): reads the gallery twice; features only (not with --budget or codes)
    #[arg(long)]
    pub rerank: bool,
    /// Re-ranking: neighbours in the k-reciprocal sets (k1)
    #[arg(long, default_value_t = 20, value_parser = crate::commands::at_least_one)]
    pub rerank_k1: usize,
    /// Re-ranking: neighbours averaged by the query expansion (k2; 1 = none)
    #[arg(long, default_value_t = 6, value_parser = crate::commands::at_least_one)]
    pub rerank_k2: usize,
    /// Re-ranking: weight of the original distance against the Jaccard distance (lambda)
    #[arg(long, default_value_t = 0.3, value_parser = crate::commands::number_in(0.0, 1.0))]
    pub rerank_lambda: f64,
    /// Re-ranking: candidates per query that are re-ranked (at least --top; more cost
    /// quadratically)
    #[arg(long, default_value_t = 100, value_parser = crate::commands::at_least_one)]
    pub rerank_pool: usize,
}

impl Default for RerankArgs {
    fn default() -> Self {
        let d = RerankOptions::default();
        RerankArgs {
            rerank: false,
            rerank_k1: d.k1,
            rerank_k2: d.k2,
            rerank_lambda: f64::from(d.lambda),
            rerank_pool: d.pool,
        }
    }
}

/// `reid --learn`: a metric learned from training features.
#[derive(clap::Args, Debug, Clone, Default)]
#[command(next_help_heading = "Learned metric")]
pub struct LearnArgs {
    /// Rank by a metric learned from these training features (.dat directory or .npy): the
    /// --model's coefficients, each weighted by its training variance to the power -alpha,
    /// compared by cosine (needs --model, without --budget)
    #[arg(long, requires = "model", conflicts_with = "budget")]
    pub learn: Option<PathBuf>,
    /// Identities of the --learn features (`<name> <identity> [camera]`): alpha and the
    /// centring are chosen on a held-out split of them
    #[arg(long, requires = "learn")]
    pub learn_list: Option<PathBuf>,
    /// Fixed exponent of the learned metric (uncentred coefficients: 0 is plain cosine),
    /// instead of choosing it on --learn-list
    #[arg(long, requires = "learn", value_parser = crate::commands::number_in(0.0, 2.0))]
    pub alpha: Option<f64>,
}

/// The queries, ready to go.
struct Queries {
    set: FeatureSet,
    /// What each row is called in the result file.
    names: Vec<String>,
    /// Inputs rejected (already reported on stderr).
    rejected: usize,
}

/// Run `naicfc reid`.
pub fn run(args: &Args) -> Result<Outcome> {
    let start = Instant::now();
    if args.top == 0 {
        bail!("--top must be at least 1");
    }
    let outputs = [Place::new("--out", &args.out)];
    check_outputs(&outputs, &inputs(args))?;
    check_file_outputs(&outputs)?;
    let read = ReadOptions {
        dim: args.dim,
        strict: args.strict,
        prefer_dim: None,
    };
    let model = args.model.as_deref().map(ModelFile::read).transpose()?;
    if let (Some(model), Some(budget)) = (&model, args.budget) {
        model.check_budget(budget)?;
    }
    if (args.rerank.rerank || args.learn.learn.is_some())
        && (is_index(&args.gallery) || (model.is_some() && is_code_array(&args.gallery)))
    {
        bail!("--rerank and --learn rank features: decode a coded gallery first (naicfc decode)");
    }
    if args.rerank.rerank && args.budget.is_some() {
        bail!(
            "--rerank ranks features, not the coefficient-domain search of --budget: decode \
             the queries (naicfc encode + decode) and re-rank those"
        );
    }
    let coded_gallery = match (&model, args.model.as_deref()) {
        _ if is_index(&args.gallery) || args.learn.learn.is_some() => None,
        (Some(model), Some(model_path)) if is_code_array(&args.gallery) => {
            Some(open_coded_gallery(&args.gallery, model, model_path)?)
        }
        (Some(_), _) if args.budget.is_none() => bail!(
            "--model needs --budget, unless --gallery is a code array (.nfcc, or .npy of uint8)"
        ),
        _ => None,
    };
    let query = load_queries(&args.query, args.query_list.as_deref(), &read)?;
    if query.set.is_empty() {
        bail!("{}: no usable query features", args.query.display());
    }
    if is_index(&args.gallery) {
        return search_index(args, model.as_ref(), &query, start);
    }
    let learned = match (&model, &args.learn.learn) {
        (Some(m), Some(train)) => {
            let t0 = Instant::now();
            let l = Learned::learn(
                &m.model(),
                train,
                args.learn.learn_list.as_deref(),
                args.learn.alpha,
                &read,
                args.batch_rows,
            )?;
            Some((l, t0.elapsed().as_secs_f64()))
        }
        _ => None,
    };

    let searching = Instant::now();
    let bar = crate::progress::bar(0, "reid");
    let opts = SearchOptions {
        progress: Some(bar.clone()),
        ..SearchOptions::default()
    };
    let (ranking, gallery, how) = match (&model, args.budget) {
        (Some(model), budget) if coded_gallery.is_some() => {
            let codes = coded_gallery.as_ref().expect("checked in the guard");
            let mut search = match budget {
                Some(b) => {
                    CodedSearch::new(model, &query.set, b, CodedSide::Both, args.top, &opts)?
                }
                None => CodedSearch::original_queries(model, &query.set, args.top, &opts)?,
            };
            let m = model.model();
            let gallery = stream_gallery(args, &read, &bar, Some((&m, codes)), true, |part| {
                search.add_coefficients(part)
            })?;
            let (ranking, stats) = search.finish();
            let queries = match budget {
                Some(b) => format!("queries coded at {b} bytes"),
                None => "original queries".to_string(),
            };
            let how = format!(
                "coded gallery of {} bytes per code, {queries} ({} dims: coding {:.2} s, gallery {:.2} s, search {:.2} s)",
                codes.row_len,
                stats.dims,
                stats.coding_seconds,
                stats.gallery_seconds,
                stats.search_seconds
            );
            (ranking, gallery, how)
        }
        (Some(model), Some(budget)) => {
            let mut search =
                CodedSearch::new(model, &query.set, budget, args.coded, args.top, &opts)?;
            let gallery = stream_gallery(args, &read, &bar, None, true, |part| search.add(part))?;
            let (ranking, stats) = search.finish();
            let how = format!(
                "coefficient domain at {budget} bytes ({:?} coded, {} dims: coding {:.2} s, gallery {:.2} s, search {:.2} s)",
                args.coded,
                stats.dims,
                stats.coding_seconds,
                stats.gallery_seconds,
                stats.search_seconds
            );
            (ranking, gallery, how)
        }
        _ => feature_search(args, &read, &bar, &query.set, learned.as_ref(), &opts)?,
    };
    let search_secs = searching.elapsed().as_secs_f64();
    let json = results_json(&ranking, &query.names, &gallery.names);
    crate::io::atomic::write_atomic(&args.out, json.as_bytes())?;

    let secs = start.elapsed().as_secs_f64();
    crate::summary!(
        "naicfc reid: {} queries x {} gallery, {how}, top {} -> {} in {:.2} s \
         (search {:.2} s), {:.0} queries/s",
        query.set.len(),
        gallery.names.len(),
        args.top,
        args.out.display(),
        secs,
        search_secs,
        query.set.len() as f64 / secs.max(1e-9),
    );
    let rejected = query.rejected + gallery.rejected;
    if rejected > 0 {
        eprintln!("naicfc reid: {rejected} inputs rejected (listed above); the rest was processed");
        return Ok(Outcome::Partial);
    }
    Ok(Outcome::Success)
}

/// The search of features (the default path): exact, then re-ranked with `--rerank`; with
/// `--learn`, queries and gallery are first mapped into the learned metric's space.
fn feature_search(
    args: &Args,
    read: &ReadOptions,
    bar: &indicatif::ProgressBar,
    query: &FeatureSet,
    learned: Option<&(Learned, f64)>,
    opts: &SearchOptions,
) -> Result<(Ranking, Gallery, String)> {
    let map = |set: &FeatureSet| learned.map(|(l, _)| l.apply(set));
    let mapped = map(query);
    let qset = mapped.as_ref().unwrap_or(query);
    let metric = if learned.is_some() {
        Metric::Cosine
    } else {
        args.metric
    };
    if args.rerank.rerank && metric == Metric::InnerProduct {
        bail!("--rerank needs a distance: use --metric cosine or euclidean");
    }
    // The first stage keeps each query's whole pool when re-ranking.
    let k = if args.rerank.rerank {
        args.top.max(args.rerank.rerank_pool)
    } else {
        args.top
    };
    let first = Instant::now();
    let mut search = StreamingSearch::new(qset, k, metric, opts)?;
    let mut mask = active_dims(qset);
    let gallery = stream_gallery(args, read, bar, None, true, |part| {
        let mapped = map(part);
        let part = mapped.as_ref().unwrap_or(part);
        if args.rerank.rerank {
            for (m, a) in mask.iter_mut().zip(active_dims(part)) {
                *m |= a;
            }
        }
        search.add(part)
    })?;
    let mut ranking = search.finish();
    let search_secs = first.elapsed().as_secs_f64();
    let mut how = format!(
        "{}-d ({} used), {}",
        qset.dim,
        ranking.dims_used(),
        metric.name()
    );
    if let Some((l, secs)) = learned {
        how = format!(
            "learned metric ({}, {}{}; learned from {} training vectors in {secs:.2} s) over {}",
            format_args!("alpha {:.2}", l.alpha),
            if l.centred { "centred" } else { "uncentred" },
            l.fit.as_ref().map_or(String::new(), |f| format!(
                "; held-out ACC_reid {:.4} against {:.4} by cosine, {} queries x {} gallery",
                f.acc, f.acc_cosine, f.queries, f.gallery
            )),
            l.rows,
            how
        );
    }
    if args.rerank.rerank {
        let t0 = Instant::now();
        let mut rr = Reranker::new(ranking, metric, &mask)?;
        let hidden = indicatif::ProgressBar::hidden();
        let again = stream_gallery(args, read, &hidden, None, false, |part| {
            let mapped = map(part);
            rr.add(mapped.as_ref().unwrap_or(part));
            Ok(())
        })?;
        if again.names != gallery.names {
            bail!(
                "{}: the gallery changed while it was read",
                args.gallery.display()
            );
        }
        let candidates = rr.candidates();
        let ro = RerankOptions {
            k1: args.rerank.rerank_k1,
            k2: args.rerank.rerank_k2,
            lambda: args.rerank.rerank_lambda as f32,
            pool: k,
        };
        ranking = rr.finish(qset, args.top, &ro);
        let secs = t0.elapsed().as_secs_f64();
        how = format!(
            "{how}, re-ranked (k1 {}, k2 {}, lambda {}, pool {k}, {candidates} candidate rows): \
             search {search_secs:.2} s + re-ranking {secs:.2} s = {:.2}x",
            ro.k1,
            ro.k2,
            ro.lambda,
            (search_secs + secs) / search_secs.max(1e-9)
        );
    }
    Ok((ranking, gallery, how))
}

/// Whether the gallery is an int8 index (`naicfc index`), by its extension.
fn is_index(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("nfci"))
}

/// `reid` over an int8 index (`naicfc index`), memory-mapped: the gallery's codes stand for
/// their reconstructions, as with a code array, at a fraction of the work.
fn search_index(
    args: &Args,
    model: Option<&ModelFile>,
    query: &Queries,
    start: Instant,
) -> Result<Outcome> {
    let (Some(model), Some(model_path)) = (model, args.model.as_deref()) else {
        bail!("an index gallery (.nfci) needs --model, the model its codes were made with");
    };
    if args.gallery_list.is_some() {
        bail!("--gallery-list does not apply to an index; index the listed codes instead");
    }
    let index = crate::index::Index::open(&args.gallery)?;
    let (ours, theirs) = (index.fingerprint_hex(), model.fingerprint());
    if ours != theirs {
        bail!(
            "{}: the codes were made with the model of fingerprint {ours}, but {} has \
             fingerprint {theirs}",
            args.gallery.display(),
            model_path.display()
        );
    }
    if index.len() < args.top {
        bail!(
            "{}: {} gallery items, fewer than --top {}",
            args.gallery.display(),
            index.len(),
            args.top
        );
    }
    let searching = Instant::now();
    let ranking = index.search(model, &query.set, args.budget, args.top)?;
    let search_secs = searching.elapsed().as_secs_f64();
    let gallery: Vec<String> = index.names().iter().map(|s| format!("{s}.dat")).collect();
    let json = results_json(&ranking, &query.names, &gallery);
    crate::io::atomic::write_atomic(&args.out, json.as_bytes())?;
    let secs = start.elapsed().as_secs_f64();
    crate::summary!(
        "naicfc reid: {} queries x {} gallery, int8 index of {} values per row, top {} -> {} \
         in {secs:.2} s (search {search_secs:.2} s), {:.0} queries/s",
        query.set.len(),
        index.len(),
        index.dims(),
        args.top,
        args.out.display(),
        query.set.len() as f64 / secs.max(1e-9),
    );
    if query.rejected > 0 {
        eprintln!(
            "naicfc reid: {} inputs rejected (listed above); the rest was processed",
            query.rejected
        );
        return Ok(Outcome::Partial);
    }
    Ok(Outcome::Success)
}

/// Everything `naicfc reid` reads, which its output must not replace.
fn inputs(args: &Args) -> Vec<Place> {
    let mut inputs = Place::features("--query", &args.query);
    inputs.extend(Place::features("--gallery", &args.gallery));
    inputs.extend(Place::optional("--query-list", args.query_list.as_deref()));
    inputs.extend(Place::optional(
        "--gallery-list",
        args.gallery_list.as_deref(),
    ));
    inputs.extend(Place::optional("--model", args.model.as_deref()));
    inputs
}

/// The gallery as the result file needs it: row names, and how many inputs were rejected.
struct Gallery {
    names: Vec<String>,
    rejected: usize,
}

/// The gallery must have at least `--top` items (the searches check dimensions part by part).
fn check_gallery_size(args: &Args, rows: usize) -> Result<()> {
    if rows < args.top {
        bail!(
            "{}: {rows} usable gallery items, fewer than --top {}",
            args.gallery.display(),
            args.top
        );
    }
    Ok(())
}

/// The code array `path`, checked against the model: its codes must be this model's (when
/// the array says which model made them) and plain, not scalable.
fn open_coded_gallery(path: &Path, model: &ModelFile, model_path: &Path) -> Result<CodeArray> {
    let codes = read_code_array(path)?;
    if let Some(id) = &codes.identity {
        id.check_model(path, &model.fingerprint(), model_path)?;
        if id.scalable {
            bail!(
                "{}: holds scalable codes, which reid does not search in the coefficient \
                 domain; decode them (naicfc decode) and search the vectors",
                path.display()
            );
        }
    }
    Ok(codes)
}

/// Read the gallery `--batch-rows` vectors at a time and hand each batch to `add` (which scores
/// it), so memory holds the queries and one batch whatever the gallery size. A coded gallery
/// (`coded`: the model and the code array) is handed over as decoded coefficients instead.
fn stream_gallery(
    args: &Args,
    read: &ReadOptions,
    bar: &indicatif::ProgressBar,
    coded: Option<(&codec_core::Model<'_>, &CodeArray)>,
    report: bool,
    mut add: impl FnMut(&FeatureSet) -> Result<()>,
) -> Result<Gallery> {
    let list = match &args.gallery_list {
        Some(p) => Some((p.as_path(), read_list(p)?)),
        None => None,
    };
    let mut names = Vec::new();
    let mut failed: Vec<InputError> = Vec::new();
    let mut present = vec![false; list.as_ref().map_or(0, |(_, e)| e.len())];
    let mut unlisted = 0;
    let mut each = |loaded: crate::io::Loaded| {
        if let (true, Some(first)) = (read.strict, loaded.failures.first()) {
            bail!("{first}");
        }
        if report {
            for f in &loaded.failures {
                eprintln!("{f}");
            }
        }
        bar.inc_length(loaded.set.len() as u64);
        let part = match &list {
            None => {
                names.extend(loaded.set.names.iter().map(|s| format!("{s}.dat")));
                loaded.set
            }
            Some((path, entries)) => {
                let listed =
                    restrict_to_list(loaded.set, entries, path, &args.gallery, &loaded.failures)?;
                for &e in &listed.entries {
                    present[e] = true;
                    names.push(entries[e].name.clone());
                }
                unlisted += listed.unlisted;
                listed.set
            }
        };
        failed.extend(loaded.failures);
        add(&part)
    };
    match coded {
        Some((model, codes)) => {
            let step = args.batch_rows.max(1);
            for first in (0..codes.len()).step_by(step) {
                let range = first..(first + step).min(codes.len());
                each(stored_coefficients(model, codes, range, &args.gallery))?;
            }
        }
        None => read_in_batches(&args.gallery, read, args.batch_rows, each)?,
    }
    bar.finish_and_clear();
    let mut rejected = failed.len();
    if let Some((path, entries)) = &list {
        // Entries whose file was itself rejected were reported already.
        let failed_stems: std::collections::HashSet<String> = failed
            .iter()
            .filter_map(|f| f.path.file_stem().map(|s| s.to_string_lossy().into_owned()))
            .collect();
        for (e, _) in entries
            .iter()
            .zip(&present)
            .filter(|(e, p)| !**p && !failed_stems.contains(&e.stem))
        {
            let m = InputError {
                path: path.to_path_buf(),
                row: None,
                problem: format!("`{}` has no features in {}", e.name, args.gallery.display()),
            };
            if read.strict {
                bail!("{m}");
            }
            if report {
                eprintln!("{m}");
            }
            rejected += 1;
        }
        if unlisted > 0 && report {
            eprintln!(
                "naicfc reid: note: {unlisted} gallery feature files are not in {} and were left out",
                path.display()
            );
        }
    }
    check_gallery_size(args, names.len())?;
    Ok(Gallery { names, rejected })
}

/// Read the query features, report bad inputs, and apply the query list if there is one.
fn load_queries(path: &Path, list: Option<&Path>, read: &ReadOptions) -> Result<Queries> {
    let loaded = read_features(path, read)?;
    // `read_features` stops at the first bad file when strict; this keeps --strict strict
    // even for a reader that collects failures anyway.
    if let (true, Some(first)) = (read.strict, loaded.failures.first()) {
        bail!("{first}");
    }
    for f in &loaded.failures {
        eprintln!("{f}");
    }
    let mut rejected = loaded.failures.len();
    let Some(list_path) = list else {
        let names = loaded
            .set
            .names
            .iter()
            .map(|s| format!("{s}.dat"))
            .collect();
        return Ok(Queries {
            set: loaded.set,
            names,
            rejected,
        });
    };
    let entries = read_list(list_path)?;
    let listed = restrict_to_list(loaded.set, &entries, list_path, path, &loaded.failures)?;
    if let (true, Some(first)) = (read.strict, listed.missing.first()) {
        bail!("{first}");
    }
    for m in &listed.missing {
        eprintln!("{m}");
    }
    rejected += listed.missing.len();
    if listed.unlisted > 0 {
        eprintln!(
            "naicfc reid: note: {} query feature files are not in {} and were left out",
            listed.unlisted,
            list_path.display()
        );
    }
    let names = listed
        .entries
        .iter()
        .map(|&e| entries[e].name.clone())
        .collect();
    Ok(Queries {
        set: listed.set,
        names,
        rejected,
    })
}

#[cfg(test)]
mod tests;
