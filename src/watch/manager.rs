//! WatchManager: ZooKeeper's two watch tables (data and child) with one-shot, persistent and
//! persistent-recursive modes, owned by connections.

use std::collections::{HashMap, HashSet};

use jute::{EventType, WatcherType};

use crate::tree::path;

/// A connection, as the watch tables know it (watches belong to connections, not sessions).
pub type ConnId = u64;

/// How a watch was registered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WatchKind {
    /// exists / getData: one-shot, data table.
    Data,
    /// getChildren: one-shot, child table.
    Child,
    /// addWatch PERSISTENT: kept, in both tables on the exact path.
    Persistent,
    /// addWatch PERSISTENT_RECURSIVE: kept, data table, the path and all below it.
    PersistentRecursive,
}

/// The modes one connection holds on one path in one table.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Modes {
    standard: bool,
    persistent: bool,
    recursive: bool,
}

impl Modes {
    fn is_empty(&self) -> bool {
        !(self.standard || self.persistent || self.recursive)
    }
}

type Table = HashMap<String, HashMap<ConnId, Modes>>;
/// Clears some modes of one entry.
type Clear = fn(&mut Modes);

#[derive(Debug, Default)]
pub struct WatchManager {
    data: Table,
    child: Table,
    /// The paths each connection watches, in either table, so a closing connection's watches
    /// go without a walk of every watched path (ZooKeeper's watch2Paths).
    by_conn: HashMap<ConnId, HashSet<String>>,
    /// Paths with a recursive watch; ancestors are walked only when there is one.
    recursive_paths: usize,
}

fn modes_mut<'a>(table: &'a mut Table, p: &str, conn: ConnId) -> &'a mut Modes {
    table.entry(p.to_owned()).or_default().entry(conn).or_default()
}

impl WatchManager {
    pub fn add(&mut self, conn: ConnId, p: &str, kind: WatchKind) {
        let paths = self.by_conn.entry(conn).or_default();
        if !paths.contains(p) {
            paths.insert(p.to_owned());
        }
        match kind {
            WatchKind::Data => modes_mut(&mut self.data, p, conn).standard = true,
            WatchKind::Child => modes_mut(&mut self.child, p, conn).standard = true,
            WatchKind::Persistent => {
                modes_mut(&mut self.data, p, conn).persistent = true;
                modes_mut(&mut self.child, p, conn).persistent = true;
            }
            WatchKind::PersistentRecursive => {
                let modes = modes_mut(&mut self.data, p, conn);
                if !modes.recursive {
                    modes.recursive = true;
                    self.recursive_paths += 1;
                }
            }
        }
    }

    /// The connections to notify of `event` at `p`, each once; one-shot watches that fire are
    /// removed.
    pub fn trigger(&mut self, p: &str, event: EventType) -> Vec<ConnId> {
        let mut notified = Vec::new();
        let mut seen = HashSet::new();
        match event {
            EventType::NodeCreated | EventType::NodeDataChanged => {
                self.fire_data(p, &mut seen, &mut notified);
            }
            EventType::NodeDeleted => {
                self.fire_data(p, &mut seen, &mut notified);
                fire_exact(&mut self.child, p, &mut seen, &mut notified);
            }
            EventType::NodeChildrenChanged => {
                fire_exact(&mut self.child, p, &mut seen, &mut notified);
            }
            _ => {}
        }
        for conn in &notified {
            self.forget_if_unwatched(*conn, p);
        }
        // One-shot watches that fired are gone: keep no high-water capacity for them.
        shrink_if_sparse(&mut self.data);
        shrink_if_sparse(&mut self.child);
        notified
    }

    /// Drops `p` from `conn`'s index once neither table holds a watch of it there.
    fn forget_if_unwatched(&mut self, conn: ConnId, p: &str) {
        let holds = |t: &Table| t.get(p).is_some_and(|w| w.contains_key(&conn));
        if holds(&self.data) || holds(&self.child) {
            return;
        }
        if let Some(paths) = self.by_conn.get_mut(&conn) {
            paths.remove(p);
            if paths.is_empty() {
                self.by_conn.remove(&conn);
            }
        }
    }

