//! openraft's RaftLogStorage over the LMDB log in `store`; entries are stored in the form
//! `entry_codec` gives them, which the peer network also sends.

use std::ops::{Bound, RangeBounds};

use std::sync::Arc;

use openraft::storage::{RaftLogReader, RaftLogStorage};
use parking_lot::Mutex;

use super::entry_codec::{decode, encode};
use super::types::*;
use crate::metrics::{Metrics, Summary};
use crate::store::LogStore;

/// Entries returned by one read are capped at this many bytes (batches can be large).
const MAX_READ_BYTES: usize = 4 << 20;

#[derive(Clone)]
pub struct RaftLog {
    store: LogStore,
    metrics: Arc<Metrics>,
    /// The newest commit point not yet on disk: it rides in the next append's transaction
    /// instead of costing an fsync of its own on every commit.
    committed: Arc<Mutex<Option<Option<LogId>>>>,
}

pub(super) const COMMITTED_KEY: &str = "committed";
pub(super) const VOTE_KEY: &str = "vote";
pub(super) const PURGED_KEY: &str = "purged";

fn io_err(e: impl std::fmt::Display) -> std::io::Error {
    std::io::Error::other(e.to_string())
}

fn bounds(range: &impl RangeBounds<u64>) -> (u64, u64) {
    let start = match range.start_bound() {
        Bound::Included(s) => *s,
        Bound::Excluded(s) => s + 1,
        Bound::Unbounded => 0,
    };
    let end = match range.end_bound() {
        Bound::Included(e) => e.saturating_add(1),
        Bound::Excluded(e) => *e,
        Bound::Unbounded => u64::MAX,
    };
    (start, end)
}

/// Runs blocking LMDB work off the async runtime.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, std::io::Error> + Send + 'static,
) -> Result<T, std::io::Error> {
    tokio::task::spawn_blocking(f).await.map_err(io_err)?
}

impl RaftLog {
    pub fn new(store: LogStore, metrics: Arc<Metrics>) -> Self {
        RaftLog { store, metrics, committed: Arc::default() }
    }

    async fn read_json<T: serde::de::DeserializeOwned + Send + 'static>(
        &self,
        key: &'static str,
    ) -> Result<Option<T>, std::io::Error> {
        let store = self.store.clone();
        let bytes = blocking(move || store.get_meta(key).map_err(io_err)).await?;
        bytes.map(|b| serde_json::from_slice(&b).map_err(io_err)).transpose()
    }

    async fn write_json<T: serde::Serialize>(
        &self,
        key: &'static str,
        value: &T,
    ) -> Result<(), std::io::Error> {
        let bytes = serde_json::to_vec(value).map_err(io_err)?;
        let store = self.store.clone();
        blocking(move || store.put_meta(key, &bytes).map_err(io_err)).await
    }

    async fn entries(
        &self,
        start: u64,
        end: u64,
        max_bytes: usize,
    ) -> Result<Vec<Entry>, std::io::Error> {
        let store = self.store.clone();
        let raw = blocking(move || store.range(start, end, max_bytes).map_err(io_err)).await?;
        raw.iter().map(|(_, bytes)| decode(bytes)).collect()
    }
}

impl RaftLogReader<TypeConfig> for RaftLog {
    async fn try_get_log_entries<RB: RangeBounds<u64> + Clone + std::fmt::Debug + Send>(
        &mut self,
        range: RB,
    ) -> Result<Vec<Entry>, StorageError> {
        let (start, end) = bounds(&range);
        self.entries(start, end, usize::MAX).await.map_err(|e| StorageIOError::read_logs(&e).into())
    }

    async fn limited_get_log_entries(
        &mut self,
        start: u64,
        end: u64,
    ) -> Result<Vec<Entry>, StorageError> {
        self.entries(start, end, MAX_READ_BYTES)
            .await
            .map_err(|e| StorageIOError::read_logs(&e).into())
    }
}

impl RaftLogStorage<TypeConfig> for RaftLog {
    type LogReader = RaftLog;

