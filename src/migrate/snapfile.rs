//! ZooKeeper's snapshot file (`version-2/snapshot.<zxid>`), both ways: the header, the
//! sessions, the ACL table, every node in pre-order (the root under the empty path, `/` to
//! end), then Adler-32 seals, each over every byte before it, after the nodes, the optional
//! digest (3.6+) and the optional last zxid (3.9).

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, BufReader, BufWriter, Write};
use std::path::Path;
use std::sync::Arc;

use jute::proto::persistence::{FILE_VERSION, SNAPSHOT_MAGIC};
use jute::Acl;

use super::stream::{invalid, unsupported, JuteReader, JuteWriter};
use super::{FileError, Progress};
use crate::session::password::zookeeper_password;
use crate::session::SessionEntry;
use crate::state::ZkState;
use crate::tree::acl::open_acl;
use crate::tree::{path, DataTree, StatPersisted};

/// ZooKeeper's ACL id for `world:anyone` ALL without a table entry.
const OPEN_ACL_ID: i64 = -1;
/// The digest format ZooKeeper 3.6+ writes.
const DIGEST_VERSION: i32 = 2;

/// A snapshot's digest trailer: the tree digest after `zxid`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ZxidDigest {
    pub zxid: i64,
    pub digest: i64,
}

/// What a snapshot file holds.
pub struct LoadedSnapshot {
    pub state: ZkState,
    pub digest: Option<ZxidDigest>,
}

/// Reads the snapshot at `file`, whose name says it covers `zxid`.
pub fn read(file: &Path, zxid: i64, progress: &Progress) -> Result<LoadedSnapshot, FileError> {
    let at = |e: io::Error| FileError {
        unknown_format: e.kind() == io::ErrorKind::Unsupported,
        ..FileError::new(file, e.to_string())
    };
    let handle = File::open(file).map_err(at)?;
    let len = handle.metadata().map_err(at)?.len();
    let mut reader = JuteReader::new(BufReader::with_capacity(1 << 20, handle), len);
    read_from(&mut reader, zxid, progress).map_err(at)
}

/// Reads a snapshot file's bytes held in memory (the AdminServer's `restore`). The state's
/// last zxid is left 0: a restore takes the zxid of the txn that carries it.
pub fn read_image(image: &[u8]) -> io::Result<LoadedSnapshot> {
    let mut reader = JuteReader::new(image, image.len() as u64);
    read_from(&mut reader, 0, &Progress::silent())
}

fn read_from<R: io::BufRead>(
    r: &mut JuteReader<R>,
    zxid: i64,
    progress: &Progress,
) -> io::Result<LoadedSnapshot> {
    let (magic, version, _dbid) = (r.i32()?, r.i32()?, r.i64()?);
    if magic != SNAPSHOT_MAGIC {
        return Err(invalid(format!("not a ZooKeeper snapshot (magic {magic:#x})")));
    }
    if version != FILE_VERSION {
        return Err(unsupported(format!(
            "snapshot format version {version}, which corral cannot read"
        )));
    }
    let mut state = ZkState { last_zxid: zxid, tree: DataTree::empty(), ..ZkState::default() };
    for _ in 0..r.count(12)? {
        let (id, timeout_ms) = (r.i64()?, r.i32()?);
        let entry = SessionEntry { timeout_ms, passwd: Some(zookeeper_password(id)), owner: None };
        state.sessions.insert(id, entry);
    }
    let acls = read_acl_table(r)?;
    // Interned once per table entry, not once per node.
    let acls: HashMap<i64, Arc<Vec<Acl>>> =
        acls.into_iter().map(|(id, acl)| (id, state.tree.intern_acl(acl))).collect();
    read_nodes(r, &mut state.tree, &acls, progress)?;
    check_seal(r)?;
    let digest = read_digest(r)?;
    if digest.is_some() && r.remaining() >= 8 + 13 {
        // ZooKeeper 3.9's last zxid: the file's name says the same, and wins, as in ZooKeeper.
        r.i64()?;
        check_seal(r)?;
    }
    state.tree.link_children().map_err(|orphan| invalid(format!("{orphan} has no parent")))?;
    Ok(LoadedSnapshot { state, digest })
}

fn read_acl_table<R: io::BufRead>(r: &mut JuteReader<R>) -> io::Result<HashMap<i64, Vec<Acl>>> {
    let count = r.count(12)?;
    let mut acls = HashMap::with_capacity(count);
    for _ in 0..count {
        let index = r.i64()?;
        // ZooKeeper's reader fails on a null list; an empty one is valid.
        let acl = r.acl_list()?;
        let acl = acl.ok_or_else(|| invalid(format!("ACL {index} of the table is a null list")))?;
        acls.insert(index, acl);
    }
    Ok(acls)
}

fn read_nodes<R: io::BufRead>(
    r: &mut JuteReader<R>,
    tree: &mut DataTree,
    acls: &HashMap<i64, Arc<Vec<Acl>>>,
    progress: &Progress,
) -> io::Result<()> {
    let open = tree.intern_acl(open_acl());
    loop {
        let raw = r.string()?;
        let raw = raw.as_option().ok_or_else(|| invalid("a node with a null path".into()))?;
        if raw == "/" {
            return Ok(());
        }
        let p = if raw.is_empty() { "/" } else { raw };
        let data = r.buffer()?;
        let acl_id = r.i64()?;
        let stat = read_stat(r)?;
        let acl = match acl_id {
            OPEN_ACL_ID => Arc::clone(&open),
            id => acls
                .get(&id)
                .cloned()
                .ok_or_else(|| invalid(format!("{p} refers to ACL {id}, which the table lacks")))?,
        };
        if !tree.restore_shared(p, data, acl, stat) {
            return Err(invalid(format!("{p:?} is repeated or not a valid path")));
        }
        progress.node();
        progress.at(r.consumed());
    }
}