    fn fire_data(&mut self, p: &str, seen: &mut HashSet<ConnId>, out: &mut Vec<ConnId>) {
        fire_exact(&mut self.data, p, seen, out);
        if self.recursive_paths == 0 {
            return;
        }
        let mut current = Some(p);
        while let Some(at) = current {
            if let Some(watchers) = self.data.get(at) {
                for (conn, modes) in watchers {
                    if modes.recursive && seen.insert(*conn) {
                        out.push(*conn);
                    }
                }
            }
            current = path::parent(at);
        }
    }

    /// True when `conn` holds a watch of `watcher_type` on `p` (checkWatches).
    pub fn has(&self, conn: ConnId, p: &str, watcher_type: WatcherType) -> bool {
        let get = |t: &Table| t.get(p).and_then(|w| w.get(&conn)).copied().unwrap_or_default();
        let (data, child) = (get(&self.data), get(&self.child));
        match watcher_type {
            WatcherType::Children => child.standard,
            WatcherType::Data => data.standard,
            WatcherType::Any => !data.is_empty() || !child.is_empty(),
            WatcherType::Persistent => data.persistent || child.persistent,
            WatcherType::PersistentRecursive => data.recursive,
        }
    }

    /// Removes `conn`'s watches of `watcher_type` on `p`; false when there were none.
    pub fn remove(&mut self, conn: ConnId, p: &str, watcher_type: WatcherType) -> bool {
        if !self.has(conn, p, watcher_type) {
            return false;
        }
        let (clear_data, clear_child): (Clear, Clear) = match watcher_type {
            WatcherType::Children => (|_| {}, |m| m.standard = false),
            WatcherType::Data => (|m| m.standard = false, |_| {}),
            WatcherType::Any => (|m| *m = Modes::default(), |m| *m = Modes::default()),
            WatcherType::Persistent => (|m| m.persistent = false, |m| m.persistent = false),
            WatcherType::PersistentRecursive => (|m| m.recursive = false, |_| {}),
        };
        self.update(conn, p, clear_data, clear_child);
        true
    }

    fn update(&mut self, conn: ConnId, p: &str, data: Clear, child: Clear) {
        let mut lost_recursive = 0;
        if let Some(modes) = self.data.get_mut(p).and_then(|w| w.get_mut(&conn)) {
            let had = modes.recursive;
            data(modes);
            lost_recursive += usize::from(had && !modes.recursive);
        }
        if let Some(modes) = self.child.get_mut(p).and_then(|w| w.get_mut(&conn)) {
            child(modes);
        }
        self.recursive_paths -= lost_recursive;
        prune(&mut self.data, p, conn);
        prune(&mut self.child, p, conn);
        self.forget_if_unwatched(conn, p);
    }

    /// Drops every watch of a closed connection: only the paths it watched are visited.
    pub fn remove_connection(&mut self, conn: ConnId) {
        let Some(paths) = self.by_conn.remove(&conn) else {
            return;
        };
        let mut lost_recursive = 0;
        for p in &paths {
            for table in [&mut self.data, &mut self.child] {
                let Some(watchers) = table.get_mut(p.as_str()) else { continue };
                if let Some(modes) = watchers.remove(&conn) {
                    lost_recursive += usize::from(modes.recursive);
                }
                if watchers.is_empty() {
                    table.remove(p.as_str());
                }
            }
        }
        // Child-table entries never carry `recursive`, so this counts data-table ones only.
        self.recursive_paths -= lost_recursive;
        shrink_if_sparse(&mut self.data);
        shrink_if_sparse(&mut self.child);
        shrink_if_sparse(&mut self.by_conn);
    }

    /// ZooKeeper's watch_count: watching connections per path, summed over both tables.
    pub fn watch_count(&self) -> usize {
        self.data.values().chain(self.child.values()).map(HashMap::len).sum()
    }

    /// The data table, path by path, for wchs/wchc/wchp (ZooKeeper dumps only this table).
    pub fn data_watches(&self) -> impl Iterator<Item = (&String, impl Iterator<Item = &ConnId>)> {
        self.data.iter().map(|(p, w)| (p, w.keys()))
    }
}

