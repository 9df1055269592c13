//! Four-letter words on the client port: recognised in the first four bytes of a connection,
//! answered in ZooKeeper's plain-text formats, then the connection is closed.

mod ensemble;
mod java;
pub mod monitor;

use std::fmt::Write;
use std::sync::atomic::Ordering;

use jute::OpCode;
use tokio::io::{AsyncRead, AsyncReadExt};

use crate::clock::now_ms;
use crate::node::Node;
use java::{java_date, java_double};

/// The ZooKeeper version corral answers as (its behaviour follows 3.9).
pub const ZK_VERSION: &str = "3.9.3";

pub fn full_version() -> String {
    format!("{ZK_VERSION}-corral-{}, built on 1970-01-01 00:00 UTC", env!("CARGO_PKG_VERSION"))
}

const COMMANDS: &[&str] = &[
    "ruok", "srvr", "stat", "mntr", "conf", "cons", "crst", "envi", "srst", "wchs", "wchc", "wchp",
    "dump", "isro", "dirs", "gtmk", "stmk", "hash",
];

/// How long `stmk` waits for its 8-byte mask. ZooKeeper reads once, without waiting, what has
/// arrived with the word; this allows only for the rest of the same packet.
const MASK_WAIT: std::time::Duration = std::time::Duration::from_millis(100);

/// The command named by a connection's first four bytes, if they name one.
pub fn command(first: [u8; 4]) -> Option<&'static str> {
    COMMANDS.iter().copied().find(|c| c.as_bytes() == first)
}

/// Words whose answer grows with the number of watches, sessions, connections or quotas: built
/// on a blocking thread, a few at a time.
pub fn is_heavy(command: &str) -> bool {
    matches!(command, "stat" | "cons" | "wchc" | "wchp" | "dump" | "mntr")
}

/// The answer to `command`. `stmk` reads its mask from the socket first: eight bytes,
/// big-endian; without them ZooKeeper writes nothing and closes, and so does corral.
pub async fn answer<R: AsyncRead + Unpin>(node: &Node, command: &str, socket: &mut R) -> String {
    if command != "stmk" || !node.config.four_letter_allowed(command) {
        return run(node, command);
    }
    let mut mask = [0u8; 8];
    match tokio::time::timeout(MASK_WAIT, socket.read_exact(&mut mask)).await {
        Ok(Ok(_)) => {
            let mask = i64::from_be_bytes(mask);
            node.stats.trace_mask.store(mask, Ordering::Relaxed);
            mask.to_string()
        }
        _ => {
            tracing::info!("stmk without its 8-byte mask; closing");
            String::new()
        }
    }
}

pub fn run(node: &Node, command: &str) -> String {
    if !node.config.four_letter_allowed(command) {
        return format!("{command} is not executed because it is not in the whitelist.\n");
    }
    if ensemble::not_serving(node) && !ensemble::answers_when_not_serving(command) {
        return ensemble::NOT_SERVING.to_owned();
    }
    match command {
        "ruok" => "imok".to_owned(),
        "isro" if ensemble::not_serving(node) => "null".to_owned(),
        "isro" => "rw".to_owned(),
        "gtmk" => node.stats.trace_mask.load(Ordering::Relaxed).to_string(),
        "hash" => hash(node),
        "srvr" => srvr(node, false),
        "stat" => srvr(node, true),
        "mntr" => monitor::mntr(node),
        "conf" => conf(node),
        "cons" => cons(node),
        "crst" => {
            for conn in node.connection_list() {
                *conn.stats.latency.lock() = Default::default();
                conn.stats.received.store(0, Ordering::Relaxed);
                conn.stats.sent.store(0, Ordering::Relaxed);
            }
            "Connection stats reset.\n".to_owned()
        }
        "srst" => {
            // ZooKeeper's default metrics provider is reset with the server stats.
            node.stats.reset();
            node.metrics.reset();
            "Server stats reset.\n".to_owned()
        }
        "envi" => envi(node),
        "wchs" => wchs(node),
        "wchc" => wchc(node),
        "wchp" => wchp(node),
        "dump" => dump(node),
        "dirs" => format!("datadir_size: {}\nlogdir_size: {}\n", dir_size(node), dir_size(node)),
        _ => String::new(),
    }
}

