//! Watches: what apply reports (WatchTrigger) and the node-local WatchManager that maps each
//! trigger to the connections to notify. Registration happens under the same lock as the read
//! it belongs to; triggering happens inside apply's critical section.

mod manager;

use std::sync::Arc;

use jute::{Acl, EventType};

pub use manager::{ConnId, WatchKind, WatchManager};

/// One event raised by apply: a path, what happened, and the ACL that decides who may see it
/// (the node's own ACL, or the parent's for NodeChildrenChanged).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WatchTrigger {
    pub path: String,
    pub event: EventType,
    pub acl: Arc<Vec<Acl>>,
}
