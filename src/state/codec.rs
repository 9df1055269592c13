//! The state as bytes, for snapshots: Jute-encoded nodes, in any order, packed into records
//! of up to `CHUNK_BYTES`, and a header behind a format byte with the zxid, the sessions and each ACL once in a table, so
//! reading rebuilds the same tree. Streaming both ways: the state is never held twice.

use std::collections::HashMap;
use std::sync::Arc;

use bytes::BufMut;
use jute::{Acl, Buffer, Decode, DecodeError, Encode, JString};

use super::restore::StagedRestore;
use super::ZkState;
use crate::session::password::Password;
use crate::session::{SessionEntry, SessionTable};
use crate::tree::{DataNode, DataTree, StatPersisted};

/// The snapshot state format this version writes (1 was a single in-memory blob; 2 held one
/// node per record, which 3's reader also reads, as a record of one node; 4 added sessions'
/// passwords to the header; 5 the parts of a restore received so far).
pub const STATE_FORMAT: u8 = 5;
const READABLE_FORMATS: [u8; 4] = [2, 3, 4, 5];
/// A record closes once it holds this many bytes (or the one node that passed it): large enough
/// that the store's per-record cost vanishes, small enough to be a bounded buffer.
pub const CHUNK_BYTES: usize = 64 << 10;

#[derive(Debug, thiserror::Error)]
pub enum StateDecodeError {
    #[error("state format {0} is not one this version of corral can read")]
    UnknownFormat(u8),
    #[error("state is corrupt: {0}")]
    Corrupt(#[from] DecodeError),
    #[error("state is corrupt: a node refers to ACL {0}, which the table lacks")]
    MissingAcl(i32),
    #[error("state is corrupt: {0} has no parent")]
    Orphan(String),
    #[error("state is corrupt: {0:?} is repeated or not a path")]
    BadPath(String),
    #[error("state is incomplete: {found} of {expected} nodes")]
    Count { expected: i64, found: i64 },
}

fn encode_stat<B: BufMut>(s: &StatPersisted, out: &mut B) {
    (s.czxid, s.mzxid).encode(out);
    (s.ctime, s.mtime).encode(out);
    (s.version, (s.cversion, s.aversion)).encode(out);
    (s.ephemeral_owner, s.pzxid).encode(out);
}

/// Reads a fixed sequence of fields, failing on the first missing one.
struct Reader<'a> {
    input: &'a [u8],
}

impl<'a> Reader<'a> {
    fn next<T: Decode>(&mut self) -> Result<T, DecodeError> {
        let (rest, value) = T::decode(self.input).map_err(|e| match e {
            nom::Err::Error(e) | nom::Err::Failure(e) => e,
            nom::Err::Incomplete(_) => DecodeError::Truncated,
        })?;
        self.input = rest;
        Ok(value)
    }

    fn end(&self) -> Result<(), DecodeError> {
        match self.input.len() {
            0 => Ok(()),
            n => Err(DecodeError::TrailingBytes(n)),
        }
    }

    fn stat(&mut self) -> Result<StatPersisted, DecodeError> {
        Ok(StatPersisted {
            czxid: self.next()?,
            mzxid: self.next()?,
            ctime: self.next()?,
            mtime: self.next()?,
            version: self.next()?,
            cversion: self.next()?,
            aversion: self.next()?,
            ephemeral_owner: self.next()?,
            pzxid: self.next()?,
        })
    }
}

/// The state as snapshot records of whole nodes, in the map's order (no lookups, no sorting),
/// then (from `finish`) the header: zxid, sessions and the ACL table the records index into.
pub struct StateRecords<'a> {
    state: &'a ZkState,
    nodes: Box<dyn Iterator<Item = (&'a str, &'a DataNode)> + 'a>,
    chunk_bytes: usize,
    acls: Vec<&'a Vec<Acl>>,
    acl_index: HashMap<*const Vec<Acl>, i32>,
    /// Most nodes share one ACL: the last one seen skips the map.
    last_acl: Option<(*const Vec<Acl>, i32)>,
    count: i64,
}

impl<'a> StateRecords<'a> {
    pub fn new(state: &'a ZkState) -> Self {
        StateRecords::with_chunk_bytes(state, CHUNK_BYTES)
    }

