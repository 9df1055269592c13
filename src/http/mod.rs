//! A small HTTP/1.1 server (hyper) for the operator's endpoints beside the client port: the
//! Prometheus `/metrics` and the AdminServer. Bounded: at most `MAX_CONNECTIONS` at once and
//! `MAX_PER_IP` from one address (more wait in the kernel's backlog, or are closed), request
//! heads of at most `MAX_HEAD_BYTES`, bodies read only by a handler that bounds them, and a
//! connection closed once idle (no byte either way, no request being answered) for the
//! server's idle timeout, so no client can hold the server's memory, and one address cannot
//! take every slot.

mod body;
mod idle;

use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use hyper::body::Incoming;
use hyper::{Method, Request};
use hyper_util::rt::{TokioIo, TokioTimer};
use parking_lot::Mutex;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

pub use body::{file, held, read_body, text, untyped, Body, BodyError, Reply};
pub use idle::Activity;
use idle::Watched;

pub const MAX_CONNECTIONS: usize = 32;
pub const MAX_PER_IP: usize = 8;
pub const MAX_HEAD_BYTES: usize = 16 * 1024;
pub const HEAD_TIMEOUT: Duration = Duration::from_secs(10);
/// Jetty's default idle timeout (`admin.idleTimeout`), also the `/metrics` server's.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(30);

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
    /// The connection's idleness: a handler marks the time it works on its own (not waiting
    /// for the client) as busy, so that it does not count as idle.
    pub activity: Arc<Activity>,
}

impl RequestHead {
    fn of(request: &Request<Incoming>, peer: SocketAddr, activity: Arc<Activity>) -> RequestHead {
        let authorization = request.headers().get(hyper::header::AUTHORIZATION);
        RequestHead {
            method: request.method().clone(),
            path: request.uri().path().to_owned(),
            query: request.uri().query().unwrap_or("").to_owned(),
            // As Jetty reads header values: ISO-8859-1, byte for char.
            authorization: authorization.map(|v| v.as_bytes().iter().map(|b| *b as char).collect()),
            peer,
            activity,
        }
    }
}

/// Answers one request: its head, and its body, which is read only if the handler reads it.
pub type Handler = Arc<dyn Fn(RequestHead, Incoming) -> ReplyFuture + Send + Sync>;

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

/// Serves `listener` until `stop` is cancelled, closing connections idle for `idle`.
pub async fn serve(
    listener: TcpListener,
    handler: Handler,
    idle: Duration,
    stop: CancellationToken,
) {
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
        let (handler, stop) = (Arc::clone(&handler), stop.clone());
        tokio::spawn(async move {
            serve_connection(stream, peer, handler, idle, stop).await;
            drop((permit, ip_slot));
        });
    }
}

async fn serve_connection(
    stream: tokio::net::TcpStream,
    peer: SocketAddr,
    handler: Handler,
    idle: Duration,
    stop: CancellationToken,
) {
    let activity = Activity::new();
    let watched = Arc::clone(&activity);
    let service = hyper::service::service_fn(move |request: Request<Incoming>| {
        let head = RequestHead::of(&request, peer, Arc::clone(&watched));
        let reply = handler(head, request.into_body());
        async move { Ok::<_, Infallible>(reply.await) }
    });
    let connection = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(HEAD_TIMEOUT)
        .max_buf_size(MAX_HEAD_BYTES)
        .serve_connection(TokioIo::new(Watched::new(stream, Arc::clone(&activity))), service);
    tokio::select! {
        () = stop.cancelled() => {}
        () = activity.idle_for(idle) => tracing::debug!(%peer, "http connection idle; closed"),
        result = connection => {
            if let Err(e) = result {
                tracing::debug!(%peer, error = %e, "http connection ended");
            }
        }
    }
}
