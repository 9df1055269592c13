//! The AdminServer as an operator's scripts use it: every command and alias under
//! `/commands`, ZooKeeper's JSON envelope, answers that follow the server's state, the auth
//! of the protected commands, and the not-serving answer of a member without a leader.

use crate::common;

use std::net::SocketAddr;

use common::cluster::Cluster;
use common::*;
use corral::config::Config;
use corral::server::{Listeners, Server};
use serde_json::Value;

/// Every primary name ZooKeeper 3.9 registers, with its aliases.
const COMMANDS: &[&[&str]] = &[
    &["configuration", "conf", "config"],
    &["connection_stat_reset", "crst"],
    &["connections", "cons"],
    &["dirs"],
    &["dump"],
    &["environment", "env", "envi"],
    &["get_trace_mask", "gtmk"],
    &["hash"],
    &["initial_configuration", "icfg"],
    &["is_read_only", "isro"],
    &["last_snapshot", "lsnp"],
    &["leader", "lead"],
    &["monitor", "mntr"],
    &["observer_connection_stat_reset", "orst"],
    &["observers", "obsr"],
    &["restore", "rest"],
    &["ruok"],
    &["server_stats", "srvr"],
    &["set_trace_mask", "stmk"],
    &["snapshot", "snap"],
    &["stat_reset", "srst"],
    &["stats", "stat"],
    &["system_properties", "sysp"],
    &["voting_view"],
    &["watch_summary", "wchs"],
    &["watches", "wchc"],
    &["watches_by_path", "wchp"],
    &["zabstate"],
];

pub struct Admin {
    pub server: Server,
    pub admin: SocketAddr,
    _dir: tempfile::TempDir,
}

/// A standalone server with its AdminServer, and `extra` in its zoo.cfg.
pub async fn start_admin(extra: &str) -> Admin {
    let dir = tempfile::tempdir().unwrap();
    let text = format!("dataDir={}\ntickTime=2000\n{extra}", dir.path().display());
    let config = Config::from_text(&text).unwrap();
    let client = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let admin = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = admin.local_addr().unwrap();
    let listeners = Listeners { client, peer: None, metrics: None, admin: Some(admin) };
    Admin { server: Server::start(config, listeners).await.unwrap(), admin: addr, _dir: dir }
}

/// GET of a command: the status and the parsed JSON (the raw text is checked too).
async fn command(addr: SocketAddr, name: &str) -> (u16, Value) {
    let (status, head, body) = http_with(addr, "GET", &format!("/commands/{name}"), &[]).await;
    assert!(head.contains("content-type: application/json"), "{name}: {head}");
    let json = serde_json::from_str(&body).unwrap_or_else(|e| panic!("{name}: {e}: {body}"));
    (status, json)
}

async fn ok(addr: SocketAddr, name: &str) -> Value {
    let (status, json) = command(addr, name).await;
    assert_eq!(status, 200, "{name}: {json}");
    assert_eq!(json["error"], Value::Null, "{name}: {json}");
    json
}

#[tokio::test]
async fn the_command_list_links_every_primary_name_sorted() {
    let a = start_admin("").await;
    for path in ["/commands", "/commands/"] {
        let (status, head, body) = http_with(a.admin, "GET", path, &[]).await;
        assert_eq!(status, 200);
        assert!(!head.to_ascii_lowercase().contains("content-type"), "{head}");
        let links: Vec<&str> = body.lines().filter(|l| l.starts_with("<a href")).collect();
        let expected: Vec<String> = COMMANDS
            .iter()
            .map(|names| format!("<a href=\"/commands/{0}\">{0}</a>", names[0]))
            .collect();
        assert_eq!(links, expected);
        assert_eq!(body.lines().filter(|l| *l == "<br/>").count(), COMMANDS.len());
    }
    a.server.stop().await;
}

