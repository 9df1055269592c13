//! DataTree changes as ZooKeeper makes them when it replays its own log (an import): versions
//! are the logged absolute values, a create raises its parent's cversion to the logged one
//! (and only raises it), and a delete only raises the parent's pzxid. A log replayed over a
//! fuzzy snapshot may repeat what the snapshot already holds; these rules make that harmless.

use std::sync::Arc;

use jute::{Acl, Buffer};

use super::node::DataNode;
use super::{path, DataTree, NewNode};

impl DataTree {
    /// ZooKeeper's setCversionPzxid: `cversion` -1 means one more than now; the node takes it,
    /// and `zxid` as its pzxid, only if that raises its cversion. `false` if `p` is missing.
    pub fn raise_cversion(&mut self, p: &str, cversion: i32, zxid: i64) -> bool {
        if !self.contains(p) {
            return false;
        }
        self.change(p, |node| {
            let wanted = if cversion == -1 { node.stat.cversion.wrapping_add(1) } else { cversion };
            if wanted > node.stat.cversion {
                node.stat.cversion = wanted;
                node.stat.pzxid = zxid;
            }
        });
        true
    }

    /// Creates `p` (whose parent exists and which does not) as a logged create does.
    pub fn replay_create(
        &mut self,
        p: &str,
        new: NewNode,
        parent_cversion: i32,
        zxid: i64,
        time_ms: i64,
    ) {
        let parent = path::parent(p).expect("a created node has a parent");
        self.raise_cversion(parent, parent_cversion, zxid);
        let stat = super::data_tree::new_stat(zxid, time_ms, new.kind);
        self.insert_raw(p, DataNode::new(new.data, new.acl, stat));
    }

    /// Deletes `p` and anything still under it (ZooKeeper would orphan it, and its next
    /// snapshot would drop it), raising the parent's pzxid to `zxid`. Returns the removed
    /// nodes' count and data bytes, or `None` if `p` is missing.
    pub fn replay_delete(&mut self, p: &str, zxid: i64) -> Option<(i64, i64)> {
        // No client can delete these; a log that says so is not followed.
        if super::SYSTEM_NODES.contains(&p) {
            return None;
        }
        if let Some(parent) = path::parent(p).filter(|parent| self.contains(parent)) {
            self.change(parent, |node| node.stat.pzxid = node.stat.pzxid.max(zxid));
        }
        if !self.contains(p) {
            return None;
        }
        let mut order = vec![p.to_owned()];
        let mut next = 0;
        while next < order.len() {
            let node = self.get(&order[next]).expect("listed nodes exist");
            let children: Vec<String> =
                node.children.iter().map(|c| path::join(&order[next], c)).collect();
            order.extend(children);
            next += 1;
        }
        let (mut count, mut bytes) = (0, 0);
        for doomed in order.iter().rev() {
            let node = self.remove_raw(doomed);
            count += 1;
            bytes += node.data_len() as i64;
        }
        Some((count, bytes))
    }

    /// Sets `p`'s data with the logged version; returns the data length before.
    pub fn replay_set_data(
        &mut self,
        p: &str,
        data: Buffer,
        version: i32,
        zxid: i64,
        time_ms: i64,
    ) -> Option<usize> {
        if !self.contains(p) {
            return None;
        }
        let before = self.get(p).map_or(0, DataNode::data_len);
        self.replace_data(p, data);
        self.change(p, |node| {
            node.stat.version = version;
            node.stat.mzxid = zxid;
            node.stat.mtime = time_ms;
        });
        Some(before)
    }

    /// Sets `p`'s ACL with the logged aversion; `false` if `p` is missing.
    pub fn replay_set_acl(&mut self, p: &str, acl: Vec<Acl>, version: i32) -> bool {
        if !self.contains(p) {
            return false;
        }
        let acl: Arc<Vec<Acl>> = self.intern_acl(acl);
        self.change(p, |node| {
            node.acl = acl;
            node.stat.aversion = version;
        });
        true
    }
}
