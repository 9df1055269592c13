//! create (1), create2 (15), createContainer (19) and createTTL (21): checks in ZooKeeper's
//! order, the sequential suffix, and the new node's watch events.

use jute::{perms, Response};
use jute::{Create2Response, CreateMode, CreateResponse, CreateTtlRequest, EventType, OpCode};

use super::{check_perm, node, parent_of, validate_path, Changes, WriteCtx};
use crate::error::{ZkError, ZkResult};
use crate::tree::acl::fixup;
use crate::tree::node::MAX_TTL_MS;
use crate::tree::{path, quota, DataTree, NewNode, NodeKind};

/// What the node will be, from the opcode and flags (checks 1 and 2).
fn node_kind(ctx: &WriteCtx, op: OpCode, mode: CreateMode, ttl: i64) -> ZkResult<NodeKind> {
    if op == OpCode::CreateTtl {
        if !ctx.config.extended_types {
            return Err(ZkError::Unimplemented);
        }
        if !mode.is_ttl() || ttl <= 0 || ttl > MAX_TTL_MS {
            return Err(ZkError::BadArguments);
        }
        return Ok(NodeKind::Ttl(ttl));
    }
    if mode.is_ttl() {
        return Err(ZkError::BadArguments);
    }
    Ok(match (op, mode.is_ephemeral()) {
        // The opcode, not the flag, makes a container.
        (OpCode::CreateContainer, _) => NodeKind::Container,
        (_, true) => NodeKind::Ephemeral(ctx.session_id),
        (_, false) => NodeKind::Persistent,
    })
}

/// Applies a create of any kind and returns the reply its opcode calls for.
pub fn apply(
    tree: &mut DataTree,
    ctx: &WriteCtx,
    changes: &mut Changes,
    op: OpCode,
    req: &CreateTtlRequest,
) -> ZkResult<Response> {
    let mode = CreateMode::from_i32(req.flags).ok_or(ZkError::BadArguments)?;
    let kind = node_kind(ctx, op, mode, req.ttl)?;
    ctx.check_session()?;
    let parent_path = parent_of(&req.path)?;
    let acl = fixup(&ctx.config.acl, &req.acl, ctx.auth).map_err(|_| ZkError::InvalidAcl)?;
    let parent = node(tree, parent_path)?;
    check_perm(&ctx.config.acl, &parent.acl, ctx.auth, perms::CREATE)?;
    let full_path = if mode.is_sequential() {
        format!("{}{}", req.path, path::sequence_suffix(parent.stat.cversion))
    } else {
        req.path.to_string()
    };
    validate_path(&full_path)?;
    if tree.contains(&full_path) {
        return Err(ZkError::NodeExists);
    }
    if matches!(parent.kind(), NodeKind::Ephemeral(_)) {
        return Err(ZkError::NoChildrenForEphemerals);
    }
    let bytes = req.data.as_ref().map_or(0, Vec::len) as i64;
    if ctx.config.enforce_quota && quota::exceeds(tree, &full_path, 1, bytes) {
        return Err(ZkError::QuotaExceeded);
    }
    let parent_path = path::parent(&full_path).unwrap_or("/").to_owned();
    let acl = tree.intern_acl(acl);
    let new = NewNode { data: req.data.clone(), acl: acl.clone(), kind };
    changes.record(tree.create(&full_path, new, ctx.zxid, ctx.time_ms));
    changes.record_opt(quota::account(tree, &full_path, 1, bytes));
    changes.record_opt(quota::on_quota_node_created(tree, &full_path));
    changes.trigger(&full_path, EventType::NodeCreated, &acl);
    let parent_acl = node(tree, &parent_path)?.acl.clone();
    changes.trigger(&parent_path, EventType::NodeChildrenChanged, &parent_acl);
    Ok(reply(tree, op, full_path))
}

