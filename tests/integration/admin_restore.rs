//! The AdminServer's `restore` as an operator uses it: a snapshot taken with `snapshot` and
//! POSTed back replaces the tree and sessions (on every member of an ensemble), clients are
//! disconnected and those whose sessions it holds come back; bad bodies change nothing; and
//! the admin port closes connections that sit idle.

use crate::admin::start_admin;
use crate::common;

use std::net::SocketAddr;

use common::cluster::Cluster;
use common::*;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// `super:test` as ZooKeeper's superDigest.
const SUPER: &str = "DigestAuthenticationProvider.superDigest=super:D/InIHSb7yEEbrWz8b9l71RjZJU=\n";
const AUTH: [(&str, &str); 1] = [("Authorization", "digest super:test")];

async fn take_snapshot(admin: SocketAddr) -> Vec<u8> {
    let (status, head, body) = http_bytes(admin, "GET", "/commands/snapshot", &AUTH).await;
    assert_eq!(status, 200, "{head}");
    body
}

/// POSTs `image` to `restore`: the status and the JSON answer.
async fn restore(admin: SocketAddr, image: &[u8]) -> (u16, Value) {
    let (status, _, body) = http_send(admin, ("POST", "/commands/restore"), &AUTH, image).await;
    let json = serde_json::from_slice(&body).unwrap_or_else(|e| panic!("{e}: {body:?}"));
    (status, json)
}

/// A started ensemble of three with a superDigest: it, its leader and a follower.
async fn three_members() -> (Cluster, usize, usize) {
    let mut cluster = Cluster::with_config(3, 0, SUPER).await;
    cluster.start_all().await;
    let leader = cluster.leader().await;
    (cluster, leader, (leader + 1) % 3)
}

async fn mntr_value(addr: SocketAddr, key: &str) -> String {
    let mntr = four_letter(addr, "mntr").await;
    let line = mntr.lines().find(|l| l.starts_with(&format!("zk_{key}\t")));
    line.map(|l| l.split('\t').nth(1).unwrap().to_owned()).unwrap_or_default()
}

#[tokio::test]
async fn a_restored_snapshot_brings_back_the_tree_and_its_sessions() {
    let a = start_admin(&format!("{SUPER}4lw.commands.whitelist=*\n")).await;
    let addr = a.server.addr;
    let mut kept = Client::connect(addr).await;
    kept.create("/app", b"v1", 0).await.unwrap();
    kept.create("/app/a", b"", 0).await.unwrap();
    kept.create("/eph", b"e", 1).await.unwrap();
    let before = dump_tree(&mut kept).await;
    let image = take_snapshot(a.admin).await;

    kept.set_data("/app", b"v2", -1).await.unwrap();
    kept.create("/later", b"", 0).await.unwrap();
    assert_eq!(kept.delete("/app/a", -1).await, 0);
    let mut gone = Client::connect(addr).await;
    gone.create("/gone-eph", b"", 1).await.unwrap();
    let last = a.server.node.last_zxid();

    let (status, json) = restore(a.admin, &image).await;
    assert_eq!(status, 200, "{json}");
    assert_eq!((json["command"].as_str(), &json["error"]), (Some("restore"), &Value::Null));
    let zxid = json["last_zxid"].as_i64().unwrap();
    assert_eq!(zxid, last + 1, "the restore takes the next zxid; zxids never go back");
    assert!(kept.closed().await && gone.closed().await, "every client is disconnected");

    // The session the snapshot holds comes back, and sees the tree as it was.
    let request = connect_request(kept.session_id, kept.passwd.clone(), 30_000);
    let mut back = Client::resume(addr, request).await.expect("the snapshot's session resumes");
    assert_eq!(dump_tree(&mut back).await, before);
    let request = connect_request(gone.session_id, gone.passwd.clone(), 30_000);
    assert!(Client::resume(addr, request).await.is_none(), "a session it lacks has expired");
    let stat = back.set_data("/app", b"v3", -1).await.unwrap();
    assert_eq!(stat.mzxid, zxid + 1);
    // A snapshot follows the restore, so the log need not keep its parts for long.
    let snapshotted = eventually(|| async {
        let (_, body) = http(a.admin, "GET", "/commands/last_snapshot").await;
        let json: Value = serde_json::from_str(&body).unwrap();
        let taken = json["zxid"].as_str().and_then(|z| i64::from_str_radix(z, 16).ok());
        taken.is_some_and(|taken| taken >= zxid)
    })
    .await;
    assert!(snapshotted, "a snapshot is taken after a restore");

    // ZooKeeper's limiter: one restore per admin.rateLimiterIntervalInMS (5 minutes).
    let (status, _) = restore(a.admin, &image).await;
    assert_eq!(status, 429);
    assert_eq!(mntr_value(addr, "restore_rate_limited_count").await, "1");
    assert_eq!(mntr_value(addr, "cnt_restore_time").await, "1");
    back.close().await;
    a.server.stop().await;
}

