//! The proposer: turns queued client txns into raft entries, one batch in flight at a time,
//! and stops the server if the log cannot take a write.

use std::collections::VecDeque;
use std::sync::Arc;

use parking_lot::Mutex;

use tokio_util::sync::CancellationToken;

use super::error::WriteError;
use super::host::Host;
use super::types::Batch;
use super::{Proposals, RaftHandle, MAX_BATCH};
use crate::clock::now_ms;
use crate::txn::codec::encode_entry;
use crate::txn::Entry;

/// Entries this node proposed and has not applied yet, so apply can take the decoded entry
/// instead of decoding the log's copy of it (a third of apply's time under write load).
/// Bounded: the proposer has one entry in flight.
#[derive(Default)]
pub struct Proposed {
    queue: Mutex<VecDeque<(Vec<u8>, Entry)>>,
}

impl Proposed {
    const BOUND: usize = 4;

    fn push(&self, bytes: Vec<u8>, entry: Entry) {
        let mut queue = self.queue.lock();
        if queue.len() >= Self::BOUND {
            queue.pop_front();
        }
        queue.push_back((bytes, entry));
    }

    /// The entry proposed as exactly these bytes, if it is the oldest one waiting.
    pub fn take(&self, bytes: &[u8]) -> Option<Entry> {
        let mut queue = self.queue.lock();
        match queue.front() {
            Some((proposed, _)) if proposed == bytes => queue.pop_front().map(|(_, e)| e),
            _ => None,
        }
    }

    fn drain(&self) -> Vec<Entry> {
        self.queue.lock().drain(..).map(|(_, entry)| entry).collect()
    }
}

/// The proposer: every txn queued while the last entry was being made durable and applied goes
/// into the next entry, so batches grow with load; one fsync per batch.
pub async fn run_proposer(
    host: Arc<dyn Host>,
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
        let bytes = encode_entry(&entry);
        raft.proposed.push(bytes.clone(), entry);
        let Err(error) = raft.raft.client_write(Batch { bytes }).await.map_err(WriteError::from)
        else {
            continue;
        };
        // Either way the entry's outcome is unknown to its clients: disconnect them, as
        // ZooKeeper does, so they learn it by reading, never by a retry that could reorder.
        raft.proposed.drain().iter().for_each(|entry| host.abandon(entry));
        match error {
            WriteError::NotLeader { leader } => {
                tracing::info!(?leader, "no longer the leader; writes in flight abandoned");
            }
            WriteError::Fatal(error) => {
                // The log could not take a write: stop rather than serve without a log.
                tracing::error!(%error, "cannot replicate a write; stopping");
                shutdown.cancel();
                return;
            }
        }
    }
}
