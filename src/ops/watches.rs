//! The watch requests: addWatch, checkWatches, removeWatches, and setWatches(2), which
//! re-registers a reconnecting client's watches and fires what it missed.

use jute::{AddWatchMode, EventType, SetWatches2, WatcherType, WatchesRequest};

use crate::error::{ZkError, ZkResult};
use crate::tree::DataTree;
use crate::watch::{ConnId, WatchKind, WatchManager};

pub fn add_watch(watches: &mut WatchManager, conn: ConnId, path: &str, mode: i32) -> ZkResult<()> {
    let kind = match AddWatchMode::from_i32(mode).ok_or(ZkError::Marshalling)? {
        AddWatchMode::Persistent => WatchKind::Persistent,
        AddWatchMode::PersistentRecursive => WatchKind::PersistentRecursive,
    };
    watches.add(conn, path, kind);
    Ok(())
}

fn watcher_type(req: &WatchesRequest) -> ZkResult<WatcherType> {
    WatcherType::from_i32(req.watcher_type).ok_or(ZkError::BadArguments)
}

/// checkWatches (17): NOWATCHER unless the connection holds such a watch; removes nothing.
pub fn check_watches(watches: &WatchManager, conn: ConnId, req: &WatchesRequest) -> ZkResult<()> {
    let kind = watcher_type(req)?;
    if watches.has(conn, &req.path, kind) {
        Ok(())
    } else {
        Err(ZkError::NoWatcher)
    }
}

/// removeWatches (18): NOWATCHER if nothing was removed.
pub fn remove_watches(
    watches: &mut WatchManager,
    conn: ConnId,
    req: &WatchesRequest,
) -> ZkResult<()> {
    let kind = watcher_type(req)?;
    if watches.remove(conn, &req.path, kind) {
        Ok(())
    } else {
        Err(ZkError::NoWatcher)
    }
}

/// setWatches and setWatches2: registers each watch, or returns the event it missed since
/// `relative_zxid` instead (a fired one-shot watch is not registered). Events come back in
/// list order: data, exist, child.
pub fn set_watches(
    tree: &DataTree,
    watches: &mut WatchManager,
    conn: ConnId,
    req: &SetWatches2,
) -> Vec<(String, EventType)> {
    let zxid = req.relative_zxid;
    let mut missed = Vec::new();
    for path in &req.data_watches {
        match tree.get(path) {
            None => missed.push((path.to_string(), EventType::NodeDeleted)),
            Some(n) if n.stat.mzxid > zxid => {
                missed.push((path.to_string(), EventType::NodeDataChanged))
            }
            Some(_) => watches.add(conn, path, WatchKind::Data),
        }
    }
    for path in &req.exist_watches {
        match tree.get(path) {
            None => watches.add(conn, path, WatchKind::Data),
            Some(_) => missed.push((path.to_string(), EventType::NodeCreated)),
        }
    }
    for path in &req.child_watches {
        match tree.get(path) {
            None => missed.push((path.to_string(), EventType::NodeDeleted)),
            Some(n) if n.stat.pzxid > zxid => {
                missed.push((path.to_string(), EventType::NodeChildrenChanged))
            }
            Some(_) => watches.add(conn, path, WatchKind::Child),
        }
    }
    for path in &req.persistent_watches {
        watches.add(conn, path, WatchKind::Persistent);
    }
    for path in &req.persistent_recursive_watches {
        watches.add(conn, path, WatchKind::PersistentRecursive);
    }
    missed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_watches_fires_what_was_missed() {
        let tree = DataTree::new();
        let mut w = WatchManager::default();
        let req = SetWatches2 {
            relative_zxid: 0,
            data_watches: vec!["/gone".into(), "/zookeeper".into()],
            exist_watches: vec!["/zookeeper".into(), "/later".into()],
            child_watches: vec!["/zookeeper".into()],
            ..SetWatches2::default()
        };
        let missed = set_watches(&tree, &mut w, 1, &req);
        assert_eq!(
            missed,
            vec![
                ("/gone".to_string(), EventType::NodeDeleted),
                ("/zookeeper".to_string(), EventType::NodeCreated)
            ]
        );
        assert!(w.has(1, "/zookeeper", WatcherType::Data));
        assert!(w.has(1, "/later", WatcherType::Data));
        assert!(w.has(1, "/zookeeper", WatcherType::Children));
    }

    #[test]
    fn check_and_remove_report_no_watcher() {
        let mut w = WatchManager::default();
        let req = WatchesRequest { path: "/a".into(), watcher_type: 3 };
        assert_eq!(check_watches(&w, 1, &req), Err(ZkError::NoWatcher));
        add_watch(&mut w, 1, "/a", 0).unwrap();
        assert_eq!(check_watches(&w, 1, &req), Ok(()));
        assert_eq!(remove_watches(&mut w, 1, &req), Ok(()));
        assert_eq!(remove_watches(&mut w, 1, &req), Err(ZkError::NoWatcher));
        assert_eq!(add_watch(&mut w, 1, "/a", 2), Err(ZkError::Marshalling));
    }
}