#[tokio::test]
async fn a_body_that_is_not_a_whole_snapshot_changes_nothing() {
    let extra = format!("{SUPER}4lw.commands.whitelist=*\nadmin.rateLimiterIntervalInMS=0\n");
    let a = start_admin(&extra).await;
    let mut c = Client::connect(a.server.addr).await;
    c.create("/stay", b"here", 0).await.unwrap();
    let image = take_snapshot(a.admin).await;
    c.set_data("/stay", b"changed", -1).await.unwrap();
    let before = dump_tree(&mut c).await;
    let mut flipped = image.clone();
    let middle = flipped.len() / 2;
    flipped[middle] ^= 0x55;
    for bad in [&b"not a snapshot"[..], &image[..image.len() / 2], &flipped] {
        let (status, json) = restore(a.admin, bad).await;
        assert_eq!((status, &json["error"]), (500, &Value::Null), "{json}");
    }
    assert_eq!(dump_tree(&mut c).await, before, "the tree is untouched");
    assert_eq!(mntr_value(a.server.addr, "restore_error_count").await, "3");

    // Longer than a restore takes: refused from its Content-Length, before any of it is read.
    let mut socket = tokio::net::TcpStream::connect(a.admin).await.unwrap();
    let head = format!(
        "POST /commands/restore HTTP/1.1\r\nHost: x\r\nAuthorization: digest super:test\r\n\
         Content-Length: {}\r\n\r\n",
        (128 << 20) + 1
    );
    socket.write_all(head.as_bytes()).await.unwrap();
    let mut answer = vec![0u8; 12];
    tokio::time::timeout(WAIT, socket.read_exact(&mut answer)).await.unwrap().unwrap();
    assert_eq!(&answer, b"HTTP/1.1 413");
    c.close().await;
    a.server.stop().await;

    let a = start_admin(&format!("{SUPER}zookeeper.admin.restore.enabled=false\n")).await;
    assert_eq!(restore(a.admin, &image).await.0, 503, "disabled, as ZooKeeper's flag says");
    a.server.stop().await;
}

#[tokio::test]
async fn a_restore_sent_to_a_follower_replaces_every_members_tree() {
    let (mut cluster, leader, follower) = three_members().await;
    let mut c = Client::connect(cluster.addr(leader)).await;
    for i in 0..20 {
        c.create(&format!("/n{i}"), format!("{i}").as_bytes(), 0).await.unwrap();
    }
    assert!(cluster.converged_with(leader).await);
    let image = take_snapshot(cluster.members[follower].admin).await;
    let before = dump_tree(&mut c).await;
    for i in 0..20 {
        c.set_data(&format!("/n{i}"), b"later", -1).await.unwrap();
    }
    c.create("/later", b"", 0).await.unwrap();

    let (status, json) = restore(cluster.members[follower].admin, &image).await;
    assert_eq!(status, 200, "{json}");
    assert!(cluster.converged_with(follower).await);
    for i in 0..3 {
        let mut reader = Client::connect(cluster.addr(i)).await;
        reader.sync("/").await;
        assert_eq!(dump_tree(&mut reader).await, before, "member {}", i + 1);
        reader.close().await;
    }
    // A member that restarts replays the restore from its log to the same tree.
    cluster.stop(follower).await;
    cluster.start(follower).await;
    assert!(cluster.converged_with(leader).await);
    let mut reader = Client::connect(cluster.addr(follower)).await;
    reader.sync("/").await;
    assert_eq!(dump_tree(&mut reader).await, before, "after a restart");
    reader.close().await;
    cluster.stop_all().await;
}

#[tokio::test]
async fn an_admin_connection_that_sits_idle_is_closed() {
    // Well inside hyper's own 10 s head timeout, so only the idle timeout can close these.
    let within = std::time::Duration::from_secs(5);
    let a = start_admin(&format!("{SUPER}admin.idleTimeout=300\n")).await;
    let mut socket = tokio::net::TcpStream::connect(a.admin).await.unwrap();
    socket.write_all(b"GET /commands/ruok HTTP/1.1\r\nHost: x\r\n\r\n").await.unwrap();
    let mut answer = Vec::new();
    let read = tokio::time::timeout(within, socket.read_to_end(&mut answer)).await;
    assert!(read.is_ok(), "closed after its answer, once idle");
    assert!(answer.starts_with(b"HTTP/1.1 200"), "{}", String::from_utf8_lossy(&answer));

    // A restore whose announced body stops coming is cut off too.
    let mut socket = tokio::net::TcpStream::connect(a.admin).await.unwrap();
    let head = "POST /commands/restore HTTP/1.1\r\nHost: x\r\n\
                Authorization: digest super:test\r\nContent-Length: 1000\r\n\r\npart";
    socket.write_all(head.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    let read = tokio::time::timeout(within, socket.read_to_end(&mut answer)).await;
    assert!(read.is_ok(), "a body that stops coming is not waited for");
    a.server.stop().await;
}

/// A snapshot of several megabytes goes through the log in parts of a megabyte, each a txn
/// small enough to reach the other members within a heartbeat (a single entry of the whole
/// snapshot would not, on this cluster's 100 ms tick).
#[tokio::test]
async fn a_snapshot_of_many_parts_restores_on_every_member() {
    let (cluster, leader, follower) = three_members().await;
    let mut c = Client::connect(cluster.addr(leader)).await;
    let blob = vec![7u8; 1_000_000];
    for i in 0..12 {
        c.create(&format!("/n{i}"), &blob, 0).await.unwrap();
    }
    assert!(cluster.converged_with(leader).await);
    let image = take_snapshot(cluster.members[follower].admin).await;
    assert!(image.len() > 12_000_000, "{} bytes", image.len());
    for i in 0..12 {
        assert_eq!(c.delete(&format!("/n{i}"), -1).await, 0);
    }
    let (status, json) = restore(cluster.members[follower].admin, &image).await;
    assert_eq!(status, 200, "{json}");
    assert!(cluster.converged_with(follower).await);
    for i in 0..3 {
        let mut reader = Client::connect(cluster.addr(i)).await;
        reader.sync("/").await;
        let (data, _) = reader.get_data("/n11", false).await.unwrap();
        assert_eq!(data.as_deref(), Some(&blob[..]), "member {}", i + 1);
        reader.close().await;
    }
    cluster.stop_all().await;
}
