//! Crash test: sessions write pipelined (sequential creates, setData, multi) while the corral
//! process is killed with SIGKILL at random moments and restarted. After each restart every
//! acknowledged write is present with its acknowledged zxid and version, no multi is half
//! applied, and zxids keep increasing. A small snapCount keeps snapshots and log purges going,
//! so kills also land in the middle of them and restarts load snapshots. `CORRAL_CRASH_ROUNDS`
//! sets the rounds (default 6; the documented long run uses 25).

use crate::common;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::process::Child;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::*;
use jute::*;

/// What the clients were told succeeded.
#[derive(Default)]
struct Ledger {
    /// Created path -> the create's zxid.
    created: HashMap<String, i64>,
    /// Each session's own node -> (highest acknowledged version, its mzxid).
    versions: HashMap<String, (i32, i64)>,
    /// Multi pairs attempted (acknowledged or not), and the acknowledged ones' zxids.
    pairs: Vec<(String, String, Option<i64>)>,
    max_zxid: i64,
}

fn spawn(dir: &std::path::Path) -> (Child, SocketAddr) {
    let cfg = dir.join("zoo.cfg");
    std::fs::write(
        &cfg,
        format!(
            "tickTime=2000\ndataDir={}\nclientPort=0\nmaxClientCnxns=0\nsnapCount=500\nadmin.enableServer=false\n",
            dir.join("data").display()
        ),
    )
    .unwrap();
    let (child, addr, _) = spawn_binary(&cfg);
    (child, addr)
}

fn random(seed: &mut u64) -> u64 {
    *seed ^= *seed << 13;
    *seed ^= *seed >> 7;
    *seed ^= *seed << 17;
    *seed
}

/// One session writing until its connection dies.
async fn writer(addr: SocketAddr, id: usize, round: usize, ledger: Arc<Mutex<Ledger>>) {
    let Some(mut c) = Client::resume(addr, connect_request(0, vec![], 30_000)).await else {
        return;
    };
    let own = format!("/crash/s{id}");
    let open = open_acl();
    let mut sent: std::collections::VecDeque<(Request, Option<usize>)> = Default::default();
    let mut n = 0usize;
    loop {
        while sent.len() < 16 {
            n += 1;
            let (request, pair) = match n % 3 {
                0 => (
                    Request::Create(CreateRequest {
                        path: format!("{own}/n-").into(),
                        data: Some(vec![7; 64]),
                        acl: open.clone(),
                        flags: 2,
                    }),
                    None,
                ),
                1 => (
                    Request::SetData(SetDataRequest {
                        path: own.as_str().into(),
                        data: Some(n.to_be_bytes().to_vec()),
                        version: -1,
                    }),
                    None,
                ),
                _ => {
                    let (a, b) = (format!("{own}/a-{round}-{n}"), format!("{own}/b-{round}-{n}"));
                    let op = |p: &str| {
                        MultiOp::Create(
                            OpCode::Create,
                            CreateRequest {
                                path: p.into(),
                                data: None,
                                acl: open.clone(),
                                flags: 0,
                            },
                        )
                    };
                    let mut l = ledger.lock().unwrap();
                    l.pairs.push((a.clone(), b.clone(), None));
                    (
                        Request::Multi(MultiRequest { ops: vec![op(&a), op(&b)] }),
                        Some(l.pairs.len() - 1),
                    )
                }
            };
            c.send(request.clone()).await;
            sent.push_back((request, pair));
        }
        let Some(Incoming::Reply(header, body)) = c.next().await else { return };
        let (_, pair) = sent.pop_front().unwrap();
        let mut l = ledger.lock().unwrap();
        l.max_zxid = l.max_zxid.max(header.zxid);
        match body {
            Some(Response::Create(r)) => {
                l.created.insert(r.path.to_string(), header.zxid);
            }
            Some(Response::Stat(r)) => {
                let entry = l.versions.entry(own.clone()).or_insert((-1, 0));
                if r.stat.version > entry.0 {
                    *entry = (r.stat.version, r.stat.mzxid);
                }
            }
            Some(Response::Multi(m))
                if m.results.iter().all(|r| matches!(r, MultiResult::Create(_))) =>
            {
                l.pairs[pair.unwrap()].2 = Some(header.zxid);
            }
            _ => {}
        }
    }
}

async fn verify(addr: SocketAddr, ledger: &Ledger, round: usize) {
    let mut c = Client::connect(addr).await;
    for (path, zxid) in &ledger.created {
        let stat = c
            .exists(path, false)
            .await
            .unwrap_or_else(|e| panic!("round {round}: acknowledged {path} lost ({e})"));
        assert_eq!(stat.czxid, *zxid, "round {round}: {path} has another czxid");
    }
    for (path, (version, mzxid)) in &ledger.versions {
        let stat = c.exists(path, false).await.unwrap();
        assert!(
            stat.version >= *version,
            "round {round}: {path} went back to version {}",
            stat.version
        );
        if stat.version == *version {
            assert_eq!(
                stat.mzxid, *mzxid,
                "round {round}: {path} version {version} has another mzxid"
            );
        }
    }
    for (a, b, acked) in &ledger.pairs {
        let (sa, sb) = (c.exists(a, false).await, c.exists(b, false).await);
        assert_eq!(
            sa.is_ok(),
            sb.is_ok(),
            "round {round}: multi half applied: {a} {sa:?} / {b} {sb:?}"
        );
        if let Some(zxid) = acked {
            assert_eq!(
                sa.map(|s| s.czxid),
                Ok(*zxid),
                "round {round}: acknowledged multi {a} lost"
            );
        }
    }
    let (h, _) = c.call(Request::Sync(PathRequest { path: "/".into() })).await;
    assert!(
        h.zxid >= ledger.max_zxid,
        "round {round}: zxid went back from 0x{:x} to 0x{:x}",
        ledger.max_zxid,
        h.zxid
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_writes_survive_sigkill() {
    let rounds: usize =
        std::env::var("CORRAL_CRASH_ROUNDS").ok().and_then(|v| v.parse().ok()).unwrap_or(6);
    let mut seed = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos() as u64 | 1;
    println!("crash test: {rounds} rounds, seed {seed}");
    let dir = tempfile::tempdir().unwrap();
    let ledger = Arc::new(Mutex::new(Ledger::default()));
    let (mut child, addr) = spawn(dir.path());
    let mut setup = Client::connect(addr).await;
    setup.create("/crash", b"", 0).await.unwrap();
    for id in 0..4 {
        setup.create(&format!("/crash/s{id}"), b"", 0).await.unwrap();
    }
    let mut addr = addr;
    for round in 0..rounds {
        let writers: Vec<_> =
            (0..4).map(|id| tokio::spawn(writer(addr, id, round, ledger.clone()))).collect();
        tokio::time::sleep(Duration::from_millis(100 + random(&mut seed) % 400)).await;
        child.kill().unwrap();
        child.wait().unwrap();
        for w in writers {
            let _ = w.await;
        }
        let (next, next_addr) = spawn(dir.path());
        (child, addr) = (next, next_addr);
        let snapshot = std::mem::take(&mut *ledger.lock().unwrap());
        let multis = snapshot.pairs.iter().filter(|p| p.2.is_some()).count();
        println!(
            "round {round}: {} creates, {multis} multis acknowledged so far",
            snapshot.created.len()
        );
        verify(addr, &snapshot, round).await;
        *ledger.lock().unwrap() = snapshot;
    }
    child.kill().unwrap();
    child.wait().unwrap();
}
