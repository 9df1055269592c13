//! A fault-injecting layer in the peer network, for tests of partitions: while a member is
//! cut off from a peer, nothing passes between them in either direction, on any connection.
//! Nothing in the server turns it on; only `Server::cut_off` (called by tests) does.

use std::collections::BTreeSet;

use parking_lot::RwLock;

use super::super::types::NodeId;

#[derive(Debug, Default)]
pub struct Faults {
    cut_off: RwLock<BTreeSet<NodeId>>,
}

impl Faults {
    /// Cuts this member off from `peers` (replacing any earlier cut); empty heals.
    pub fn cut_off(&self, peers: &[NodeId]) {
        *self.cut_off.write() = peers.iter().copied().collect();
    }

    pub fn is_cut_off(&self, peer: NodeId) -> bool {
        self.cut_off.read().contains(&peer)
    }
}
