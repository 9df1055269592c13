//! The server's measurements: counters and summaries the request path adds to, under the
//! names in `names`. mntr, the AdminServer's `monitor` and the Prometheus endpoint all read
//! them here, so the three always agree; gauges are read from the live state when asked.

pub mod names;
pub mod process;
pub mod prometheus;
mod summary;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::RwLock;

pub use names::{Counter, CounterSet, Summary, SummarySet};
pub use summary::{SummaryCell, SummarySnapshot};

/// Keys kept per summary set. A set keyed by top-level znode could otherwise grow with the
/// tree; past this many keys, new keys are not recorded (and the first one dropped is logged).
pub const MAX_KEYS_PER_SET: usize = 256;

/// The key of ZooKeeper's per-namespace metrics: a path's first component (none for "/").
pub fn top_namespace(path: &str) -> Option<&str> {
    path.split('/').find(|c| !c.is_empty())
}

/// ZooKeeper adds a Stat's size to every read it counts per namespace.
pub const STAT_BYTES: u64 = 68;

/// A gauge's value as the server reads it at the moment of asking.
#[derive(Debug, Clone, PartialEq)]
pub struct GaugeSample {
    pub name: &'static str,
    /// The `key` label of a gauge set (a namespace, a server id).
    pub key: Option<String>,
    pub value: GaugeValue,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum GaugeValue {
    Int(i64),
    /// Printed as Java prints a double in mntr (avg_latency, connection_drop_probability).
    Float(f64),
}

impl GaugeValue {
    pub fn as_f64(self) -> f64 {
        match self {
            GaugeValue::Int(v) => v as f64,
            GaugeValue::Float(v) => v,
        }
    }
}

impl GaugeSample {
    pub fn int(name: &'static str, value: impl TryInto<i64>) -> GaugeSample {
        let value = GaugeValue::Int(value.try_into().unwrap_or(i64::MAX));
        GaugeSample { name, key: None, value }
    }

    pub fn float(name: &'static str, value: f64) -> GaugeSample {
        GaugeSample { name, key: None, value: GaugeValue::Float(value) }
    }

    pub fn keyed(name: &'static str, key: String, value: i64) -> GaugeSample {
        GaugeSample { name, key: Some(key), value: GaugeValue::Int(value) }
    }
}

/// Where an observation also goes when Prometheus is on (its windowed quantiles).
pub trait Observer: Send + Sync {
    fn observe(&self, summary: Summary, value: u64);
    fn observe_keyed(&self, set: SummarySet, key: &str, value: u64);
}

/// One summary set's cells by key.
type KeyedCells = RwLock<HashMap<String, SummaryCell>>;

/// A counter as both readers see it: Prometheus its total (ZooKeeper's Prometheus provider
/// ignores resets), mntr what moved since the last `srst`.
#[derive(Debug, Default)]
struct CounterCell {
    total: AtomicU64,
    at_reset: AtomicU64,
}

impl CounterCell {
    fn add(&self, by: u64) {
        self.total.fetch_add(by, Ordering::Relaxed);
    }

    fn total(&self) -> u64 {
        self.total.load(Ordering::Relaxed)
    }

    fn since_reset(&self) -> u64 {
        self.total().saturating_sub(self.at_reset.load(Ordering::Relaxed))
    }

    fn reset(&self) {
        self.at_reset.store(self.total(), Ordering::Relaxed);
    }
}

/// Where raft stands on this server: its term, and the log index committed and applied.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct RaftProgress {
    pub term: u64,
    pub committed: u64,
    pub applied: u64,
}

