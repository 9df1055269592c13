//! Applying a restore (the AdminServer's `restore`, ZooKeeper 3.9): the tree and sessions are
//! replaced by those of a ZooKeeper snapshot, which arrives in parts (`RestorePart`), each a
//! txn. The parts are staged in the state (and in its snapshots) until the last, so every
//! member, even one that installed a snapshot midway, replaces the same state with the same
//! image at the same place in the log.

use std::sync::Arc;

use jute::Response;

use super::{Effect, ZkState};
use crate::error::{ZkError, ZkResult};
use crate::migrate::{replay, snapfile};
use crate::session::SessionEntry;
use crate::txn::RestorePart;

/// The largest snapshot a restore takes, staged whole on every member before it is read. A
/// larger tree moves with `corral import` on stopped servers.
pub const MAX_RESTORE_BYTES: i64 = 128 << 20;

/// How long, by the clock of the entries that carry them, the parts of one restore may take
/// to arrive: a restore whose member stopped sending is dropped after this, not kept (in
/// memory and in every snapshot) until the next restore or leader.
pub const RESTORE_STAGE_MS: i64 = 120_000;

/// The parts of one restore applied so far.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StagedRestore {
    pub id: i64,
    pub total: i64,
    /// The entry clock of its first part.
    pub started_ms: i64,
    /// Shared with the txns that carried them: a frozen copy of the state costs nothing.
    parts: Vec<Arc<[u8]>>,
    len: i64,
}

impl StagedRestore {
    pub fn joined(&self) -> Vec<u8> {
        self.parts.concat()
    }

    pub fn from_bytes(id: i64, total: i64, started_ms: i64, bytes: Vec<u8>) -> StagedRestore {
        let len = bytes.len() as i64;
        StagedRestore { id, total, started_ms, parts: vec![bytes.into()], len }
    }
}

impl ZkState {
    /// Stages a part; the last restores. A part out of order (another restore began, a
    /// leader changed, a part is missing) is refused and the restore it belongs to dropped.
    pub(super) fn restore_part(
        &mut self,
        part: &RestorePart,
        time_ms: i64,
    ) -> (ZkResult<Response>, Effect) {
        let image = match self.stage(part, time_ms) {
            Ok(Some(image)) => image,
            Ok(None) => return (Ok(Response::Empty), Effect::None),
            Err(e) => {
                self.restoring = None;
                return (Err(e), Effect::None);
            }
        };
        match restored(self, &image, self.last_zxid) {
            Ok(state) => {
                *self = state;
                (Ok(Response::Empty), Effect::Restored)
            }
            Err(e) => (Err(e), Effect::None),
        }
    }

    /// The whole image once `part` completes it.
    /// Drops a restore whose parts stopped coming (see `RESTORE_STAGE_MS`).
    pub(super) fn expire_restore(&mut self, time_ms: i64) {
        if self.restoring.as_ref().is_some_and(|s| time_ms - s.started_ms > RESTORE_STAGE_MS) {
            tracing::warn!("a restore's parts stopped coming; the parts staged are dropped");
            self.restoring = None;
        }
    }

    fn stage(&mut self, part: &RestorePart, time_ms: i64) -> ZkResult<Option<Vec<u8>>> {
        let len = part.bytes.len() as i64;
        if !(1..=MAX_RESTORE_BYTES).contains(&part.total) || part.offset < 0 {
            return Err(ZkError::BadArguments);
        }
        if part.offset == 0 {
            let (id, total, started_ms) = (part.id, part.total, time_ms);
            let staged = StagedRestore { id, total, started_ms, parts: Vec::new(), len: 0 };
            self.restoring = Some(staged);
        }
        let staged = self.restoring.as_mut().filter(|s| {
            (s.id, s.total, s.len) == (part.id, part.total, part.offset)
                && part.offset + len <= part.total
        });
        let staged = staged.ok_or(ZkError::BadArguments)?;
        staged.parts.push(Arc::clone(&part.bytes));
        staged.len += len;
        if staged.len < staged.total {
            return Ok(None);
        }
        Ok(self.restoring.take().map(|s| s.joined()))
    }
}

