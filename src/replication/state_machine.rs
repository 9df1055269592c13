//! openraft's RaftStateMachine: hands each committed batch to the `Host` (the node: the pure
//! apply plus watch events and replies), starts a zxid epoch at each leader's Blank entry, asks
//! for a snapshot every `snapCount` txns, and builds and installs snapshots (`snapshot`).

use std::sync::Arc;

use openraft::storage::RaftStateMachine;
use openraft::{EntryPayload, RaftLogId};

use super::host::Host;
use super::proposer::Proposed;
use super::snapshot::{Builder, SnapshotError, Snapshots};
use super::types::*;
use crate::store::snapshot::SnapshotFile;
use crate::txn::codec::decode_entry;

pub struct StateMachine {
    host: Arc<dyn Host>,
    applied: Option<LogId>,
    membership: StoredMembership,
    snapshots: Arc<Snapshots>,
    proposed: Arc<Proposed>,
    due: SnapshotCounter,
    built: u64,
}

/// When to ask for a snapshot: after `every` txns (snapCount) since the last one began; if
/// one is still being written then, the count starts over instead, as ZooKeeper does ("Too
/// busy to snap, skipping"), so snapshots of a large tree under sustained load do not run
/// back to back.
struct SnapshotCounter {
    since: u64,
    every: u64,
    /// Asked for whatever the count: after a restore, whose parts would otherwise keep the
    /// whole snapshot in the log (and replay it at every start) until snapCount more txns.
    /// Kept while a snapshot is being written, until one begins.
    forced: bool,
}

impl SnapshotCounter {
    /// Counts applied txns; true when a snapshot should be asked for.
    fn count(&mut self, txns: usize, writing: bool) -> bool {
        self.since += txns as u64;
        if self.forced {
            return !writing;
        }
        if self.since < self.every {
            return false;
        }
        if writing {
            tracing::debug!("a snapshot is still being written; skipping this one");
            self.since = 0;
            return false;
        }
        true
    }

    fn reset(&mut self) {
        self.since = 0;
        self.forced = false;
    }
}

impl StateMachine {
    /// The state machine over the newest snapshot in `snapshots`, if any: openraft then
    /// re-applies the log after it.
    /// `snap_count`: txns between snapshots (ZooKeeper's snapCount).
    pub fn open(
        host: Arc<dyn Host>,
        snapshots: Arc<Snapshots>,
        proposed: Arc<Proposed>,
        snap_count: u64,
    ) -> Result<Self, SnapshotError> {
        let mut sm = StateMachine {
            due: SnapshotCounter { since: 0, every: snap_count.max(1), forced: false },
            host,
            applied: None,
            membership: StoredMembership::default(),
            snapshots,
            proposed,
            built: 0,
        };
        if let Some((meta, state)) = sm.snapshots.load_newest()? {
            sm.host.install(state);
            sm.applied = meta.last_log_id;
            sm.membership = meta.last_membership;
        }
        Ok(sm)
    }

    fn count_txns(&mut self, txns: usize) {
        if self.due.count(txns, self.snapshots.writing()) {
            self.snapshots.wanted.notify_one();
        }
    }
}

fn sm_err(e: impl std::fmt::Display) -> StorageError {
    StorageIOError::write_state_machine(&std::io::Error::other(e.to_string())).into()
}

impl RaftStateMachine<TypeConfig> for StateMachine {
    type SnapshotBuilder = Builder;

    async fn applied_state(&mut self) -> Result<(Option<LogId>, StoredMembership), StorageError> {
        Ok((self.applied, self.membership.clone()))
    }

    async fn apply<I>(&mut self, entries: I) -> Result<Vec<()>, StorageError>
    where
        I: IntoIterator<Item = Entry> + Send,
        I::IntoIter: Send,
    {
        let mut replies = Vec::new();
        for entry in entries {
            match &entry.payload {
                EntryPayload::Blank => self.host.start_epoch(),
                EntryPayload::Normal(batch) => {
                    let decoded = match self.proposed.take(&batch.bytes) {
                        Some(decoded) => decoded,
                        // A corrupt committed entry cannot be skipped without diverging: stop.
                        None => decode_entry(&batch.bytes).map_err(|e| {
                            sm_err(format!("log entry {}: {e}", entry.get_log_id().index))
                        })?,
                    };
                    self.host.apply(&decoded);
                    self.due.forced |= decoded.txns.iter().any(|t| t.op.completes_restore());
                    self.count_txns(decoded.txns.len());
                }
                EntryPayload::Membership(m) => {
                    self.membership = StoredMembership::new(Some(*entry.get_log_id()), m.clone());
                }
            }
            self.applied = Some(*entry.get_log_id());
            replies.push(());
        }
        Ok(replies)
    }

    async fn get_snapshot_builder(&mut self) -> Builder {
        self.built += 1;
        self.due.reset();
        let index = self.applied.map_or(0, |l| l.index);
        let meta = SnapshotMeta {
            last_log_id: self.applied,
            last_membership: self.membership.clone(),
            snapshot_id: format!("{index}-{}", self.built),
        };
        // O(1): the state's maps are persistent, so this is a frozen view, not a copy.
        Builder::new(self.snapshots.clone(), self.host.freeze(), meta)
    }

    async fn begin_receiving_snapshot(&mut self) -> Result<Box<SnapshotFile>, StorageError> {
        Ok(Box::new(self.snapshots.incoming()))
    }

    async fn install_snapshot(
        &mut self,
        meta: &SnapshotMeta,
        snapshot: Box<SnapshotFile>,
    ) -> Result<(), StorageError> {
        let snapshots = self.snapshots.clone();
        let meta_owned = meta.clone();
        let state = tokio::task::spawn_blocking(move || snapshots.install(&meta_owned, &snapshot))
            .await
            .map_err(sm_err)?
            .map_err(sm_err)?;
        self.host.install(state);
        self.snapshots.metrics.count(crate::metrics::Counter::SnapshotsReceived);
        self.applied = meta.last_log_id;
        self.membership = meta.last_membership.clone();
        self.due.reset();
        Ok(())
    }

    async fn get_current_snapshot(&mut self) -> Result<Option<Snapshot>, StorageError> {
        Ok(self.snapshots.current())
    }
}

#[cfg(test)]
mod tests {
    use super::SnapshotCounter;

    #[test]
    fn a_snapshot_is_asked_for_every_snap_count_txns_unless_one_is_being_written() {
        let mut due = SnapshotCounter { since: 0, every: 100, forced: false };
        assert!(!due.count(60, false));
        assert!(due.count(40, false), "100 txns");
        assert!(due.count(1, false), "still due until one begins");
        due.reset();
        assert!(!due.count(99, false));
        assert!(!due.count(1, true), "busy: skipped");
        assert!(!due.count(99, false), "and counted again from zero");
        assert!(due.count(1, false));
    }

    #[test]
    fn a_forced_snapshot_waits_for_the_one_being_written_and_is_not_skipped() {
        let mut due = SnapshotCounter { since: 0, every: 100, forced: true };
        assert!(!due.count(1, true), "one is being written");
        assert!(due.count(1, false), "asked for once it is done, whatever the count");
        due.reset();
        assert!(!due.count(1, false));
    }
}
