//! setACL (7): ACL validity, existence, ADMIN, then aversion. mzxid and mtime do not change.

use jute::{perms, Response, SetAclRequest, StatResponse};

use super::{check_version, node, validate_path, Changes, WriteCtx};
use crate::error::{ZkError, ZkResult};
use crate::tree::acl::fixup;
use crate::tree::DataTree;

pub fn apply(
    tree: &mut DataTree,
    ctx: &WriteCtx,
    changes: &mut Changes,
    req: &SetAclRequest,
) -> ZkResult<Response> {
    ctx.check_session()?;
    let path = req.path.as_str();
    validate_path(path)?;
    let acl = fixup(&ctx.config.acl, &req.acl, ctx.auth).map_err(|_| ZkError::InvalidAcl)?;
    let target = node(tree, path)?;
    ctx.check_perm(&target.acl, perms::ADMIN)?;
    check_version(req.version, target.stat.aversion)?;
    let acl = tree.intern_acl(acl);
    changes.record(tree.set_acl(path, acl));
    let stat = node(tree, path)?.stat();
    Ok(Response::Stat(StatResponse { stat }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::test_support::*;
    use jute::Acl;

    #[test]
    fn set_acl_bumps_aversion_only() {
        let mut t = Fixture::new();
        let req = SetAclRequest { path: "/zookeeper".into(), acl: open(), version: 0 };
        let Response::Stat(r) = t.write(|tree, ctx, ch| apply(tree, ctx, ch, &req)).unwrap() else {
            panic!()
        };
        assert_eq!((r.stat.aversion, r.stat.mzxid, r.stat.version), (1, 0, 0));
        assert_eq!(t.write(|tree, ctx, ch| apply(tree, ctx, ch, &req)), Err(ZkError::BadVersion));
        let bad = SetAclRequest {
            path: "/nope".into(),
            acl: vec![Acl::new(1, "world", "x")],
            version: -1,
        };
        assert_eq!(t.write(|tree, ctx, ch| apply(tree, ctx, ch, &bad)), Err(ZkError::InvalidAcl));
    }
}
