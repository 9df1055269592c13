//! Forwarding on a member that does not lead: its clients' txns go to the leader over one
//! ordered stream (never reordered, never retried), with the sessions touched here in
//! between. The leader answers nothing on it; replies come from this member's own apply. If
//! the stream breaks or the leader changes, every write in flight here has an unknown
//! outcome, and its client is disconnected, as ZooKeeper does.

use std::collections::HashMap;
use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;

use std::sync::Arc;

use super::peer::{dial, send, Faults, Identity, Link, LinkError, Message, Purpose};
use super::types::NodeId;

pub struct Forwarder {
    identity: Identity,
    /// Peers' `host:quorumPort`, by id.
    addrs: HashMap<NodeId, String>,
    connect_timeout: Duration,
    /// How long the leader may take to accept a batch before the stream is taken for broken.
    send_timeout: Duration,
    link: Option<(NodeId, Link)>,
    faults: Arc<Faults>,
    /// How often touches go to the leader (half a tick).
    pub touch_every: Duration,
}

impl Forwarder {
    pub fn new(
        identity: Identity,
        addrs: HashMap<NodeId, String>,
        (connect_timeout, send_timeout, touch_every): (Duration, Duration, Duration),
        faults: Arc<Faults>,
    ) -> Self {
        let link = None;
        Forwarder { identity, addrs, connect_timeout, send_timeout, link, faults, touch_every }
    }

    pub fn me(&self) -> NodeId {
        self.identity.me
    }

    /// Resolves when the open stream ends (the leader closed it, or it broke); never while
    /// no stream is open. Cancel-safe.
    pub async fn closed(&mut self) {
        match &mut self.link {
            Some((_, link)) => {
                // The leader sends nothing: anything read is an end.
                let _ = link.next().await;
            }
            None => std::future::pending().await,
        }
    }

    /// Drops the stream; true if one was open (its writes in flight are now unknown).
    pub fn disconnect(&mut self) -> bool {
        self.link.take().is_some()
    }

    /// The stream to `leader`, opened if need be. `Err(true)` when an open stream to another
    /// leader was dropped on the way, so the writes sent on it are unknown.
    async fn stream_to(&mut self, leader: NodeId) -> Result<&mut Link, LinkError> {
        if self.faults.is_cut_off(leader) {
            return Err(LinkError::Refused("cut off (fault injection)".into()));
        }
        if self.link.as_ref().is_some_and(|(to, _)| *to != leader) {
            return Err(LinkError::Unexpected("the leader changed".into()));
        }
        if self.link.is_none() {
            let addr = self.addrs.get(&leader).ok_or(LinkError::Closed)?;
            let link = dial(addr, self.identity, Purpose::Forward, self.connect_timeout).await?;
            tracing::debug!(leader, "forwarding writes to the leader");
            self.link = Some((leader, link));
        }
        Ok(&mut self.link.as_mut().expect("opened").1)
    }

    /// Sends one entry's txns to `leader`. On an error the stream is dropped.
    pub async fn forward(&mut self, leader: NodeId, txns: Vec<u8>) -> Result<(), LinkError> {
        let within = self.send_timeout;
        let result = async {
            let link = self.stream_to(leader).await?;
            send(link, Message::Txns(Bytes::from(txns)), within).await
        }
        .await;
        if result.is_err() {
            self.link = None;
        }
        result
    }

    /// Sends the touched sessions to `leader` on the same stream, so they stay in order with
    /// the writes.
    pub async fn touch(&mut self, leader: NodeId, ids: Vec<i64>) -> Result<(), LinkError> {
        if ids.is_empty() {
            return Ok(());
        }
        let within = self.send_timeout;
        let result = async {
            let link = self.stream_to(leader).await?;
            send(link, Message::Touches(ids), within).await
        }
        .await;
        if result.is_err() {
            self.link = None;
        }
        result
    }
}
