//! Progress of an import or export: a bar on a terminal (nodes and txns done, rate, time
//! left), a plain line every few seconds otherwise, and the totals for the summary.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use parking_lot::Mutex;

/// How often the display is refreshed, in items.
const REFRESH_EVERY: u64 = 4096;
/// How often a plain progress line is printed.
const LINE_EVERY: Duration = Duration::from_secs(2);

/// Counts what has been done against a total of `unit`s (bytes read, or nodes written).
pub struct Progress {
    verb: &'static str,
    total: u64,
    done: AtomicU64,
    nodes: AtomicU64,
    txns: AtomicU64,
    started: Instant,
    bar: Option<ProgressBar>,
    last_line: Mutex<Instant>,
}

impl Progress {
    /// A bar when stderr is a terminal, plain lines when it is not, nothing when `quiet`.
    pub fn new(verb: &'static str, total: u64, quiet: bool) -> Progress {
        let bar = (!quiet && std::io::stderr().is_terminal()).then(|| {
            let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
            let style = ProgressStyle::with_template(
                "{prefix} [{bar:30}] {percent:>3}% {msg} ({eta} left)",
            )
            .expect("a valid template")
            .progress_chars("=> ");
            bar.set_style(style);
            bar.set_prefix(verb);
            bar
        });
        let now = Instant::now();
        Progress {
            verb,
            total: if quiet { 0 } else { total.max(1) },
            done: AtomicU64::new(0),
            nodes: AtomicU64::new(0),
            txns: AtomicU64::new(0),
            started: now,
            bar,
            last_line: Mutex::new(now),
        }
    }

    /// One that shows nothing (tests).
    pub fn silent() -> Progress {
        Progress::new("", 0, true)
    }

    pub fn node(&self) {
        let n = self.nodes.fetch_add(1, Ordering::Relaxed) + 1;
        if n % REFRESH_EVERY == 0 {
            self.refresh();
        }
    }

    pub fn txn(&self) {
        let n = self.txns.fetch_add(1, Ordering::Relaxed) + 1;
        if n % REFRESH_EVERY == 0 {
            self.refresh();
        }
    }

    /// Moves the measure of work done (bytes read, or nodes written) to `done`.
    pub fn at(&self, done: u64) {
        self.done.store(done, Ordering::Relaxed);
    }

    pub fn nodes(&self) -> u64 {
        self.nodes.load(Ordering::Relaxed)
    }

    pub fn txns(&self) -> u64 {
        self.txns.load(Ordering::Relaxed)
    }

    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }

    fn counts(&self) -> String {
        let (nodes, txns) = (self.nodes(), self.txns());
        let secs = self.elapsed().as_secs_f64().max(0.001);
        let rate = (nodes + txns) as f64 / secs;
        format!("{nodes} znodes, {txns} txns, {rate:.0}/s")
    }

    fn refresh(&self) {
        if self.total == 0 {
            return;
        }
        let done = self.done.load(Ordering::Relaxed).min(self.total);
        if let Some(bar) = &self.bar {
            bar.set_position(done);
            bar.set_message(self.counts());
            return;
        }
        let mut last = self.last_line.lock();
        if last.elapsed() < LINE_EVERY {
            return;
        }
        *last = Instant::now();
        let fraction = done as f64 / self.total as f64;
        let elapsed = self.elapsed().as_secs_f64();
        let left = if fraction > 0.0 { elapsed / fraction - elapsed } else { 0.0 };
        eprintln!("{}: {:.0}% {} ({left:.0}s left)", self.verb, fraction * 100.0, self.counts());
    }

    /// Clears the bar (the summary follows it).
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
