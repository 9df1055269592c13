//! The Prometheus endpoint, as ZooKeeper's Prometheus metrics provider serves it: `GET`,
//! `HEAD` or `POST` of `/metrics` answers the exposition; any other path is 404, `TRACE` and
//! the other methods servlets refuse are 405, unknown methods 501.
//!
//! The exposition is built on a blocking thread, never on the client port's workers, one at a
//! time and at least `RENDER_GAP` apart; requests that arrive while one is being built share
//! the next. Each answer was started after its request arrived (so it shows everything done
//! before the scrape), and however often it is asked for, rendering takes a bounded share of
//! the CPU.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use hyper::{Method, StatusCode};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::http::{self, Reply};
use crate::metrics::prometheus::{Exporter, UPKEEP_EVERY};
use crate::node::Node;

const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";
/// The least time between the end of one rendering and the start of the next.
const RENDER_GAP: Duration = Duration::from_millis(50);

struct Renderer {
    node: Arc<Node>,
    exporter: Arc<Exporter>,
    /// Held while rendering, so renders never run side by side; holds the last one.
    last: tokio::sync::Mutex<Option<Rendered>>,
}

struct Rendered {
    started: Instant,
    finished: Instant,
    body: Bytes,
}

impl Renderer {
    async fn body(self: Arc<Self>) -> Bytes {
        let arrived = Instant::now();
        let mut last = self.last.lock().await;
        if let Some(previous) = last.as_ref() {
            if previous.started >= arrived {
                return previous.body.clone();
            }
            let next = tokio::time::Instant::from_std(previous.finished + RENDER_GAP);
            tokio::time::sleep_until(next).await;
        }
        let started = Instant::now();
        let this = Arc::clone(&self);
        let body = tokio::task::spawn_blocking(move || {
            Bytes::from(this.exporter.render(&this.node.metrics, &this.node.gauges()))
        })
        .await
        .unwrap_or_default();
        *last = Some(Rendered { started, finished: Instant::now(), body: body.clone() });
        body
    }
}

/// The HTTP server and the task that keeps the summaries' memory bounded.
pub fn serve(
    node: Arc<Node>,
    (listener, exporter): (TcpListener, Arc<Exporter>),
    stop: CancellationToken,
) -> [JoinHandle<()>; 2] {
    if let Ok(addr) = listener.local_addr() {
        tracing::info!(%addr, "serving Prometheus metrics on /metrics");
    }
    let upkeep = tokio::spawn(upkeep(Arc::clone(&exporter), stop.clone()));
    let renderer = Arc::new(Renderer { node, exporter, last: Default::default() });
    let handler: http::Handler = Arc::new(move |head: http::RequestHead, _body| {
        let refused = refusal(&head.method, &head.path);
        let renderer = Arc::clone(&renderer);
        Box::pin(async move {
            match refused {
                Some(reply) => reply,
                None => http::text(StatusCode::OK, CONTENT_TYPE, renderer.body().await),
            }
        })
    });
    [upkeep, tokio::spawn(http::serve(listener, handler, http::IDLE_TIMEOUT, stop))]
}

/// Why a request gets no exposition, if it does not.
fn refusal(method: &Method, path: &str) -> Option<Reply> {
    let status = match *method {
        Method::GET | Method::HEAD | Method::POST if path == "/metrics" => return None,
        Method::GET | Method::HEAD | Method::POST => StatusCode::NOT_FOUND,
        Method::TRACE | Method::PUT | Method::DELETE | Method::OPTIONS | Method::PATCH => {
            StatusCode::METHOD_NOT_ALLOWED
        }
        _ => StatusCode::NOT_IMPLEMENTED,
    };
    Some(http::text(status, "text/plain", ""))
}

async fn upkeep(exporter: Arc<Exporter>, stop: CancellationToken) {
    let mut every = tokio::time::interval(UPKEEP_EVERY);
    loop {
        tokio::select! {
            _ = every.tick() => exporter.upkeep(),
            () = stop.cancelled() => return,
        }
    }
}
