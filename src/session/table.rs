//! SessionTable: the replicated record of live sessions (created and closed by txns), so any
//! node can accept a reconnect and a restart keeps them.

use imbl::OrdMap;

use super::password::Password;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionEntry {
    /// The timeout negotiated when the session was created, in ms.
    pub timeout_ms: i32,
    /// Its password, chosen by the server that created it and replicated with it, so any
    /// member accepts a reconnect. `None` for sessions logged before passwords were
    /// replicated: their creating server derives them (`PasswordKey`).
    pub passwd: Option<Password>,
    /// The member its client is connected to (ZooKeeper's session owner): set when the
    /// session is created and when it reconnects to another member; a write from any other
    /// member is SESSIONMOVED. `None` for sessions logged before owners were.
    pub owner: Option<u64>,
}

#[derive(Debug, Clone, Default)]
pub struct SessionTable {
    /// Persistent, so a snapshot's copy is O(1).
    sessions: OrdMap<i64, SessionEntry>,
}

impl SessionTable {
    pub fn insert(&mut self, id: i64, entry: SessionEntry) {
        self.sessions.insert(id, entry);
    }

    pub fn remove(&mut self, id: i64) -> Option<SessionEntry> {
        self.sessions.remove(&id)
    }

    pub fn get(&self, id: i64) -> Option<&SessionEntry> {
        self.sessions.get(&id)
    }

    pub fn contains(&self, id: i64) -> bool {
        self.sessions.contains_key(&id)
    }

    pub fn len(&self) -> usize {
        self.sessions.len()
    }

    pub fn is_empty(&self) -> bool {
        self.sessions.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = (&i64, &SessionEntry)> {
        self.sessions.iter()
    }
}
