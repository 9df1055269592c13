//! What the four-letter words (and later the metrics) report about the ensemble, read when
//! asked: this member's role, the configured quorum, and, on the leader, which learners are
//! reachable and in step with its log.

use std::collections::BTreeSet;
use std::sync::Arc;

use parking_lot::Mutex;

use super::host::Role;
use super::types::*;

/// The ensemble as one member sees it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EnsembleStatus {
    pub role: Option<Role>,
    /// Voters configured (ZooKeeper's quorum_size counts configured, not live, voters).
    pub quorum_size: usize,
    /// On the leader: followers and observers it reaches.
    pub learners: usize,
    /// On the leader: voters it reaches whose log matches its own.
    pub synced_followers: usize,
    /// On the leader: observers it reaches whose log matches its own.
    pub synced_observers: usize,
    pub leader: Option<NodeId>,
    /// Members this one's raft connections currently reach (on a leader, every learner that
    /// answers it).
    pub reachable: BTreeSet<NodeId>,
}

/// Answers `EnsembleStatus` for a node that holds no openraft type.
pub trait EnsembleView: Send + Sync {
    fn status(&self) -> EnsembleStatus;
}

/// Members this one's raft client currently has a working connection to.
pub type Reachable = Arc<Mutex<BTreeSet<NodeId>>>;

pub struct RaftView {
    pub raft: Raft,
    pub reachable: Reachable,
    pub quorum_size: usize,
    pub rule: super::start::RoleRule,
}

impl EnsembleView for RaftView {
    fn status(&self) -> EnsembleStatus {
        let m = self.raft.metrics().borrow().clone();
        let mut status = EnsembleStatus {
            role: Some(super::start::role_of(&m, self.rule.quorum_timeout)),
            quorum_size: self.quorum_size,
            leader: m.current_leader,
            ..Default::default()
        };
        let Some(replication) = m.replication.as_ref() else {
            return status;
        };
        let reachable = self.reachable.lock().clone();
        status.reachable = reachable.clone();
        let voters: BTreeSet<NodeId> = m.membership_config.membership().voter_ids().collect();
        for (id, matched) in replication.iter().filter(|(id, _)| **id != m.id) {
            if !reachable.contains(id) {
                continue;
            }
            status.learners += 1;
            // Replicated to (not catching up from nothing): ZooKeeper's broadcast phase.
            if matched.is_some() {
                match voters.contains(id) {
                    true => status.synced_followers += 1,
                    false => status.synced_observers += 1,
                }
            }
        }
        status
    }
}

/// Keeps `reachable` in step with one client's calls.
pub fn mark(reachable: &Reachable, target: NodeId, ok: bool) {
    let mut set = reachable.lock();
    if ok {
        set.insert(target);
    } else {
        set.remove(&target);
    }
}
