//! Snapshots: taken every snapCount txns while writes go on, pruned to snapRetainCount, and a
//! restart from the newest snapshot plus the log after it rebuilds exactly the same tree. Data
//! directories that are damaged or inconsistent are refused with a clear error.

use crate::common;

use std::path::{Path, PathBuf};

use common::*;
use jute::*;

fn snapshot_dirs(data: &Path) -> Vec<PathBuf> {
    let dir = data.join("corral/snapshots");
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|entries| entries.filter_map(Result::ok).map(|e| e.path()).collect())
        .unwrap_or_default();
    found.retain(|p| p.file_name().unwrap().to_string_lossy().starts_with("snap-"));
    found.sort();
    found
}

async fn wait_for_snapshots(data: &Path, count: usize) {
    assert!(
        eventually(|| async { snapshot_dirs(data).len() >= count }).await,
        "expected {count} snapshots in {}",
        data.display()
    );
}

fn readable_digest_acl() -> Vec<Acl> {
    vec![
        Acl::new(perms::READ, "world", "anyone"),
        Acl::new(perms::ALL, "digest", "user:tpl3I2YUC2Nkp1+TjkQ5TlGVzt8="),
    ]
}

/// Creates, updates, deletes, sequential, ephemeral and ACL'd nodes, and multis.
async fn varied_writes(c: &mut Client, rounds: usize) {
    c.create("/app", b"root", 0).await.unwrap();
    for i in 0..rounds {
        let path = format!("/app/n{i}");
        c.create(&path, format!("value {i}").as_bytes(), 0).await.unwrap();
        if i % 3 == 0 {
            c.set_data(&path, b"changed", 0).await.unwrap();
        }
        if i % 5 == 4 {
            assert_eq!(c.delete(&format!("/app/n{}", i - 1), -1).await, 0);
        }
        if i % 7 == 0 {
            c.create("/app/seq-", b"", 2).await.unwrap();
            c.create(&format!("/app/e{i}"), b"mine", 1).await.unwrap();
        }
        if i % 11 == 0 {
            assert_eq!(c.create_acl(&format!("/app/acl{i}"), readable_digest_acl()).await, 0);
            let ops = vec![
                MultiOp::Create(
                    OpCode::Create,
                    CreateRequest {
                        path: format!("/app/m{i}").as_str().into(),
                        data: Some(b"m".to_vec()),
                        acl: open_acl(),
                        flags: 0,
                    },
                ),
                MultiOp::SetData(SetDataRequest {
                    path: "/app".into(),
                    data: Some(format!("{i}").into_bytes()),
                    version: -1,
                }),
            ];
            let (h, _) = c.call(Request::Multi(MultiRequest { ops })).await;
            assert_eq!(h.err, 0);
        }
    }
}

#[tokio::test]
async fn a_restart_from_snapshot_and_log_rebuilds_the_same_tree() {
    let dir = tempfile::tempdir().unwrap();
    let config = "snapCount=100\nautopurge.snapRetainCount=3\ntickTime=2000\n";
    let server = start_in(dir.path(), config).await;
    let mut c = Client::connect(server.addr).await;
    varied_writes(&mut c, 700).await;
    wait_for_snapshots(dir.path(), 3).await;
    // Writes after the last snapshot are only in the log.
    c.create("/after-the-snapshot", b"log only", 0).await.unwrap();
    let before = dump_tree(&mut c).await;
    let (session, passwd) = (c.session_id, c.passwd.clone());
    drop(c);
    server.stop().await;
    let kept = snapshot_dirs(dir.path());
    assert_eq!(kept.len(), 3, "autopurge.snapRetainCount snapshots are kept: {kept:?}");

    let server = start_in(dir.path(), config).await;
    let mut c = Client::resume(server.addr, connect_request(session, passwd, 30_000))
        .await
        .expect("the session survived");
    let after = dump_tree(&mut c).await;
    assert_eq!(after.len(), before.len());
    assert_eq!(after, before, "the same nodes, data, Stats and ACLs");
    drop(c);
    server.stop().await;

    // The log was purged up to the oldest snapshot kept.
    let store = corral::store::LogStore::open(&dir.path().join("corral")).unwrap();
    assert!(store.range(0, 2, usize::MAX).unwrap().is_empty(), "the log's head was purged");
}

#[tokio::test]
async fn snapshots_taken_while_writes_continue_are_consistent() {
    let dir = tempfile::tempdir().unwrap();
    let config = "snapCount=25\ntickTime=2000\n";
    let server = start_in(dir.path(), config).await;
    let writers: Vec<_> = (0..4)
        .map(|w| {
            let addr = server.addr;
            tokio::spawn(async move {
                let mut c = Client::connect(addr).await;
                let path = format!("/w{w}");
                c.create(&path, b"0", 0).await.unwrap();
                for version in 0..150 {
                    let stat = c.set_data(&path, format!("{version}").as_bytes(), version).await;
                    assert_eq!(stat.expect("acknowledged").version, version + 1);
                    c.create(&format!("{path}/s-"), b"", 2).await.unwrap();
                }
            })
        })
        .collect();
    for writer in writers {
        writer.await.unwrap();
    }
    assert!(!snapshot_dirs(dir.path()).is_empty());
    let mut c = Client::connect(server.addr).await;
    let before = dump_tree(&mut c).await;
    drop(c);
    server.stop().await;

    // A snapshot holding any write from after its index would make the replayed setData
    // calls (each with an exact version) fail, and the tree would differ.
    let server = start_in(dir.path(), config).await;
    let mut c = Client::connect(server.addr).await;
    let after = dump_tree(&mut c).await;
    assert_eq!(after, before);
    for w in 0..4 {
        let (data, stat) = c.get_data(&format!("/w{w}"), false).await.unwrap();
        assert_eq!((data.as_deref(), stat.version), (Some(&b"149"[..]), 150));
        assert_eq!(c.children(&format!("/w{w}"), false).await.unwrap().len(), 150);
    }
    server.stop().await;
}

