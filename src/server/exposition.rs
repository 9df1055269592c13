//! The Prometheus endpoint, as ZooKeeper's Prometheus metrics provider serves it: `GET` (or
//! `HEAD`, or `POST`) `/metrics` answers the exposition; any other path is 404, `TRACE` 405.

use std::sync::Arc;

use hyper::{Method, StatusCode};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::http;
use crate::metrics::prometheus::{Exporter, UPKEEP_EVERY};
use crate::node::Node;

const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

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
    let handler: http::Handler = Arc::new(move |method: &Method, path: &str| {
        if *method == Method::TRACE {
            return http::text(StatusCode::METHOD_NOT_ALLOWED, "text/plain", "");
        }
        if path != "/metrics" {
            return http::text(StatusCode::NOT_FOUND, "text/plain", "");
        }
        let body = exporter.render(&node.metrics, &node.gauges());
        http::text(StatusCode::OK, CONTENT_TYPE, body)
    });
    [upkeep, tokio::spawn(http::serve(listener, handler, stop))]
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
