//! The tree digest kept as nodes change equals the digest summed afresh, whatever mix of
//! creates, deletes, data and ACL changes, failed multis and session closes came before.

use std::sync::Arc;

use jute::{Acl, CreateTtlRequest, DeleteRequest, MultiOp, OpCode, SetAclRequest, SetDataRequest};
use proptest::prelude::*;

use super::ZkState;
use crate::ops::ApplyConfig;
use crate::tree::acl::open_acl;
use crate::tree::digest::node_digest;
use crate::txn::{Entry, Txn, TxnOp};

const SESSION: i64 = 0x0100_0000_0000_0001;
const PATHS: [&str; 6] = ["/a", "/a/b", "/a/b/c", "/d", "/d/e", "/zookeeper/quota/q"];

fn create(path: &str, data: Vec<u8>, flags: i32) -> TxnOp {
    let request =
        CreateTtlRequest { path: path.into(), data: Some(data), acl: open_acl(), flags, ttl: -1 };
    TxnOp::Create { op: OpCode::Create2, request }
}

fn op(kind: u8, path: &str, data: Vec<u8>) -> TxnOp {
    match kind % 7 {
        0 | 1 => create(path, data, i32::from(kind % 2)),
        2 => TxnOp::Delete(DeleteRequest { path: path.into(), version: -1 }),
        3 => TxnOp::SetData(SetDataRequest { path: path.into(), data: Some(data), version: -1 }),
        4 => TxnOp::SetAcl(SetAclRequest {
            path: path.into(),
            acl: vec![Acl::new(31, "world", "anyone"), Acl::new(1, "ip", "10.0.0.1")],
            version: -1,
        }),
        5 => TxnOp::Multi(vec![
            MultiOp::Delete(DeleteRequest { path: "/a/b".into(), version: -1 }),
            MultiOp::SetData(SetDataRequest { path: path.into(), data: Some(data), version: 7 }),
        ]),
        _ => TxnOp::CloseSession,
    }
}

fn fresh_sum(state: &ZkState) -> i64 {
    state.tree.iter().fold(0i64, |sum, (p, node)| sum.wrapping_add(node_digest(p, node)))
}

proptest! {
    #[test]
    fn the_kept_digest_is_the_summed_digest(
        steps in prop::collection::vec((any::<u8>(), 0..PATHS.len(), prop::collection::vec(any::<u8>(), 0..8)), 1..60)
    ) {
        let mut state = ZkState::default();
        let config = ApplyConfig::default();
        let session = |op| Txn { session_id: SESSION, origin: None, auth: Arc::new(vec![]), op };
        let open = Entry { time_ms: 1, txns: vec![session(TxnOp::CreateSession { timeout_ms: 30_000, passwd: None })] };
        state.apply(&open, &config);
        prop_assert_eq!(state.tree.digest(), fresh_sum(&state));
        for (i, (kind, path, data)) in steps.into_iter().enumerate() {
            let txns = vec![session(op(kind, PATHS[path], data))];
            state.apply(&Entry { time_ms: 10 + i as i64, txns }, &config);
            prop_assert_eq!(state.tree.digest(), fresh_sum(&state));
        }
    }
}