fn reply(tree: &DataTree, op: OpCode, path: String) -> Response {
    if op == OpCode::Create {
        return Response::Create(CreateResponse { path: path.into() });
    }
    let stat = tree.get(&path).map(|n| n.stat()).unwrap_or_default();
    Response::Create2(Create2Response { path: path.into(), stat })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::test_support::*;

    fn create(t: &mut Fixture, op: OpCode, path: &str, flags: i32, ttl: i64) -> ZkResult<Response> {
        let req = CreateTtlRequest {
            path: path.into(),
            data: Some(b"d".to_vec()),
            acl: open(),
            flags,
            ttl,
        };
        t.write(|tree, ctx, changes| apply(tree, ctx, changes, op, &req))
    }

    #[test]
    fn create_updates_parent_and_stat() {
        let mut t = Fixture::new();
        let r = create(&mut t, OpCode::Create2, "/a", 0, -1).unwrap();
        let Response::Create2(r) = r else { panic!() };
        assert_eq!(r.path, "/a");
        assert_eq!((r.stat.czxid, r.stat.mzxid, r.stat.pzxid), (t.zxid, t.zxid, t.zxid));
        // ZooKeeper shows 2 × creations − children, and /zookeeper was never "created":
        // a fresh root shows -1, and 0 after one create.
        let root = t.tree.get("/").unwrap().stat();
        assert_eq!((root.cversion, root.pzxid, root.num_children), (0, t.zxid, 2));
        assert_eq!(root.mzxid, 0);
    }

    #[test]
    fn sequential_suffix_is_the_parent_creation_count() {
        let mut t = Fixture::new();
        create(&mut t, OpCode::Create, "/p", 0, -1).unwrap();
        create(&mut t, OpCode::Create, "/p/a", 0, -1).unwrap();
        let Response::Create(r) = create(&mut t, OpCode::Create, "/p/q-", 2, -1).unwrap() else {
            panic!()
        };
        assert_eq!(r.path, "/p/q-0000000001");
        let Response::Create(r) = create(&mut t, OpCode::Create, "/p/", 2, -1).unwrap() else {
            panic!()
        };
        assert_eq!(r.path, "/p/0000000002");
    }

    #[test]
    fn check_order_matches_zookeeper() {
        let mut t = Fixture::new();
        assert_eq!(create(&mut t, OpCode::Create, "/a", 9, -1), Err(ZkError::BadArguments));
        assert_eq!(create(&mut t, OpCode::Create, "/missing/", 0, -1), Err(ZkError::NoNode));
        assert_eq!(create(&mut t, OpCode::Create, "/a/", 0, -1), Err(ZkError::NoNode));
        create(&mut t, OpCode::Create, "/e", 1, -1).unwrap();
        assert_eq!(create(&mut t, OpCode::Create, "/e", 1, -1), Err(ZkError::NodeExists));
        assert_eq!(
            create(&mut t, OpCode::Create, "/e/c", 0, -1),
            Err(ZkError::NoChildrenForEphemerals)
        );
        assert_eq!(
            create(&mut t, OpCode::Create, "/zookeeper/", 0, -1),
            Err(ZkError::BadArguments)
        );
        assert_eq!(create(&mut t, OpCode::Create, "/", 0, -1), Err(ZkError::NodeExists));
    }

    #[test]
    fn ttl_needs_extended_types_and_a_ttl_mode() {
        let mut t = Fixture::new();
        assert_eq!(create(&mut t, OpCode::CreateTtl, "/t", 5, 100), Err(ZkError::Unimplemented));
        t.config.extended_types = true;
        assert_eq!(create(&mut t, OpCode::CreateTtl, "/t", 0, 100), Err(ZkError::BadArguments));
        assert_eq!(create(&mut t, OpCode::CreateTtl, "/t", 5, 0), Err(ZkError::BadArguments));
        assert_eq!(create(&mut t, OpCode::Create, "/t", 5, 100), Err(ZkError::BadArguments));
        create(&mut t, OpCode::CreateTtl, "/t", 5, 100).unwrap();
        assert_eq!(t.tree.get("/t").unwrap().kind(), NodeKind::Ttl(100));
        assert_eq!(t.tree.get("/t").unwrap().stat().ephemeral_owner, 0);
    }

    #[test]
    fn the_opcode_makes_a_container() {
        let mut t = Fixture::new();
        create(&mut t, OpCode::Create, "/plain", 4, -1).unwrap();
        assert_eq!(t.tree.get("/plain").unwrap().kind(), NodeKind::Persistent);
        create(&mut t, OpCode::CreateContainer, "/c", 4, -1).unwrap();
        assert_eq!(t.tree.get("/c").unwrap().kind(), NodeKind::Container);
    }
}
