//! What the four-letter words add for a member of an ensemble, as ZooKeeper prints it: the
//! mode, the peer state, the quorum and leader-only `mntr` keys, `conf`'s quorum lines, and
//! the answer of a member that is not serving.

use crate::node::Node;
use crate::replication::Role;

pub const NOT_SERVING: &str = "This ZooKeeper instance is not currently serving requests\n";

/// Words that answer even while no leader is known (ZooKeeper's that need no running server).
pub fn answers_when_not_serving(command: &str) -> bool {
    matches!(command, "ruok" | "envi" | "isro" | "gtmk" | "stmk")
}

/// A member that knows no leader; never a standalone server.
pub fn not_serving(node: &Node) -> bool {
    node.ensemble_status().is_some() && node.role() == Role::NoLeader
}

/// `Mode:` and `zk_server_state`.
pub fn mode(node: &Node) -> &'static str {
    match node.ensemble_status() {
        None => "standalone",
        Some(_) => node.role().mode(),
    }
}

/// `srvr` on a leader: the proposal sizes after `Node count:`.
pub fn srvr_leader_lines(node: &Node) -> String {
    if node.ensemble_status().is_none() || node.role() != Role::Leader {
        return String::new();
    }
    let (last, min, max) = node.stats.proposal_sizes();
    format!("Proposal sizes last/min/max: {last}/{min}/{max}\n")
}

/// `zk_peer_state`, right after `zk_server_state`.
pub fn mntr_peer_state(node: &Node) -> Option<(&'static str, String)> {
    node.ensemble_status()?;
    let state = match node.role() {
        Role::Leader => "leading - broadcast",
        Role::Follower => "following - broadcast",
        Role::Observer => "observing - broadcast",
        Role::NoLeader => "looking",
    };
    Some(("peer_state", state.into()))
}

/// `zk_observer_master_id`, on an observer: corral's observers learn from the leader, so
/// none (-1), as ZooKeeper prints without observer masters.
pub fn mntr_observer_master(node: &Node) -> Option<(&'static str, i64)> {
    node.ensemble_status()?;
    (node.role() == Role::Observer).then_some(("observer_master_id", -1))
}

/// `conf` on a member: the quorum settings and the membership, after `serverId`.
pub fn conf_lines(node: &Node) -> String {
    let config = &node.config;
    if !config.ensemble.is_distributed() {
        return String::new();
    }
    let me = &config.ensemble.members[&u64::from(config.server_id)];
    let peer_type = match me.peer_type {
        crate::config::PeerType::Participant => 0,
        crate::config::PeerType::Observer => 1,
    };
    format!(
        "initLimit={}\nsyncLimit={}\nelectionAlg=3\nelectionPort={}\nquorumPort={}\n\
         peerType={peer_type}\nmembership: \n{}\n",
        config.init_limit,
        config.sync_limit,
        me.election_port,
        me.quorum.port,
        config.ensemble.config_text()
    )
}