#[tokio::test]
async fn every_name_and_alias_answers_with_the_primary_name_and_the_envelope() {
    let a = start_admin("").await;
    for names in COMMANDS {
        let primary = names[0];
        for name in *names {
            let (status, head, body) =
                http_with(a.admin, "GET", &format!("/commands/{name}"), &[]).await;
            let json: Value = serde_json::from_str(&body).unwrap();
            assert!(head.contains("content-type: application/json"), "{name}");
            match primary {
                // Protected: asked without an Authorization header. Errors found before the
                // command runs echo the name as typed.
                "snapshot" | "restore" => {
                    assert_eq!(status, 401, "{name}");
                    assert_eq!(json["error"], "Auth info is missing for the command");
                    assert_eq!(json["command"], *name);
                    continue;
                }
                "leader" => assert_eq!(json["error"], "server is not initialized"),
                "set_trace_mask" => {
                    assert_eq!(json["error"], "setTraceMask requires long traceMask argument")
                }
                _ => {
                    let end = format!("\"command\" : \"{primary}\",\n  \"error\" : null\n}}");
                    assert!(body.ends_with(&end), "{name}: {body}");
                }
            }
            assert_eq!(status, 200, "{name}: {body}");
            assert_eq!(json["command"], primary, "{name}");
        }
    }
    a.server.stop().await;
}

#[tokio::test]
async fn answers_follow_the_sessions_watches_and_tree() {
    let a = start_admin("4lw.commands.whitelist=*\n").await;
    let mut c = Client::connect(a.server.addr).await;
    c.create("/app", b"x", 0).await.unwrap();
    c.create("/app/e", b"", 1).await.unwrap();
    c.get_data("/app", true).await.unwrap();
    let sid = c.session_id;
    let dump = ok(a.admin, "dump").await;
    assert_eq!(
        dump["session_id_to_ephemeral_paths"][sid.to_string()],
        serde_json::json!(["/app/e"])
    );
    let expiring: Vec<&Value> =
        dump["expiry_time_to_session_ids"].as_object().unwrap().values().collect();
    assert_eq!(expiring, [&serde_json::json!([sid])]);
    let watches = ok(a.admin, "watches").await;
    assert_eq!(
        watches["session_id_to_watched_paths"][sid.to_string()],
        serde_json::json!(["/app"])
    );
    let by_path = ok(a.admin, "wchp").await;
    assert_eq!(by_path["path_to_session_ids"]["/app"], serde_json::json!([sid]));
    let summary = ok(a.admin, "wchs").await;
    assert_eq!(
        (summary["num_connections"].as_i64(), summary["num_paths"].as_i64()),
        (Some(1), Some(1))
    );
    let cons = ok(a.admin, "cons").await;
    let conn = &cons["connections"][0];
    assert_eq!(conn["session_id"], sid);
    assert_eq!(conn["last_operation"], "GETD");
    assert_eq!(cons["secure_connections"], serde_json::json!([]));
    let stats = ok(a.admin, "stats").await;
    let brief: Vec<&String> = stats["connections"][0].as_object().unwrap().keys().collect();
    assert_eq!(brief.len(), 5, "stats lists connections briefly: {brief:?}");
    let srvr = ok(a.admin, "srvr").await;
    let mntr_nodes = four_letter(a.server.addr, "mntr").await;
    let nodes = srvr["node_count"].as_i64().unwrap();
    assert!(mntr_nodes.contains(&format!("zk_znode_count\t{nodes}\n")), "{mntr_nodes}");
    assert_eq!(srvr["server_stats"]["server_state"], "standalone");
    assert!(srvr["server_stats"]["last_processed_zxid"].as_i64().unwrap() >= 2);
    let monitor = ok(a.admin, "monitor").await;
    assert_eq!(monitor["znode_count"], nodes);
    assert_eq!(monitor["ephemerals_count"], 1);
    assert!(monitor["avg_latency"].is_f64(), "doubles stay doubles: {}", monitor["avg_latency"]);
    c.close().await;
    a.server.stop().await;
}

