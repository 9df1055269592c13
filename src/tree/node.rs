//! DataNode: one znode's data, ACL, persisted stat and children; and how its stored fields
//! become the Stat clients see.

use std::sync::Arc;

use imbl::OrdSet;

use jute::{Acl, Buffer, Stat};

/// The owner stored for a container (ZooKeeper's EphemeralType.CONTAINER marker).
pub const CONTAINER_OWNER: i64 = i64::MIN;
/// The top byte of the owner stored for a TTL node; the TTL is in the low 40 bits.
const TTL_MARK: i64 = 0xFF << 56;
/// The largest TTL ZooKeeper accepts, in ms.
pub const MAX_TTL_MS: i64 = 0xFF_FFFF_FFFF;

/// What kind of node an owner value describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeKind {
    Persistent,
    Ephemeral(i64),
    Container,
    Ttl(i64),
}

impl NodeKind {
    /// The value ZooKeeper stores in ephemeralOwner for this kind.
    pub fn owner(self) -> i64 {
        match self {
            NodeKind::Persistent => 0,
            NodeKind::Ephemeral(session) => session,
            NodeKind::Container => CONTAINER_OWNER,
            NodeKind::Ttl(ms) => TTL_MARK | ms,
        }
    }

    pub fn from_owner(owner: i64) -> NodeKind {
        match owner {
            0 => NodeKind::Persistent,
            CONTAINER_OWNER => NodeKind::Container,
            o if o & TTL_MARK == TTL_MARK => NodeKind::Ttl(o & MAX_TTL_MS),
            session => NodeKind::Ephemeral(session),
        }
    }
}

/// The stat fields ZooKeeper persists: `cversion` here counts child creations, and
/// `ephemeral_owner` carries the container and TTL markers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StatPersisted {
    pub czxid: i64,
    pub mzxid: i64,
    pub ctime: i64,
    pub mtime: i64,
    pub version: i32,
    pub cversion: i32,
    pub aversion: i32,
    pub ephemeral_owner: i64,
    pub pzxid: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataNode {
    /// `None` is null data, which ZooKeeper returns as null.
    pub data: Buffer,
    /// Shared because most nodes carry one of a few ACLs.
    pub acl: Arc<Vec<Acl>>,
    pub stat: StatPersisted,
    /// Child names, sorted so getChildren answers are deterministic; persistent, so copying a
    /// node with a million children for a snapshot is O(1).
    pub children: OrdSet<String>,
}

impl DataNode {
    pub fn new(data: Buffer, acl: Arc<Vec<Acl>>, stat: StatPersisted) -> Self {
        DataNode { data, acl, stat, children: OrdSet::new() }
    }

    pub fn kind(&self) -> NodeKind {
        NodeKind::from_owner(self.stat.ephemeral_owner)
    }

    pub fn data_len(&self) -> usize {
        self.data.as_ref().map_or(0, Vec::len)
    }

    /// The Stat as clients see it: cversion counts creates and deletes (2 × creations − current
    /// children), and containers and TTL nodes show no owner.
    pub fn stat(&self) -> Stat {
        let s = &self.stat;
        let children = self.children.len() as i32;
        let owner = match self.kind() {
            NodeKind::Ephemeral(session) => session,
            _ => 0,
        };
        Stat {
            czxid: s.czxid,
            mzxid: s.mzxid,
            ctime: s.ctime,
            mtime: s.mtime,
            version: s.version,
            cversion: s.cversion.wrapping_mul(2).wrapping_sub(children),
            aversion: s.aversion,
            ephemeral_owner: owner,
            data_length: self.data_len() as i32,
            num_children: children,
            pzxid: s.pzxid,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owner_encodings_round_trip() {
        for kind in [
            NodeKind::Persistent,
            NodeKind::Ephemeral(0x0100_0000_0000_0001),
            NodeKind::Container,
            NodeKind::Ttl(5000),
            NodeKind::Ttl(MAX_TTL_MS),
        ] {
            assert_eq!(NodeKind::from_owner(kind.owner()), kind);
        }
    }

    #[test]
    fn visible_stat_hides_markers_and_counts_child_changes() {
        let mut node = DataNode::new(None, Arc::new(vec![]), StatPersisted::default());
        node.stat.ephemeral_owner = NodeKind::Container.owner();
        node.stat.cversion = 3;
        node.children.insert("a".into());
        let stat = node.stat();
        assert_eq!(stat.ephemeral_owner, 0);
        assert_eq!(stat.cversion, 5);
        assert_eq!(stat.num_children, 1);
        assert_eq!(stat.data_length, 0);
    }
}
