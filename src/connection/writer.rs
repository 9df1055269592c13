//! The connection's writer task: drains the outbound queue in order, encodes frames into one
//! buffer per burst, and closes the socket after a `Close`.

use std::sync::Arc;

use bytes::BytesMut;
use jute::{xid, FrameCodec, ReplyHeader};
use tokio::io::{AsyncWrite, AsyncWriteExt};
use tokio::sync::mpsc;
use tokio_util::codec::Encoder;

use crate::node::conn::{ConnShared, Outbound};
use crate::node::Node;

/// Bytes gathered before a write, so a burst of small replies costs one syscall.
const BURST_BYTES: usize = 256 * 1024;

/// Encodes one frame; returns false for `Close`.
fn encode(frame: Outbound, buffer: &mut BytesMut) -> bool {
    let mut codec = FrameCodec::default();
    let result = match frame {
        Outbound::Reply { header, body: Some(body) } => codec.encode((header, body), buffer),
        Outbound::Reply { header, .. } => codec.encode(header, buffer),
        Outbound::Notification { zxid, event } => {
            let header = ReplyHeader { xid: xid::NOTIFICATION, zxid, err: 0 };
            codec.encode((header, event), buffer)
        }
        Outbound::Close => return false,
    };
    result.expect("encoding into memory cannot fail");
    true
}

pub async fn run<W: AsyncWrite + Unpin>(
    node: Arc<Node>,
    conn: Arc<ConnShared>,
    mut socket: W,
    mut outbound: mpsc::Receiver<Outbound>,
) {
    let mut buffer = BytesMut::with_capacity(64 * 1024);
    loop {
        let first = tokio::select! {
            frame = outbound.recv() => frame,
            () = conn.closing.cancelled() => None,
        };
        let Some(first) = first else { break };
        let mut open = encode(first, &mut buffer);
        let mut frames = 1u64;
        while open && buffer.len() < BURST_BYTES {
            let Ok(next) = outbound.try_recv() else { break };
            open = encode(next, &mut buffer);
            frames += 1;
        }
        let frames = if open { frames } else { frames - 1 };
        if let Err(e) = socket.write_all(&buffer).await {
            tracing::debug!(conn = conn.id, error = %e, "write failed");
            break;
        }
        buffer.clear();
        for _ in 0..frames {
            node.stats.sent();
        }
        conn.stats.sent.fetch_add(frames, std::sync::atomic::Ordering::Relaxed);
        conn.stats
            .last_response_ms
            .store(crate::node::stats::now_ms(), std::sync::atomic::Ordering::Relaxed);
        if !open {
            break;
        }
    }
    let _ = socket.shutdown().await;
    conn.closing.cancel();
}
