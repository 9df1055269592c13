//! The one table of metric names: ZooKeeper's (3.8/3.9 Prometheus provider, also `zk_`-prefixed
//! in mntr and bare in the admin `monitor` command), corral's own under `corral_`, and the
//! ZooKeeper names corral does not export, each with the reason.

/// Declares a closed set of names: `ALL`, `name()` and a dense `index()`.
macro_rules! names {
    ($(#[$meta:meta])* $ty:ident { $($(#[$vmeta:meta])* $variant:ident = $name:literal,)* }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $ty { $($(#[$vmeta])* $variant,)* }
        impl $ty {
            pub const ALL: &'static [$ty] = &[$($ty::$variant,)*];
            pub fn name(self) -> &'static str {
                match self { $($ty::$variant => $name,)* }
            }
            pub fn index(self) -> usize {
                self as usize
            }
        }
    };
}

names! {
    /// Counters, in ZooKeeper 3.9's mntr order, then corral's own. A few never move in corral,
    /// as they never move in ZooKeeper's default (NIO, no TLS) server: they are kept so that
    /// dashboards find them.
    Counter {
        WatchBytes = "watch_bytes",
        ConnectionRejected = "connection_rejected",
        SessionlessConnectionsExpired = "sessionless_connections_expired",
        ConnectionDrop = "connection_drop_count",
        BytesReceived = "bytes_received_count",
        ResponseBytes = "response_bytes",
        ConnectionRevalidate = "connection_revalidate_count",
        UnrecoverableError = "unrecoverable_error_count",
        UnsuccessfulHandshake = "unsuccessful_handshake",
        Commit = "commit_count",
        Proposal = "proposal_count",
        LargeRequestsRejected = "large_requests_rejected",
        ClosedWithoutServerRunning = "cnxn_closed_without_zk_server_running",
        Looking = "looking_count",
        LearnerProposalReceived = "learner_proposal_received_count",
        LearnerCommitReceived = "learner_commit_received_count",
        ConnectionRequest = "connection_request_count",
        Snap = "snap_count",
        StaleSessionsExpired = "stale_sessions_expired",
        TlsHandshakeExceeded = "tls_handshake_exceeded",
        // New in 3.9 (the AdminServer's snapshot and restore): after 3.8's.
        SnapshotError = "snapshot_error_count",
        SnapshotRateLimited = "snapshot_rate_limited_count",
        RestoreError = "restore_error_count",
        RestoreRateLimited = "restore_rate_limited_count",
        AuthFailed = "corral_auth_failed",
        ForwardedTxns = "corral_forwarded_txns",
        SnapshotsReceived = "corral_snapshots_received",
    }
}

names! {
    /// Summaries (ms unless the name says otherwise): ZooKeeper's basic ones, then its
    /// advanced ones, each in its 3.9 mntr order, then corral's own.
    Summary {
        LeaderUnavailableTime = "leader_unavailable_time",
        NodeCreatedWatchCount = "node_created_watch_count",
        NodeDeletedWatchCount = "node_deleted_watch_count",
        FsyncTime = "fsynctime",
        InflightSnapCount = "inflight_snap_count",
        SnapshotTime = "snapshottime",
        UnavailableTime = "unavailable_time",
        DbInitTime = "dbinittime",
        ElectionTime = "election_time",
        NodeChildrenWatchCount = "node_children_watch_count",
        NodeChangedWatchCount = "node_changed_watch_count",
        StartupSnapLoadTime = "startup_snap_load_time",
        /// New in 3.9: the AdminServer's restore, from its request to its apply here.
        RestoreTime = "restore_time",
        UpdateLatency = "updatelatency",
        ReadLatency = "readlatency",
        QuorumAckLatency = "quorum_ack_latency",
        CommitPropagationLatency = "commit_propagation_latency",
        ProposalLatency = "proposal_latency",
        PropagationLatency = "propagation_latency",
        /// Txns in each entry this server proposed (its batches).
        EntryTxns = "corral_entry_txns",
        EntryBytes = "corral_entry_bytes",
        SnapshotBytes = "corral_snapshot_bytes",
    }
}

impl Summary {
    /// ZooKeeper's "advanced" summaries: percentiles in mntr, three quantiles in Prometheus.
    pub fn advanced(self) -> bool {
        use Summary::*;
        matches!(
            self,
            ReadLatency
                | UpdateLatency
                | PropagationLatency
                | QuorumAckLatency
                | ProposalLatency
                | CommitPropagationLatency
        )
    }
}

