//! The AdminServer: ZooKeeper's HTTP commands (`/commands/<name>`, JSON answers) beside the
//! client port, on `admin.serverAddress`:`admin.serverPort`. It reads the node as the
//! four-letter words do; the only writes are the resets and the trace mask.
//!
//! Every command's answer is built on a blocking thread while holding one of the node's
//! heavy-command slots (shared with the four-letter words), since `dump`, `watches` or
//! `connections` grow with the sessions and watches; the HTTP server bounds connections,
//! request heads and their lifetime.

mod auth;
mod commands;
pub mod environment;
mod json;
mod quorum;
mod state;
mod stats;

use std::collections::HashMap;
use std::sync::Arc;

use hyper::{Method, StatusCode};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::http::{self, Reply, RequestHead};
use crate::node::Node;
use commands::{answer, primary_names, Request};

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
    let command_url = Arc::new(command_url);
    let handler: http::Handler = Arc::new(move |head: RequestHead| {
        let (node, command_url) = (Arc::clone(&node), Arc::clone(&command_url));
        Box::pin(async move { respond(node, &command_url, head).await })
    });
    tokio::spawn(http::serve(listener, handler, stop))
}

async fn respond(node: Arc<Node>, command_url: &str, head: RequestHead) -> Reply {
    let post = match head.method {
        Method::GET | Method::HEAD => false,
        Method::POST => true,
        _ => return http::text(StatusCode::METHOD_NOT_ALLOWED, "text/plain", ""),
    };
    let Some(rest) = head.path.strip_prefix(command_url) else {
        return http::text(StatusCode::NOT_FOUND, "text/plain", "");
    };
    let name = match rest {
        "" | "/" => return http::untyped(StatusCode::OK, command_list(command_url)),
        rest => match rest.strip_prefix('/') {
            Some(name) => percent_decode(name),
            None => return http::text(StatusCode::NOT_FOUND, "text/plain", ""),
        },
    };
    let Ok(_slot) = node.heavy_four_letter_slots.acquire().await else {
        return http::text(StatusCode::SERVICE_UNAVAILABLE, "text/plain", "");
    };
    let node = Arc::clone(&node);
    let built = tokio::task::spawn_blocking(move || {
        let args = query_args(&head.query);
        let peer = head.peer.ip().to_canonical();
        let authorization = head.authorization.as_deref();
        let request = Request { name: &name, post, args: &args, authorization, peer };
        match answer(&node, &request) {
            commands::Reply::Json(status, json) => {
                http::text(status, "application/json", json.pretty())
            }
            commands::Reply::WrongMethod => {
                tracing::info!(name, post, "admin command asked for with the wrong method");
                http::text(StatusCode::INTERNAL_SERVER_ERROR, "text/plain", "")
            }
        }
    });
    built.await.unwrap_or_else(|_| http::text(StatusCode::INTERNAL_SERVER_ERROR, "text/plain", ""))
}

/// A link per primary name, sorted, each followed by `<br/>`, one per line.
fn command_list(command_url: &str) -> String {
    let mut out = String::new();
    for name in primary_names() {
        out.push_str(&format!("<a href=\"{command_url}/{name}\">{name}</a>\n<br/>\n"));
    }
    out
}

/// The query's parameters, decoded as a form; the first value of each name wins.
fn query_args(query: &str) -> HashMap<String, String> {
    let mut args = HashMap::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let key = percent_decode(&key.replace('+', " "));
        args.entry(key).or_insert_with(|| percent_decode(&value.replace('+', " ")));
    }
    args
}

/// `%XX` escapes decoded; a malformed escape is kept as it is.
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes.get(i + 1..i + 3).and_then(|h| std::str::from_utf8(h).ok());
        match (bytes[i], hex.and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_parameters_decode_as_a_form_and_the_first_wins() {
        let args = query_args("traceMask=5&traceMask=6&a+b=c%20d&flag&bad=%zz");
        assert_eq!(args["traceMask"], "5");
        assert_eq!(args["a b"], "c d");
        assert_eq!(args["flag"], "");
        assert_eq!(args["bad"], "%zz");
    }

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
