//! The crash test, ensemble version: three corral processes; in each of 21 rounds, sessions
//! write through every member while one member (the leader every third round) is killed with
//! SIGKILL and started again. After each round every acknowledged write is on every member
//! with the zxid and version it was acknowledged with; at the end every member's whole tree
//! is the same.

use crate::common;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;

use common::processes::Processes;
use common::{dump_tree, Client};
use jute::{CreateRequest, Request, Response, SetDataRequest};
use parking_lot::Mutex;

/// path -> (czxid, mzxid, version) as acknowledged.
type Acked = Arc<Mutex<BTreeMap<String, (i64, i64, i32)>>>;

const ROUNDS: usize = 21;
const WRITES_PER_SESSION: usize = 40;

/// One session writing through `addr` until it is done or its connection fails: each node is
/// created, then its data set once; what was acknowledged is recorded.
async fn write(addr: SocketAddr, prefix: String, acked: Acked) {
    let Some(mut client) = Client::try_connect(addr).await else { return };
    for k in 0..WRITES_PER_SESSION {
        let path = format!("{prefix}-{k}");
        let create = CreateRequest {
            path: path.as_str().into(),
            data: Some(b"c".to_vec()),
            acl: common::open_acl(),
            flags: 0,
        };
        let Some((header, _)) = client.try_call(Request::Create(create)).await else { return };
        assert_eq!(header.err, 0, "create {path}");
        acked.lock().insert(path.clone(), (header.zxid, header.zxid, 0));
        let set =
            SetDataRequest { path: path.as_str().into(), data: Some(b"s".to_vec()), version: 0 };
        let Some((header, body)) = client.try_call(Request::SetData(set)).await else { return };
        let Some(Response::Stat(stat)) = body else { panic!("setData {path}: {}", header.err) };
        assert_eq!((stat.stat.mzxid, stat.stat.version), (header.zxid, 1));
        acked.lock().insert(path, (stat.stat.czxid, stat.stat.mzxid, 1));
    }
}

/// Every acknowledged write, on member `addr`, as acknowledged.
async fn check_member(addr: SocketAddr, acked: &BTreeMap<String, (i64, i64, i32)>) {
    let mut client = Client::connect(addr).await;
    client.sync("/").await;
    for (path, (czxid, mzxid, version)) in acked {
        let stat = client.exists(path, false).await.unwrap_or_else(|e| panic!("{path}: {e}"));
        assert_eq!(stat.czxid, *czxid, "{path} czxid on {addr}");
        // A later write of ours may have been acknowledged after the recorded one was read.
        assert!(stat.mzxid >= *mzxid && stat.version >= *version, "{path} on {addr}: {stat:?}");
    }
    client.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn members_killed_at_random_lose_no_acknowledged_write() {
    let seed = std::env::var("CRASH_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(0x5eed_u64);
    let mut rng = seed;
    let mut next = move |n: usize| {
        rng = rng.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (rng >> 33) as usize % n
    };
    eprintln!("crash seed {seed} (CRASH_SEED to repeat)");
    let mut cluster = Processes::new(3).await;
    (0..3).for_each(|i| cluster.start(i));
    let mut leader = cluster.settled().await;
    let acked: Acked = Arc::default();
    for round in 0..ROUNDS {
        let victim = if round % 3 == 0 { leader } else { next(3) };
        let before = acked.lock().len();
        let writers: Vec<_> = cluster
            .running()
            .into_iter()
            .map(|i| {
                let addr = cluster.addrs[i].unwrap();
                tokio::spawn(write(addr, format!("/r{round}-m{i}"), acked.clone()))
            })
            .collect();
        // Kill while the sessions are writing: once some of this round's writes are in.
        let started = common::eventually(|| async { acked.lock().len() >= before + 6 }).await;
        assert!(started, "round {round}: no writes acknowledged");
        cluster.kill(victim);
        for writer in writers {
            writer.await.expect("a writer panicked");
        }
        let during = acked.lock().len() - before;
        cluster.start(victim);
        leader = cluster.settled().await;
        eprintln!("round {round}: killed member {victim}; {during} writes acknowledged around it");
        let acked_now = acked.lock().clone();
        for i in cluster.running() {
            check_member(cluster.addrs[i].unwrap(), &acked_now).await;
        }
    }
    let mut dumps = Vec::new();
    for i in 0..3 {
        let mut client = Client::connect(cluster.addrs[i].unwrap()).await;
        client.sync("/").await;
        dumps.push(dump_tree(&mut client).await);
    }
    assert!(acked.lock().len() > ROUNDS * 10, "{} writes acknowledged", acked.lock().len());
    assert_eq!(dumps[0], dumps[1], "members 1 and 2 differ");
    assert_eq!(dumps[0], dumps[2], "members 1 and 3 differ");
}
