//! The AdminServer's views of the data: sessions and ephemerals (`dump`), watches, the
//! digest log (`hash`), the data directories, the last snapshot, the trace mask.

use std::sync::atomic::Ordering;

use super::commands::{Answer, Call};
use super::json::{Json, Object};
use crate::replication::Role;

/// ZooKeeper's `DigestCalculator.DIGEST_VERSION`, which corral's digest follows.
const DIGEST_VERSION: i64 = 2;

pub fn dump(call: &Call, answer: &mut Answer) {
    let node = call.node;
    let now = tokio::time::Instant::now();
    let clock = monotonic_ms();
    let mut expiry = Object::new();
    // Only a leader (or a standalone server) expires sessions; ZooKeeper's learners list none.
    let expires = node.ensemble_status().is_none() || node.role() == Role::Leader;
    for (deadline, ids) in node.sessions.by_deadline().into_iter().filter(|_| expires) {
        let at = clock + deadline.saturating_duration_since(now).as_millis() as i64;
        expiry.put(at.to_string(), ids);
    }
    let mut ephemerals = Object::new();
    for (session, paths) in node.ephemerals_by_session() {
        ephemerals.put(session.to_string(), paths);
    }
    answer.fields.put("expiry_time_to_session_ids", expiry);
    answer.fields.put("session_id_to_ephemeral_paths", ephemerals);
}

/// ms on the monotonic clock, as ZooKeeper's session tracker keeps expiry times (Java's
/// `nanoTime` reads CLOCK_MONOTONIC on Linux).
fn monotonic_ms() -> i64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: clock_gettime writes only into `ts`, which outlives the call.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec * 1000 + ts.tv_nsec / 1_000_000
}

pub fn watches(call: &Call, answer: &mut Answer) {
    let mut by_session = Object::new();
    for (session, paths) in call.node.watched_paths_by_session() {
        by_session.put(session.to_string(), paths);
    }
    answer.fields.put("session_id_to_watched_paths", by_session);
}

pub fn watches_by_path(call: &Call, answer: &mut Answer) {
    let mut by_path = Object::new();
    for (path, sessions) in call.node.watching_sessions_by_path() {
        by_path.put(path, sessions);
    }
    answer.fields.put("path_to_session_ids", by_path);
}

pub fn watch_summary(call: &Call, answer: &mut Answer) {
    let summary = call.node.watch_summary();
    answer.fields.put("num_connections", summary.connections);
    answer.fields.put("num_paths", summary.paths);
    answer.fields.put("num_total_watches", summary.watches);
}

pub fn hash(call: &Call, answer: &mut Answer) {
    let enabled = call.node.config.digest_enabled;
    let digests: Vec<Json> = call.node.with_state(|s| {
        s.digests
            .entries()
            .map(|(zxid, digest)| {
                let mut o = Object::new();
                o.put("zxid", *zxid);
                o.put("digest", if enabled { *digest } else { 0 });
                o.put("digest_version", DIGEST_VERSION);
                Json::Object(o)
            })
            .collect()
    });
    answer.fields.put("digests", digests);
}

pub fn dirs(call: &Call, answer: &mut Answer) {
    let (data, log) = call.node.storage_bytes();
    answer.fields.put("datadir_size", data);
    answer.fields.put("logdir_size", log);
}

pub fn is_read_only(_: &Call, answer: &mut Answer) {
    answer.fields.put("read_only", false);
}

/// The zxid in hex without `0x` (-1, all f's, before any snapshot) and its time in seconds.
pub fn last_snapshot(call: &Call, answer: &mut Answer) {
    let (zxid, timestamp) = call.node.metrics.last_snapshot().unwrap_or((-1, -1));
    answer.fields.put("zxid", format!("{zxid:x}"));
    answer.fields.put("timestamp", timestamp);
}

pub fn get_trace_mask(call: &Call, answer: &mut Answer) {
    answer.fields.put("tracemask", call.node.stats.trace_mask.load(Ordering::Relaxed));
}

pub fn set_trace_mask(call: &Call, answer: &mut Answer) {
    let Some(text) = call.args.get("traceMask") else {
        answer.fields.put("error", "setTraceMask requires long traceMask argument");
        return;
    };
    let Ok(mask) = text.parse::<i64>() else {
        let error = format!("setTraceMask requires long traceMask argument, got {text}");
        answer.fields.put("error", error);
        return;
    };
    call.node.stats.trace_mask.store(mask, Ordering::Relaxed);
    answer.fields.put("tracemask", mask);
}
