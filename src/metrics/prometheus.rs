//! The Prometheus exposition of `Metrics`, as ZooKeeper's PrometheusMetricsProvider serves it
//! on `/metrics`: counters and gauges under their bare names, summaries with the quantiles
//! 0.5, 0.9 and 0.99 over a sliding window (plus `_sum` and `_count`), sets labelled `key`.
//!
//! Summaries are recorded as they happen into a recorder that lives as long as the server;
//! counters and gauges are read at each scrape into a fresh one, so a gauge that stops
//! meaning anything (a leader-only gauge after a leader change) stops being exported.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use metrics::{Histogram, Key, KeyName, Label, Metadata, Recorder, SharedString, Unit};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle, PrometheusRecorder};
use parking_lot::RwLock;

use super::{Counter, CounterSet, GaugeSample, Metrics, Observer, Summary, SummarySet};

const QUANTILES: [f64; 3] = [0.5, 0.9, 0.99];
/// simpleclient's default window: ten minutes, in five buckets.
const WINDOW_BUCKETS: u32 = 5;
const WINDOW_BUCKET: Duration = Duration::from_secs(120);
/// Summaries' raw samples wait in the recorder until drained; they are drained at least this
/// often, so a server nobody scrapes holds at most this long's worth of them.
pub const UPKEEP_EVERY: Duration = Duration::from_secs(5);

static METADATA: Metadata<'static> =
    Metadata::new(module_path!(), metrics::Level::INFO, Some(module_path!()));

/// The summaries' recorder stays alive through the `Observer` that `Metrics` holds.
pub struct Exporter {
    summaries: PrometheusHandle,
}

/// The long-lived recorder of every summary, fed by `Metrics::observe`.
struct SummaryRecorder {
    recorder: PrometheusRecorder,
    plain: Vec<Histogram>,
    /// Per set (by `SummarySet::index`), per key.
    keyed: Vec<RwLock<HashMap<String, Histogram>>>,
}

fn key(name: &'static str, label: Option<&str>) -> Key {
    match label {
        None => Key::from_static_name(name),
        Some(value) => Key::from_parts(name, vec![Label::new("key", value.to_string())]),
    }
}

impl Exporter {
    /// Starts feeding `metrics`' summaries to a new exporter.
    pub fn attach(metrics: &Metrics) -> Exporter {
        let recorder = PrometheusBuilder::new()
            .set_quantiles(&QUANTILES)
            .expect("fixed quantiles are valid")
            .set_bucket_count(NonZeroU32::new(WINDOW_BUCKETS).expect("nonzero"))
            .set_bucket_duration(WINDOW_BUCKET)
            .expect("a fixed window is valid")
            .build_recorder();
        let plain = Summary::ALL
            .iter()
            .map(|s| {
                describe(&recorder, s.name());
                recorder.register_histogram(&key(s.name(), None), &METADATA)
            })
            .collect();
        for set in SummarySet::ALL {
            describe(&recorder, set.name());
        }
        let summaries = recorder.handle();
        let keyed = SummarySet::ALL.iter().map(|_| RwLock::new(HashMap::new())).collect();
        let recorder = Arc::new(SummaryRecorder { recorder, plain, keyed });
        metrics.set_observer(Box::new(recorder));
        Exporter { summaries }
    }

    /// Drains the summaries' raw samples into their windows (see `UPKEEP_EVERY`).
    pub fn upkeep(&self) {
        self.summaries.run_upkeep();
    }

    /// The whole exposition: `metrics`' counters, the gauges read now, then the summaries.
    pub fn render(&self, metrics: &Metrics, gauges: &[GaugeSample]) -> String {
        let now = PrometheusBuilder::new().build_recorder();
        for counter in Counter::ALL {
            describe(&now, counter.name());
            let handle = now.register_counter(&key(counter.name(), None), &METADATA);
            handle.absolute(metrics.counter_total(*counter));
        }
        for set in CounterSet::ALL {
            describe(&now, set.name());
            for (label, value) in metrics.counter_set(*set, true) {
                let handle = now.register_counter(&key(set.name(), Some(&label)), &METADATA);
                handle.absolute(value);
            }
        }
        for gauge in gauges {
            describe(&now, gauge.name);
            let handle = now.register_gauge(&key(gauge.name, gauge.key.as_deref()), &METADATA);
            handle.set(gauge.value.as_f64());
        }
        let mut text = now.handle().render();
        self.summaries.run_upkeep();
        text.push_str(&self.summaries.render());
        text.push_str(&process_family(&super::process::sample()));
        text
    }
}

/// The `process_*` family ZooKeeper's provider exports from its JVM (simpleclient's), with
/// the same names and types. Written here rather than through the recorder, whose counters
/// hold whole numbers, so that CPU seconds keep their fraction.
fn process_family(p: &super::process::ProcessSample) -> String {
    let families: [(&str, &str, f64); 6] = [
        ("process_cpu_seconds_total", "counter", p.cpu_seconds),
        ("process_start_time_seconds", "gauge", p.start_time_seconds),
        ("process_open_fds", "gauge", p.open_fds as f64),
        ("process_max_fds", "gauge", p.max_fds as f64),
        ("process_virtual_memory_bytes", "gauge", p.virtual_memory_bytes as f64),
        ("process_resident_memory_bytes", "gauge", p.resident_memory_bytes as f64),
    ];
    families
        .iter()
        .map(|(name, kind, value)| {
            format!("# HELP {name} {name}\n# TYPE {name} {kind}\n{name} {value}\n")
        })
        .collect()
}

/// ZooKeeper's provider gives every metric its own name as help text.
fn describe(recorder: &PrometheusRecorder, name: &'static str) {
    let (key_name, unit) = (KeyName::from_const_str(name), None::<Unit>);
    recorder.describe_counter(key_name, unit, SharedString::const_str(name));
}

impl Observer for Arc<SummaryRecorder> {
    fn observe(&self, summary: Summary, value: u64) {
        self.plain[summary.index()].record(value as f64);
    }

    fn observe_keyed(&self, set: SummarySet, label: &str, value: u64) {
        let keyed = &self.keyed[set.index()];
        if let Some(h) = keyed.read().get(label) {
            h.record(value as f64);
            return;
        }
        let mut keyed = keyed.write();
        // Metrics forgets its keys on a reset; the windows here outlive it, within the same cap.
        if keyed.len() >= super::MAX_KEYS_PER_SET && !keyed.contains_key(label) {
            return;
        }
        let handle = self.recorder.register_histogram(&key(set.name(), Some(label)), &METADATA);
        handle.record(value as f64);
        keyed.insert(label.to_string(), handle);
    }
}
