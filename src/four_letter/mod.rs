//! Four-letter words on the client port: recognised in the first four bytes of a connection,
//! answered in ZooKeeper's plain-text formats, then the connection is closed.

pub(crate) mod ensemble;
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
            node.reset_connection_stats();
            "Connection stats reset.\n".to_owned()
        }
        "srst" => {
            // ZooKeeper's default metrics provider is reset with the server stats.
            node.stats.reset();
            node.metrics.reset();
            "Server stats reset.\n".to_owned()
        }
        "envi" => envi(),
        "wchs" => wchs(node),
        "wchc" => wchc(node),
        "wchp" => wchp(node),
        "dump" => dump(node),
        "dirs" => {
            let (data, log) = node.storage_bytes();
            format!("datadir_size: {data}\nlogdir_size: {log}\n")
        }
        _ => String::new(),
    }
}

fn srvr(node: &Node, with_clients: bool) -> String {
    let mut out = format!("Zookeeper version: {}\n", full_version());
    if with_clients {
        out.push_str("Clients:\n");
        for c in node.connection_views() {
            let (peer, queued, received, sent) = (c.peer, c.queued, c.received, c.sent);
            let _ = writeln!(out, " /{peer}[1](queued={queued},recved={received},sent={sent})");
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
    let (data_size, log_size) = node.storage_bytes();
    format!(
        "clientPort={}\nsecureClientPort=-1\ndataDir={}\ndataDirSize={data_size}\ndataLogDir={}\n\
         dataLogSize={log_size}\ntickTime={}\nmaxClientCnxns={}\nminSessionTimeout={}\n\
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

fn cons(node: &Node) -> String {
    let mut out = String::new();
    for c in node.connection_views() {
        let lat = c.latency;
        let _ = writeln!(
            out,
            " /{}[1](queued={},recved={},sent={},sid=0x{:x},lop={},est={},to={},lcxid=0x{:x},lzxid=0x{:x},\
             lresp={},llat={},minlat={},avglat={},maxlat={})",
            c.peer,
            c.queued,
            c.received,
            c.sent,
            c.session_id,
            c.last_op,
            c.established_ms,
            c.timeout_ms,
            c.last_cxid,
            c.last_zxid,
            c.last_response_ms,
            lat.last,
            lat.min,
            lat.avg() as u64,
            lat.max
        );
    }
    out.push('\n');
    out
}

fn envi() -> String {
    let mut out = "Environment:\n".to_owned();
    for (k, v) in crate::admin::environment::rows() {
        let _ = writeln!(out, "{k}={v}");
    }
    out
}

fn wchs(node: &Node) -> String {
    let w = node.watch_summary();
    format!(
        "{} connections watching {} paths\nTotal watches:{}\n",
        w.connections, w.paths, w.watches
    )
}

fn wchc(node: &Node) -> String {
    let mut out = String::new();
    for (session, paths) in node.watched_paths_by_session() {
        let _ = writeln!(out, "0x{session:x}");
        paths.iter().for_each(|p| {
            let _ = writeln!(out, "\t{p}");
        });
    }
    out.push('\n');
    out
}

fn wchp(node: &Node) -> String {
    let mut out = String::new();
    for (path, sessions) in node.watching_sessions_by_path() {
        let _ = writeln!(out, "{path}");
        for session in sessions {
            let _ = writeln!(out, "\t0x{session:x}");
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
    let sessions = node.ephemerals_by_session();
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
