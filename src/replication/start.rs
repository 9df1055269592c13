//! Starting a member: open the log and the snapshots, build the state machine over the newest
//! snapshot, and start raft, alone (standalone: a one-member cluster that waits until it leads
//! and has re-applied its log) or as one of an ensemble (it joins whenever its peers are up;
//! every member initializes the same membership from the same `server.N` lines, so there is no
//! init command and the start order does not matter). Raft's timeouts come from ZooKeeper's
//! tickTime, initLimit and syncLimit.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use openraft::{BasicNode, Config, RaftMetrics, ServerState};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use super::forward::Forwarder;
use super::log_store::RaftLog;
use super::network::NoPeers;
use super::peer::{Faults, Identity, PeerNetwork, PeerService};
use super::proposer::Proposed;
use super::snapshot::Snapshots;
use super::state_machine::StateMachine;
use super::types::*;
use super::view::{RaftView, Reachable};
use super::{
    EnsembleSettings, Host, RaftHandle, ReplicationError, Replicator, Role, Settings, Timing,
};
use crate::metrics::{Metrics, Summary};
use crate::store::LogStore;

/// How long start-up may take to elect itself and re-apply the log.
const RECOVERY_TIMEOUT: Duration = Duration::from_secs(600);

fn start_error(e: &dyn std::fmt::Display) -> ReplicationError {
    ReplicationError::Start(e.to_string())
}

/// ZooKeeper's timeouts as raft's: the leader speaks every half tick (as ZooKeeper pings its
/// learners); a follower that hears nothing for syncLimit ticks stands for election (as a
/// ZooKeeper follower gives up on its leader); a snapshot may take initLimit ticks.
fn raft_config(timing: Timing) -> Result<Arc<Config>, ReplicationError> {
    let tick = timing.tick.as_millis().max(1) as u64;
    let heartbeat = (tick / 2).max(100);
    let election = (tick * u64::from(timing.sync_limit.max(1))).max(heartbeat * 4);
    validated(Config {
        heartbeat_interval: heartbeat,
        election_timeout_min: election,
        election_timeout_max: election + tick.max(heartbeat),
        install_snapshot_timeout: (tick * u64::from(timing.init_limit.max(1))).max(heartbeat),
        ..base_config()
    })
}

/// A one-member cluster has no one to wait for: it elects itself as soon as it may.
fn standalone_config() -> Result<Arc<Config>, ReplicationError> {
    validated(Config {
        heartbeat_interval: 250,
        election_timeout_min: 1000,
        election_timeout_max: 2000,
        ..base_config()
    })
}

fn validated(config: Config) -> Result<Arc<Config>, ReplicationError> {
    Ok(Arc::new(config.validate().map_err(|e| ReplicationError::Config(e.to_string()))?))
}

fn base_config() -> Config {
    Config {
        cluster_name: "corral".into(),
        max_payload_entries: 64,
        // Snapshots follow snapCount (txns, not entries), triggered by the state machine; the
        // log is purged by hand to the oldest snapshot kept (autopurge.snapRetainCount).
        snapshot_policy: openraft::SnapshotPolicy::Never,
        max_in_snapshot_log_to_keep: u64::MAX,
        ..Config::default()
    }
}

/// The log, the snapshots and the state machine over the newest snapshot.
fn open_storage(
    host: &Arc<dyn Host>,
    settings: &Settings,
) -> Result<(RaftLog, StateMachine, Arc<Snapshots>, Arc<Proposed>), ReplicationError> {
    let dirs = &settings.dirs;
    let store = LogStore::open_with_map_size(&dirs.log, dirs.log_map_size)?;
    let retain = settings.snap_retain_count;
    let snapshots = Arc::new(Snapshots::open(&dirs.snapshots, retain, settings.metrics.clone())?);
    check_log_covers_snapshots(&store, &snapshots)?;
    let proposed = Arc::new(Proposed::default());
    let sm =
        StateMachine::open(host.clone(), snapshots.clone(), proposed.clone(), settings.snap_count)?;
    Ok((RaftLog::new(store, settings.metrics.clone()), sm, snapshots, proposed))
}

