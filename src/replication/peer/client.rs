//! The sending side of raft's RPCs: openraft asks this factory for a client per target and
//! calls it one RPC at a time. Each client keeps one connection, dialled lazily and dropped
//! on any error (openraft then backs off and retries); an RPC that openraft abandoned half
//! way (its timeout fired) leaves the connection unusable, so the next call dials again.

// openraft's RaftNetwork signatures fix its error type, large as it is.
#![allow(clippy::result_large_err)]

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use openraft::error::{
    Fatal, NetworkError, PayloadTooLarge, RPCError, RaftError, RemoteError, ReplicationClosed,
    StreamingError, Unreachable,
};
use openraft::network::{RPCOption, RaftNetwork, RaftNetworkFactory};
use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, SnapshotResponse, VoteRequest, VoteResponse,
};
use openraft::BasicNode;
use tokio::io::AsyncReadExt;

use super::super::types::*;
use super::super::view::{mark, Reachable};
use super::faults::Faults;
use super::link::{self, Identity, Link, LinkError};
use super::wire::{Message, Purpose, WireError, SNAPSHOT_CHUNK};
use crate::metrics::{Counter, Metrics, Summary, SummarySet};

/// Opens clients to the members openraft replicates to.
#[derive(Clone)]
pub struct PeerNetwork {
    pub identity: Identity,
    /// Peers this member is cut off from (tests of partitions).
    pub faults: Arc<Faults>,
    /// Members' quorum addresses from the `server.N` lines, by id.
    pub addrs: Arc<std::collections::HashMap<NodeId, String>>,
    /// Members a call last reached, for the leader's `mntr` counts.
    pub reachable: Reachable,
    /// How long a dial and its handshake may take.
    pub connect_timeout: Duration,
    /// How long a member may take to install a snapshot it received (initLimit ticks).
    pub install_timeout: Duration,
    pub metrics: Arc<Metrics>,
    /// Snapshots being sent now (ZooKeeper's inflight_snap_count).
    pub snapshots_sending: Arc<AtomicU64>,
}

impl RaftNetworkFactory<TypeConfig> for PeerNetwork {
    type Network = PeerClient;

    async fn new_client(&mut self, target: NodeId, node: &BasicNode) -> PeerClient {
        // zoo.cfg's server.N lines are the truth for a static ensemble: an address edited
        // there since the membership was first logged is the one dialled.
        let addr = self.addrs.get(&target).cloned().unwrap_or_else(|| node.addr.clone());
        PeerClient { target, addr, network: self.clone(), link: None, in_call: false }
    }
}

pub struct PeerClient {
    target: NodeId,
    addr: String,
    network: PeerNetwork,
    link: Option<Link>,
    /// Set while a call is under way: still set at the next call means openraft dropped the
    /// last one half way, and the connection's state is unknown.
    in_call: bool,
}

type RpcError<E = RaftError<NodeId>> = RPCError<NodeId, BasicNode, E>;

fn unreachable<E: std::error::Error>(e: &LinkError) -> RpcError<E> {
    RPCError::Unreachable(Unreachable::new(e))
}

fn network<E: std::error::Error>(e: &LinkError) -> RpcError<E> {
    RPCError::Network(NetworkError::new(e))
}

impl PeerClient {
    async fn connect(&mut self) -> Result<(), LinkError> {
        if self.network.faults.is_cut_off(self.target) {
            self.link = None;
            return Err(LinkError::Refused("cut off (fault injection)".into()));
        }
        if std::mem::replace(&mut self.in_call, false) {
            self.link = None;
        }
        if self.link.is_none() {
            let identity = self.network.identity;
            let within = self.network.connect_timeout;
            let dialled = link::dial(&self.addr, identity, Purpose::Raft, within).await;
            self.link = Some(dialled.inspect_err(|e| {
                tracing::debug!(target = self.target, addr = %self.addr, error = %e, "cannot reach peer");
            })?);
        }
        Ok(())
    }

    /// One request, one reply. Errors before anything was sent mean the peer is unreachable.
    async fn call(&mut self, request: Message, ttl: Duration) -> Result<Message, RpcError> {
        if let Err(e) = self.connect().await {
            mark(&self.network.reachable, self.target, false);
            return Err(unreachable(&e));
        }
        self.in_call = true;
        let link = self.link.as_mut().expect("connected");
        let result = async {
            link::send(link, request, ttl).await?;
            link::receive(link, ttl).await
        }
        .await;
        self.in_call = false;
        mark(&self.network.reachable, self.target, result.is_ok());
        result.map_err(|e| {
            self.link = None;
            match e {
                LinkError::Wire(WireError::TooLarge(_)) => {
                    RPCError::PayloadTooLarge(PayloadTooLarge::new_entries_hint(1))
                }
                e => network(&e),
            }
        })
    }

    fn remote<T, E: std::error::Error>(&self, reply: Result<T, E>) -> Result<T, RpcError<E>> {
        reply.map_err(|e| RPCError::RemoteError(RemoteError::new(self.target, e)))
    }

    fn unexpected<E: std::error::Error>(&mut self, message: Message) -> RpcError<E> {
        self.link = None;
        network(&LinkError::Unexpected(format!("{message:?}")))
    }
}

