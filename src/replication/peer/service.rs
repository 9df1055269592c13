//! The receiving side of the peer port: accepts members' connections (bounded in number),
//! checks their handshake, and answers raft's RPCs from this member's `Raft`, one at a time
//! per connection. Snapshots arrive as a stream of chunks written to a temporary directory
//! and installed from there. When the leader's connection closes and nothing more is heard
//! from it, this member starts an election at once instead of waiting out its timeout, as a
//! ZooKeeper follower that loses its leader's socket goes looking straight away.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

use super::super::snapshot::Snapshots;
use super::super::types::*;
use super::super::{Host, Replicator};
use super::faults::Faults;
use super::link::{self, Identity, Link, LinkError};
use super::streams::ForwardStreams;
use super::wire::{Message, Purpose, WireError};
use crate::metrics::{Counter, Summary};
use crate::txn::codec::{decode_entry, entry_header};

/// Inbound peer connections at once: each member opens a few (replication, votes, a
/// snapshot, forwarding), so this leaves room for a large ensemble and bounds a stranger.
const MAX_PEER_CONNECTIONS: usize = 256;

/// How far ahead of this member's term a peer's may be (see `check_term`).
const MAX_TERM_JUMP: u64 = 1 << 20;

pub struct PeerService {
    pub raft: Raft,
    pub snapshots: Arc<Snapshots>,
    pub identity: Identity,
    pub members: BTreeSet<NodeId>,
    /// Handshakes and single messages must complete within this.
    pub connect_timeout: Duration,
    /// A raft connection silent for this long is closed (syncLimit ticks).
    pub idle_timeout: Duration,
    /// How long a probe of a leader whose connection closed may take.
    pub leader_grace: Duration,
    /// Members' quorum addresses, to see whether a leader whose connection closed is gone.
    pub addrs: std::collections::HashMap<NodeId, String>,
    /// Peers this member is cut off from (tests of partitions).
    pub faults: Arc<Faults>,
    /// Where forwarded txns and touches go on the leader.
    pub host: Arc<dyn Host>,
    pub replicator: Replicator,
    /// Which forwarding stream of each member is its newest: only that one is proposed from.
    pub forward_streams: ForwardStreams,
}