    /// Records that close at `chunk_bytes` (1 gives a record per node).
    pub fn with_chunk_bytes(state: &'a ZkState, chunk_bytes: usize) -> Self {
        let nodes = Box::new(state.tree.iter());
        let (acls, acl_index) = (Vec::new(), HashMap::new());
        StateRecords { state, nodes, chunk_bytes, acls, acl_index, last_acl: None, count: 0 }
    }

    fn acl_index(&mut self, acl: &'a Arc<Vec<Acl>>) -> i32 {
        let ptr = Arc::as_ptr(acl);
        if let Some((last, index)) = self.last_acl {
            if last == ptr {
                return index;
            }
        }
        let acls = &mut self.acls;
        let index = *self.acl_index.entry(ptr).or_insert_with(|| {
            acls.push(acl);
            acls.len() as i32 - 1
        });
        self.last_acl = Some((ptr, index));
        index
    }

    fn encode_node(&mut self, path: &str, node: &'a DataNode, out: &mut Vec<u8>) {
        let index = self.acl_index(&node.acl);
        path.encode(out);
        node.data.encode(out);
        index.encode(out);
        encode_stat(&node.stat, out);
        self.count += 1;
    }

    /// The header; call it once every record has been taken.
    pub fn finish(&self) -> Vec<u8> {
        self.header(STATE_FORMAT)
    }

    /// The header as `format` lays it out (older ones only for tests of reading them).
    fn header(&self, format: u8) -> Vec<u8> {
        let state = self.state;
        let mut out = Vec::new();
        out.put_u8(format);
        state.last_zxid.encode(&mut out);
        (state.sessions.len() as i32).encode(&mut out);
        for (id, entry) in state.sessions.iter() {
            (*id, entry.timeout_ms).encode(&mut out);
            if format >= 4 {
                entry.passwd.map(|p| p.to_vec()).encode(&mut out);
                entry.owner.map_or(-1, |o| o as i64).encode(&mut out);
            }
        }
        (self.acls.len() as i32).encode(&mut out);
        self.acls.iter().for_each(|acl| acl.encode(&mut out));
        self.count.encode(&mut out);
        if format >= 5 {
            let staged = state.restoring.as_ref();
            staged.map_or((0, (0, 0)), |s| (s.id, (s.total, s.started_ms))).encode(&mut out);
            staged.map(StagedRestore::joined).encode(&mut out);
        }
        out
    }
}

impl Iterator for StateRecords<'_> {
    type Item = Vec<u8>;

    fn next(&mut self) -> Option<Vec<u8>> {
        let (path, node) = self.nodes.next()?;
        let mut out = Vec::with_capacity(self.chunk_bytes.min(CHUNK_BYTES) + 1024);
        self.encode_node(path, node, &mut out);
        while out.len() < self.chunk_bytes {
            let Some((path, node)) = self.nodes.next() else { break };
            self.encode_node(path, node, &mut out);
        }
        Some(out)
    }
}

/// Rebuilds a state from a snapshot's header and then its records, in any order.
pub struct StateLoader {
    last_zxid: i64,
    sessions: SessionTable,
    acls: Vec<Vec<Acl>>,
    expected: i64,
    tree: DataTree,
    loaded: i64,
    restoring: Option<StagedRestore>,
}

fn password(bytes: &[u8]) -> Result<Password, StateDecodeError> {
    Password::try_from(bytes).map_err(|_| StateDecodeError::Corrupt(DecodeError::Truncated))
}

