//! A member's forwarded writes are applied in the order it sent them, even when a stream it
//! gave up delivers late: after a partition heals, TCP may retransmit an old stream's bytes
//! after the member's new stream has carried later writes of the same session. The fault
//! campaign found this (FIFO order broken on seeds 1 and 6: a session's write 320 applied
//! after its 565).

use crate::common;

use std::sync::Arc;

use common::cluster::Cluster;
use common::peer::{closed_without_answer, frame, impersonate};
use common::Client;
use corral::txn::codec::encode_entry;
use corral::txn::{Entry, Origin, Txn, TxnOp};
use jute::{Acl, CreateTtlRequest, OpCode};
use tokio::io::AsyncWriteExt;

/// A Txns frame with one create, as member `from` forwards a client's write.
fn forwarded_create(session_id: i64, from: u64, request_id: u64, path: &str) -> Vec<u8> {
    let request = CreateTtlRequest {
        path: path.into(),
        data: Some(Vec::new()),
        acl: vec![Acl::new(31, "world", "anyone")],
        flags: 0,
        ttl: -1,
    };
    let txn = Txn {
        session_id,
        origin: Some(Origin { node_id: from, request_id }),
        auth: Arc::new(Vec::new()),
        op: TxnOp::Create { op: OpCode::Create, request },
    };
    frame(20, &encode_entry(&Entry { time_ms: 0, txns: vec![txn] }))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_arriving_on_a_forwarding_stream_its_member_replaced_are_dropped() {
    let mut cluster = Cluster::new(3, 0).await;
    cluster.start_all().await;
    let leader = cluster.leader().await;
    let member = (leader + 1) % 3;
    let from = cluster.members[member].id;
    // A session of the member's, whose write opens the member's own forwarding stream first.
    let mut owner = Client::connect(cluster.addr(member)).await;
    assert!(owner.create("/through-the-member", b"", 0).await.is_ok());

    let mut old = impersonate(&cluster, leader, from, "Forward").await;
    let mut new = impersonate(&cluster, leader, from, "Forward").await;
    new.write_all(&forwarded_create(owner.session_id, from, 1, "/on-new")).await.unwrap();
    old.write_all(&forwarded_create(owner.session_id, from, 2, "/on-old")).await.unwrap();
    assert!(closed_without_answer(&mut old).await, "the replaced stream is closed");

    let mut reader = Client::connect(cluster.addr(leader)).await;
    assert!(appears(&mut reader, "/on-new").await, "the newest stream's write is applied");
    new.write_all(&forwarded_create(owner.session_id, from, 3, "/after")).await.unwrap();
    assert!(appears(&mut reader, "/after").await, "the newest stream still carries writes");
    assert!(reader.exists("/on-old", false).await.is_err(), "the old stream's write is dropped");
    cluster.stop_all().await;
}

/// Waits (up to `WAIT`) until `path` exists as the leader has applied it.
async fn appears(reader: &mut Client, path: &str) -> bool {
    let deadline = tokio::time::Instant::now() + common::WAIT;
    while tokio::time::Instant::now() < deadline {
        reader.sync("/").await;
        if reader.exists(path, false).await.is_ok() {
            return true;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    false
}
