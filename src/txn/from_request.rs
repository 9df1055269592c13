//! What a client's write request becomes in the log: the pure mapping from a decoded
//! `Request` to the `TxnOp` apply runs. The connection layer adds its side effects (a
//! closeSession marks the session closing) and sends everything else to the reads.

use jute::{CreateMode, CreateRequest, CreateTtlRequest, MultiOp, OpCode, Request};

use super::TxnOp;
use crate::error::ZkError;

/// A decoded request, sorted: a write as the txn it becomes, anything else as it came.
#[derive(Debug)]
pub enum Routed {
    Write(TxnOp),
    /// Not a write: answered by the connection (reads, pings, auth, watches, refusals).
    Local(Request),
}

/// Where a request goes; `reconfig_enabled` is zoo.cfg's `reconfigEnabled`.
pub fn route(request: Request, reconfig_enabled: bool) -> Routed {
    Routed::Write(match request {
        Request::Create(r) => create(OpCode::Create, r),
        Request::Create2(r) => create(OpCode::Create2, r),
        Request::CreateContainer(r) => create(OpCode::CreateContainer, r),
        Request::CreateTtl(r) => TxnOp::Create { op: OpCode::CreateTtl, request: r },
        Request::Delete(r) => TxnOp::Delete(r),
        Request::SetData(r) => TxnOp::SetData(r),
        Request::SetAcl(r) => TxnOp::SetAcl(r),
        Request::Sync(r) => TxnOp::Sync { path: r.path.into_string() },
        Request::Multi(r) => multi_txn(r.ops),
        Request::Reconfig(_) if !reconfig_enabled => TxnOp::Fail(ZkError::ReconfigDisabled),
        Request::Reconfig(_) => TxnOp::Fail(ZkError::Unimplemented),
        Request::CloseSession => TxnOp::CloseSession,
        other => return Routed::Local(other),
    })
}

/// create, create2 and createContainer as the one create op, with no TTL.
fn create(op: OpCode, r: CreateRequest) -> TxnOp {
    let request =
        CreateTtlRequest { path: r.path, data: r.data, acl: r.acl, flags: r.flags, ttl: -1 };
    TxnOp::Create { op, request }
}

/// A multi whose ops are not all writes, or that has an invalid create flag, fails to parse in
/// ZooKeeper: MARSHALLINGERROR for the whole request.
fn multi_txn(ops: Vec<MultiOp>) -> TxnOp {
    let valid = ops.iter().all(|op| match op {
        MultiOp::Create(_, r) => CreateMode::from_i32(r.flags).is_some(),
        MultiOp::CreateTtl(r) => CreateMode::from_i32(r.flags).is_some(),
        MultiOp::GetData(_) | MultiOp::GetChildren(_) => false,
        _ => true,
    });
    if valid {
        TxnOp::Multi(ops)
    } else {
        TxnOp::Fail(ZkError::Marshalling)
    }
}

#[cfg(test)]
mod tests {
    use jute::{MultiRequest, PathWatchRequest, ReconfigRequest};

    use super::*;

    #[test]
    fn reads_come_back_unchanged() {
        let read = Request::GetData(PathWatchRequest { path: "/a".into(), watch: true });
        assert!(matches!(route(read.clone(), false), Routed::Local(r) if r == read));
        assert!(matches!(route(Request::Ping, true), Routed::Local(Request::Ping)));
    }

    #[test]
    fn creates_without_a_ttl_carry_minus_one() {
        let r = CreateRequest { path: "/c".into(), flags: 4, ..CreateRequest::default() };
        let Routed::Write(TxnOp::Create { op, request }) =
            route(Request::CreateContainer(r), false)
        else {
            panic!("a create is a write");
        };
        assert_eq!((op, request.ttl, request.flags), (OpCode::CreateContainer, -1, 4));
    }

    #[test]
    fn refused_writes_still_become_txns() {
        let reconfig = || Request::Reconfig(ReconfigRequest::default());
        let failed = |r| match route(r, false) {
            Routed::Write(TxnOp::Fail(e)) => e,
            other => panic!("{other:?}"),
        };
        assert_eq!(failed(reconfig()), ZkError::ReconfigDisabled);
        let enabled = route(reconfig(), true);
        assert!(matches!(enabled, Routed::Write(TxnOp::Fail(ZkError::Unimplemented))));
        let read = MultiOp::GetData(PathWatchRequest::default());
        assert_eq!(failed(Request::Multi(MultiRequest { ops: vec![read] })), ZkError::Marshalling);
        let bad_flags = CreateRequest { flags: 99, ..CreateRequest::default() };
        let ops = vec![MultiOp::Create(OpCode::Create, bad_flags)];
        assert_eq!(failed(Request::Multi(MultiRequest { ops })), ZkError::Marshalling);
        assert!(matches!(route(Request::CloseSession, false), Routed::Write(TxnOp::CloseSession)));
    }
}
