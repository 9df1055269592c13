//! Applying committed entries on this node: the pure apply in `state`, then, in the same
//! critical section, watch notifications and the replies of this node's pending requests.
//! Events are queued before replies, so a client never sees a reply newer than an event.

use std::sync::Arc;

use jute::{perms, KeeperState, ReplyHeader, WatcherEvent};

use super::conn::{ConnShared, Outbound};
use super::{Node, Pending};
use crate::error::ZkError;
use crate::metrics::Summary;
use crate::ops::check_perm;
use crate::replication::{EnsembleView, Host, Role};
use crate::state::{Applied, Effect, ZkState};
use crate::txn::Entry;
use crate::watch::{WatchManager, WatchTrigger};

impl Host for Node {
    /// Applies one committed entry and delivers its results.
    fn apply(&self, entry: &Entry) {
        self.apply_entry(entry);
    }

    /// A new leader's first entry: the zxid epoch goes up and its counter starts again.
    fn start_epoch(&self) {
        self.state.write().start_epoch();
    }

    /// A copy of the state, for a snapshot taken in order with apply.
    fn freeze(&self) -> ZkState {
        self.state.read().clone()
    }

    /// Replaces the state with a snapshot's; every session gets a fresh full timeout.
    /// Replaces the state with a snapshot's (at start-up, or sent by a leader when this member
    /// was too far behind). Every session gets a fresh full timeout. Clients connected here
    /// are disconnected, as a ZooKeeper learner that resyncs does: the events between their
    /// watches and the snapshot are not known, so their watches cannot be trusted; they
    /// reconnect and set them again.
    fn install(&self, state: ZkState) {
        self.track_all_and_disconnect(&state);
        *self.state.write() = state;
        self.publish_config();
    }

    /// Drops the requests of an entry that could not be logged, closing their connections.
    fn abandon(&self, entry: &Entry) {
        for origin in entry.txns.iter().filter_map(|t| t.origin) {
            match self.pending.lock().remove(&origin.request_id) {
                Some(Pending::Request { conn, .. }) => conn.closing.cancel(),
                // Dropping the sender fails the handshake waiting on it: the client is closed.
                Some(Pending::Waiter(done)) => drop(done),
                None => {}
            }
        }
    }

    fn abandon_all(&self) {
        let abandoned: Vec<Pending> = self.pending.lock().drain().map(|(_, p)| p).collect();
        if !abandoned.is_empty() {
            tracing::info!(requests = abandoned.len(), "writes in flight abandoned");
        }
        for pending in abandoned {
            match pending {
                Pending::Request { conn, .. } => conn.closing.cancel(),
                Pending::Waiter(done) => drop(done),
            }
        }
    }

    fn proposed(&self, bytes: usize) {
        self.stats.proposed(bytes);
    }

    fn attach_view(&self, view: Arc<dyn EnsembleView>) {
        let _ = self.view.set(view);
    }

    fn sessions_touched(&self, from: u64, ids: &[i64]) {
        let owned: Vec<i64> = {
            let state = self.state.read();
            let owner_is = |id: &&i64| {
                state.sessions.get(**id).is_some_and(|s| s.owner.is_none_or(|o| o == from))
            };
            ids.iter().filter(owner_is).copied().collect()
        };
        self.sessions.touch_reported(&owned, tokio::time::Instant::now());
    }

    fn take_touches(&self) -> Vec<i64> {
        self.sessions.take_touches()
    }

    fn set_role(&self, role: Role) {
        tracing::info!(role = role.mode(), "role changed");
        let now = tokio::time::Instant::now();
        self.sessions.set_leading(role == Role::Leader, now);
        let previous = self.role.send_replace(role);
        self.count_role_change(previous, role);
        if role == Role::Leader && previous != Role::Leader {
            let now = crate::clock::now_ms();
            self.stats.leading_since.store(now, std::sync::atomic::Ordering::Relaxed);
        }
        if role == Role::NoLeader && previous != Role::NoLeader {
            // A member without a leader stops serving, as ZooKeeper does: its clients
            // reconnect elsewhere, and come back once it has rejoined.
            for conn in self.connections.read().values() {
                conn.closing.cancel();
            }
        }
    }
}

impl Node {
    fn apply_entry(&self, entry: &Entry) {
        let mut state = self.state.write();
        let applied = state.apply(entry, &self.apply_config);
        self.count_applied(entry, &applied);
        let mut watches = self.watches.lock();
        for outcome in applied {
            for trigger in &outcome.triggers {
                self.notify(&mut watches, trigger, outcome.zxid);
            }
            self.complete(&outcome);
            match outcome.effect {
                Effect::Restored => self.restored(&state),
                effect => self.session_effect(effect),
            }
        }
    }

    /// After a restore: the sessions tracked are the restored ones, each with a fresh full
    /// timeout, and every client is disconnected, as after a snapshot install: its watches
    /// were set on a tree that is gone. Its library reconnects, sets them again (each fires
    /// if its node changed since the zxid the client saw), and learns whether its session
    /// is among the restored ones.
    fn restored(&self, state: &ZkState) {
        tracing::warn!(
            zxid = format!("0x{:x}", state.last_zxid),
            znodes = state.tree.node_count(),
            sessions = state.sessions.len(),
            clients = self.connections.read().len(),
            "state restored from a snapshot; disconnecting every client"
        );
        self.track_all_and_disconnect(state);
    }

