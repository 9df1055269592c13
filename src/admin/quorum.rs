//! The AdminServer's views of the configuration and the ensemble: `configuration`,
//! `initial_configuration`, `leader`, `voting_view`, `zabstate`.

use super::commands::{Answer, Call};
use super::json::{Json, Object};
use crate::config::{Member, PeerType};
use crate::replication::Role;

/// ZooKeeper's `ZooKeeperServerConf`: the server's settings, no quorum fields.
pub fn configuration(call: &Call, answer: &mut Answer) {
    let c = &call.node.config;
    let f = &mut answer.fields;
    f.put("client_port", c.client_addr.port());
    f.put("data_dir", c.data_dir.display().to_string());
    f.put("data_log_dir", c.data_log_dir.display().to_string());
    f.put("tick_time", c.tick_time_ms);
    f.put("max_client_cnxns", c.max_client_cnxns);
    f.put("min_session_timeout", c.min_session_timeout_ms);
    f.put("max_session_timeout", c.max_session_timeout_ms);
    f.put("server_id", if c.ensemble.is_distributed() { c.server_id } else { 0 });
    // corral leaves the listen backlog to the system, as ZooKeeper's default (-1) does.
    f.put("client_port_listen_backlog", -1);
}

/// The config file's text; null on a member of an ensemble, as in ZooKeeper, whose quorum
/// servers are never given it.
pub fn initial_configuration(call: &Call, answer: &mut Answer) {
    let config = &call.node.config;
    let text = (!config.ensemble.is_distributed()).then(|| config.initial_text.clone());
    answer.fields.put("initial_configuration", text);
}

/// Standalone, ZooKeeper answers only an error: there is no leader to name.
pub fn leader(call: &Call, answer: &mut Answer) {
    let node = call.node;
    let Some(status) = node.ensemble_status() else {
        answer.fields.put("error", "server is not initialized");
        return;
    };
    let leader = status.leader.and_then(|id| node.config.ensemble.members.get(&id));
    answer.fields.put("is_leader", node.role() == Role::Leader);
    answer.fields.put("leader_id", leader.map_or(-1, |m| m.id as i64));
    answer.fields.put("leader_ip", leader.map_or(String::new(), |m| m.quorum.host.clone()));
}

/// The voting members (ZooKeeper's voting view leaves observers out), by id.
pub fn voting_view(call: &Call, answer: &mut Answer) {
    let config = &call.node.config;
    let mut view = Object::new();
    if config.ensemble.is_distributed() {
        let voters =
            config.ensemble.members.values().filter(|m| m.peer_type == PeerType::Participant);
        for member in voters {
            view.put(member.id.to_string(), server_view(member, client_address(call, member)));
        }
    }
    answer.fields.put("current_config", view);
}

fn server_view(member: &Member, client_address: String) -> Json {
    let mut o = Object::new();
    o.put("server_addresses", quorum_addresses(member));
    o.put("election_addresses", election_addresses(member));
    o.put("client_address", client_address);
    o.put("learner_type", "participant");
    Json::Object(o)
}

fn quorum_addresses(member: &Member) -> Vec<String> {
    let more = member.more_addresses.iter().map(|(address, _)| address.to_string());
    std::iter::once(member.quorum.to_string()).chain(more).collect()
}

fn election_addresses(member: &Member) -> Vec<String> {
    let first = (&member.quorum, member.election_port);
    let more = member.more_addresses.iter().map(|(address, port)| (address, *port));
    std::iter::once(first).chain(more).map(|(a, port)| format!("{}:{port}", a.host)).collect()
}

/// A member's client address as ZooKeeper knows it: its line's `;` part, or for this server
/// the address it serves clients on; "" for another member whose line has none.
fn client_address(call: &Call, member: &Member) -> String {
    let config = &call.node.config;
    match &member.client {
        Some(client) => client.to_string(),
        None if member.id == u64::from(config.server_id) => java_address(config.client_addr),
        None => String::new(),
    }
}

/// `host:port` as Java prints a socket address: the wildcard as `0.0.0.0`.
fn java_address(addr: std::net::SocketAddr) -> String {
    match addr.ip().is_unspecified() {
        true => format!("0.0.0.0:{}", addr.port()),
        false => addr.to_string(),
    }
}

/// ZooKeeper's `MultipleAddresses` as Jackson writes the bean: every address is reachable
/// as far as corral can say without probing it.
fn addresses_bean(addresses: Vec<String>) -> Json {
    let ports: Vec<i64> =
        addresses.iter().filter_map(|a| a.rsplit(':').next()?.parse().ok()).collect();
    let hosts: Vec<String> =
        addresses.iter().filter_map(|a| Some(a.rsplit_once(':')?.0.to_owned())).collect();
    let wildcard: Vec<String> = ports.iter().map(|p| format!("0.0.0.0:{p}")).collect();
    let one = addresses.first().cloned().unwrap_or_default();
    let mut o = Object::new();
    o.put("empty", addresses.is_empty());
    o.put("all_addresses", addresses.clone());
    o.put("all_reachable_addresses", addresses.clone());
    o.put("one", one.clone());
    o.put("reachable_address", one.clone());
    o.put("wildcard_addresses", wildcard);
    o.put("all_ports", ports);
    o.put("all_host_strings", hosts);
    o.put("all_reachable_addresses_or_all", addresses);
    o.put("reachable_or_one", one);
    Json::Object(o)
}

/// Where this member stands in ZooKeeper's terms: a member with a leader is in broadcast,
/// one without is electing.
pub fn zabstate(call: &Call, answer: &mut Answer) {
    let node = call.node;
    let config = &node.config;
    let f = &mut answer.fields;
    let me = config.ensemble.members.get(&u64::from(config.server_id));
    let Some(me) = me.filter(|_| config.ensemble.is_distributed()) else {
        f.put("voting", false);
        f.put("zabstate", "");
        return;
    };
    let zxid = node.last_zxid();
    f.put("myid", config.server_id);
    f.put("is_leader", node.role() == Role::Leader);
    f.put("quorum_address", addresses_bean(quorum_addresses(me)));
    f.put("election_address", addresses_bean(election_addresses(me)));
    f.put("client_address", client_address(call, me));
    f.put("voting", me.peer_type == PeerType::Participant);
    f.put("last_zxid", format!("0x{zxid:x}"));
    f.put("zab_epoch", zxid >> 32);
    f.put("zab_counter", zxid & 0xffff_ffff);
    let state = if node.role() == Role::NoLeader { "election" } else { "broadcast" };
    f.put("zabstate", state);
}
