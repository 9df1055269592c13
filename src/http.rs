//! A small HTTP/1.1 server (hyper) for the operator's endpoints beside the client port: the
//! Prometheus `/metrics` and the AdminServer. Bounded: at most `MAX_CONNECTIONS` at once and `MAX_PER_IP` from one
//! address (more wait in the kernel's backlog, or are closed), request heads of at most
//! `MAX_HEAD_BYTES`, and every connection closed after `CONNECTION_LIFETIME`, so no client
//! can hold the server's memory, and one address cannot take every slot.

use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use hyper::body::Incoming;
use hyper::body::{Frame, SizeHint};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use parking_lot::Mutex;
use tokio::net::TcpListener;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_util::sync::CancellationToken;

pub const MAX_CONNECTIONS: usize = 32;
pub const MAX_PER_IP: usize = 8;
pub const MAX_HEAD_BYTES: usize = 16 * 1024;
pub const HEAD_TIMEOUT: Duration = Duration::from_secs(10);
pub const CONNECTION_LIFETIME: Duration = Duration::from_secs(30);

pub type Reply = Response<Body>;
pub type ReplyFuture = Pin<Box<dyn Future<Output = Reply> + Send>>;

/// What a handler sees of a request: bodies are not read.
#[derive(Debug, Clone)]
pub struct RequestHead {
    pub method: Method,
    pub path: String,
    /// The raw query string, empty when there is none.
    pub query: String,
    pub authorization: Option<String>,
    pub peer: SocketAddr,
}

impl RequestHead {
    fn of(request: &Request<Incoming>, peer: SocketAddr) -> RequestHead {
        let authorization = request.headers().get(hyper::header::AUTHORIZATION);
        RequestHead {
            method: request.method().clone(),
            path: request.uri().path().to_owned(),
            query: request.uri().query().unwrap_or("").to_owned(),
            // As Jetty reads header values: ISO-8859-1, byte for char.
            authorization: authorization.map(|v| v.as_bytes().iter().map(|b| *b as char).collect()),
            peer,
        }
    }
}

/// Answers one request.
pub type Handler = Arc<dyn Fn(RequestHead) -> ReplyFuture + Send + Sync>;

pub fn text(status: StatusCode, content_type: &str, body: impl Into<Bytes>) -> Reply {
    let mut response = untyped(status, body);
    if let Ok(value) = content_type.parse() {
        response.headers_mut().insert(hyper::header::CONTENT_TYPE, value);
    }
    response
}

/// A reply with no Content-Type (as Jetty sends the AdminServer's command list).
pub fn untyped(status: StatusCode, body: impl Into<Bytes>) -> Reply {
    let body = Body { data: body.into(), sent: 0, file: None, held: None };
    let mut response = Response::new(body);
    *response.status_mut() = status;
    response
}

/// A reply whose body is the `len` bytes of `file`, read a chunk at a time as the client
/// takes them (a snapshot can be larger than memory should hold).
pub fn file(status: StatusCode, content_type: &str, file: std::fs::File, len: u64) -> Reply {
    let mut response = text(status, content_type, Bytes::new());
    response.body_mut().file = Some((file, len));
    response
}

/// Keeps `permit` until the reply's last byte has been handed to the connection, so that a
/// slot bounds the memory of an answer that its client is slow to take.
pub fn held(mut reply: Reply, permit: OwnedSemaphorePermit) -> Reply {
    reply.body_mut().held = Some(permit);
    reply
}

/// A reply's body, handed to hyper in copies of `CHUNK` bytes: hyper queues little more than
/// one chunk per connection (its buffer is `MAX_HEAD_BYTES`), so the whole answer lives only
/// here, with its permit, until it has been sent.
pub struct Body {
    data: Bytes,
    sent: usize,
    /// A file to send instead of `data`, and the bytes of it still to send.
    file: Option<(std::fs::File, u64)>,
    held: Option<OwnedSemaphorePermit>,
}

const CHUNK: usize = 16 * 1024;

impl hyper::body::Body for Body {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        let this = self.get_mut();
        if let Some((file, remaining)) = &mut this.file {
            return Poll::Ready(next_file_chunk(file, remaining).map(|chunk| {
                if *remaining == 0 {
                    this.held = None;
                }
                Ok(Frame::data(chunk))
            }));
        }
        if this.data.len() == this.sent {
            return Poll::Ready(None);
        }
        let end = (this.sent + CHUNK).min(this.data.len());
        let chunk = Bytes::copy_from_slice(&this.data[this.sent..end]);
        this.sent = end;
        if end == this.data.len() {
            // Sent in full: let go of the answer and its slot now, not when hyper drops us.
            (this.data, this.sent, this.held) = (Bytes::new(), 0, None);
        }
        Poll::Ready(Some(Ok(Frame::data(chunk))))
    }

    fn is_end_stream(&self) -> bool {
        match &self.file {
            Some((_, remaining)) => *remaining == 0,
            None => self.data.len() == self.sent,
        }
    }

    fn size_hint(&self) -> SizeHint {
        match &self.file {
            Some((_, remaining)) => SizeHint::with_exact(*remaining),
            None => SizeHint::with_exact((self.data.len() - self.sent) as u64),
        }
    }
}