#[tokio::test]
async fn settings_trace_mask_and_quorum_views_on_a_standalone_server() {
    let a = start_admin("maxClientCnxns=7\n").await;
    let conf = ok(a.admin, "configuration").await;
    // The configured port (ZooKeeper's default here), not the one this test bound.
    assert_eq!(conf["client_port"], 2181);
    assert_eq!((conf["max_client_cnxns"].as_i64(), conf["server_id"].as_i64()), (Some(7), Some(0)));
    let initial = ok(a.admin, "icfg").await;
    assert!(initial["initial_configuration"]
        .as_str()
        .unwrap()
        .ends_with("tickTime=2000\nmaxClientCnxns=7\n"));
    assert_eq!(ok(a.admin, "gtmk").await["tracemask"], 306);
    assert_eq!(ok(a.admin, "set_trace_mask?traceMask=5").await["tracemask"], 5);
    assert_eq!(ok(a.admin, "get_trace_mask").await["tracemask"], 5);
    let (_, bad) = command(a.admin, "stmk?traceMask=x").await;
    assert_eq!(bad["error"], "setTraceMask requires long traceMask argument, got x");
    assert_eq!(ok(a.admin, "voting_view").await["current_config"], serde_json::json!({}));
    let zab = ok(a.admin, "zabstate").await;
    assert_eq!((zab["voting"].as_bool(), zab["zabstate"].as_str()), (Some(false), Some("")));
    assert_eq!(ok(a.admin, "isro").await["read_only"], false);
    let env = ok(a.admin, "environment").await;
    assert!(env["zookeeper.version"].as_str().unwrap().starts_with("3.9."));
    assert_eq!(env["os.name"], "Linux");
    a.server.stop().await;
}

#[tokio::test]
async fn dirs_and_last_snapshot_report_the_files_on_disk() {
    let a = start_admin("snapCount=20\n").await;
    let none = ok(a.admin, "last_snapshot").await;
    assert_eq!(
        (none["zxid"].as_str(), none["timestamp"].as_i64()),
        (Some("ffffffffffffffff"), Some(-1))
    );
    let mut c = Client::connect(a.server.addr).await;
    for i in 0..60 {
        c.create(&format!("/s{i}"), b"x", 0).await.unwrap();
    }
    let taken =
        eventually(|| async { ok(a.admin, "lsnp").await["timestamp"].as_i64() > Some(0) }).await;
    assert!(taken, "a snapshot after snapCount writes is reported");
    let snapshot = ok(a.admin, "lsnp").await;
    let zxid = i64::from_str_radix(snapshot["zxid"].as_str().unwrap(), 16).unwrap();
    let last = ok(a.admin, "srvr").await["server_stats"]["last_processed_zxid"].as_i64().unwrap();
    assert!(zxid > 0 && zxid <= last, "snapshot at 0x{zxid:x}, last applied 0x{last:x}");
    let dirs = ok(a.admin, "dirs").await;
    assert!(dirs["datadir_size"].as_i64() > Some(0), "the snapshots: {dirs}");
    assert!(dirs["logdir_size"].as_i64() > Some(0), "the log: {dirs}");
    c.close().await;
    a.server.stop().await;
}

#[tokio::test]
async fn methods_and_paths_outside_the_commands_get_jettys_statuses() {
    let a = start_admin("").await;
    let (_, unknown) = command(a.admin, "nosuch").await;
    assert_eq!(
        (unknown["command"].as_str(), unknown["error"].as_str()),
        (Some("nosuch"), Some("Unknown command: nosuch"))
    );
    // ZooKeeper 3.9's servlet fails on a GET command asked for by POST.
    assert_eq!(http(a.admin, "POST", "/commands/monitor").await.0, 500);
    assert_eq!(http(a.admin, "PUT", "/commands/monitor").await.0, 405);
    assert_eq!(http(a.admin, "TRACE", "/commands/monitor").await.0, 403);
    assert_eq!(http(a.admin, "FOO", "/commands/monitor").await.0, 501);
    let (status, head, _) = http_with(a.admin, "OPTIONS", "/commands/ruok", &[]).await;
    assert_eq!(status, 200);
    assert!(head.contains("allow: GET, HEAD, POST, TRACE, OPTIONS"), "{head}");
    assert_eq!(http(a.admin, "GET", "/elsewhere").await.0, 404);
    assert_eq!(http(a.admin, "HEAD", "/commands/ruok").await.0, 200);
    // The target is made canonical first, as Jetty does; what Jetty refuses is 400.
    assert_eq!(ok(a.admin, "../commands/%72uok;jsessionid=1").await["command"], "ruok");
    assert_eq!(http(a.admin, "GET", "/commands/../x").await.0, 404);
    assert_eq!(http(a.admin, "GET", "/commands/%zz").await.0, 400);
    assert_eq!(http(a.admin, "GET", "/commands/ruok?x=%zz").await.0, 400);
    a.server.stop().await;
}

