//! Node: everything a connection talks to — the replicated state behind its lock, the
//! node-local watch tables, the registry of connections, the requests waiting for apply, the
//! sessions' activity, and the replicator that orders writes.

mod apply;
mod apply_metrics;
pub mod conn;
mod gauges;
mod jobs;
mod outbound;
mod read;
pub mod stats;
mod views;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use jute::{Id, OpCode};
use parking_lot::{Mutex, RwLock};
use tokio::sync::oneshot;
use tokio::time::Instant;

use crate::config::Config;
use crate::error::ZkError;
use crate::metrics::Metrics;
use crate::ops::ApplyConfig;
use crate::replication::{EnsembleStatus, EnsembleView, Replicator, Role};
use crate::session::password::{self, Password, PasswordKey, SessionIdGenerator};
use crate::session::Sessions;
use crate::state::ZkState;
use crate::tree::acl::AclPolicy;
use crate::txn::{Origin, RestorePart, Txn, TxnOp, RESTORE_PART_BYTES};
use crate::watch::{ConnId, WatchManager};
use conn::ConnShared;
pub use read::ReadReply;
use stats::ServerStats;
pub use views::{ConnectionView, WatchSummary};

/// A request waiting for its txn to be applied.
enum Pending {
    /// A client write: reply on `conn` with `xid`.
    /// `request_bytes` is the request's frame size, owed by the connection until it applies.
    Request { conn: Arc<ConnShared>, xid: i32, op: OpCode, started: Instant, request_bytes: usize },
    /// A handshake waiting for its session's txn, or a restore: told the txn's zxid.
    Waiter(oneshot::Sender<Result<i64, ZkError>>),
}

pub struct Node {
    pub config: Arc<Config>,
    pub apply_config: ApplyConfig,
    pub node_id: u64,
    /// The replicated state; reads take it shared, apply takes it exclusive.
    state: RwLock<ZkState>,
    /// Node-local; always locked after `state`.
    watches: Mutex<WatchManager>,
    connections: RwLock<HashMap<ConnId, Arc<ConnShared>>>,
    /// Which connection currently serves each session.
    bound: Mutex<HashMap<i64, ConnId>>,
    pending: Mutex<HashMap<u64, Pending>>,
    pub sessions: Sessions,
    replicator: Replicator,
    pub session_ids: SessionIdGenerator,
    pub passwords: PasswordKey,
    pub stats: ServerStats,
    /// Counters and summaries under ZooKeeper's names (shared with replication).
    pub metrics: Arc<Metrics>,
    next_conn: AtomicU64,
    next_request: AtomicU64,
    /// What this member is in the ensemble, published by replication.
    role: tokio::sync::watch::Sender<Role>,
    /// How to ask about the ensemble; unset on a standalone server.
    view: std::sync::OnceLock<Arc<dyn EnsembleView>>,
    /// Four-letter words whose answer grows with the server (dumps of watches, sessions and
    /// connections) are built this many at a time, so clients that ask and never read cannot
    /// hold many copies of such an answer.
    pub heavy_four_letter_slots: tokio::sync::Semaphore,
}

/// Request ids of an incarnation: its number in the top 24 bits, a counter below.
fn first_request_id(incarnation: u32) -> u64 {
    (u64::from(incarnation) & 0xff_ffff) << 40 | 1
}

/// See `Node::heavy_four_letter_slots`.
const HEAVY_FOUR_LETTER_SLOTS: usize = 4;

impl Node {
    /// `incarnation`: how many times this server has started (see `txn::Origin`).
    pub fn new(
        config: Arc<Config>,
        passwords: PasswordKey,
        (replicator, metrics): (Replicator, Arc<Metrics>),
        incarnation: u32,
    ) -> Node {
        let mut node = Node::empty(config, passwords, replicator, incarnation);
        node.metrics = metrics;
        if node.config.ensemble.is_distributed() {
            // A member starts out looking for its leader.
            node.metrics.count(crate::metrics::Counter::Looking);
        }
        node.publish_config();
        node
    }

