//! DataTree: every znode by path, plus the indexes apply needs (ephemerals by session,
//! containers, TTL nodes). Mutations return an `Undo` so a failed multi can roll back.

use std::collections::HashSet;
use std::sync::Arc;

use imbl::{HashMap, OrdSet};
use jute::{Acl, Buffer};

use super::acl::open_acl;
use super::digest;
use super::node::{DataNode, NodeKind, StatPersisted};
use super::path;
use super::undo::{ParentMark, Undo};

/// What a new node is made of.
pub struct NewNode {
    pub data: Buffer,
    pub acl: Arc<Vec<Acl>>,
    pub kind: NodeKind,
}

/// The maps are persistent (imbl): `clone` is O(1) and shares structure, so a snapshot takes a
/// frozen copy in order with apply without stalling it; later writes copy only what they touch.
#[derive(Debug, Clone)]
pub struct DataTree {
    /// Keys and values are shared pointers: a HAMT node copies its entries when it is first
    /// changed after a snapshot froze it, and copying an entry then costs two reference counts
    /// rather than a path's allocation.
    nodes: HashMap<Arc<str>, Arc<DataNode>>,
    ephemerals: HashMap<i64, OrdSet<String>>,
    containers: OrdSet<String>,
    ttls: OrdSet<String>,
    /// Sum of path and data lengths (ZooKeeper's approximate_data_size).
    data_size: u64,
    /// Every distinct ACL once (ZooKeeper's ACL cache): most nodes share a few ACLs.
    acl_cache: HashSet<Arc<Vec<Acl>>>,
    /// ZooKeeper's tree digest: the wrapping sum of every node's digest, kept as nodes change.
    digest: i64,
}

/// A node to change; copied first if a snapshot still shares it. (A function of the map, not
/// of the tree, so callers can update the tree's other fields while holding it.)
fn node_mut<'a>(
    nodes: &'a mut HashMap<Arc<str>, Arc<DataNode>>,
    p: &str,
) -> Option<&'a mut DataNode> {
    nodes.get_mut(p).map(Arc::make_mut)
}

/// A new node's stat: created and modified at `zxid` and `time_ms`, all versions 0.
pub(super) fn new_stat(zxid: i64, time_ms: i64, kind: NodeKind) -> StatPersisted {
    StatPersisted {
        czxid: zxid,
        mzxid: zxid,
        ctime: time_ms,
        mtime: time_ms,
        ephemeral_owner: kind.owner(),
        pzxid: zxid,
        ..StatPersisted::default()
    }
}

/// Where an ensemble's members publish their config (ZooKeeper's getConfig reads it).
pub const CONFIG_NODE: &str = "/zookeeper/config";

/// The nodes every tree starts with.
pub const SYSTEM_NODES: [&str; 4] = ["/", "/zookeeper", "/zookeeper/quota", "/zookeeper/config"];

impl Default for DataTree {
    fn default() -> Self {
        DataTree::new()
    }
}

impl DataTree {
    /// A fresh tree: `/`, `/zookeeper`, `/zookeeper/quota` with `world:anyone` ALL and an
    /// all-zero Stat, and `/zookeeper/config` readable by anyone and writable by no one.
    pub fn new() -> Self {
        let mut tree = DataTree::empty();
        let open = Arc::new(open_acl());
        let read_only = Arc::new(vec![Acl::new(jute::perms::READ, "world", "anyone")]);
        for p in SYSTEM_NODES {
            let mut stat = StatPersisted::default();
            let acl = if p == "/zookeeper/config" {
                // ZooKeeper sets this node's ACL with version -1, which becomes its aversion.
                stat.aversion = -1;
                read_only.clone()
            } else {
                open.clone()
            };
            let data = if p == "/" { None } else { Some(Vec::new()) };
            tree.insert_raw(p, DataNode::new(data, acl, stat));
        }
        tree
    }

