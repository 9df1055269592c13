//! Undo: the inverse of one DataTree mutation, so a failed multi rolls back newest first
//! (the digest and the data size follow, since the rollback goes through the same helpers).

use std::sync::Arc;

use jute::{Acl, Buffer};

use super::data_tree::DataTree;
use super::node::{DataNode, StatPersisted};
use super::path;

/// The parent fields a create or delete changes.
#[derive(Debug, Clone, Copy)]
pub struct ParentMark {
    pub(super) cversion: i32,
    pub(super) pzxid: i64,
}

/// The inverse of one mutation.
#[derive(Debug)]
pub enum Undo {
    Created {
        path: String,
        parent: ParentMark,
    },
    Deleted {
        path: String,
        node: DataNode,
        parent: ParentMark,
    },
    DataSet {
        path: String,
        data: Buffer,
        stat: StatPersisted,
    },
    AclSet {
        path: String,
        acl: Arc<Vec<Acl>>,
        stat: StatPersisted,
    },
    /// A quota stats node's data, which the server rewrites without touching its Stat.
    QuotaUsage {
        path: String,
        data: Buffer,
    },
}

impl DataTree {
    /// Reverts one mutation; a failed multi reverts its mutations newest first.
    pub fn undo(&mut self, undo: Undo) {
        match undo {
            Undo::Created { path: p, parent } => {
                self.remove_raw(&p);
                self.restore_parent(&p, parent);
            }
            Undo::Deleted { path: p, node, parent } => {
                self.insert_raw(&p, node);
                self.restore_parent(&p, parent);
            }
            Undo::DataSet { path: p, data, stat } => {
                self.replace_data(&p, data);
                self.change(&p, |node| node.stat = stat);
            }
            Undo::QuotaUsage { path: p, data } => {
                self.replace_data(&p, data);
            }
            Undo::AclSet { path: p, acl, stat } => {
                self.change(&p, |node| {
                    node.acl = acl;
                    node.stat = stat;
                });
            }
        }
    }

    fn restore_parent(&mut self, p: &str, mark: ParentMark) {
        let parent_path = path::parent(p).expect("node has a parent");
        self.change(parent_path, |parent| {
            parent.stat.cversion = mark.cversion;
            parent.stat.pzxid = mark.pzxid;
        });
    }
}
