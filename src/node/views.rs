//! What the operator's commands show of a node (the four-letter words as text, the
//! AdminServer as JSON): connections, watches by session and by path, sessions by expiry,
//! ephemerals by session. Plain data, read once, in ZooKeeper's order; the callers format it.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::atomic::Ordering;

use super::conn::LatencyStats;
use super::Node;
use crate::store::disk::bytes_under;
use crate::watch::ConnId;

/// One client connection, as `cons` and the admin `connections` show it.
#[derive(Debug, Clone)]
pub struct ConnectionView {
    pub peer: SocketAddr,
    pub queued: usize,
    pub received: u64,
    pub sent: u64,
    /// 0 before the handshake.
    pub session_id: i64,
    pub last_op: &'static str,
    pub established_ms: i64,
    pub timeout_ms: u64,
    pub last_cxid: i64,
    pub last_zxid: i64,
    pub last_response_ms: i64,
    pub latency: LatencyStats,
}

/// `wchs`: connections watching, paths watched, data watches in all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WatchSummary {
    pub connections: usize,
    pub paths: usize,
    pub watches: usize,
}

impl Node {
    pub fn connection_views(&self) -> Vec<ConnectionView> {
        self.connection_list()
            .iter()
            .map(|conn| {
                let s = &conn.stats;
                ConnectionView {
                    peer: conn.peer,
                    queued: conn.queued(),
                    received: s.received.load(Ordering::Relaxed),
                    sent: s.sent.load(Ordering::Relaxed),
                    session_id: conn.session_id(),
                    last_op: *s.last_op.lock(),
                    established_ms: conn.established_ms,
                    timeout_ms: self.sessions.timeout_ms(conn.session_id()).unwrap_or(0),
                    last_cxid: s.last_cxid.load(Ordering::Relaxed),
                    last_zxid: s.last_zxid.load(Ordering::Relaxed),
                    last_response_ms: s.last_response_ms.load(Ordering::Relaxed),
                    latency: *s.latency.lock(),
                }
            })
            .collect()
    }

    /// `crst`: every connection's counters and latencies start again.
    pub fn reset_connection_stats(&self) {
        for conn in self.connection_list() {
            *conn.stats.latency.lock() = Default::default();
            conn.stats.received.store(0, Ordering::Relaxed);
            conn.stats.sent.store(0, Ordering::Relaxed);
        }
    }

    pub fn watch_summary(&self) -> WatchSummary {
        self.with_watches(|w| {
            let mut connections = HashSet::new();
            let mut summary = WatchSummary { connections: 0, paths: 0, watches: 0 };
            for (_, watchers) in w.data_watches() {
                summary.paths += 1;
                for conn in watchers {
                    connections.insert(*conn);
                    summary.watches += 1;
                }
            }
            summary.connections = connections.len();
            summary
        })
    }

    /// `wchc`: each watching connection's session and the paths it watches, sorted.
    pub fn watched_paths_by_session(&self) -> Vec<(i64, Vec<String>)> {
        let by_conn = self.with_watches(|w| {
            let mut by_conn: BTreeMap<ConnId, Vec<String>> = BTreeMap::new();
            for (path, watchers) in w.data_watches() {
                for conn in watchers {
                    by_conn.entry(*conn).or_default().push(path.clone());
                }
            }
            by_conn
        });
        let sessions = self.session_of_connections();
        let mut list: Vec<(i64, Vec<String>)> = by_conn
            .into_iter()
            .map(|(conn, mut paths)| {
                paths.sort();
                (sessions.get(&conn).copied().unwrap_or(0), paths)
            })
            .collect();
        list.sort();
        list
    }

    /// `wchp`: each watched path, sorted, and the sessions watching it.
    pub fn watching_sessions_by_path(&self) -> Vec<(String, Vec<i64>)> {
        let by_path = self.with_watches(|w| {
            let mut list: Vec<(String, Vec<ConnId>)> =
                w.data_watches().map(|(p, c)| (p.clone(), c.copied().collect())).collect();
            list.sort();
            list
        });
        let sessions = self.session_of_connections();
        let session = |conn: ConnId| sessions.get(&conn).copied().unwrap_or(0);
        by_path
            .into_iter()
            .map(|(path, conns)| (path, conns.into_iter().map(session).collect()))
            .collect()
    }

    /// Each connection's session, looked up once per command rather than once per path.
    fn session_of_connections(&self) -> HashMap<ConnId, i64> {
        self.connection_list().iter().map(|c| (c.id, c.session_id())).collect()
    }

    /// `dump`: the sessions that own ephemerals, sorted, with their paths.
    pub fn ephemerals_by_session(&self) -> Vec<(i64, Vec<String>)> {
        self.with_state(|s| {
            let mut list: Vec<(i64, Vec<String>)> = s
                .tree
                .sessions_with_ephemerals()
                .map(|(id, paths)| (*id, paths.iter().cloned().collect()))
                .collect();
            list.sort();
            list
        })
    }

    /// `dirs`: the bytes of the snapshots (ZooKeeper's data directory holds its snapshots)
    /// and of the log.
    pub fn storage_bytes(&self) -> (u64, u64) {
        let snapshots = self.config.data_dir.join("corral").join("snapshots");
        let log = self.config.data_log_dir.join("corral");
        (bytes_under(&snapshots, None), bytes_under(&log, Some(&snapshots)))
    }
}
