//! Durable storage, under the server's data directories. This file is the log: an LMDB
//! environment (heed) with full durability, holding raft log entries by index and a little
//! metadata (vote, commit point, purge point) behind an on-disk format header. Every write is
//! one LMDB transaction, durable when it returns; callers run it off the runtime. Snapshot
//! files are in `snapshot`.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use heed::types::{Bytes, Str, U64};
use heed::WithoutTls;
use heed::{byteorder::BigEndian, CommitOrAbort, Database, Env, EnvFlags, EnvOpenOptions};
use thiserror::Error;

pub mod disk;
pub mod lock;
mod mapping;
pub mod snapshot;

use mapping::FileMapping;
pub use snapshot::SNAPSHOT_FORMAT;

/// The log format this version writes and reads.
pub const LOG_FORMAT: &str = "corral-raft-log-1";
const FORMAT_KEY: &str = "format";
/// LMDB's map is address space, not memory: generous by default, so only the disk limits it.
pub const DEFAULT_MAP_SIZE: usize = 64 << 30;
/// A multiple of every page size LMDB runs with here.
const PAGE: usize = 64 << 10;
/// Appends, or purged entries, between releases of the log's mapped pages.
const RELEASE_EVERY: usize = 16;

#[derive(Debug, Error)]
pub enum StoreError {
    #[error("cannot create or open the data directory {path}: {source}")]
    Dir { path: PathBuf, source: std::io::Error },
    #[error("LMDB error in {path}: {source}")]
    Lmdb { path: PathBuf, source: heed::Error },
    #[error("{path} holds log format {found:?}; this corral reads {LOG_FORMAT:?} only")]
    UnknownFormat { path: PathBuf, found: String },
    #[error("{path} holds snapshot format {found:?}; this corral reads {SNAPSHOT_FORMAT:?} only")]
    UnknownSnapshotFormat { path: PathBuf, found: String },
    #[error("{path} is not a complete snapshot (no data file, databases or format header)")]
    Incomplete { path: PathBuf },
    #[error(
        "{path} is truncated: its header says {expected} bytes but the file has {found} \
         (an interrupted copy, or a file system that lost data); refusing to read it"
    )]
    Truncated { path: PathBuf, expected: u64, found: u64 },
}

/// The log environment and its two databases.
#[derive(Clone)]
pub struct LogStore {
    path: PathBuf,
    env: Env<WithoutTls>,
    entries: Database<'static, U64<BigEndian>, Bytes>,
    meta: Database<'static, Str, Bytes>,
    /// Where the data file is mapped, to let go of pages read once (None: not found).
    mapping: Option<FileMapping>,
    appends: Arc<AtomicUsize>,
}

type Databases = (Database<'static, U64<BigEndian>, Bytes>, Database<'static, Str, Bytes>);

impl LogStore {
    /// Opens (or creates) the log under `dir`, refusing a format it does not know.
    pub fn open(dir: &Path) -> Result<LogStore, StoreError> {
        LogStore::open_with_map_size(dir, DEFAULT_MAP_SIZE)
    }

    /// As `open`, with at most `map_size` bytes of log (rounded up to whole pages).
    pub fn open_with_map_size(dir: &Path, map_size: usize) -> Result<LogStore, StoreError> {
        let path = dir.join("log");
        std::fs::create_dir_all(&path)
            .map_err(|source| StoreError::Dir { path: path.clone(), source })?;
        let lmdb = |source| StoreError::Lmdb { path: path.clone(), source };
        // SAFETY: the directory is corral's own; nothing else maps or truncates these files
        // while the env is open, and heed refuses a second open of the same path.
        let env = unsafe {
            let mut options = EnvOpenOptions::new().read_txn_without_tls();
            // Log reads are of entries just written: readahead would only inflate RSS.
            options.flags(EnvFlags::NO_READ_AHEAD);
            options.map_size(map_size.next_multiple_of(PAGE)).max_dbs(4).open(&path)
        }
        .map_err(lmdb)?;
        // No length check here, unlike snapshots: a live log's file can legitimately end
        // before its last page number (LMDB never writes pages freed in the same commit).
        // A torn tail cannot happen: LMDB writes the meta page last, so an interrupted commit
        // leaves the previous one whole.
        let wtxn = env.write_txn().map_err(lmdb)?;
        let (entries, meta): Databases = env
            .create_databases_and_commit(wtxn, |opener, wtxn| -> heed::Result<_> {
                let entries = opener.create_database(wtxn, Some("entries"))?;
                let meta = opener.create_database(wtxn, Some("meta"))?;
                Ok(CommitOrAbort::<_, ()>::Commit((entries, meta)))
            })
            .map_err(lmdb)?
            .unwrap_commit();
        let mut wtxn = env.write_txn().map_err(lmdb)?;
        match meta.get(&wtxn, FORMAT_KEY).map_err(lmdb)? {
            None => meta.put(&mut wtxn, FORMAT_KEY, LOG_FORMAT.as_bytes()).map_err(lmdb)?,
            Some(found) if found == LOG_FORMAT.as_bytes() => {}
            Some(found) => {
                let found = String::from_utf8_lossy(found).into_owned();
                return Err(StoreError::UnknownFormat { path, found });
            }
        }
        wtxn.commit().map_err(lmdb)?;
        let mapping = FileMapping::find(&path.join("data.mdb"));
        if mapping.is_none() {
            tracing::debug!(path = %path.display(), "the log's map was not found");
        }
        let appends = Arc::default();
        let store = LogStore { path, env, entries, meta, mapping, appends };
        store.read_everything()?;
        store.release_mapped_pages();
        Ok(store)
    }

