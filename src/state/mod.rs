//! ZkState: the replicated state machine's data (the tree, the sessions, the last zxid) and
//! `apply`, a pure function of (state, entry): it computes zxids, runs each txn's op, and
//! returns replies and watch triggers. It never reads the clock or does I/O.

use jute::Response;

use crate::error::ZkError;
use crate::error::ZkResult;
use crate::ops::{self, ApplyConfig, Changes, WriteCtx};
use crate::session::password::Password;
use crate::session::{SessionEntry, SessionTable};
use crate::tree::digest::DigestLog;
use crate::tree::DataTree;
use crate::txn::{Entry, Origin, RestorePart, Txn, TxnOp};
use crate::watch::WatchTrigger;

pub mod codec;
#[cfg(test)]
mod digest_check;
pub mod restore;

#[derive(Debug, Clone, Default)]
pub struct ZkState {
    pub tree: DataTree,
    pub sessions: SessionTable,
    /// The zxid of the last applied transaction.
    pub last_zxid: i64,
    /// The tree's digest at recent multiples of 128 zxids (`hash`); derived, not persisted.
    pub digests: DigestLog,
    /// The parts of a restore applied so far, until its last.
    pub restoring: Option<restore::StagedRestore>,
}

/// A session-level consequence of a txn that the node must act on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    None,
    SessionCreated {
        session_id: i64,
        timeout_ms: i32,
        passwd: Option<Password>,
        owner: Option<u64>,
    },
    SessionMoved {
        session_id: i64,
        owner: Option<u64>,
    },
    SessionClosed {
        session_id: i64,
    },
    /// The tree and sessions were replaced (a restore): the node tracks the new sessions and
    /// disconnects its clients, whose watches no longer match the tree.
    Restored,
}

/// The outcome of one txn.
#[derive(Debug)]
pub struct Applied {
    pub origin: Option<Origin>,
    pub session_id: i64,
    /// The txn's zxid (for sync, the last zxid before it).
    pub zxid: i64,
    pub result: ZkResult<Response>,
    pub triggers: Vec<WatchTrigger>,
    pub effect: Effect,
}

impl ZkState {
    /// Starts a new zxid epoch (epoch << 32 | counter), as each new leader does.
    pub fn start_epoch(&mut self) {
        self.last_zxid = ((self.last_zxid >> 32) + 1) << 32;
        // A restore the old leader did not finish cannot be finished: its member's next
        // part is refused.
        self.restoring = None;
    }

    /// Applies every txn of an entry in order.
    pub fn apply(&mut self, entry: &Entry, config: &ApplyConfig) -> Vec<Applied> {
        self.expire_restore(entry.time_ms);
        entry.txns.iter().map(|txn| self.apply_txn(txn, entry.time_ms, config)).collect()
    }

    fn apply_txn(&mut self, txn: &Txn, time_ms: i64, config: &ApplyConfig) -> Applied {
        if let TxnOp::Restore(part) = &txn.op {
            return self.apply_restore(txn, part, time_ms);
        }
        if txn.op.consumes_zxid() {
            self.last_zxid += 1;
        }
        let ctx = WriteCtx {
            zxid: self.last_zxid,
            time_ms,
            session_id: txn.session_id,
            auth: &txn.auth,
            config,
            sessions: &self.sessions,
            origin_member: txn.origin.map(|o| o.node_id),
        };
        let mut changes = Changes::default();
        let mut effect = Effect::None;
        let tree = &mut self.tree;
        let result = match &txn.op {
            TxnOp::CreateSession { timeout_ms, passwd } => {
                let (session_id, timeout_ms, passwd) = (txn.session_id, *timeout_ms, *passwd);
                let owner = ctx.origin_member;
                effect = Effect::SessionCreated { session_id, timeout_ms, passwd, owner };
                Ok(Response::Empty)
            }
            TxnOp::MoveSession => match ctx.sessions.contains(txn.session_id) {
                true => {
                    let (session_id, owner) = (txn.session_id, ctx.origin_member);
                    effect = Effect::SessionMoved { session_id, owner };
                    Ok(Response::Empty)
                }
                false => Err(ZkError::SessionExpired),
            },
            TxnOp::CloseSession => {
                if ctx.sessions.contains(txn.session_id) {
                    close_session(tree, &mut changes, txn.session_id, ctx.zxid);
                    effect = Effect::SessionClosed { session_id: txn.session_id };
                }
                Ok(Response::Empty)
            }
            TxnOp::Create { op, request } => {
                ops::create::apply(tree, &ctx, &mut changes, *op, request)
            }
            TxnOp::Delete(r) => {
                ops::delete::apply(tree, &ctx, &mut changes, r).map(|()| Response::Empty)
            }
            TxnOp::SetData(r) => ops::set_data::apply(tree, &ctx, &mut changes, r),
            TxnOp::SetAcl(r) => ops::set_acl::apply(tree, &ctx, &mut changes, r),
            TxnOp::Multi(list) => Ok(ops::multi::apply(tree, &ctx, &mut changes, list)),
            TxnOp::Sync { path } => {
                Ok(Response::Sync(jute::SyncResponse { path: path.as_str().into() }))
            }
            TxnOp::Reap { path } => {
                ops::reap::apply(tree, &ctx, &mut changes, path).map(|()| Response::Empty)
            }
            TxnOp::Fail(err) => Err(*err),
            TxnOp::Restore(_) => unreachable!("applied by apply_restore"),
        };
        if result.is_err() {
            changes.roll_back(&mut self.tree);
            changes = Changes::default();
        }
        self.apply_effect(effect);
        self.outcome(txn, result, changes.triggers, effect)
    }

    /// The txn's outcome at the zxid it left; one that took a zxid logs the tree's digest.
    fn outcome(
        &mut self,
        txn: &Txn,
        result: ZkResult<Response>,
        triggers: Vec<WatchTrigger>,
        effect: Effect,
    ) -> Applied {
        if txn.op.consumes_zxid() {
            self.digests.record(self.last_zxid, self.tree.digest());
        }
        let (origin, session_id, zxid) = (txn.origin, txn.session_id, self.last_zxid);
        Applied { origin, session_id, zxid, result, triggers, effect }
    }

    /// A part of a restore: staged; the last replaces the whole state, at a zxid of its own.
    fn apply_restore(&mut self, txn: &Txn, part: &RestorePart, time_ms: i64) -> Applied {
        if part.is_last() {
            self.last_zxid += 1;
        }
        let (result, effect) = self.restore_part(part, time_ms);
        self.outcome(txn, result, Vec::new(), effect)
    }

    fn apply_effect(&mut self, effect: Effect) {
        match effect {
            Effect::SessionCreated { session_id, timeout_ms, passwd, owner } => {
                self.sessions.insert(session_id, SessionEntry { timeout_ms, passwd, owner });
            }
            Effect::SessionMoved { session_id, owner } => {
                if let Some(entry) = self.sessions.get(session_id) {
                    self.sessions.insert(session_id, SessionEntry { owner, ..*entry });
                }
            }
            Effect::SessionClosed { session_id } => {
                self.sessions.remove(session_id);
            }
            Effect::Restored | Effect::None => {}
        }
    }
}

/// Deletes a closing session's ephemerals at the closing txn's zxid, in path order.
fn close_session(tree: &mut DataTree, changes: &mut Changes, session_id: i64, zxid: i64) {
    // The index is sorted, so every node deletes in the same order.
    let paths: Vec<String> = tree.ephemerals(session_id).cloned().collect();
    for path in paths {
        ops::delete::remove(tree, changes, &path, zxid);
    }
}
