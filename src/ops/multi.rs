//! multi (14): every op applies against the state the earlier ops left; the first failure
//! rolls all of them back and the results say which op failed and why.

use jute::{
    perms, CheckVersionRequest, CreateTtlRequest, MultiOp, MultiResponse, MultiResult, Response,
};

use super::{check_version, create, delete, node, set_data, validate_path, Changes, WriteCtx};
use crate::error::{ZkError, ZkResult};
use crate::tree::DataTree;

/// Applies a multi. The reply is always a MultiResponse; on failure nothing stays applied and
/// `changes` is left untouched.
pub fn apply(
    tree: &mut DataTree,
    ctx: &WriteCtx,
    changes: &mut Changes,
    ops: &[MultiOp],
) -> Response {
    let mut local = Changes::default();
    let mut results = Vec::with_capacity(ops.len());
    for (index, op) in ops.iter().enumerate() {
        match apply_one(tree, ctx, &mut local, op) {
            Ok(result) => results.push(result),
            Err(err) => {
                local.roll_back(tree);
                return Response::Multi(failed(ops.len(), index, err));
            }
        }
    }
    changes.undo.extend(local.undo);
    changes.triggers.extend(local.triggers);
    Response::Multi(MultiResponse { results })
}

/// Ops before the failing one report 0, the failing one its error, later ones
/// RUNTIMEINCONSISTENCY.
fn failed(count: usize, index: usize, err: ZkError) -> MultiResponse {
    let results = (0..count)
        .map(|i| match i.cmp(&index) {
            std::cmp::Ordering::Less => MultiResult::Error(0),
            std::cmp::Ordering::Equal => MultiResult::Error(err.as_i32()),
            std::cmp::Ordering::Greater => {
                MultiResult::Error(ZkError::RuntimeInconsistency.as_i32())
            }
        })
        .collect();
    MultiResponse { results }
}

fn apply_one(
    tree: &mut DataTree,
    ctx: &WriteCtx,
    ch: &mut Changes,
    op: &MultiOp,
) -> ZkResult<MultiResult> {
    match op {
        MultiOp::Create(code, r) => {
            let req = CreateTtlRequest {
                path: r.path.clone(),
                data: r.data.clone(),
                acl: r.acl.clone(),
                flags: r.flags,
                ttl: -1,
            };
            created(create::apply(tree, ctx, ch, *code, &req)?)
        }
        MultiOp::CreateTtl(r) => created(create::apply(tree, ctx, ch, jute::OpCode::CreateTtl, r)?),
        MultiOp::Delete(r) => delete::apply(tree, ctx, ch, r).map(|()| MultiResult::Delete),
        MultiOp::SetData(r) => match set_data::apply(tree, ctx, ch, r)? {
            Response::Stat(s) => Ok(MultiResult::SetData(s.stat)),
            _ => unreachable!("setData answers with a Stat"),
        },
        MultiOp::Check(r) => check(tree, ctx, r).map(|()| MultiResult::Check),
        MultiOp::GetData(_) | MultiOp::GetChildren(_) => Err(ZkError::Marshalling),
    }
}

fn created(response: Response) -> ZkResult<MultiResult> {
    match response {
        Response::Create(r) => Ok(MultiResult::Create(r)),
        Response::Create2(r) => Ok(MultiResult::Create2(r)),
        _ => unreachable!("create answers with a path"),
    }
}

/// check (13): path, existence, READ, version.
fn check(tree: &DataTree, ctx: &WriteCtx, req: &CheckVersionRequest) -> ZkResult<()> {
    ctx.check_session()?;
    validate_path(&req.path)?;
    let target = node(tree, &req.path)?;
    ctx.check_perm(&target.acl, perms::READ)?;
    check_version(req.version, target.stat.version)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::test_support::*;
    use jute::{CreateRequest, DeleteRequest, OpCode};

    fn create_op(path: &str) -> MultiOp {
        MultiOp::Create(
            OpCode::Create,
            CreateRequest { path: path.into(), data: None, acl: open(), flags: 0 },
        )
    }

    fn run(t: &mut Fixture, ops: Vec<MultiOp>) -> MultiResponse {
        let r = t.write(|tree, ctx, ch| Ok(apply(tree, ctx, ch, &ops))).unwrap();
        let Response::Multi(r) = r else { panic!() };
        r
    }

    #[test]
    fn later_ops_see_earlier_ones() {
        let mut t = Fixture::new();
        let r = run(&mut t, vec![create_op("/a"), create_op("/a/b")]);
        assert_eq!(r.results.len(), 2);
        assert!(t.tree.contains("/a/b"));
        assert_eq!(t.triggers.len(), 4);
        let del = MultiOp::Delete(DeleteRequest { path: "/a/b".into(), version: -1 });
        let r = run(&mut t, vec![del, create_op("/a/b")]);
        assert!(matches!(r.results[1], MultiResult::Create(_)));
    }

    #[test]
    fn a_failure_rolls_everything_back() {
        let mut t = Fixture::new();
        let before = t.tree.get("/").unwrap().stat();
        let check = MultiOp::Check(CheckVersionRequest { path: "/zookeeper".into(), version: 7 });
        let r = run(&mut t, vec![create_op("/x"), check, create_op("/y")]);
        assert_eq!(
            r.results,
            vec![MultiResult::Error(0), MultiResult::Error(-103), MultiResult::Error(-2)]
        );
        assert!(!t.tree.contains("/x"));
        assert_eq!(t.tree.get("/").unwrap().stat(), before);
        assert!(t.triggers.is_empty());
    }

    #[test]
    fn an_empty_multi_succeeds() {
        let mut t = Fixture::new();
        assert!(run(&mut t, vec![]).results.is_empty());
    }
}
