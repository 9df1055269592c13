//! An ensemble of corral servers in one process, over real TCP: formation, writes through
//! every member read on every member, watches across members.

use crate::common;

use common::cluster::Cluster;
use common::{eventually, Client};
use corral::replication::Role;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_members_form_in_any_order_and_serve_only_once_a_leader_is_known() {
    let mut cluster = Cluster::new(3, 0).await;
    cluster.start(2).await;
    // Alone, a member has no quorum: it knows no leader and refuses clients.
    assert_eq!(cluster.role(2), Some(Role::NoLeader));
    let mut refused = Client::try_connect(cluster.addr(2)).await;
    assert!(refused.is_none(), "a member without a leader does not serve");
    cluster.start(0).await;
    let leader = cluster.leader().await;
    assert!(leader == 0 || leader == 2, "a quorum of two elects one of them");
    cluster.start(1).await;
    cluster.leader().await;
    let joined = eventually(|| async { cluster.role(1) == Some(Role::Follower) }).await;
    assert!(joined, "the third member follows: {:?}", cluster.roles());
    refused.take();
    cluster.stop_all().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_through_each_member_is_read_on_every_member() {
    let mut cluster = Cluster::new(3, 0).await;
    cluster.start_all().await;
    cluster.leader().await;
    let mut clients = Vec::new();
    for i in 0..3 {
        clients.push(Client::connect(cluster.addr(i)).await);
    }
    for (i, client) in clients.iter_mut().enumerate() {
        let path = format!("/from-{i}");
        assert_eq!(client.create(&path, format!("{i}").as_bytes(), 0).await, Ok(path));
    }
    for client in clients.iter_mut() {
        // sync, then every write acknowledged before it is visible here.
        client.sync("/").await;
        for i in 0..3 {
            let (data, stat) = client.get_data(&format!("/from-{i}"), false).await.unwrap();
            assert_eq!(data.as_deref(), Some(format!("{i}").as_bytes()));
            assert_eq!(stat.version, 0);
        }
    }
    for client in clients {
        client.close().await;
    }
    cluster.stop_all().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_watch_on_one_member_fires_for_a_write_through_another_before_its_reply() {
    let mut cluster = Cluster::new(3, 0).await;
    cluster.start_all().await;
    let leader = cluster.leader().await;
    let (a, b) = ((leader + 1) % 3, (leader + 2) % 3);
    let mut watcher = Client::connect(cluster.addr(a)).await;
    let mut writer = Client::connect(cluster.addr(b)).await;
    assert!(writer.create("/w", b"1", 0).await.is_ok());
    watcher.sync("/").await;
    watcher.get_data("/w", true).await.unwrap();
    writer.set_data("/w", b"2", -1).await.unwrap();
    // The watcher's next read, after the event, shows the new data: the event comes first.
    let event = watcher.event().await;
    assert_eq!((event.event_type, event.path.as_str()), (3, "/w"), "NodeDataChanged");
    let (data, _) = watcher.get_data("/w", false).await.unwrap();
    assert_eq!(data.as_deref(), Some(&b"2"[..]));
    cluster.stop_all().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_moves_to_another_member_with_its_ephemerals() {
    let mut cluster = Cluster::new(3, 0).await;
    cluster.start_all().await;
    let leader = cluster.leader().await;
    let (a, b) = ((leader + 1) % 3, (leader + 2) % 3);
    let mut first = Client::connect(cluster.addr(a)).await;
    assert!(first.create("/eph", b"", 1).await.is_ok(), "an ephemeral");
    let (session_id, passwd) = (first.session_id, first.passwd.clone());
    let request = common::connect_request(session_id, passwd.clone(), 30_000);
    let mut moved = Client::resume(cluster.addr(b), request).await.expect("accepted elsewhere");
    moved.sync("/").await;
    let stat = moved.exists("/eph", false).await.unwrap();
    assert_eq!(stat.ephemeral_owner, session_id);
    let mut wrong = passwd;
    wrong[0] ^= 1;
    let forged = common::connect_request(session_id, wrong, 30_000);
    assert!(Client::resume(cluster.addr(leader), forged).await.is_none(), "wrong password");
    // A write through the member the session left: ZooKeeper (since ZOOKEEPER-710) closes
    // that connection rather than answer SESSIONMOVED, and applies nothing.
    let request = jute::CreateRequest {
        path: "/late".into(),
        data: Some(vec![]),
        acl: common::open_acl(),
        flags: 0,
    };
    first.send(jute::Request::Create(request)).await;
    assert!(first.closed().await, "the stale connection is closed");
    moved.sync("/").await;
    assert!(moved.exists("/late", false).await.is_err(), "nothing applied for it");
    cluster.stop_all().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_letter_words_and_zookeeper_config_report_the_ensemble() {
    let mut cluster = Cluster::with_config(3, 0, "4lw.commands.whitelist=*\n").await;
    cluster.start(0).await;
    let alone = common::four_letter(cluster.addr(0), "srvr").await;
    assert_eq!(alone, "This ZooKeeper instance is not currently serving requests\n");
    assert_eq!(common::four_letter(cluster.addr(0), "ruok").await, "imok");
    assert_eq!(common::four_letter(cluster.addr(0), "isro").await, "null");
    cluster.start(1).await;
    cluster.start(2).await;
    let leader = cluster.leader().await;
    let follower = (leader + 1) % 3;
    assert!(common::four_letter(cluster.addr(leader), "srvr").await.contains("Mode: leader\n"));
    let srvr = common::four_letter(cluster.addr(follower), "srvr").await;
    assert!(srvr.contains("Mode: follower\n"), "{srvr}");
    let synced = eventually(|| async {
        let mntr = common::four_letter(cluster.addr(leader), "mntr").await;
        mntr.contains("zk_synced_followers\t2\n")
    })
    .await;
    assert!(synced, "the leader counts both followers");
    let mntr = common::four_letter(cluster.addr(leader), "mntr").await;
    for line in ["zk_server_state\tleader\n", "zk_peer_state\tleading - broadcast\n"] {
        assert!(mntr.contains(line), "{line} in {mntr}");
    }
    assert!(mntr.contains("zk_quorum_size\t3\n") && mntr.contains("zk_learners\t2\n"), "{mntr}");
    let mntr = common::four_letter(cluster.addr(follower), "mntr").await;
    assert!(mntr.contains("zk_server_state\tfollower\n"), "{mntr}");
    assert!(!mntr.contains("zk_learners"), "leader-only keys: {mntr}");
    let expected: String = cluster
        .members
        .iter()
        .map(|m| format!("server.{}=127.0.0.1:{}:{}:participant\n", m.id, m.quorum.port(), m.id))
        .collect::<String>()
        + "version=0";
    let conf = common::four_letter(cluster.addr(follower), "conf").await;
    assert!(conf.contains(&format!("membership: \n{expected}\n")), "{conf}");
    assert!(conf.contains(&format!("serverId={}\n", follower + 1)), "{conf}");
    let mut client = Client::connect(cluster.addr(follower)).await;
    let (data, stat) = client.get_data("/zookeeper/config", false).await.unwrap();
    assert_eq!(String::from_utf8(data.unwrap()).unwrap(), expected);
    assert_eq!((stat.version, stat.mzxid), (-1, 0));
    cluster.stop_all().await;
}

/// The pattern the official docker image's documentation long showed: each member names
/// itself 0.0.0.0 (so it binds every address) where the others name its host.
#[tokio::test]
async fn members_that_name_themselves_0_0_0_0_form_one_ensemble() {
    let mut cluster = Cluster::new(3, 0).await;
    let shared = cluster.text.clone();
    for i in 0..3 {
        let port = cluster.members[i].quorum.port();
        cluster.text = shared.replace(&format!("127.0.0.1:{port}:"), &format!("0.0.0.0:{port}:"));
        cluster.start(i).await;
    }
    let leader = cluster.leader().await;
    let mut c = Client::connect(cluster.addr((leader + 1) % 3)).await;
    assert!(c.create("/formed", b"", 0).await.is_ok());
    cluster.stop_all().await;
}
