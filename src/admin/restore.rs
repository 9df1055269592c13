//! `restore` (ZooKeeper 3.9): a ZooKeeper snapshot file POSTed to any member replaces the
//! tree and sessions of the whole ensemble. The body is read whole (at most
//! `MAX_RESTORE_BYTES`), checked, and proposed through the log in parts, so that every
//! member applies the same image at the same place in the log.

use std::sync::Arc;
use std::time::{Duration, Instant};

use hyper::body::Incoming;
use hyper::StatusCode;

use super::commands::Limits;
use super::json::Object;
use crate::http::{read_body, Activity, BodyError};
use crate::metrics::{Counter, Summary};
use crate::migrate::snapfile;
use crate::node::Node;
use crate::state::restore::{MAX_RESTORE_BYTES, RESTORE_STAGE_MS};

/// How long a restore waits to be applied here before its answer says it failed: as long as
/// its parts may take to arrive, after which apply drops them.
const APPLY_WAIT: Duration = Duration::from_millis(RESTORE_STAGE_MS as u64);

/// ZooKeeper 3.9's `restore`, after the command's auth: disabled (503), too soon after the
/// last one (429), then the body; `last_zxid` once applied here.
pub async fn restore(
    node: &Node,
    limits: &Limits,
    activity: &Arc<Activity>,
    body: Incoming,
) -> (StatusCode, Object) {
    let admin = &node.config.admin;
    if !admin.restore_enabled {
        tracing::warn!("admin restore is disabled (admin.restore.enabled=false)");
        return (StatusCode::SERVICE_UNAVAILABLE, Object::new());
    }
    if !limits.restore.allow(Duration::from_millis(admin.rate_limiter_interval_ms)) {
        tracing::warn!("admin restore request was rate limited");
        node.metrics.count(Counter::RestoreRateLimited);
        return (StatusCode::TOO_MANY_REQUESTS, Object::new());
    }
    let started = Instant::now();
    match run(node, activity, body).await {
        Ok(zxid) => {
            node.metrics.observe(Summary::RestoreTime, started.elapsed().as_millis() as u64);
            let mut fields = Object::new();
            fields.put("last_zxid", zxid);
            (StatusCode::OK, fields)
        }
        Err((status, why)) => {
            tracing::warn!(%why, "admin restore failed; nothing was restored");
            node.metrics.count(Counter::RestoreError);
            (status, Object::new())
        }
    }
}

type Failure = (StatusCode, String);

async fn run(node: &Node, activity: &Arc<Activity>, body: Incoming) -> Result<i64, Failure> {
    let image = read_body(body, MAX_RESTORE_BYTES as usize).await.map_err(|e| match e {
        BodyError::TooLarge(_) => (
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("{e}; move a larger tree with corral import on stopped servers"),
        ),
        BodyError::Broken(_) => (StatusCode::BAD_REQUEST, e.to_string()),
    })?;
    // The body is in: from here on the server works, and the connection is not idle.
    let _busy = activity.busy();
    check(Arc::clone(&image)).await?;
    let applied = tokio::time::timeout(APPLY_WAIT, node.restore(&image)).await;
    let internal = |why: String| (StatusCode::INTERNAL_SERVER_ERROR, why);
    match applied {
        Ok(Ok(zxid)) => Ok(zxid),
        Ok(Err(Some(e))) => Err(internal(format!("the restore was refused: {e:?}"))),
        Ok(Err(None)) => Err(internal("the restore could not be ordered (no leader?)".into())),
        Err(_) => Err(internal(format!("not applied within {APPLY_WAIT:?}; it may still be"))),
    }
}

/// Reads the image once before it is proposed, off the async threads, so that a body that
/// is not a whole ZooKeeper snapshot never enters the log.
async fn check(image: Arc<[u8]>) -> Result<(), Failure> {
    let read = tokio::task::spawn_blocking(move || snapfile::read_image(&image).map(drop)).await;
    match read {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err((StatusCode::INTERNAL_SERVER_ERROR, format!("not a snapshot: {e}"))),
        Err(e) => Err((StatusCode::INTERNAL_SERVER_ERROR, e.to_string())),
    }
}
