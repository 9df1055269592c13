//! The reads: exists, getData, getChildren(2), getACL, getAllChildrenNumber, getEphemerals and
//! multiRead. Each returns its reply and the watch to register, which the caller adds under the
//! same lock, so no change can fall between the read and the watch.

use jute::{
    perms, GetAclResponse, GetAllChildrenNumberResponse, GetChildren2Response, GetChildrenResponse,
    GetDataResponse, GetEphemeralsResponse, Id, JString, MultiOp, MultiResponse, MultiResult,
    PathRequest, PathWatchRequest, Response, StatResponse,
};

use super::{check_perm, node};
use crate::error::{ZkError, ZkResult};
use crate::tree::acl::{permits, redact_digests, AclPolicy};
use crate::tree::DataTree;
use crate::watch::WatchKind;

/// What a read needs: the tree, the ACL policy and the caller's ids and session.
pub struct ReadCtx<'a> {
    pub tree: &'a DataTree,
    pub policy: &'a AclPolicy,
    pub ids: &'a [Id],
    pub session_id: i64,
    /// The largest reply the connection can still queue; a multiRead stops building its
    /// reply past it (each of its getData ops copies a node's data).
    pub max_reply_bytes: usize,
}

/// A read's reply and the watch it leaves behind, if any.
pub struct ReadOutcome {
    pub result: ZkResult<Response>,
    pub watch: Option<(String, WatchKind)>,
}

impl ReadOutcome {
    fn new(result: ZkResult<Response>, watch: bool, path: &str, kind: WatchKind) -> Self {
        let watch = watch.then(|| (path.to_owned(), kind));
        ReadOutcome { result, watch }
    }

    fn plain(result: ZkResult<Response>) -> Self {
        ReadOutcome { result, watch: None }
    }
}

fn readable<'t>(ctx: &ReadCtx<'t>, path: &str) -> ZkResult<&'t crate::tree::DataNode> {
    let target = node(ctx.tree, path)?;
    check_perm(ctx.policy, &target.acl, ctx.ids, perms::READ)?;
    Ok(target)
}

/// exists: a missing node is NONODE but still leaves the watch.
pub fn exists(ctx: &ReadCtx, req: &PathWatchRequest) -> ReadOutcome {
    if req.path.contains('\0') {
        return ReadOutcome::plain(Err(ZkError::BadArguments));
    }
    let result = match ctx.tree.get(&req.path) {
        None => Err(ZkError::NoNode),
        Some(n) => check_perm(ctx.policy, &n.acl, ctx.ids, perms::READ)
            .map(|()| Response::Stat(StatResponse { stat: n.stat() })),
    };
    let watch = req.watch && result != Err(ZkError::NoAuth);
    ReadOutcome::new(result, watch, &req.path, WatchKind::Data)
}

pub fn get_data(ctx: &ReadCtx, req: &PathWatchRequest) -> ReadOutcome {
    let result = readable(ctx, &req.path)
        .map(|n| Response::GetData(GetDataResponse { data: n.data.clone(), stat: n.stat() }));
    let watch = req.watch && result.is_ok();
    ReadOutcome::new(result, watch, &req.path, WatchKind::Data)
}

fn children(node: &crate::tree::DataNode) -> Vec<JString> {
    node.children.iter().map(|c| JString::from(c.as_str())).collect()
}

/// getChildren (8) or getChildren2 (12, with the parent's Stat).
pub fn get_children(ctx: &ReadCtx, req: &PathWatchRequest, with_stat: bool) -> ReadOutcome {
    let result = readable(ctx, &req.path).map(|n| {
        if with_stat {
            Response::GetChildren2(GetChildren2Response { children: children(n), stat: n.stat() })
        } else {
            Response::GetChildren(GetChildrenResponse { children: children(n) })
        }
    });
    let watch = req.watch && result.is_ok();
    ReadOutcome::new(result, watch, &req.path, WatchKind::Child)
}

/// getACL needs READ or ADMIN; without ADMIN, digest ids are redacted.
pub fn get_acl(ctx: &ReadCtx, req: &PathRequest) -> ZkResult<Response> {
    let target = node(ctx.tree, &req.path)?;
    let admin = permits(ctx.policy, &target.acl, ctx.ids, perms::ADMIN);
    if !admin && !permits(ctx.policy, &target.acl, ctx.ids, perms::READ) {
        return Err(ZkError::NoAuth);
    }
    let acl = if admin { target.acl.to_vec() } else { redact_digests(&target.acl) };
    Ok(Response::GetAcl(GetAclResponse { acl, stat: target.stat() }))
}

pub fn get_all_children_number(ctx: &ReadCtx, req: &PathRequest) -> ZkResult<Response> {
    readable(ctx, &req.path)?;
    let total_number = ctx.tree.descendant_count(&req.path) as i32;
    Ok(Response::GetAllChildrenNumber(GetAllChildrenNumberResponse { total_number }))
}

/// The caller's own ephemerals whose paths start with the prefix (`/` or empty: all).
pub fn get_ephemerals(ctx: &ReadCtx, req: &PathRequest) -> ZkResult<Response> {
    let prefix = req.path.as_str();
    let all = prefix.is_empty() || prefix == "/";
    let ephemerals = ctx
        .tree
        .ephemerals(ctx.session_id)
        .filter(|p| all || p.starts_with(prefix))
        .map(|p| JString::from(p.as_str()))
        .collect();
    Ok(Response::GetEphemerals(GetEphemeralsResponse { ephemerals }))
}

/// What a result holds in memory beyond its wire size while the reply is built and queued: a
/// String per child name (pointer, length, capacity and its heap block's overhead).
fn held_beyond_wire(result: &MultiResult) -> usize {
    match result {
        MultiResult::GetChildren(r) => r.children.len() * 40,
        _ => 0,
    }
}

/// multiRead: each op runs on its own; a failure is that op's result only. No watches.
pub fn multi_read(ctx: &ReadCtx, ops: &[MultiOp]) -> ZkResult<Response> {
    let mut results = Vec::with_capacity(ops.len().min(1024));
    let mut bytes = 0usize;
    for op in ops {
        let outcome = match op {
            MultiOp::GetData(r) => get_data(ctx, r).result,
            MultiOp::GetChildren(r) => get_children(ctx, r, false).result,
            _ => Err(ZkError::Marshalling),
        };
        let result = match outcome {
            Ok(Response::GetData(r)) => MultiResult::GetData(r),
            Ok(Response::GetChildren(r)) => MultiResult::GetChildren(r),
            Ok(_) => MultiResult::Error(ZkError::Marshalling.as_i32()),
            Err(e) => MultiResult::Error(e.as_i32()),
        };
        bytes += result.encoded_len() + held_beyond_wire(&result);
        if bytes > ctx.max_reply_bytes {
            return Err(ZkError::ReplyTooLarge);
        }
        results.push(result);
    }
    Ok(Response::Multi(MultiResponse { results }))
}
