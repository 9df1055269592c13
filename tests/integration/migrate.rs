//! `corral import` end to end: a tree Apache ZooKeeper 3.8 wrote (the fixture) is served by a
//! corral started on the imported storage, standalone and as an ensemble in which one member
//! was left empty; an import that fails writes nothing; a half-committed import is refused.

use std::path::{Path, PathBuf};

use corral::config::Config;
use corral::migrate::export;
use corral::migrate::import::{self, ImportOptions};
use corral::session::password::zookeeper_password;
use serde_json::Value;

use crate::common::cluster::Cluster;
use crate::common::{self, Client};

const SUPER: &str = "DigestAuthenticationProvider.superDigest=super:D/InIHSb7yEEbrWz8b9l71RjZJU=\n";

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/zookeeper-3.8")
}

/// The fixture as a ZooKeeper dataDir.
fn zookeeper_data_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let v2 = dir.path().join("version-2");
    std::fs::create_dir(&v2).unwrap();
    for entry in std::fs::read_dir(fixture()).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_owned();
        if !name.to_string_lossy().ends_with(".json") {
            std::fs::copy(&path, v2.join(name)).unwrap();
        }
    }
    dir
}

fn import_into(config: &Config, zookeeper: &Path) -> Result<(), String> {
    let options = ImportOptions {
        data_dir: zookeeper.to_owned(),
        log_dir: None,
        replace: false,
        quiet: true,
    };
    import::run(config, &options).map(drop).map_err(|e| e.to_string())
}

fn expected_tree() -> serde_json::Map<String, Value> {
    let text = std::fs::read_to_string(fixture().join("tree.json")).unwrap();
    serde_json::from_str::<Value>(&text).unwrap().as_object().unwrap().clone()
}

/// Reads every node through the client port and compares it with ZooKeeper's dump. A
/// member of an ensemble publishes its own config in `/zookeeper/config`, as ZooKeeper's do.
async fn assert_serves_zookeepers_tree(c: &mut Client, ensemble: bool) {
    assert_eq!(c.add_auth("digest", b"super:test").await, 0);
    c.sync("/").await;
    let dump = common::dump_tree(c).await;
    let expected = expected_tree();
    let paths: Vec<&String> = dump.keys().collect();
    let wanted: Vec<&String> = {
        let mut keys: Vec<&String> = expected.keys().collect();
        keys.sort();
        keys
    };
    assert_eq!(paths, wanted);
    for (p, (data, s, acl)) in &dump {
        if ensemble && p == "/zookeeper/config" {
            continue;
        }
        let want = &expected[p];
        let hex = data.as_ref().map(|d| d.iter().map(|b| format!("{b:02x}")).collect::<String>());
        assert_eq!(want["data"].as_str().map(str::to_owned), hex, "{p}: data");
        let stat = serde_json::json!({
            "czxid": s.czxid, "mzxid": s.mzxid, "ctime": s.ctime, "mtime": s.mtime,
            "version": s.version, "cversion": s.cversion, "aversion": s.aversion,
            "ephemeralOwner": s.ephemeral_owner, "dataLength": s.data_length,
            "numChildren": s.num_children, "pzxid": s.pzxid,
        });
        assert_eq!(want["stat"], stat, "{p}: stat");
        let acl: Vec<Value> = acl
            .iter()
            .map(|a| serde_json::json!([a.perms, a.id.scheme.as_str(), a.id.id.as_str()]))
            .collect();
        assert_eq!(want["acl"], Value::Array(acl), "{p}: acl");
    }
}

fn standalone_config(dir: &Path) -> Config {
    let text = format!("dataDir={}\nclientPort=0\n{SUPER}", dir.display());
    Config::from_text(&text).unwrap()
}

#[tokio::test]
async fn an_imported_tree_is_served_as_zookeeper_served_it_and_its_sessions_live_on() {
    let zookeeper = zookeeper_data_dir();
    let corral = tempfile::tempdir().unwrap();
    import_into(&standalone_config(corral.path()), zookeeper.path()).unwrap();
    let server = common::start_in(corral.path(), SUPER).await;
    let mut c = Client::connect(server.addr).await;
    assert_serves_zookeepers_tree(&mut c, false).await;

    // The session that was live in ZooKeeper reconnects with the password ZooKeeper gave it.
    let live = expected_tree()["/app/live/e1"]["stat"]["ephemeralOwner"].as_i64().unwrap();
    let request = common::connect_request(live, zookeeper_password(live).to_vec(), 30_000);
    let mut resumed = Client::resume(server.addr, request).await.expect("the session lives");
    let created = resumed.create("/app/live/again", b"", 1).await.unwrap();
    let stat = resumed.exists(&created, false).await.unwrap();
    assert_eq!(stat.ephemeral_owner, live);
    assert!(stat.czxid > 0x212, "zxids go on from ZooKeeper's: {:#x}", stat.czxid);
    server.stop().await;
}

