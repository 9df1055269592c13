//! Txn and Entry: what a write becomes before it is replicated and applied. A txn carries
//! everything apply needs (the session, the caller's ids, the leader's clock via its entry),
//! so apply is a pure function of (state, entry).

use std::sync::Arc;

use jute::{CreateTtlRequest, DeleteRequest, Id, MultiOp, OpCode, SetAclRequest, SetDataRequest};

use crate::error::ZkError;
use crate::session::password::Password;

pub mod codec;
mod from_request;

pub use from_request::{route, Routed};

/// Which node and pending request a txn came from; only that node replies to it. The request
/// id's top 24 bits are the node's incarnation (how many times it has started), so a txn
/// proposed before a restart can never complete a request made after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Origin {
    pub node_id: u64,
    pub request_id: u64,
}

/// One client write (or server job) as it enters the log.
#[derive(Debug, Clone)]
pub struct Txn {
    pub session_id: i64,
    /// `None` for server jobs (expiry, reaping) that no one waits on.
    pub origin: Option<Origin>,
    /// The connection's ids when the request arrived, for ACL checks at apply.
    pub auth: Arc<Vec<Id>>,
    pub op: TxnOp,
}

#[derive(Debug, Clone)]
pub enum TxnOp {
    /// Registers a new session with its negotiated timeout.
    CreateSession {
        timeout_ms: i32,
        /// Chosen by the server that accepted the connection (see `SessionEntry::passwd`).
        passwd: Option<Password>,
    },
    /// The session's client reconnected to the member that proposed this (its origin): that
    /// member owns the session from now on. Takes no zxid, as ZooKeeper's revalidation is no
    /// txn at all.
    MoveSession,
    /// closeSession from the client, or expiry: deletes the session's ephemerals.
    CloseSession,
    /// create, create2, createContainer and createTTL (ttl is -1 for the non-TTL opcodes).
    Create {
        op: OpCode,
        request: CreateTtlRequest,
    },
    Delete(DeleteRequest),
    SetData(SetDataRequest),
    SetAcl(SetAclRequest),
    Multi(Vec<MultiOp>),
    /// A no-op through the log: its reply proves every earlier write is applied here.
    Sync {
        path: String,
    },
    /// The container/TTL reaper's delete of an empty container or an expired TTL node.
    Reap {
        path: String,
    },
    /// A part of the AdminServer's `restore`: the parts of one restore, in order, carry a
    /// ZooKeeper snapshot; the last replaces the tree and sessions with the snapshot's.
    Restore(RestorePart),
    /// A write refused before it could become an op (unparsable body, reconfig on a
    /// standalone server): it still consumes a zxid, as in ZooKeeper.
    Fail(ZkError),
}

impl TxnOp {
    /// The last part of a restore: applying it replaces the state.
    pub fn completes_restore(&self) -> bool {
        matches!(self, TxnOp::Restore(part) if part.is_last())
    }

    /// True when applying it consumes a zxid: all but sync, session moves and the parts of a
    /// restore before its last.
    pub fn consumes_zxid(&self) -> bool {
        match self {
            TxnOp::Sync { .. } | TxnOp::MoveSession => false,
            TxnOp::Restore(part) => part.is_last(),
            _ => true,
        }
    }
}

/// One part of a ZooKeeper snapshot file being restored. A snapshot travels in parts of at
/// most `RESTORE_PART_BYTES`, each its own txn, so that no log entry is larger than an
/// ordinary write's and each reaches the other members within a heartbeat.
#[derive(Clone, PartialEq, Eq)]
pub struct RestorePart {
    /// Chosen by the member that takes the restore; every part of it carries it.
    pub id: i64,
    /// Where `bytes` start in the snapshot, and the snapshot's whole length.
    pub offset: i64,
    pub total: i64,
    /// Shared, not copied, as the txn moves through the server.
    pub bytes: Arc<[u8]>,
}

/// The most bytes of a snapshot one restore txn carries.
pub const RESTORE_PART_BYTES: usize = 1 << 20;

impl RestorePart {
    /// The part that completes the snapshot: applying it restores.
    pub fn is_last(&self) -> bool {
        self.offset.saturating_add(self.bytes.len() as i64) == self.total
    }
}

impl std::fmt::Debug for RestorePart {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (id, offset, total, len) = (self.id, self.offset, self.total, self.bytes.len());
        write!(f, "RestorePart({id:#x}: {len} bytes at {offset} of {total})")
    }
}

/// A batch of txns replicated as one unit, stamped with the proposer's wall clock.
#[derive(Debug, Clone)]
pub struct Entry {
    pub time_ms: i64,
    pub txns: Vec<Txn>,
}