    /// Adds any of `/zookeeper`, `/zookeeper/quota` and `/zookeeper/config` that a restored
    /// tree lacks (data written before ZooKeeper 3.5 has no config node), as a fresh tree
    /// has them. Returns the paths added.
    pub fn ensure_system_nodes(&mut self) -> Vec<&'static str> {
        let fresh = DataTree::new();
        let mut added = Vec::new();
        for p in SYSTEM_NODES {
            if self.contains(p) {
                continue;
            }
            let node = fresh.get(p).expect("a fresh tree has every system node");
            let acl = self.intern_acl(node.acl.to_vec());
            self.insert_raw(p, DataNode::new(node.data.clone(), acl, node.stat));
            added.push(p);
        }
        added
    }

    /// A tree without even the root, to be filled by `restore`.
    pub fn empty() -> Self {
        DataTree {
            nodes: HashMap::new(),
            ephemerals: HashMap::new(),
            containers: OrdSet::new(),
            ttls: OrdSet::new(),
            data_size: 0,
            acl_cache: HashSet::new(),
            digest: 0,
        }
    }

    /// Puts back a node read from a snapshot, in any order; `link_children` follows the last.
    /// An invalid or repeated path is refused with `false`.
    pub fn restore(&mut self, p: &str, data: Buffer, acl: Vec<Acl>, stat: StatPersisted) -> bool {
        let acl = self.intern_acl(acl);
        self.restore_shared(p, data, acl, stat)
    }

    /// `restore` with an ACL already interned (`intern_acl`).
    pub fn restore_shared(
        &mut self,
        p: &str,
        data: Buffer,
        acl: Arc<Vec<Acl>>,
        stat: StatPersisted,
    ) -> bool {
        if !path::validate(p) || self.nodes.contains_key(p) {
            return false;
        }
        self.insert_unlinked(p, DataNode::new(data, acl, stat));
        true
    }

    /// Rebuilds every child list once a snapshot's nodes are restored; a node whose parent is
    /// missing is returned as the error.
    pub fn link_children(&mut self) -> Result<(), String> {
        if !self.nodes.contains_key("/") {
            return Err("/".to_owned());
        }
        // Grouped by parent and sorted, so each child list is built in order: inserting a
        // million names into one ordered set in hash order is several times slower.
        let mut by_parent: std::collections::HashMap<&str, Vec<&str>> = Default::default();
        for p in self.nodes.keys() {
            if let Some(parent) = path::parent(p) {
                by_parent.entry(parent).or_default().push(path::child_name(p));
            }
        }
        let links: Vec<(String, Vec<String>)> = by_parent
            .into_iter()
            .map(|(parent, mut children)| {
                children.sort_unstable();
                (parent.to_owned(), children.into_iter().map(str::to_owned).collect())
            })
            .collect();
        for (parent, children) in links {
            match node_mut(&mut self.nodes, &parent) {
                Some(node) => node.children.extend(children),
                None => return Err(path::join(&parent, &children[0])),
            }
        }
        Ok(())
    }

    /// Every node, in no particular order (snapshots write them so).
    pub fn iter(&self) -> impl Iterator<Item = (&str, &DataNode)> {
        self.nodes.iter().map(|(p, node)| (&**p, &**node))
    }

    pub(super) fn insert_raw(&mut self, p: &str, node: DataNode) {
        if let Some(parent) = path::parent(p).and_then(|pp| node_mut(&mut self.nodes, pp)) {
            parent.children.insert(path::child_name(p).to_owned());
        }
        self.insert_unlinked(p, node);
    }

    /// Changes the node at `p` (which exists) and keeps the tree's digest in step with it.
    pub(super) fn change<R>(&mut self, p: &str, f: impl FnOnce(&mut DataNode) -> R) -> R {
        let node = node_mut(&mut self.nodes, p).expect("changed node exists");
        let before = digest::node_digest(p, node);
        let result = f(node);
        let after = digest::node_digest(p, node);
        self.digest = self.digest.wrapping_sub(before).wrapping_add(after);
        result
    }

    /// ZooKeeper's tree digest (see `digest`).
    pub fn digest(&self) -> i64 {
        self.digest
    }

    /// Adds `p` to the map, its size and its kind's index; not to its parent's children.
    fn insert_unlinked(&mut self, p: &str, node: DataNode) {
        self.digest = self.digest.wrapping_add(digest::node_digest(p, &node));
        self.data_size += (p.len() + node.data_len()) as u64;
        self.index(p, node.kind(), true);
        self.nodes.insert(Arc::from(p), Arc::new(node));
    }

    fn index(&mut self, p: &str, kind: NodeKind, add: bool) {
        let set = match kind {
            NodeKind::Ephemeral(session) => self.ephemerals.entry(session).or_default(),
            NodeKind::Container => &mut self.containers,
            NodeKind::Ttl(_) => &mut self.ttls,
            NodeKind::Persistent => return,
        };
        if add {
            set.insert(p.to_owned());
        } else {
            set.remove(p);
            if let NodeKind::Ephemeral(session) = kind {
                if set.is_empty() {
                    self.ephemerals.remove(&session);
                }
            }
        }
    }

    /// The shared copy of an ACL. Unused entries are dropped when the cache has doubled.
    pub fn intern_acl(&mut self, acl: Vec<Acl>) -> Arc<Vec<Acl>> {
        if let Some(shared) = self.acl_cache.get(&acl) {
            return shared.clone();
        }
        if self.acl_cache.len() >= 1024 && self.acl_cache.len().is_power_of_two() {
            self.acl_cache.retain(|a| Arc::strong_count(a) > 1);
        }
        let shared = Arc::new(acl);
        self.acl_cache.insert(shared.clone());
        shared
    }

    pub fn get(&self, p: &str) -> Option<&DataNode> {
        self.nodes.get(p).map(|node| &**node)
    }

    pub fn contains(&self, p: &str) -> bool {
        self.nodes.contains_key(p)
    }

    /// Creates `p` under an existing parent; the caller has checked everything.
    pub fn create(&mut self, p: &str, new: NewNode, zxid: i64, time_ms: i64) -> Undo {
        let parent_path = path::parent(p).expect("create has a parent");
        let mark = self.change(parent_path, |parent| {
            let mark = ParentMark { cversion: parent.stat.cversion, pzxid: parent.stat.pzxid };
            parent.stat.cversion = parent.stat.cversion.wrapping_add(1);
            parent.stat.pzxid = zxid;
            mark
        });
        let stat = new_stat(zxid, time_ms, new.kind);
        self.insert_raw(p, DataNode::new(new.data, new.acl, stat));
        Undo::Created { path: p.to_owned(), parent: mark }
    }

    /// Deletes `p`, which exists and has no children.
    pub fn delete(&mut self, p: &str, zxid: i64) -> Undo {
        let node = self.remove_raw(p);
        let parent_path = path::parent(p).expect("node has a parent");
        let mark = self.change(parent_path, |parent| {
            let mark = ParentMark { cversion: parent.stat.cversion, pzxid: parent.stat.pzxid };
            parent.stat.pzxid = zxid;
            mark
        });
        Undo::Deleted { path: p.to_owned(), node, parent: mark }
    }

    pub(super) fn remove_raw(&mut self, p: &str) -> DataNode {
        let node = self.nodes.remove(p).expect("deleted node exists");
        let node = Arc::try_unwrap(node).unwrap_or_else(|shared| (*shared).clone());
        self.digest = self.digest.wrapping_sub(digest::node_digest(p, &node));
        self.data_size -= (p.len() + node.data_len()) as u64;
        self.index(p, node.kind(), false);
        self.parent_mut(p).children.remove(path::child_name(p));
        node
    }

    fn parent_mut(&mut self, p: &str) -> &mut DataNode {
        let parent_path = path::parent(p).expect("node has a parent");
        node_mut(&mut self.nodes, parent_path).expect("parent exists")
    }

    pub fn set_data(&mut self, p: &str, data: Buffer, zxid: i64, time_ms: i64) -> Undo {
        let (undo, old_len, new_len) = self.change(p, |node| {
            let old_len = node.data_len();
            let undo = Undo::DataSet {
                path: p.to_owned(),
                data: std::mem::replace(&mut node.data, data),
                stat: node.stat,
            };
            node.stat.version = node.stat.version.wrapping_add(1);
            node.stat.mzxid = zxid;
            node.stat.mtime = time_ms;
            (undo, old_len, node.data_len())
        });
        self.data_size = self.data_size - old_len as u64 + new_len as u64;
        undo
    }

    /// Fills `/zookeeper/config` with an ensemble's config, as each ZooKeeper member does
    /// from its own config (not through the log): version -1 and mzxid 0 (the config
    /// version of a static ensemble). Its mtime stays 0, where ZooKeeper puts the member's
    /// clock, so that every member's tree, and its digest, is the same.
    pub fn set_config_text(&mut self, text: &[u8]) {
        let (old_len, new_len) = self.change(CONFIG_NODE, |node| {
            let old_len = node.data_len();
            node.data = Some(text.to_vec());
            node.stat.version = -1;
            node.stat.mzxid = 0;
            (old_len, node.data_len())
        });
        self.data_size = self.data_size - old_len as u64 + new_len as u64;
    }

    /// Takes `/zookeeper/config` (data and Stat) from `from`: a restored tree shows the
    /// ensemble it is restored into, not the one its snapshot came from.
    pub fn adopt_config(&mut self, from: &DataTree) {
        let Some(source) = from.get(CONFIG_NODE) else { return };
        let (data, stat) = (source.data.clone(), source.stat);
        let (old_len, new_len) = self.change(CONFIG_NODE, |node| {
            let old_len = node.data_len();
            node.data = data;
            node.stat = stat;
            (old_len, node.data_len())
        });
        self.data_size = self.data_size - old_len as u64 + new_len as u64;
    }

    pub fn set_acl(&mut self, p: &str, acl: Arc<Vec<Acl>>) -> Undo {
        self.change(p, |node| {
            let undo = Undo::AclSet {
                path: p.to_owned(),
                acl: std::mem::replace(&mut node.acl, acl),
                stat: node.stat,
            };
            node.stat.aversion = node.stat.aversion.wrapping_add(1);
            undo
        })
    }

    /// Rewrites a quota stats node's data; its Stat stays as it was.
    pub fn set_quota_usage(&mut self, p: &str, data: Vec<u8>) -> Undo {
        let old = self.replace_data(p, Some(data));
        Undo::QuotaUsage { path: p.to_owned(), data: old }
    }

    pub(super) fn replace_data(&mut self, p: &str, data: Buffer) -> Buffer {
        let (old, new_len) = self.change(p, |node| {
            let old = std::mem::replace(&mut node.data, data);
            (old, node.data_len())
        });
        let old_len = old.as_ref().map_or(0, Vec::len);
        self.data_size = self.data_size - old_len as u64 + new_len as u64;
        old
    }

    /// ZooKeeper's quota usage of a subtree: its nodes (itself included) and their data bytes.
    pub fn usage(&self, p: &str) -> (i64, i64) {
        let mut pending = vec![p.to_owned()];
        let (mut count, mut bytes) = (0i64, 0i64);
        while let Some(current) = pending.pop() {
            let Some(node) = self.nodes.get(current.as_str()) else { continue };
            count += 1;
            bytes += node.data_len() as i64;
            pending.extend(node.children.iter().map(|c| path::join(&current, c)));
        }
        (count, bytes)
    }

    /// ZooKeeper's znode_count: it keeps the root under two keys, so a fresh tree counts 5.
    pub fn node_count(&self) -> usize {
        self.nodes.len() + 1
    }

    pub fn approximate_data_size(&self) -> u64 {
        self.data_size
    }

    /// The ephemeral paths a session owns.
    pub fn ephemerals(&self, session: i64) -> impl Iterator<Item = &String> {
        self.ephemerals.get(&session).into_iter().flatten()
    }

    pub fn ephemeral_count(&self) -> usize {
        self.ephemerals.values().map(OrdSet::len).sum()
    }

    pub fn sessions_with_ephemerals(&self) -> impl Iterator<Item = (&i64, &OrdSet<String>)> {
        self.ephemerals.iter()
    }

    pub fn containers(&self) -> impl Iterator<Item = &String> {
        self.containers.iter()
    }

    pub fn ttl_nodes(&self) -> impl Iterator<Item = &String> {
        self.ttls.iter()
    }

    /// Number of descendants of `p` (not counting `p`). Iterative: paths can be deep.
    pub fn descendant_count(&self, p: &str) -> usize {
        let mut pending = vec![p.to_owned()];
        let mut count = 0;
        while let Some(current) = pending.pop() {
            let Some(node) = self.nodes.get(current.as_str()) else {
                continue;
            };
            count += node.children.len();
            pending.extend(node.children.iter().map(|c| path::join(&current, c)));
        }
        count
    }

    /// Every path, for dumps and tests; order unspecified.
    pub fn paths(&self) -> impl Iterator<Item = &str> {
        self.nodes.keys().map(|p| &**p)
    }
}