fn srvr(node: &Node, with_clients: bool) -> String {
    let mut out = format!("Zookeeper version: {}\n", full_version());
    if with_clients {
        out.push_str("Clients:\n");
        for conn in node.connection_list() {
            let _ = writeln!(
                out,
                " /{}[1](queued={},recved={},sent={})",
                conn.peer,
                conn.queued(),
                conn.stats.received.load(Ordering::Relaxed),
                conn.stats.sent.load(Ordering::Relaxed)
            );
        }
        out.push('\n');
    }
    let latency = node.metrics.request_latency();
    let (zxid, nodes) = node.with_state(|s| (s.last_zxid, s.tree.node_count()));
    let _ = write!(
        out,
        "Latency min/avg/max: {}/{}/{}\nReceived: {}\nSent: {}\nConnections: {}\nOutstanding: {}\n\
         Zxid: 0x{:x}\nMode: {}\nNode count: {}\n{}",
        latency.min,
        java_double(latency.avg()),
        latency.max,
        node.stats.packets_received.load(Ordering::Relaxed),
        node.stats.packets_sent.load(Ordering::Relaxed),
        node.connection_list().len(),
        node.outstanding_requests(),
        zxid,
        ensemble::mode(node),
        nodes,
        ensemble::srvr_leader_lines(node)
    );
    out
}

/// ZooKeeper's `hash`: the tree digest at each logged zxid, oldest first; with
/// `digest.enabled=false` ZooKeeper still logs the zxids, with a digest of 0.
fn hash(node: &Node) -> String {
    let enabled = node.config.digest_enabled;
    node.with_state(|s| {
        s.digests
            .entries()
            .map(|(zxid, digest)| format!("{zxid:x}: {}\n", if enabled { *digest } else { 0 }))
            .collect()
    })
}

fn conf(node: &Node) -> String {
    let c = &node.config;
    let size = dir_size(node);
    format!(
        "clientPort={}\nsecureClientPort=-1\ndataDir={}\ndataDirSize={size}\ndataLogDir={}\n\
         dataLogSize={size}\ntickTime={}\nmaxClientCnxns={}\nminSessionTimeout={}\n\
         maxSessionTimeout={}\nclientPortListenBacklog=-1\nserverId={}\n{}",
        c.client_addr.port(),
        c.data_dir.display(),
        c.data_log_dir.display(),
        c.tick_time_ms,
        c.max_client_cnxns,
        c.min_session_timeout_ms,
        c.max_session_timeout_ms,
        if c.ensemble.is_distributed() { c.server_id } else { 0 },
        ensemble::conf_lines(node)
    )
}

fn dir_size(node: &Node) -> u64 {
    let Ok(entries) = std::fs::read_dir(&node.config.data_dir) else {
        return 0;
    };
    entries.filter_map(|e| e.ok()?.metadata().ok()).map(|m| m.len()).sum()
}

fn cons(node: &Node) -> String {
    let mut out = String::new();
    for conn in node.connection_list() {
        let s = &conn.stats;
        let lat = *s.latency.lock();
        let _ = writeln!(
            out,
            " /{}[1](queued={},recved={},sent={},sid=0x{:x},lop={},est={},to={},lcxid=0x{:x},lzxid=0x{:x},\
             lresp={},llat={},minlat={},avglat={},maxlat={})",
            conn.peer,
            conn.queued(),
            s.received.load(Ordering::Relaxed),
            s.sent.load(Ordering::Relaxed),
            conn.session_id(),
            *s.last_op.lock(),
            conn.established_ms,
            node.sessions.timeout_ms(conn.session_id()).unwrap_or(0),
            s.last_cxid.load(Ordering::Relaxed),
            s.last_zxid.load(Ordering::Relaxed),
            s.last_response_ms.load(Ordering::Relaxed),
            lat.last,
            lat.min,
            lat.avg() as u64,
            lat.max
        );
    }
    out.push('\n');
    out
}

fn envi(node: &Node) -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
    let dir = std::env::current_dir().map(|d| d.display().to_string()).unwrap_or_default();
    let rows = [
        ("zookeeper.version", full_version()),
        ("host.name", host.trim().to_owned()),
        ("corral.version", env!("CARGO_PKG_VERSION").to_owned()),
        ("os.name", "Linux".to_owned()),
        ("os.arch", std::env::consts::ARCH.to_owned()),
        ("user.dir", dir),
        ("data.dir", node.config.data_dir.display().to_string()),
    ];
    let mut out = "Environment:\n".to_owned();
    for (k, v) in rows {
        let _ = writeln!(out, "{k}={v}");
    }
    out
}