/// Reads a snapshot image into the state a restore at `zxid` leaves, given the state before.
///
/// As ZooKeeper's restore, the tree and the session list are the snapshot's. Beyond it:
/// - `/zookeeper/config` stays this ensemble's;
/// - the zxid goes on from the log's (`zxid`), never back to the snapshot's, so clients that
///   have seen a later zxid can reconnect;
/// - a session the snapshot lists that is live here keeps its password and owner, so its
///   client reconnects; the ephemerals of sessions the snapshot does not list are deleted,
///   as ZooKeeper deletes them when it loads its data;
/// - quota usage is recomputed, as at load.
fn restored(before: &ZkState, image: &[u8], zxid: i64) -> ZkResult<ZkState> {
    let loaded = snapfile::read_image(image).map_err(|e| {
        tracing::warn!(error = %e, "a restore's snapshot cannot be read; nothing restored");
        ZkError::BadArguments
    })?;
    let mut state = loaded.state;
    state.tree.ensure_system_nodes();
    state.tree.adopt_config(&before.tree);
    replay::recompute_quotas(&mut state.tree);
    for (id, entry) in state.sessions.clone().iter() {
        let kept = before
            .sessions
            .get(*id)
            .map_or(*entry, |live| SessionEntry { timeout_ms: entry.timeout_ms, ..*live });
        state.sessions.insert(*id, kept);
    }
    state.last_zxid = zxid;
    replay::drop_dead_ephemerals(&mut state);
    state.digests = before.digests.clone();
    Ok(state)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::migrate::{snapfile, Progress};
    use crate::session::password::zookeeper_password;
    use crate::tree::digest::node_digest;
    use crate::tree::{NewNode, NodeKind};
    use std::sync::Arc;

    /// A state with `/app` (data "v1"), an ephemeral of session 7 and one of session 8,
    /// where only session 7 is listed, as a ZooKeeper snapshot file's bytes.
    fn snapshot_image() -> Vec<u8> {
        let mut state = ZkState::default();
        let acl = state.tree.intern_acl(crate::tree::acl::open_acl());
        let node = |data: Option<&[u8]>, kind| NewNode {
            data: data.map(<[u8]>::to_vec),
            acl: Arc::clone(&acl),
            kind,
        };
        state.tree.create("/app", node(Some(b"v1"), NodeKind::Persistent), 5, 1000);
        state.tree.create("/app/e7", node(None, NodeKind::Ephemeral(7)), 6, 1000);
        state.tree.create("/app/e8", node(None, NodeKind::Ephemeral(8)), 7, 1000);
        let session = SessionEntry { timeout_ms: 9000, passwd: None, owner: None };
        state.sessions.insert(7, session);
        state.last_zxid = 7;
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("snapshot.7");
        snapfile::write(&file, &state, &Progress::silent()).unwrap();
        std::fs::read(file).unwrap()
    }

    #[test]
    fn the_snapshots_tree_and_sessions_replace_the_state_at_the_logs_zxid() {
        let mut before = ZkState::default();
        before.tree.set_config_text(b"server.1=a:2888:3888:participant");
        before.last_zxid = 0x3_0000_0010;
        let live = SessionEntry { timeout_ms: 4000, passwd: Some([9; 16]), owner: Some(2) };
        before.sessions.insert(7, live);
        before.sessions.insert(99, live);

        let after = restored(&before, &snapshot_image(), 0x3_0000_0011).unwrap();
        assert_eq!(after.last_zxid, 0x3_0000_0011);
        assert_eq!(after.tree.get("/app").unwrap().data.as_deref(), Some(&b"v1"[..]));
        assert!(after.tree.get("/app/e7").is_some());
        assert!(after.tree.get("/app/e8").is_none(), "session 8 is not listed");
        let config = after.tree.get("/zookeeper/config").unwrap();
        assert_eq!(config.data.as_deref(), Some(&b"server.1=a:2888:3888:participant"[..]));
        let kept = after.sessions.get(7).unwrap();
        assert_eq!((kept.timeout_ms, kept.passwd, kept.owner), (9000, Some([9; 16]), Some(2)));
        assert!(after.sessions.get(99).is_none(), "only the snapshot's sessions remain");
        let sum = after.tree.paths().map(|p| node_digest(p, after.tree.get(p).unwrap()));
        assert_eq!(after.tree.digest(), sum.fold(0i64, i64::wrapping_add));
    }

    #[test]
    fn a_session_new_to_this_server_gets_zookeepers_password() {
        let after = restored(&ZkState::default(), &snapshot_image(), 1).unwrap();
        let entry = after.sessions.get(7).unwrap();
        assert_eq!(entry.passwd, Some(zookeeper_password(7)));
    }

    fn parts(image: &[u8], id: i64, size: usize) -> Vec<RestorePart> {
        let total = image.len() as i64;
        let chunks = image.chunks(size).enumerate();
        let part = |(n, bytes): (usize, &[u8])| RestorePart {
            id,
            offset: (n * size) as i64,
            total,
            bytes: bytes.into(),
        };
        chunks.map(part).collect()
    }

    #[test]
    fn parts_are_staged_in_order_and_the_last_restores() {
        let image = snapshot_image();
        let mut state = ZkState { last_zxid: 40, ..ZkState::default() };
        let parts = parts(&image, 1, 100);
        let (last, staged) = parts.split_last().unwrap();
        for part in staged {
            assert_eq!(state.restore_part(part, 0), (Ok(Response::Empty), Effect::None));
        }
        assert_eq!(
            state.restoring.as_ref().map(|s| s.len),
            Some((image.len() - last.bytes.len()) as i64)
        );
        assert!(state.tree.get("/app").is_none(), "nothing changes before the last part");
        assert_eq!(state.restore_part(last, 0), (Ok(Response::Empty), Effect::Restored));
        assert!(state.tree.get("/app").is_some() && state.restoring.is_none());
        assert_eq!(state.last_zxid, 40);
    }

    #[test]
    fn a_part_out_of_order_drops_its_restore() {
        let image = snapshot_image();
        let ours = parts(&image, 1, 100);
        let theirs = parts(&image, 2, 100);
        let mut state = ZkState::default();
        assert!(state.restore_part(&ours[0], 0).0.is_ok());
        // Another restore starts: ours is refused from then on, theirs goes on.
        assert!(state.restore_part(&theirs[0], 0).0.is_ok());
        assert_eq!(state.restore_part(&ours[1], 0).0, Err(ZkError::BadArguments));
        assert_eq!(state.restoring, None);
        assert_eq!(state.restore_part(&theirs[1], 0).0, Err(ZkError::BadArguments));
        // A part skipped, or a leader change between parts: refused too.
        assert!(state.restore_part(&ours[0], 0).0.is_ok());
        assert_eq!(state.restore_part(&ours[2], 0).0, Err(ZkError::BadArguments));
        assert!(state.restore_part(&ours[0], 0).0.is_ok());
        state.start_epoch();
        assert_eq!(state.restore_part(&ours[1], 0).0, Err(ZkError::BadArguments));
        // Parts that stop coming are dropped once the entries' clock passes the limit.
        assert!(state.restore_part(&ours[0], 1000).0.is_ok());
        state.expire_restore(1000 + RESTORE_STAGE_MS);
        assert!(state.restoring.is_some());
        state.expire_restore(1001 + RESTORE_STAGE_MS);
        assert_eq!(state.restoring, None);
        let huge = RestorePart {
            id: 3,
            offset: 0,
            total: MAX_RESTORE_BYTES + 1,
            bytes: ours[0].bytes.clone(),
        };
        assert_eq!(state.restore_part(&huge, 0).0, Err(ZkError::BadArguments));
    }

    #[test]
    fn a_snapshot_taken_midway_carries_the_parts_staged() {
        let image = snapshot_image();
        let parts = parts(&image, 9, 64);
        let mut state = ZkState::default();
        for part in &parts[..3] {
            assert!(state.restore_part(part, 5).0.is_ok());
        }
        let mut records = super::super::codec::StateRecords::new(&state);
        let written: Vec<Vec<u8>> = records.by_ref().collect();
        let mut loader = super::super::codec::StateLoader::new(&records.finish()).unwrap();
        written.iter().for_each(|r| loader.add(r).unwrap());
        let mut installed = loader.finish().unwrap();
        assert_eq!(
            installed.restoring.as_ref().map(StagedRestore::joined),
            Some(image[..192].to_vec())
        );
        for part in &parts[3..] {
            assert!(installed.restore_part(part, 0).0.is_ok());
        }
        assert!(installed.tree.get("/app").is_some(), "the restore completes after an install");
    }

    #[test]
    fn an_unreadable_image_changes_nothing() {
        let mut image = snapshot_image();
        let middle = image.len() / 2;
        image[middle] ^= 0xff;
        assert_eq!(restored(&ZkState::default(), &image, 1).err(), Some(ZkError::BadArguments));
        assert!(restored(&ZkState::default(), b"not a snapshot", 1).is_err());
        assert!(restored(&ZkState::default(), &[], 1).is_err());
    }
}
