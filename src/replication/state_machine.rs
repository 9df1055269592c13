//! openraft's RaftStateMachine: hands each committed batch to `Node::apply_entry` (the pure
//! apply plus watch events and replies), starts a zxid epoch at each leader's Blank entry, asks
//! for a snapshot every `snapCount` txns, and builds and installs snapshots (`snapshot`).

use std::sync::Arc;

use openraft::storage::RaftStateMachine;
use openraft::{EntryPayload, RaftLogId};

use super::proposer::Proposed;
use super::snapshot::{Builder, SnapshotError, Snapshots};
use super::types::*;
use crate::node::Node;
use crate::store::snapshot::SnapshotFile;
use crate::txn::codec::decode_entry;

pub struct StateMachine {
    node: Arc<Node>,
    applied: Option<LogId>,
    membership: StoredMembership,
    snapshots: Arc<Snapshots>,
    proposed: Arc<Proposed>,
    /// Txns applied since the last snapshot was begun.
    since_snapshot: u64,
    snap_count: u64,
    built: u64,
}

impl StateMachine {
    /// The state machine over the newest snapshot in `snapshots`, if any: openraft then
    /// re-applies the log after it.
    pub fn open(
        node: Arc<Node>,
        snapshots: Arc<Snapshots>,
        proposed: Arc<Proposed>,
    ) -> Result<Self, SnapshotError> {
        let mut sm = StateMachine {
            snap_count: node.config.snap_count.max(1),
            node,
            applied: None,
            membership: StoredMembership::default(),
            snapshots,
            proposed,
            since_snapshot: 0,
            built: 0,
        };
        if let Some((meta, state)) = sm.snapshots.load_newest()? {
            sm.node.install_state(state);
            sm.applied = meta.last_log_id;
            sm.membership = meta.last_membership;
        }
        Ok(sm)
    }

    fn count_txns(&mut self, txns: usize) {
        self.since_snapshot += txns as u64;
        if self.since_snapshot >= self.snap_count {
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
                EntryPayload::Blank => self.node.start_epoch(),
                EntryPayload::Normal(batch) => {
                    let decoded = match self.proposed.take(&batch.bytes) {
                        Some(decoded) => decoded,
                        // A corrupt committed entry cannot be skipped without diverging: stop.
                        None => decode_entry(&batch.bytes).map_err(|e| {
                            sm_err(format!("log entry {}: {e}", entry.get_log_id().index))
                        })?,
                    };
                    self.node.apply_entry(&decoded);
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
        self.since_snapshot = 0;
        let index = self.applied.map_or(0, |l| l.index);
        let meta = SnapshotMeta {
            last_log_id: self.applied,
            last_membership: self.membership.clone(),
            snapshot_id: format!("{index}-{}", self.built),
        };
        // O(1): the state's maps are persistent, so this is a frozen view, not a copy.
        Builder::new(self.snapshots.clone(), self.node.state_copy(), meta)
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
        self.node.install_state(state);
        self.applied = meta.last_log_id;
        self.membership = meta.last_membership.clone();
        self.since_snapshot = 0;
        Ok(())
    }

    async fn get_current_snapshot(&mut self) -> Result<Option<Snapshot>, StorageError> {
        Ok(self.snapshots.current())
    }
}