    fn lmdb(&self, source: heed::Error) -> StoreError {
        StoreError::Lmdb { path: self.path.clone(), source }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Touches every page the log can reach, so a damaged file shows up at start-up (as an
    /// LMDB error, or as SIGBUS, which the binary reports), not in the middle of serving.
    fn read_everything(&self) -> Result<(), StoreError> {
        let rtxn = self.env.read_txn().map_err(|e| self.lmdb(e))?;
        let mut bytes = 0usize;
        for item in self.entries.iter(&rtxn).map_err(|e| self.lmdb(e))? {
            let (_, value) = item.map_err(|e| self.lmdb(e))?;
            // One byte per KiB (and the last) reaches every page a large value spans.
            let touched = value.iter().step_by(1024).chain(value.last());
            bytes = bytes.wrapping_add(touched.map(|&b| b as usize).sum::<usize>());
        }
        for item in self.meta.iter(&rtxn).map_err(|e| self.lmdb(e))? {
            item.map_err(|e| self.lmdb(e))?;
        }
        std::hint::black_box(bytes);
        Ok(())
    }

    /// LMDB's reads through the map (the start-up read, purges, the pages each append walks)
    /// bring the log's pages into this process. They stay in the kernel's file cache either
    /// way; letting the mapping go keeps them out of the RSS, which would otherwise grow to
    /// the log file's size.
    fn release_mapped_pages(&self) {
        if let Some(mapping) = &self.mapping {
            mapping.release();
        }
    }

    /// Whether raft has ever written here: an entry, or any metadata beside the format header.
    pub fn has_been_used(&self) -> Result<bool, StoreError> {
        let rtxn = self.env.read_txn().map_err(|e| self.lmdb(e))?;
        let entries = self.entries.len(&rtxn).map_err(|e| self.lmdb(e))?;
        let meta = self.meta.len(&rtxn).map_err(|e| self.lmdb(e))?;
        Ok(entries > 0 || meta > 1)
    }

    /// The last entry, if any.
    pub fn last(&self) -> Result<Option<(u64, Vec<u8>)>, StoreError> {
        let rtxn = self.env.read_txn().map_err(|e| self.lmdb(e))?;
        let last = self.entries.last(&rtxn).map_err(|e| self.lmdb(e))?;
        Ok(last.map(|(index, bytes)| (index, bytes.to_vec())))
    }

    /// Appends entries, and a metadata value if given, durably in one transaction (one
    /// fsync). Blocking: call off the runtime.
    pub fn append(
        &self,
        entries: &[(u64, Vec<u8>)],
        meta: Option<(&str, Vec<u8>)>,
    ) -> Result<(), StoreError> {
        let mut wtxn = self.env.write_txn().map_err(|e| self.lmdb(e))?;
        for (index, bytes) in entries {
            self.entries.put(&mut wtxn, index, bytes).map_err(|e| self.lmdb(e))?;
        }
        if let Some((key, value)) = meta {
            self.meta.put(&mut wtxn, key, &value).map_err(|e| self.lmdb(e))?;
        }
        wtxn.commit().map_err(|e| self.lmdb(e))?;
        // Each append reads a few B-tree and free-list pages through the map, each pulling its
        // neighbours in with it; over time they would map the whole file.
        if self.appends.fetch_add(1, Ordering::Relaxed) % RELEASE_EVERY == 0 {
            self.release_mapped_pages();
        }
        Ok(())
    }

    /// Entries with `start <= index < end`, in order; at most `max_bytes` (and at least one).
    pub fn range(
        &self,
        start: u64,
        end: u64,
        max_bytes: usize,
    ) -> Result<Vec<(u64, Vec<u8>)>, StoreError> {
        let rtxn = self.env.read_txn().map_err(|e| self.lmdb(e))?;
        let mut out = Vec::new();
        let mut bytes = 0;
        for item in self.entries.range(&rtxn, &(start..end)).map_err(|e| self.lmdb(e))? {
            let (index, value) = item.map_err(|e| self.lmdb(e))?;
            if !out.is_empty() && bytes + value.len() > max_bytes {
                break;
            }
            bytes += value.len();
            out.push((index, value.to_vec()));
        }
        Ok(out)
    }

    /// Deletes the entries with `index >= from` (a conflicting tail), durably.
    pub fn truncate_from(&self, from: u64) -> Result<(), StoreError> {
        let mut wtxn = self.env.write_txn().map_err(|e| self.lmdb(e))?;
        self.entries.delete_range(&mut wtxn, &(from..)).map_err(|e| self.lmdb(e))?;
        wtxn.commit().map_err(|e| self.lmdb(e))
    }

    /// Deletes the entries with `index <= upto` and records `meta` in the same transaction.
    pub fn purge_upto(&self, upto: u64, key: &str, meta: &[u8]) -> Result<(), StoreError> {
        let lmdb = |e| self.lmdb(e);
        let mut wtxn = self.env.write_txn().map_err(lmdb)?;
        let mut purged = self.entries.range_mut(&mut wtxn, &(..=upto)).map_err(lmdb)?;
        let mut count = 0usize;
        while let Some(item) = purged.next() {
            item.map_err(lmdb)?;
            // SAFETY: nothing borrowed from the database is held across the deletion.
            unsafe { purged.del_current() }.map_err(lmdb)?;
            count += 1;
            // LMDB reads each deleted value's first page through the map (and the kernel maps
            // its neighbours with it): let them go as the purge goes, not only at the end.
            if count % RELEASE_EVERY == 0 {
                self.release_mapped_pages();
            }
        }
        drop(purged);
        self.meta.put(&mut wtxn, key, meta).map_err(lmdb)?;
        wtxn.commit().map_err(lmdb)?;
        self.release_mapped_pages();
        Ok(())
    }

    /// The stored format header.
    pub fn format(&self) -> Result<Option<String>, StoreError> {
        let value = self.get_meta(FORMAT_KEY)?;
        Ok(value.map(|v| String::from_utf8_lossy(&v).into_owned()))
    }

    pub fn get_meta(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let rtxn = self.env.read_txn().map_err(|e| self.lmdb(e))?;
        let value = self.meta.get(&rtxn, key).map_err(|e| self.lmdb(e))?;
        Ok(value.map(<[u8]>::to_vec))
    }

    /// Stores a metadata value durably (the vote must be on disk before it is used).
    pub fn put_meta(&self, key: &str, value: &[u8]) -> Result<(), StoreError> {
        let mut wtxn = self.env.write_txn().map_err(|e| self.lmdb(e))?;
        self.meta.put(&mut wtxn, key, value).map_err(|e| self.lmdb(e))?;
        wtxn.commit().map_err(|e| self.lmdb(e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_survive_reopening_and_can_be_cut_at_both_ends() {
        let dir = tempfile::tempdir().unwrap();
        {
            let store = LogStore::open(dir.path()).unwrap();
            let entries: Vec<(u64, Vec<u8>)> = (1..=5).map(|i| (i, vec![i as u8; 10])).collect();
            store.append(&entries, None).unwrap();
            store.put_meta("vote", b"v").unwrap();
        }
        let store = LogStore::open(dir.path()).unwrap();
        assert_eq!(store.last().unwrap().map(|(i, _)| i), Some(5));
        assert_eq!(store.range(2, 4, usize::MAX).unwrap().len(), 2);
        assert_eq!(store.range(1, 6, 15).unwrap().len(), 1, "capped by bytes, never empty");
        store.truncate_from(4).unwrap();
        store.purge_upto(1, "purged", b"1").unwrap();
        let left: Vec<u64> =
            store.range(0, 10, usize::MAX).unwrap().into_iter().map(|(i, _)| i).collect();
        assert_eq!(left, vec![2, 3]);
        assert_eq!(store.get_meta("vote").unwrap().as_deref(), Some(&b"v"[..]));
        assert_eq!(store.format().unwrap().as_deref(), Some(LOG_FORMAT));
    }

    #[test]
    fn a_log_purged_and_extended_in_turns_reopens() {
        let dir = tempfile::tempdir().unwrap();
        for round in 0..20u64 {
            let store = LogStore::open(dir.path()).unwrap();
            let first = round * 50 + 1;
            let entries: Vec<(u64, Vec<u8>)> =
                (first..first + 50).map(|i| (i, vec![i as u8; 3000])).collect();
            store.append(&entries, None).unwrap();
            store.purge_upto(first + 40, "purged", b"p").unwrap();
        }
        let store = LogStore::open(dir.path()).unwrap();
        assert_eq!(store.last().unwrap().map(|(i, _)| i), Some(1000));
        assert_eq!(store.range(0, 2000, usize::MAX).unwrap().len(), 9);
    }

    #[test]
    fn an_unknown_format_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        {
            let store = LogStore::open(dir.path()).unwrap();
            let mut wtxn = store.env.write_txn().unwrap();
            store.meta.put(&mut wtxn, FORMAT_KEY, b"corral-log-99").unwrap();
            wtxn.commit().unwrap();
        }
        let err = LogStore::open(dir.path()).err().expect("refused");
        assert!(err.to_string().contains("corral-log-99"), "{err}");
    }
}