impl StateLoader {
    pub fn new(header: &[u8]) -> Result<StateLoader, StateDecodeError> {
        let (&format, rest) = header.split_first().ok_or(DecodeError::Truncated)?;
        if !READABLE_FORMATS.contains(&format) {
            return Err(StateDecodeError::UnknownFormat(format));
        }
        let mut r = Reader { input: rest };
        let last_zxid: i64 = r.next()?;
        let mut sessions = SessionTable::default();
        for _ in 0..r.next::<i32>()? {
            let id: i64 = r.next()?;
            let timeout_ms = r.next()?;
            // Format 4 added each session's password and owner (-1: none).
            let (passwd, owner) = match format {
                ..=3 => (None, None),
                _ => {
                    let passwd = r.next::<Option<Vec<u8>>>()?.map(|p| password(&p)).transpose()?;
                    let owner: i64 = r.next()?;
                    (passwd, u64::try_from(owner).ok())
                }
            };
            sessions.insert(id, SessionEntry { timeout_ms, passwd, owner });
        }
        let mut acls = Vec::new();
        for _ in 0..r.next::<i32>()? {
            acls.push(r.next::<Vec<Acl>>()?);
        }
        let expected: i64 = r.next()?;
        let restoring = match format {
            ..=4 => None,
            _ => {
                let (id, total, started_ms): (i64, i64, i64) = (r.next()?, r.next()?, r.next()?);
                let bytes = r.next::<Buffer>()?;
                bytes.map(|bytes| StagedRestore::from_bytes(id, total, started_ms, bytes))
            }
        };
        r.end()?;
        let tree = DataTree::empty();
        Ok(StateLoader { last_zxid, sessions, acls, expected, tree, loaded: 0, restoring })
    }

    /// Restores every node of one record.
    pub fn add(&mut self, record: &[u8]) -> Result<(), StateDecodeError> {
        let mut r = Reader { input: record };
        self.add_node(&mut r)?;
        while !r.input.is_empty() {
            self.add_node(&mut r)?;
        }
        Ok(())
    }

    fn add_node(&mut self, r: &mut Reader<'_>) -> Result<(), StateDecodeError> {
        let path: JString = r.next()?;
        let data: Buffer = r.next()?;
        let index: i32 = r.next()?;
        let acl =
            self.acls.get(index as usize).cloned().ok_or(StateDecodeError::MissingAcl(index))?;
        let stat = r.stat()?;
        if !self.tree.restore(path.as_str(), data, acl, stat) {
            return Err(StateDecodeError::BadPath(path.as_str().to_owned()));
        }
        self.loaded += 1;
        Ok(())
    }

