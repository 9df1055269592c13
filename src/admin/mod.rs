//! The AdminServer: ZooKeeper's HTTP commands (`/commands/<name>`, JSON answers) beside the
//! client port, on `admin.serverAddress`:`admin.serverPort`. It reads the node as the
//! four-letter words do; the only writes are the resets and the trace mask.
//!
//! Answers that grow with the sessions and watches (`dump`, `watches`, `connections`, ...) are
//! built on a blocking thread, and each holds one of `HEAVY_SLOTS` until its last byte has been
//! handed to its connection: clients that never read hold at most that many. The HTTP server
//! bounds connections, request heads and their lifetime.

mod auth;
mod backup;
mod commands;
pub mod environment;
mod json;
mod path;
mod quorum;
mod restore;
mod state;
mod stats;

use std::sync::Arc;

use hyper::body::Incoming;
use hyper::{Method, StatusCode};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::http::{self, Reply, RequestHead};
use crate::node::Node;
use commands::{answer, primary_names, Limits, Request};

/// Answers built at once whose size grows with the sessions, watches or connections: at most
/// this many are being built or sent at a time, so that clients that never read hold at most
/// this many in memory. The AdminServer's own: the four-letter words have theirs.
const HEAVY_SLOTS: usize = 4;

struct Admin {
    node: Arc<Node>,
    /// Without a trailing slash: "" when the commands are at the root.
    command_url: String,
    heavy: Arc<Semaphore>,
    limits: Arc<Limits>,
}

/// Serves the commands under `command_url` on `listener` until `stop`.
pub fn serve(
    node: Arc<Node>,
    listener: TcpListener,
    command_url: String,
    stop: CancellationToken,
) -> JoinHandle<()> {
    if let Ok(addr) = listener.local_addr() {
        tracing::info!(%addr, url = %command_url, "AdminServer serving its commands");
    }
    let command_url = command_url.trim_end_matches('/').to_owned();
    let heavy = Arc::new(Semaphore::new(HEAVY_SLOTS));
    let admin = Arc::new(Admin { node, command_url, heavy, limits: Arc::default() });
    let idle = admin.node.config.admin.idle_timeout;
    let handler: http::Handler = Arc::new(move |head: RequestHead, body: Incoming| {
        let admin = Arc::clone(&admin);
        Box::pin(async move { admin.respond(head, body).await })
    });
    tokio::spawn(http::serve(listener, handler, idle, stop))
}

impl Admin {
    async fn respond(&self, head: RequestHead, body: Incoming) -> Reply {
        let post = match head.method {
            Method::GET | Method::HEAD => false,
            Method::POST => true,
            Method::OPTIONS => return allow(),
            // Jetty: TRACE is constrained (403), a servlet refuses PUT and DELETE (405).
            Method::TRACE => return status(StatusCode::FORBIDDEN),
            Method::PUT | Method::DELETE => return status(StatusCode::METHOD_NOT_ALLOWED),
            _ => return status(StatusCode::NOT_IMPLEMENTED),
        };
        let Some(path) = path::canonical(&head.path) else {
            return status(StatusCode::BAD_REQUEST);
        };
        let Some(rest) = path.strip_prefix(&self.command_url) else {
            return status(StatusCode::NOT_FOUND);
        };
        let name = match rest {
            "" | "/" => return http::untyped(StatusCode::OK, command_list(&self.command_url)),
            rest => match rest.strip_prefix('/') {
                Some(name) => name.to_owned(),
                None => return status(StatusCode::NOT_FOUND),
            },
        };
        let Some(args) = path::query_args(&head.query) else {
            return status(StatusCode::BAD_REQUEST);
        };
        let authorization = head.authorization;
        let request =
            Request { name, post, args, authorization, peer: head.peer.ip().to_canonical() };
        if !commands::is_heavy(&request.name) {
            return match answer(&self.node, &self.limits, &request) {
                commands::Reply::Upload => {
                    let (node, limits) = (&self.node, &self.limits);
                    let (code, fields) = restore::restore(node, limits, &head.activity, body).await;
                    to_http(commands::json(code, "restore", fields))
                }
                other => to_http(other),
            };
        }
        let _busy = head.activity.busy();
        let Ok(permit) = Arc::clone(&self.heavy).acquire_owned().await else {
            return status(StatusCode::SERVICE_UNAVAILABLE);
        };
        let (node, limits) = (Arc::clone(&self.node), Arc::clone(&self.limits));
        let built =
            tokio::task::spawn_blocking(move || to_http(answer(&node, &limits, &request))).await;
        let built = built.unwrap_or_else(|_| status(StatusCode::INTERNAL_SERVER_ERROR));
        http::held(built, permit)
    }
}

fn to_http(answer: commands::Reply) -> Reply {
    let (mut reply, headers) = match answer {
        commands::Reply::Json(code, json, headers) => {
            (http::text(code, "application/json", json.pretty()), headers)
        }
        commands::Reply::Stream(headers, file, len) => {
            (http::file(StatusCode::OK, "application/octet-stream", file, len), headers)
        }
        // `Upload` is answered by `restore` before it gets here.
        commands::Reply::WrongMethod | commands::Reply::Upload => {
            (status(StatusCode::INTERNAL_SERVER_ERROR), vec![])
        }
    };
    for (name, value) in headers {
        if let Ok(value) = hyper::header::HeaderValue::from_str(&value) {
            reply.headers_mut().insert(name, value);
        }
    }
    reply
}

fn status(code: StatusCode) -> Reply {
    http::text(code, "text/plain", "")
}

/// OPTIONS, as a servlet answers it.
fn allow() -> Reply {
    let mut reply = status(StatusCode::OK);
    let methods = hyper::header::HeaderValue::from_static("GET, HEAD, POST, TRACE, OPTIONS");
    reply.headers_mut().insert(hyper::header::ALLOW, methods);
    reply
}

/// A link per primary name, sorted, each followed by `<br/>`, one per line.
fn command_list(command_url: &str) -> String {
    let mut out = String::new();
    for name in primary_names() {
        out.push_str(&format!("<a href=\"{command_url}/{name}\">{name}</a>\n<br/>\n"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_list_links_every_primary_name_in_order() {
        let list = command_list("/commands");
        assert!(list.starts_with(
            "<a href=\"/commands/configuration\">configuration</a>\n<br/>\n\
             <a href=\"/commands/connection_stat_reset\">"
        ));
        assert_eq!(list.matches("<a href").count(), 28);
    }
}
