//! One client connection: four-letter-word detection, the handshake, then the request loop
//! feeding `request::handle`, with a writer task draining the connection's outbound queue.

mod handshake;
mod request;
mod writer;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use jute::{FrameCodec, FrameError};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::OwnedReadHalf;
use tokio::net::TcpStream;
use tokio_util::codec::Decoder;

use crate::clock::now_ms;
use crate::four_letter;
use crate::metrics::Counter;
use crate::node::conn::{ConnShared, Outbound};
use crate::node::Node;
use handshake::Outcome;
pub use request::is_write;
use request::Next;

/// How long a connection may take to send its ConnectRequest
/// (ZooKeeper's `nio.sessionlessCnxnTimeout`).
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

pub async fn serve(node: Arc<Node>, mut socket: TcpStream, peer: SocketAddr) {
    let _ = socket.set_nodelay(true);
    let mut first = [0u8; 4];
    match tokio::time::timeout(HANDSHAKE_TIMEOUT, socket.read_exact(&mut first)).await {
        Ok(Ok(_)) => {}
        _ => return,
    }
    if let Some(command) = four_letter::command(first) {
        node.metrics.add(Counter::BytesReceived, 4);
        let _slot = match four_letter::is_heavy(command) {
            true => match node.heavy_four_letter_slots.acquire().await {
                Ok(permit) => Some(permit),
                Err(_) => return,
            },
            false => None,
        };
        let text = match four_letter::is_heavy(command) {
            // Answers that grow with the server are built off the client port's workers.
            true => {
                let node = node.clone();
                let built = tokio::task::spawn_blocking(move || four_letter::run(&node, command));
                built.await.unwrap_or_default()
            }
            false => four_letter::answer(&node, command, &mut socket).await,
        };
        // A client that never reads its answer is not waited on for long.
        let write = async {
            socket.write_all(text.as_bytes()).await?;
            socket.shutdown().await
        };
        let _ = tokio::time::timeout(HANDSHAKE_TIMEOUT, write).await;
        return;
    }
    let limits = node.config.client_queue_limits();
    let (conn, outbound) = ConnShared::new(node.next_conn_id(), peer, now_ms(), limits);
    node.register(conn.clone());
    let (read_half, mut write_half) = socket.into_split();
    let mut frames = FrameReader::new(read_half, node.config.max_frame_bytes, &first);
    let accepted = match tokio::time::timeout(HANDSHAKE_TIMEOUT, frames.next()).await {
        Ok(Some(Ok(frame))) => {
            node.metrics.add(Counter::BytesReceived, 4 + frame.len() as u64);
            node.metrics.count(Counter::ConnectionRequest);
            handshake::handshake(&node, &conn, &frame).await
        }
        Err(_) => {
            node.metrics.count(Counter::SessionlessConnectionsExpired);
            Outcome::Dropped
        }
        _ => Outcome::Dropped,
    };
    let response = match accepted {
        Outcome::Accepted(response) => {
            conn.set_timeout_ms(response.timeout_ms);
            response
        }
        Outcome::Rejected(response) => {
            let _ = write_half.write_all(&handshake::frame(&response)).await;
            let _ = write_half.shutdown().await;
            node.unregister(&conn);
            return;
        }
        Outcome::Dropped => {
            node.unregister(&conn);
            return;
        }
    };
    if write_half.write_all(&handshake::frame(&response)).await.is_err() {
        node.unregister(&conn);
        return;
    }
    let backlog = kernel_backlog(&write_half);
    let writer =
        tokio::spawn(writer::run(node.clone(), conn.clone(), (write_half, backlog), outbound));
    read_requests(&node, &conn, &mut frames).await;
    let _ = writer.await;
    node.unregister(&conn);
}

/// Reads the socket's unsent byte count from the kernel (TIOCOUTQ), for the writer's stall
/// check. The writer owns the write half, so the descriptor outlives every call.
fn kernel_backlog(socket: &tokio::net::tcp::OwnedWriteHalf) -> writer::KernelBacklog {
    use std::os::fd::AsRawFd;
    let fd = socket.as_ref().as_raw_fd();
    Box::new(move || {
        let mut unsent: libc::c_int = 0;
        // SAFETY: TIOCOUTQ writes one int; `fd` is a TCP socket kept open by the writer.
        let rc = unsafe { libc::ioctl(fd, libc::TIOCOUTQ, &mut unsent) };
        (rc == 0).then_some(unsent.max(0) as usize)
    })
}

/// Reads frames from the socket. Frames already buffered are decoded before the socket is
/// read again, so the bytes read while detecting four-letter words are not stranded. The
/// buffer holds at most one frame (bounded by `jute.maxbuffer`) plus one read's worth, and
/// none at all while the connection waits for its next request: an idle connection costs no
/// read buffer.
struct FrameReader {
    io: OwnedReadHalf,
    codec: FrameCodec,
    buffer: BytesMut,
}

/// Bytes asked of the socket per read.
const READ_CHUNK: usize = 16 * 1024;

impl FrameReader {
    fn new(io: OwnedReadHalf, max_frame_bytes: usize, already_read: &[u8]) -> Self {
        let buffer = BytesMut::from(already_read);
        FrameReader { io, codec: FrameCodec::new(max_frame_bytes), buffer }
    }

    /// The next frame; `None` at end of stream. Cancel-safe: a cancelled read loses nothing.
    async fn next(&mut self) -> Option<Result<BytesMut, FrameError>> {
        loop {
            match self.codec.decode(&mut self.buffer) {
                Ok(Some(frame)) => return Some(Ok(frame)),
                Ok(None) => {}
                Err(e) => return Some(Err(e)),
            }
            if self.buffer.is_empty() {
                // Let go of the last read's allocation before waiting, however long that is.
                self.buffer = BytesMut::new();
            }
            if let Err(e) = self.io.readable().await {
                return Some(Err(e.into()));
            }
            self.buffer.reserve(READ_CHUNK);
            match self.io.try_read_buf(&mut self.buffer) {
                Ok(0) => return None,
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                Err(e) => return Some(Err(e.into())),
            }
        }
    }
}

async fn read_requests(node: &Node, conn: &Arc<ConnShared>, frames: &mut FrameReader) {
    loop {
        // Back-pressure: a client that is owed too much is not read until it takes its replies.
        conn.wait_for_room(node.config.max_outstanding_per_connection).await;
        let frame = tokio::select! {
            frame = frames.next() => frame,
            () = conn.closing.cancelled() => return,
        };
        match frame {
            Some(Ok(frame)) => {
                node.metrics.add(Counter::BytesReceived, 4 + frame.len() as u64);
                if request::handle(node, conn, &frame).await == Next::Close {
                    conn.send(Outbound::Close);
                    return;
                }
            }
            Some(Err(e)) => {
                tracing::info!(conn = conn.id, peer = %conn.peer, error = %e, "bad frame; closing");
                conn.closing.cancel();
                return;
            }
            None => {
                // The client closed first (ZooKeeper's connection_drop_count).
                node.metrics.count(Counter::ConnectionDrop);
                conn.closing.cancel();
                return;
            }
        }
    }
}
