//! Session expiry: a silent session is closed by the server, its ephemerals are deleted at
//! the closing txn's zxid, watchers are told, and the client is refused on reconnect.

use crate::common;

use common::*;
use jute::*;

const FAST: &str =
    "tickTime=100\nminSessionTimeout=300\nmaxSessionTimeout=600\n4lw.commands.whitelist=*\n";

#[tokio::test]
async fn a_silent_session_expires_and_its_ephemerals_go() {
    let t = start_with(FAST).await;
    let mut watcher = Client::connect(t.addr).await;
    let mut silent = Client::resume(t.addr, connect_request(0, vec![], 300)).await.unwrap();
    assert_eq!(silent.timeout_ms, 300);
    silent.create("/lease", b"", 1).await.unwrap();
    silent.create("/lease2", b"", 3).await.unwrap();
    let (id, passwd) = (silent.session_id, silent.passwd.clone());
    watcher.exists("/lease", true).await.unwrap();
    // The watcher keeps its own session alive by waiting on events with pings in between.
    let event = loop {
        watcher.send(Request::Ping).await;
        match watcher.next().await.unwrap() {
            Incoming::Event(zxid, event) => break (zxid, event),
            Incoming::Reply(..) => tokio::time::sleep(std::time::Duration::from_millis(50)).await,
        }
    };
    assert_eq!(
        (event.1.event_type, event.1.path.as_str()),
        (EventType::NodeDeleted.as_i32(), "/lease")
    );
    watcher.reply().await; // the ping the event overtook
    assert!(silent.closed().await, "the expired session's connection is closed silently");
    assert_eq!(watcher.exists("/lease", false).await, Err(-101));
    assert!(watcher.children("/", false).await.unwrap().iter().all(|c| !c.starts_with("lease")));
    assert!(Client::resume(t.addr, connect_request(id, passwd, 300)).await.is_none());
}

#[tokio::test]
async fn pings_keep_a_session_alive() {
    let t = start_with(FAST).await;
    let mut c = Client::resume(t.addr, connect_request(0, vec![], 300)).await.unwrap();
    c.create("/kept", b"", 1).await.unwrap();
    let until = tokio::time::Instant::now() + std::time::Duration::from_millis(1500);
    while tokio::time::Instant::now() < until {
        let (header, _) = c.call(Request::Ping).await;
        assert_eq!((header.xid, header.err), (xid::PING, 0));
        tokio::time::sleep(std::time::Duration::from_millis(60)).await;
    }
    assert!(c.exists("/kept", false).await.is_ok());
}

#[tokio::test]
async fn a_session_survives_its_connection_until_it_expires() {
    let t = start_with(FAST).await;
    let mut c = Client::resume(t.addr, connect_request(0, vec![], 600)).await.unwrap();
    c.create("/e", b"", 1).await.unwrap();
    let request = connect_request(c.session_id, c.passwd.clone(), 600);
    drop(c);
    let mut back =
        Client::resume(t.addr, request).await.expect("the session outlives its connection");
    assert_eq!(back.exists("/e", false).await.unwrap().ephemeral_owner, back.session_id);
}

#[tokio::test]
async fn dump_lists_sessions_and_their_ephemerals() {
    let t = start().await;
    let mut c = Client::connect(t.addr).await;
    c.create("/dumped", b"", 1).await.unwrap();
    let dump = four_letter(t.addr, "dump").await;
    assert!(dump.starts_with("SessionTracker dump:\nSession Sets ("), "{dump}");
    assert!(dump.contains(&format!("0x{:x}:\n\t/dumped\n", c.session_id)), "{dump}");
    assert!(dump.contains("expire at "), "{dump}");
}