/// Starts this node as a one-member cluster, and returns once it leads and has re-applied
/// every committed entry, so it serves nobody with a stale state.
pub async fn start_standalone(
    host: Arc<dyn Host>,
    settings: &Settings,
    shutdown: &CancellationToken,
) -> Result<RaftHandle, ReplicationError> {
    let started = std::time::Instant::now();
    let (log, sm, snapshots, proposed) = open_storage(&host, settings)?;
    let id = settings.node_id;
    let raft =
        Raft::new(id, standalone_config()?, NoPeers, log, sm).await.map_err(|e| start_error(&e))?;
    if !raft.is_initialized().await.map_err(|e| start_error(&e))? {
        let members = BTreeMap::from([(id, BasicNode { addr: String::new() })]);
        raft.initialize(members).await.map_err(|e| start_error(&e))?;
    }
    let caught_up = |m: &RaftMetrics<u64, BasicNode>| role_of(m, None) == Role::Leader;
    raft.wait(Some(RECOVERY_TIMEOUT))
        .metrics(caught_up, "led and applied the log")
        .await
        .map_err(|e| start_error(&e))?;
    // ZooKeeper's dbinittime: the snapshot loaded and the log after it replayed.
    settings.metrics.observe(Summary::DbInitTime, started.elapsed().as_millis() as u64);
    // Known before the first client is served, not when the watcher first runs.
    host.set_role(Role::Leader);
    let rule = RoleRule { quorum_timeout: None, recheck: Duration::from_secs(1) };
    let watch = (rule, shutdown.clone());
    let progress = settings.metrics.clone();
    tokio::spawn(publish_role(raft.clone(), host, Some(Role::Leader), watch, progress));
    let faults = Default::default();
    let metrics = settings.metrics.clone();
    Ok(RaftHandle { raft, forwarder: Default::default(), snapshots, proposed, faults, metrics })
}

/// Starts this node as a member of the ensemble in `ensemble`, serving its peers on
/// `peer_listener`. It returns at once: the member serves clients once it knows a leader.
pub async fn start_member(
    host: Arc<dyn Host>,
    settings: &Settings,
    ensemble: &EnsembleSettings,
    peer_listener: TcpListener,
    replicator: Replicator,
    shutdown: &CancellationToken,
) -> Result<RaftHandle, ReplicationError> {
    let started = std::time::Instant::now();
    let (log, sm, snapshots, proposed) = open_storage(&host, settings)?;
    // A member replays the log after its snapshot once a leader tells it what is committed,
    // so its dbinittime is the snapshot's load.
    settings.metrics.observe(Summary::DbInitTime, started.elapsed().as_millis() as u64);
    let id = settings.node_id;
    let identity = Identity { me: id, cluster: ensemble.cluster };
    let config = raft_config(settings.timing)?;
    let connect_timeout = Duration::from_millis(config.election_timeout_min);
    let reachable = Reachable::default();
    let faults = Arc::new(Faults::default());
    let network = PeerNetwork {
        addrs: Arc::new(ensemble.peers.iter().map(|p| (p.id, p.addr.clone())).collect()),
        faults: faults.clone(),
        identity,
        reachable: reachable.clone(),
        connect_timeout,
        install_timeout: Duration::from_millis(config.install_snapshot_timeout),
        metrics: settings.metrics.clone(),
        snapshots_sending: Default::default(),
    };
    let raft =
        Raft::new(id, config.clone(), network, log, sm).await.map_err(|e| start_error(&e))?;
    if !raft.is_initialized().await.map_err(|e| start_error(&e))? {
        let voters = ensemble.voters();
        if voters.contains_key(&id) {
            // Every voter writes the same first entry; raft then elects among them.
            raft.initialize(voters).await.map_err(|e| start_error(&e))?;
        }
    }
    warn_of_moved_members(&raft, ensemble);
    let members: BTreeSet<NodeId> = ensemble.peers.iter().map(|p| p.id).collect();
    let heartbeat = Duration::from_millis(config.heartbeat_interval);
    let idle = Duration::from_millis(config.election_timeout_max);
    let service = PeerService {
        raft: raft.clone(),
        snapshots: snapshots.clone(),
        host: host.clone(),
        replicator,
        identity,
        members,
        connect_timeout,
        idle_timeout: idle,
        leader_grace: heartbeat * 2,
        addrs: ensemble.peers.iter().map(|p| (p.id, p.addr.clone())).collect(),
        faults: faults.clone(),
        forward_streams: Default::default(),
    };
    let service = Arc::new(service);
    tokio::spawn(super::peer::watch_leader(service.clone(), shutdown.clone()));
    tokio::spawn(service.run(peer_listener, shutdown.clone()));
    let peers = ensemble.peers.clone();
    tokio::spawn(super::learners::add_observers(raft.clone(), peers, shutdown.clone()));
    let quorum_size = ensemble.peers.iter().filter(|p| p.voter).count();
    let rule = RoleRule {
        quorum_timeout: Some(Duration::from_millis(config.election_timeout_min)),
        recheck: heartbeat,
    };
    let view = RaftView { raft: raft.clone(), reachable, quorum_size, rule };
    host.attach_view(Arc::new(view));
    let progress = settings.metrics.clone();
    tokio::spawn(publish_role(raft.clone(), host, None, (rule, shutdown.clone()), progress));
    let addrs = ensemble.peers.iter().map(|p| (p.id, p.addr.clone())).collect();
    let tick = settings.timing.tick;
    let timeouts = (connect_timeout, idle, tick / 2);
    let forwarder = Forwarder::new(identity, addrs, timeouts, faults.clone());
    let forwarder = Arc::new(parking_lot::Mutex::new(Some(forwarder)));
    let metrics = settings.metrics.clone();
    Ok(RaftHandle { raft, forwarder, snapshots, proposed, faults, metrics })
}

