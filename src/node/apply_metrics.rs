//! What apply adds to the metrics, read off an applied entry: commits (on the leader) or
//! commits received (elsewhere), how long the entry took to arrive here from the leader's
//! clock, and ZooKeeper's per-namespace write sizes and quota refusals.

use jute::{EventType, MultiOp};

use super::Node;
use crate::error::ZkError;
use crate::metrics::{top_namespace, Counter, CounterSet, Summary, SummarySet};
use crate::replication::Role;
use crate::state::Applied;
use crate::txn::{Entry, TxnOp};

impl Node {
    pub(super) fn count_applied(&self, entry: &Entry, applied: &[Applied]) {
        let txns = applied.len() as u64;
        let role = self.role();
        let counter = match role {
            Role::Leader => Counter::Commit,
            _ => Counter::LearnerCommitReceived,
        };
        self.metrics.add(counter, txns);
        // ZooKeeper skips these when clocks disagree (a negative age).
        if let Ok(age) = u64::try_from(crate::clock::now_ms() - entry.time_ms) {
            self.metrics.observe(Summary::PropagationLatency, age);
            let summary = match role {
                Role::Leader => Summary::QuorumAckLatency,
                _ => Summary::CommitPropagationLatency,
            };
            self.metrics.observe(summary, age);
        }
        for (txn, outcome) in entry.txns.iter().zip(applied) {
            match &outcome.result {
                Ok(_) => self.count_writes(&txn.op),
                Err(ZkError::QuotaExceeded) => self.count_quota_refusal(&txn.op),
                Err(_) => {}
            }
        }
    }

    /// ZooKeeper's write_per_namespace: the path and the data written, in bytes.
    fn count_writes(&self, op: &TxnOp) {
        let record = |path: &str, data: usize| {
            if let Some(namespace) = top_namespace(path) {
                let bytes = (path.len() + data) as u64;
                self.metrics.observe_keyed(SummarySet::WritePerNamespace, namespace, bytes);
            }
        };
        match op {
            TxnOp::Create { request, .. } => record(&request.path, data_len(&request.data)),
            TxnOp::Delete(r) => record(&r.path, 0),
            TxnOp::SetData(r) => record(&r.path, data_len(&r.data)),
            TxnOp::Multi(ops) => ops.iter().for_each(|op| match op {
                MultiOp::Create(_, r) => record(&r.path, data_len(&r.data)),
                MultiOp::CreateTtl(r) => record(&r.path, data_len(&r.data)),
                MultiOp::Delete(r) => record(&r.path, 0),
                MultiOp::SetData(r) => record(&r.path, data_len(&r.data)),
                _ => {}
            }),
            _ => {}
        }
    }

    fn count_quota_refusal(&self, op: &TxnOp) {
        let path = match op {
            TxnOp::Create { request, .. } => &request.path,
            TxnOp::SetData(r) => &r.path,
            _ => return,
        };
        if let Some(namespace) = top_namespace(path) {
            self.metrics.count_keyed(CounterSet::QuotaExceeded, namespace);
        }
    }

    /// A member's elections: looking_count when it starts looking for a leader, and the time
    /// it looked (election_time, unavailable_time) once it has a role again. ZooKeeper starts
    /// a new server, and a new `uptime`, at every role change.
    pub(super) fn count_role_change(&self, previous: Role, role: Role) {
        if role == previous {
            return;
        }
        let now = crate::clock::now_ms();
        self.stats.role_since.store(now, std::sync::atomic::Ordering::Relaxed);
        if !self.config.ensemble.is_distributed() {
            return;
        }
        let mut looking_since = self.stats.looking_since.lock();
        if role == Role::NoLeader {
            self.metrics.count(Counter::Looking);
            *looking_since = Some(now);
            return;
        }
        let Some(since) = looking_since.take() else { return };
        let looked = u64::try_from(now - since).unwrap_or(0);
        self.metrics.observe(Summary::UnavailableTime, looked);
        match role {
            Role::Leader => {
                self.metrics.observe(Summary::ElectionTime, looked);
                self.metrics.observe(Summary::LeaderUnavailableTime, looked);
            }
            Role::Follower => self.metrics.observe(Summary::ElectionTime, looked),
            Role::Observer | Role::NoLeader => {}
        }
    }

    /// ZooKeeper's node_*_watch_count: watchers a change reached, when it reached any.
    pub(super) fn count_watchers(&self, event: EventType, watchers: usize) {
        let summary = match event {
            EventType::NodeCreated => Summary::NodeCreatedWatchCount,
            EventType::NodeDeleted => Summary::NodeDeletedWatchCount,
            EventType::NodeDataChanged => Summary::NodeChangedWatchCount,
            EventType::NodeChildrenChanged => Summary::NodeChildrenWatchCount,
            _ => return,
        };
        self.metrics.observe(summary, watchers as u64);
    }
}

fn data_len(data: &jute::Buffer) -> usize {
    data.as_ref().map_or(0, |d| d.len())
}
