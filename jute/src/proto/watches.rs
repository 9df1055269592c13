//! Watch records: the notification itself and the requests that register, re-register, check
//! and remove watches.

use crate::{record, JString};

record! {
    /// The body of a notification (xid -1).
    pub struct WatcherEvent {
        pub event_type: i32,
        pub state: i32,
        pub path: JString,
    }
}

record! {
    /// Re-registers one-shot watches after a reconnect (101).
    pub struct SetWatches {
        pub relative_zxid: i64,
        pub data_watches: Vec<JString>,
        pub exist_watches: Vec<JString>,
        pub child_watches: Vec<JString>,
    }
}

record! {
    /// SetWatches with persistent watches (105).
    pub struct SetWatches2 {
        pub relative_zxid: i64,
        pub data_watches: Vec<JString>,
        pub exist_watches: Vec<JString>,
        pub child_watches: Vec<JString>,
        pub persistent_watches: Vec<JString>,
        pub persistent_recursive_watches: Vec<JString>,
    }
}

record! {
    /// checkWatches (17) and removeWatches (18); `watcher_type` is a WatcherType.
    pub struct WatchesRequest {
        pub path: JString,
        pub watcher_type: i32,
    }
}

record! {
    /// addWatch (106); `mode` is an AddWatchMode.
    pub struct AddWatchRequest {
        pub path: JString,
        pub mode: i32,
    }
}
