//! One request frame after the handshake: decoded once, then a write goes to the replicator
//! (its reply comes from apply) and everything else is answered here, after every earlier
//! write of the session has been applied, so replies leave in request order.

use std::sync::Arc;

use jute::{
    xid, Decode, DecodeError, Id, OpCode, ReplyHeader, Request, RequestHeader, Response, SaslToken,
    WhoAmIResponse,
};
use tokio::time::Instant;

use crate::error::ZkError;
use crate::metrics::Counter;
use crate::node::conn::{ConnShared, Outbound};
use crate::node::Node;
use crate::txn::{self, Routed, TxnOp};
use crate::{auth, sasl};

/// What the read loop does after a frame.
#[derive(Debug, PartialEq, Eq)]
pub enum Next {
    Continue,
    /// The connection must close once queued frames are written; the read loop queues the
    /// close.
    Close,
}

/// Handles one frame; the caller stops reading on `Next::Close`.
pub async fn handle(node: &Node, conn: &Arc<ConnShared>, frame: &[u8]) -> Next {
    let started = Instant::now();
    node.stats.received();
    conn.stats.received.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let Ok((body, header)) = RequestHeader::decode(frame) else {
        tracing::info!(conn = conn.id, peer = %conn.peer, len = frame.len(), "unreadable request header; closing");
        return Next::Close;
    };
    let session_id = conn.session_id();
    if !node.sessions.touch(session_id, Instant::now()) {
        reply_after_writes(node, conn, header.xid, Err(ZkError::SessionExpired)).await;
        return Next::Continue;
    }
    match Request::decode(header.op, body) {
        Ok(request) => dispatch(node, conn, (header, frame.len(), started), request).await,
        Err(DecodeError::UnknownOpCode(op) | DecodeError::UnexpectedOpCode(op)) => {
            tracing::info!(
                conn = conn.id,
                op,
                "invalid opcode; answering UNIMPLEMENTED and closing"
            );
            unimplemented_and_close(node, conn, header.xid).await
        }
        Err(e) => {
            tracing::info!(conn = conn.id, op = header.op, error = %e, "unparsable request body");
            undecodable(node, conn, header, frame.len()).await;
            Next::Continue
        }
    }
}

/// A body that does not parse: a write still becomes a (failed) txn, as in ZooKeeper; a read
/// is answered MARSHALLINGERROR.
async fn undecodable(node: &Node, conn: &Arc<ConnShared>, header: RequestHeader, len: usize) {
    let op = OpCode::from_i32(header.op).unwrap_or(OpCode::Error);
    if is_write(op) {
        let failed = TxnOp::Fail(ZkError::Marshalling);
        node.propose_request(conn, (header.xid, op, len), failed).await;
    } else {
        reply_after_writes(node, conn, header.xid, Err(ZkError::Marshalling)).await;
    }
}

/// Whether a request of this opcode is a txn (goes through the log).
pub fn is_write(op: OpCode) -> bool {
    use OpCode::*;
    matches!(
        op,
        Create
            | Create2
            | CreateContainer
            | CreateTtl
            | Delete
            | SetData
            | SetAcl
            | Multi
            | Sync
            | Reconfig
            | CloseSession
    )
}

async fn unimplemented_and_close(node: &Node, conn: &Arc<ConnShared>, xid: i32) -> Next {
    reply_after_writes(node, conn, xid, Err(ZkError::Unimplemented)).await;
    Next::Close
}

async fn dispatch(
    node: &Node,
    conn: &Arc<ConnShared>,
    (header, len, started): (RequestHeader, usize, Instant),
    request: Request,
) -> Next {
    let xid = header.xid;
    let op = request.op_code();
    let request = match route(node, conn, request) {
        Routed::Write(txn_op) => {
            node.propose_request(conn, (xid, op, len), txn_op).await;
            return Next::Continue;
        }
        Routed::Local(request) => request,
    };
    conn.wait_writes_below(1).await;
    *conn.stats.last_op.lock() = crate::four_letter::op_tag(op);
    match request {
        Request::Ping => {
            let header = ReplyHeader { xid: xid::PING, zxid: node.last_zxid(), err: 0 };
            node.record_latency(conn, started, op, xid, header.zxid);
            conn.send(Outbound::Reply { header, body: None });
        }
        Request::Auth(packet) => return authenticate(node, conn, xid, &packet),
        Request::Sasl(token) => return sasl_step(node, conn, xid, &token),
        Request::WhoAmI => {
            let client_info = auth::who_am_i(&conn.auth());
            reply(
                conn,
                xid,
                node.last_zxid(),
                Ok(Response::WhoAmI(WhoAmIResponse { client_info })),
            );
        }
        Request::Check(_) | Request::DeleteContainer(_) => {
            // check is valid only inside a multi; deleteContainer is the reaper's own.
            tracing::info!(
                conn = conn.id,
                peer = %conn.peer,
                op = op.as_i32(),
                "opcode not accepted from clients; answering UNIMPLEMENTED and closing"
            );
            return unimplemented_and_close(node, conn, xid).await;
        }
        Request::MultiRead(ref multi) if multi.ops.iter().any(|o| !o.is_read()) => {
            reply(conn, xid, node.last_zxid(), Err(ZkError::Marshalling));
        }
        other => return answer_read(node, conn, (xid, started), &other),
    }
    Next::Continue
}

