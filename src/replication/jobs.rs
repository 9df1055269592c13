//! Background raft housekeeping: asks openraft for a snapshot when the state machine has seen
//! `snapCount` txns, and purges the log up to the oldest snapshot kept.

use tokio_util::sync::CancellationToken;

use super::RaftHandle;

pub async fn run_snapshot_jobs(raft: RaftHandle, shutdown: CancellationToken) {
    let snapshots = raft.snapshots.clone();
    let mut purge = snapshots.purge_upto.subscribe();
    loop {
        let result = tokio::select! {
            () = snapshots.wanted.notified() => raft.raft.trigger().snapshot().await,
            changed = purge.changed() => {
                if changed.is_err() {
                    return;
                }
                let upto = *purge.borrow_and_update();
                raft.raft.trigger().purge_log(upto).await
            }
            () = shutdown.cancelled() => return,
        };
        if let Err(e) = result {
            tracing::warn!(error = %e, "raft stopped; no more snapshots");
            return;
        }
    }
}
