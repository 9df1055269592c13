//! Replication: the only module that names openraft types. It orders client writes into raft
//! entries (the proposer packs every queued txn into one entry, stamped with the leader's
//! clock), makes them durable in the LMDB log, and applies them through the state machine,
//! which calls the node through the `Host` interface defined here. Standalone mode is a
//! one-member raft cluster.

mod entry_codec;
mod error;
mod host;
mod jobs;
mod log_store;
mod network;
mod proposer;
mod snapshot;
mod state_machine;
mod types;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use openraft::{BasicNode, Config, ServerState};
use tokio::sync::mpsc;

use crate::store::LogStore;
use crate::txn::Txn;
pub use error::{ReplicationError, Stopped, WriteError};
pub use host::{Host, Role};
pub use jobs::run_snapshot_jobs;
pub use log_store::RaftLog;
pub use proposer::run_proposer;
use proposer::Proposed;
use snapshot::Snapshots;
pub use state_machine::StateMachine;
use types::Raft;

/// Txns waiting to be ordered; a full queue makes proposers wait.
pub const PROPOSAL_QUEUE: usize = 16_384;
/// The most txns packed into one entry.
pub const MAX_BATCH: usize = 4_096;
/// How long start-up may take to elect itself and re-apply the log.
const RECOVERY_TIMEOUT: Duration = Duration::from_secs(600);

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
    snapshots: Arc<Snapshots>,
    proposed: Arc<Proposed>,
}

impl RaftHandle {
    pub async fn shutdown(&self) {
        let _ = self.raft.shutdown().await;
        let snapshots = self.snapshots.clone();
        let _ = tokio::task::spawn_blocking(move || snapshots.wait_until_written()).await;
    }
}

fn raft_config() -> Result<Arc<Config>, ReplicationError> {
    let config = Config {
        cluster_name: "corral".into(),
        heartbeat_interval: 250,
        election_timeout_min: 1000,
        election_timeout_max: 2000,
        max_payload_entries: 64,
        // Snapshots follow snapCount (txns, not entries), triggered by the state machine; the
        // log is purged by hand to the oldest snapshot kept (autopurge.snapRetainCount).
        snapshot_policy: openraft::SnapshotPolicy::Never,
        max_in_snapshot_log_to_keep: u64::MAX,
        ..Config::default()
    };
    Ok(Arc::new(config.validate().map_err(|e| ReplicationError::Config(e.to_string()))?))
}

/// Starts this node as a one-member cluster over the storage in `dirs`, and returns once it
/// leads and has re-applied every committed entry, so it serves nobody with a stale state.
pub async fn start_standalone(
    host: Arc<dyn Host>,
    settings: &Settings,
) -> Result<RaftHandle, ReplicationError> {
    let dirs = &settings.dirs;
    let store = LogStore::open_with_map_size(&dirs.log, dirs.log_map_size)?;
    let snapshots = Arc::new(Snapshots::open(&dirs.snapshots, settings.snap_retain_count)?);
    check_log_covers_snapshots(&store, &snapshots)?;
    let proposed = Arc::new(Proposed::default());
    let sm =
        StateMachine::open(host.clone(), snapshots.clone(), proposed.clone(), settings.snap_count)?;
    let id = settings.node_id;
    let start = |e: &dyn std::fmt::Display| ReplicationError::Start(e.to_string());
    let raft = Raft::new(id, raft_config()?, network::NoPeers, RaftLog::new(store), sm)
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
    tracing::info!("recovered from the log");
    // Known before the first client is served, not when the watcher first runs.
    host.set_role(Role::Leader);
    tokio::spawn(publish_role(raft.clone(), host, Some(Role::Leader)));
    Ok(RaftHandle { raft, snapshots, proposed })
}

/// Tells the host this member's role whenever raft's view of it changes, until raft stops.
async fn publish_role(raft: Raft, host: Arc<dyn Host>, mut last: Option<Role>) {
    let mut metrics = raft.server_metrics();
    loop {
        let role = {
            let m = metrics.borrow_and_update();
            role_of(m.state, m.current_leader.is_some())
        };
        if last != Some(role) {
            host.set_role(role);
            last = Some(role);
        }
        if metrics.changed().await.is_err() {
            return;
        }
    }
}

fn role_of(state: ServerState, leader_known: bool) -> Role {
    match state {
        ServerState::Leader => Role::Leader,
        ServerState::Follower if leader_known => Role::Follower,
        ServerState::Learner if leader_known => Role::Observer,
        _ => Role::NoLeader,
    }
}

/// A snapshot without the log that was written beside it means the log was lost or moved:
/// writes acknowledged after the snapshot would silently vanish, so refuse to start.
fn check_log_covers_snapshots(
    store: &LogStore,
    snapshots: &Snapshots,
) -> Result<(), ReplicationError> {
    let newest = snapshots.newest_index()?;
    if let (Some(index), false) = (newest, store.has_been_used()?) {
        return Err(ReplicationError::Inconsistent(format!(
            "{} holds a snapshot at raft index {index}, but the log in {} is new or empty; \
             the log may have been moved or deleted. Refusing to start so that writes after \
             the snapshot are not lost: restore the log, or move the snapshots away to start \
             from an empty tree",
            snapshots.dir().display(),
            store.path().display(),
        )));
    }
    Ok(())
}

#[cfg(test)]
mod storage_suite;
