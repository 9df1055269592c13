//! The handshake: a ConnectRequest in, a ConnectResponse out. New sessions are created
//! through the log; reconnects close the session's old connection, then check the password
//! and that the session is still live.

use std::sync::Arc;

use jute::{ConnectRequest, ConnectResponse, Decode, Encode};

use crate::error::ZkError;
use crate::node::conn::ConnShared;
use crate::node::Node;
use crate::replication::Role;
use crate::session::password::PASSWORD_LEN;

/// What the handshake decided.
pub enum Outcome {
    /// Send this response and serve requests.
    Accepted(ConnectResponse),
    /// Send this response (an invalid session) and close.
    Rejected(ConnectResponse),
    /// Close without a response.
    Dropped,
}

fn response(
    request: &ConnectRequest,
    timeout_ms: i32,
    session_id: i64,
    passwd: Vec<u8>,
) -> ConnectResponse {
    ConnectResponse {
        protocol_version: 0,
        timeout_ms,
        session_id,
        passwd: Some(passwd),
        // Mirror the client: old clients and go-zookeeper omit the byte and must not get it.
        read_only: request.read_only.map(|_| false),
    }
}

pub async fn handshake(node: &Node, conn: &Arc<ConnShared>, frame: &[u8]) -> Outcome {
    let request = match ConnectRequest::decode(frame) {
        Ok((_, request)) => request,
        Err(e) => {
            tracing::info!(peer = %conn.peer, error = ?e, "unreadable ConnectRequest; closing");
            return Outcome::Dropped;
        }
    };
    if node.role() == Role::NoLeader {
        // As a ZooKeeper server that is not running (electing, or cut off from its quorum):
        // close, and the client tries another server.
        tracing::info!(peer = %conn.peer, "no leader known; refusing a client");
        return Outcome::Dropped;
    }
    let last_zxid = node.last_zxid();
    if request.last_zxid_seen > last_zxid {
        tracing::info!(
            peer = %conn.peer,
            client_zxid = format!("0x{:x}", request.last_zxid_seen),
            server_zxid = format!("0x{last_zxid:x}"),
            "refusing a client that has seen a newer zxid than this server (client_zxid_ahead)"
        );
        return Outcome::Dropped;
    }
    let timeout_ms = node.config.negotiate_timeout(request.timeout_ms);
    if request.session_id == 0 {
        return new_session(node, conn, &request, timeout_ms).await;
    }
    reconnect(node, conn, &request, timeout_ms).await
}

async fn new_session(
    node: &Node,
    conn: &Arc<ConnShared>,
    request: &ConnectRequest,
    timeout_ms: i32,
) -> Outcome {
    let session_id = node.session_ids.next_id();
    let passwd = node.passwords.password(session_id);
    if node.create_session(session_id, timeout_ms, passwd).await.is_err() {
        return Outcome::Dropped;
    }
    node.bind(session_id, conn);
    tracing::debug!(session = format!("0x{session_id:x}"), timeout_ms, peer = %conn.peer, "session created");
    Outcome::Accepted(response(request, timeout_ms, session_id, passwd.to_vec()))
}

async fn reconnect(
    node: &Node,
    conn: &Arc<ConnShared>,
    request: &ConnectRequest,
    timeout_ms: i32,
) -> Outcome {
    let session_id = request.session_id;
    node.metrics.count(crate::metrics::Counter::ConnectionRevalidate);
    // As ZooKeeper does, the old connection goes before the password is even checked.
    node.bind(session_id, conn);
    let passwd = request.passwd.as_deref().unwrap_or_default();
    let valid =
        node.session_password_matches(session_id, passwd) && node.sessions.is_live(session_id);
    let owned = match valid {
        true => node.own_session(session_id).await,
        false => Err(Some(ZkError::SessionExpired)),
    };
    match owned {
        Ok(()) => {}
        Err(Some(_)) => {
            tracing::info!(session = format!("0x{session_id:x}"), peer = %conn.peer, "invalid or expired session");
            return Outcome::Rejected(response(request, 0, 0, vec![0; PASSWORD_LEN]));
        }
        // Not known to have failed: the client tries again, here or elsewhere.
        Err(None) => return Outcome::Dropped,
    }
    let now = tokio::time::Instant::now();
    node.sessions.track(session_id, timeout_ms, now);
    // The reconnect is activity the leader must hear of, as ZooKeeper's follower revalidates
    // a session with its leader: when this member already owns the session no txn went
    // out, and a client that was away for most of its timeout (this member restarting, say)
    // would otherwise be expired by the leader before its first ping is reported.
    node.sessions.touch(session_id, now);
    tracing::debug!(session = format!("0x{session_id:x}"), peer = %conn.peer, "session reconnected");
    Outcome::Accepted(response(request, timeout_ms, session_id, passwd.to_vec()))
}

/// The ConnectResponse as a frame (length prefix included).
pub fn frame(response: &ConnectResponse) -> Vec<u8> {
    let mut bytes = (response.encoded_len() as i32).to_be_bytes().to_vec();
    response.encode(&mut bytes);
    bytes
}