impl RaftNetwork<TypeConfig> for PeerClient {
    async fn append_entries(
        &mut self,
        rpc: AppendEntriesRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<AppendEntriesResponse<NodeId>, RpcError> {
        let entries = rpc.entries.len() as u64;
        let sent = std::time::Instant::now();
        match self.call(Message::Append(rpc), option.hard_ttl()).await {
            Ok(Message::AppendReply(reply)) => {
                if entries > 0 && reply.is_ok() {
                    // ZooKeeper's ack_latency, per member: here, an append's round trip.
                    let ms = sent.elapsed().as_millis() as u64;
                    let key = self.target.to_string();
                    self.network.metrics.observe_keyed(SummarySet::AckLatency, &key, ms);
                }
                self.remote(reply)
            }
            Ok(other) => Err(self.unexpected(other)),
            Err(RPCError::PayloadTooLarge(_)) => Err(RPCError::PayloadTooLarge(
                PayloadTooLarge::new_entries_hint((entries / 2).max(1)),
            )),
            Err(e) => Err(e),
        }
    }

    async fn vote(
        &mut self,
        rpc: VoteRequest<NodeId>,
        option: RPCOption,
    ) -> Result<VoteResponse<NodeId>, RpcError> {
        match self.call(Message::Vote(rpc), option.hard_ttl()).await? {
            Message::VoteReply(reply) => self.remote(reply),
            other => Err(self.unexpected(other)),
        }
    }

    async fn full_snapshot(
        &mut self,
        vote: Vote,
        snapshot: Snapshot,
        cancel: impl std::future::Future<Output = ReplicationClosed> + Send + 'static,
        option: RPCOption,
    ) -> Result<SnapshotResponse<NodeId>, StreamingError<TypeConfig, Fatal<NodeId>>> {
        // A snapshot has a connection of its own: it may take long, and heartbeats go on.
        if self.network.faults.is_cut_off(self.target) {
            let cut = LinkError::Refused("cut off (fault injection)".into());
            return Err(StreamingError::Unreachable(Unreachable::new(&cut)));
        }
        let identity = self.network.identity;
        let dialled =
            link::dial(&self.addr, identity, Purpose::Raft, self.network.connect_timeout).await;
        let mut link = dialled.map_err(|e| StreamingError::Unreachable(Unreachable::new(&e)))?;
        let ttl = (option.hard_ttl(), self.network.install_timeout);
        let send = send_snapshot(&mut link, vote, &snapshot, ttl);
        let sending = SendingSnapshot::start(&self.network);
        let reply = tokio::select! {
            reply = send => reply,
            closed = cancel => return Err(StreamingError::Closed(closed)),
        };
        sending.finish(matches!(reply, Ok(Message::SnapshotReply(Ok(_)))));
        match reply.map_err(|e| StreamingError::Network(NetworkError::new(&e)))? {
            Message::SnapshotReply(Ok(response)) => Ok(response),
            Message::SnapshotReply(Err(fatal)) => {
                Err(StreamingError::RemoteError(RemoteError::new(self.target, fatal)))
            }
            other => Err(StreamingError::Network(NetworkError::new(&LinkError::Unexpected(
                format!("{other:?}"),
            )))),
        }
    }
}

/// Counts a snapshot send for ZooKeeper's inflight_snap_count (sampled at its start and
/// end) and, once installed, snap_count.
struct SendingSnapshot<'a> {
    network: &'a PeerNetwork,
}

impl<'a> SendingSnapshot<'a> {
    fn start(network: &'a PeerNetwork) -> Self {
        let now = network.snapshots_sending.fetch_add(1, Ordering::Relaxed) + 1;
        network.metrics.observe(Summary::InflightSnapCount, now);
        SendingSnapshot { network }
    }

    fn finish(self, installed: bool) {
        if installed {
            self.network.metrics.count(Counter::Snap);
        }
    }
}

impl Drop for SendingSnapshot<'_> {
    fn drop(&mut self) {
        let now = self.network.snapshots_sending.fetch_sub(1, Ordering::Relaxed) - 1;
        self.network.metrics.observe(Summary::InflightSnapCount, now);
    }
}

/// Streams the snapshot's data file in chunks, never whole in memory, and waits for the
/// receiver to have installed it.
async fn send_snapshot(
    link: &mut Link,
    vote: Vote,
    snapshot: &Snapshot,
    (ttl, install_timeout): (Duration, Duration),
) -> Result<Message, LinkError> {
    let meta = snapshot.meta.clone();
    link::send(link, Message::SnapshotBegin { vote, meta }, ttl).await?;
    let path = Path::new(&snapshot.snapshot.path).join("data.mdb");
    let mut file = tokio::fs::File::open(&path).await?;
    loop {
        let mut chunk = vec![0u8; SNAPSHOT_CHUNK];
        let n = file.read(&mut chunk).await?;
        if n == 0 {
            break;
        }
        chunk.truncate(n);
        link::send(link, Message::SnapshotChunk(Bytes::from(chunk)), ttl).await?;
    }
    link::send(link, Message::SnapshotEnd, ttl).await?;
    link::receive(link, install_timeout).await
}