/// The next chunk of a file being sent; `None` once it is sent, or if it cannot be read (the
/// length was promised, so the connection then ends short, and the client sees it). The
/// file was just written, so this read is served from the page cache.
fn next_file_chunk(file: &mut std::fs::File, remaining: &mut u64) -> Option<Bytes> {
    if *remaining == 0 {
        return None;
    }
    let mut chunk = vec![0u8; CHUNK.min(*remaining as usize)];
    match std::io::Read::read(file, &mut chunk) {
        Ok(0) | Err(_) => {
            *remaining = 0;
            None
        }
        Ok(n) => {
            chunk.truncate(n);
            *remaining -= n as u64;
            Some(Bytes::from(chunk))
        }
    }
}

/// Connections open per client address.
#[derive(Default)]
struct PerIp(Mutex<HashMap<IpAddr, usize>>);

impl PerIp {
    fn enter(self: &Arc<Self>, ip: IpAddr) -> Option<IpSlot> {
        let mut open = self.0.lock();
        let count = open.entry(ip).or_default();
        if *count >= MAX_PER_IP {
            return None;
        }
        *count += 1;
        Some(IpSlot { per_ip: Arc::clone(self), ip })
    }
}

struct IpSlot {
    per_ip: Arc<PerIp>,
    ip: IpAddr,
}

impl Drop for IpSlot {
    fn drop(&mut self) {
        let mut open = self.per_ip.0.lock();
        if let Some(count) = open.get_mut(&self.ip) {
            *count -= 1;
            if *count == 0 {
                open.remove(&self.ip);
            }
        }
    }
}

/// Serves `listener` until `stop` is cancelled.
pub async fn serve(listener: TcpListener, handler: Handler, stop: CancellationToken) {
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    let per_ip = Arc::new(PerIp::default());
    loop {
        let permit = tokio::select! {
            () = stop.cancelled() => return,
            permit = Arc::clone(&slots).acquire_owned() => permit.expect("never closed"),
        };
        let (stream, peer) = tokio::select! {
            () = stop.cancelled() => return,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    tracing::warn!(error = %e, "http accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        let Some(ip_slot) = per_ip.enter(peer.ip()) else {
            tracing::debug!(%peer, "too many http connections from one address; closing");
            continue;
        };
        let handler = Arc::clone(&handler);
        let stop = stop.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |request: Request<Incoming>| {
                let reply = handler(RequestHead::of(&request, peer));
                async move { Ok::<_, Infallible>(reply.await) }
            });
            let connection = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(HEAD_TIMEOUT)
                .max_buf_size(MAX_HEAD_BYTES)
                .serve_connection(TokioIo::new(stream), service);
            tokio::select! {
                () = stop.cancelled() => {}
                result = tokio::time::timeout(CONNECTION_LIFETIME, connection) => {
                    if let Ok(Err(e)) = result {
                        tracing::debug!(%peer, error = %e, "http connection ended");
                    }
                }
            }
            drop((permit, ip_slot));
        });
    }
}

#[cfg(test)]
mod tests {
    use std::future::poll_fn;

    use hyper::body::Body as _;

    use super::*;

    #[tokio::test]
    async fn a_held_reply_keeps_its_permit_until_its_last_byte_is_taken() {
        let slots = Arc::new(Semaphore::new(1));
        let permit = Arc::clone(&slots).acquire_owned().await.unwrap();
        let body = vec![7u8; CHUNK * 2 + 10];
        let mut reply = held(untyped(StatusCode::OK, body), permit);
        assert_eq!(reply.body().size_hint().exact(), Some((CHUNK * 2 + 10) as u64));
        let mut sizes = Vec::new();
        let mut body = Pin::new(reply.body_mut());
        while let Some(frame) = poll_fn(|cx| body.as_mut().poll_frame(cx)).await {
            let taken = frame.unwrap().into_data().unwrap().len();
            sizes.push((taken, slots.available_permits()));
        }
        assert_eq!(
            sizes,
            [(CHUNK, 0), (CHUNK, 0), (10, 1)],
            "the slot is freed with the last chunk"
        );
        assert!(reply.body().is_end_stream());
    }
}
