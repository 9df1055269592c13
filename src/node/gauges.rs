//! The gauges: values read from the live node when mntr, the admin `monitor` command or a
//! Prometheus scrape asks, under ZooKeeper's names and in its mntr order. Leader-only gauges
//! exist only on the leader, and `quorum_size` only in an ensemble, as in ZooKeeper.

use std::sync::atomic::Ordering;

use super::Node;
use crate::metrics::{process, GaugeSample as G, MAX_KEYS_PER_SET};
use crate::replication::{EnsembleStatus, Role};
use crate::tree::quota;

/// ZooKeeper 3.9's mntr order of its gauges (a leader's; others print a subset).
pub const MNTR_ORDER: &[&str] = &[
    "ephemerals_count",
    "num_alive_connections",
    "avg_latency",
    "min_proposal_size",
    "outstanding_requests",
    "znode_count",
    "global_sessions",
    "non_mtls_remote_conn_count",
    "last_client_response_size",
    "packets_sent",
    "packets_received",
    "max_proposal_size",
    "max_client_response_size",
    "synced_followers",
    "connection_drop_probability",
    "watch_count",
    "synced_non_voting_followers",
    "synced_observers",
    "auth_failed_count",
    "min_latency",
    "max_file_descriptor_count",
    "approximate_data_size",
    "open_file_descriptor_count",
    "last_proposal_size",
    "pending_syncs",
    "leader_uptime",
    "local_sessions",
    "uptime",
    "max_latency",
    "outstanding_tls_handshake",
    "learners",
    "min_client_response_size",
    "non_mtls_local_conn_count",
    "quorum_size",
];

impl Node {
    /// Every gauge, in `MNTR_ORDER`, then the quota sets, then corral's own.
    pub fn gauges(&self) -> Vec<G> {
        let mut all = self.server_gauges();
        if let Some(status) = self.ensemble_status() {
            all.extend(self.quorum_gauges(&status));
        }
        let rank = |g: &G| MNTR_ORDER.iter().position(|n| *n == g.name).unwrap_or(usize::MAX);
        all.sort_by_key(rank);
        all.extend(self.quota_gauges());
        all.extend(self.raft_gauges());
        all
    }

    fn server_gauges(&self) -> Vec<G> {
        let latency = self.metrics.request_latency();
        let (nodes, ephemerals, size, sessions) = self.with_state(|s| {
            let t = &s.tree;
            (t.node_count(), t.ephemeral_count(), t.approximate_data_size(), s.sessions.len())
        });
        let connections = self.connection_list();
        let (last, min, max) = self.stats.response_sizes();
        vec![
            G::int("ephemerals_count", ephemerals),
            G::int("num_alive_connections", connections.len()),
            G::float("avg_latency", latency.avg()),
            G::int("outstanding_requests", self.outstanding_requests()),
            G::int("znode_count", nodes),
            G::int("global_sessions", sessions),
            // Only ZooKeeper's Netty factory moves these; its default (NIO) server, like
            // corral's client port, reports 0 (corral has no TLS port yet).
            G::int("non_mtls_remote_conn_count", 0),
            G::int("non_mtls_local_conn_count", 0),
            G::int("auth_failed_count", 0),
            G::int("outstanding_tls_handshake", 0),
            G::int("last_client_response_size", last),
            G::int("max_client_response_size", max),
            G::int("min_client_response_size", min),
            G::int("packets_sent", self.stats.packets_sent.load(Ordering::Relaxed)),
            G::int("packets_received", self.stats.packets_received.load(Ordering::Relaxed)),
            // corral has no connection throttler: ZooKeeper's reads 0.0 while it is off.
            G::float("connection_drop_probability", 0.0),
            G::int("watch_count", self.with_watches(|w| w.watch_count())),
            G::int("min_latency", latency.min),
            G::int("max_latency", latency.max),
            G::int("max_file_descriptor_count", process::max_fds()),
            G::int("open_file_descriptor_count", process::open_fds()),
            G::int("approximate_data_size", size),
            // Every corral session is global (ZooKeeper's localSessionsEnabled=false).
            G::int("local_sessions", 0),
            G::int("uptime", self.serving_since_ms()),
        ]
    }

    /// ms since this server started serving in its current role (ZooKeeper builds a new
    /// server, with a new uptime, at every role change).
    fn serving_since_ms(&self) -> i64 {
        let since = self.stats.role_since.load(Ordering::Relaxed);
        crate::clock::now_ms().saturating_sub(since).max(0)
    }

    fn quorum_gauges(&self, status: &EnsembleStatus) -> Vec<G> {
        let mut gauges = vec![G::int("quorum_size", status.quorum_size)];
        if self.role() != Role::Leader {
            return gauges;
        }
        let (last, min, max) = self.stats.proposal_sizes();
        let leading = self.stats.leading_since.load(Ordering::Relaxed);
        let leader_uptime = crate::clock::now_ms().saturating_sub(leading).max(0);
        gauges.extend([
            G::int("learners", status.learners),
            G::int("synced_followers", status.synced_followers),
            // Only a reconfiguration makes a follower non-voting; corral's config is static.
            G::int("synced_non_voting_followers", 0),
            G::int("synced_observers", status.synced_observers),
            // ZooKeeper parks a sync behind outstanding proposals; a corral sync is an entry
            // of the log like any write, and is never parked.
            G::int("pending_syncs", 0),
            G::int("leader_uptime", leader_uptime),
            G::int("last_proposal_size", last),
            G::int("max_proposal_size", max),
            G::int("min_proposal_size", min),
        ]);
        gauges
    }

    fn quota_gauges(&self) -> Vec<G> {
        // The tree is persistent: its copy is O(1), and the walk holds no lock.
        let tree = self.with_state(|s| s.tree.clone());
        let totals = quota::namespace_totals(&tree, MAX_KEYS_PER_SET);
        let mut gauges = Vec::with_capacity(totals.len() * 4);
        for (namespace, q) in totals {
            gauges.extend([
                G::keyed("quota_bytes_limit_per_namespace", namespace.clone(), q.bytes_limit),
                G::keyed("quota_count_usage_per_namespace", namespace.clone(), q.count_usage),
                G::keyed("quota_count_limit_per_namespace", namespace.clone(), q.count_limit),
                G::keyed("quota_bytes_usage_per_namespace", namespace, q.bytes_usage),
            ]);
        }
        gauges
    }

    /// corral's own: where raft stands on this server, and on a leader, which members its
    /// raft connections reach.
    fn raft_gauges(&self) -> Vec<G> {
        let raft = self.metrics.raft();
        let mut gauges = vec![
            G::int("corral_raft_term", raft.term),
            G::int("corral_raft_commit_index", raft.committed),
            G::int("corral_raft_applied_index", raft.applied),
            G::int("corral_apply_lag", raft.committed.saturating_sub(raft.applied)),
        ];
        let Some(status) = self.ensemble_status().filter(|_| self.role() == Role::Leader) else {
            return gauges;
        };
        let me = u64::from(self.config.server_id);
        let others = self.config.ensemble.members.keys().filter(|id| **id != me);
        for id in others {
            let up = status.reachable.contains(id);
            gauges.push(G::keyed("corral_peer_reachable", id.to_string(), i64::from(up)));
        }
        gauges
    }
}
