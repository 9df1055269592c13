//! The readers, the replay and the writer against files Apache ZooKeeper 3.8 wrote
//! (tests/fixtures/zookeeper-3.8, made by compat-tests/migrate/migrate_check.py, with
//! `tree.json`, the tree that ZooKeeper served when it stopped), and every refusal against a
//! damaged copy.

use std::path::{Path, PathBuf};

use serde_json::Value;

use super::snapfile;
use super::txnlog::{LogFile, ZkTxn};
use super::zkdir::{self, LoadReport};
use super::{MigrateError, Progress};
use crate::state::ZkState;

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/zookeeper-3.8")
}

/// A copy of the fixture as a ZooKeeper dataDir (`<dir>/version-2/...`).
fn copy_of_fixture() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let v2 = dir.path().join("version-2");
    std::fs::create_dir(&v2).unwrap();
    for entry in std::fs::read_dir(fixture()).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if name.starts_with("snapshot.") || name.starts_with("log.") {
            std::fs::copy(&path, v2.join(name)).unwrap();
        }
    }
    dir
}

/// Loads a dataDir (or a directory holding the files themselves, as the fixture does).
fn load(dir: &Path) -> Result<(ZkState, LoadReport), MigrateError> {
    let files = match dir.join("version-2").exists() {
        true => dir.join("version-2"),
        false => dir.to_owned(),
    };
    zkdir::load(&files, &files, zkdir::DEFAULT_MAX_RECORD, &Progress::silent())
}

/// The session that was live when ZooKeeper stopped: it owns `/app/live/e1`.
fn live_session() -> i64 {
    expected_tree()["/app/live/e1"]["stat"]["ephemeralOwner"].as_i64().unwrap()
}

fn expected_tree() -> serde_json::Map<String, Value> {
    let text = std::fs::read_to_string(fixture().join("tree.json")).unwrap();
    serde_json::from_str::<Value>(&text).unwrap().as_object().unwrap().clone()
}

/// Every node of `state` as the dump in tree.json shows it (data, client Stat, ACL).
fn assert_matches_zookeeper(state: &ZkState) {
    let expected = expected_tree();
    let mut paths: Vec<&str> = state.tree.paths().collect();
    paths.sort_unstable();
    let mut wanted: Vec<&str> = expected.keys().map(String::as_str).collect();
    wanted.sort_unstable();
    assert_eq!(paths, wanted, "the imported tree has other paths than ZooKeeper's");
    for (p, want) in &expected {
        let node = state.tree.get(p).unwrap();
        let data = node.data.as_ref().map(|d| d.iter().map(|b| format!("{b:02x}")).collect());
        assert_eq!(want["data"].as_str().map(str::to_owned), data, "{p}: data");
        let s = node.stat();
        let stat = serde_json::json!({
            "czxid": s.czxid, "mzxid": s.mzxid, "ctime": s.ctime, "mtime": s.mtime,
            "version": s.version, "cversion": s.cversion, "aversion": s.aversion,
            "ephemeralOwner": s.ephemeral_owner, "dataLength": s.data_length,
            "numChildren": s.num_children, "pzxid": s.pzxid,
        });
        assert_eq!(want["stat"], stat, "{p}: stat");
        let acl: Vec<Value> = node
            .acl
            .iter()
            .map(|a| serde_json::json!([a.perms, a.id.scheme.as_str(), a.id.id.as_str()]))
            .collect();
        assert_eq!(want["acl"], Value::Array(acl), "{p}: acl");
    }
}

#[test]
fn the_newest_snapshot_reads_with_its_sessions_nodes_and_digest() {
    let loaded =
        snapfile::read(&fixture().join("snapshot.1fa"), 0x1fa, &Progress::silent()).unwrap();
    let state = loaded.state;
    assert_eq!(state.last_zxid, 0x1fa);
    assert!(state.sessions.contains(live_session()), "the live session");
    for p in ["/", "/zookeeper", "/zookeeper/quota", "/zookeeper/config", "/app/live/e1"] {
        assert!(state.tree.contains(p), "{p}");
    }
    let digest = loaded.digest.expect("ZooKeeper 3.8 writes a digest trailer");
    assert!(digest.zxid >= 0x1fa);
}

