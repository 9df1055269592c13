//! Snapshots for the state machine: written in the background from a frozen copy of the state
//! (an O(1) clone of persistent maps, taken in order with apply), stored as LMDB envs by
//! `store::snapshot`, loaded at start-up, and pruned to `autopurge.snapRetainCount`. After each
//! snapshot the log is purged up to the oldest snapshot kept.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use openraft::storage::RaftSnapshotBuilder;
use parking_lot::{Condvar, Mutex};
use tokio::sync::{oneshot, watch, Notify};

use super::types::*;
use crate::metrics::{Metrics, Summary};
use crate::state::codec::{StateDecodeError, StateLoader, StateRecords};
use crate::state::ZkState;
use crate::store::snapshot::{SnapshotDir, SnapshotFile, SnapshotReader};
use crate::store::StoreError;

const STATE_KEY: &str = "state";
const RAFT_KEY: &str = "raft";

#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("snapshot {path}: {message}")]
    Corrupt { path: PathBuf, message: String },
    #[error("snapshot {path}: state format {format} is not one this version of corral can read")]
    UnknownStateFormat { path: PathBuf, format: u8 },
}

/// The snapshot directory and what the rest of replication needs to know about it.
pub struct Snapshots {
    dir: SnapshotDir,
    retain: usize,
    current: Mutex<Option<(SnapshotMeta, SnapshotFile)>>,
    /// Raised when `snapCount` txns have been applied since the last snapshot.
    pub wanted: Notify,
    /// The raft index the log may be purged up to (the oldest snapshot kept).
    pub purge_upto: watch::Sender<u64>,
    /// Snapshot writer threads running, so shutting down can wait for them.
    writers: Mutex<usize>,
    writers_done: Condvar,
    /// Where snapshot times and sizes are reported.
    pub metrics: Arc<Metrics>,
}

