//! A member's storage while the server is stopped: seeded with a state that did not come
//! through raft (a tree imported from ZooKeeper), or read whole (for an export).
//!
//! A seed is a snapshot at raft index 1 of term 1, and a log purged up to it, as if that
//! state had been committed by the lowest voter and snapshotted. Every server seeded from the
//! same data and the same `server.N` lines writes the same snapshot identity, and each of them
//! outranks a member whose log is new (an empty one initializes at index 0, term 0), so a
//! member left empty by mistake can never win an election over them or replicate its tree.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use openraft::{BasicNode, CommittedLeaderId, Membership};

use super::log_store::{COMMITTED_KEY, PURGED_KEY, VOTE_KEY};
use super::snapshot::Snapshots;
use super::types::*;
use super::{EnsembleSettings, ReplicationError, Settings};
use crate::state::ZkState;
use crate::store::LogStore;

/// The raft index and term an imported state takes.
const SEED_INDEX: u64 = 1;
const SEED_TERM: u64 = 1;

/// Whether `settings.dirs` already hold a log or a snapshot.
pub fn storage_in_use(settings: &Settings) -> Result<bool, ReplicationError> {
    let dirs = &settings.dirs;
    // Something that is not a readable directory counts as in use: it is not ours to replace.
    let has_entries = |dir: &std::path::Path| match std::fs::read_dir(dir) {
        Ok(mut entries) => entries.next().is_some(),
        Err(_) => dir.exists(),
    };
    Ok(has_entries(&dirs.log) || has_entries(&dirs.snapshots))
}

/// Writes `state` as the only snapshot of the empty storage in `settings.dirs`, for the
/// ensemble in `ensemble` (or standalone), and the log's vote, commit and purge points to
/// match. Blocking.
pub fn seed(
    settings: &Settings,
    ensemble: Option<&EnsembleSettings>,
    state: &ZkState,
) -> Result<(), ReplicationError> {
    let voters: BTreeMap<NodeId, BasicNode> = match ensemble {
        Some(ensemble) => ensemble.voters(),
        None => BTreeMap::from([(settings.node_id, BasicNode { addr: String::new() })]),
    };
    let first = *voters.keys().next().ok_or_else(|| seed_error("no voting member"))?;
    let log_id = LogId::new(CommittedLeaderId::new(SEED_TERM, first), SEED_INDEX);
    let ids: BTreeSet<NodeId> = voters.keys().copied().collect();
    let membership = Membership::new(vec![ids], voters);
    let meta = SnapshotMeta {
        last_log_id: Some(log_id),
        last_membership: StoredMembership::new(Some(log_id), membership),
        snapshot_id: format!("import-{:x}", state.last_zxid),
    };
    let dirs = &settings.dirs;
    let metrics = Arc::clone(&settings.metrics);
    let snapshots = Snapshots::open(&dirs.snapshots, settings.snap_retain_count, metrics)?;
    snapshots.write_seed(&meta, state)?;
    let store = LogStore::open_with_map_size(&dirs.log, dirs.log_map_size)?;
    store.put_meta(VOTE_KEY, &json(&Vote::new_committed(SEED_TERM, first))?)?;
    store.put_meta(COMMITTED_KEY, &json(&Some(log_id))?)?;
    store.purge_upto(SEED_INDEX, PURGED_KEY, &json(&log_id)?)?;
    Ok(())
}

fn seed_error(e: impl std::fmt::Display) -> ReplicationError {
    ReplicationError::Start(format!("cannot seed the storage: {e}"))
}

fn json<T: serde::Serialize>(value: &T) -> Result<Vec<u8>, ReplicationError> {
    serde_json::to_vec(value).map_err(seed_error)
}

/// The state this member's storage holds: the newest snapshot, then every entry of its log
/// after it, each batch handed to `apply` (a member's log may end in entries it accepted but
/// never learnt were committed; ZooKeeper's log holds such proposals too, and its election
/// sorts them out). Blocking.
pub fn load_state(
    settings: &Settings,
    mut apply: impl FnMut(&mut ZkState, &crate::txn::Entry),
) -> Result<ZkState, ReplicationError> {
    let dirs = &settings.dirs;
    let metrics = Arc::clone(&settings.metrics);
    let snapshots = Snapshots::open(&dirs.snapshots, settings.snap_retain_count, metrics)?;
    let (mut next, mut state) = match snapshots.load_newest()? {
        Some((meta, state)) => (meta.last_log_id.map_or(0, |l| l.index) + 1, state),
        None => (0, ZkState::default()),
    };
    let store = LogStore::open_with_map_size(&dirs.log, dirs.log_map_size)?;
    loop {
        let chunk = store.range(next, u64::MAX, 64 << 20)?;
        let Some((last, _)) = chunk.last() else { break };
        next = last + 1;
        for (index, bytes) in &chunk {
            let entry = super::entry_codec::decode(bytes).map_err(|e| bad_entry(*index, e))?;
            match &entry.payload {
                EntryPayload::Blank => state.start_epoch(),
                EntryPayload::Normal(batch) => {
                    let decoded = crate::txn::codec::decode_entry(&batch.bytes)
                        .map_err(|e| bad_entry(*index, e))?;
                    apply(&mut state, &decoded);
                }
                EntryPayload::Membership(_) => {}
            }
        }
    }
    Ok(state)
}

fn bad_entry(index: u64, e: impl std::fmt::Display) -> ReplicationError {
    ReplicationError::Inconsistent(format!("log entry {index}: {e}"))
}
