//! setData (5): path, existence, WRITE, then version; raises NodeDataChanged.

use jute::{perms, EventType, Response, SetDataRequest, StatResponse};

use super::{check_version, node, validate_path, Changes, WriteCtx};
use crate::error::{ZkError, ZkResult};
use crate::tree::{quota, DataTree};

pub fn apply(
    tree: &mut DataTree,
    ctx: &WriteCtx,
    changes: &mut Changes,
    req: &SetDataRequest,
) -> ZkResult<Response> {
    ctx.check_session()?;
    let path = req.path.as_str();
    validate_path(path)?;
    let target = node(tree, path)?;
    ctx.check_perm(&target.acl, perms::WRITE)?;
    let bytes = req.data.as_ref().map_or(0, Vec::len) as i64 - target.data_len() as i64;
    if ctx.config.enforce_quota && quota::exceeds(tree, path, 0, bytes) {
        return Err(ZkError::QuotaExceeded);
    }
    check_version(req.version, target.stat.version)?;
    let acl = target.acl.clone();
    changes.record(tree.set_data(path, req.data.clone(), ctx.zxid, ctx.time_ms));
    changes.record_opt(quota::account(tree, path, 0, bytes));
    changes.trigger(path, EventType::NodeDataChanged, &acl);
    let stat = node(tree, path)?.stat();
    Ok(Response::Stat(StatResponse { stat }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::test_support::*;

    fn set(t: &mut Fixture, path: &str, version: i32) -> ZkResult<Response> {
        let req = SetDataRequest { path: path.into(), data: Some(b"new".to_vec()), version };
        t.write(|tree, ctx, ch| apply(tree, ctx, ch, &req))
    }

    #[test]
    fn set_data_bumps_version_and_mzxid() {
        let mut t = Fixture::new();
        let Response::Stat(r) = set(&mut t, "/zookeeper", 0).unwrap() else { panic!() };
        assert_eq!((r.stat.version, r.stat.mzxid, r.stat.data_length), (1, t.zxid, 3));
        assert_eq!(set(&mut t, "/zookeeper", 0), Err(ZkError::BadVersion));
        assert_eq!(set(&mut t, "/nope", -1), Err(ZkError::NoNode));
        assert_eq!(set(&mut t, "/bad/", -1), Err(ZkError::BadArguments));
        assert_eq!(set(&mut t, "/zookeeper/config", -1), Err(ZkError::NoAuth));
    }
}
