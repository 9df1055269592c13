//! Reads and watch requests, run against the local state under the shared lock. A watch is
//! registered under that same lock, so no write can be applied between the read and its watch.

use jute::{EventType, Request, Response, SetWatches2};

use super::conn::ConnShared;
use super::Node;
use crate::error::ZkResult;
use crate::metrics::{top_namespace, SummarySet, STAT_BYTES};
use crate::ops::reads::{self, ReadCtx, ReadOutcome};
use crate::ops::watches;

/// A read's answer: the reply (header fields and body) and any catch-up events that must be
/// sent before it (setWatches).
pub struct ReadReply {
    pub zxid: i64,
    pub result: ZkResult<Response>,
    pub missed: Vec<(String, EventType)>,
}

impl Node {
    /// Runs a read or watch request for `conn`. Returns `None` for requests that are not reads.
    pub fn read(&self, conn: &ConnShared, request: &Request) -> Option<ReadReply> {
        let state = self.state.read();
        let ids = conn.auth();
        let ctx = ReadCtx {
            tree: &state.tree,
            policy: &self.apply_config.acl,
            ids: &ids,
            session_id: conn.session_id(),
            max_reply_bytes: conn.reply_room(),
        };
        let mut missed = Vec::new();
        let result = match request {
            Request::Exists(r) => self.with_watch(conn, reads::exists(&ctx, r)),
            Request::GetData(r) => self.with_watch(conn, reads::get_data(&ctx, r)),
            Request::GetChildren(r) => self.with_watch(conn, reads::get_children(&ctx, r, false)),
            Request::GetChildren2(r) => self.with_watch(conn, reads::get_children(&ctx, r, true)),
            Request::GetAcl(r) => reads::get_acl(&ctx, r),
            Request::GetAllChildrenNumber(r) => reads::get_all_children_number(&ctx, r),
            Request::GetEphemerals(r) => reads::get_ephemerals(&ctx, r),
            Request::MultiRead(r) => reads::multi_read(&ctx, &r.ops),
            Request::AddWatch(r) => {
                watches::add_watch(&mut self.watches.lock(), conn.id, &r.path, r.mode)
                    .map(|()| Response::AddWatch(jute::ErrorResponse { err: 0 }))
            }
            Request::CheckWatches(r) => {
                watches::check_watches(&self.watches.lock(), conn.id, r).map(|()| Response::Empty)
            }
            Request::RemoveWatches(r) => {
                watches::remove_watches(&mut self.watches.lock(), conn.id, r)
                    .map(|()| Response::Empty)
            }
            Request::SetWatches(r) => {
                let all = SetWatches2 {
                    relative_zxid: r.relative_zxid,
                    data_watches: r.data_watches.clone(),
                    exist_watches: r.exist_watches.clone(),
                    child_watches: r.child_watches.clone(),
                    ..SetWatches2::default()
                };
                missed = watches::set_watches(&state.tree, &mut self.watches.lock(), conn.id, &all);
                Ok(Response::Empty)
            }
            Request::SetWatches2(r) => {
                missed = watches::set_watches(&state.tree, &mut self.watches.lock(), conn.id, r);
                Ok(Response::Empty)
            }
            _ => return None,
        };
        if let Ok(response) = &result {
            self.count_read(request, response);
        }
        Some(ReadReply { zxid: state.last_zxid, result, missed })
    }

    /// ZooKeeper's read_per_namespace: path, data or child names, and a Stat, in bytes.
    fn count_read(&self, request: &Request, response: &Response) {
        let (path, bytes) = match (request, response) {
            (Request::GetData(r), Response::GetData(d)) => {
                (&r.path, d.data.as_ref().map_or(0, |d| d.len()))
            }
            (Request::Exists(r), _) => (&r.path, 0),
            (Request::GetChildren(r), Response::GetChildren(c)) => (&r.path, names(&c.children)),
            (Request::GetChildren2(r), Response::GetChildren2(c)) => (&r.path, names(&c.children)),
            _ => return,
        };
        if let Some(namespace) = top_namespace(path) {
            let value = (path.len() + bytes) as u64 + STAT_BYTES;
            self.metrics.observe_keyed(SummarySet::ReadPerNamespace, namespace, value);
        }
    }

    fn with_watch(&self, conn: &ConnShared, outcome: ReadOutcome) -> ZkResult<Response> {
        if let Some((path, kind)) = outcome.watch {
            self.watches.lock().add(conn.id, &path, kind);
        }
        outcome.result
    }
}

fn names(children: &[jute::JString]) -> usize {
    children.iter().map(|c| c.as_str().len()).sum()
}
