//! Replication: the only module that names openraft types. It orders client writes into raft
//! entries (the proposer packs every queued txn into one entry, stamped with the leader's
//! clock), makes them durable in the LMDB log, and applies them through the state machine,
//! which calls the node through the `Host` interface defined here. Standalone mode is a
//! one-member raft cluster.

mod entry_codec;
mod error;
mod forward;
mod host;
mod jobs;
mod learners;
mod log_store;
mod network;
pub mod offline;
mod peer;
mod proposer;
mod snapshot;
mod start;
mod state_machine;
mod types;
mod view;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;

use crate::metrics::Metrics;
use crate::txn::Txn;
pub use error::{ReplicationError, Stopped, WriteError};
pub use host::{Host, Role};
pub use jobs::run_snapshot_jobs;
pub use log_store::RaftLog;
pub use peer::ClusterId;
pub use proposer::run_proposer;
use proposer::Proposed;
use snapshot::Snapshots;
pub use start::{start_member, start_standalone};
pub use state_machine::StateMachine;
use types::Raft;
pub use view::{EnsembleStatus, EnsembleView};

/// Txns waiting to be ordered; a full queue makes proposers wait.
pub const PROPOSAL_QUEUE: usize = 16_384;
/// The most txns packed into one entry.
pub const MAX_BATCH: usize = 4_096;

/// Where a member keeps its log (ZooKeeper's dataLogDir) and its snapshots (dataDir).
#[derive(Debug, Clone)]
pub struct StorageDirs {
    pub log: PathBuf,
    pub snapshots: PathBuf,
    /// The most bytes the log may use (LMDB's map size).
    pub log_map_size: usize,
}

/// What replication needs to know of the configuration, as plain values.
#[derive(Debug, Clone)]
pub struct Settings {
    /// This member's id (ZooKeeper's myid).
    pub node_id: u64,
    pub dirs: StorageDirs,
    /// Txns between snapshots (snapCount).
    pub snap_count: u64,
    /// Snapshots kept, the newest included (autopurge.snapRetainCount).
    pub snap_retain_count: usize,
    /// ZooKeeper's tickTime, initLimit and syncLimit, from which raft's timeouts are made.
    pub timing: Timing,
    /// Where replication reports what it measures (fsync and snapshot times, raft progress).
    pub metrics: Arc<Metrics>,
}

#[derive(Debug, Clone, Copy)]
pub struct Timing {
    pub tick: Duration,
    pub init_limit: u32,
    pub sync_limit: u32,
}

/// One member of an ensemble, as the `server.N` lines give it.
#[derive(Debug, Clone)]
pub struct Peer {
    pub id: u64,
    /// `host:quorumPort`, where its peer service listens.
    pub addr: String,
    /// A participant votes; an observer (a raft learner) does not.
    pub voter: bool,
}

/// What a member of an ensemble needs beyond `Settings`.
#[derive(Debug, Clone)]
pub struct EnsembleSettings {
    pub peers: Vec<Peer>,
    /// Peers of another ensemble are refused (see `peer::ClusterId`).
    pub cluster: ClusterId,
}

impl EnsembleSettings {
    /// The raft voters the `server.N` participants make: every member, and every import
    /// that seeds one, must build the same map from the same lines.
    pub(crate) fn voters(&self) -> std::collections::BTreeMap<types::NodeId, openraft::BasicNode> {
        let voters = self.peers.iter().filter(|p| p.voter);
        voters.map(|p| (p.id, openraft::BasicNode { addr: p.addr.clone() })).collect()
    }
}

/// The write side of the proposal queue.
#[derive(Clone)]
pub struct Replicator {
    tx: mpsc::Sender<Txn>,
}

/// The read side, consumed by the proposer task.
pub struct Proposals {
    rx: mpsc::Receiver<Txn>,
}

pub fn channel() -> (Replicator, Proposals) {
    let (tx, rx) = mpsc::channel(PROPOSAL_QUEUE);
    (Replicator { tx }, Proposals { rx })
}

impl Replicator {
    pub async fn propose(&self, txn: Txn) -> Result<(), Stopped> {
        self.tx.send(txn).await.map_err(|_| Stopped)
    }
}

/// A running raft member.
#[derive(Clone)]
pub struct RaftHandle {
    raft: Raft,
    /// A member of an ensemble's stream to the leader, taken by the proposer.
    forwarder: Arc<parking_lot::Mutex<Option<forward::Forwarder>>>,
    snapshots: Arc<Snapshots>,
    proposed: Arc<Proposed>,
    faults: Arc<peer::Faults>,
    metrics: Arc<Metrics>,
}

impl RaftHandle {
    /// Cuts this member off from `peers` in both directions (empty heals): a fault-injecting
    /// layer for tests of partitions.
    pub fn cut_off(&self, peers: &[u64]) {
        self.faults.cut_off(peers);
    }

    pub async fn shutdown(&self) {
        let _ = self.raft.shutdown().await;
        let snapshots = self.snapshots.clone();
        let _ = tokio::task::spawn_blocking(move || snapshots.wait_until_written()).await;
    }
}

#[cfg(test)]
mod storage_suite;
