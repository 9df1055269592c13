//! ServerStats: what srvr and stat print (packets, latency) and the sizes and times behind
//! some of mntr's gauges; the rest of the server's measurements are in `crate::metrics`.

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

use parking_lot::Mutex;

#[derive(Debug)]
pub struct ServerStats {
    pub packets_received: AtomicU64,
    pub packets_sent: AtomicU64,
    /// ZooKeeper's trace mask: `gtmk` reads it, `stmk` sets it. corral's logging does not
    /// follow it (RUST_LOG does that), but the words answer as ZooKeeper's do.
    pub trace_mask: AtomicI64,
    /// Bytes of the entries this member proposed while leading: last, min, max (-1 before
    /// the first, as ZooKeeper prints them).
    proposal_sizes: Mutex<(i64, i64, i64)>,
    /// When this member last started leading, in ms since the epoch.
    pub leading_since: AtomicI64,
    /// When this server last took its current role (ZooKeeper's `uptime` restarts then).
    pub role_since: AtomicI64,
    /// When a member began looking for a leader (it starts out looking), in ms since the
    /// epoch; taken when it finds one.
    pub looking_since: Mutex<Option<i64>>,
    /// Bytes (header and body, no length prefix) of every reply and event: last, min (MAX
    /// before the first) and max; atomics, as every writer task records here.
    response_last: AtomicI64,
    response_min: AtomicI64,
    response_max: AtomicI64,
}

/// ZooKeeper's default trace mask.
const DEFAULT_TRACE_MASK: i64 = 306;

impl Default for ServerStats {
    fn default() -> Self {
        ServerStats {
            packets_received: AtomicU64::new(0),
            packets_sent: AtomicU64::new(0),
            trace_mask: AtomicI64::new(DEFAULT_TRACE_MASK),
            proposal_sizes: Mutex::new((-1, -1, -1)),
            leading_since: AtomicI64::new(0),
            role_since: AtomicI64::new(crate::clock::now_ms()),
            looking_since: Mutex::new(Some(crate::clock::now_ms())),
            response_last: AtomicI64::new(-1),
            response_min: AtomicI64::new(i64::MAX),
            response_max: AtomicI64::new(-1),
        }
    }
}

impl ServerStats {
    pub fn proposed(&self, bytes: usize) {
        track_size(&mut self.proposal_sizes.lock(), bytes);
    }

    pub fn responded(&self, bytes: usize) {
        let bytes = bytes as i64;
        self.response_last.store(bytes, Ordering::Relaxed);
        self.response_min.fetch_min(bytes, Ordering::Relaxed);
        self.response_max.fetch_max(bytes, Ordering::Relaxed);
    }

    /// Last, min and max, each -1 before the first (as ZooKeeper prints them).
    pub fn response_sizes(&self) -> (i64, i64, i64) {
        let min = self.response_min.load(Ordering::Relaxed);
        (
            self.response_last.load(Ordering::Relaxed),
            if min == i64::MAX { -1 } else { min },
            self.response_max.load(Ordering::Relaxed),
        )
    }

    pub fn proposal_sizes(&self) -> (i64, i64, i64) {
        *self.proposal_sizes.lock()
    }

    pub fn received(&self) {
        self.packets_received.fetch_add(1, Ordering::Relaxed);
    }

    pub fn sent(&self, packets: u64) {
        self.packets_sent.fetch_add(packets, Ordering::Relaxed);
    }

    pub fn reset(&self) {
        self.packets_received.store(0, Ordering::Relaxed);
        self.packets_sent.store(0, Ordering::Relaxed);
        self.response_last.store(-1, Ordering::Relaxed);
        self.response_min.store(i64::MAX, Ordering::Relaxed);
        self.response_max.store(-1, Ordering::Relaxed);
    }
}

/// Last, min and max of a size, each -1 before the first.
fn track_size(sizes: &mut (i64, i64, i64), bytes: usize) {
    let bytes = bytes as i64;
    let (_, min, max) = *sizes;
    *sizes = (bytes, if min < 0 { bytes } else { min.min(bytes) }, max.max(bytes));
}