pub struct Metrics {
    counters: Vec<CounterCell>,
    /// `RaftProgress`' numbers, published by replication as they change.
    term: AtomicU64,
    committed: AtomicU64,
    applied: AtomicU64,
    summaries: Vec<SummaryCell>,
    /// Per set, by `SummarySet::index`.
    sets: Vec<KeyedCells>,
    /// Per counter set, by `CounterSet::index`; keys capped as the summary sets' are.
    counter_sets: Vec<RwLock<HashMap<String, CounterCell>>>,
    set_overflow_logged: std::sync::atomic::AtomicBool,
    observer: std::sync::OnceLock<Box<dyn Observer>>,
    /// The newest snapshot written, loaded or installed: its zxid and when (Unix seconds).
    last_snapshot: parking_lot::Mutex<Option<(i64, i64)>>,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics {
            counters: Counter::ALL.iter().map(|_| CounterCell::default()).collect(),
            term: AtomicU64::new(0),
            committed: AtomicU64::new(0),
            applied: AtomicU64::new(0),
            summaries: Summary::ALL.iter().map(|s| SummaryCell::new(s.advanced())).collect(),
            sets: SummarySet::ALL.iter().map(|_| RwLock::new(HashMap::new())).collect(),
            counter_sets: CounterSet::ALL.iter().map(|_| RwLock::new(HashMap::new())).collect(),
            set_overflow_logged: Default::default(),
            observer: std::sync::OnceLock::new(),
            last_snapshot: parking_lot::Mutex::new(None),
        }
    }
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Metrics {
    /// Records the newest snapshot, for the AdminServer's `last_snapshot`.
    pub fn snapshot_at(&self, zxid: i64, unix_secs: i64) {
        *self.last_snapshot.lock() = Some((zxid, unix_secs));
    }

    /// The newest snapshot's zxid and time (Unix seconds), if this server has one.
    pub fn last_snapshot(&self) -> Option<(i64, i64)> {
        *self.last_snapshot.lock()
    }

    pub fn add(&self, counter: Counter, by: u64) {
        self.counters[counter.index()].add(by);
    }

    pub fn count(&self, counter: Counter) {
        self.add(counter, 1);
    }

    /// Since the last reset (mntr's view).
    pub fn counter(&self, counter: Counter) -> u64 {
        self.counters[counter.index()].since_reset()
    }

    /// Since the server started (Prometheus's view).
    pub fn counter_total(&self, counter: Counter) -> u64 {
        self.counters[counter.index()].total()
    }

    pub fn observe(&self, summary: Summary, value: u64) {
        self.summaries[summary.index()].record(value);
        if let Some(observer) = self.observer.get() {
            observer.observe(summary, value);
        }
    }

    /// Records into one key of a set; a new key past `MAX_KEYS_PER_SET` is not recorded.
    pub fn observe_keyed(&self, set: SummarySet, key: &str, value: u64) {
        let cells = &self.sets[set.index()];
        let known = cells.read().get(key).map(|cell| cell.record(value)).is_some();
        if !known {
            let mut cells = cells.write();
            if cells.len() >= MAX_KEYS_PER_SET && !cells.contains_key(key) {
                if !self.set_overflow_logged.swap(true, Ordering::Relaxed) {
                    tracing::warn!(
                        set = set.name(),
                        key,
                        "too many metric keys; new keys are not recorded"
                    );
                }
                return;
            }
            let advanced = set.advanced();
            cells
                .entry(key.to_string())
                .or_insert_with(|| SummaryCell::new(advanced))
                .record(value);
        }
        if let Some(observer) = self.observer.get() {
            observer.observe_keyed(set, key, value);
        }
    }

    pub fn count_keyed(&self, set: CounterSet, key: &str) {
        let counters = &self.counter_sets[set.index()];
        if let Some(counter) = counters.read().get(key) {
            counter.add(1);
            return;
        }
        let mut counters = counters.write();
        if counters.len() < MAX_KEYS_PER_SET || counters.contains_key(key) {
            counters.entry(key.to_string()).or_default().add(1);
        }
    }

    /// Every key counted in a set, in key order: since the last reset, or `total`.
    pub fn counter_set(&self, set: CounterSet, total: bool) -> Vec<(String, u64)> {
        let counters = self.counter_sets[set.index()].read();
        let value = |c: &CounterCell| if total { c.total() } else { c.since_reset() };
        let mut all: Vec<_> = counters.iter().map(|(k, c)| (k.clone(), value(c))).collect();
        all.sort();
        all
    }

    pub fn summary(&self, summary: Summary) -> SummarySnapshot {
        self.summaries[summary.index()].snapshot()
    }

    /// srvr's and mntr's request latency (min/avg/max): every request answered, that is
    /// ZooKeeper's readlatency and updatelatency together.
    pub fn request_latency(&self) -> SummarySnapshot {
        let read = self.summaries[Summary::ReadLatency.index()].brief();
        let update = self.summaries[Summary::UpdateLatency.index()].brief();
        let min = match (read.count, update.count) {
            (0, _) => update.min,
            (_, 0) => read.min,
            _ => read.min.min(update.min),
        };
        SummarySnapshot {
            count: read.count + update.count,
            sum: read.sum + update.sum,
            min,
            max: read.max.max(update.max),
            percentiles: None,
        }
    }

    /// Every key recorded in a set, with its summary.
    pub fn summary_set(&self, set: SummarySet) -> Vec<(String, SummarySnapshot)> {
        let cells = self.sets[set.index()].read();
        let mut all: Vec<_> = cells.iter().map(|(k, cell)| (k.clone(), cell.snapshot())).collect();
        all.sort_by(|a, b| a.0.cmp(&b.0));
        all
    }

    pub fn set_term_applied(&self, term: u64, applied: u64) {
        self.term.store(term, Ordering::Relaxed);
        self.applied.store(applied, Ordering::Relaxed);
    }

    pub fn set_committed(&self, committed: u64) {
        self.committed.store(committed, Ordering::Relaxed);
    }

    pub fn raft(&self) -> RaftProgress {
        RaftProgress {
            term: self.term.load(Ordering::Relaxed),
            committed: self.committed.load(Ordering::Relaxed),
            applied: self.applied.load(Ordering::Relaxed),
        }
    }

    /// Sends every later observation to `observer` as well (set once, by the exporter).
    pub fn set_observer(&self, observer: Box<dyn Observer>) {
        let _ = self.observer.set(observer);
    }

    /// `srst` and the admin `stat_reset`: ZooKeeper resets every metric of its default
    /// provider; its Prometheus provider ignores the reset, and so does Prometheus here.
    /// Keys stay (their values start again), so both views keep the same keys.
    pub fn reset(&self) {
        self.counters.iter().for_each(CounterCell::reset);
        self.summaries.iter().for_each(SummaryCell::reset);
        for cells in &self.sets {
            cells.read().values().for_each(SummaryCell::reset);
        }
        for counters in &self.counter_sets {
            counters.read().values().for_each(CounterCell::reset);
        }
    }
}
