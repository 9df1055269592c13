//! ZooKeeper's tree digest (3.6+, on by default): each znode's CRC-32 over its path, data and
//! persisted Stat, summed over the tree, and a log of the sum at every 128th zxid, which the
//! `hash` four-letter word prints. Ensemble members compare these to find a diverged tree.

use std::collections::VecDeque;

use super::node::{DataNode, StatPersisted};

/// Nodes under this prefix are left out of the digest, as ZooKeeper leaves them out (its quota
/// nodes are updated outside the txn log).
const EXCLUDED: &str = "/zookeeper/";

/// One znode's digest, as ZooKeeper's DigestCalculator computes it: CRC-32 over the path (the
/// root as the empty string), the data, then czxid, mzxid, pzxid, ctime, mtime, version,
/// cversion, aversion and ephemeralOwner, big-endian.
pub fn node_digest(path: &str, node: &DataNode) -> i64 {
    if path.starts_with(EXCLUDED) {
        return 0;
    }
    let mut crc = crc32fast::Hasher::new();
    crc.update(if path == "/" { b"" } else { path.as_bytes() });
    crc.update(node.data.as_deref().unwrap_or_default());
    crc.update(&stat_bytes(&node.stat));
    i64::from(crc.finalize())
}

fn stat_bytes(stat: &StatPersisted) -> [u8; 60] {
    let mut out = [0u8; 60];
    let longs = [stat.czxid, stat.mzxid, stat.pzxid, stat.ctime, stat.mtime];
    for (i, value) in longs.iter().enumerate() {
        out[i * 8..i * 8 + 8].copy_from_slice(&value.to_be_bytes());
    }
    for (i, value) in [stat.version, stat.cversion, stat.aversion].iter().enumerate() {
        out[40 + i * 4..44 + i * 4].copy_from_slice(&value.to_be_bytes());
    }
    out[52..60].copy_from_slice(&stat.ephemeral_owner.to_be_bytes());
    out
}

/// The zxids at which the digest is logged are multiples of this.
pub const LOG_INTERVAL: i64 = 128;
/// Entries the log keeps, oldest dropped first.
const LOG_LIMIT: usize = 1024;

/// The digest at recent multiples of `LOG_INTERVAL`, oldest first. Not persisted: after a
/// restart it starts empty, as ZooKeeper's does.
#[derive(Debug, Clone, Default)]
pub struct DigestLog {
    entries: VecDeque<(i64, i64)>,
}

impl DigestLog {
    /// Records the digest after the txn with `zxid`, if it falls on the interval.
    pub fn record(&mut self, zxid: i64, digest: i64) {
        if zxid % LOG_INTERVAL != 0 {
            return;
        }
        if self.entries.len() == LOG_LIMIT {
            self.entries.pop_front();
        }
        self.entries.push_back((zxid, digest));
    }

    pub fn entries(&self) -> impl Iterator<Item = &(i64, i64)> {
        self.entries.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn a_node_digest_is_zookeepers_crc() {
        let stat = StatPersisted {
            czxid: 2,
            mzxid: 3,
            pzxid: 4,
            ctime: 5,
            mtime: 6,
            version: 7,
            cversion: 8,
            aversion: 9,
            ephemeral_owner: 10,
        };
        let node = DataNode::new(Some(b"hello".to_vec()), Arc::new(vec![]), stat);
        // zlib.crc32(b"/a" + b"hello" + struct.pack(">qqqqqiiiq", 2, 3, 4, 5, 6, 7, 8, 9, 10))
        assert_eq!(node_digest("/a", &node), 3_159_412_534);
        let root = DataNode::new(None, Arc::new(vec![]), StatPersisted::default());
        // zlib.crc32(bytes(60)): the root's path counts as "".
        assert_eq!(node_digest("/", &root), 68_323_592);
        assert_eq!(node_digest("/zookeeper/quota", &node), 0);
        assert_ne!(node_digest("/zookeeper", &node), 0);
    }

    #[test]
    fn the_log_keeps_every_128th_zxid_and_at_most_1024() {
        let mut log = DigestLog::default();
        for zxid in 1..=(LOG_INTERVAL * 1100) {
            log.record(zxid, zxid * 2);
        }
        let entries: Vec<_> = log.entries().copied().collect();
        assert_eq!(entries.len(), LOG_LIMIT);
        assert_eq!(entries[0].0, LOG_INTERVAL * 77);
        assert_eq!(*entries.last().unwrap(), (LOG_INTERVAL * 1100, LOG_INTERVAL * 2200));
    }
}
