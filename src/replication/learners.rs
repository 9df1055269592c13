//! Observers are raft learners: they receive the log and do not vote. Voters start from the
//! membership every member writes at start-up; learners are added by whichever member leads,
//! as soon as it leads, until each observer of the config is in the membership.

use std::time::Duration;

use openraft::BasicNode;
use tokio_util::sync::CancellationToken;

use super::types::*;
use super::Peer;

pub async fn add_observers(raft: Raft, peers: Vec<Peer>, shutdown: CancellationToken) {
    let observers: Vec<Peer> = peers.into_iter().filter(|p| !p.voter).collect();
    if observers.is_empty() {
        return;
    }
    let mut metrics = raft.metrics();
    loop {
        let missing: Vec<&Peer> = {
            let m = metrics.borrow_and_update();
            let leads = m.current_leader == Some(m.id);
            let known = m.membership_config.membership();
            let known: Vec<NodeId> = known.nodes().map(|(id, _)| *id).collect();
            observers.iter().filter(|p| leads && !known.contains(&p.id)).collect()
        };
        for peer in missing {
            let node = BasicNode { addr: peer.addr.clone() };
            match raft.add_learner(peer.id, node, false).await {
                Ok(_) => tracing::info!(observer = peer.id, "observer added as a learner"),
                Err(e) => {
                    tracing::debug!(observer = peer.id, error = %e, "cannot add observer yet")
                }
            }
        }
        tokio::select! {
            changed = metrics.changed() => if changed.is_err() { return },
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(Duration::from_secs(1)) => {}
        }
    }
}