#[test]
fn a_log_reads_every_record_to_its_padding() {
    let mut log = LogFile::open(&fixture().join("log.1"), zkdir::DEFAULT_MAX_RECORD).unwrap();
    let mut zxids = Vec::new();
    let mut first = None;
    while let Some(logged) = log.next_txn().unwrap() {
        first.get_or_insert(logged.txn.clone());
        // 3.8 logs the tree digest after each txn, except after a failed one.
        let failed = matches!(logged.txn, ZkTxn::Error { .. });
        assert_eq!(logged.digest.is_some(), !failed, "{logged:?}");
        zxids.push(logged.header.zxid);
    }
    assert!(matches!(first, Some(ZkTxn::CreateSession { .. })), "{first:?}");
    assert_eq!(zxids, (1..=zxids.len() as i64).collect::<Vec<_>>(), "contiguous from 1");
    assert_eq!(log.ended_early, None, "the file ends in its zero padding");
}

#[test]
fn the_loaded_tree_is_the_one_zookeeper_served() {
    let (state, report) = load(&fixture()).unwrap();
    assert_matches_zookeeper(&state);
    assert!(report.txns > 0, "the logs after the snapshot were replayed");
    assert!(report.digests_checked > 0);
    assert_eq!(report.digest_mismatches, 0, "{:?}", report.warnings);
}

#[test]
fn a_damaged_newest_snapshot_gives_way_to_the_one_before() {
    let dir = copy_of_fixture();
    flip_byte(&dir.path().join("version-2/snapshot.1fa"), 2000);
    let (state, report) = load(dir.path()).unwrap();
    assert_matches_zookeeper(&state);
    assert!(report.snapshot.unwrap().ends_with("snapshot.1bf"));
    assert!(report.warnings.iter().any(|w| w.contains("snapshot.1fa")), "{:?}", report.warnings);
}

fn flip_byte(file: &Path, offset: usize) {
    let mut bytes = std::fs::read(file).unwrap();
    bytes[offset] ^= 0xff;
    std::fs::write(file, bytes).unwrap();
}

fn set_bytes(file: &Path, offset: usize, value: &[u8]) {
    let mut bytes = std::fs::read(file).unwrap();
    bytes[offset..offset + value.len()].copy_from_slice(value);
    std::fs::write(file, bytes).unwrap();
}

