//! The proposer: turns queued client txns into raft entries, one batch in flight at a time,
//! and stops the server if the log cannot take a write.

use std::collections::VecDeque;
use std::sync::Arc;

use parking_lot::Mutex;

use tokio_util::sync::CancellationToken;

use std::time::Duration;

use super::error::WriteError;
use super::forward::Forwarder;
use super::host::Host;
use super::types::Batch;
use super::types::NodeId;
use super::{Proposals, RaftHandle, MAX_BATCH};
use crate::clock::now_ms;
use crate::metrics::{Counter, Metrics, Summary};
use crate::txn::codec::EntryBuilder;
use crate::txn::{Entry, Txn};

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

/// Bytes of txns packed into one entry at most (a single larger txn still goes alone): the
/// entry must fit a peer frame, and an append carries several entries.
pub const MAX_BATCH_BYTES: usize = 8 << 20;

/// The proposer: every txn queued while the last entry was being made durable and applied goes
/// into the next entry, so batches grow with load; one fsync per batch. On a member that does
/// not lead, the batch goes to the leader instead (`forward`), with the sessions touched here.
pub async fn run_proposer(
    host: Arc<dyn Host>,
    mut proposals: Proposals,
    raft: RaftHandle,
    shutdown: CancellationToken,
) {
    let mut forwarder = raft.forwarder.lock().take();
    let touch_every = forwarder.as_ref().map_or(Duration::from_secs(3600), |f| f.touch_every);
    let mut touches = tokio::time::interval(touch_every);
    touches.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let first = tokio::select! {
            txn = proposals.rx.recv() => match txn {
                Some(txn) => txn,
                None => return,
            },
            () = closed(&mut forwarder) => {
                lost_stream(&*host, &mut forwarder, "the leader closed the stream");
                continue;
            }
            _ = touches.tick(), if forwarder.is_some() => {
                send_touches(&*host, &raft, &mut forwarder).await;
                continue;
            }
            () = shutdown.cancelled() => return,
        };
        let (bytes, entry) = take_batch(first, &mut proposals);
        let leader = raft.raft.current_leader().await;
        if let Some(f) = forwarder.as_mut() {
            if leader != Some(f.me()) {
                forward(&*host, (f, &raft.metrics), leader, bytes, &entry).await;
                continue;
            }
            // This member leads now: what it forwarded to the old leader is unknown.
            if f.disconnect() {
                host.abandon_all();
            }
        }
        if let Err(stop) = propose(&*host, &raft, bytes, entry).await {
            tracing::error!(error = %stop, "cannot replicate a write; stopping");
            raft.metrics.count(Counter::UnrecoverableError);
            shutdown.cancel();
            return;
        }
    }
}

async fn closed(forwarder: &mut Option<Forwarder>) {
    match forwarder {
        Some(f) => f.closed().await,
        None => std::future::pending().await,
    }
}

fn lost_stream(host: &dyn Host, forwarder: &mut Option<Forwarder>, why: &str) {
    if forwarder.as_mut().is_some_and(Forwarder::disconnect) {
        tracing::info!(why, "the stream to the leader ended; its writes in flight are abandoned");
        host.abandon_all();
    }
}

/// Every queued txn, up to `MAX_BATCH` txns and `MAX_BATCH_BYTES`, as one entry.
fn take_batch(first: Txn, proposals: &mut Proposals) -> (Vec<u8>, Entry) {
    let time_ms = now_ms();
    let mut builder = EntryBuilder::new(time_ms);
    builder.push(&first);
    let mut txns = vec![first];
    while txns.len() < MAX_BATCH && builder.bytes_len() < MAX_BATCH_BYTES {
        match proposals.rx.try_recv() {
            Ok(txn) => {
                builder.push(&txn);
                txns.push(txn);
            }
            Err(_) => break,
        }
    }
    (builder.finish(), Entry { time_ms, txns })
}

/// Sends a batch to the leader; a batch that cannot go, or a stream that breaks, leaves its
/// writes unknown, and their clients are disconnected.
async fn forward(
    host: &dyn Host,
    (forwarder, metrics): (&mut Forwarder, &Metrics),
    leader: Option<NodeId>,
    bytes: Vec<u8>,
    entry: &Entry,
) {
    let Some(leader) = leader else {
        tracing::debug!("no leader to forward to; writes abandoned");
        host.abandon(entry);
        return;
    };
    let txns = entry.txns.len() as u64;
    let result = forwarder.forward(leader, bytes).await;
    if result.is_ok() {
        metrics.add(Counter::ForwardedTxns, txns);
    }
    if let Err(e) = result {
        tracing::info!(leader, error = %e, "cannot forward to the leader; writes in flight abandoned");
        host.abandon(entry);
        host.abandon_all();
    }
}

async fn send_touches(host: &dyn Host, raft: &RaftHandle, forwarder: &mut Option<Forwarder>) {
    let Some(f) = forwarder.as_mut() else { return };
    let leader = raft.raft.current_leader().await;
    let ids = host.take_touches();
    match leader {
        Some(leader) if leader != f.me() => {
            if let Err(e) = f.touch(leader, ids).await {
                tracing::info!(leader, error = %e, "cannot send session touches to the leader");
                host.abandon_all();
            }
        }
        _ => {}
    }
}

/// Proposes a batch through this member's raft. Err only when the log failed: the server
/// must stop rather than serve without a log.
async fn propose(
    host: &dyn Host,
    raft: &RaftHandle,
    bytes: Vec<u8>,
    entry: Entry,
) -> Result<(), String> {
    host.proposed(bytes.len());
    raft.metrics.add(Counter::Proposal, entry.txns.len() as u64);
    raft.metrics.observe(Summary::EntryTxns, entry.txns.len() as u64);
    raft.metrics.observe(Summary::EntryBytes, bytes.len() as u64);
    raft.proposed.push(bytes.clone(), entry);
    let Err(error) = raft.raft.client_write(Batch { bytes }).await.map_err(WriteError::from) else {
        return Ok(());
    };
    // Either way the entry's outcome is unknown to its clients: disconnect them, as
    // ZooKeeper does, so they learn it by reading, never by a retry that could reorder.
    raft.proposed.drain().iter().for_each(|entry| host.abandon(entry));
    match error {
        WriteError::NotLeader { leader } => {
            tracing::info!(?leader, "no longer the leader; writes in flight abandoned");
            Ok(())
        }
        WriteError::Fatal(error) => Err(error),
    }
}
