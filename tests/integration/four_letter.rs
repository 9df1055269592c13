//! Four-letter words on the client port, in ZooKeeper's formats (compared line by line with
//! the replies Apache ZooKeeper 3.8 gave in shared/fixtures/wire/fourlw.jsonl).

use crate::common;

use common::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn keys(text: &str, sep: char) -> Vec<String> {
    text.lines().filter_map(|l| l.split_once(sep).map(|(k, _)| k.to_owned())).collect()
}

#[tokio::test]
async fn ruok_and_isro_have_no_newline() {
    let t = start().await;
    assert_eq!(four_letter(t.addr, "ruok").await, "imok");
    assert_eq!(four_letter(t.addr, "isro").await, "rw");
}

#[tokio::test]
async fn only_srvr_is_allowed_by_default() {
    let t = start_with("tickTime=2000\n").await;
    assert_eq!(
        four_letter(t.addr, "ruok").await,
        "ruok is not executed because it is not in the whitelist.\n"
    );
    assert!(four_letter(t.addr, "srvr").await.starts_with("Zookeeper version: 3.9."));
}

#[tokio::test]
async fn srvr_has_zookeepers_lines() {
    let t = start().await;
    let mut c = Client::connect(t.addr).await;
    c.create("/x", b"", 0).await.unwrap();
    let (last, _) = c.call(jute::Request::Sync(jute::PathRequest { path: "/x".into() })).await;
    let text = four_letter(t.addr, "srvr").await;
    let lines: Vec<&str> = text.lines().collect();
    let prefixes = [
        "Zookeeper version: ",
        "Latency min/avg/max: ",
        "Received: ",
        "Sent: ",
        "Connections: ",
        "Outstanding: ",
        "Zxid: 0x",
        "Mode: standalone",
        "Node count: 6",
    ];
    assert_eq!(lines.len(), prefixes.len(), "{text}");
    for (line, prefix) in lines.iter().zip(prefixes) {
        assert!(line.starts_with(prefix), "{line:?} should start with {prefix:?}");
    }
    assert!(text.contains(&format!("Zxid: 0x{:x}\n", last.zxid)), "{text}");
    assert_eq!(last.zxid >> 32, 1, "the first leader's epoch");
}

#[tokio::test]
async fn stat_lists_clients_then_the_srvr_body() {
    let t = start().await;
    let _c = Client::connect(t.addr).await;
    let text = four_letter(t.addr, "stat").await;
    let mut lines = text.lines();
    assert!(lines.next().unwrap().starts_with("Zookeeper version: "));
    assert_eq!(lines.next(), Some("Clients:"));
    let client = lines.next().unwrap();
    assert!(client.starts_with(" /127.0.0.1:") && client.contains("[1](queued="), "{client}");
    assert!(text.contains("\n\nLatency min/avg/max: "), "{text}");
}

#[tokio::test]
async fn mntr_reports_the_tree_and_connections() {
    let t = start().await;
    let mut c = Client::connect(t.addr).await;
    c.create("/e", b"abc", 1).await.unwrap();
    c.get_data("/e", true).await.unwrap();
    let text = four_letter(t.addr, "mntr").await;
    let value = |key: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(&format!("{key}\t")))
            .unwrap_or_else(|| panic!("{key} in {text}"))
            .to_owned()
    };
    assert_eq!(text.lines().next().unwrap().split('\t').next(), Some("zk_version"));
    assert_eq!(value("zk_server_state"), "standalone");
    assert_eq!(value("zk_znode_count"), "6");
    assert_eq!(value("zk_ephemerals_count"), "1");
    assert_eq!(value("zk_watch_count"), "1");
    assert_eq!(value("zk_approximate_data_size"), "49", "44 for a fresh tree + 2 path + 3 data");
    assert_eq!(value("zk_num_alive_connections"), "1");
    assert_eq!(value("zk_global_sessions"), "1");
}

#[tokio::test]
async fn conf_has_zookeepers_keys_in_order() {
    let t = start().await;
    let text = four_letter(t.addr, "conf").await;
    assert_eq!(
        keys(&text, '='),
        [
            "clientPort",
            "secureClientPort",
            "dataDir",
            "dataDirSize",
            "dataLogDir",
            "dataLogSize",
            "tickTime",
            "maxClientCnxns",
            "minSessionTimeout",
            "maxSessionTimeout",
            "clientPortListenBacklog",
            "serverId"
        ]
    );
}

