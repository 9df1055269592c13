//! A tree, a session and a clock for the ops' unit tests.

use jute::{Acl, Id};

use super::{ApplyConfig, Changes, WriteCtx};
use crate::error::ZkResult;
use crate::session::{SessionEntry, SessionTable};
use crate::tree::acl::open_acl;
use crate::tree::DataTree;
use crate::watch::WatchTrigger;

pub const SESSION: i64 = 0x0100_0000_0000_0001;

pub struct Fixture {
    pub tree: DataTree,
    pub sessions: SessionTable,
    pub config: ApplyConfig,
    pub auth: Vec<Id>,
    pub zxid: i64,
    pub time_ms: i64,
    pub triggers: Vec<WatchTrigger>,
}

pub fn open() -> Vec<Acl> {
    open_acl()
}

impl Default for Fixture {
    fn default() -> Self {
        Fixture::new()
    }
}

impl Fixture {
    pub fn new() -> Self {
        let mut sessions = SessionTable::default();
        sessions.insert(SESSION, SessionEntry { timeout_ms: 30_000, passwd: None, owner: None });
        Fixture {
            tree: DataTree::new(),
            sessions,
            config: ApplyConfig::default(),
            auth: vec![Id::new("ip", "127.0.0.1")],
            zxid: 0,
            time_ms: 1_000,
            triggers: Vec::new(),
        }
    }

    /// Runs one write as apply would: a fresh zxid, rolled back on error.
    pub fn write<T>(
        &mut self,
        f: impl FnOnce(&mut DataTree, &WriteCtx, &mut Changes) -> ZkResult<T>,
    ) -> ZkResult<T> {
        self.zxid += 1;
        self.time_ms += 10;
        let ctx = WriteCtx {
            zxid: self.zxid,
            time_ms: self.time_ms,
            session_id: SESSION,
            auth: &self.auth,
            config: &self.config,
            sessions: &self.sessions,
            origin_member: None,
        };
        let mut changes = Changes::default();
        let result = f(&mut self.tree, &ctx, &mut changes);
        match result {
            Ok(_) => self.triggers = changes.triggers,
            Err(_) => changes.roll_back(&mut self.tree),
        }
        result
    }
}
