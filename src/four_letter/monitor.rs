//! What `mntr` prints (and the AdminServer's `monitor` will answer): ZooKeeper 3.9's fixed
//! keys, then every metric as its default provider dumps them: gauges, gauge sets, counters,
//! counter sets, summaries (avg, min, max, cnt, sum, and percentiles for the advanced ones),
//! summary sets.

use crate::metrics::{
    Counter, CounterSet, GaugeValue, Metrics, Summary, SummarySet, SummarySnapshot,
};
use crate::node::Node;

use super::ensemble;
use super::java::java_double;

/// One mntr value: ZooKeeper prints longs plainly and doubles as Java does.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Int(i64),
    Float(f64),
    Text(String),
}

impl Value {
    pub fn text(&self) -> String {
        match self {
            Value::Int(v) => v.to_string(),
            Value::Float(v) => java_double(*v),
            Value::Text(v) => v.clone(),
        }
    }
}

pub fn rows(node: &Node) -> Vec<(String, Value)> {
    let mut rows = vec![
        ("version".to_string(), Value::Text(super::full_version())),
        ("server_state".to_string(), Value::Text(ensemble::mode(node).into())),
    ];
    if let Some((key, value)) = ensemble::mntr_peer_state(node) {
        rows.push((key.into(), Value::Text(value)));
    }
    if let Some((key, value)) = ensemble::mntr_observer_master(node) {
        rows.push((key.into(), Value::Int(value)));
    }
    for gauge in node.gauges() {
        let value = match gauge.value {
            GaugeValue::Int(v) => Value::Int(v),
            GaugeValue::Float(v) => Value::Float(v),
        };
        let name = match gauge.key {
            Some(key) => format!("{key}_{}", gauge.name),
            None => gauge.name.to_string(),
        };
        rows.push((name, value));
    }
    counters(&node.metrics, &mut rows);
    summaries(&node.metrics, &mut rows);
    rows
}

fn counters(metrics: &Metrics, rows: &mut Vec<(String, Value)>) {
    for counter in Counter::ALL {
        rows.push((counter.name().into(), Value::Int(metrics.counter(*counter) as i64)));
    }
    for set in CounterSet::ALL {
        for (key, value) in metrics.counter_set(*set, false) {
            rows.push((format!("{key}_{}", set.name()), Value::Int(value as i64)));
        }
    }
}

fn summaries(metrics: &Metrics, rows: &mut Vec<(String, Value)>) {
    for summary in Summary::ALL {
        summary_rows(summary.name(), &metrics.summary(*summary), rows);
    }
    for set in SummarySet::ALL {
        for (key, snapshot) in metrics.summary_set(*set) {
            summary_rows(&format!("{key}_{}", set.name()), &snapshot, rows);
        }
    }
}

fn summary_rows(name: &str, s: &SummarySnapshot, rows: &mut Vec<(String, Value)>) {
    rows.push((format!("avg_{name}"), Value::Float(s.avg())));
    for (prefix, value) in [("min", s.min), ("max", s.max), ("cnt", s.count), ("sum", s.sum)] {
        rows.push((format!("{prefix}_{name}"), Value::Int(value as i64)));
    }
    let Some(percentiles) = s.percentiles else { return };
    for (prefix, value) in ["p50", "p95", "p99", "p999"].into_iter().zip(percentiles) {
        rows.push((format!("{prefix}_{name}"), Value::Int(value as i64)));
    }
}

/// The mntr text: `zk_<key>\t<value>` lines.
pub fn mntr(node: &Node) -> String {
    rows(node).iter().map(|(k, v)| format!("zk_{k}\t{}\n", v.text())).collect()
}
