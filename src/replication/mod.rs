//! Replication: the only module that names openraft types. It orders client writes into raft
//! entries (the proposer packs every queued txn into one entry, stamped with the leader's
//! clock), makes them durable in the LMDB log, and applies them through the state machine,
//! which calls `Node::apply_entry`. Standalone mode is a one-member raft cluster.

mod log_store;
mod network;
mod state_machine;
mod types;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use openraft::{BasicNode, Config, ServerState};
use thiserror::Error;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::node::stats::now_ms;
use crate::node::Node;
use crate::store::{LogStore, StoreError};
use crate::txn::codec::encode_entry;
use crate::txn::{Entry, Txn};
pub use log_store::RaftLog;
pub use state_machine::StateMachine;
use types::{Batch, Raft};

/// Txns waiting to be ordered; a full queue makes proposers wait.
pub const PROPOSAL_QUEUE: usize = 16_384;
/// The most txns packed into one entry.
pub const MAX_BATCH: usize = 4_096;
/// How long start-up may take to elect itself and re-apply the log.
const RECOVERY_TIMEOUT: Duration = Duration::from_secs(600);

#[derive(Debug, Error)]
#[error("the replicator has stopped")]
pub struct Stopped;

#[derive(Debug, Error)]
pub enum ReplicationError {
    #[error("{0}")]
    Store(#[from] StoreError),
    #[error("raft configuration: {0}")]
    Config(String),
    #[error("raft failed to start: {0}")]
    Start(String),
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
}

impl RaftHandle {
    pub async fn shutdown(&self) {
        let _ = self.raft.shutdown().await;
    }
}

fn raft_config() -> Result<Arc<Config>, ReplicationError> {
    let config = Config {
        cluster_name: "corral".into(),
        heartbeat_interval: 250,
        election_timeout_min: 1000,
        election_timeout_max: 2000,
        max_payload_entries: 64,
        snapshot_policy: openraft::SnapshotPolicy::Never,
        ..Config::default()
    };
    Ok(Arc::new(config.validate().map_err(|e| ReplicationError::Config(e.to_string()))?))
}

/// Starts this node as a one-member cluster over the log in `dir`, and returns once it leads
/// and has re-applied every committed entry, so it serves nobody with a stale state.
pub async fn start_standalone(node: Arc<Node>, dir: &Path) -> Result<RaftHandle, ReplicationError> {
    let store = LogStore::open(dir)?;
    let id = node.node_id;
    let start = |e: &dyn std::fmt::Display| ReplicationError::Start(e.to_string());
    let raft = Raft::new(
        id,
        raft_config()?,
        network::NoPeers,
        RaftLog::new(store),
        StateMachine::new(node.clone()),
    )
    .await
    .map_err(|e| start(&e))?;
    if !raft.is_initialized().await.map_err(|e| start(&e))? {
        let members = BTreeMap::from([(id, BasicNode { addr: String::new() })]);
        raft.initialize(members).await.map_err(|e| start(&e))?;
    }
    let wait = raft.wait(Some(RECOVERY_TIMEOUT));
    wait.state(ServerState::Leader, "standalone leader").await.map_err(|e| start(&e))?;
    let caught_up = |m: &openraft::RaftMetrics<u64, BasicNode>| {
        m.last_applied.map(|l| l.index) >= m.last_log_index && m.current_leader == Some(id)
    };
    raft.wait(Some(RECOVERY_TIMEOUT))
        .metrics(caught_up, "applied the log")
        .await
        .map_err(|e| start(&e))?;
    tracing::info!(zxid = format!("0x{:x}", node.last_zxid()), "recovered from the log");
    Ok(RaftHandle { raft })
}

/// The proposer: every txn queued while the last entry was being made durable and applied goes
/// into the next entry, so batches grow with load; one fsync per batch.
pub async fn run_proposer(
    node: Arc<Node>,
    mut proposals: Proposals,
    raft: RaftHandle,
    shutdown: CancellationToken,
) {
    loop {
        let first = tokio::select! {
            txn = proposals.rx.recv() => match txn {
                Some(txn) => txn,
                None => return,
            },
            () = shutdown.cancelled() => return,
        };
        let mut txns = vec![first];
        while txns.len() < MAX_BATCH {
            match proposals.rx.try_recv() {
                Ok(txn) => txns.push(txn),
                Err(_) => break,
            }
        }
        let entry = Entry { time_ms: now_ms(), txns };
        let batch = Batch { bytes: encode_entry(&entry) };
        if let Err(e) = raft.raft.client_write(batch).await {
            stop_unwritten(&node, &entry, &e.to_string(), &shutdown);
            return;
        }
    }
}

/// A write the log could not take was never acknowledged: its clients are disconnected (as
/// ZooKeeper does when it cannot log) and the server stops rather than serve without a log.
fn stop_unwritten(node: &Node, entry: &Entry, error: &str, shutdown: &CancellationToken) {
    tracing::error!(error, "cannot replicate a write; stopping");
    node.abandon_entry(entry);
    shutdown.cancel();
}

#[cfg(test)]
mod storage_suite;