fn fire_exact(table: &mut Table, p: &str, seen: &mut HashSet<ConnId>, out: &mut Vec<ConnId>) {
    let Some(watchers) = table.get_mut(p) else {
        return;
    };
    for (conn, modes) in watchers.iter_mut() {
        if modes.standard || modes.persistent {
            if seen.insert(*conn) {
                out.push(*conn);
            }
            modes.standard = false;
        }
    }
    watchers.retain(|_, m| !m.is_empty());
    if watchers.is_empty() {
        table.remove(p);
    }
}

/// A table emptied by a burst of watches gives its memory back instead of keeping its
/// high-water capacity.
fn shrink_if_sparse<K: std::hash::Hash + Eq, V>(table: &mut HashMap<K, V>) {
    if table.capacity() > 1024 && table.capacity() > 4 * table.len() {
        table.shrink_to_fit();
    }
}

fn prune(table: &mut Table, p: &str, conn: ConnId) {
    if let Some(watchers) = table.get_mut(p) {
        if watchers.get(&conn).is_some_and(Modes::is_empty) {
            watchers.remove(&conn);
        }
        if watchers.is_empty() {
            table.remove(p);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_shot_watches_fire_once() {
        let mut w = WatchManager::default();
        w.add(1, "/a", WatchKind::Data);
        assert_eq!(w.trigger("/a", EventType::NodeDataChanged), vec![1]);
        assert!(w.trigger("/a", EventType::NodeDataChanged).is_empty());
        assert_eq!(w.watch_count(), 0);
    }

    #[test]
    fn persistent_watches_stay_and_see_children() {
        let mut w = WatchManager::default();
        w.add(1, "/a", WatchKind::Persistent);
        assert_eq!(w.watch_count(), 2);
        assert_eq!(w.trigger("/a", EventType::NodeDataChanged), vec![1]);
        assert_eq!(w.trigger("/a", EventType::NodeChildrenChanged), vec![1]);
        assert_eq!(w.trigger("/a", EventType::NodeDeleted), vec![1]);
    }

    #[test]
    fn recursive_watches_cover_descendants_but_not_child_events() {
        let mut w = WatchManager::default();
        w.add(1, "/a", WatchKind::PersistentRecursive);
        assert_eq!(w.trigger("/a/b/c", EventType::NodeCreated), vec![1]);
        assert!(w.trigger("/a", EventType::NodeChildrenChanged).is_empty());
        assert!(w.trigger("/ab", EventType::NodeCreated).is_empty());
    }

    #[test]
    fn a_connection_is_notified_once_per_trigger() {
        let mut w = WatchManager::default();
        w.add(1, "/a", WatchKind::Data);
        w.add(1, "/a", WatchKind::Child);
        w.add(1, "/", WatchKind::PersistentRecursive);
        assert_eq!(w.trigger("/a", EventType::NodeDeleted), vec![1]);
        // Both one-shot watches were consumed by the one delete.
        assert!(!w.has(1, "/a", WatcherType::Any));
    }

    #[test]
    fn check_and_remove_by_type() {
        let mut w = WatchManager::default();
        w.add(7, "/x", WatchKind::Child);
        assert!(w.has(7, "/x", WatcherType::Children));
        assert!(!w.has(7, "/x", WatcherType::Data));
        assert!(!w.remove(7, "/x", WatcherType::Data));
        assert!(w.remove(7, "/x", WatcherType::Any));
        assert_eq!(w.watch_count(), 0);
        w.add(7, "/x", WatchKind::PersistentRecursive);
        w.remove_connection(7);
        assert_eq!(w.recursive_paths, 0);
    }

    #[test]
    fn the_index_of_a_connections_paths_follows_its_watches() {
        let mut w = WatchManager::default();
        w.add(1, "/a", WatchKind::Data);
        w.add(1, "/b", WatchKind::Child);
        w.add(2, "/a", WatchKind::Persistent);
        w.trigger("/a", EventType::NodeDataChanged);
        assert_eq!(w.by_conn[&1], HashSet::from(["/b".to_owned()]), "fired one-shots leave it");
        assert!(w.remove(1, "/b", WatcherType::Any));
        assert!(!w.by_conn.contains_key(&1));
        w.remove_connection(2);
        assert_eq!((w.watch_count(), w.by_conn.len()), (0, 0));
    }
}