    fn empty(
        config: Arc<Config>,
        passwords: PasswordKey,
        replicator: Replicator,
        incarnation: u32,
    ) -> Node {
        let apply_config = ApplyConfig {
            acl: AclPolicy { skip_acl: config.skip_acl, sasl_enabled: config.sasl_enabled },
            extended_types: config.extended_types_enabled,
            enforce_quota: config.enforce_quota,
        };
        Node {
            apply_config,
            node_id: config.server_id as u64,
            state: RwLock::new(ZkState::default()),
            watches: Mutex::new(WatchManager::default()),
            connections: RwLock::new(HashMap::new()),
            bound: Mutex::new(HashMap::new()),
            pending: Mutex::new(HashMap::new()),
            sessions: Sessions::new(config.tick()),
            replicator,
            session_ids: SessionIdGenerator::new(config.server_id, crate::clock::now_ms()),
            passwords,
            stats: ServerStats::default(),
            metrics: Arc::default(),
            next_conn: AtomicU64::new(1),
            next_request: AtomicU64::new(first_request_id(incarnation)),
            role: tokio::sync::watch::Sender::new(Role::NoLeader),
            view: std::sync::OnceLock::new(),
            heavy_four_letter_slots: tokio::sync::Semaphore::new(HEAVY_FOUR_LETTER_SLOTS),
            config,
        }
    }

    /// A member of an ensemble shows its config in `/zookeeper/config`.
    pub(crate) fn publish_config(&self) {
        if self.config.ensemble.is_distributed() {
            let text = self.config.ensemble.config_text();
            self.state.write().tree.set_config_text(text.as_bytes());
        }
    }

    pub fn next_conn_id(&self) -> ConnId {
        self.next_conn.fetch_add(1, Ordering::Relaxed)
    }

    pub fn register(&self, conn: Arc<ConnShared>) {
        self.connections.write().insert(conn.id, conn);
    }

    /// Forgets a closed connection and its watches; its session lives on until it expires.
    pub fn unregister(&self, conn: &ConnShared) {
        self.connections.write().remove(&conn.id);
        let session = conn.session_id();
        let mut bound = self.bound.lock();
        if bound.get(&session) == Some(&conn.id) {
            bound.remove(&session);
        }
        drop(bound);
        let _state = self.state.read();
        self.watches.lock().remove_connection(conn.id);
    }

    /// Binds a session to a connection, closing the connection that served it before.
    pub fn bind(&self, session_id: i64, conn: &Arc<ConnShared>) {
        conn.bind_session(session_id);
        let previous = self.bound.lock().insert(session_id, conn.id);
        if let Some(old) = previous.filter(|old| *old != conn.id) {
            if let Some(old) = self.connections.read().get(&old) {
                tracing::debug!(
                    session = format!("0x{session_id:x}"),
                    "closing the session's previous connection"
                );
                old.closing.cancel();
            }
        }
    }

    /// Writes in flight on every connection (ZooKeeper's outstanding requests).
    pub fn outstanding_requests(&self) -> usize {
        self.connections.read().values().map(|c| c.writes_in_flight()).sum()
    }

    pub fn connection_list(&self) -> Vec<Arc<ConnShared>> {
        let mut list: Vec<_> = self.connections.read().values().cloned().collect();
        list.sort_by_key(|c| c.id);
        list
    }

    /// Runs `f` with the state shared, as the four-letter words and restart checks do.
    pub fn with_state<T>(&self, f: impl FnOnce(&ZkState) -> T) -> T {
        f(&self.state.read())
    }

    pub fn with_watches<T>(&self, f: impl FnOnce(&WatchManager) -> T) -> T {
        let _state = self.state.read();
        f(&self.watches.lock())
    }

    pub fn role(&self) -> Role {
        *self.role.borrow()
    }

    /// The ensemble as this member sees it; `None` on a standalone server.
    pub fn ensemble_status(&self) -> Option<EnsembleStatus> {
        self.view.get().map(|view| view.status())
    }

    pub fn subscribe_role(&self) -> tokio::sync::watch::Receiver<Role> {
        self.role.subscribe()
    }

    /// A frozen copy of the whole state (O(1): its maps are persistent), for a dump.
    pub fn state_copy(&self) -> ZkState {
        self.state.read().clone()
    }

    pub fn last_zxid(&self) -> i64 {
        self.state.read().last_zxid
    }

    fn origin(&self) -> Origin {
        Origin {
            node_id: self.node_id,
            request_id: self.next_request.fetch_add(1, Ordering::Relaxed),
        }
    }

    /// Sends a client write to be ordered and applied; its reply is queued on `conn` by apply.
    /// `request_bytes` (the request's frame size) counts against the connection's byte bound
    /// until the write applies.
    pub async fn propose_request(
        &self,
        conn: &Arc<ConnShared>,
        (xid, op, request_bytes): (i32, OpCode, usize),
        txn_op: TxnOp,
    ) {
        let origin = self.origin();
        let started = Instant::now();
        let pending = Pending::Request { conn: conn.clone(), xid, op, started, request_bytes };
        self.pending.lock().insert(origin.request_id, pending);
        conn.write_started(request_bytes);
        let txn = Txn {
            session_id: conn.session_id(),
            origin: Some(origin),
            auth: conn.auth(),
            op: txn_op,
        };
        if self.replicator.propose(txn).await.is_err() {
            // The server is shutting down; as ZooKeeper does, drop the connection.
            self.pending.lock().remove(&origin.request_id);
            conn.write_finished(request_bytes);
            conn.closing.cancel();
        }
    }