    async fn get_log_state(&mut self) -> Result<LogState, StorageError> {
        let purged: Option<LogId> =
            self.read_json(PURGED_KEY).await.map_err(|e| StorageIOError::read_logs(&e))?;
        let store = self.store.clone();
        let last = blocking(move || store.last().map_err(io_err))
            .await
            .map_err(|e| StorageIOError::read_logs(&e))?;
        let last = match last {
            Some((_, bytes)) => {
                Some(decode(&bytes).map_err(|e| StorageIOError::read_logs(&e))?.log_id)
            }
            None => purged,
        };
        Ok(LogState { last_purged_log_id: purged, last_log_id: last })
    }

    async fn get_log_reader(&mut self) -> RaftLog {
        self.clone()
    }

    async fn save_vote(&mut self, vote: &Vote) -> Result<(), StorageError> {
        self.write_json(VOTE_KEY, vote).await.map_err(|e| StorageIOError::write_vote(&e).into())
    }

    async fn read_vote(&mut self) -> Result<Option<Vote>, StorageError> {
        self.read_json(VOTE_KEY).await.map_err(|e| StorageIOError::read_vote(&e).into())
    }

    /// The commit point lets a restart re-apply the log up to where it was. It is written with
    /// the next append: a stale commit point on disk is safe (a restart re-applies less and the
    /// leader commits the rest), and openraft awaits this on every commit, so it must be cheap.
    async fn save_committed(&mut self, committed: Option<LogId>) -> Result<(), StorageError> {
        self.metrics.set_committed(committed.map_or(0, |c| c.index));
        *self.committed.lock() = Some(committed);
        Ok(())
    }

    async fn read_committed(&mut self) -> Result<Option<LogId>, StorageError> {
        let pending = *self.committed.lock();
        let committed: Option<Option<LogId>> = match pending {
            Some(committed) => Some(committed),
            None => self.read_json(COMMITTED_KEY).await.map_err(|e| StorageIOError::read(&e))?,
        };
        Ok(committed.flatten())
    }

    async fn append<I>(&mut self, entries: I, callback: LogFlushed) -> Result<(), StorageError>
    where
        I: IntoIterator<Item = Entry> + Send,
        I::IntoIter: Send,
    {
        let encoded: Result<Vec<(u64, Vec<u8>)>, _> =
            entries.into_iter().map(|e| encode(&e).map(|b| (e.log_id.index, b))).collect();
        let encoded = encoded.map_err(|e| StorageIOError::write_logs(&e))?;
        let store = self.store.clone();
        let committed = self.committed.lock().take();
        let committed = committed
            .map(|c| serde_json::to_vec(&c).map(|bytes| (COMMITTED_KEY, bytes)))
            .transpose()
            .map_err(|e| StorageIOError::write_logs(&e))?;
        let started = std::time::Instant::now();
        let result = blocking(move || store.append(&encoded, committed).map_err(io_err)).await;
        // ZooKeeper's fsynctime times the log's force; an LMDB append is one durable commit.
        self.metrics.observe(Summary::FsyncTime, started.elapsed().as_millis() as u64);
        let reply = result.as_ref().map(|_| ()).map_err(io_err);
        callback.log_io_completed(reply);
        result.map_err(|e| StorageIOError::write_logs(&e).into())
    }

    async fn truncate(&mut self, log_id: LogId) -> Result<(), StorageError> {
        let store = self.store.clone();
        blocking(move || store.truncate_from(log_id.index).map_err(io_err))
            .await
            .map_err(|e| StorageIOError::write_logs(&e).into())
    }

    async fn purge(&mut self, log_id: LogId) -> Result<(), StorageError> {
        let meta = serde_json::to_vec(&log_id).map_err(|e| StorageIOError::write_logs(&e))?;
        let store = self.store.clone();
        blocking(move || store.purge_upto(log_id.index, PURGED_KEY, &meta).map_err(io_err))
            .await
            .map_err(|e| StorageIOError::write_logs(&e).into())
    }
}
