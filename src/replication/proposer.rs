//! The proposer: turns queued client txns into raft entries, one batch in flight at a time,
//! and stops the server if the log cannot take a write.

use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use super::types::Batch;
use super::{Proposals, RaftHandle, MAX_BATCH};
use crate::node::stats::now_ms;
use crate::node::Node;
use crate::txn::codec::encode_entry;
use crate::txn::Entry;

/// The proposer: every txn queued while the last entry was being made durable and applied goes
/// into the next entry, so batches grow with load; one fsync per batch.
pub async fn run_proposer(
    node: Arc<Node>,
    mut proposals: Proposals,
    raft: RaftHandle,
    shutdown: CancellationToken,
) {
    loop {
        let first = tokio::select! {
            txn = proposals.rx.recv() => match txn {
                Some(txn) => txn,
                None => return,
            },
            () = shutdown.cancelled() => return,
        };
        let mut txns = vec![first];
        while txns.len() < MAX_BATCH {
            match proposals.rx.try_recv() {
                Ok(txn) => txns.push(txn),
                Err(_) => break,
            }
        }
        let entry = Entry { time_ms: now_ms(), txns };
        let batch = Batch { bytes: encode_entry(&entry) };
        if let Err(e) = raft.raft.client_write(batch).await {
            stop_unwritten(&node, &entry, &e.to_string(), &shutdown);
            return;
        }
    }
}

/// A write the log could not take was never acknowledged: its clients are disconnected (as
/// ZooKeeper does when it cannot log) and the server stops rather than serve without a log.
fn stop_unwritten(node: &Node, entry: &Entry, error: &str, shutdown: &CancellationToken) {
    tracing::error!(error, "cannot replicate a write; stopping");
    node.abandon_entry(entry);
    shutdown.cancel();
}
