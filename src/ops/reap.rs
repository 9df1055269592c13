//! The container and TTL reaper's delete (ZooKeeper's deleteContainer, 20): proposed by the
//! leader's reaper job, re-checked here against the entry's clock so every node agrees.

use super::{delete, Changes, WriteCtx};
use crate::error::{ZkError, ZkResult};
use crate::tree::{DataNode, DataTree, NodeKind};

/// An empty container that has had children, or an empty TTL node whose TTL has run out
/// since its last change.
fn is_due(node: &DataNode, now_ms: i64) -> bool {
    node.children.is_empty()
        && match node.kind() {
            NodeKind::Container => node.stat.cversion > 0,
            NodeKind::Ttl(ttl) => now_ms.saturating_sub(node.stat.mtime) > ttl,
            NodeKind::Persistent | NodeKind::Ephemeral(_) => false,
        }
}

pub fn apply(
    tree: &mut DataTree,
    ctx: &WriteCtx,
    changes: &mut Changes,
    path: &str,
) -> ZkResult<()> {
    let target = tree.get(path).ok_or(ZkError::NoNode)?;
    if !is_due(target, ctx.time_ms) {
        return Err(ZkError::BadVersion);
    }
    delete::remove(tree, changes, path, ctx.zxid);
    Ok(())
}

/// The nodes a reaper pass should propose at `now_ms`.
pub fn candidates(tree: &DataTree, now_ms: i64) -> Vec<String> {
    tree.containers()
        .chain(tree.ttl_nodes())
        .filter(|p| tree.get(p).is_some_and(|n| is_due(n, now_ms)))
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::{create, delete as del, test_support::*};
    use jute::{CreateTtlRequest, DeleteRequest, OpCode};

    fn make(t: &mut Fixture, op: OpCode, path: &str, flags: i32, ttl: i64) {
        let req = CreateTtlRequest { path: path.into(), data: None, acl: open(), flags, ttl };
        t.write(|tree, ctx, ch| create::apply(tree, ctx, ch, op, &req)).unwrap();
    }

    #[test]
    fn containers_go_once_emptied_and_ttl_nodes_once_expired() {
        let mut t = Fixture::new();
        t.config.extended_types = true;
        make(&mut t, OpCode::CreateContainer, "/c", 4, -1);
        make(&mut t, OpCode::CreateTtl, "/t", 5, 100);
        assert!(candidates(&t.tree, t.time_ms).is_empty());
        make(&mut t, OpCode::Create, "/c/x", 0, -1);
        let req = DeleteRequest { path: "/c/x".into(), version: -1 };
        t.write(|tree, ctx, ch| del::apply(tree, ctx, ch, &req)).unwrap();
        assert_eq!(candidates(&t.tree, t.time_ms), vec!["/c".to_string()]);
        assert_eq!(candidates(&t.tree, t.time_ms + 1000).len(), 2);
        t.write(|tree, ctx, ch| apply(tree, ctx, ch, "/c")).unwrap();
        assert!(!t.tree.contains("/c"));
        assert_eq!(t.write(|tree, ctx, ch| apply(tree, ctx, ch, "/t")), Err(ZkError::BadVersion));
    }
}
