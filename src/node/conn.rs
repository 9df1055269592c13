//! ConnShared: the part of a client connection that the rest of the node can reach — its
//! bounded outbound queue, its auth ids, its session, and the count of writes it has in flight.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicI64, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

use jute::{Id, ReplyHeader, Response, WatcherEvent};
use parking_lot::{Mutex, RwLock};
use tokio::sync::{mpsc, Notify};
use tokio_util::sync::CancellationToken;

use crate::sasl::SaslState;
use crate::watch::ConnId;

/// Frames waiting for a connection's writer, in the order they must be sent.
#[derive(Debug)]
pub enum Outbound {
    /// A reply; a body goes out with errors only where ZooKeeper sends one (a failed SASL step).
    Reply { header: ReplyHeader, body: Option<Response> },
    /// A watch notification (xid -1).
    Notification { zxid: i64, event: WatcherEvent },
    /// Flush everything before it, then close.
    Close,
}

/// Per-connection counters for `cons` and `stat`.
#[derive(Debug, Default)]
pub struct ConnStats {
    pub received: AtomicU64,
    pub sent: AtomicU64,
    pub last_op: Mutex<&'static str>,
    pub last_cxid: AtomicI64,
    pub last_zxid: AtomicI64,
    pub last_response_ms: AtomicI64,
    pub latency: Mutex<LatencyStats>,
}

/// Min/avg/max request latency in ms.
#[derive(Debug, Default, Clone, Copy)]
pub struct LatencyStats {
    pub min: u64,
    pub max: u64,
    pub total: u64,
    pub count: u64,
    pub last: u64,
}

impl LatencyStats {
    pub fn record(&mut self, ms: u64) {
        self.min = if self.count == 0 { ms } else { self.min.min(ms) };
        self.max = self.max.max(ms);
        self.total += ms;
        self.count += 1;
        self.last = ms;
    }

    pub fn avg(&self) -> f64 {
        if self.count == 0 {
            0.0
        } else {
            self.total as f64 / self.count as f64
        }
    }
}

pub struct ConnShared {
    pub id: ConnId,
    pub peer: SocketAddr,
    /// Bounded (see `OUTBOUND_CAPACITY`); a full queue closes the connection rather than
    /// stalling apply for everyone.
    outbound: mpsc::Sender<Outbound>,
    /// The ids this connection has authenticated as; `ip` is added at connect.
    auth: RwLock<Arc<Vec<Id>>>,
    /// 0 until the handshake binds a session.
    session_id: AtomicI64,
    writes_in_flight: AtomicUsize,
    writes_done: Notify,
    /// Cancelled when the connection must stop: closed, replaced, expired or overflowed.
    pub closing: CancellationToken,
    pub established_ms: i64,
    pub stats: ConnStats,
    /// Where this connection's SASL exchange stands.
    pub sasl: Mutex<SaslState>,
}

/// Frames a connection may have queued for its writer: requests in flight (bounded by
/// `globalOutstandingLimit`) plus room for notifications.
pub const OUTBOUND_CAPACITY: usize = 16_384;

impl ConnShared {
    pub fn new(
        id: ConnId,
        peer: SocketAddr,
        established_ms: i64,
    ) -> (Arc<Self>, mpsc::Receiver<Outbound>) {
        let (tx, rx) = mpsc::channel(OUTBOUND_CAPACITY);
        let ip = Id::new("ip", &peer.ip().to_string());
        let shared = ConnShared {
            id,
            peer,
            outbound: tx,
            auth: RwLock::new(Arc::new(vec![ip])),
            session_id: AtomicI64::new(0),
            writes_in_flight: AtomicUsize::new(0),
            writes_done: Notify::new(),
            closing: CancellationToken::new(),
            established_ms,
            stats: ConnStats::default(),
            sasl: Mutex::new(SaslState::default()),
        };
        (Arc::new(shared), rx)
    }

    /// Queues a frame without waiting. A full queue means the client is not reading: the
    /// connection is closed and the client will reconnect and re-register its watches.
    pub fn send(&self, frame: Outbound) -> bool {
        match self.outbound.try_send(frame) {
            Ok(()) => true,
            Err(mpsc::error::TrySendError::Full(_)) => {
                tracing::warn!(conn = self.id, peer = %self.peer, "outbound queue full; closing the connection");
                self.closing.cancel();
                false
            }
            Err(mpsc::error::TrySendError::Closed(_)) => false,
        }
    }

    pub fn auth(&self) -> Arc<Vec<Id>> {
        self.auth.read().clone()
    }

    pub fn add_auth(&self, id: Id) {
        let mut auth = self.auth.write();
        if !auth.contains(&id) {
            Arc::make_mut(&mut auth).push(id);
        }
    }

    pub fn session_id(&self) -> i64 {
        self.session_id.load(Ordering::Acquire)
    }

    pub fn bind_session(&self, session_id: i64) {
        self.session_id.store(session_id, Ordering::Release);
    }

    pub fn queued(&self) -> usize {
        OUTBOUND_CAPACITY - self.outbound.capacity()
    }

    pub fn write_started(&self) {
        self.writes_in_flight.fetch_add(1, Ordering::AcqRel);
    }

    pub fn write_finished(&self) {
        self.writes_in_flight.fetch_sub(1, Ordering::AcqRel);
        self.writes_done.notify_waiters();
    }

    pub fn writes_in_flight(&self) -> usize {
        self.writes_in_flight.load(Ordering::Acquire)
    }

    /// Waits until fewer than `limit` writes are in flight, or the connection is closing.
    /// Reads wait with a limit of 1 (every earlier write of the session applied); a connection
    /// with `globalOutstandingLimit` writes outstanding stops reading its socket.
    pub async fn wait_writes_below(&self, limit: usize) {
        loop {
            let done = self.writes_done.notified();
            tokio::pin!(done);
            done.as_mut().enable();
            if self.writes_in_flight() < limit.max(1) {
                return;
            }
            tokio::select! {
                () = done => {}
                () = self.closing.cancelled() => return,
            }
        }
    }
}