names! {
    /// Counters kept per key (ZooKeeper's counter sets, label `key`).
    CounterSet {
        QuotaExceeded = "quota_exceeded_error_per_namespace",
    }
}

names! {
    /// Summaries kept per key (ZooKeeper's summary sets, label `key`).
    SummarySet {
        ReadPerNamespace = "read_per_namespace",
        WritePerNamespace = "write_per_namespace",
        AckLatency = "ack_latency",
    }
}

impl SummarySet {
    pub fn advanced(self) -> bool {
        self == SummarySet::AckLatency
    }
}

/// ZooKeeper names corral does not export, and why. The metrics test checks that every name
/// of ZooKeeper's list is either exported or here; docs/METRICS.md prints this table.
pub const NOT_EXPORTED: &[(&str, &str)] = &[
    ("netty_queued_buffer_capacity", "Netty's outbound buffer; corral's queues are bounded per connection in bytes"),
    ("insecure_admin_count", "plain HTTP on a port-unified admin port; corral does not unify ports"),
    ("digest_mismatches_count", "ZooKeeper compares a digest carried in each txn; raft replicas apply the same log bytes and carry no digest"),
    ("quit_leading_due_to_disloyal_voter", "ZooKeeper's epoch-acknowledgement phase; raft has none"),
    ("revalidate_count", "a reconnecting session is checked against the replicated session table on the member itself, with no round trip to the leader"),
    ("diff_count", "raft catches a learner up with ordinary appends, not a separate DIFF sync; snap_count counts snapshot sends"),
    ("inflight_diff_count", "raft catches a learner up with ordinary appends, not a separate DIFF sync"),
    ("skip_learner_request_to_next_processor_count", "observer masters; corral's observers learn from the leader"),
    ("om_proposal_process_time_ms", "observer masters; corral's observers learn from the leader"),
    ("om_commit_process_time_ms", "observer masters; corral's observers learn from the leader"),
    ("add_dead_watcher_stall_time", "the optional watch cleaner; corral drops a connection's watches when it closes"),
    ("dead_watchers_queued", "the optional watch cleaner; corral drops a connection's watches when it closes"),
    ("dead_watchers_cleared", "the optional watch cleaner; corral drops a connection's watches when it closes"),
    ("dead_watchers_cleaner_latency", "the optional watch cleaner; corral drops a connection's watches when it closes"),
    ("response_packet_cache_hits", "corral has no cache of serialized responses"),
    ("response_packet_cache_misses", "corral has no cache of serialized responses"),
    ("response_packet_get_children_cache_hits", "corral has no cache of serialized responses"),
    ("response_packet_get_children_cache_misses", "corral has no cache of serialized responses"),
    ("ensemble_auth_success", "the `ensemble` auth scheme is not offered"),
    ("ensemble_auth_fail", "the `ensemble` auth scheme is not offered"),
    ("ensemble_auth_skip", "the `ensemble` auth scheme is not offered"),
    ("prep_processor_request_queued", "ZooKeeper's request processor chain; corral's writes go to one proposer queue (corral_entry_txns)"),
    ("outstanding_changes_queued", "ZooKeeper's request processor chain"),
    ("outstanding_changes_removed", "ZooKeeper's request processor chain"),
    ("request_commit_queued", "ZooKeeper's request processor chain"),
    ("sync_processor_request_queued", "ZooKeeper's request processor chain"),
    ("requests_not_forwarded_to_commit_processor", "ZooKeeper's request processor chain"),
    ("prep_processor_queue_time_ms", "ZooKeeper's request processor chain"),
    ("prep_processor_queue_size", "ZooKeeper's request processor chain"),
    ("prep_process_time", "ZooKeeper's request processor chain"),
    ("proposal_process_time", "ZooKeeper's request processor chain"),
    ("close_session_prep_time", "ZooKeeper's request processor chain"),
    ("sync_processor_queue_and_flush_time_ms", "ZooKeeper's request processor chain; the log's fsync is fsynctime"),
    ("sync_processor_queue_time_ms", "ZooKeeper's request processor chain; the log's fsync is fsynctime"),
    ("sync_processor_queue_flush_time_ms", "ZooKeeper's request processor chain; the log's fsync is fsynctime"),
    ("sync_processor_queue_size", "ZooKeeper's request processor chain"),
    ("sync_process_time", "ZooKeeper's request processor chain"),
    ("sync_processor_batch_size", "ZooKeeper's request processor chain; corral's batches are corral_entry_txns"),
    ("commit_process_time", "ZooKeeper's CommitProcessor"),
    ("read_commit_proc_req_queued", "ZooKeeper's CommitProcessor"),
    ("write_commit_proc_req_queued", "ZooKeeper's CommitProcessor"),
    ("commit_commit_proc_req_queued", "ZooKeeper's CommitProcessor"),
    ("read_commit_proc_issued", "ZooKeeper's CommitProcessor"),
    ("write_commit_proc_issued", "ZooKeeper's CommitProcessor"),
    ("requests_in_session_queue", "ZooKeeper's CommitProcessor"),
    ("pending_session_queue_size", "ZooKeeper's CommitProcessor"),
    ("reads_after_write_in_session_queue", "ZooKeeper's CommitProcessor"),
    ("reads_issued_from_session_queue", "ZooKeeper's CommitProcessor"),
    ("session_queues_drained", "ZooKeeper's CommitProcessor"),
    ("time_waiting_empty_pool_in_commit_processor_read_ms", "ZooKeeper's CommitProcessor"),
    ("write_batch_time_in_commit_processor", "ZooKeeper's CommitProcessor"),
    ("concurrent_request_processing_in_commit_processor", "ZooKeeper's CommitProcessor"),
    ("read_commitproc_time_ms", "ZooKeeper's CommitProcessor"),
    ("write_commitproc_time_ms", "ZooKeeper's CommitProcessor"),
    ("local_write_committed_time_ms", "ZooKeeper's CommitProcessor"),
    ("server_write_committed_time_ms", "ZooKeeper's CommitProcessor"),
    ("read_final_proc_time_ms", "ZooKeeper's FinalRequestProcessor"),
    ("write_final_proc_time_ms", "ZooKeeper's FinalRequestProcessor"),
    ("learner_handler_qp_size", "ZooKeeper's per-learner queues; openraft replicates to each learner from the log"),
    ("learner_handler_qp_time_ms", "ZooKeeper's per-learner queues; openraft replicates to each learner from the log"),
    ("proposal_ack_creation_latency", "measured from a ZooKeeper proposal's creation to its ack; raft appends arrive in batches with no per-proposal timestamp on the ack"),
    ("learner_request_processor_queue_size", "the forwarding stream is bounded and measured as corral_forwarded_txns"),
    ("throttled_ops", "corral has no request throttler: each connection is bounded by its queue"),
    ("request_throttle_wait_count", "corral has no request throttler"),
    ("request_throttle_queue_time_ms", "corral has no request throttler"),
    ("connection_token_deficit", "corral has no connection throttler"),
    ("stale_requests", "corral has no request throttler"),
    ("stale_requests_dropped", "corral has no request throttler"),
    ("stale_replies", "corral has no request throttler"),
    ("follower_sync_time", "a raft follower serves once it knows its leader; it catches up by ordinary appends, with no sync phase to time"),
    ("observer_sync_time", "a raft learner serves once it knows its leader; it catches up by ordinary appends, with no sync phase to time"),
    ("socket_closing_time", "the time a ZooKeeper learner takes to close its leader socket"),
    ("jvm_pause_time_ms", "a JVM measurement"),
    ("startup_txns_loaded", "openraft replays the log after start as ordinary applies, not as a separate load step"),
    ("startup_txns_load_time", "openraft replays the log after start as ordinary applies, not as a separate load step"),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_is_unique_and_none_is_both_exported_and_not() {
        let mut names: Vec<&str> = Counter::ALL.iter().map(|c| c.name()).collect();
        names.extend(Summary::ALL.iter().map(|s| s.name()));
        names.extend(CounterSet::ALL.iter().map(|s| s.name()));
        names.extend(SummarySet::ALL.iter().map(|s| s.name()));
        let exported = names.len();
        names.extend(NOT_EXPORTED.iter().map(|(n, _)| *n));
        let mut sorted = names.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), names.len(), "a name appears twice");
        assert!(exported > 40);
    }

    #[test]
    fn the_metrics_doc_lists_every_name_not_exported_with_its_reason() {
        let doc = include_str!("../../docs/METRICS.md");
        for (name, why) in NOT_EXPORTED {
            assert!(doc.contains(&format!("| `{name}` | {why} |")), "docs/METRICS.md lacks {name}");
        }
    }
}
