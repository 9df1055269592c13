//! openraft's RaftStateMachine: hands each committed batch to `Node::apply_entry` (the pure
//! apply plus watch events and replies), starts a zxid epoch at each leader's Blank entry, and
//! builds and installs snapshots of the state.

use std::io::Cursor;
use std::sync::Arc;

use openraft::storage::{RaftSnapshotBuilder, RaftStateMachine};
use openraft::{EntryPayload, RaftLogId};
use parking_lot::Mutex;

use super::types::*;
use crate::node::Node;
use crate::state::codec::{decode_state, encode_state};
use crate::txn::codec::decode_entry;

/// The newest snapshot: its meta and its bytes.
type Current = Arc<Mutex<Option<(SnapshotMeta, Vec<u8>)>>>;

pub struct StateMachine {
    node: Arc<Node>,
    applied: Option<LogId>,
    membership: StoredMembership,
    current: Current,
    built: u64,
}

impl StateMachine {
    pub fn new(node: Arc<Node>) -> Self {
        StateMachine {
            node,
            applied: None,
            membership: StoredMembership::default(),
            current: Current::default(),
            built: 0,
        }
    }
}

fn sm_err(e: impl std::fmt::Display) -> StorageError {
    StorageIOError::write_state_machine(&std::io::Error::other(e.to_string())).into()
}

/// A frozen copy of the state at `applied`, taken in order with apply.
pub struct Builder {
    state: crate::state::ZkState,
    applied: Option<LogId>,
    membership: StoredMembership,
    current: Current,
    id: String,
}

impl RaftSnapshotBuilder<TypeConfig> for Builder {
    async fn build_snapshot(&mut self) -> Result<Snapshot, StorageError> {
        let state = std::mem::take(&mut self.state);
        let bytes =
            tokio::task::spawn_blocking(move || encode_state(&state)).await.map_err(sm_err)?;
        let meta = SnapshotMeta {
            last_log_id: self.applied,
            last_membership: self.membership.clone(),
            snapshot_id: self.id.clone(),
        };
        *self.current.lock() = Some((meta.clone(), bytes.clone()));
        Ok(Snapshot { meta, snapshot: Box::new(Cursor::new(bytes)) })
    }
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
                    // A corrupt committed entry cannot be skipped without diverging: stop.
                    let decoded = decode_entry(&batch.bytes).map_err(sm_err)?;
                    self.node.apply_entry(&decoded);
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
        let index = self.applied.map_or(0, |l| l.index);
        Builder {
            state: self.node.state_copy(),
            applied: self.applied,
            membership: self.membership.clone(),
            current: self.current.clone(),
            id: format!("{index}-{}", self.built),
        }
    }

    async fn begin_receiving_snapshot(&mut self) -> Result<Box<Cursor<Vec<u8>>>, StorageError> {
        Ok(Box::new(Cursor::new(Vec::new())))
    }

    async fn install_snapshot(
        &mut self,
        meta: &SnapshotMeta,
        snapshot: Box<Cursor<Vec<u8>>>,
    ) -> Result<(), StorageError> {
        let bytes = snapshot.into_inner();
        let state = decode_state(&bytes).map_err(sm_err)?;
        self.node.install_state(state);
        self.applied = meta.last_log_id;
        self.membership = meta.last_membership.clone();
        *self.current.lock() = Some((meta.clone(), bytes));
        Ok(())
    }

    async fn get_current_snapshot(&mut self) -> Result<Option<Snapshot>, StorageError> {
        let current = self.current.lock().clone();
        Ok(current.map(|(meta, bytes)| Snapshot { meta, snapshot: Box::new(Cursor::new(bytes)) }))
    }
}
