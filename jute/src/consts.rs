//! The small enumerations of the protocol: event types, keeper states, create modes, watcher
//! types, addWatch modes and permission bits.

macro_rules! int_enum {
    ($(#[$emeta:meta])* $ename:ident { $( $(#[$meta:meta])* $name:ident = $value:expr ),* $(,)? }) => {
        $(#[$emeta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[repr(i32)]
        pub enum $ename { $( $(#[$meta])* $name = $value ),* }

        impl $ename {
            pub const ALL: &'static [$ename] = &[$($ename::$name),*];

            pub fn from_i32(value: i32) -> Option<$ename> {
                match value {
                    $( $value => Some($ename::$name), )*
                    _ => None,
                }
            }

            pub fn as_i32(self) -> i32 {
                self as i32
            }
        }
    };
}

int_enum!(
    /// WatcherEvent.type. The server sends only NodeCreated..NodeChildrenChanged.
    EventType {
        None = -1,
        NodeCreated = 1,
        NodeDeleted = 2,
        NodeDataChanged = 3,
        NodeChildrenChanged = 4,
        DataWatchRemoved = 5,
        ChildWatchRemoved = 6,
        PersistentWatchRemoved = 7,
    }
);

int_enum!(
    /// WatcherEvent.state. The server puts only SyncConnected in notifications.
    KeeperState {
        Unknown = -1,
        Disconnected = 0,
        NoSyncConnected = 1,
        SyncConnected = 3,
        AuthFailed = 4,
        ConnectedReadOnly = 5,
        SaslAuthenticated = 6,
        Closed = 7,
        Expired = -112,
    }
);

int_enum!(
    /// The `flags` field of a create request.
    CreateMode {
        Persistent = 0,
        Ephemeral = 1,
        PersistentSequential = 2,
        EphemeralSequential = 3,
        Container = 4,
        PersistentWithTtl = 5,
        PersistentSequentialWithTtl = 6,
    }
);

impl CreateMode {
    pub fn is_ephemeral(self) -> bool {
        matches!(self, CreateMode::Ephemeral | CreateMode::EphemeralSequential)
    }

    pub fn is_sequential(self) -> bool {
        matches!(
            self,
            CreateMode::PersistentSequential
                | CreateMode::EphemeralSequential
                | CreateMode::PersistentSequentialWithTtl
        )
    }

    pub fn is_ttl(self) -> bool {
        matches!(self, CreateMode::PersistentWithTtl | CreateMode::PersistentSequentialWithTtl)
    }
}

int_enum!(
    /// The `type` of checkWatches and removeWatches.
    WatcherType {
        Children = 1,
        Data = 2,
        Any = 3,
        Persistent = 4,
        PersistentRecursive = 5,
    }
);

int_enum!(
    /// The `mode` of addWatch.
    AddWatchMode {
        Persistent = 0,
        PersistentRecursive = 1,
    }
);

/// Permission bits of an ACL entry. The server does not validate the value.
pub mod perms {
    pub const READ: i32 = 1;
    pub const WRITE: i32 = 2;
    pub const CREATE: i32 = 4;
    pub const DELETE: i32 = 8;
    pub const ADMIN: i32 = 16;
    pub const ALL: i32 = READ | WRITE | CREATE | DELETE | ADMIN;
}
