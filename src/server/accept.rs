//! The client port: binding it, and the accept loop, which enforces maxClientCnxns (per IP)
//! and maxCnxns (overall), refuses clients while this member has no leader, and spawns one
//! task per connection.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use parking_lot::Mutex;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::connection;
use crate::node::Node;

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

/// Binds this member's quorum port: the host and port of its `server.N` line, or every
/// address with `quorumListenOnAllIPs`. A port still held by a process that just died is
/// tried again, three times a second apart, as ZooKeeper retries its election port.
pub async fn bind_quorum_port(config: &crate::config::Config) -> std::io::Result<TcpListener> {
    let me = &config.ensemble.members[&u64::from(config.server_id)];
    let host = if config.quorum_listen_on_all_ips { "0.0.0.0" } else { me.quorum.host.as_str() };
    let mut attempts = 0;
    loop {
        match TcpListener::bind((host, me.quorum.port)).await {
            Ok(listener) => return Ok(listener),
            Err(e) if attempts < 3 => {
                attempts += 1;
                tracing::warn!(error = %e, address = %me.quorum, "cannot bind the quorum port; retrying");
                tokio::time::sleep(std::time::Duration::from_secs(1)).await;
            }
            Err(e) => {
                let why = format!("cannot bind the quorum port {}: {e}", me.quorum);
                return Err(std::io::Error::new(e.kind(), why));
            }
        }
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

pub async fn accept_loop(node: Arc<Node>, listener: TcpListener, shutdown: CancellationToken) {
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
            node.metrics.count(crate::metrics::Counter::ConnectionRejected);
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
