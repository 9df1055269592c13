//! ZkError: every failure a client can be told about, and the one place where each becomes a
//! ZooKeeper error code.

use jute::ErrorCode;
use thiserror::Error;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum ZkError {
    #[error("the node does not exist")]
    NoNode,
    #[error("the node already exists")]
    NodeExists,
    #[error("the expected version does not match")]
    BadVersion,
    #[error("the node has children")]
    NotEmpty,
    #[error("ephemeral nodes may not have children")]
    NoChildrenForEphemerals,
    #[error("not authorised")]
    NoAuth,
    #[error("invalid ACL")]
    InvalidAcl,
    #[error("bad arguments")]
    BadArguments,
    #[error("the session has expired or is closing")]
    SessionExpired,
    #[error("the session moved to another server")]
    SessionMoved,
    #[error("the request could not be parsed")]
    Marshalling,
    #[error("not implemented by this server")]
    Unimplemented,
    #[error("no such watcher")]
    NoWatcher,
    #[error("authentication failed")]
    AuthFailed,
    #[error("reconfig is disabled")]
    ReconfigDisabled,
    #[error("a hard quota would be exceeded")]
    QuotaExceeded,
    #[error("an earlier op of this multi failed")]
    RuntimeInconsistency,
    #[error("a SASL-authenticated session is required")]
    SessionClosedRequireSaslAuth,
    /// A read whose reply would pass the connection's byte bound (`corral.clientQueueMaxBytes`):
    /// the connection is closed rather than the reply built. Never sent as a code.
    #[error("the reply would pass the connection's byte bound")]
    ReplyTooLarge,
}

impl ZkError {
    /// The only translation from corral's errors to ZooKeeper's numbers.
    pub fn code(self) -> ErrorCode {
        match self {
            ZkError::NoNode => ErrorCode::NoNode,
            ZkError::NodeExists => ErrorCode::NodeExists,
            ZkError::BadVersion => ErrorCode::BadVersion,
            ZkError::NotEmpty => ErrorCode::NotEmpty,
            ZkError::NoChildrenForEphemerals => ErrorCode::NoChildrenForEphemerals,
            ZkError::NoAuth => ErrorCode::NoAuth,
            ZkError::InvalidAcl => ErrorCode::InvalidAcl,
            ZkError::BadArguments => ErrorCode::BadArguments,
            ZkError::SessionExpired => ErrorCode::SessionExpired,
            ZkError::SessionMoved => ErrorCode::SessionMoved,
            ZkError::Marshalling => ErrorCode::MarshallingError,
            ZkError::Unimplemented => ErrorCode::Unimplemented,
            ZkError::NoWatcher => ErrorCode::NoWatcher,
            ZkError::AuthFailed => ErrorCode::AuthFailed,
            ZkError::ReconfigDisabled => ErrorCode::ReconfigDisabled,
            ZkError::QuotaExceeded => ErrorCode::QuotaExceeded,
            ZkError::RuntimeInconsistency => ErrorCode::RuntimeInconsistency,
            ZkError::SessionClosedRequireSaslAuth => ErrorCode::SessionClosedRequireSaslAuth,
            // Closes the connection; were it ever sent, it would be the request's fault.
            ZkError::ReplyTooLarge => ErrorCode::MarshallingError,
        }
    }

    pub fn as_i32(self) -> i32 {
        self.code().as_i32()
    }

    /// The error a code stands for, for reading failed txns back from the log.
    pub fn from_code(code: i32) -> Option<ZkError> {
        ALL.iter().copied().find(|e| e.as_i32() == code)
    }
}

const ALL: [ZkError; 18] = [
    ZkError::NoNode,
    ZkError::NodeExists,
    ZkError::BadVersion,
    ZkError::NotEmpty,
    ZkError::NoChildrenForEphemerals,
    ZkError::NoAuth,
    ZkError::InvalidAcl,
    ZkError::BadArguments,
    ZkError::SessionExpired,
    ZkError::SessionMoved,
    ZkError::Marshalling,
    ZkError::Unimplemented,
    ZkError::NoWatcher,
    ZkError::AuthFailed,
    ZkError::ReconfigDisabled,
    ZkError::QuotaExceeded,
    ZkError::RuntimeInconsistency,
    ZkError::SessionClosedRequireSaslAuth,
];

/// What a request produces: a response body, or an error (sent as a header alone).
pub type ZkResult<T> = Result<T, ZkError>;