fn refusal(dir: &Path) -> String {
    match load(dir) {
        Ok(_) => panic!("the damaged copy loaded"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn an_unknown_snapshot_format_version_is_refused() {
    let dir = copy_of_fixture();
    set_bytes(&dir.path().join("version-2/snapshot.1fa"), 4, &3i32.to_be_bytes());
    let message = refusal(dir.path());
    assert!(message.contains("snapshot.1fa") && message.contains("format version 3"), "{message}");
}

#[test]
fn an_unknown_log_format_version_is_refused() {
    let dir = copy_of_fixture();
    set_bytes(&dir.path().join("version-2/log.1fc"), 4, &7i32.to_be_bytes());
    let message = refusal(dir.path());
    assert!(message.contains("log.1fc") && message.contains("format version 7"), "{message}");
}

#[test]
fn a_checksum_mismatch_inside_a_log_is_refused() {
    let dir = copy_of_fixture();
    // Inside the first record's txn bytes (after the 16-byte header, the checksum and length).
    flip_byte(&dir.path().join("version-2/log.1fc"), 16 + 12 + 10);
    let message = refusal(dir.path());
    assert!(message.contains("log.1fc") && message.contains("checksum mismatch"), "{message}");
}

#[test]
fn a_gap_in_the_zxids_is_refused() {
    let dir = copy_of_fixture();
    // snapshot.1fa's next txns are in log.1c1; without it the replay would jump to 0x1fc.
    std::fs::remove_file(dir.path().join("version-2/log.1c1")).unwrap();
    let message = refusal(dir.path());
    assert!(message.contains("gap") && message.contains("0x1fc"), "{message}");
}

#[test]
fn a_directory_without_snapshots_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("version-2")).unwrap();
    let message = refusal(dir.path());
    assert!(message.contains("no ZooKeeper snapshot"), "{message}");
}

#[test]
fn a_torn_last_record_ends_the_log_as_zookeeper_ends_it() {
    let dir = copy_of_fixture();
    let log = dir.path().join("version-2/log.1fc");
    let mut file = LogFile::open(&log, zkdir::DEFAULT_MAX_RECORD).unwrap();
    let mut ends = vec![file.offset()];
    while file.next_txn().unwrap().is_some() {
        ends.push(file.offset());
    }
    // Cut the file inside its last record: that txn is lost, the rest loads.
    let cut = (ends[ends.len() - 2] + ends[ends.len() - 1]) / 2;
    std::fs::OpenOptions::new().write(true).open(&log).unwrap().set_len(cut).unwrap();
    let (state, report) = load(dir.path()).unwrap();
    assert!(state.last_zxid < 0x212, "the torn txn is not applied");
    assert!(report.warnings.iter().any(|w| w.contains("log.1fc")), "{:?}", report.warnings);
}

#[test]
fn an_exported_snapshot_reads_back_as_the_same_tree() {
    let (state, _) = load(&fixture()).unwrap();
    let out = tempfile::tempdir().unwrap();
    let file = out.path().join("snapshot.212");
    snapfile::write(&file, &state, &Progress::silent()).unwrap();
    let loaded = snapfile::read(&file, state.last_zxid, &Progress::silent()).unwrap();
    assert_matches_zookeeper(&loaded.state);
    let digest = loaded.digest.unwrap();
    assert_eq!((digest.zxid, digest.digest), (state.last_zxid, state.tree.digest()));
    let sessions: Vec<_> = loaded.state.sessions.iter().map(|(id, e)| (*id, *e)).collect();
    let want: Vec<_> = state.sessions.iter().map(|(id, e)| (*id, *e)).collect();
    assert_eq!(sessions, want);
}

#[test]
fn a_snapshot_without_system_nodes_gets_them_as_zookeeper_would() {
    // Data first written by ZooKeeper 3.4 has no /zookeeper/config; a crafted one may lack more.
    let mut state =
        ZkState { tree: crate::tree::DataTree::empty(), last_zxid: 7, ..ZkState::default() };
    let open = crate::tree::acl::open_acl();
    assert!(state.tree.restore("/", None, open.clone(), Default::default()));
    assert!(state.tree.restore("/app", Some(b"x".to_vec()), open, Default::default()));
    state.tree.link_children().unwrap();
    let dir = tempfile::tempdir().unwrap();
    snapfile::write(&dir.path().join("snapshot.7"), &state, &Progress::silent()).unwrap();
    let (loaded, report) = load(dir.path()).unwrap();
    for p in crate::tree::SYSTEM_NODES {
        assert!(loaded.tree.contains(p), "{p}");
    }
    assert!(loaded.tree.contains("/app"));
    assert!(
        report.warnings.iter().any(|w| w.contains("/zookeeper/config")),
        "{:?}",
        report.warnings
    );
}

#[test]
fn a_snapshot_without_its_logs_is_loaded_with_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(fixture().join("snapshot.1fa"), dir.path().join("snapshot.1fa")).unwrap();
    let (_, report) = load(dir.path()).unwrap();
    assert!(
        report.warnings.iter().any(|w| w.contains("--zookeeper-log-dir")),
        "{:?}",
        report.warnings
    );
}

#[test]
fn files_that_are_not_plain_or_not_hex_are_not_zookeepers() {
    let dir = copy_of_fixture();
    let v2 = dir.path().join("version-2");
    std::fs::create_dir(v2.join("snapshot.fff")).unwrap();
    std::fs::write(v2.join("snapshot.-5"), b"not a snapshot").unwrap();
    let names: Vec<i64> = zkdir::list(&v2, "snapshot").unwrap().iter().map(|f| f.zxid).collect();
    assert!(!names.contains(&0xfff) && !names.contains(&-5), "{names:?}");
}

#[test]
fn a_record_longer_than_jute_maxbuffer_is_refused_as_damage() {
    let dir = copy_of_fixture();
    // The first record's length, in log.1fc: after the 16-byte header and the checksum.
    set_bytes(&dir.path().join("version-2/log.1fc"), 16 + 8, &0x7fff_ffffi32.to_be_bytes());
    let message = refusal(dir.path());
    assert!(message.contains("log.1fc") && message.contains("jute.maxbuffer"), "{message}");
}

#[test]
fn a_compressed_snapshot_is_refused_by_name() {
    let dir = copy_of_fixture();
    let v2 = dir.path().join("version-2");
    std::fs::copy(v2.join("snapshot.1fa"), v2.join("snapshot.1fb.gz")).unwrap();
    let message = refusal(dir.path());
    assert!(message.contains("snapshot.1fb.gz") && message.contains("compressed"), "{message}");
}