fn answer_read(
    node: &Node,
    conn: &ConnShared,
    (xid, started): (i32, Instant),
    request: &Request,
) -> Next {
    let Some(answer) = node.read(conn, request) else {
        reply(conn, xid, node.last_zxid(), Err(ZkError::Unimplemented));
        return Next::Continue;
    };
    if answer.result == Err(ZkError::ReplyTooLarge) {
        tracing::warn!(
            conn = conn.id,
            peer = %conn.peer,
            "a multiRead's reply would pass corral.clientQueueMaxBytes; closing the connection"
        );
        return Next::Close;
    }
    for (path, event) in answer.missed {
        let event = jute::WatcherEvent {
            event_type: event.as_i32(),
            state: jute::KeeperState::SyncConnected.as_i32(),
            path: path.into(),
        };
        // Catch-up events carry zxid -1 and go before the reply.
        conn.send(Outbound::Notification { zxid: -1, event });
    }
    node.record_latency(conn, started, request.op_code(), xid, answer.zxid);
    reply(conn, xid, answer.zxid, answer.result);
    Next::Continue
}

fn authenticate(node: &Node, conn: &ConnShared, xid: i32, packet: &jute::AuthPacket) -> Next {
    let ip = conn.peer.ip().to_string();
    let raw = packet.auth.as_deref().unwrap_or_default();
    match auth::authenticate(&packet.scheme, raw, &ip, node.config.super_digest.as_deref()) {
        Ok(ids) => {
            ids.into_iter().for_each(|id| conn.add_auth(id));
            reply(conn, xid, 0, Ok(Response::Empty));
            Next::Continue
        }
        Err(e) => {
            tracing::info!(conn = conn.id, scheme = %packet.scheme, "auth failed; closing");
            node.metrics.count(Counter::AuthFailed);
            reply(conn, xid, 0, Err(e));
            Next::Close
        }
    }
}

/// One step of a SASL exchange; a failure is AUTHFAILED with a null token, then a close.
fn sasl_step(node: &Node, conn: &ConnShared, xid: i32, token: &SaslToken) -> Next {
    let input = token.token.as_deref().unwrap_or_default();
    let step = sasl::step(&node.config.sasl_users, &mut conn.sasl.lock(), input);
    let (err, token) = match step {
        sasl::Step::Continue(token) => (0, Some(token)),
        sasl::Step::Success { user, token } => {
            if node.config.super_user.as_deref() == Some(user.as_str()) {
                conn.add_auth(Id::new("super", ""));
            }
            conn.add_auth(Id::new("sasl", &user));
            (0, Some(token))
        }
        sasl::Step::Failure => (ZkError::AuthFailed.as_i32(), None),
    };
    let header = ReplyHeader { xid, zxid: 0, err };
    conn.send(Outbound::Reply { header, body: Some(Response::Sasl(SaslToken { token })) });
    if err == 0 {
        return Next::Continue;
    }
    tracing::info!(conn = conn.id, "SASL authentication failed; closing");
    node.metrics.count(Counter::AuthFailed);
    Next::Close
}

/// Where a request goes: writes become txns, everything else is answered here. A
/// closeSession marks its session closing at once, so later requests get SESSIONEXPIRED.
fn route(node: &Node, conn: &ConnShared, request: Request) -> Routed {
    if matches!(request, Request::CloseSession) {
        node.sessions.set_closing(conn.session_id());
    }
    txn::route(request, node.config.reconfig_enabled)
}

fn reply(conn: &ConnShared, xid: i32, zxid: i64, result: Result<Response, ZkError>) {
    let (err, body) = match result {
        Ok(body) => (0, Some(body)),
        Err(e) => (e.as_i32(), None),
    };
    conn.send(Outbound::Reply { header: ReplyHeader { xid, zxid, err }, body });
}

/// Replies once every earlier write of the connection has been answered.
async fn reply_after_writes(
    node: &Node,
    conn: &ConnShared,
    xid: i32,
    result: Result<Response, ZkError>,
) {
    conn.wait_writes_below(1).await;
    reply(conn, xid, node.last_zxid(), result);
}
