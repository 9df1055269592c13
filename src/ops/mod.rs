//! One file per operation: how each write applies to the tree (called from the pure apply in
//! `state`) and how each read runs against it (called by the session layer under the read
//! lock). Every check runs in ZooKeeper's order, so the first failing check decides the error.

pub mod create;
pub mod delete;
pub mod multi;
pub mod reads;
pub mod reap;
pub mod set_acl;
pub mod set_data;
pub mod watches;

#[cfg(test)]
pub mod test_support;

use std::sync::Arc;

use jute::{Acl, EventType, Id};

use crate::error::{ZkError, ZkResult};
use crate::session::SessionTable;
use crate::tree::acl::{permits, AclPolicy};
use crate::tree::{DataNode, DataTree, Undo};
use crate::watch::WatchTrigger;

/// Settings that change what apply does; identical on every node.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ApplyConfig {
    pub acl: AclPolicy,
    /// `extendedTypesEnabled`: createTTL is allowed.
    pub extended_types: bool,
    /// `enforceQuota`: hard quota limits refuse writes with QUOTAEXCEEDED.
    pub enforce_quota: bool,
}

/// What a write op sees while it applies: its zxid, the leader's clock, its session, and the
/// caller's ids.
pub struct WriteCtx<'a> {
    pub zxid: i64,
    pub time_ms: i64,
    pub session_id: i64,
    pub auth: &'a [Id],
    pub config: &'a ApplyConfig,
    pub sessions: &'a SessionTable,
    /// The member the txn came from; `None` for a server job (expiry, reaping).
    pub origin_member: Option<u64>,
}

impl WriteCtx<'_> {
    /// ZooKeeper's checkSession: a write from a session that is gone is SESSIONEXPIRED; one
    /// sent through a member that no longer owns the session is SESSIONMOVED.
    pub fn check_session(&self) -> ZkResult<()> {
        let entry = self.sessions.get(self.session_id).ok_or(ZkError::SessionExpired)?;
        match (entry.owner, self.origin_member) {
            (Some(owner), Some(from)) if owner != from => Err(ZkError::SessionMoved),
            _ => Ok(()),
        }
    }

    pub fn check_perm(&self, acl: &[Acl], perm: i32) -> ZkResult<()> {
        check_perm(&self.config.acl, acl, self.auth, perm)
    }
}

pub fn check_perm(policy: &AclPolicy, acl: &[Acl], ids: &[Id], perm: i32) -> ZkResult<()> {
    if permits(policy, acl, ids, perm) {
        Ok(())
    } else {
        Err(ZkError::NoAuth)
    }
}

/// Mutations made so far by one txn, and the watch events they raise.
#[derive(Default)]
pub struct Changes {
    pub undo: Vec<Undo>,
    pub triggers: Vec<WatchTrigger>,
}

impl Changes {
    pub fn record(&mut self, undo: Undo) {
        self.undo.push(undo);
    }

    pub fn record_opt(&mut self, undo: Option<Undo>) {
        self.undo.extend(undo);
    }

    pub fn trigger(&mut self, path: &str, event: EventType, acl: &Arc<Vec<Acl>>) {
        self.triggers.push(WatchTrigger { path: path.to_owned(), event, acl: acl.clone() });
    }

    /// Rolls every mutation back, newest first, and forgets the events.
    pub fn roll_back(self, tree: &mut DataTree) {
        for undo in self.undo.into_iter().rev() {
            tree.undo(undo);
        }
    }
}

pub fn node<'t>(tree: &'t DataTree, path: &str) -> ZkResult<&'t DataNode> {
    tree.get(path).ok_or(ZkError::NoNode)
}

/// Expected version -1 means "don't check".
pub fn check_version(expected: i32, actual: i32) -> ZkResult<()> {
    if expected == -1 || expected == actual {
        Ok(())
    } else {
        Err(ZkError::BadVersion)
    }
}

/// The cheap part of ZooKeeper's path checks for create and delete: a `/` somewhere, no NUL.
/// Returns the parent path (the root for top-level nodes).
pub fn parent_of(path: &str) -> ZkResult<&str> {
    if path.contains('\0') {
        return Err(ZkError::BadArguments);
    }
    match path.rfind('/') {
        None => Err(ZkError::BadArguments),
        Some(0) => Ok("/"),
        Some(cut) => Ok(&path[..cut]),
    }
}

pub fn validate_path(path: &str) -> ZkResult<()> {
    if crate::tree::path::validate(path) {
        Ok(())
    } else {
        Err(ZkError::BadArguments)
    }
}
