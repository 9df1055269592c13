//! A server: `Server::start` wires the node, replication (standalone, or a member of the
//! ensemble its config describes), the proposer, the leader jobs and the client port's
//! accept loop; `stop` undoes it.

mod accept;
mod exposition;
pub mod setup;

use std::net::SocketAddr;
use std::sync::Arc;

use thiserror::Error;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::config::Config;
use crate::metrics::prometheus::Exporter;
use crate::metrics::Metrics;
use crate::node::Node;
use crate::replication;
use crate::replication::{RaftHandle, ReplicationError};
use crate::session::password::PasswordKey;
use crate::store::lock::DirLock;
pub use accept::{bind_client_port, bind_quorum_port};
use setup::{ensemble_settings, next_incarnation, replication_settings};

/// The sockets a server serves on, bound by the caller (tests bind port 0).
pub struct Listeners {
    pub client: TcpListener,
    /// The quorum port of this server's `server.N` line; a member of an ensemble needs it.
    pub peer: Option<TcpListener>,
    /// Prometheus's `/metrics` (with ZooKeeper's Prometheus metrics provider configured).
    pub metrics: Option<TcpListener>,
    /// The AdminServer's commands (`admin.enableServer`, on by default).
    pub admin: Option<TcpListener>,
}

impl From<TcpListener> for Listeners {
    /// A standalone server's: the client port only.
    fn from(client: TcpListener) -> Self {
        Listeners { client, peer: None, metrics: None, admin: None }
    }
}

/// Why a server could not start.
#[derive(Debug, Error)]
pub enum StartError {
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("{0}")]
    Replication(#[from] ReplicationError),
    #[error("a member of an ensemble needs its quorum port's listener")]
    NoPeerListener,
}

/// A running server: its address, node, and the token that stops it.
pub struct Server {
    pub addr: SocketAddr,
    pub node: Arc<Node>,
    raft: RaftHandle,
    shutdown: CancellationToken,
    tasks: Vec<JoinHandle<()>>,
    /// Keeps import and export (and a second server) off this data directory.
    _lock: DirLock,
}

impl Server {
    /// Binds nothing itself: takes bound listeners, so tests can use port 0. Standalone, it
    /// recovers the state from the log before it serves anyone; a member of an ensemble
    /// serves clients once it knows a leader.
    pub async fn start(
        config: Config,
        listeners: impl Into<Listeners>,
    ) -> Result<Server, StartError> {
        let Listeners { client: listener, peer, metrics: metrics_listener, admin } =
            listeners.into();
        std::fs::create_dir_all(&config.data_dir).map_err(|e| {
            std::io::Error::new(e.kind(), format!("{}: {e}", config.data_dir.display()))
        })?;
        let lock = DirLock::acquire(&config.data_dir)?;
        let passwords = PasswordKey::load_or_create(&config.data_dir)?;
        let metrics = Arc::new(Metrics::default());
        // Attached before anything runs, so start-up's own measurements reach Prometheus.
        let exporter = metrics_listener.as_ref().map(|_| Arc::new(Exporter::attach(&metrics)));
        let settings = replication_settings(&config, &metrics);
        let addr = listener.local_addr()?;
        let (replicator, proposals) = replication::channel();
        let incarnation = next_incarnation(&config.data_dir)?;
        let distributed = config.ensemble.is_distributed();
        let ensemble = distributed.then(|| ensemble_settings(&config));
        let parts = (replicator.clone(), Arc::clone(&metrics));
        let node = Arc::new(Node::new(Arc::new(config), passwords, parts, incarnation));
        let shutdown = CancellationToken::new();
        let raft = match (ensemble, peer) {
            (None, _) => replication::start_standalone(node.clone(), &settings, &shutdown).await?,
            (Some(_), None) => return Err(StartError::NoPeerListener),
            (Some(ensemble), Some(peer)) => {
                let node = node.clone();
                replication::start_member(node, &settings, &ensemble, peer, replicator, &shutdown)
                    .await?
            }
        };
        tracing::info!(zxid = format!("0x{:x}", node.last_zxid()), "recovered from the log");
        let mut tasks = vec![
            tokio::spawn(replication::run_proposer(
                node.clone(),
                proposals,
                raft.clone(),
                shutdown.clone(),
            )),
            tokio::spawn(replication::run_snapshot_jobs(raft.clone(), shutdown.clone())),
            tokio::spawn(node.clone().run_expiry(shutdown.clone())),
            tokio::spawn(node.clone().run_reaper(shutdown.clone())),
            tokio::spawn(accept::accept_loop(node.clone(), listener, shutdown.clone())),
            tokio::spawn(crate::memory::run_trimmer(shutdown.clone())),
        ];
        if let (Some(listener), Some(exporter)) = (metrics_listener, exporter) {
            let stop = shutdown.clone();
            tasks.extend(exposition::serve(node.clone(), (listener, exporter), stop));
        }
        if let Some(listener) = admin {
            let url = node.config.admin.command_url.clone();
            tasks.push(crate::admin::serve(node.clone(), listener, url, shutdown.clone()));
        }
        Ok(Server { addr, node, raft, shutdown, tasks, _lock: lock })
    }

    /// Cuts this member off from the members `peers` (empty heals): nothing passes between
    /// them. For tests of partitions; nothing else calls it.
    pub fn cut_off(&self, peers: &[u64]) {
        self.raft.cut_off(peers);
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
