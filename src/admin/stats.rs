//! The AdminServer's counters and connections: `server_stats`, `stats`, `connections`,
//! `monitor`, the resets, and `observers`.

use super::commands::{Answer, Call};
use super::json::{Json, Object};
use crate::four_letter::ensemble::mode;
use crate::four_letter::full_version;
use crate::four_letter::monitor::{self, Value};
use crate::metrics::GaugeValue;
use crate::node::{ConnectionView, Node};
use crate::replication::Role;

/// Commands whose answer is the envelope alone (`ruok`, and `orst`: corral's observers learn
/// from the leader, so no member keeps observer connection stats to reset).
pub fn nothing(_: &Call, _: &mut Answer) {}

pub fn connection_stat_reset(call: &Call, _: &mut Answer) {
    call.node.reset_connection_stats();
}

pub fn stat_reset(call: &Call, _: &mut Answer) {
    // ZooKeeper's default metrics provider is reset with the server stats.
    call.node.stats.reset();
    call.node.metrics.reset();
}

pub fn monitor(call: &Call, answer: &mut Answer) {
    for (key, value) in monitor::rows(call.node) {
        let value = match value {
            Value::Int(v) => Json::Int(v),
            Value::Float(v) => Json::Float(v),
            Value::Text(v) => Json::Str(v),
        };
        answer.fields.put(key, value);
    }
}

fn gauge_json(value: GaugeValue) -> Json {
    match value {
        GaugeValue::Int(v) => Json::Int(v),
        GaugeValue::Float(v) => Json::Float(v),
    }
}

pub fn connections(call: &Call, answer: &mut Answer) {
    let list: Vec<Json> =
        call.node.connection_views().iter().map(|c| connection(c, false)).collect();
    answer.fields.put("connections", list);
    // corral has no TLS client port.
    answer.fields.put("secure_connections", Vec::<Json>::new());
}

/// ZooKeeper's `getConnectionInfo`: the first five fields alone when `brief` (`stats`).
fn connection(c: &ConnectionView, brief: bool) -> Json {
    let mut o = Object::new();
    o.put("remote_socket_address", c.peer.to_string());
    // Java's OP_READ: corral reads every connection until its queue is full.
    o.put("interest_ops", 1);
    o.put("outstanding_requests", c.queued);
    o.put("packets_received", c.received);
    o.put("packets_sent", c.sent);
    if !brief {
        o.put("session_id", c.session_id);
        o.put("last_operation", c.last_op);
        o.put("established", c.established_ms);
        o.put("session_timeout", c.timeout_ms);
        o.put("last_cxid", c.last_cxid);
        o.put("last_zxid", c.last_zxid);
        o.put("last_response_time", c.last_response_ms);
        o.put("last_latency", c.latency.last);
        o.put("min_latency", c.latency.min);
        o.put("avg_latency", c.latency.avg() as i64);
        o.put("max_latency", c.latency.max);
    }
    Json::Object(o)
}

pub fn server_stats(call: &Call, answer: &mut Answer) {
    let node = call.node;
    let f = &mut answer.fields;
    f.put("version", full_version());
    f.put("read_only", false);
    f.put("server_stats", server_stats_object(node));
    f.put("client_response", client_response(node));
    if node.ensemble_status().is_some() && node.role() == Role::Leader {
        let (last, min, max) = node.stats.proposal_sizes();
        f.put("proposal_stats", buffer_sizes(last, min, max));
    }
    f.put("node_count", node.with_state(|s| s.tree.node_count()));
}

pub fn stats(call: &Call, answer: &mut Answer) {
    server_stats(call, answer);
    let list: Vec<Json> =
        call.node.connection_views().iter().map(|c| connection(c, true)).collect();
    answer.fields.put("connections", list);
    answer.fields.put("secure_connections", Vec::<Json>::new());
}

/// The fields of ZooKeeper's `ServerStats` bean, in the order a live ZooKeeper gave them; the
/// numbers are the server's gauges of the same names (mntr's).
fn server_stats_object(node: &Node) -> Object {
    let gauges = node.gauges();
    let gauge = |name: &str| {
        let found = gauges.iter().find(|g| g.name == name && g.key.is_none());
        found.map_or(Json::Int(0), |g| gauge_json(g.value))
    };
    let (data_size, log_size) = node.storage_bytes();
    let mut o = Object::new();
    o.put("packets_sent", gauge("packets_sent"));
    o.put("packets_received", gauge("packets_received"));
    // ZooKeeper counts fsyncs slower than fsync.warningthresholdms; corral's log commits
    // are timed in the fsync summary instead, against no threshold.
    o.put("fsync_threshold_exceed_count", 0);
    o.put("client_response_stats", client_response(node));
    o.put("data_dir_size", data_size);
    o.put("log_dir_size", log_size);
    o.put("provider_null", false);
    o.put("server_state", mode(node));
    o.put("last_processed_zxid", node.last_zxid());
    for (field, name) in [
        ("outstanding_requests", "outstanding_requests"),
        ("avg_latency", "avg_latency"),
        ("max_latency", "max_latency"),
        ("min_latency", "min_latency"),
        ("num_alive_client_connections", "num_alive_connections"),
        ("auth_failed_count", "auth_failed_count"),
        ("non_mtlsremote_conn_count", "non_mtls_remote_conn_count"),
        ("non_mtlslocal_conn_count", "non_mtls_local_conn_count"),
        ("uptime", "uptime"),
    ] {
        o.put(field, gauge(name));
    }
    o
}

fn client_response(node: &Node) -> Object {
    let (last, min, max) = node.stats.response_sizes();
    buffer_sizes(last, min, max)
}

fn buffer_sizes(last: i64, min: i64, max: i64) -> Object {
    let mut o = Object::new();
    o.put("last_buffer_size", last);
    o.put("min_buffer_size", min);
    o.put("max_buffer_size", max);
    o
}

/// On a leader, the observers it reaches; ZooKeeper's followers list observers only as
/// observer masters, which corral's followers never are.
pub fn observers(call: &Call, answer: &mut Answer) {
    let node = call.node;
    let status = node.ensemble_status().filter(|_| node.role() == Role::Leader);
    let synced = status.as_ref().map_or(0, |s| s.synced_observers);
    let mut list = Vec::new();
    if let Some(status) = status {
        for (id, member) in &node.config.ensemble.members {
            let observer = member.peer_type == crate::config::PeerType::Observer;
            if observer && status.reachable.contains(id) {
                let mut o = Object::new();
                o.put("sid", *id);
                o.put("remote_socket_address", member.quorum.to_string());
                list.push(Json::Object(o));
            }
        }
    }
    answer.fields.put("synced_observers", synced);
    answer.fields.put("observers", list);
}
