//! `snapshot` and `restore` (ZooKeeper 3.9): the tree as ZooKeeper's snapshot file over
//! HTTP, the format `corral import` and ZooKeeper itself start on.

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use hyper::StatusCode;

use super::commands::{Answer, Call};
use crate::metrics::Counter;
use crate::migrate::{snapfile, Progress};
use crate::state::ZkState;

/// ZooKeeper 3.9's `snapshot`: the tree as ZooKeeper's snapshot file (what `corral import`
/// and ZooKeeper itself start on), streamed, with `last_zxid` and `snapshot_size` headers;
/// `streaming=false` sends the headers only. Too soon after the last one: 429.
pub fn snapshot(call: &Call, answer: &mut Answer) {
    let admin = &call.node.config.admin;
    if !admin.snapshot_enabled {
        tracing::warn!("admin snapshot is disabled (admin.snapshot.enabled=false)");
        answer.status = StatusCode::SERVICE_UNAVAILABLE;
        return;
    }
    // ZooKeeper 3.9's snapshot limiter reads admin.rateLimiterIntervalInMS as microseconds.
    let interval = Duration::from_micros(admin.rate_limiter_interval_ms);
    if !call.limits.snapshot.allow(interval) {
        tracing::warn!("admin snapshot request was rate limited");
        call.node.metrics.count(Counter::SnapshotRateLimited);
        answer.status = StatusCode::TOO_MANY_REQUESTS;
        return;
    }
    let streaming = call.args.get("streaming").is_none_or(|v| v.eq_ignore_ascii_case("true"));
    let state = call.node.state_copy();
    let dir = call.node.config.data_dir.join("corral");
    match write_snapshot(&dir, &state) {
        Ok((file, len)) => {
            answer.headers.push(("last_zxid", format!("0x{:x}", state.last_zxid)));
            answer.headers.push(("snapshot_size", len.to_string()));
            if streaming {
                answer.stream = Some((file, len));
            }
        }
        Err(e) => {
            tracing::warn!(error = %e, "admin snapshot failed");
            call.node.metrics.count(Counter::SnapshotError);
            answer.status = StatusCode::INTERNAL_SERVER_ERROR;
        }
    }
}

/// Writes the snapshot to a file that is unlinked once open: it lives as long as the answer
/// that streams it, and a crash leaves nothing behind.
fn write_snapshot(dir: &Path, state: &ZkState) -> Result<(std::fs::File, u64), String> {
    static WRITTEN: AtomicU64 = AtomicU64::new(0);
    let n = WRITTEN.fetch_add(1, Ordering::Relaxed);
    let path = dir.join(format!("admin-snapshot-{}-{n}.tmp", std::process::id()));
    let written = snapfile::write(&path, state, &Progress::silent()).map_err(|e| e.to_string());
    let opened = written.and_then(|len| {
        std::fs::File::open(&path).map(|file| (file, len)).map_err(|e| e.to_string())
    });
    let _ = std::fs::remove_file(&path);
    opened
}
