//! The narrow interface through which replication drives the server it replicates for: the
//! state machine hands it committed entries, epochs, frozen copies and installed snapshots,
//! and the role watcher tells it what this member is. Replication knows nothing else of the
//! node, so the two modules do not import each other.

use crate::state::ZkState;
use crate::txn::Entry;

/// What this member is in the ensemble, as ZooKeeper's `Mode:` line and the leader-only jobs
/// need it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// It leads and has applied its own first entry: it may expire sessions and reap nodes.
    Leader,
    /// A voter that follows a known leader.
    Follower,
    /// A learner (ZooKeeper's observer) that follows a known leader.
    Observer,
    /// No leader is known (an election, a partition, start-up): it must not serve clients.
    NoLeader,
}

impl Role {
    /// The word `srvr` and `mntr` print for a member of an ensemble.
    pub fn mode(self) -> &'static str {
        match self {
            Role::Leader => "leader",
            Role::Follower => "follower",
            Role::Observer => "observer",
            Role::NoLeader => "not serving",
        }
    }
}

/// The server side of the state machine. Every call is made in log order from one task.
pub trait Host: Send + Sync + 'static {
    /// Applies one committed entry: the pure apply, then its watch events and replies.
    fn apply(&self, entry: &Entry);
    /// A new leader's first entry: the zxid epoch goes up.
    fn start_epoch(&self);
    /// A frozen copy of the state, taken in order with apply, for a snapshot.
    fn freeze(&self) -> ZkState;
    /// Replaces the state with a snapshot's.
    fn install(&self, state: ZkState);
    /// An entry this member proposed that could not be logged: its requests get no reply.
    fn abandon(&self, entry: &Entry);
    /// Every request this member has in flight has an unknown outcome (the link to the
    /// leader broke, or the leader changed): close their clients' connections.
    fn abandon_all(&self);
    /// How to ask about the ensemble, given once by a member of one (never standalone).
    fn attach_view(&self, view: std::sync::Arc<dyn super::EnsembleView>);
    /// This member, leading, proposed an entry of this many bytes.
    fn proposed(&self, bytes: usize);
    /// This member's role changed.
    fn set_role(&self, role: Role);
    /// Sessions member `from` saw active; the leader postpones the expiry of those that
    /// member owns (a member cannot keep another's sessions alive).
    fn sessions_touched(&self, from: u64, ids: &[i64]);
    /// Sessions touched here since the last call, for the leader.
    fn take_touches(&self) -> Vec<i64>;
}
