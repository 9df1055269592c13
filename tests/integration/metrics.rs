//! Prometheus metrics as an operator scrapes them: `/metrics` parsed by a Prometheus text
//! parser, checked against ZooKeeper's list of names and types (ensemble-and-ops.md §4), the
//! values moving with the work done, mntr agreeing, and the leader-only gauges where
//! ZooKeeper has them.

use crate::common;

use std::collections::HashMap;
use std::net::SocketAddr;

use common::cluster::Cluster;
use common::*;
use corral::metrics::names::NOT_EXPORTED;
use corral::replication::Role;
use prometheus_parse::{Scrape, Value};
use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;

/// ZooKeeper 3.9's gauges on every server.
const GAUGES: &[&str] = &[
    "avg_latency",
    "max_latency",
    "min_latency",
    "packets_received",
    "packets_sent",
    "num_alive_connections",
    "outstanding_requests",
    "uptime",
    "znode_count",
    "watch_count",
    "ephemerals_count",
    "approximate_data_size",
    "global_sessions",
    "local_sessions",
    "open_file_descriptor_count",
    "max_file_descriptor_count",
    "connection_drop_probability",
    "last_client_response_size",
    "max_client_response_size",
    "min_client_response_size",
    "outstanding_tls_handshake",
    "auth_failed_count",
    "non_mtls_remote_conn_count",
    "non_mtls_local_conn_count",
];

/// ZooKeeper 3.9's gauges on a leader only (quorum_size: on every member).
const LEADER_GAUGES: &[&str] = &[
    "quorum_size",
    "synced_observers",
    "learners",
    "synced_followers",
    "synced_non_voting_followers",
    "pending_syncs",
    "leader_uptime",
    "last_proposal_size",
    "max_proposal_size",
    "min_proposal_size",
];

const COUNTERS: &[&str] = &[
    "looking_count",
    "diff_count",
    "snap_count",
    "commit_count",
    "proposal_count",
    "quit_leading_due_to_disloyal_voter",
    "revalidate_count",
    "learner_proposal_received_count",
    "learner_commit_received_count",
    "skip_learner_request_to_next_processor_count",
    "connection_request_count",
    "connection_rejected",
    "connection_drop_count",
    "connection_revalidate_count",
    "sessionless_connections_expired",
    "stale_sessions_expired",
    "bytes_received_count",
    "response_bytes",
    "watch_bytes",
    "unrecoverable_error_count",
    "digest_mismatches_count",
    "add_dead_watcher_stall_time",
    "dead_watchers_queued",
    "dead_watchers_cleared",
    "response_packet_cache_hits",
    "response_packet_cache_misses",
    "response_packet_get_children_cache_hits",
    "response_packet_get_children_cache_misses",
    "ensemble_auth_success",
    "ensemble_auth_fail",
    "ensemble_auth_skip",
    "prep_processor_request_queued",
    "outstanding_changes_queued",
    "outstanding_changes_removed",
    "request_commit_queued",
    "sync_processor_request_queued",
    "throttled_ops",
    "request_throttle_wait_count",
    "stale_requests",
    "stale_requests_dropped",
    "stale_replies",
    "large_requests_rejected",
    "requests_not_forwarded_to_commit_processor",
    "unsuccessful_handshake",
    "tls_handshake_exceeded",
    "cnxn_closed_without_zk_server_running",
    "insecure_admin_count",
    "snapshot_error_count",
    "snapshot_rate_limited_count",
    "restore_error_count",
    "restore_rate_limited_count",
];

