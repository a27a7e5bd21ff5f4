//! Progress bars and status lines that show on a terminal and stay quiet otherwise (logs,
//! pipes, CI).
//!
//! A command that works through its input in batches opens one [`job`] bar for the whole run,
//! so its ETA is for the job, not for the current batch; the per-batch bars of the readers and
//! writers ([`bar`]) then only name the phase on the job's line instead of drawing bars of
//! their own that restart at every batch. A phase with no count (a training stage) shows as a
//! [`status`] line with a spinner and the time spent so far. On Ctrl-C ([`on_interrupt`]) the
//! line is cleared before the message, instead of the message landing mid-bar.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressState, ProgressStyle};
use std::io::IsTerminal;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

/// `--quiet`: no bars, no status lines, no summaries.
static QUIET: AtomicBool = AtomicBool::new(false);

/// Set by `--quiet`.
pub fn set_quiet(quiet: bool) {
    QUIET.store(quiet, Ordering::Relaxed);
}

/// Whether `--quiet` was given: summary lines are left out ([`crate::summary`]).
pub fn quiet() -> bool {
    QUIET.load(Ordering::Relaxed)
}

/// A summary line on stderr (what a command did, how fast), left out under `--quiet`; errors
/// and rejected inputs are always printed.
#[macro_export]
macro_rules! summary {
    ($($arg:tt)*) => {
        if !$crate::progress::quiet() {
            eprintln!($($arg)*);
        }
    };
}
use std::time::Duration;

/// The bar or status line drawn now, if any: what Ctrl-C clears, and what per-batch bars
/// report to while a job runs.
static CURRENT: Mutex<Option<(ProgressBar, bool)>> = Mutex::new(None);

/// Items per second as a whole number: a rate with four decimals says nothing more.
fn whole_rate(per_sec: f64) -> String {
    format!("{:.0}/s", per_sec)
}

fn rate(state: &ProgressState, w: &mut dyn std::fmt::Write) {
    let _ = w.write_str(&whole_rate(state.per_sec()));
}

fn bar_style() -> ProgressStyle {
    ProgressStyle::with_template(
        "{msg:>10} [{elapsed_precise}] {wide_bar} {human_pos}/{human_len} ({rate}, ETA {eta})",
    )
    .expect("static template is valid")
    .with_key("rate", rate)
}

/// A progress bar over `len` items, drawn on stderr only when stderr is a terminal. While a
/// [`job`] runs, it draws nothing: it names its phase (`what`) on the job's line instead.
pub fn bar(len: u64, what: &str) -> ProgressBar {
    if let Some((job, true)) = CURRENT.lock().ok().and_then(|c| c.clone()) {
        job.set_message(what.to_string());
        return ProgressBar::hidden();
    }
    let pb = ProgressBar::with_draw_target(Some(len), draw_target());
    pb.set_style(bar_style());
    pb.set_message(what.to_string());
    pb
}

/// One bar for a whole job of `len` items (`what` names it until a phase does), advanced by
/// the command with [`Job::advance`]; cleared when dropped.
pub fn job(len: u64, what: &str) -> Job {
    let pb = ProgressBar::with_draw_target(Some(len), draw_target());
    pb.set_style(bar_style());
    pb.set_message(what.to_string());
    set_current(Some((pb.clone(), true)));
    Job { pb }
}

/// The bar of a running job (see [`job`]).
pub struct Job {
    pb: ProgressBar,
}

impl Job {
    /// `n` more items done.
    pub fn advance(&self, n: usize) {
        self.pb.inc(n as u64);
    }
}

impl Drop for Job {
    fn drop(&mut self) {
        self.pb.finish_and_clear();
        set_current(None);
    }
}

/// A status line for a phase without a count (a training stage): a spinner, `what` and the
/// time spent so far, replaced by the next status and cleared when the returned guard drops.
pub fn status(what: &str) -> Status {
    let pb = ProgressBar::with_draw_target(None, draw_target());
    pb.set_style(
        ProgressStyle::with_template("{spinner} {msg} [{elapsed}]").expect("static template"),
    );
    pb.set_message(what.to_string());
    pb.enable_steady_tick(Duration::from_millis(200));
    set_current(Some((pb.clone(), false)));
    Status { pb }
}

/// Name the stage that starts now on the running [`status`] line, if there is one (its clock
/// restarts). Library code (training) calls this at each stage without knowing who called it:
/// under the command line the user sees which stage takes the time; elsewhere (Python, tests,
/// a job's bar) nothing happens.
pub fn stage(what: &str) {
    if let Some((status, false)) = CURRENT.lock().ok().and_then(|c| c.clone()) {
        status.reset_elapsed();
        status.set_message(what.to_string());
    }
}

/// The line of a running [`status`].
pub struct Status {
    pb: ProgressBar,
}

impl Status {
    /// Name the next phase on the same line (its clock restarts).
    pub fn next(&self, what: &str) {
        self.pb.reset_elapsed();
        self.pb.set_message(what.to_string());
    }
}

impl Drop for Status {
    fn drop(&mut self) {
        self.pb.finish_and_clear();
        set_current(None);
    }
}

fn set_current(bar: Option<(ProgressBar, bool)>) {
    if let Ok(mut c) = CURRENT.lock() {
        *c = bar;
    }
}

/// What Ctrl-C does: clear the bar or status line being drawn, say so, and end with status
/// 130 (128 + SIGINT, what shells report for a process a Ctrl-C stopped). Outputs are written
/// atomically, so none is left half-written under its name.
pub fn on_interrupt() -> ! {
    if let Some((pb, _)) = CURRENT.lock().ok().and_then(|c| c.clone()) {
        pb.finish_and_clear();
    }
    eprintln!("naicfc: interrupted");
    std::process::exit(130)
}

fn draw_target() -> ProgressDrawTarget {
    if std::io::stderr().is_terminal() && !quiet() {
        ProgressDrawTarget::stderr()
    } else {
        ProgressDrawTarget::hidden()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_are_whole_numbers() {
        assert_eq!(whole_rate(1234.5678), "1235/s");
        assert_eq!(whole_rate(0.25), "0/s");
    }

    /// One test for everything that sets the current line: tests run in parallel, and the
    /// line is one per process.
    #[test]
    fn a_stage_renames_the_status_line_and_a_batch_bar_the_job_line() {
        stage("no line yet");
        let line = status("first");
        stage("second");
        if let Some((pb, false)) = CURRENT.lock().unwrap().clone() {
            assert_eq!(pb.message(), "second");
        } else {
            panic!("the status line is not current");
        }
        drop(line);
        assert!(CURRENT.lock().unwrap().is_none());
        let job = job(100, "encode");
        stage("not for a job");
        assert_eq!(job.pb.message(), "encode");
        let batch = bar(10, "phase-of-this-test");
        assert!(batch.is_hidden());
        assert_eq!(job.pb.message(), "phase-of-this-test");
        job.advance(30);
        assert_eq!(job.pb.position(), 30);
        drop(job);
        assert!(CURRENT.lock().unwrap().is_none());
    }
}