#[tokio::test]
async fn four_letter_words_holding_their_slots_do_not_hold_up_the_admin_server() {
    let a = start_admin("").await;
    let slots = &a.server.node.heavy_four_letter_slots;
    let _all = slots.acquire_many(slots.available_permits() as u32).await.unwrap();
    assert_eq!(ok(a.admin, "ruok").await["command"], "ruok");
    assert_eq!(ok(a.admin, "dump").await["command"], "dump");
    drop(_all);
    a.server.stop().await;
}

#[tokio::test]
async fn snapshot_and_restore_need_all_on_the_root_through_the_authorization_header() {
    let a = start_admin("").await;
    let mut c = Client::connect(a.server.addr).await;
    c.add_auth("digest", b"admin:secret").await;
    let owner = corral::auth::digest_id("admin:secret");
    let acl = vec![jute::Acl { perms: jute::perms::ALL, id: jute::Id::new("digest", &owner) }];
    let set = jute::SetAclRequest { path: "/".into(), acl, version: -1 };
    assert_eq!(c.call(jute::Request::SetAcl(set)).await.0.err, 0);
    let ask = |auth: &'static str| async move {
        let headers: Vec<(&str, &str)> =
            if auth.is_empty() { vec![] } else { vec![("Authorization", auth)] };
        let (status, _, body) = http_with(a.admin, "GET", "/commands/snapshot", &headers).await;
        (status, serde_json::from_str::<Value>(&body).unwrap()["error"].clone())
    };
    assert_eq!(ask("").await, (401, "Auth info is missing for the command".into()));
    assert_eq!(ask("bogus x").await, (401, "Not authenticated".into()));
    assert_eq!(ask("digest").await, (401, "Not authenticated".into()));
    assert_eq!(ask("digest other:pw").await, (403, "Not authorized".into()));
    assert_eq!(ask("ip").await, (403, "Not authorized".into()));
    // Authorized: restore runs, and fails on an empty body as ZooKeeper's does (500).
    let auth = [("Authorization", "digest admin:secret")];
    let (status, _, body) = http_with(a.admin, "POST", "/commands/restore", &auth).await;
    assert_eq!(
        (status, serde_json::from_str::<Value>(&body).unwrap()["error"].clone()),
        (500, Value::Null)
    );
    let (status, head, _) = http_bytes(a.admin, "GET", "/commands/snapshot", &auth).await;
    assert_eq!(status, 200, "{head}");
    c.close().await;
    a.server.stop().await;
}

#[tokio::test]
async fn snapshot_streams_the_tree_as_a_zookeeper_snapshot_at_most_once_per_interval() {
    let a = start_admin(
        "DigestAuthenticationProvider.superDigest=super:D/InIHSb7yEEbrWz8b9l71RjZJU=\n",
    )
    .await;
    let mut c = Client::connect(a.server.addr).await;
    for i in 0..50 {
        c.create(&format!("/n{i}"), format!("data {i}").as_bytes(), 0).await.unwrap();
    }
    c.create("/eph", b"e", 1).await.unwrap();
    let auth = [("Authorization", "digest super:test")];
    let (status, head, body) = http_bytes(a.admin, "GET", "/commands/snapshot", &auth).await;
    assert_eq!(status, 200, "{head}");
    assert!(head.contains("content-type: application/octet-stream"), "{head}");
    let header = |name: &str| {
        let line = head.lines().find(|l| l.to_ascii_lowercase().starts_with(&format!("{name}:")));
        line.map(|l| l.split_once(':').unwrap().1.trim().to_owned()).unwrap_or_default()
    };
    let zxid = i64::from_str_radix(header("last_zxid").trim_start_matches("0x"), 16).unwrap();
    assert_eq!(zxid, a.server.node.last_zxid());
    assert_eq!(header("snapshot_size"), body.len().to_string());

    // What it streamed is ZooKeeper's format: corral's own import reads it back whole.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join(format!("snapshot.{zxid:x}"));
    std::fs::write(&file, &body).unwrap();
    let progress = corral::migrate::Progress::silent();
    let (state, _) = corral::migrate::zkdir::load(
        dir.path(),
        dir.path(),
        corral::migrate::zkdir::DEFAULT_MAX_RECORD,
        &progress,
    )
    .unwrap();
    let dump = common::dump_tree(&mut c).await;
    let paths: Vec<&str> = dump.keys().map(String::as_str).collect();
    let mut read: Vec<&str> = state.tree.paths().collect();
    read.sort_unstable();
    assert_eq!(read, paths);
    for (p, (data, stat, _)) in &dump {
        let node = state.tree.get(p).unwrap();
        assert_eq!((&node.data, &node.stat()), (data, stat), "{p}");
    }
    assert_eq!(state.sessions.len(), 1, "the client's session");

    // At once again: ZooKeeper's limiter says 429; a moment later, headers only if asked.
    let (status, _, _) = http_bytes(a.admin, "GET", "/commands/snapshot", &auth).await;
    assert_eq!(status, 429);
    let allowed = common::eventually(|| async {
        let (status, head, body) =
            http_bytes(a.admin, "GET", "/commands/snapshot?streaming=false", &auth).await;
        status == 200 && head.contains("snapshot_size") && body.starts_with(b"{")
    })
    .await;
    assert!(allowed, "a snapshot is let through again after the interval");
    c.close().await;
    a.server.stop().await;
}