impl PeerService {
    pub async fn run(self: Arc<Self>, listener: TcpListener, shutdown: CancellationToken) {
        let slots = Arc::new(Semaphore::new(MAX_PEER_CONNECTIONS));
        let mut refusals = Refusals::default();
        loop {
            let (stream, peer) = tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok(accepted) => accepted,
                    Err(e) => {
                        tracing::warn!(error = %e, "peer accept failed");
                        continue;
                    }
                },
                () = shutdown.cancelled() => return,
            };
            let Ok(slot) = slots.clone().try_acquire_owned() else {
                refusals.note(peer);
                continue;
            };
            let service = self.clone();
            let shutdown = shutdown.clone();
            tokio::spawn(async move {
                tokio::select! {
                    () = service.serve(stream) => {}
                    () = shutdown.cancelled() => {}
                }
                drop(slot);
            });
        }
    }

    async fn serve(self: Arc<Self>, stream: TcpStream) {
        let peer = stream.peer_addr().ok();
        let members = &self.members;
        let accepted =
            link::accept(stream, self.identity, |id| members.contains(&id), self.connect_timeout)
                .await;
        let (mut link, hello) = match accepted {
            Ok(accepted) => accepted,
            // A member probing whether this one is alive connects and closes at once.
            Err(LinkError::Closed) => return,
            Err(e) => {
                tracing::warn!(?peer, error = %e, "peer connection refused");
                return;
            }
        };
        let result = match hello.purpose {
            _ if self.faults.is_cut_off(hello.from) => Ok(()),
            Purpose::Raft => self.serve_raft(&mut link, hello.from).await,
            Purpose::Forward => self.serve_forward(&mut link, hello.from).await,
        };
        match result {
            Ok(()) | Err(LinkError::Closed) => {}
            Err(e @ (LinkError::Timeout | LinkError::Wire(WireError::Io(_)))) => {
                tracing::debug!(from = hello.from, error = %e, "peer connection ended");
            }
            // Traffic no member sends: a broken or forged peer.
            Err(e) => tracing::warn!(from = hello.from, error = %e, "bad peer traffic; closed"),
        }
        let _ = link.get_mut().shutdown().await;
        self.leader_gone(hello.from);
    }

    async fn serve_raft(&self, link: &mut Link, from: NodeId) -> Result<(), LinkError> {
        loop {
            let message = link::receive(link, self.idle_timeout).await?;
            if self.faults.is_cut_off(from) {
                return Ok(());
            }
            let reply = match message {
                Message::Vote(rpc) => {
                    self.check_term(rpc.vote, from)?;
                    Message::VoteReply(self.raft.vote(rpc).await)
                }
                Message::Append(rpc) => {
                    self.check_term(rpc.vote, from)?;
                    self.count_proposals(&rpc.entries);
                    Message::AppendReply(self.raft.append_entries(rpc).await)
                }
                Message::SnapshotBegin { vote, meta } => {
                    self.check_term(vote, from)?;
                    self.receive_snapshot(link, vote, meta).await?
                }
                other => return Err(LinkError::Unexpected(format!("{other:?} from {from}"))),
            };
            link::send(link, reply, self.connect_timeout).await?;
        }
    }

    /// ZooKeeper's learner_proposal_received_count (per txn) and proposal_latency (from the
    /// leader's clock to arrival here).
    fn count_proposals(&self, entries: &[Entry]) {
        let metrics = &self.snapshots.metrics;
        for entry in entries {
            let EntryPayload::Normal(batch) = &entry.payload else { continue };
            let Some((time_ms, txns)) = entry_header(&batch.bytes) else { continue };
            metrics.add(Counter::LearnerProposalReceived, u64::from(txns));
            if let Ok(age) = u64::try_from(crate::clock::now_ms() - time_ms) {
                metrics.observe(Summary::ProposalLatency, age);
            }
        }
    }

    /// Refuses a vote whose term is implausibly far ahead of this member's: every election
    /// adds one, so a jump of millions is a forgery or a corruption, and a term near the top
    /// of its range would overflow in raft (and be kept on disk, poisoning every restart).
    fn check_term(&self, vote: Vote, from: NodeId) -> Result<(), LinkError> {
        let term = vote.leader_id().term;
        let ours = self.raft.metrics().borrow().current_term;
        if term > ours.saturating_add(MAX_TERM_JUMP) {
            return Err(LinkError::Unexpected(format!(
                "server {from} claims term {term}, this member is at {ours}"
            )));
        }
        Ok(())
    }

    /// A member's forwarded writes, queued to this member's proposer in the order they come,
    /// and its session touches. Only a leader takes them: when this member stops leading, the
    /// stream is closed, and the sender abandons what it had in flight. So is a stream once
    /// its member has opened a newer one (see `ForwardStreams`).
    async fn serve_forward(&self, link: &mut Link, from: NodeId) -> Result<(), LinkError> {
        let stream = self.forward_streams.open(from);
        let mut metrics = self.raft.metrics();
        loop {
            if metrics.borrow_and_update().current_leader != Some(self.identity.me) {
                tracing::info!(from, "not the leader; closing a forwarding stream");
                return Ok(());
            }
            let message = tokio::select! {
                // A quiet member sends nothing for long stretches; it is not waited on for
                // liveness here (raft's own links do that).
                message = link::receive(link, self.idle_timeout * 20) => message?,
                changed = metrics.changed() => {
                    if changed.is_err() {
                        return Ok(());
                    }
                    continue;
                }
            };
            if self.faults.is_cut_off(from) {
                return Ok(());
            }
            match message {
                Message::Txns(bytes) => {
                    let entry = decode_entry(&bytes)
                        .map_err(|e| LinkError::Unexpected(format!("txns from {from}: {e}")))?;
                    let Some(_turn) = self.forward_streams.turn(from, stream).await else {
                        tracing::info!(
                            from,
                            txns = entry.txns.len(),
                            "writes on a forwarding stream its member has since replaced; \
                             dropped (their clients were told the outcome is unknown)"
                        );
                        return Ok(());
                    };
                    for txn in entry.txns {
                        // A member forwards its own clients' writes, nothing else.
                        if txn.origin.map(|o| o.node_id) != Some(from) {
                            let why = format!("a txn from {from} with origin {:?}", txn.origin);
                            return Err(LinkError::Unexpected(why));
                        }
                        if self.replicator.propose(txn).await.is_err() {
                            return Ok(());
                        }
                    }
                }
                Message::Touches(ids) => self.host.sessions_touched(from, &ids),
                other => return Err(LinkError::Unexpected(format!("{other:?} from {from}"))),
            }
        }
    }

    /// Writes the chunks to a temporary directory, then installs it through raft.
    async fn receive_snapshot(
        &self,
        link: &mut Link,
        vote: Vote,
        meta: SnapshotMeta,
    ) -> Result<Message, LinkError> {
        let target =
            self.snapshots.receiving().map_err(|e| std::io::Error::other(e.to_string()))?;
        let mut file = tokio::fs::File::create(target.path.join("data.mdb")).await?;
        loop {
            match link::receive(link, self.idle_timeout).await? {
                Message::SnapshotChunk(bytes) => file.write_all(&bytes).await?,
                Message::SnapshotEnd => break,
                other => return Err(LinkError::Unexpected(format!("{other:?} in a snapshot"))),
            }
        }
        file.flush().await?;
        drop(file);
        tracing::info!(snapshot = %meta.snapshot_id, "received a snapshot from the leader");
        let snapshot = Snapshot { meta, snapshot: Box::new(target) };
        Ok(Message::SnapshotReply(self.raft.install_full_snapshot(vote, snapshot).await))
    }

    /// A connection from `from` closed. If `from` leads, is its process still there? A
    /// handshake with it answers: refused, reset or closed means the process is gone (killed,
    /// crashed, stopped; a bare connect can still reach a dying process's listener), and an
    /// election starts now rather than after syncLimit ticks, as a ZooKeeper follower that
    /// loses its leader's socket goes looking at once. A leader that answers is left alone;
    /// one that does not answer in time (a dead host, a partition) is left to raft's timeout.
    pub fn leader_gone(self: &Arc<Self>, from: NodeId) {
        let service = self.clone();
        tokio::spawn(async move {
            let Some(addr) = service.addrs.get(&from) else { return };
            let leader = service.raft.current_leader().await;
            if leader != Some(from) || service.faults.is_cut_off(from) {
                return;
            }
            let within = service.leader_grace;
            let probe = link::dial(addr, service.identity, Purpose::Raft, within).await;
            let answer = probe.as_ref().map(|_| "welcome").map_err(ToString::to_string);
            tracing::debug!(leader = from, ?answer, "probed the leader whose connection closed");
            let gone = match probe {
                Ok(_) | Err(LinkError::Timeout) => false,
                Err(LinkError::Closed) => true,
                Err(LinkError::Wire(WireError::Io(e))) => matches!(
                    e.kind(),
                    std::io::ErrorKind::ConnectionRefused
                        | std::io::ErrorKind::ConnectionReset
                        | std::io::ErrorKind::BrokenPipe
                        | std::io::ErrorKind::UnexpectedEof
                ),
                Err(_) => false,
            };
            if gone && service.raft.current_leader().await == Some(from) {
                tracing::info!(leader = from, "the leader's process is gone; electing now");
                service.campaign(from).await;
            }
        });
    }

    /// Stands for election until some leader other than `gone` is known. Every survivor of a
    /// dead leader does this at once (each must, or raft's leader lease makes it refuse the
    /// others' votes for a whole election timeout), so two may split the vote in one term:
    /// a candidate that has not won after a random pause stands again, in a higher term,
    /// which the other candidate grants, instead of both waiting out syncLimit ticks.
    async fn campaign(&self, gone: NodeId) {
        let mut metrics = self.raft.metrics();
        if metrics.borrow().state == openraft::ServerState::Learner {
            return; // an observer does not vote
        }
        for attempt in 0..CAMPAIGN_ATTEMPTS {
            let _ = self.raft.trigger().elect().await;
            let pause = campaign_pause(self.identity.me, attempt);
            let decided = tokio::time::timeout(pause, async {
                loop {
                    let settled = {
                        let m = metrics.borrow_and_update();
                        m.current_leader.is_some_and(|l| l != gone)
                    };
                    if settled || metrics.changed().await.is_err() {
                        return;
                    }
                }
            });
            if decided.await.is_ok() {
                return;
            }
        }
    }
}