fn wchs(node: &Node) -> String {
    node.with_watches(|w| {
        let mut conns = std::collections::HashSet::new();
        let mut paths = 0;
        let mut total = 0;
        for (_, watchers) in w.data_watches() {
            paths += 1;
            for c in watchers {
                conns.insert(*c);
                total += 1;
            }
        }
        format!("{} connections watching {paths} paths\nTotal watches:{total}\n", conns.len())
    })
}

/// Each connection's session, looked up once per command rather than once per path.
fn sessions_of(node: &Node) -> std::collections::HashMap<u64, i64> {
    node.connection_list().iter().map(|c| (c.id, c.session_id())).collect()
}

fn wchc(node: &Node) -> String {
    let by_conn = node.with_watches(|w| {
        let mut by_conn: std::collections::BTreeMap<u64, Vec<String>> = Default::default();
        for (path, watchers) in w.data_watches() {
            for c in watchers {
                by_conn.entry(*c).or_default().push(path.clone());
            }
        }
        by_conn
    });
    let sessions = sessions_of(node);
    let mut out = String::new();
    for (conn, mut paths) in by_conn {
        paths.sort();
        let _ = writeln!(out, "0x{:x}", sessions.get(&conn).copied().unwrap_or(0));
        paths.iter().for_each(|p| {
            let _ = writeln!(out, "\t{p}");
        });
    }
    out.push('\n');
    out
}

fn wchp(node: &Node) -> String {
    let by_path = node.with_watches(|w| {
        let mut list: Vec<(String, Vec<u64>)> =
            w.data_watches().map(|(p, c)| (p.clone(), c.copied().collect())).collect();
        list.sort();
        list
    });
    let sessions = sessions_of(node);
    let mut out = String::new();
    for (path, conns) in by_path {
        let _ = writeln!(out, "{path}");
        for c in conns {
            let _ = writeln!(out, "\t0x{:x}", sessions.get(&c).copied().unwrap_or(0));
        }
    }
    out.push('\n');
    out
}

fn dump(node: &Node) -> String {
    let groups = node.sessions.by_deadline();
    let now = tokio::time::Instant::now();
    let total: usize = groups.iter().map(|(_, ids)| ids.len()).sum();
    let mut out = format!("SessionTracker dump:\nSession Sets ({})/({total}):\n", groups.len());
    for (deadline, ids) in groups {
        let at = now_ms() + deadline.saturating_duration_since(now).as_millis() as i64;
        let _ = writeln!(out, "{} expire at {}:", ids.len(), java_date(at));
        ids.iter().for_each(|id| {
            let _ = writeln!(out, "\t0x{id:x}");
        });
    }
    let sessions = node.with_state(|s| {
        let mut list: Vec<(i64, Vec<String>)> = s
            .tree
            .sessions_with_ephemerals()
            .map(|(id, p)| (*id, p.iter().cloned().collect()))
            .collect();
        list.sort();
        list
    });
    let _ = writeln!(out, "ephemeral nodes dump:\nSessions with Ephemerals ({}):", sessions.len());
    for (id, paths) in sessions {
        let _ = writeln!(out, "0x{id:x}:");
        paths.iter().for_each(|p| {
            let _ = writeln!(out, "\t{p}");
        });
    }
    out.push_str("Connections dump:\n");
    out
}

/// The 4-character tag `cons` shows for a connection's last operation.
pub fn op_tag(op: OpCode) -> &'static str {
    use OpCode::*;
    match op {
        Create | Create2 | CreateContainer | CreateTtl => "CREA",
        Delete | DeleteContainer => "DELE",
        Exists => "EXIS",
        GetData => "GETD",
        SetData => "SETD",
        GetAcl => "GETA",
        SetAcl => "SETA",
        GetChildren | GetChildren2 => "GETC",
        Sync => "SYNC",
        Ping => "PING",
        Check => "CHEC",
        Multi => "MULT",
        MultiRead => "MLTR",
        Reconfig => "RECO",
        CheckWatches => "CHKW",
        RemoveWatches => "REMW",
        Auth | Sasl => "AUTH",
        SetWatches => "SETW",
        SetWatches2 => "STW2",
        GetEphemerals => "GETE",
        GetAllChildrenNumber => "GETACN",
        AddWatch => "ADDW",
        WhoAmI => "HOMI",
        CreateSession => "SESS",
        CloseSession => "CLOS",
        Notification | Error => "NA",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_are_recognised_from_their_bytes() {
        assert_eq!(command(*b"ruok"), Some("ruok"));
        assert_eq!(command([0, 0, 0, 45]), None);
    }
}
