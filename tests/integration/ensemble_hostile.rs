//! An ensemble against hostile or changed peers: a forged vote from the top of the term range,
//! an oversized frame before any handshake, a member whose address changed in zoo.cfg.

use crate::common;

use std::time::Duration;

use common::cluster::Cluster;
use common::peer::{closed_without_answer, impersonate, json_frame};
use common::Client;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forged_vote_from_the_top_of_the_term_range_is_refused_and_changes_nothing() {
    let mut cluster = Cluster::new(3, 0).await;
    cluster.start_all().await;
    let leader = cluster.leader().await;
    let other = cluster.members[(leader + 1) % 3].id;
    let mut forger = impersonate(&cluster, leader, other, "Raft").await;
    let top = u64::MAX;
    let vote = format!(
        r#"{{"vote":{{"leader_id":{{"term":{top},"node_id":{other}}},"committed":false}},"last_log_id":{{"leader_id":{{"term":{top},"node_id":{other}}},"index":4611686018427387904}}}}"#
    );
    forger.write_all(&json_frame(10, &vote)).await.unwrap();
    assert!(closed_without_answer(&mut forger).await, "no vote granted");
    assert_eq!(cluster.leader().await, leader, "the leader still leads");
    let mut client = Client::connect(cluster.addr(leader)).await;
    assert!(client.create("/still-writable", b"", 0).await.is_ok());
    cluster.stop_all().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_frame_announced_past_the_handshake_bound_closes_before_its_body_is_read() {
    let mut cluster = Cluster::new(3, 0).await;
    cluster.start_all().await;
    let leader = cluster.leader().await;
    let mut stranger = TcpStream::connect(cluster.members[leader].quorum).await.unwrap();
    // 64 MiB announced; nothing more is sent, so only a bounded buffer can close it at once.
    stranger.write_all(&(64u32 << 20).to_be_bytes()).await.unwrap();
    let mut byte = [0u8; 1];
    let answer = tokio::time::timeout(Duration::from_secs(2), stranger.read(&mut byte)).await;
    assert!(matches!(answer, Ok(Ok(0) | Err(_))), "closed at once: {answer:?}");
    cluster.stop_all().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_whose_address_changed_in_zoo_cfg_rejoins_at_the_new_one() {
    let mut cluster = Cluster::new(3, 0).await;
    cluster.start_all().await;
    let leader = cluster.leader().await;
    let mut client = Client::connect(cluster.addr(leader)).await;
    assert!(client.create("/kept", b"", 0).await.is_ok());
    drop(client);
    for i in 0..3 {
        cluster.stop(i).await;
    }
    let old = cluster.members[2].quorum;
    let new = std::net::SocketAddr::from(([127, 0, 0, 1], common::reserved_port()));
    cluster.text = cluster.text.replace(&format!("{old}:"), &format!("{new}:"));
    cluster.members[2].quorum = new;
    cluster.start_all().await;
    cluster.leader().await;
    let joined = common::eventually(|| async {
        cluster.role(2).is_some_and(|r| r != corral::replication::Role::NoLeader)
    })
    .await;
    assert!(joined, "member 3 serves at its new address: {:?}", cluster.roles());
    let mut reader = Client::connect(cluster.addr(2)).await;
    reader.sync("/").await;
    assert!(reader.exists("/kept", false).await.is_ok());
    cluster.stop_all().await;
}