#[tokio::test]
async fn importing_into_storage_that_holds_data_is_refused_unless_replacing() {
    let zookeeper = zookeeper_data_dir();
    let corral = tempfile::tempdir().unwrap();
    let config = standalone_config(corral.path());
    import_into(&config, zookeeper.path()).unwrap();
    let again = import_into(&config, zookeeper.path()).unwrap_err();
    assert!(again.contains("already holds data") && again.contains("--replace"), "{again}");
    let options = ImportOptions {
        data_dir: zookeeper.path().into(),
        log_dir: None,
        replace: true,
        quiet: true,
    };
    import::run(&config, &options).unwrap();
}

#[tokio::test]
async fn an_import_that_fails_writes_nothing() {
    let zookeeper = zookeeper_data_dir();
    std::fs::remove_file(zookeeper.path().join("version-2/log.1c1")).unwrap();
    let corral = tempfile::tempdir().unwrap();
    let error = import_into(&standalone_config(corral.path()), zookeeper.path()).unwrap_err();
    assert!(error.contains("gap"), "{error}");
    let left: Vec<_> = std::fs::read_dir(corral.path()).unwrap().collect();
    assert!(left.is_empty(), "the failed import left {left:?}");
}

#[tokio::test]
async fn a_log_purged_past_every_snapshot_is_refused_at_start() {
    // What an import cut short between its two renames leaves (dataLogDir apart).
    let zookeeper = zookeeper_data_dir();
    let corral = tempfile::tempdir().unwrap();
    import_into(&standalone_config(corral.path()), zookeeper.path()).unwrap();
    std::fs::remove_dir_all(corral.path().join("corral/snapshots")).unwrap();
    let text = format!("dataDir={}\n", corral.path().display());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let refused = corral::server::Server::start(Config::from_text(&text).unwrap(), listener).await;
    let message = refused.err().expect("refused").to_string();
    assert!(message.contains("purged"), "{message}");
}

#[tokio::test]
async fn a_member_left_empty_cannot_win_over_imported_members() {
    let zookeeper = zookeeper_data_dir();
    let mut cluster = Cluster::with_config(3, 0, SUPER).await;
    for i in [0, 1] {
        import_into(&cluster.config(i), zookeeper.path()).unwrap();
    }
    // The empty member and one imported member are a majority; the imported one must lead.
    cluster.start(2).await;
    cluster.start(0).await;
    assert_eq!(cluster.leader().await, 0, "roles: {:?}", cluster.roles());
    let mut c = Client::connect(cluster.addr(2)).await;
    assert_serves_zookeepers_tree(&mut c, true).await;
    cluster.start(1).await;
    cluster.leader().await;
    let mut c = Client::connect(cluster.addr(1)).await;
    assert_serves_zookeepers_tree(&mut c, true).await;
    cluster.stop_all().await;
}

#[tokio::test]
async fn import_and_export_refuse_storage_a_server_is_using() {
    let zookeeper = zookeeper_data_dir();
    let corral = tempfile::tempdir().unwrap();
    import_into(&standalone_config(corral.path()), zookeeper.path()).unwrap();
    let server = common::start_in(corral.path(), SUPER).await;
    // Another config naming the same storage, with no client port to give the server away.
    let options = ImportOptions {
        data_dir: zookeeper.path().into(),
        log_dir: None,
        replace: true,
        quiet: true,
    };
    let refused = import::run(&standalone_config(corral.path()), &options).err().unwrap();
    assert!(refused.to_string().contains("in use"), "{refused}");
    let out = tempfile::tempdir().unwrap();
    let export = export::ExportOptions { to: out.path().into(), replace: false, quiet: true };
    let refused = export::run(&standalone_config(corral.path()), &export).err().unwrap();
    assert!(refused.to_string().contains("in use"), "{refused}");
    server.stop().await;
    export::run(&standalone_config(corral.path()), &export).unwrap();
}

#[tokio::test]
async fn an_export_with_nothing_to_export_leaves_the_target_alone() {
    let target = zookeeper_data_dir();
    let nothing = tempfile::tempdir().unwrap();
    let options = export::ExportOptions { to: target.path().into(), replace: true, quiet: true };
    let refused = export::run(&standalone_config(&nothing.path().join("typo")), &options);
    assert!(refused.err().unwrap().to_string().contains("no corral data"));
    assert!(target.path().join("version-2/snapshot.1fa").exists(), "the target was emptied");
}