impl Snapshots {
    pub fn open(
        dir: &Path,
        retain: usize,
        metrics: Arc<Metrics>,
    ) -> Result<Snapshots, SnapshotError> {
        Ok(Snapshots {
            metrics,
            dir: SnapshotDir::open(dir)?,
            retain,
            current: Mutex::new(None),
            wanted: Notify::new(),
            purge_upto: watch::channel(0).0,
            writers: Mutex::new(0),
            writers_done: Condvar::new(),
        })
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    pub fn newest_index(&self) -> Result<Option<u64>, SnapshotError> {
        Ok(self.dir.newest()?.map(|s| s.index))
    }

    /// Reads the newest readable snapshot, if any, and makes it the current one. A damaged
    /// snapshot is passed over for the one before it (the log is kept from the oldest
    /// snapshot, so nothing is lost); one in an unknown format stops the start.
    pub fn load_newest(&self) -> Result<Option<(SnapshotMeta, ZkState)>, SnapshotError> {
        let mut files = self.dir.list()?;
        while let Some(file) = files.pop() {
            match self.load(&file) {
                Err(e) if !files.is_empty() && is_damage(&e) => {
                    tracing::error!(error = %e, "skipping a damaged snapshot for an older one");
                }
                result => return result.map(Some),
            }
        }
        Ok(None)
    }

    fn load(&self, file: &SnapshotFile) -> Result<(SnapshotMeta, ZkState), SnapshotError> {
        let started = Instant::now();
        let (meta, state) = read(&file.path)?;
        let ms = started.elapsed().as_millis() as u64;
        let nodes = state.tree.node_count() - 1;
        tracing::info!(path = %file.path.display(), nodes, ms, "loaded the snapshot");
        self.metrics.observe(Summary::StartupSnapLoadTime, ms);
        self.metrics.snapshot_at(state.last_zxid, modified_secs(&file.path));
        *self.current.lock() = Some((meta.clone(), file.clone()));
        Ok((meta, state))
    }

    pub fn current(&self) -> Option<Snapshot> {
        let current = self.current.lock().clone();
        current.map(|(meta, file)| Snapshot { meta, snapshot: Box::new(file) })
    }

    /// A fresh temporary directory to receive a leader's snapshot into.
    pub fn receiving(&self) -> Result<SnapshotFile, SnapshotError> {
        static RECEIVED: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = RECEIVED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Ok(SnapshotFile { index: 0, path: self.dir.receiving(n)? })
    }

    /// Where a snapshot sent by a leader is received before it is installed.
    pub fn incoming(&self) -> SnapshotFile {
        SnapshotFile { index: 0, path: self.dir.path().join("incoming") }
    }

    /// Takes a received snapshot in as the current one and returns its state.
    pub fn install(
        &self,
        meta: &SnapshotMeta,
        file: &SnapshotFile,
    ) -> Result<ZkState, SnapshotError> {
        let index = meta.last_log_id.map_or(0, |l| l.index);
        let file = self.dir.adopt(&file.path, index)?;
        let (_, state) = read(&file.path)?;
        self.metrics.snapshot_at(state.last_zxid, crate::clock::now_ms() / 1000);
        *self.current.lock() = Some((meta.clone(), file));
        self.prune();
        Ok(state)
    }

    /// Whether a snapshot is being written now.
    pub fn writing(&self) -> bool {
        *self.writers.lock() > 0
    }

    /// Blocks until no snapshot is being written (a stopped server must not leave a writer
    /// behind in its data directory).
    pub fn wait_until_written(&self) {
        let mut writers = self.writers.lock();
        while *writers > 0 {
            self.writers_done.wait(&mut writers);
        }
    }

    /// Writes the snapshot on a thread of its own; `done` gets the outcome. The thread holds
    /// `counted` until it ends.
    fn spawn_writer(
        self: Arc<Self>,
        meta: SnapshotMeta,
        state: ZkState,
        counted: WriterCount,
        done: oneshot::Sender<Result<SnapshotFile, SnapshotError>>,
    ) -> std::io::Result<()> {
        let spawned = std::thread::Builder::new().name("corral-snapshot".into()).spawn(move || {
            lower_this_threads_priority();
            let _ = done.send(self.write(&meta, &state));
            drop(counted);
        });
        spawned.map(drop)
    }

    /// Writes the first snapshot of new storage (`seed`), in the calling thread.
    pub(super) fn write_seed(
        &self,
        meta: &SnapshotMeta,
        state: &ZkState,
    ) -> Result<(), SnapshotError> {
        self.write(meta, state).map(drop)
    }

    fn write(&self, meta: &SnapshotMeta, state: &ZkState) -> Result<SnapshotFile, SnapshotError> {
        let index = meta.last_log_id.map_or(0, |l| l.index);
        let raft = serde_json::to_vec(meta).map_err(|e| corrupt(self.dir.path(), e))?;
        let mut records = StateRecords::new(state);
        let file = self.dir.write(index, &mut records, |records| {
            vec![(STATE_KEY, records.finish()), (RAFT_KEY, raft)]
        })?;
        self.metrics.snapshot_at(state.last_zxid, crate::clock::now_ms() / 1000);
        *self.current.lock() = Some((meta.clone(), file.clone()));
        self.prune();
        Ok(file)
    }

    /// Keeps the newest `retain` snapshots and lets the log go up to the oldest of them. Best
    /// effort: the new snapshot is already safe, and failing here only keeps more on disk.
    fn prune(&self) {
        match self.dir.retain_newest(self.retain) {
            Ok(Some(oldest)) => {
                self.purge_upto.send_replace(oldest.index);
            }
            Ok(None) => {}
            Err(e) => tracing::error!(error = %e, "could not purge old snapshots"),
        }
    }
}

/// Damage (as opposed to a format from another version, which is never guessed at).
fn is_damage(e: &SnapshotError) -> bool {
    !matches!(
        e,
        SnapshotError::Store(StoreError::UnknownSnapshotFormat { .. })
            | SnapshotError::UnknownStateFormat { .. }
    )
}

fn corrupt(path: &Path, e: impl std::fmt::Display) -> SnapshotError {
    SnapshotError::Corrupt { path: path.to_owned(), message: e.to_string() }
}

/// Reads a snapshot's raft meta and state, refusing anything incomplete or unknown.
fn read(path: &Path) -> Result<(SnapshotMeta, ZkState), SnapshotError> {
    let reader = SnapshotReader::open(path)?;
    let result = read_open(path, &reader);
    reader.close();
    result
}

fn read_open(
    path: &Path,
    reader: &SnapshotReader,
) -> Result<(SnapshotMeta, ZkState), SnapshotError> {
    let missing = |key: &str| corrupt(path, format!("no {key} record"));
    let raft = reader.meta(RAFT_KEY)?.ok_or_else(|| missing(RAFT_KEY))?;
    let meta: SnapshotMeta = serde_json::from_slice(&raft).map_err(|e| corrupt(path, e))?;
    let header = reader.meta(STATE_KEY)?.ok_or_else(|| missing(STATE_KEY))?;
    let mut loader = StateLoader::new(&header).map_err(|e| match e {
        StateDecodeError::UnknownFormat(format) => {
            SnapshotError::UnknownStateFormat { path: path.to_owned(), format }
        }
        e => corrupt(path, e),
    })?;
    reader.for_each(|record| loader.add(record).map_err(|e| corrupt(path, e)))?;
    let state = loader.finish().map_err(|e| corrupt(path, e))?;
    Ok((meta, state))
}

/// A snapshot is background work: on a busy machine it should take the CPU that requests
/// leave, not share it equally with them (nice 10 gets ~1/10 of a contended core). Linux keeps
/// a nice value per thread, so this touches only the calling thread.
fn lower_this_threads_priority() {
    // SAFETY: plain syscalls on the calling thread's own id; no memory is shared.
    let result = unsafe { libc::setpriority(libc::PRIO_PROCESS, libc::gettid() as libc::id_t, 10) };
    if result != 0 {
        tracing::debug!(error = %std::io::Error::last_os_error(), "could not lower snapshot priority");
    }
}

/// A frozen copy of the state at `meta.last_log_id`, written when openraft asks.
/// Counted as a writer from the moment it exists, so a shutdown that begins before its
/// thread starts still waits for it.
pub struct Builder {
    snapshots: Arc<Snapshots>,
    /// Taken by the one build; a second build of the same builder is refused.
    state: Option<ZkState>,
    meta: SnapshotMeta,
    counted: Option<WriterCount>,
}

impl Builder {
    pub fn new(snapshots: Arc<Snapshots>, state: ZkState, meta: SnapshotMeta) -> Self {
        let counted = Some(WriterCount::new(snapshots.clone()));
        Builder { snapshots, state: Some(state), meta, counted }
    }
}

/// One running (or about to run) snapshot writer in `Snapshots::writers`.
struct WriterCount(Arc<Snapshots>);

impl WriterCount {
    fn new(snapshots: Arc<Snapshots>) -> Self {
        *snapshots.writers.lock() += 1;
        WriterCount(snapshots)
    }
}

impl Drop for WriterCount {
    fn drop(&mut self) {
        *self.0.writers.lock() -= 1;
        self.0.writers_done.notify_all();
    }
}

/// When `path` was last written, in Unix seconds (0 if that cannot be read).
fn modified_secs(path: &Path) -> i64 {
    let modified = std::fs::metadata(path).and_then(|m| m.modified());
    let since_epoch = modified.ok().and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok());
    since_epoch.map_or(0, |d| d.as_secs() as i64)
}