/// How a member's role is judged: a leader that has heard from no quorum for `quorum_timeout`
/// (syncLimit ticks) is on the minority side of a partition and stops serving, as a ZooKeeper
/// leader without a synced quorum does; `None` standalone.
#[derive(Debug, Clone, Copy)]
pub(super) struct RoleRule {
    pub quorum_timeout: Option<Duration>,
    /// How often the rule is looked at again when nothing else changes (a silent quorum
    /// changes no metric).
    pub recheck: Duration,
}

/// Says so when the membership in the log names a member at another address than its
/// `server.N` line: the line is what is dialled.
fn warn_of_moved_members(raft: &Raft, ensemble: &EnsembleSettings) {
    let metrics = raft.metrics().borrow().clone();
    let logged = metrics.membership_config.membership().clone();
    for (id, node) in logged.nodes() {
        let line = ensemble.peers.iter().find(|p| p.id == *id);
        match line {
            Some(peer) if peer.addr != node.addr => tracing::warn!(
                server = id,
                logged = %node.addr,
                configured = %peer.addr,
                "a member's address changed in zoo.cfg since the ensemble formed; using zoo.cfg's"
            ),
            None => {
                tracing::warn!(server = id, "a member of the logged ensemble has no server.N line")
            }
            _ => {}
        }
    }
}

/// Tells the host this member's role whenever it changes, until raft stops. If raft stops
/// by itself (its core failed: a storage error, a bug), the server is stopped too, so that
/// the process exits and a supervisor sees it, instead of staying up serving no one.
async fn publish_role(
    raft: Raft,
    host: Arc<dyn Host>,
    mut last: Option<Role>,
    (rule, shutdown): (RoleRule, CancellationToken),
    progress: Arc<Metrics>,
) {
    let mut metrics = raft.metrics();
    let mut recheck = tokio::time::interval(rule.recheck);
    loop {
        let (role, failed) = {
            let m = metrics.borrow_and_update();
            let applied = m.last_applied.map_or(0, |l| l.index);
            progress.set_term_applied(m.current_term, applied);
            (role_of(&m, rule.quorum_timeout), m.running_state.is_err())
        };
        if last != Some(role) {
            host.set_role(role);
            last = Some(role);
        }
        let ended = tokio::select! {
            changed = metrics.changed() => changed.is_err(),
            _ = recheck.tick() => false,
            () = shutdown.cancelled() => return,
        };
        if failed || ended {
            host.set_role(Role::NoLeader);
            tracing::error!("raft stopped by itself; stopping the server");
            progress.count(crate::metrics::Counter::UnrecoverableError);
            shutdown.cancel();
            return;
        }
    }
}

/// A leader is one only once it has applied an entry of its own term (its first, Blank, entry
/// comes after everything an earlier leader committed): before that, its state may lack
/// committed writes, and it must not expire sessions or serve. It stops being one when no
/// quorum has answered it within `quorum_timeout`.
pub(super) fn role_of(
    m: &RaftMetrics<NodeId, BasicNode>,
    quorum_timeout: Option<Duration>,
) -> Role {
    let leader_known = m.current_leader.is_some();
    match m.state {
        ServerState::Leader => {
            let own_entry_applied =
                m.last_applied.map(|l| l.leader_id) == Some(*m.vote.leader_id());
            let quorum_heard = match (quorum_timeout, m.millis_since_quorum_ack) {
                (None, _) => true,
                (Some(limit), Some(ms)) => Duration::from_millis(ms) <= limit,
                (Some(_), None) => false,
            };
            if own_entry_applied && quorum_heard {
                Role::Leader
            } else {
                Role::NoLeader
            }
        }
        ServerState::Follower if leader_known => Role::Follower,
        ServerState::Learner if leader_known => Role::Observer,
        _ => Role::NoLeader,
    }
}

/// A snapshot without the log that was written beside it means the log was lost or moved:
/// writes acknowledged after the snapshot would silently vanish, so refuse to start.
fn check_log_covers_snapshots(
    store: &LogStore,
    snapshots: &Snapshots,
) -> Result<(), ReplicationError> {
    let newest = snapshots.newest_index()?;
    if let (Some(index), false) = (newest, store.has_been_used()?) {
        return Err(ReplicationError::Inconsistent(format!(
            "{} holds a snapshot at raft index {index}, but the log in {} is new or empty; \
             the log may have been moved or deleted. Refusing to start so that writes after \
             the snapshot are not lost: restore the log, or move the snapshots away to start \
             from an empty tree",
            snapshots.dir().display(),
            store.path().display(),
        )));
    }
    if newest.is_none() && store.get_meta(super::log_store::PURGED_KEY)?.is_some() {
        return Err(ReplicationError::Inconsistent(format!(
            "the log in {} was purged, but {} holds no snapshot: the state before the purge \
             is missing (an import that did not finish, or snapshots moved away). Refusing to \
             start from a partial state: restore the snapshots, or import again with --replace",
            store.path().display(),
            snapshots.dir().display(),
        )));
    }
    Ok(())
}