/// Elections a survivor of a dead leader stands in before leaving it to raft's timer.
const CAMPAIGN_ATTEMPTS: u32 = 8;

/// 100 to 400 ms, different for each member and each attempt, so that two candidates that
/// split a vote do not stand again together.
fn campaign_pause(me: NodeId, attempt: u32) -> Duration {
    let clock = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos() as u64);
    let mixed = (clock ^ me.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ u64::from(attempt) << 17)
        .wrapping_mul(0x2545_f491_4f6c_dd1d);
    Duration::from_millis(100 + (mixed >> 40) % 300)
}

/// Connections refused for want of a slot, logged at most once a second with a count, so a
/// flood of them cannot flood the log.
#[derive(Default)]
struct Refusals {
    since_logged: u64,
    logged_at: Option<tokio::time::Instant>,
}

impl Refusals {
    fn note(&mut self, peer: std::net::SocketAddr) {
        self.since_logged += 1;
        let now = tokio::time::Instant::now();
        if self.logged_at.is_some_and(|at| now.duration_since(at) < Duration::from_secs(1)) {
            return;
        }
        let refused = std::mem::take(&mut self.since_logged);
        tracing::warn!(%peer, refused, "too many peer connections; closing (count since last log)");
        self.logged_at = Some(now);
    }
}

/// Keeps a connection of its own open to the leader, so that a follower notices the leader's
/// process going away from that connection closing, whatever raft's own connections are
/// doing at the time (one may be waiting on this member's log). The leader closes an idle
/// one after an election timeout; it is opened again.
pub async fn watch_leader(service: Arc<PeerService>, shutdown: CancellationToken) {
    let mut metrics = service.raft.metrics();
    loop {
        let leader = {
            let m = metrics.borrow_and_update();
            m.current_leader.filter(|l| *l != m.id && m.state != openraft::ServerState::Learner)
        };
        if let Some(addr) = leader.and_then(|l| service.addrs.get(&l).map(|a| (l, a.clone()))) {
            let (leader, addr) = addr;
            let within = service.connect_timeout;
            if let Ok(mut link) = link::dial(&addr, service.identity, Purpose::Raft, within).await {
                tokio::select! {
                    _ = futures::StreamExt::next(&mut link) => service.leader_gone(leader),
                    changed = metrics.changed() => if changed.is_err() { return },
                    () = shutdown.cancelled() => return,
                }
                continue;
            }
        }
        tokio::select! {
            changed = metrics.changed() => if changed.is_err() { return },
            () = tokio::time::sleep(service.leader_grace) => {}
            () = shutdown.cancelled() => return,
        }
    }
}