    pub fn finish(mut self) -> Result<ZkState, StateDecodeError> {
        if self.loaded != self.expected {
            return Err(StateDecodeError::Count { expected: self.expected, found: self.loaded });
        }
        self.tree.link_children().map_err(StateDecodeError::Orphan)?;
        Ok(ZkState {
            tree: self.tree,
            sessions: self.sessions,
            last_zxid: self.last_zxid,
            digests: Default::default(),
            restoring: self.restoring,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tree::{NewNode, NodeKind};

    type Dump = Vec<(String, Buffer, Vec<Acl>, StatPersisted, usize)>;

    fn dump(state: &ZkState) -> (Dump, i64, Vec<(i64, SessionEntry)>) {
        let mut nodes: Dump = state
            .tree
            .iter()
            .map(|(p, n)| (p.to_owned(), n.data.clone(), n.acl.to_vec(), n.stat, n.children.len()))
            .collect();
        nodes.sort_by(|a, b| a.0.cmp(&b.0));
        let sessions = state.sessions.iter().map(|(id, e)| (*id, *e)).collect();
        (nodes, state.last_zxid, sessions)
    }

    fn add(state: &mut ZkState, p: &str, data: &[u8], kind: NodeKind, acl: Vec<Acl>) {
        state.last_zxid += 1;
        let acl = state.tree.intern_acl(acl);
        let new = NewNode { data: Some(data.to_vec()), acl, kind };
        state.tree.create(p, new, state.last_zxid, 1_700_000_000_000);
    }

    fn sample() -> ZkState {
        let mut state = ZkState::default();
        state
            .sessions
            .insert(0x11, SessionEntry { timeout_ms: 4000, passwd: Some([9; 16]), owner: Some(3) });
        let digest = vec![Acl::new(jute::perms::ALL, "digest", "u:hash")];
        add(&mut state, "/a", b"one", NodeKind::Persistent, crate::tree::acl::open_acl());
        add(&mut state, "/a/e", b"", NodeKind::Ephemeral(0x11), digest.clone());
        add(&mut state, "/c", b"x", NodeKind::Container, digest);
        add(&mut state, "/t", b"y", NodeKind::Ttl(5000), crate::tree::acl::open_acl());
        state
    }

    fn round_trip(state: &ZkState) -> ZkState {
        let mut records = StateRecords::new(state);
        let written: Vec<Vec<u8>> = records.by_ref().collect();
        let mut loader = StateLoader::new(&records.finish()).unwrap();
        written.iter().for_each(|r| loader.add(r).unwrap());
        loader.finish().unwrap()
    }

    #[test]
    fn records_pack_nodes_up_to_the_chunk_size() {
        let mut state = sample();
        for i in 0..2000 {
            let open = crate::tree::acl::open_acl();
            add(&mut state, &format!("/n{i}"), &[7; 100], NodeKind::Persistent, open);
        }
        let written: Vec<Vec<u8>> = StateRecords::new(&state).collect();
        assert!(written.len() > 1 && written.len() < 10, "{} records", written.len());
        assert!(written.iter().all(|r| r.len() < CHUNK_BYTES + 1024));
        assert_eq!(dump(&round_trip(&state)), dump(&state));
    }

    #[test]
    fn a_format_2_snapshot_of_one_node_per_record_still_reads() {
        let state = sample();
        let mut records = StateRecords::with_chunk_bytes(&state, 1);
        let written: Vec<Vec<u8>> = records.by_ref().collect();
        let header = records.header(2);
        let mut loader = StateLoader::new(&header).unwrap();
        written.iter().for_each(|r| loader.add(r).unwrap());
        let loaded = loader.finish().unwrap();
        assert_eq!(dump(&loaded).0, dump(&state).0);
        let session = loaded.sessions.get(0x11).unwrap();
        assert_eq!(session.passwd, None, "format 2 kept no passwords");
    }

    #[test]
    fn children_are_linked_whatever_the_record_order() {
        let state = sample();
        let mut records = StateRecords::with_chunk_bytes(&state, 1);
        let mut written: Vec<Vec<u8>> = records.by_ref().collect();
        written.reverse();
        let mut loader = StateLoader::new(&records.finish()).unwrap();
        written.iter().for_each(|r| loader.add(r).unwrap());
        assert_eq!(dump(&loader.finish().unwrap()), dump(&state));
    }

    #[test]
    fn a_state_reads_back_exactly() {
        let state = sample();
        let back = round_trip(&state);
        assert_eq!(dump(&back), dump(&state));
        assert_eq!(back.tree.ephemerals(0x11).count(), 1, "indexes are rebuilt");
        assert_eq!(back.tree.containers().count(), 1);
        assert_eq!(back.tree.approximate_data_size(), state.tree.approximate_data_size());
    }

    #[test]
    fn a_frozen_copy_does_not_see_later_writes() {
        let mut state = sample();
        let frozen = state.clone();
        let expected = dump(&frozen);
        add(&mut state, "/later", b"z", NodeKind::Persistent, crate::tree::acl::open_acl());
        state.tree.set_data("/a", Some(b"two".to_vec()), 99, 5);
        state.sessions.insert(0x22, SessionEntry { timeout_ms: 1, passwd: None, owner: None });
        assert_eq!(dump(&round_trip(&frozen)), expected);
        assert_ne!(dump(&state), expected);
    }

    #[test]
    fn damaged_snapshots_are_refused() {
        let state = sample();
        let mut records = StateRecords::with_chunk_bytes(&state, 1);
        let written: Vec<Vec<u8>> = records.by_ref().collect();
        let header = records.finish();
        let mut wrong = header.clone();
        wrong[0] = 9;
        assert!(matches!(StateLoader::new(&wrong), Err(StateDecodeError::UnknownFormat(9))));
        let mut loader = StateLoader::new(&header).unwrap();
        written[..3].iter().for_each(|r| loader.add(r).unwrap());
        assert!(matches!(loader.add(&written[2]), Err(StateDecodeError::BadPath(_))));
        let cut = &written[3][..written[3].len() - 1];
        assert!(matches!(loader.add(cut), Err(StateDecodeError::Corrupt(_))));
        assert!(matches!(loader.finish(), Err(StateDecodeError::Count { .. })));
        // Every node but the root: the count is right, the links are not.
        let without_root: Vec<&Vec<u8>> =
            written.iter().filter(|r| !r.starts_with(&[0, 0, 0, 1, b'/'])).collect();
        let mut header_minus_one = StateLoader::new(&header).unwrap();
        header_minus_one.expected -= 1;
        without_root.iter().for_each(|r| header_minus_one.add(r).unwrap());
        assert!(matches!(header_minus_one.finish(), Err(StateDecodeError::Orphan(_))));
    }
}
