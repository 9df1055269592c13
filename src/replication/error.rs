//! Replication's typed errors: why a member could not start, and why a write was not taken.
//! A write refused because this member does not lead is not a broken log.

use openraft::error::{ClientWriteError, RaftError};
use openraft::BasicNode;
use thiserror::Error;

use super::snapshot::SnapshotError;
use super::types::NodeId;
use crate::store::StoreError;

#[derive(Debug, Error)]
#[error("the replicator has stopped")]
pub struct Stopped;

/// Why a member could not start.
#[derive(Debug, Error)]
pub enum ReplicationError {
    #[error("{0}")]
    Store(#[from] StoreError),
    #[error("raft configuration: {0}")]
    Config(String),
    #[error("raft failed to start: {0}")]
    Start(String),
    #[error("{0}")]
    Snapshot(#[from] SnapshotError),
    #[error("{0}")]
    Inconsistent(String),
}

/// Why raft did not take an entry.
#[derive(Debug, Error)]
pub enum WriteError {
    /// This member does not lead (any more); `leader` is the one it knows of.
    #[error("not the leader (leader: {leader:?})")]
    NotLeader { leader: Option<NodeId> },
    /// Raft stopped: the log failed, or the server is shutting down.
    #[error("raft stopped: {0}")]
    Fatal(String),
}

impl From<RaftError<NodeId, ClientWriteError<NodeId, BasicNode>>> for WriteError {
    fn from(error: RaftError<NodeId, ClientWriteError<NodeId, BasicNode>>) -> Self {
        match error {
            RaftError::APIError(ClientWriteError::ForwardToLeader(forward)) => {
                WriteError::NotLeader { leader: forward.leader_id }
            }
            other => WriteError::Fatal(other.to_string()),
        }
    }
}
