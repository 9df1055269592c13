//! A log that cannot take a write (a full disk, here a full LMDB map): the server acknowledges
//! nothing it could not log, closes its connections and stops itself, and a restart with room
//! to spare has every acknowledged write.

use crate::common;

use common::*;
use jute::*;

fn create(path: String) -> Request {
    Request::Create(CreateRequest {
        path: path.as_str().into(),
        data: Some(vec![7; 200]),
        acl: open_acl(),
        flags: 0,
    })
}

#[tokio::test]
async fn a_full_log_stops_the_server_and_loses_nothing_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let server = start_in(dir.path(), "corral.logMapSizeMB=1\n").await;
    let mut writers = Vec::new();
    for w in 0..4 {
        let addr = server.addr;
        writers.push(tokio::spawn(async move {
            let mut c = Client::connect(addr).await;
            let mut acknowledged = Vec::new();
            for i in 0.. {
                c.send(create(format!("/w{w}-{i}"))).await;
                match c.next().await {
                    Some(Incoming::Reply(h, _)) if h.err == 0 => acknowledged.push(i),
                    Some(Incoming::Reply(h, _)) => panic!("a create failed with {}", h.err),
                    Some(Incoming::Event(..)) => panic!("no watches were set"),
                    None => return acknowledged,
                }
            }
            unreachable!()
        }));
    }
    let mut acknowledged = Vec::new();
    for writer in writers {
        acknowledged.push(writer.await.unwrap());
    }
    tokio::time::timeout(WAIT, server.failed()).await.expect("the server stopped itself");
    server.stop().await;
    let total: usize = acknowledged.iter().map(Vec::len).sum();
    assert!(total > 100, "the log took {total} writes before it was full");

    let server = start_in(dir.path(), "corral.logMapSizeMB=64\n").await;
    let mut c = Client::connect(server.addr).await;
    for (w, indexes) in acknowledged.iter().enumerate() {
        for i in indexes {
            assert!(c.exists(&format!("/w{w}-{i}"), false).await.is_ok(), "/w{w}-{i} was lost");
        }
    }
    let children = c.children("/", false).await.unwrap();
    // Only acknowledged writes and the one in flight per writer when the log filled may be there.
    assert!(children.len() - 1 <= total + 4, "{} nodes for {total} acknowledged", children.len());
    c.create("/after", b"", 0).await.expect("the restarted server writes again");
    server.stop().await;
}
