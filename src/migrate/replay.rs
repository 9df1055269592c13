//! Replays ZooKeeper's logged txns onto a state loaded from its snapshot, with ZooKeeper's
//! own restore rules (`FileTxnSnapLog.processTransaction`, `DataTree.processTxn`): errors are
//! ignored (the snapshot is fuzzy, so a txn may already be in it), versions are the logged
//! ones, a multi holding an error applies nothing, and quota usage follows every change.

use super::txnlog::{Create, CreateKind, LoggedTxn, ZkTxn};
use crate::session::password::zookeeper_password;
use crate::session::SessionEntry;
use crate::state::ZkState;
use crate::tree::{path, quota, DataTree, NewNode, NodeKind};

/// Applies one logged txn; its zxid becomes the state's.
pub fn apply(state: &mut ZkState, logged: &LoggedTxn) {
    let h = &logged.header;
    match &logged.txn {
        ZkTxn::CreateSession { timeout_ms } => {
            let passwd = Some(zookeeper_password(h.client_id));
            let entry = SessionEntry { timeout_ms: *timeout_ms, passwd, owner: None };
            state.sessions.insert(h.client_id, entry);
        }
        ZkTxn::CloseSession { paths } => {
            state.sessions.remove(h.client_id);
            close_session(&mut state.tree, h.client_id, paths.as_deref(), h.zxid);
        }
        txn => apply_to_tree(&mut state.tree, txn, h.client_id, h.zxid, h.time),
    }
    state.last_zxid = state.last_zxid.max(h.zxid);
}

fn apply_to_tree(tree: &mut DataTree, txn: &ZkTxn, session: i64, zxid: i64, time: i64) {
    match txn {
        ZkTxn::Create(create) => apply_create(tree, create, session, zxid, time),
        ZkTxn::Delete { path } => delete(tree, path, zxid),
        ZkTxn::SetData { path, data, version } => {
            if let Some(before) = tree.replay_set_data(path, data.clone(), *version, zxid, time) {
                let after = data.as_ref().map_or(0, Vec::len);
                quota::account(tree, path, 0, after as i64 - before as i64);
            }
        }
        ZkTxn::SetAcl { path, acl, version } => {
            tree.replay_set_acl(path, acl.clone(), *version);
        }
        ZkTxn::Multi(parts) => {
            // A multi that failed was logged with its error: ZooKeeper applies none of it.
            if !parts.iter().any(|p| matches!(p, ZkTxn::Error { .. })) {
                for part in parts {
                    apply_to_tree(tree, part, session, zxid, time);
                }
            }
        }
        ZkTxn::Check | ZkTxn::Error { .. } => {}
        ZkTxn::CreateSession { .. } | ZkTxn::CloseSession { .. } => {}
    }
}

fn apply_create(tree: &mut DataTree, c: &Create, session: i64, zxid: i64, time: i64) {
    let Some(parent) =
        path::parent(&c.path).filter(|p| path::validate(&c.path) && tree.contains(p))
    else {
        return;
    };
    if tree.contains(&c.path) {
        // A create the fuzzy snapshot already holds: a plain create still raises its parent.
        if c.txn_type == jute::proto::persistence::txn_type::CREATE {
            tree.raise_cversion(parent, c.parent_cversion, zxid);
        }
        return;
    }
    let kind = match c.kind {
        CreateKind::Persistent => NodeKind::Persistent,
        CreateKind::Ephemeral => NodeKind::Ephemeral(session),
        CreateKind::Container => NodeKind::Container,
        CreateKind::Ttl(ms) => NodeKind::Ttl(ms),
    };
    let new = NewNode { data: c.data.clone(), acl: tree.intern_acl(c.acl.clone()), kind };
    tree.replay_create(&c.path, new, c.parent_cversion, zxid, time);
    if let Some((quota_path, true)) = quota::quota_of(&c.path) {
        quota::reset_usage(tree, quota_path);
    }
    let bytes = c.data.as_ref().map_or(0, Vec::len) as i64;
    quota::account(tree, &c.path, 1, bytes);
}

fn delete(tree: &mut DataTree, p: &str, zxid: i64) {
    if let Some((count, bytes)) = tree.replay_delete(p, zxid) {
        quota::account(tree, p, -count, -bytes);
    }
}

/// A closing session's ephemerals: those the txn names, then any others it still owns.
fn close_session(tree: &mut DataTree, session: i64, named: Option<&[String]>, zxid: i64) {
    for p in named.unwrap_or_default() {
        delete(tree, p, zxid);
    }
    let rest: Vec<String> = tree.ephemerals(session).cloned().collect();
    for p in rest {
        delete(tree, &p, zxid);
    }
}

/// What ZooKeeper does once its database is loaded: the ephemerals of sessions it no longer
/// knows are deleted, at the last zxid.
pub fn drop_dead_ephemerals(state: &mut ZkState) -> usize {
    let dead: Vec<i64> = state
        .tree
        .sessions_with_ephemerals()
        .map(|(session, _)| *session)
        .filter(|session| !state.sessions.contains(*session))
        .collect();
    let zxid = state.last_zxid;
    for session in &dead {
        close_session(&mut state.tree, *session, None, zxid);
    }
    dead.len()
}

/// ZooKeeper recomputes every quota's usage when it loads a snapshot.
pub fn recompute_quotas(tree: &mut DataTree) {
    let quotas: Vec<String> = tree
        .paths()
        .filter_map(|p| quota::quota_of(p).filter(|(_, stats)| !stats).map(|(q, _)| q.to_owned()))
        .collect();
    for q in quotas {
        quota::reset_usage(tree, &q);
    }
}
