//! The openraft type configuration and every alias the rest of `replication` uses.

use serde::{Deserialize, Serialize};

/// One raft entry's payload: a batch of txns, Jute-encoded (`txn::codec`), so the log holds
/// corral's own format and not a serde rendering of Rust types.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Batch {
    pub bytes: Vec<u8>,
}

impl std::fmt::Display for Batch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Batch({} bytes)", self.bytes.len())
    }
}

openraft::declare_raft_types!(
    pub TypeConfig:
        D = Batch,
        R = (),
        NodeId = u64,
        Node = openraft::BasicNode,
        Entry = openraft::Entry<TypeConfig>,
        SnapshotData = crate::store::snapshot::SnapshotFile,
        AsyncRuntime = openraft::TokioRuntime,
);

pub type NodeId = u64;
pub type LogId = openraft::LogId<NodeId>;
pub type Entry = openraft::Entry<TypeConfig>;
pub type EntryPayload = openraft::EntryPayload<TypeConfig>;
pub type Vote = openraft::Vote<NodeId>;
pub type StorageError = openraft::StorageError<NodeId>;
pub type StorageIOError = openraft::StorageIOError<NodeId>;
pub type StoredMembership = openraft::StoredMembership<NodeId, openraft::BasicNode>;
pub type SnapshotMeta = openraft::SnapshotMeta<NodeId, openraft::BasicNode>;
pub type Snapshot = openraft::Snapshot<TypeConfig>;
pub type LogState = openraft::LogState<TypeConfig>;
pub type LogFlushed = openraft::storage::LogFlushed<TypeConfig>;
pub type Raft = openraft::Raft<TypeConfig>;