fn sm_err(e: impl std::fmt::Display) -> StorageError {
    StorageIOError::write_snapshot(None, &std::io::Error::other(e.to_string())).into()
}

impl RaftSnapshotBuilder<TypeConfig> for Builder {
    async fn build_snapshot(&mut self) -> Result<Snapshot, StorageError> {
        let (snapshots, meta) = (self.snapshots.clone(), self.meta.clone());
        let (state, counted) = match (self.state.take(), self.counted.take()) {
            (Some(state), Some(counted)) => (state, counted),
            _ => return Err(sm_err("a snapshot builder was used twice")),
        };
        let started = Instant::now();
        let (done, written) = oneshot::channel();
        snapshots.clone().spawn_writer(meta, state, counted, done).map_err(sm_err)?;
        let file = written.await.map_err(sm_err)?.map_err(sm_err)?;
        let ms = started.elapsed().as_millis() as u64;
        let bytes = crate::store::disk::bytes_under(&file.path, None);
        tracing::info!(path = %file.path.display(), ms, bytes, "wrote a snapshot");
        snapshots.metrics.observe(Summary::SnapshotTime, ms);
        snapshots.metrics.observe(Summary::SnapshotBytes, bytes);
        Ok(Snapshot { meta: self.meta.clone(), snapshot: Box::new(file) })
    }
}
