//! ConnShared: the part of a client connection that the rest of the node can reach — its
//! outbound queue (bounded in bytes), its auth ids, its session, and the writes it has in
//! flight; the request loop asks it whether there is room to read another request.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicI32, AtomicI64, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use jute::Id;
use parking_lot::{Mutex, RwLock};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

pub use super::outbound::{Outbound, OutboundReceiver, QueueLimits};
use super::outbound::{OutboundQueue, Refused};
use crate::sasl::SaslState;
use crate::watch::ConnId;

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
    /// Bounded in bytes; a queue past its hard bound closes the connection rather than
    /// stalling apply for everyone.
    outbound: OutboundQueue,
    /// The ids this connection has authenticated as; `ip` is added at connect.
    auth: RwLock<Arc<Vec<Id>>>,
    /// 0 until the handshake binds a session.
    session_id: AtomicI64,
    /// The negotiated session timeout, 0 until the handshake binds a session.
    timeout_ms: AtomicI32,
    writes_in_flight: AtomicUsize,
    /// The request bytes of the writes in flight: their replies are still owed.
    write_bytes_in_flight: AtomicUsize,
    writes_done: Notify,
    /// Cancelled when the connection must stop: closed, replaced, expired or overflowed.
    pub closing: CancellationToken,
    pub established_ms: i64,
    pub stats: ConnStats,
    /// Where this connection's SASL exchange stands.
    pub sasl: Mutex<SaslState>,
}

impl ConnShared {
    pub fn new(
        id: ConnId,
        peer: SocketAddr,
        established_ms: i64,
        limits: QueueLimits,
    ) -> (Arc<Self>, OutboundReceiver) {
        let (outbound, receiver) = OutboundQueue::new(limits);
        let ip = Id::new("ip", &peer.ip().to_string());
        let shared = ConnShared {
            id,
            peer,
            outbound,
            auth: RwLock::new(Arc::new(vec![ip])),
            session_id: AtomicI64::new(0),
            timeout_ms: AtomicI32::new(0),
            writes_in_flight: AtomicUsize::new(0),
            write_bytes_in_flight: AtomicUsize::new(0),
            writes_done: Notify::new(),
            closing: CancellationToken::new(),
            established_ms,
            stats: ConnStats::default(),
            sasl: Mutex::new(SaslState::default()),
        };
        (Arc::new(shared), receiver)
    }

    /// Queues a frame without waiting. A queue past its hard bound means the client is not
    /// reading: the connection is closed and the client will reconnect and re-register its
    /// watches.
    pub fn send(&self, frame: Outbound) -> bool {
        match self.outbound.push(frame) {
            Ok(()) => true,
            // Said once: a flood of events for a connection already going is not logged.
            Err(Refused::OverLimit { .. }) if self.closing.is_cancelled() => false,
            Err(Refused::OverLimit { unsent }) => {
                tracing::warn!(
                    conn = self.id,
                    peer = %self.peer,
                    unsent,
                    limit = self.outbound.limits().hard,
                    "unsent replies past corral.clientQueueMaxBytes; closing the connection"
                );
                self.closing.cancel();
                false
            }
            Err(Refused::Closed) => false,
        }
    }

    /// The writer's side of the queue's accounting.
    pub fn sent(&self, frames: usize, bytes: usize) {
        self.outbound.sent(frames, bytes);
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

    pub fn set_timeout_ms(&self, timeout_ms: i32) {
        self.timeout_ms.store(timeout_ms, Ordering::Release);
    }

    /// How long the writer waits for a socket that takes nothing before it gives up on the
    /// client: two thirds of the session timeout, the time after which a ZooKeeper client that
    /// has heard nothing gives up on the server itself (at least 1 s).
    pub fn stall_limit(&self) -> Duration {
        let timeout_ms = self.timeout_ms.load(Ordering::Acquire).max(0) as u64;
        Duration::from_millis((timeout_ms * 2 / 3).max(1000))
    }

    /// Frames queued and not yet taken by the socket (`cons`'s `queued`).
    pub fn queued(&self) -> usize {
        self.outbound.unsent_frames()
    }

    /// The largest frame this connection's queue can still take before its hard bound.
    pub fn reply_room(&self) -> usize {
        self.outbound.limits().hard.saturating_sub(self.outbound.unsent_bytes())
    }

    /// Bytes queued and not yet taken by the socket.
    pub fn unsent_bytes(&self) -> usize {
        self.outbound.unsent_bytes()
    }

    /// A write of `request_bytes` has been proposed; its reply is owed.
    pub fn write_started(&self, request_bytes: usize) {
        self.writes_in_flight.fetch_add(1, Ordering::AcqRel);
        self.write_bytes_in_flight.fetch_add(request_bytes, Ordering::AcqRel);
    }

    pub fn write_finished(&self, request_bytes: usize) {
        self.write_bytes_in_flight.fetch_sub(request_bytes, Ordering::AcqRel);
        self.writes_in_flight.fetch_sub(1, Ordering::AcqRel);
        self.writes_done.notify_waiters();
    }

    pub fn writes_in_flight(&self) -> usize {
        self.writes_in_flight.load(Ordering::Acquire)
    }

    /// Waits until fewer than `limit` writes are in flight, or the connection is closing.
    /// Reads wait with a limit of 1: every earlier write of the session applied.
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

    /// Waits until the connection may read another request: fewer than `max_writes`
    /// (`globalOutstandingLimit`) writes in flight, and fewer owed bytes (unsent output plus
    /// the requests of writes in flight) than the soft bound. Returns at once when closing.
    pub async fn wait_for_room(&self, max_writes: usize) {
        loop {
            let done = self.writes_done.notified();
            let drained = self.outbound.drained();
            tokio::pin!(done, drained);
            done.as_mut().enable();
            drained.as_mut().enable();
            if self.writes_in_flight() < max_writes.max(1)
                && self.owed_bytes() < self.outbound.limits().soft
            {
                return;
            }
            tokio::select! {
                () = done => {}
                () = drained => {}
                () = self.closing.cancelled() => return,
            }
        }
    }

    fn owed_bytes(&self) -> usize {
        self.outbound.unsent_bytes() + self.write_bytes_in_flight.load(Ordering::Acquire)
    }
}