    /// Creates a session through the log and waits until it is applied.
    pub async fn create_session(
        &self,
        session_id: i64,
        timeout_ms: i32,
        passwd: Password,
    ) -> Result<(), Option<ZkError>> {
        let op = TxnOp::CreateSession { timeout_ms, passwd: Some(passwd) };
        self.session_txn(session_id, op).await
    }

    /// Makes this member the session's owner, through the log, unless it already is: a
    /// write sent through the member the session left is then refused (SESSIONMOVED).
    /// `Err(None)`: the outcome is unknown; `Err(Some(_))`: the session is gone.
    pub async fn own_session(&self, session_id: i64) -> Result<(), Option<ZkError>> {
        let owner = self.state.read().sessions.get(session_id).map(|s| s.owner);
        match owner {
            None => Err(Some(ZkError::SessionExpired)),
            Some(Some(owner)) if owner == self.node_id => Ok(()),
            Some(_) => self.session_txn(session_id, TxnOp::MoveSession).await,
        }
    }

    /// Proposes a session's txn for a handshake and waits until it is applied here.
    /// `Err(None)`: its outcome is unknown (no leader, the link to it broke, shutting down).
    async fn session_txn(&self, session_id: i64, op: TxnOp) -> Result<(), Option<ZkError>> {
        self.txn_applied(session_id, op).await.map(drop)
    }

    /// Replaces the tree and sessions with a ZooKeeper snapshot's, through the log, so that
    /// every member does: the snapshot goes in parts, each applied before the next is sent.
    /// The restore's zxid once its last part is applied here.
    /// `Err(None)`: its outcome is unknown (no leader, the link to it broke, shutting down).
    pub async fn restore(&self, image: &[u8]) -> Result<i64, Option<ZkError>> {
        // Unique to this member and this restore: a part of another restore never matches.
        let id = ((self.node_id as i64) << 48) ^ self.origin().request_id as i64;
        let total = image.len() as i64;
        let mut zxid = Err(Some(ZkError::BadArguments));
        for (n, bytes) in image.chunks(RESTORE_PART_BYTES).enumerate() {
            let offset = (n * RESTORE_PART_BYTES) as i64;
            let part = RestorePart { id, offset, total, bytes: bytes.into() };
            zxid = Ok(self.txn_applied(0, TxnOp::Restore(part)).await?);
        }
        zxid
    }

    /// Proposes a txn and waits until it is applied here; its zxid.
    async fn txn_applied(&self, session_id: i64, op: TxnOp) -> Result<i64, Option<ZkError>> {
        let origin = self.origin();
        let (tx, rx) = oneshot::channel();
        self.pending.lock().insert(origin.request_id, Pending::Waiter(tx));
        let txn = Txn { session_id, origin: Some(origin), auth: Arc::new(Vec::<Id>::new()), op };
        if self.replicator.propose(txn).await.is_err() {
            self.pending.lock().remove(&origin.request_id);
            return Err(None);
        }
        match rx.await {
            Ok(result) => result.map_err(Some),
            Err(_) => Err(None),
        }
    }

    /// Proposes a server job's txn (expiry, reaping) that no one waits on.
    pub async fn propose_job(&self, session_id: i64, op: TxnOp) {
        let txn = Txn { session_id, origin: None, auth: Arc::new(Vec::new()), op };
        let _ = self.replicator.propose(txn).await;
    }

    pub fn session_exists(&self, session_id: i64) -> bool {
        self.state.read().sessions.contains(session_id)
    }

    /// The password of a live session, as any member knows it: replicated with the session,
    /// or, for a session logged before that, derived by this server.
    pub fn session_password(&self, session_id: i64) -> Option<Password> {
        let entry = *self.state.read().sessions.get(session_id)?;
        Some(entry.passwd.unwrap_or_else(|| self.passwords.password(session_id)))
    }

    /// Whether `candidate` is the password of the live session `session_id`.
    pub fn session_password_matches(&self, session_id: i64, candidate: &[u8]) -> bool {
        self.session_password(session_id).is_some_and(|p| password::matches(&p, candidate))
    }
}
