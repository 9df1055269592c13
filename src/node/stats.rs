//! ServerStats: the counters behind srvr, stat, mntr and cons (packets, latency, start time).

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

use parking_lot::Mutex;

use super::conn::LatencyStats;

#[derive(Debug)]
pub struct ServerStats {
    pub packets_received: AtomicU64,
    pub packets_sent: AtomicU64,
    pub latency: Mutex<LatencyStats>,
    /// ZooKeeper's trace mask: `gtmk` reads it, `stmk` sets it. corral's logging does not
    /// follow it (RUST_LOG does that), but the words answer as ZooKeeper's do.
    pub trace_mask: AtomicI64,
    /// Bytes of the entries this member proposed while leading: last, min, max (-1 before
    /// the first, as ZooKeeper prints them).
    proposal_sizes: Mutex<(i64, i64, i64)>,
    /// When this member last started leading, in ms since the epoch.
    pub leading_since: AtomicI64,
}

/// ZooKeeper's default trace mask.
const DEFAULT_TRACE_MASK: i64 = 306;

impl Default for ServerStats {
    fn default() -> Self {
        ServerStats {
            packets_received: AtomicU64::new(0),
            packets_sent: AtomicU64::new(0),
            latency: Mutex::new(LatencyStats::default()),
            trace_mask: AtomicI64::new(DEFAULT_TRACE_MASK),
            proposal_sizes: Mutex::new((-1, -1, -1)),
            leading_since: AtomicI64::new(0),
        }
    }
}

impl ServerStats {
    pub fn proposed(&self, bytes: usize) {
        let bytes = bytes as i64;
        let mut sizes = self.proposal_sizes.lock();
        let (_, min, max) = *sizes;
        *sizes = (bytes, if min < 0 { bytes } else { min.min(bytes) }, max.max(bytes));
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
        *self.latency.lock() = LatencyStats::default();
    }
}