const SUMMARIES: &[&str] = &[
    "readlatency",
    "updatelatency",
    "propagation_latency",
    "fsynctime",
    "snapshottime",
    "dbinittime",
    "restore_time",
    "startup_txns_loaded",
    "startup_txns_load_time",
    "startup_snap_load_time",
    "election_time",
    "unavailable_time",
    "leader_unavailable_time",
    "follower_sync_time",
    "observer_sync_time",
    "inflight_snap_count",
    "inflight_diff_count",
    "quorum_ack_latency",
    "proposal_latency",
    "proposal_ack_creation_latency",
    "commit_propagation_latency",
    "om_proposal_process_time_ms",
    "om_commit_process_time_ms",
    "prep_processor_queue_time_ms",
    "prep_processor_queue_size",
    "prep_process_time",
    "proposal_process_time",
    "close_session_prep_time",
    "sync_processor_queue_and_flush_time_ms",
    "sync_processor_queue_time_ms",
    "sync_processor_queue_flush_time_ms",
    "sync_processor_queue_size",
    "sync_process_time",
    "sync_processor_batch_size",
    "commit_process_time",
    "read_commit_proc_req_queued",
    "write_commit_proc_req_queued",
    "commit_commit_proc_req_queued",
    "read_commit_proc_issued",
    "write_commit_proc_issued",
    "requests_in_session_queue",
    "pending_session_queue_size",
    "reads_after_write_in_session_queue",
    "reads_issued_from_session_queue",
    "session_queues_drained",
    "time_waiting_empty_pool_in_commit_processor_read_ms",
    "write_batch_time_in_commit_processor",
    "concurrent_request_processing_in_commit_processor",
    "read_commitproc_time_ms",
    "write_commitproc_time_ms",
    "local_write_committed_time_ms",
    "server_write_committed_time_ms",
    "read_final_proc_time_ms",
    "write_final_proc_time_ms",
    "learner_request_processor_queue_size",
    "node_created_watch_count",
    "node_deleted_watch_count",
    "node_changed_watch_count",
    "node_children_watch_count",
    "dead_watchers_cleaner_latency",
    "connection_token_deficit",
    "request_throttle_queue_time_ms",
    "netty_queued_buffer_capacity",
    "socket_closing_time",
    "jvm_pause_time_ms",
];

/// The keyed families, exported once a key has been seen.
const SUMMARY_SETS: &[&str] = &[
    "ack_latency",
    "learner_handler_qp_size",
    "learner_handler_qp_time_ms",
    "write_per_namespace",
    "read_per_namespace",
];

const PROCESS: &[&str] = &[
    "process_cpu_seconds_total",
    "process_start_time_seconds",
    "process_open_fds",
    "process_max_fds",
    "process_virtual_memory_bytes",
    "process_resident_memory_bytes",
];

/// The parsed scrape: each family's type, and each sample by name and labels.
struct Metrics {
    types: HashMap<String, String>,
    scrape: Scrape,
}

async fn scrape(addr: SocketAddr) -> Metrics {
    let (status, body) = http(addr, "GET", "/metrics").await;
    assert_eq!(status, 200);
    let scrape = Scrape::parse(body.lines().map(|l| Ok(l.to_string()))).unwrap();
    let types = body
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|l| l.split_once(' '))
        .map(|(name, kind)| (name.to_string(), kind.to_string()))
        .collect();
    Metrics { types, scrape }
}

impl Metrics {
    fn kind(&self, name: &str) -> Option<&str> {
        self.types.get(name).map(String::as_str)
    }

    /// An unlabelled counter's or gauge's value.
    fn value(&self, name: &str) -> f64 {
        let sample = self.scrape.samples.iter().find(|s| s.metric == name && s.labels.is_empty());
        match sample.unwrap_or_else(|| panic!("no sample of {name}")).value {
            Value::Counter(v) | Value::Gauge(v) | Value::Untyped(v) => v,
            ref other => panic!("{name} is {other:?}"),
        }
    }

    /// A summary's count (with `key` when it is a set).
    fn summary_count(&self, name: &str, key: Option<&str>) -> u64 {
        let found = self
            .scrape
            .samples
            .iter()
            .find(|s| s.metric == name && key.is_none_or(|k| s.labels.get("key") == Some(k)));
        match found.unwrap_or_else(|| panic!("no summary {name} {key:?}")).value {
            Value::Summary(ref quantiles) => {
                let at: Vec<f64> = quantiles.iter().map(|q| q.quantile).collect();
                assert_eq!(at, vec![0.5, 0.9, 0.99], "{name}'s quantiles");
                let count = self.scrape.samples.iter().find(|s| {
                    s.metric == format!("{name}_count")
                        && key.is_none_or(|k| s.labels.get("key") == Some(k))
                });
                match count.map(|s| &s.value) {
                    Some(Value::Untyped(v) | Value::Counter(v) | Value::Gauge(v)) => *v as u64,
                    other => panic!("{name}_count is {other:?}"),
                }
            }
            ref other => panic!("{name} is {other:?}, not a summary"),
        }
    }
}

fn documented(name: &str) -> bool {
    NOT_EXPORTED.iter().any(|(n, _)| *n == name)
}