#[tokio::test]
async fn an_ensemble_names_its_leader_and_a_member_without_one_is_not_serving() {
    let mut cluster = Cluster::new(3, 0).await;
    cluster.start_all().await;
    let leader = cluster.leader().await;
    for i in 0..3 {
        let admin = cluster.members[i].admin;
        let lead = ok(admin, "leader").await;
        assert_eq!(lead["is_leader"], i == leader);
        assert_eq!(lead["leader_id"], leader as i64 + 1);
        assert_eq!(lead["leader_ip"], "127.0.0.1");
        let view = ok(admin, "voting_view").await;
        let members = view["current_config"].as_object().unwrap();
        assert_eq!(members.len(), 3);
        let me = &members[&(i + 1).to_string()];
        assert_eq!(
            me["server_addresses"],
            serde_json::json!([cluster.members[i].quorum.to_string()])
        );
        assert_eq!(me["learner_type"], "participant");
        let zab = ok(admin, "zabstate").await;
        assert_eq!(
            (zab["zabstate"].as_str(), zab["voting"].as_bool()),
            (Some("broadcast"), Some(true))
        );
        let srvr = ok(admin, "srvr").await;
        assert_eq!(
            srvr.get("proposal_stats").is_some(),
            i == leader,
            "proposal_stats on the leader only"
        );
    }
    let survivor = (leader + 1) % 3;
    for i in (0..3).filter(|i| *i != survivor) {
        cluster.stop(i).await;
    }
    let admin = cluster.members[survivor].admin;
    let not_serving = eventually(|| async {
        let (_, json) = command(admin, "ruok").await;
        json["error"] == "This ZooKeeper instance is not currently serving requests"
    })
    .await;
    assert!(not_serving, "a member without a leader refuses the commands that need one");
    assert_eq!(ok(admin, "environment").await["os.name"], "Linux", "environment needs no leader");
    assert_eq!(ok(admin, "zabstate").await["zabstate"], "election");
    cluster.stop_all().await;
}

#[tokio::test]
async fn the_binary_serves_its_admin_server_where_zoo_cfg_says() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("zoo.cfg");
    let data = dir.path().join("data");
    let base = format!(
        "tickTime=2000\ndataDir={}\nclientPort=0\nclientPortAddress=127.0.0.1\n",
        data.display()
    );
    std::fs::write(&cfg, format!("{base}admin.serverAddress=127.0.0.1\nadmin.serverPort=0\n"))
        .unwrap();
    let (mut child, _, log) = spawn_binary(&cfg);
    let line =
        log.iter().find(|l| l.contains("AdminServer serving")).expect("the AdminServer's log line");
    let addr: SocketAddr =
        line.split("addr=").nth(1).unwrap().split_whitespace().next().unwrap().parse().unwrap();
    assert_eq!(ok(addr, "ruok").await["command"], "ruok");
    let _ = child.kill();
    let _ = child.wait();
    // Standalone, a port it cannot bind stops the start, as in ZooKeeper.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    std::fs::write(&cfg, format!("{base}admin.serverAddress=127.0.0.1\nadmin.serverPort={port}\n"))
        .unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_corral"))
        .arg("--config")
        .arg(&cfg)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("cannot serve the AdminServer"),
        "{out:?}"
    );
}
