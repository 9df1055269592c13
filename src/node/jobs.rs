//! Leader-only jobs that become proposals: expiring silent sessions and reaping empty
//! containers and expired TTL nodes.

use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use super::Node;
use crate::ops::reap;
use crate::replication::Role;
use crate::txn::TxnOp;

impl Node {
    /// Every tick, proposes closeSession for each session whose deadline passed.
    pub async fn run_expiry(self: Arc<Self>, shutdown: CancellationToken) {
        let mut ticker = tokio::time::interval(self.config.tick());
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = ticker.tick() => {}
                () = shutdown.cancelled() => return,
            }
            if self.role() != Role::Leader {
                continue;
            }
            let expired = self.sessions.take_expired(tokio::time::Instant::now());
            for session_id in expired {
                tracing::info!(session = format!("0x{session_id:x}"), "session expired");
                self.metrics.count(crate::metrics::Counter::StaleSessionsExpired);
                self.propose_job(session_id, TxnOp::CloseSession).await;
            }
        }
    }

    /// Every `znode.container.checkIntervalMs`, proposes the deletion of each empty container
    /// that has had children and each TTL node past its TTL. The first check comes one
    /// interval after start, as ZooKeeper's ContainerManager schedules it.
    pub async fn run_reaper(self: Arc<Self>, shutdown: CancellationToken) {
        let every = self.config.container_check_interval;
        let mut ticker = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = ticker.tick() => {}
                () = shutdown.cancelled() => return,
            }
            if self.role() != Role::Leader {
                continue;
            }
            let now = crate::clock::now_ms();
            let candidates = self.with_state(|s| reap::candidates(&s.tree, now));
            for path in candidates {
                self.propose_job(0, TxnOp::Reap { path }).await;
            }
        }
    }
}
