//! The records of ZooKeeper's data directory (`version-2/snapshot.*` and `log.*`): file
//! headers, the persisted Stat, and each transaction as the server logs it. Bytes only; what
//! they mean to a tree is the server's business.

use crate::proto::data::Acl;
use crate::{record, Buffer, JString};

/// `ZKSN`: the first four bytes of a snapshot file.
pub const SNAPSHOT_MAGIC: i32 = 0x5a4b_534e;
/// `ZKLG`: the first four bytes of a transaction log file.
pub const TXN_LOG_MAGIC: i32 = 0x5a4b_4c47;
/// The only file format version ZooKeeper 3.x writes.
pub const FILE_VERSION: i32 = 2;
/// The byte that ends every log record (`B`).
pub const END_OF_RECORD: u8 = 0x42;

/// Transaction types as the log stores them (ZooKeeper's OpCode numbers).
pub mod txn_type {
    pub const CREATE: i32 = 1;
    pub const DELETE: i32 = 2;
    pub const SET_DATA: i32 = 5;
    pub const SET_ACL: i32 = 7;
    pub const CHECK: i32 = 13;
    pub const MULTI: i32 = 14;
    pub const CREATE2: i32 = 15;
    pub const RECONFIG: i32 = 16;
    pub const CREATE_CONTAINER: i32 = 19;
    pub const DELETE_CONTAINER: i32 = 20;
    pub const CREATE_TTL: i32 = 21;
    pub const CREATE_SESSION: i32 = -10;
    pub const CLOSE_SESSION: i32 = -11;
    pub const ERROR: i32 = -1;
}

record! {
    /// The header of every snapshot and log file.
    pub struct FileHeader {
        pub magic: i32,
        pub version: i32,
        pub dbid: i64,
    }
}

record! {
    /// What every logged transaction starts with.
    pub struct TxnHeader {
        pub client_id: i64,
        pub cxid: i32,
        pub zxid: i64,
        pub time: i64,
        pub txn_type: i32,
    }
}

record! {
    /// The tree digest ZooKeeper 3.6+ appends to a logged transaction.
    pub struct TxnDigest {
        pub version: i32,
        pub tree_digest: i64,
    }
}

record! {
    pub struct CreateTxn {
        pub path: JString,
        pub data: Buffer,
        pub acl: Vec<Acl>,
        pub ephemeral: bool,
        pub parent_cversion: i32,
    }
}

record! {
    /// A create logged by ZooKeeper before 3.3, without the parent's cversion.
    pub struct CreateTxnV0 {
        pub path: JString,
        pub data: Buffer,
        pub acl: Vec<Acl>,
        pub ephemeral: bool,
    }
}

record! {
    pub struct CreateContainerTxn {
        pub path: JString,
        pub data: Buffer,
        pub acl: Vec<Acl>,
        pub parent_cversion: i32,
    }
}

record! {
    pub struct CreateTtlTxn {
        pub path: JString,
        pub data: Buffer,
        pub acl: Vec<Acl>,
        pub parent_cversion: i32,
        pub ttl: i64,
    }
}

record! {
    pub struct DeleteTxn {
        pub path: JString,
    }
}

record! {
    pub struct SetDataTxn {
        pub path: JString,
        pub data: Buffer,
        pub version: i32,
    }
}

record! {
    pub struct SetAclTxn {
        pub path: JString,
        pub acl: Vec<Acl>,
        pub version: i32,
    }
}

record! {
    pub struct CheckVersionTxn {
        pub path: JString,
        pub version: i32,
    }
}

record! {
    pub struct CreateSessionTxn {
        pub time_out: i32,
    }
}

record! {
    /// The ephemerals a closing session deletes (ZooKeeper 3.6+; older logs have no body).
    pub struct CloseSessionTxn {
        pub paths_to_delete: Vec<JString>,
    }
}

record! {
    pub struct ErrorTxn {
        pub err: i32,
    }
}

record! {
    /// One transaction inside a multi: its type and its record's bytes.
    pub struct MultiTxnPart {
        pub txn_type: i32,
        pub data: Buffer,
    }
}

record! {
    pub struct MultiTxn {
        pub txns: Vec<MultiTxnPart>,
    }
}
