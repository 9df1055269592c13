//! delete (2): DELETE is checked on the parent, before the node's own existence; BADVERSION
//! wins over NOTEMPTY.

use jute::{perms, DeleteRequest, EventType};

use super::{check_version, node, parent_of, Changes, WriteCtx};
use crate::error::{ZkError, ZkResult};
use crate::tree::{DataTree, SYSTEM_NODES};

pub fn apply(
    tree: &mut DataTree,
    ctx: &WriteCtx,
    changes: &mut Changes,
    req: &DeleteRequest,
) -> ZkResult<()> {
    ctx.check_session()?;
    let path = req.path.as_str();
    let parent_path = parent_of(path)?;
    if SYSTEM_NODES.contains(&path) {
        return Err(ZkError::BadArguments);
    }
    let parent = node(tree, parent_path)?;
    ctx.check_perm(&parent.acl, perms::DELETE)?;
    let target = node(tree, path)?;
    check_version(req.version, target.stat.version)?;
    if !target.children.is_empty() {
        return Err(ZkError::NotEmpty);
    }
    remove(tree, changes, path, ctx.zxid);
    Ok(())
}

/// Deletes a checked node and raises NodeDeleted on it and NodeChildrenChanged on its parent.
/// Shared with session close and the reaper, which delete without a client's checks.
pub fn remove(tree: &mut DataTree, changes: &mut Changes, path: &str, zxid: i64) {
    let target = tree.get(path).expect("checked node exists");
    let (acl, bytes) = (target.acl.clone(), target.data_len() as i64);
    changes.record(tree.delete(path, zxid));
    changes.record_opt(crate::tree::quota::account(tree, path, -1, -bytes));
    changes.trigger(path, EventType::NodeDeleted, &acl);
    let parent_path = crate::tree::path::parent(path).unwrap_or("/");
    let parent_acl = tree.get(parent_path).expect("parent exists").acl.clone();
    changes.trigger(parent_path, EventType::NodeChildrenChanged, &parent_acl);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::create;
    use crate::ops::test_support::*;
    use jute::{Acl, CreateTtlRequest, OpCode};

    fn make(t: &mut Fixture, path: &str, acl: Vec<Acl>) {
        let req = CreateTtlRequest { path: path.into(), data: None, acl, flags: 0, ttl: -1 };
        t.write(|tree, ctx, ch| create::apply(tree, ctx, ch, OpCode::Create, &req)).unwrap();
    }

    fn delete(t: &mut Fixture, path: &str, version: i32) -> ZkResult<()> {
        let req = DeleteRequest { path: path.into(), version };
        t.write(|tree, ctx, ch| apply(tree, ctx, ch, &req))
    }

    #[test]
    fn delete_updates_the_parent() {
        let mut t = Fixture::new();
        make(&mut t, "/a", open());
        make(&mut t, "/a/b", open());
        delete(&mut t, "/a/b", 0).unwrap();
        let a = t.tree.get("/a").unwrap().stat();
        assert_eq!((a.cversion, a.num_children, a.pzxid), (2, 0, t.zxid));
        assert_eq!(t.triggers.len(), 2);
    }

    #[test]
    fn check_order_matches_zookeeper() {
        let mut t = Fixture::new();
        assert_eq!(delete(&mut t, "/zookeeper", -1), Err(ZkError::BadArguments));
        assert_eq!(delete(&mut t, "/", -1), Err(ZkError::BadArguments));
        assert_eq!(delete(&mut t, "nope", -1), Err(ZkError::BadArguments));
        assert_eq!(delete(&mut t, "/x/y", -1), Err(ZkError::NoNode));
        make(&mut t, "/locked", vec![Acl::new(perms::READ, "world", "anyone")]);
        assert_eq!(delete(&mut t, "/locked/missing", -1), Err(ZkError::NoAuth));
        make(&mut t, "/p", open());
        make(&mut t, "/p/c", open());
        assert_eq!(delete(&mut t, "/p", 5), Err(ZkError::BadVersion));
        assert_eq!(delete(&mut t, "/p", 0), Err(ZkError::NotEmpty));
        assert_eq!(delete(&mut t, "/p/missing", -1), Err(ZkError::NoNode));
    }
}
