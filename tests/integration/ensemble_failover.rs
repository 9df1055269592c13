//! An ensemble losing and regaining members: the leader stopped, a follower behind by log
//! or by snapshot, an observer, five members with two down, a session expiring across a
//! leader change.

use crate::common;

use common::cluster::Cluster;
use common::{eventually, Client};
use corral::replication::Role;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_leader_stopped_a_new_one_leads_and_sessions_keep_their_ephemerals() {
    let mut cluster = Cluster::new(3, 0).await;
    cluster.start_all().await;
    let old = cluster.leader().await;
    let follower = (old + 1) % 3;
    let mut client = Client::connect(cluster.addr(follower)).await;
    assert!(client.create("/owned", b"", 1).await.is_ok(), "an ephemeral");
    let mut acknowledged = Vec::new();
    for i in 0..20 {
        let path = format!("/w{i}");
        assert!(client.create(&path, b"v", 0).await.is_ok());
        acknowledged.push(path);
    }
    let (session, passwd) = (client.session_id, client.passwd.clone());
    cluster.stop(old).await;
    let new = cluster.leader().await;
    assert_ne!(new, old);
    // Its member lost its leader, so the client was disconnected; it resumes on a survivor.
    drop(client);
    let mut client = cluster.resume(session, &passwd).await;
    client.sync("/").await;
    assert_eq!(client.exists("/owned", false).await.unwrap().ephemeral_owner, session);
    for path in &acknowledged {
        assert!(client.exists(path, false).await.is_ok(), "{path} acknowledged, then lost");
    }
    assert!(client.create("/after", b"", 0).await.is_ok(), "writes go on");
    cluster.stop_all().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_follower_restarted_catches_up_from_the_log() {
    let mut cluster = Cluster::new(3, 0).await;
    cluster.start_all().await;
    let leader = cluster.leader().await;
    let lagging = (leader + 1) % 3;
    cluster.stop(lagging).await;
    let mut client = Client::connect(cluster.addr(leader)).await;
    for i in 0..50 {
        assert!(client.create(&format!("/n{i}"), b"x", 0).await.is_ok());
    }
    cluster.start(lagging).await;
    assert!(cluster.converged_with(leader).await, "caught up: {:?}", cluster.zxid(lagging));
    let mut reader = Client::connect(cluster.addr(lagging)).await;
    assert_eq!(reader.children("/", false).await.unwrap().len(), 51, "50 and /zookeeper");
    cluster.stop_all().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_behind_a_purged_log_catches_up_by_snapshot() {
    let mut cluster = Cluster::with_config(3, 0, "snapCount=20\n").await;
    cluster.start_all().await;
    let leader = cluster.leader().await;
    let lagging = (leader + 2) % 3;
    cluster.stop(lagging).await;
    let mut client = Client::connect(cluster.addr(leader)).await;
    // Enough txns for several snapshots: the leader keeps 3 and purges the log before them.
    for i in 0..200 {
        assert!(client.create(&format!("/s{i}"), &[i as u8; 100], 0).await.is_ok());
    }
    let purged = eventually(|| async { snapshots(&cluster, leader) >= 3 }).await;
    assert!(purged, "the leader snapshotted");
    cluster.start(lagging).await;
    assert!(cluster.converged_with(leader).await, "caught up by snapshot");
    let mut reader = Client::connect(cluster.addr(lagging)).await;
    let (data, _) = reader.get_data("/s199", false).await.unwrap();
    assert_eq!(data, Some(vec![199; 100]));
    assert!(snapshots(&cluster, lagging) >= 1, "it installed a snapshot it received");
    cluster.stop_all().await;
}

fn snapshots(cluster: &Cluster, i: usize) -> usize {
    let dir = cluster.members[i].dir.path().join("corral/snapshots");
    let entries = std::fs::read_dir(dir).map(|d| d.flatten().collect::<Vec<_>>());
    let names = entries.unwrap_or_default().into_iter().map(|e| e.file_name());
    names.filter(|n| n.to_string_lossy().starts_with("snap-")).count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_observer_serves_and_forwards_but_does_not_vote() {
    let mut cluster = Cluster::new(3, 1).await;
    cluster.start_all().await;
    cluster.leader().await;
    let observing = eventually(|| async { cluster.role(3) == Some(Role::Observer) }).await;
    assert!(observing, "roles {:?}", cluster.roles());
    let mut client = Client::connect(cluster.addr(3)).await;
    assert!(client.create("/via-observer", b"o", 0).await.is_ok(), "it forwards writes");
    let (data, _) = client.get_data("/via-observer", false).await.unwrap();
    assert_eq!(data.as_deref(), Some(&b"o"[..]));
    // Two voters down: one voter and the observer are not a quorum.
    let leader = cluster.leader().await;
    let others: Vec<usize> = (0..3).filter(|i| *i != leader).collect();
    cluster.stop(others[0]).await;
    cluster.stop(leader).await;
    let stopped = eventually(|| async { cluster.role(others[1]) == Some(Role::NoLeader) }).await;
    assert!(stopped, "no quorum without two voters: {:?}", cluster.roles());
    assert!(Client::try_connect(cluster.addr(3)).await.is_none(), "the observer stops serving");
    cluster.stop_all().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_members_with_two_down_keep_serving() {
    let mut cluster = Cluster::new(5, 0).await;
    cluster.start_all().await;
    let leader = cluster.leader().await;
    cluster.stop((leader + 1) % 5).await;
    cluster.stop(leader).await;
    let survivor = (leader + 2) % 5;
    cluster.leader().await;
    let mut client = Client::connect(cluster.addr(survivor)).await;
    assert!(client.create("/three-of-five", b"", 0).await.is_ok());
    cluster.stop_all().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_vanished_clients_session_expires_after_a_leader_change_everywhere() {
    let mut cluster = Cluster::new(3, 0).await;
    cluster.start_all().await;
    let leader = cluster.leader().await;
    let (a, b) = ((leader + 1) % 3, (leader + 2) % 3);
    let mut vanishing = Client::connect(cluster.addr(a)).await;
    assert!(vanishing.create("/gone", b"", 1).await.is_ok());
    let session = vanishing.session_id;
    drop(vanishing);
    let mut watcher = Client::connect(cluster.addr(b)).await;
    watcher.sync("/").await;
    assert!(watcher.exists("/gone", true).await.is_ok());
    let (watcher_session, passwd) = (watcher.session_id, watcher.passwd.clone());
    cluster.stop(leader).await;
    cluster.leader().await;
    drop(watcher);
    let mut watcher = cluster.resume(watcher_session, &passwd).await;
    // The new leader gives the session a full timeout, then expires it: the ephemeral goes.
    let deadline = tokio::time::Instant::now() + common::WAIT;
    while watcher.exists("/gone", false).await.is_ok() {
        assert!(tokio::time::Instant::now() < deadline, "session 0x{session:x} never expired");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let expired_everywhere = eventually(|| async {
        (0..3).filter(|i| cluster.role(*i).is_some()).all(|i| !session_known(&cluster, i, session))
    })
    .await;
    assert!(expired_everywhere);
    cluster.stop_all().await;
}

fn session_known(cluster: &Cluster, i: usize, session: i64) -> bool {
    cluster.members[i].server.as_ref().unwrap().node.session_exists(session)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partitioned_minority_stops_serving_and_the_majority_goes_on_until_it_heals() {
    let mut cluster = Cluster::new(3, 0).await;
    cluster.start_all().await;
    let old = cluster.leader().await;
    let mut isolated = Client::connect(cluster.addr(old)).await;
    assert!(isolated.create("/before", b"", 0).await.is_ok());
    cluster.partition(&[old]);
    // The old leader hears no quorum: it stops serving and closes its clients.
    assert!(isolated.closed().await, "the minority closes its clients");
    let stopped = eventually(|| async { cluster.role(old) == Some(Role::NoLeader) }).await;
    assert!(stopped, "roles {:?}", cluster.roles());
    assert!(Client::try_connect(cluster.addr(old)).await.is_none(), "and refuses new ones");
    let majority = (old + 1) % 3;
    let new = eventually(|| async {
        cluster.role(majority) == Some(Role::Leader)
            || cluster.role((old + 2) % 3) == Some(Role::Leader)
    })
    .await;
    assert!(new, "the majority elects: {:?}", cluster.roles());
    let mut client = Client::connect(cluster.addr(majority)).await;
    for i in 0..10 {
        assert!(client.create(&format!("/during{i}"), b"", 0).await.is_ok());
    }
    cluster.heal();
    let leader = cluster.leader().await;
    assert!(cluster.converged_with(leader).await);
    let mut rejoined = Client::connect(cluster.addr(old)).await;
    rejoined.sync("/").await;
    assert!(rejoined.exists("/during9", false).await.is_ok(), "the minority caught up");
    assert!(rejoined.exists("/before", false).await.is_ok());
    cluster.stop_all().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rolling_restart_keeps_every_session_and_acknowledged_write() {
    let mut cluster = Cluster::new(3, 0).await;
    cluster.start_all().await;
    cluster.leader().await;
    let mut client = Client::connect(cluster.addr(0)).await;
    assert!(client.create("/mine", b"", 1).await.is_ok(), "an ephemeral");
    let (session, passwd) = (client.session_id, client.passwd.clone());
    let mut acknowledged = Vec::new();
    for i in 0..3 {
        cluster.stop(i).await;
        cluster.leader().await;
        cluster.start(i).await;
        let leader = cluster.leader().await;
        assert!(cluster.converged_with(leader).await, "member {i} caught up");
        // The client's server may have gone, or lost its leader: it resumes anywhere.
        drop(client);
        client = cluster.resume(session, &passwd).await;
        for k in 0..5 {
            let path = format!("/roll{i}-{k}");
            assert!(client.create(&path, b"", 0).await.is_ok());
            acknowledged.push(path);
        }
    }
    let leader = cluster.leader().await;
    assert!(cluster.converged_with(leader).await);
    for i in 0..3 {
        let mut reader = Client::connect(cluster.addr(i)).await;
        assert_eq!(reader.exists("/mine", false).await.unwrap().ephemeral_owner, session);
        for path in &acknowledged {
            assert!(reader.exists(path, false).await.is_ok(), "{path} on member {i}");
        }
    }
    cluster.stop_all().await;
}

/// Found by the fault campaign (seed 12): a session's member was killed, the client came
/// back to it most of a timeout later, stayed idle, and the leader expired the session
/// under it: the reconnect never reached the leader, as no txn was needed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reconnect_to_the_member_owning_the_session_reaches_the_leader() {
    let mut cluster = Cluster::new(3, 0).await;
    cluster.start_all().await;
    let leader = cluster.leader().await;
    let owner = (leader + 1) % 3;
    let request = common::connect_request(0, vec![0; 16], 2_000);
    let mut client = Client::resume(cluster.addr(owner), request).await.expect("connects");
    assert!(client.create("/kept", b"", 1).await.is_ok());
    let (session, passwd, timeout_ms) =
        (client.session_id, client.passwd.clone(), client.timeout_ms);
    drop(client);
    // Away for most of its timeout (the test's subject is time itself), then back and idle.
    let timeout = std::time::Duration::from_millis(timeout_ms as u64);
    tokio::time::sleep(timeout * 7 / 10).await;
    let request = common::connect_request(session, passwd, timeout_ms);
    let mut back = Client::resume(cluster.addr(owner), request).await.expect("still live");
    tokio::time::sleep(timeout * 6 / 10).await;
    assert!(back.exists("/kept", false).await.is_ok(), "session 0x{session:x} kept its ephemeral");
    cluster.stop_all().await;
}