/// Every name is exported with ZooKeeper's type, or documented as not exported (never both).
fn check_coverage(m: &Metrics, gauges: &[&str]) {
    let expected =
        [(gauges, "gauge"), (COUNTERS, "counter"), (SUMMARIES, "summary"), (PROCESS, "")];
    for (names, kind) in expected {
        for name in names {
            match (m.kind(name), documented(name)) {
                (Some(_), true) => panic!("{name} is exported and listed as not exported"),
                (None, false) => panic!("{name} is neither exported nor listed as not exported"),
                (Some(got), false) if !kind.is_empty() => assert_eq!(got, kind, "{name}'s type"),
                _ => {}
            }
        }
    }
    for name in SUMMARY_SETS.iter().filter(|n| m.kind(n).is_some()) {
        assert_eq!(m.kind(name), Some("summary"), "{name}");
    }
}

fn metrics_config() -> String {
    "tickTime=2000\n4lw.commands.whitelist=*\n".to_string()
}

async fn standalone_with_metrics() -> (tempfile::TempDir, corral::server::Server, SocketAddr) {
    let dir = tempfile::tempdir().unwrap();
    let text = format!("dataDir={}\n{}", dir.path().display(), metrics_config());
    let config = corral::config::Config::from_text(&text).unwrap();
    let client = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let metrics = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let metrics_addr = metrics.local_addr().unwrap();
    let listeners =
        corral::server::Listeners { client, peer: None, metrics: Some(metrics), admin: None };
    let server = corral::server::Server::start(config, listeners).await.unwrap();
    (dir, server, metrics_addr)
}

#[tokio::test]
async fn a_standalone_server_exports_zookeepers_names_and_types() {
    let (_dir, server, metrics) = standalone_with_metrics().await;
    let mut c = Client::connect(server.addr).await;
    c.create("/app", b"root", 0).await.unwrap();
    let m = scrape(metrics).await;
    check_coverage(&m, GAUGES);
    for name in LEADER_GAUGES {
        assert!(m.kind(name).is_none(), "{name} is ZooKeeper's on a quorum member only");
    }
    assert!(m.kind("corral_raft_term").is_some() && m.kind("corral_raft_applied_index").is_some());
    // Start-up's own measurement, taken before the first scrape could be.
    assert_eq!(m.summary_count("dbinittime", None), 1);
    c.close().await;
    server.stop().await;
}

#[tokio::test]
async fn values_move_with_the_work_done_and_mntr_reads_the_same() {
    let (_dir, server, metrics) = standalone_with_metrics().await;
    let mut c = Client::connect(server.addr).await;
    let before = scrape(metrics).await;
    c.create("/app", b"root", 0).await.unwrap();
    for i in 0..10 {
        c.create(&format!("/app/n{i}"), b"0123456789", 0).await.unwrap();
    }
    c.get_data("/app/n0", true).await.unwrap();
    c.set_data("/app/n0", b"changed", -1).await.unwrap();
    assert_eq!(c.event().await.path.as_str(), "/app/n0");
    c.children("/app", false).await.unwrap();
    let m = scrape(metrics).await;

    assert_eq!(m.value("znode_count"), before.value("znode_count") + 11.0);
    assert!(m.value("commit_count") >= before.value("commit_count") + 12.0);
    assert!(m.value("proposal_count") >= before.value("proposal_count") + 12.0);
    assert!(m.value("watch_bytes") > 0.0 && m.value("response_bytes") > 0.0);
    assert!(m.value("bytes_received_count") > before.value("bytes_received_count"));
    assert_eq!(m.value("num_alive_connections"), 1.0);
    assert!(m.summary_count("updatelatency", None) >= 12);
    assert!(m.summary_count("readlatency", None) >= 2);
    assert_eq!(m.summary_count("node_changed_watch_count", None), 1);
    assert_eq!(m.summary_count("write_per_namespace", Some("app")), 12);
    assert_eq!(m.summary_count("read_per_namespace", Some("app")), 2);
    assert!(m.summary_count("fsynctime", None) >= 1);

    // mntr reads the same counters (nothing has moved them since the scrape but mntr's own
    // connection, which commits nothing).
    let mntr = four_letter(server.addr, "mntr").await;
    let line = |key: &str| -> f64 {
        let prefix = format!("zk_{key}\t");
        let line = mntr.lines().find(|l| l.starts_with(&prefix)).unwrap_or_else(|| panic!("{key}"));
        line[prefix.len()..].parse().unwrap()
    };
    assert_eq!(line("commit_count"), m.value("commit_count"));
    assert_eq!(line("znode_count"), m.value("znode_count"));
    assert_eq!(line("cnt_updatelatency") as u64, m.summary_count("updatelatency", None));
    assert_eq!(line("cnt_app_write_per_namespace"), 12.0);
    for key in ["p50_readlatency", "p999_readlatency", "avg_fsynctime", "max_snapshottime"] {
        line(key);
    }
    c.close().await;
    server.stop().await;
}