    /// The state's sessions tracked anew, each with a fresh full timeout, and every client
    /// disconnected: what a snapshot install and a restore both do.
    fn track_all_and_disconnect(&self, state: &ZkState) {
        let now = tokio::time::Instant::now();
        let sessions = state.sessions.iter().map(|(id, s)| (*id, s.timeout_ms));
        self.sessions.replace_all(sessions, now);
        for conn in self.connections.read().values() {
            conn.closing.cancel();
        }
    }

    /// Queues one event to every connection watching it that may READ the node.
    fn notify(&self, watches: &mut WatchManager, trigger: &WatchTrigger, zxid: i64) {
        let targets = watches.trigger(&trigger.path, trigger.event);
        if targets.is_empty() {
            return;
        }
        self.count_watchers(trigger.event, targets.len());
        let connections = self.connections.read();
        let live = targets.iter().filter_map(|id| connections.get(id));
        for conn in live.filter(|c| !c.closing.is_cancelled()) {
            // ZooKeeper 3.8.4+/3.9.2+: events are filtered by READ permission (CVE-2024-23944).
            if check_perm(&self.apply_config.acl, &trigger.acl, &conn.auth(), perms::READ).is_err()
            {
                continue;
            }
            let event = WatcherEvent {
                event_type: trigger.event.as_i32(),
                state: KeeperState::SyncConnected.as_i32(),
                path: trigger.path.as_str().into(),
            };
            conn.send(Outbound::Notification { zxid, event });
        }
    }

    /// Replies to the request that proposed this txn, if it came from this node.
    fn complete(&self, outcome: &Applied) {
        let Some(origin) = outcome.origin.filter(|o| o.node_id == self.node_id) else {
            return;
        };
        let Some(pending) = self.pending.lock().remove(&origin.request_id) else {
            return;
        };
        match pending {
            Pending::Waiter(done) => {
                let _ = done.send(outcome.result.as_ref().map(|_| outcome.zxid).map_err(|e| *e));
            }
            Pending::Request { conn, request_bytes, .. }
                if outcome.result == Err(ZkError::SessionMoved) =>
            {
                // As ZooKeeper does since ZOOKEEPER-710: a moved session's old connection is
                // closed, not answered, so its client cannot act on a stale view.
                tracing::info!(
                    session = format!("0x{:x}", outcome.session_id),
                    "session moved; closing its old connection"
                );
                conn.send(Outbound::Close);
                conn.write_finished(request_bytes);
            }
            Pending::Request { conn, xid, op, started, request_bytes } => {
                let (err, body) = match &outcome.result {
                    Ok(response) => (0, Some(response.clone())),
                    Err(e) => (e.as_i32(), None),
                };
                let header = ReplyHeader { xid, zxid: outcome.zxid, err };
                self.record_latency(&conn, started, op, xid, outcome.zxid);
                conn.send(Outbound::Reply { header, body });
                conn.write_finished(request_bytes);
            }
        }
    }

    /// Counts an answered request in the latency stats (srvr, stat, cons, mntr) and in
    /// ZooKeeper's readlatency/updatelatency: `update` for requests that are txns, sync
    /// excepted (ZooKeeper's sync is no txn).
    pub(crate) fn record_latency(
        &self,
        conn: &ConnShared,
        started: tokio::time::Instant,
        op: jute::OpCode,
        xid: i32,
        zxid: i64,
    ) {
        let ms = started.elapsed().as_millis() as u64;
        let update = crate::connection::is_write(op) && op != jute::OpCode::Sync;
        let summary = if update { Summary::UpdateLatency } else { Summary::ReadLatency };
        self.metrics.observe(summary, ms);
        conn.stats.latency.lock().record(ms);
        conn.stats.last_cxid.store(xid as i64, std::sync::atomic::Ordering::Relaxed);
        conn.stats.last_zxid.store(zxid, std::sync::atomic::Ordering::Relaxed);
        *conn.stats.last_op.lock() = crate::four_letter::op_tag(op);
    }

    /// Keeps `sessions` in step with the session table, and closes the connection of a
    /// closed session: after its reply for closeSession, silently for an expiry.
    fn session_effect(&self, effect: Effect) {
        let now = tokio::time::Instant::now();
        match effect {
            Effect::SessionCreated { session_id, timeout_ms, .. } => {
                self.sessions.track(session_id, timeout_ms, now);
            }
            Effect::SessionClosed { session_id } => {
                self.sessions.remove(session_id);
                let conn_id = self.bound.lock().remove(&session_id);
                let connections = self.connections.read();
                if let Some(conn) = conn_id.and_then(|id| connections.get(&id)).map(Arc::clone) {
                    conn.send(Outbound::Close);
                }
            }
            Effect::SessionMoved { .. } | Effect::Restored | Effect::None => {}
        }
    }
}
