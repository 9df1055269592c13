//! The state as bytes, for snapshots: Jute encoding behind a format byte. Nodes are written
//! parents first, each ACL once in a table, so reading rebuilds the same tree.

use bytes::BufMut;
use jute::{Acl, Buffer, Decode, DecodeError, Encode, JString};

use super::ZkState;
use crate::session::{SessionEntry, SessionTable};
use crate::tree::{DataTree, StatPersisted};

/// The snapshot state format this version writes and reads.
pub const STATE_FORMAT: u8 = 1;

#[derive(Debug, thiserror::Error)]
pub enum StateDecodeError {
    #[error("state format {0} is not one this version of corral can read")]
    UnknownFormat(u8),
    #[error("state is corrupt: {0}")]
    Corrupt(#[from] DecodeError),
    #[error("state is corrupt: a node refers to ACL {0}, which the table lacks")]
    MissingAcl(i32),
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

pub fn encode_state(state: &ZkState) -> Vec<u8> {
    let mut out = Vec::with_capacity(64 + state.tree.approximate_data_size() as usize * 2);
    out.put_u8(STATE_FORMAT);
    state.last_zxid.encode(&mut out);
    (state.sessions.len() as i32).encode(&mut out);
    for (id, entry) in state.sessions.iter() {
        (*id, entry.timeout_ms).encode(&mut out);
    }
    let nodes = state.tree.sorted_nodes();
    let mut acls: Vec<&Vec<Acl>> = Vec::new();
    let mut acl_index = std::collections::HashMap::new();
    for (_, node) in &nodes {
        acl_index.entry(std::sync::Arc::as_ptr(&node.acl)).or_insert_with(|| {
            acls.push(&node.acl);
            acls.len() as i32 - 1
        });
    }
    (acls.len() as i32).encode(&mut out);
    acls.iter().for_each(|acl| acl.encode(&mut out));
    (nodes.len() as i64).encode(&mut out);
    for (path, node) in nodes {
        JString::from(path.as_str()).encode(&mut out);
        node.data.encode(&mut out);
        acl_index[&std::sync::Arc::as_ptr(&node.acl)].encode(&mut out);
        encode_stat(&node.stat, &mut out);
    }
    out
}

pub fn decode_state(bytes: &[u8]) -> Result<ZkState, StateDecodeError> {
    let (&format, rest) = bytes.split_first().ok_or(DecodeError::Truncated)?;
    if format != STATE_FORMAT {
        return Err(StateDecodeError::UnknownFormat(format));
    }
    let mut r = Reader { input: rest };
    let last_zxid: i64 = r.next()?;
    let mut sessions = SessionTable::default();
    for _ in 0..r.next::<i32>()? {
        let id: i64 = r.next()?;
        sessions.insert(id, SessionEntry { timeout_ms: r.next()? });
    }
    let acl_count: i32 = r.next()?;
    let mut acls = Vec::new();
    for _ in 0..acl_count {
        acls.push(r.next::<Vec<Acl>>()?);
    }
    let mut tree = DataTree::empty();
    for _ in 0..r.next::<i64>()? {
        let path: JString = r.next()?;
        let data: Buffer = r.next()?;
        let index: i32 = r.next()?;
        let acl = acls.get(index as usize).cloned().ok_or(StateDecodeError::MissingAcl(index))?;
        tree.restore(&path, data, acl, r.stat()?);
    }
    if !r.input.is_empty() {
        return Err(DecodeError::TrailingBytes(r.input.len()).into());
    }
    Ok(ZkState { tree, sessions, last_zxid })
}