#[tokio::test]
async fn metrics_is_served_on_its_path_to_the_methods_a_servlet_takes() {
    let (_dir, server, metrics) = standalone_with_metrics().await;
    assert_eq!(http(metrics, "GET", "/").await.0, 404);
    assert_eq!(http(metrics, "GET", "/commands").await.0, 404);
    assert_eq!(http(metrics, "POST", "/metrics").await.0, 200);
    for method in ["TRACE", "DELETE", "PUT"] {
        assert_eq!(http(metrics, method, "/metrics").await.0, 405, "{method}");
    }
    assert_eq!(http(metrics, "FOOBAR", "/metrics").await.0, 501);
    let (status, body) = http(metrics, "GET", "/metrics").await;
    assert_eq!(status, 200);
    assert!(body.contains("# TYPE znode_count gauge"));
    server.stop().await;
}

#[tokio::test]
async fn leader_gauges_are_on_the_leader_and_learners_count_what_they_receive() {
    let mut cluster = Cluster::new(3, 0).await;
    cluster.start_all().await;
    let leader = cluster.leader().await;
    let follower = (leader + 1) % 3;
    let mut c = Client::connect(cluster.members[leader].addr).await;
    c.create("/app", b"x", 0).await.unwrap();
    let on_follower = cluster.members[follower].metrics;
    let committed = |m: &Metrics| m.value("learner_commit_received_count") >= 1.0;
    assert!(eventually(|| async { committed(&scrape(on_follower).await) }).await);

    let m = scrape(cluster.members[leader].metrics).await;
    check_coverage(&m, &[GAUGES, LEADER_GAUGES].concat());
    assert_eq!(m.value("quorum_size"), 3.0);
    assert!(m.value("commit_count") >= 1.0 && m.value("looking_count") >= 1.0);
    assert!(m.summary_count("election_time", None) >= 1);
    for peer in [1, 2, 3].iter().filter(|id| **id != leader as u64 + 1) {
        let reachable = m.scrape.samples.iter().any(|s| {
            s.metric == "corral_peer_reachable" && s.labels.get("key") == Some(&peer.to_string())
        });
        assert!(reachable, "corral_peer_reachable for {peer}");
    }
    let f = scrape(on_follower).await;
    assert_eq!(cluster.role(follower), Some(Role::Follower));
    assert_eq!(f.value("quorum_size"), 3.0);
    for name in &LEADER_GAUGES[1..] {
        assert!(f.kind(name).is_none(), "{name} on a follower");
    }
    assert!(f.value("learner_proposal_received_count") >= 1.0);
    assert!(f.summary_count("commit_propagation_latency", None) >= 1);
    c.close().await;
}

#[tokio::test]
async fn srst_resets_mntr_but_not_prometheus() {
    let (_dir, server, metrics) = standalone_with_metrics().await;
    let mut c = Client::connect(server.addr).await;
    for i in 0..5 {
        c.create(&format!("/r{i}"), b"x", 0).await.unwrap();
    }
    let before = scrape(metrics).await.value("commit_count");
    assert!(before >= 5.0);
    assert_eq!(four_letter(server.addr, "srst").await, "Server stats reset.\n");
    let mntr = four_letter(server.addr, "mntr").await;
    assert!(mntr.contains("zk_commit_count\t0\n"), "{mntr}");
    assert!(mntr.contains("zk_cnt_updatelatency\t0\n"));
    // As ZooKeeper's Prometheus provider: a reset is not seen there.
    assert!(scrape(metrics).await.value("commit_count") >= before);
    c.close().await;
    server.stop().await;
}

#[tokio::test]
async fn one_address_cannot_take_every_connection() {
    let (_dir, server, metrics) = standalone_with_metrics().await;
    let mut held = Vec::new();
    for _ in 0..corral::http::MAX_PER_IP {
        held.push(TcpStream::connect(metrics).await.unwrap());
    }
    // The next one from the same address is closed at once, unanswered.
    let mut extra = TcpStream::connect(metrics).await.unwrap();
    let mut byte = [0u8; 1];
    let read = tokio::time::timeout(WAIT, extra.read(&mut byte)).await.unwrap();
    assert!(matches!(read, Ok(0) | Err(_)), "{read:?}");
    drop(held);
    assert!(eventually(|| async { http(metrics, "GET", "/metrics").await.0 == 200 }).await);
    server.stop().await;
}