async fn start_error(data: &Path, config: &str) -> String {
    let text = format!("dataDir={}\n{config}", data.display());
    let config = corral::config::Config::from_text(&text).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let result = corral::server::Server::start(config, listener).await;
    result.err().expect("the server refused to start").to_string()
}

/// A stopped server's data directory, after some writes and at least `snapshots` snapshots,
/// and the tree it held.
async fn data_with_snapshots(config: &str, snapshots: usize) -> (tempfile::TempDir, TreeDump) {
    let dir = tempfile::tempdir().unwrap();
    let server = start_in(dir.path(), config).await;
    let mut c = Client::connect(server.addr).await;
    varied_writes(&mut c, 60).await;
    wait_for_snapshots(dir.path(), snapshots).await;
    let tree = dump_tree(&mut c).await;
    drop(c);
    server.stop().await;
    (dir, tree)
}

#[tokio::test]
async fn a_snapshot_whose_log_is_missing_is_refused() {
    let (dir, _) = data_with_snapshots("snapCount=20\n", 1).await;
    std::fs::remove_dir_all(dir.path().join("corral/log")).unwrap();
    let err = start_error(dir.path(), "snapCount=20\n").await;
    assert!(err.contains("the log") && err.contains("Refusing to start"), "{err}");
}

/// Rewrites one value in an LMDB env that corral wrote, as another program (or a newer
/// corral) might have.
fn overwrite(env_dir: &Path, db: &str, edit: impl FnOnce(&mut heed::RwTxn, &RawDb)) {
    // SAFETY: the server is stopped; this test is the only user of the env.
    let env = unsafe { heed::EnvOpenOptions::new().max_dbs(4).open(env_dir) }.unwrap();
    let rtxn = env.read_txn().unwrap();
    let database: RawDb = env
        .open_databases_and_commit(rtxn, |opener, rtxn| -> heed::Result<_> {
            let database = opener.open_database(rtxn, Some(db))?.expect("database exists");
            Ok(heed::CommitOrAbort::<_, ()>::Commit(database))
        })
        .unwrap()
        .unwrap_commit();
    let mut wtxn = env.write_txn().unwrap();
    edit(&mut wtxn, &database);
    wtxn.commit().unwrap();
    env.prepare_for_closing().wait();
}

type RawDb = heed::Database<'static, heed::types::Bytes, heed::types::Bytes>;

#[tokio::test]
async fn a_snapshot_of_an_unknown_format_is_refused() {
    let (dir, _) = data_with_snapshots("snapCount=20\n", 1).await;
    let newest = snapshot_dirs(dir.path()).pop().unwrap();
    overwrite(&newest, "meta", |wtxn, db| db.put(wtxn, b"format", b"corral-snapshot-99").unwrap());
    let err = start_error(dir.path(), "snapCount=20\n").await;
    assert!(err.contains("corral-snapshot-99") && err.contains("corral-snapshot-1"), "{err}");
}

#[tokio::test]
async fn a_newest_snapshot_of_an_unknown_state_format_is_refused_not_passed_over() {
    let (dir, _) = data_with_snapshots("snapCount=20\n", 2).await;
    let newest = snapshot_dirs(dir.path()).pop().unwrap();
    overwrite(&newest, "meta", |wtxn, db| {
        let mut state = db.get(wtxn, b"state").unwrap().expect("a state header").to_vec();
        state[0] = 99;
        db.put(wtxn, b"state", &state).unwrap();
    });
    let err = start_error(dir.path(), "snapCount=20\n").await;
    assert!(err.contains("state format 99"), "{err}");
}

#[tokio::test]
async fn a_damaged_newest_snapshot_is_passed_over_for_an_older_one() {
    let config = "snapCount=20\n";
    let (dir, before) = data_with_snapshots(config, 2).await;
    // As a power loss might leave it: the newest snapshot's directory without its data.
    let newest = snapshot_dirs(dir.path()).pop().unwrap();
    std::fs::remove_file(newest.join("data.mdb")).unwrap();

    let server = start_in(dir.path(), config).await;
    let mut c = Client::connect(server.addr).await;
    let after = dump_tree(&mut c).await;
    assert_eq!(after, before, "the older snapshot and the log rebuilt the same tree");
    server.stop().await;
}

#[tokio::test]
async fn a_corrupt_committed_log_entry_is_refused() {
    let (dir, _) = data_with_snapshots("", 0).await;
    overwrite(&dir.path().join("corral/log"), "entries", |wtxn, db| {
        let (key, _) = db.last(wtxn).unwrap().expect("the log has entries");
        let key = key.to_vec();
        db.put(wtxn, &key, b"\x01garbage").unwrap();
    });
    let err = start_error(dir.path(), "").await;
    assert!(err.contains("corrupt"), "{err}");
}

#[tokio::test]
async fn a_missing_data_directory_is_created() {
    let parent = tempfile::tempdir().unwrap();
    let data = parent.path().join("not/there/yet");
    let server = start_in(&data, "").await;
    let mut c = Client::connect(server.addr).await;
    c.create("/x", b"", 0).await.unwrap();
    drop(c);
    server.stop().await;
    assert!(data.join("corral/log/data.mdb").exists());
}