fn read_stat<R: io::BufRead>(r: &mut JuteReader<R>) -> io::Result<StatPersisted> {
    Ok(StatPersisted {
        czxid: r.i64()?,
        mzxid: r.i64()?,
        ctime: r.i64()?,
        mtime: r.i64()?,
        version: r.i32()?,
        cversion: r.i32()?,
        aversion: r.i32()?,
        ephemeral_owner: r.i64()?,
        pzxid: r.i64()?,
    })
}

/// An Adler-32 of everything before it, then the string "/".
fn check_seal<R: io::BufRead>(r: &mut JuteReader<R>) -> io::Result<()> {
    let expected = r.checksum();
    let stored = r.i64()?;
    if stored != i64::from(expected) {
        return Err(invalid(format!(
            "checksum mismatch: the file says {stored:#x}, its bytes give {expected:#x}"
        )));
    }
    r.string().map(drop)
}

/// The digest trailer (ZooKeeper 3.6+), absent in older files.
fn read_digest<R: io::BufRead>(r: &mut JuteReader<R>) -> io::Result<Option<ZxidDigest>> {
    if r.remaining() < 20 {
        return Ok(None);
    }
    let zxid = r.i64()?;
    let version = r.i32()?;
    let digest = match version {
        v if v < 2 => {
            let text = r.string()?;
            text.as_option().and_then(|t| i64::from_str_radix(t, 16).ok()).unwrap_or(0)
        }
        _ => r.i64()?,
    };
    check_seal(r)?;
    Ok((zxid > 0).then_some(ZxidDigest { zxid, digest }))
}

/// Writes `state` as ZooKeeper's snapshot file at `file` (synced), with its digest.
pub fn write(file: &Path, state: &ZkState, progress: &Progress) -> Result<u64, FileError> {
    let at = |e: io::Error| FileError::new(file, e.to_string());
    let handle = File::create(file).map_err(at)?;
    let mut w = JuteWriter::new(BufWriter::with_capacity(1 << 20, handle));
    write_to(&mut w, state, progress).map_err(at)?;
    let written = w.written();
    let handle = w.into_inner().into_inner().map_err(|e| at(e.into_error()))?;
    handle.sync_all().map_err(at)?;
    Ok(written)
}

fn write_to<W: Write>(
    w: &mut JuteWriter<W>,
    state: &ZkState,
    progress: &Progress,
) -> io::Result<()> {
    w.i32(SNAPSHOT_MAGIC)?;
    w.i32(FILE_VERSION)?;
    w.i64(-1)?;
    w.i32(state.sessions.len() as i32)?;
    for (id, entry) in state.sessions.iter() {
        w.i64(*id)?;
        w.i32(entry.timeout_ms)?;
    }
    let table = AclTable::of(&state.tree);
    w.i32(table.lists.len() as i32)?;
    for (index, acl) in table.lists.iter().enumerate() {
        w.i64(index as i64 + 1)?;
        w.acl_list(acl)?;
    }
    write_nodes(w, &state.tree, &table, progress)?;
    w.string("/")?;
    seal(w)?;
    w.i64(state.last_zxid)?;
    w.i32(DIGEST_VERSION)?;
    w.i64(state.tree.digest())?;
    seal(w)?;
    // ZooKeeper 3.9's last-zxid trailer, which its admin restore requires; 3.8 ignores it.
    w.i64(state.last_zxid)?;
    seal(w)
}

fn seal<W: Write>(w: &mut JuteWriter<W>) -> io::Result<()> {
    let checksum = w.checksum();
    w.i64(i64::from(checksum))?;
    w.string("/")
}

/// Each distinct ACL once, numbered from 1 in the order first met.
struct AclTable {
    lists: Vec<Arc<Vec<Acl>>>,
    index: HashMap<Arc<Vec<Acl>>, i64>,
}

impl AclTable {
    fn of(tree: &DataTree) -> AclTable {
        let mut table = AclTable { lists: Vec::new(), index: HashMap::new() };
        for (_, node) in tree.iter() {
            if !table.index.contains_key(&node.acl) {
                table.lists.push(node.acl.clone());
                table.index.insert(node.acl.clone(), table.lists.len() as i64);
            }
        }
        table
    }
}

/// Pre-order from the root, so every parent comes before its children.
fn write_nodes<W: Write>(
    w: &mut JuteWriter<W>,
    tree: &DataTree,
    table: &AclTable,
    progress: &Progress,
) -> io::Result<()> {
    let mut pending = vec!["/".to_owned()];
    while let Some(p) = pending.pop() {
        let node = tree.get(&p).ok_or_else(|| invalid(format!("{p} vanished")))?;
        w.string(if p == "/" { "" } else { &p })?;
        w.buffer(node.data.as_deref())?;
        w.i64(table.index[&node.acl])?;
        let s = &node.stat;
        for long in [s.czxid, s.mzxid, s.ctime, s.mtime] {
            w.i64(long)?;
        }
        for int in [s.version, s.cversion, s.aversion] {
            w.i32(int)?;
        }
        w.i64(s.ephemeral_owner)?;
        w.i64(s.pzxid)?;
        pending.extend(node.children.iter().rev().map(|c| path::join(&p, c)));
        progress.node();
        progress.at(progress.nodes());
    }
    Ok(())
}
