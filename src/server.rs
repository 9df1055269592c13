//! The accept loop: enforces maxClientCnxns (per IP) and maxCnxns (overall), then spawns one
//! task per connection. `Server::start` wires the node, the proposer and the leader jobs.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use parking_lot::Mutex;
use thiserror::Error;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::config::Config;
use crate::connection;
use crate::node::Node;
use crate::replication;
use crate::replication::{RaftHandle, ReplicationError, Settings, StorageDirs};
use crate::session::password::PasswordKey;

/// Why a server could not start.
#[derive(Debug, Error)]
pub enum StartError {
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("{0}")]
    Replication(#[from] ReplicationError),
}

/// A running server: its address, node, and the token that stops it.
pub struct Server {
    pub addr: SocketAddr,
    pub node: Arc<Node>,
    raft: RaftHandle,
    shutdown: CancellationToken,
    tasks: Vec<JoinHandle<()>>,
}

/// Open connections per client IP.
#[derive(Default)]
struct ConnectionCounts {
    per_ip: HashMap<IpAddr, usize>,
    total: usize,
}

/// Releases a connection's slot when its task ends.
struct Slot {
    counts: Arc<Mutex<ConnectionCounts>>,
    ip: IpAddr,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut counts = self.counts.lock();
        counts.total -= 1;
        if let Some(n) = counts.per_ip.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                counts.per_ip.remove(&self.ip);
            }
        }
    }
}

impl Server {
    /// Binds nothing itself: takes a bound listener, so tests can use port 0.
    /// Recovers the state from the log before it serves anyone.
    pub async fn start(config: Config, listener: TcpListener) -> Result<Server, StartError> {
        std::fs::create_dir_all(&config.data_dir)?;
        let passwords = PasswordKey::load_or_create(&config.data_dir)?;
        let settings = replication_settings(&config);
        let addr = listener.local_addr()?;
        let (replicator, proposals) = replication::channel();
        let incarnation = next_incarnation(&config.data_dir)?;
        let node = Arc::new(Node::new(Arc::new(config), passwords, replicator, incarnation));
        let raft = replication::start_standalone(node.clone(), &settings).await?;
        tracing::info!(zxid = format!("0x{:x}", node.last_zxid()), "recovered from the log");
        let shutdown = CancellationToken::new();
        let tasks = vec![
            tokio::spawn(replication::run_proposer(
                node.clone(),
                proposals,
                raft.clone(),
                shutdown.clone(),
            )),
            tokio::spawn(replication::run_snapshot_jobs(raft.clone(), shutdown.clone())),
            tokio::spawn(node.clone().run_expiry(shutdown.clone())),
            tokio::spawn(node.clone().run_reaper(shutdown.clone())),
            tokio::spawn(accept_loop(node.clone(), listener, shutdown.clone())),
            tokio::spawn(crate::memory::run_trimmer(shutdown.clone())),
        ];
        Ok(Server { addr, node, raft, shutdown, tasks })
    }

    /// Resolves when the server has stopped itself because its log failed (disk full, I/O
    /// error), or when `stop` has begun.
    pub async fn failed(&self) {
        self.shutdown.cancelled().await
    }

    /// Stops accepting, closes every connection and stops the jobs.
    pub async fn stop(self) {
        self.shutdown.cancel();
        for conn in self.node.connection_list() {
            conn.closing.cancel();
        }
        for task in self.tasks {
            let _ = task.await;
        }
        self.raft.shutdown().await;
    }
}

/// Counts this start in `<dataDir>/corral/incarnation`, durably, before any request is
/// proposed: request ids carry it, so none repeats across restarts.
fn next_incarnation(data_dir: &std::path::Path) -> std::io::Result<u32> {
    let dir = data_dir.join("corral");
    std::fs::create_dir_all(&dir)?;
    let path = dir.join("incarnation");
    let previous = match std::fs::read_to_string(&path) {
        Ok(text) => text.trim().parse::<u32>().map_err(|_| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("{} does not hold a number", path.display()),
            )
        })?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => 0,
        Err(e) => return Err(e),
    };
    let next = previous.wrapping_add(1) & 0xff_ffff;
    let temp = dir.join("incarnation.tmp");
    let mut file = std::fs::File::create(&temp)?;
    std::io::Write::write_all(&mut file, format!("{next}\n").as_bytes())?;
    file.sync_all()?;
    std::fs::rename(&temp, &path)?;
    std::fs::File::open(&dir)?.sync_all()?;
    Ok(next)
}

fn replication_settings(config: &Config) -> Settings {
    Settings {
        node_id: config.server_id as u64,
        dirs: StorageDirs {
            log: config.data_log_dir.join("corral"),
            snapshots: config.data_dir.join("corral").join("snapshots"),
            log_map_size: config.log_map_size,
        },
        snap_count: config.snap_count,
        snap_retain_count: config.snap_retain_count,
    }
}

/// Binds the client port. The IPv6 wildcard (a zoo.cfg without `clientPortAddress`) takes
/// IPv4 clients too where the kernel allows; on a host without IPv6 it falls back to 0.0.0.0.
pub async fn bind_client_port(addr: SocketAddr) -> std::io::Result<TcpListener> {
    match TcpListener::bind(addr).await {
        Err(e) if addr.ip() == IpAddr::V6(std::net::Ipv6Addr::UNSPECIFIED) => {
            tracing::info!(error = %e, "no IPv6 wildcard; listening on 0.0.0.0");
            let v4 = SocketAddr::new(IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED), addr.port());
            TcpListener::bind(v4).await
        }
        result => result,
    }
}

async fn accept_loop(node: Arc<Node>, listener: TcpListener, shutdown: CancellationToken) {
    let counts = Arc::new(Mutex::new(ConnectionCounts::default()));
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = shutdown.cancelled() => return,
        };
        let (socket, peer) = match accepted {
            // An IPv4 client of the dual-stack wildcard arrives as ::ffff:a.b.c.d; ACLs, limits
            // and `cons` see it as a.b.c.d, as ZooKeeper does.
            Ok((socket, peer)) => (socket, SocketAddr::new(peer.ip().to_canonical(), peer.port())),
            Err(e) => {
                tracing::warn!(error = %e, "accept failed");
                continue;
            }
        };
        let Some(slot) = take_slot(&node, &counts, peer.ip()) else {
            tracing::warn!(peer = %peer, "too many connections; closing (maxClientCnxns/maxCnxns)");
            continue;
        };
        let node = node.clone();
        tokio::spawn(async move {
            connection::serve(node, socket, peer).await;
            drop(slot);
        });
    }
}

fn take_slot(node: &Node, counts: &Arc<Mutex<ConnectionCounts>>, ip: IpAddr) -> Option<Slot> {
    let (per_ip_limit, total_limit) = (node.config.max_client_cnxns, node.config.max_cnxns);
    let mut c = counts.lock();
    let from_ip = c.per_ip.get(&ip).copied().unwrap_or(0);
    if (per_ip_limit > 0 && from_ip >= per_ip_limit) || (total_limit > 0 && c.total >= total_limit)
    {
        return None;
    }
    *c.per_ip.entry(ip).or_default() += 1;
    c.total += 1;
    Some(Slot { counts: counts.clone(), ip })
}

#[cfg(test)]
mod tests {
    #[test]
    fn each_start_counts_a_new_incarnation() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(super::next_incarnation(dir.path()).unwrap(), 1);
        assert_eq!(super::next_incarnation(dir.path()).unwrap(), 2);
        std::fs::write(dir.path().join("corral/incarnation"), "garbage").unwrap();
        assert!(super::next_incarnation(dir.path()).is_err(), "never guessed");
    }
}
