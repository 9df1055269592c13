//! The connection's writer task: drains the outbound queue in order, encodes frames into one
//! buffer per burst, hands the bytes to the socket (releasing them from the queue's byte
//! bound), and closes the socket after a `Close` or when the client stops taking bytes.

use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::task::Poll;

use bytes::BytesMut;
use jute::{xid, FrameCodec, ReplyHeader};
use tokio::io::{AsyncWrite, AsyncWriteExt};
use tokio_util::codec::Encoder;

use crate::clock::now_ms;
use crate::metrics::Counter;
use crate::node::conn::{ConnShared, Outbound, OutboundReceiver};
use crate::node::Node;

/// Bytes gathered before a write, so a burst of small replies costs one syscall.
const BURST_BYTES: usize = 256 * 1024;

/// A buffer larger than this is freed after its burst rather than kept for the next one, so
/// an idle connection holds little however large its last reply was.
const KEEP_BYTES: usize = 16 * 1024;

/// Encodes one frame and counts it as ZooKeeper does (sizes without the length prefix);
/// returns false for `Close`.
fn encode(node: &Node, frame: Outbound, buffer: &mut BytesMut) -> bool {
    let mut codec = FrameCodec::default();
    let before = buffer.len();
    // ZooKeeper's response_bytes counts the replies of requests it processed: not pings or
    // auth replies (nor events, which are watch_bytes).
    let counter = match &frame {
        Outbound::Reply { header, .. } if header.xid == xid::PING || header.xid == xid::AUTH => {
            None
        }
        Outbound::Reply { .. } => Some(Counter::ResponseBytes),
        Outbound::Notification { .. } => Some(Counter::WatchBytes),
        Outbound::Close => None,
    };
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
    let size = (buffer.len() - before).saturating_sub(4);
    node.stats.responded(size);
    if let Some(counter) = counter {
        node.metrics.add(counter, size as u64);
    }
    true
}

/// One burst: the frames encoded into the buffer, and whether a `Close` ended it.
struct Burst {
    frames: usize,
    bytes: usize,
    close: bool,
}

/// Encodes `first` and whatever else is queued, up to `BURST_BYTES`.
fn gather(
    node: &Node,
    first: (Outbound, usize),
    outbound: &mut OutboundReceiver,
    buffer: &mut BytesMut,
) -> Burst {
    let mut burst = Burst { frames: 0, bytes: 0, close: false };
    let mut next = Some(first);
    while let Some((frame, bytes)) = next.take() {
        burst.frames += 1;
        burst.bytes += bytes;
        if !encode(node, frame, buffer) {
            burst.close = true;
            break;
        }
        if buffer.len() < BURST_BYTES {
            next = outbound.try_recv().ok();
        }
    }
    burst
}

pub async fn run<W: AsyncWrite + Unpin>(
    node: Arc<Node>,
    conn: Arc<ConnShared>,
    (mut socket, backlog): (W, KernelBacklog),
    mut outbound: OutboundReceiver,
) {
    let mut buffer = BytesMut::new();
    loop {
        let first = tokio::select! {
            frame = outbound.recv() => frame,
            () = conn.closing.cancelled() => None,
        };
        let Some(first) = first else { break };
        let burst = gather(&node, first, &mut outbound, &mut buffer);
        match write_burst(&node, &conn, (&mut socket, &backlog), &buffer).await {
            Ok(()) => {}
            Err(e @ WriteError::Stalled(_)) => {
                tracing::warn!(conn = conn.id, peer = %conn.peer, error = %e, "closing the connection");
                break;
            }
            Err(e) => {
                tracing::debug!(conn = conn.id, error = %e, "writer stopped");
                break;
            }
        }
        conn.sent(burst.frames, burst.bytes);
        let replies = burst.frames - usize::from(burst.close);
        count_sent(&node, &conn, replies as u64);
        if buffer.capacity() > KEEP_BYTES {
            buffer = BytesMut::new();
        } else {
            buffer.clear();
        }
        if burst.close {
            break;
        }
    }
    let _ = socket.shutdown().await;
    conn.closing.cancel();
}

/// Why the writer gave up on a client.
#[derive(Debug, thiserror::Error)]
enum WriteError {
    #[error("write failed: {0}")]
    Io(#[from] std::io::Error),
    #[error("the client took no bytes for {0:?} (two thirds of its session timeout)")]
    Stalled(std::time::Duration),
    #[error("the connection is closing")]
    Closing,
}

/// How many bytes the kernel still holds unsent for the client (TIOCOUTQ): when it falls, the
/// client is reading even though the socket is not yet ready to take more.
pub type KernelBacklog = Box<dyn Fn() -> Option<usize> + Send + Sync>;

/// Writes the burst. A client that takes bytes, however slowly, counts as alive: its session
/// is touched, as ZooKeeper touches a connection on every I/O event, since its requests may be
/// waiting behind the back-pressure. One that takes nothing for the stall limit is given up.
async fn write_burst<W: AsyncWrite + Unpin>(
    node: &Node,
    conn: &ConnShared,
    (socket, backlog): (&mut W, &KernelBacklog),
    mut bytes: &[u8],
) -> Result<(), WriteError> {
    // The common case, a socket with room, costs one write: no timer, no ioctl, no touch.
    let written = std::future::poll_fn(|cx| match Pin::new(&mut *socket).poll_write(cx, bytes) {
        Poll::Ready(result) => Poll::Ready(Some(result)),
        Poll::Pending => Poll::Ready(None),
    })
    .await;
    if let Some(written) = written {
        bytes = taken(bytes, written)?;
    }
    if bytes.is_empty() {
        return Ok(());
    }
    write_blocked(node, conn, (socket, backlog), bytes).await
}

/// What is left of `bytes` after a write; a write that takes nothing has failed.
fn taken(bytes: &[u8], written: std::io::Result<usize>) -> Result<&[u8], WriteError> {
    match written? {
        0 => Err(std::io::Error::from(std::io::ErrorKind::WriteZero).into()),
        n => Ok(&bytes[n..]),
    }
}

/// The rest of a burst that the socket could not take at once: waits for room, watching for
/// progress (bytes taken, or the kernel's backlog falling) and giving up after the stall limit.
async fn write_blocked<W: AsyncWrite + Unpin>(
    node: &Node,
    conn: &ConnShared,
    (socket, backlog): (&mut W, &KernelBacklog),
    mut bytes: &[u8],
) -> Result<(), WriteError> {
    let limit = conn.stall_limit();
    let check_every = (limit / 4).max(std::time::Duration::from_millis(250));
    let mut last_progress = tokio::time::Instant::now();
    let mut last_backlog = backlog();
    while !bytes.is_empty() {
        tokio::select! {
            biased;
            written = socket.write(bytes) => bytes = taken(bytes, written)?,
            () = conn.closing.cancelled() => return Err(WriteError::Closing),
            () = tokio::time::sleep(check_every) => {
                let now = backlog();
                if now.is_none() || now >= last_backlog {
                    if last_progress.elapsed() >= limit {
                        return Err(WriteError::Stalled(limit));
                    }
                    continue;
                }
                // The kernel's backlog fell: the client read something.
            }
        }
        last_progress = tokio::time::Instant::now();
        last_backlog = backlog();
        node.sessions.touch(conn.session_id(), last_progress);
    }
    Ok(())
}

fn count_sent(node: &Node, conn: &ConnShared, frames: u64) {
    node.stats.sent(frames);
    conn.stats.sent.fetch_add(frames, Ordering::Relaxed);
    conn.stats.last_response_ms.store(now_ms(), Ordering::Relaxed);
}
