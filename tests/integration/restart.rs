//! Restart: the state comes back from the log — nodes with their Stat, sessions with their
//! ephemerals, and zxids that keep increasing, so clients that saw them are not refused.

use crate::common;

use common::*;
use jute::*;

#[tokio::test]
async fn the_tree_sessions_and_zxids_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let server = start_in(dir.path(), "tickTime=2000\n").await;
    let mut c = Client::connect(server.addr).await;
    c.create("/p", b"v1", 0).await.unwrap();
    c.create("/p/s-", b"", 2).await.unwrap();
    c.create("/e", b"", 1).await.unwrap();
    c.set_data("/p", b"v2", 0).await.unwrap();
    let multi = MultiRequest {
        ops: vec![MultiOp::Delete(DeleteRequest { path: "/p/s-0000000000".into(), version: -1 })],
    };
    c.call(Request::Multi(multi)).await;
    let before = c.exists("/p", false).await.unwrap();
    let (last, _) =
        c.call(Request::Exists(PathWatchRequest { path: "/".into(), watch: false })).await;
    let (session, passwd) = (c.session_id, c.passwd.clone());
    drop(c);
    server.stop().await;

    let server = start_in(dir.path(), "tickTime=2000\n").await;
    let mut seen = connect_request(session, passwd, 30_000);
    seen.last_zxid_seen = last.zxid;
    let mut c = Client::resume(server.addr, seen).await.expect("the session survived");
    let (data, stat) = c.get_data("/p", false).await.unwrap();
    assert_eq!(data.as_deref(), Some(&b"v2"[..]));
    assert_eq!(stat, before, "the Stat is exactly as it was");
    assert_eq!(c.children("/p", false).await.unwrap(), Vec::<String>::new());
    assert_eq!(c.exists("/e", false).await.unwrap().ephemeral_owner, session);
    assert_eq!(
        c.create("/p/s-", b"", 2).await.unwrap(),
        "/p/s-0000000001",
        "the sequence continues"
    );
    let (after, _) =
        c.call(Request::Exists(PathWatchRequest { path: "/".into(), watch: false })).await;
    assert!(after.zxid > last.zxid);
}

#[tokio::test]
async fn a_recovered_session_that_nobody_resumes_expires() {
    let dir = tempfile::tempdir().unwrap();
    let fast = "tickTime=100\nminSessionTimeout=300\nmaxSessionTimeout=300\n";
    let server = start_in(dir.path(), fast).await;
    let mut c = Client::connect(server.addr).await;
    c.create("/gone-after-restart", b"", 1).await.unwrap();
    drop(c);
    server.stop().await;

    let server = start_in(dir.path(), fast).await;
    let mut watcher = Client::connect(server.addr).await;
    assert!(watcher.exists("/gone-after-restart", true).await.is_ok());
    let event = loop {
        watcher.send(Request::Ping).await;
        match watcher.next().await.unwrap() {
            Incoming::Event(_, event) => break event,
            Incoming::Reply(..) => tokio::time::sleep(std::time::Duration::from_millis(50)).await,
        }
    };
    assert_eq!(
        (event.event_type, event.path.as_str()),
        (EventType::NodeDeleted.as_i32(), "/gone-after-restart")
    );
}

#[tokio::test]
async fn a_log_from_an_unknown_format_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let server = start_in(dir.path(), "").await;
    server.stop().await;
    let store = dir.path().join("corral/log/data.mdb");
    assert!(store.exists());
    let config =
        corral::config::Config::from_text(&format!("dataDir={}\n", dir.path().display())).unwrap();
    // A future version's header, written with LMDB directly.
    {
        use heed::types::{Bytes, Str};
        let env =
            unsafe { heed::EnvOpenOptions::new().max_dbs(4).open(dir.path().join("corral/log")) }
                .unwrap();
        let wtxn = env.write_txn().unwrap();
        let meta: heed::Database<'static, Str, Bytes> = env
            .create_databases_and_commit(wtxn, |opener, wtxn| -> heed::Result<_> {
                Ok(heed::CommitOrAbort::<_, ()>::Commit(
                    opener.create_database(wtxn, Some("meta"))?,
                ))
            })
            .unwrap()
            .unwrap_commit();
        let mut wtxn = env.write_txn().unwrap();
        meta.put(&mut wtxn, "format", b"corral-raft-log-99").unwrap();
        wtxn.commit().unwrap();
        env.prepare_for_closing().wait();
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let err = corral::server::Server::start(config, listener).await.err().expect("refused");
    assert!(err.to_string().contains("corral-raft-log-99"), "{err}");
}
