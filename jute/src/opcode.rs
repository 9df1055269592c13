//! ZooKeeper's request type numbers (ZooDefs.OpCode) and the reserved xids.

/// Reserved request/reply xids.
pub mod xid {
    /// A watch notification (server to client only).
    pub const NOTIFICATION: i32 = -1;
    /// A ping and its reply.
    pub const PING: i32 = -2;
    /// An auth packet from the Java and C clients.
    pub const AUTH: i32 = -4;
    /// SetWatches from the C client and zookeeper-client-rust.
    pub const SET_WATCHES: i32 = -8;
}

macro_rules! opcodes {
    ($( $(#[$meta:meta])* $name:ident = $value:expr ),* $(,)?) => {
        /// A request type. `from_i32` knows every number ZooKeeper defines.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[repr(i32)]
        pub enum OpCode { $( $(#[$meta])* $name = $value ),* }

        impl OpCode {
            pub const ALL: &'static [OpCode] = &[$(OpCode::$name),*];

            pub fn from_i32(value: i32) -> Option<OpCode> {
                match value {
                    $( $value => Some(OpCode::$name), )*
                    _ => None,
                }
            }
        }
    };
}

opcodes! {
    Notification = 0,
    Create = 1,
    Delete = 2,
    Exists = 3,
    GetData = 4,
    SetData = 5,
    GetAcl = 6,
    SetAcl = 7,
    GetChildren = 8,
    Sync = 9,
    Ping = 11,
    GetChildren2 = 12,
    /// Valid only inside a multi.
    Check = 13,
    Multi = 14,
    Create2 = 15,
    Reconfig = 16,
    CheckWatches = 17,
    RemoveWatches = 18,
    CreateContainer = 19,
    /// Internal: the container and TTL reaper's delete.
    DeleteContainer = 20,
    CreateTtl = 21,
    MultiRead = 22,
    Auth = 100,
    SetWatches = 101,
    Sasl = 102,
    GetEphemerals = 103,
    GetAllChildrenNumber = 104,
    SetWatches2 = 105,
    AddWatch = 106,
    WhoAmI = 107,
    CreateSession = -10,
    CloseSession = -11,
    /// The type of an error transaction and of a multi's error result.
    Error = -1,
}

impl OpCode {
    pub fn as_i32(self) -> i32 {
        self as i32
    }
}
