//! The forwarding streams members have opened to this one (the leader), in the order they
//! were opened. A member opens a new stream only after giving up its last one, whose writes
//! in flight then have unknown outcomes and whose clients were disconnected; what still
//! arrives on that old stream (TCP may deliver it seconds later, once a partition heals)
//! must not be proposed after the new stream's writes, or a session's writes would apply
//! out of the order it sent them.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::Mutex;
use tokio::sync::MutexGuard;

use super::super::types::NodeId;

#[derive(Default)]
pub struct ForwardStreams {
    /// Each member's newest stream.
    newest: Mutex<HashMap<NodeId, u64>>,
    opened: AtomicU64,
    /// Held from the check that a stream is its member's newest until its txns are queued:
    /// an old stream's txn cannot be queued behind a newer stream's.
    order: tokio::sync::Mutex<()>,
}

/// Permission to queue txns from a stream that is still its member's newest.
pub struct Turn<'a> {
    _order: MutexGuard<'a, ()>,
}

impl ForwardStreams {
    /// Registers a stream `from` just opened: from now on it is that member's newest.
    pub fn open(&self, from: NodeId) -> u64 {
        let stream = self.opened.fetch_add(1, Ordering::Relaxed) + 1;
        self.newest.lock().insert(from, stream);
        stream
    }

    /// A turn to queue txns from `stream`, or `None` once `from` has opened a newer one.
    pub async fn turn(&self, from: NodeId, stream: u64) -> Option<Turn<'_>> {
        let order = self.order.lock().await;
        let newest = self.newest.lock().get(&from).copied();
        (newest == Some(stream)).then_some(Turn { _order: order })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_stream_loses_its_turn_once_its_member_opens_another() {
        let streams = ForwardStreams::default();
        let old = streams.open(2);
        let other_member = streams.open(3);
        assert!(streams.turn(2, old).await.is_some());
        let new = streams.open(2);
        assert!(streams.turn(2, old).await.is_none(), "the old stream is given up");
        assert!(streams.turn(2, new).await.is_some());
        assert!(streams.turn(3, other_member).await.is_some(), "other members are not affected");
    }

    #[tokio::test]
    async fn a_newer_stream_waits_for_the_turn_an_older_one_holds() {
        let streams = ForwardStreams::default();
        let old = streams.open(2);
        let turn = streams.turn(2, old).await.expect("newest");
        let new = streams.open(2);
        let waiting = streams.turn(2, new);
        tokio::pin!(waiting);
        assert!(futures::poll!(&mut waiting).is_pending(), "queued behind the old one's txns");
        drop(turn);
        assert!(waiting.await.is_some());
    }
}