#[tokio::test]
async fn cons_and_connection_resets() {
    let t = start().await;
    let mut c = Client::connect(t.addr).await;
    c.get_data("/", false).await.unwrap();
    let text = four_letter(t.addr, "cons").await;
    assert!(text.contains(&format!("sid=0x{:x},lop=GETD,", c.session_id)), "{text}");
    assert!(text.ends_with("\n\n"));
    assert_eq!(four_letter(t.addr, "crst").await, "Connection stats reset.\n");
    assert_eq!(four_letter(t.addr, "srst").await, "Server stats reset.\n");
    assert!(four_letter(t.addr, "srvr").await.contains("Latency min/avg/max: 0/0.0/0\n"));
}

#[tokio::test]
async fn watch_commands_dump_the_data_table() {
    let t = start().await;
    let mut c = Client::connect(t.addr).await;
    c.create("/w", b"", 0).await.unwrap();
    c.exists("/w", true).await.unwrap();
    c.children("/w", true).await.unwrap();
    assert_eq!(
        four_letter(t.addr, "wchs").await,
        "1 connections watching 1 paths\nTotal watches:1\n"
    );
    assert_eq!(four_letter(t.addr, "wchc").await, format!("0x{:x}\n\t/w\n\n", c.session_id));
    assert_eq!(four_letter(t.addr, "wchp").await, format!("/w\n\t0x{:x}\n\n", c.session_id));
}

#[tokio::test]
async fn envi_and_dirs() {
    let t = start().await;
    let text = four_letter(t.addr, "envi").await;
    assert!(text.starts_with("Environment:\nzookeeper.version=3.9."), "{text}");
    let dirs = four_letter(t.addr, "dirs").await;
    assert_eq!(keys(&dirs, ':'), ["datadir_size", "logdir_size"]);
}

#[tokio::test]
async fn hash_and_stmk_answer_the_whitelist_message_when_not_allowed() {
    let t = start_with("tickTime=2000\n").await;
    for word in ["hash", "stmk"] {
        let expected = format!("{word} is not executed because it is not in the whitelist.\n");
        assert_eq!(four_letter(t.addr, word).await, expected);
    }
}

#[tokio::test]
async fn stmk_sets_the_mask_that_gtmk_reads() {
    let t = start().await;
    assert_eq!(four_letter(t.addr, "gtmk").await, "306");
    let mut socket = tokio::net::TcpStream::connect(t.addr).await.unwrap();
    let mut request = b"stmk".to_vec();
    request.extend(0x1ffi64.to_be_bytes());
    socket.write_all(&request).await.unwrap();
    let mut answer = String::new();
    socket.read_to_string(&mut answer).await.unwrap();
    assert_eq!(answer, "511");
    assert_eq!(four_letter(t.addr, "gtmk").await, "511");
    // Without its mask, stmk gets nothing and a close, as from ZooKeeper.
    assert_eq!(four_letter(t.addr, "stmk").await, "");
    assert_eq!(four_letter(t.addr, "gtmk").await, "511");
}

/// ZooKeeper's digest of one znode, from what a client sees of it. The digest covers the
/// stored Stat, whose cversion ZooKeeper shows to clients as `2 * cversion - numChildren`.
fn znode_digest(path: &str, data: &Option<Vec<u8>>, s: &jute::Stat) -> i64 {
    if path.starts_with("/zookeeper/") {
        return 0;
    }
    let mut crc = crc32fast::Hasher::new();
    crc.update(if path == "/" { b"" } else { path.as_bytes() });
    crc.update(data.as_deref().unwrap_or_default());
    for long in [s.czxid, s.mzxid, s.pzxid, s.ctime, s.mtime] {
        crc.update(&long.to_be_bytes());
    }
    let stored_cversion = (s.cversion + s.num_children) / 2;
    for int in [s.version, stored_cversion, s.aversion] {
        crc.update(&int.to_be_bytes());
    }
    crc.update(&s.ephemeral_owner.to_be_bytes());
    i64::from(crc.finalize())
}

#[tokio::test]
async fn hash_lists_the_tree_digest_at_every_128th_zxid() {
    let t = start().await;
    let mut c = Client::connect(t.addr).await;
    // Creates, then one setData, until the last zxid is the 128th of the epoch.
    let mut i = 0;
    while t.server.node.last_zxid() & 0xffff_ffff < 127 {
        c.create(&format!("/n{i}"), format!("v{i}").as_bytes(), 0).await.unwrap();
        i += 1;
    }
    c.set_data("/n0", b"changed", -1).await.unwrap();
    assert_eq!(t.server.node.last_zxid() & 0xffff_ffff, 128);
    let dump = dump_tree(&mut c).await;
    let expected = dump.iter().fold(0i64, |sum, (path, (data, stat, _))| {
        sum.wrapping_add(znode_digest(path, data, stat))
    });
    let text = four_letter(t.addr, "hash").await;
    let zxid = t.server.node.last_zxid();
    assert_eq!(text, format!("{zxid:x}: {expected}\n"));
}
