//! Snapshot files: each snapshot is its own LMDB env (a directory) holding a format header, a
//! few named metadata blobs and an ordered run of records. A snapshot is written under a
//! temporary name, synced, then renamed, so a directory with the final name is always complete.
//! The bytes inside are the caller's: this module knows LMDB, not ZooKeeper state.

use std::path::{Path, PathBuf};

use heed::types::{Bytes, Str, U64};
use heed::{
    byteorder::BigEndian, CommitOrAbort, Database, Env, EnvFlags, EnvOpenOptions, PutFlags,
};
use heed::{RoTxn, WithoutTls};

use super::StoreError;

/// The snapshot format this version writes and reads.
pub const SNAPSHOT_FORMAT: &str = "corral-snapshot-1";
const FORMAT_KEY: &str = "format";
const PREFIX: &str = "snap-";
const TEMP_PREFIX: &str = "tmp-snap-";
/// Records and bytes per write transaction: LMDB holds a transaction's dirty pages in memory.
const RECORDS_PER_TXN: usize = 20_000;
const BYTES_PER_TXN: usize = 4 << 20;
/// Transactions between syncs of an unfinished snapshot (so at most 16 MiB waits for one).
const TXNS_PER_SYNC: usize = 4;
const MAP_SIZE: usize = 1 << 40;

type Records = Database<'static, U64<BigEndian>, Bytes>;
type Meta = Database<'static, Str, Bytes>;

/// The snapshots under one directory, named by the raft index they cover.
#[derive(Debug, Clone)]
pub struct SnapshotDir {
    dir: PathBuf,
}

/// One complete snapshot on disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotFile {
    pub index: u64,
    pub path: PathBuf,
}

fn dir_err(path: &Path) -> impl FnOnce(std::io::Error) -> StoreError + '_ {
    move |source| StoreError::Dir { path: path.to_owned(), source }
}

fn lmdb_err(path: &Path) -> impl Fn(heed::Error) -> StoreError + '_ {
    move |source| StoreError::Lmdb { path: path.to_owned(), source }
}

fn is_temporary(path: &Path) -> bool {
    path.file_name().is_some_and(|name| name.to_string_lossy().starts_with(TEMP_PREFIX))
}

impl SnapshotDir {
    /// A new, empty directory for a snapshot being received from a leader. It is temporary
    /// (removed at start-up if it was never installed) until `adopt` renames it into place.
    pub fn receiving(&self, n: u64) -> Result<PathBuf, StoreError> {
        let path = self.dir.join(format!("{TEMP_PREFIX}recv-{n}"));
        if path.exists() {
            std::fs::remove_dir_all(&path).map_err(dir_err(&path))?;
        }
        std::fs::create_dir_all(&path).map_err(dir_err(&path))?;
        Ok(path)
    }

    /// Opens (creating) the directory and removes temporaries left by an interrupted write.
    pub fn open(dir: &Path) -> Result<SnapshotDir, StoreError> {
        std::fs::create_dir_all(dir).map_err(dir_err(dir))?;
        for entry in std::fs::read_dir(dir).map_err(dir_err(dir))? {
            let entry = entry.map_err(dir_err(dir))?;
            if entry.file_name().to_string_lossy().starts_with(TEMP_PREFIX) {
                tracing::info!(path = %entry.path().display(), "removing an unfinished snapshot");
                std::fs::remove_dir_all(entry.path()).map_err(dir_err(dir))?;
            }
        }
        Ok(SnapshotDir { dir: dir.to_owned() })
    }

    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// Every complete snapshot, oldest first.
    pub fn list(&self) -> Result<Vec<SnapshotFile>, StoreError> {
        let mut found = Vec::new();
        for entry in std::fs::read_dir(&self.dir).map_err(dir_err(&self.dir))? {
            let entry = entry.map_err(dir_err(&self.dir))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if let Some(index) = name.strip_prefix(PREFIX).and_then(|i| i.parse().ok()) {
                found.push(SnapshotFile { index, path: entry.path() });
            }
        }
        found.sort_by_key(|s| s.index);
        Ok(found)
    }

    pub fn newest(&self) -> Result<Option<SnapshotFile>, StoreError> {
        Ok(self.list()?.pop())
    }

    /// Deletes all but the newest `keep` snapshots; returns the oldest one kept.
    pub fn retain_newest(&self, keep: usize) -> Result<Option<SnapshotFile>, StoreError> {
        let all = self.list()?;
        let cut = all.len().saturating_sub(keep.max(1));
        for old in &all[..cut] {
            tracing::info!(path = %old.path.display(), "purging an old snapshot");
            std::fs::remove_dir_all(&old.path).map_err(dir_err(&old.path))?;
        }
        Ok(all.into_iter().nth(cut))
    }

    /// Writes a snapshot covering raft index `index`: every record, then the metadata that
    /// `meta` makes once the records are written. Blocking: run it off the runtime.
    pub fn write<I: Iterator<Item = Vec<u8>>>(
        &self,
        index: u64,
        records: &mut I,
        meta: impl FnOnce(&mut I) -> Vec<(&'static str, Vec<u8>)>,
    ) -> Result<SnapshotFile, StoreError> {
        let temp = self.dir.join(format!("{TEMP_PREFIX}{index:020}"));
        if temp.exists() {
            std::fs::remove_dir_all(&temp).map_err(dir_err(&temp))?;
        }
        std::fs::create_dir_all(&temp).map_err(dir_err(&temp))?;
        write_env(&temp, records, meta)?;
        sync_dir(&temp)?;
        let path = self.dir.join(format!("{PREFIX}{index:020}"));
        if path.exists() {
            std::fs::remove_dir_all(&path).map_err(dir_err(&path))?;
        }
        std::fs::rename(&temp, &path).map_err(dir_err(&path))?;
        sync_dir(&self.dir)?;
        Ok(SnapshotFile { index, path })
    }

    /// Copies a snapshot from elsewhere (one received from a leader) into this directory.
    pub fn adopt(&self, from: &Path, index: u64) -> Result<SnapshotFile, StoreError> {
        let path = self.dir.join(format!("{PREFIX}{index:020}"));
        if from == path {
            return Ok(SnapshotFile { index, path });
        }
        if from.parent() == Some(self.dir.as_path()) && is_temporary(from) {
            // Received here: make it durable and rename it into place, no copy.
            std::fs::File::open(from.join("data.mdb"))
                .and_then(|f| f.sync_all())
                .map_err(dir_err(from))?;
            sync_dir(from)?;
            if path.exists() {
                std::fs::remove_dir_all(&path).map_err(dir_err(&path))?;
            }
            std::fs::rename(from, &path).map_err(dir_err(&path))?;
            sync_dir(&self.dir)?;
            return Ok(SnapshotFile { index, path });
        }
        let temp = self.dir.join(format!("{TEMP_PREFIX}{index:020}"));
        std::fs::create_dir_all(&temp).map_err(dir_err(&temp))?;
        std::fs::copy(from.join("data.mdb"), temp.join("data.mdb")).map_err(dir_err(from))?;
        std::fs::File::open(temp.join("data.mdb"))
            .and_then(|f| f.sync_all())
            .map_err(dir_err(&temp))?;
        sync_dir(&temp)?;
        if path.exists() {
            std::fs::remove_dir_all(&path).map_err(dir_err(&path))?;
        }
        std::fs::rename(&temp, &path).map_err(dir_err(&path))?;
        sync_dir(&self.dir)?;
        Ok(SnapshotFile { index, path })
    }
}

/// LMDB maps its file and would fault on a page past the end: a file shorter than its own
/// header says is refused before anything reads it.
fn check_not_truncated<T>(env: &Env<T>, path: &Path) -> Result<(), StoreError> {
    let page_size = env.unnamed_database_stat().page_size as u64;
    let expected = (env.info().last_page_number as u64 + 1) * page_size;
    let found =
        env.real_disk_size().map_err(|e| StoreError::Lmdb { path: path.to_owned(), source: e })?;
    if found < expected {
        return Err(StoreError::Truncated { path: path.join("data.mdb"), expected, found });
    }
    Ok(())
}

fn sync_dir(dir: &Path) -> Result<(), StoreError> {
    std::fs::File::open(dir).and_then(|d| d.sync_all()).map_err(dir_err(dir))
}

fn open_raw(path: &Path, flags: EnvFlags) -> Result<Env<WithoutTls>, StoreError> {
    let mut options = EnvOpenOptions::new().read_txn_without_tls();
    options.map_size(MAP_SIZE).max_dbs(2);
    // SAFETY: the directory is corral's own snapshot; nothing else maps or truncates it while
    // it is open, and heed refuses a second open of the same path. NO_SYNC is only given to the
    // writer, which syncs once at the end, before the snapshot gets its final name.
    let env = unsafe {
        options.flags(flags);
        options.open(path)
    }
    .map_err(lmdb_err(path))?;
    // Written append-only and synced before it is named, a snapshot's file is never shorter
    // than its header says unless it was damaged afterwards.
    check_not_truncated(&env, path)?;
    Ok(env)
}

/// Opens a complete snapshot for reading, creating nothing.
fn open_existing(path: &Path) -> Result<Option<(Env<WithoutTls>, Meta, Records)>, StoreError> {
    if !path.join("data.mdb").is_file() {
        return Ok(None);
    }
    let lmdb = lmdb_err(path);
    let env = open_raw(path, EnvFlags::empty())?;
    let rtxn = env.read_txn().map_err(&lmdb)?;
    let opened = env
        .open_databases_and_commit(rtxn, |opener, rtxn| -> heed::Result<_> {
            let meta = opener.open_database(rtxn, Some("meta"))?;
            let records = opener.open_database(rtxn, Some("records"))?;
            Ok(CommitOrAbort::<_, ()>::Commit(meta.zip(records)))
        })
        .map_err(&lmdb)?
        .unwrap_commit();
    match opened {
        Some((meta, records)) => Ok(Some((env, meta, records))),
        None => {
            close_env(env);
            Ok(None)
        }
    }
}

fn open_env(path: &Path) -> Result<(Env<WithoutTls>, Meta, Records), StoreError> {
    let lmdb = lmdb_err(path);
    let env = open_raw(path, EnvFlags::NO_SYNC)?;
    let wtxn = env.write_txn().map_err(&lmdb)?;
    let (meta, records) = env
        .create_databases_and_commit(wtxn, |opener, wtxn| -> heed::Result<_> {
            let meta = opener.create_database(wtxn, Some("meta"))?;
            let records = opener.create_database(wtxn, Some("records"))?;
            Ok(CommitOrAbort::<_, ()>::Commit((meta, records)))
        })
        .map_err(&lmdb)?
        .unwrap_commit();
    Ok((env, meta, records))
}

fn close_env(env: Env<WithoutTls>) {
    env.prepare_for_closing().wait();
}

fn write_env<I: Iterator<Item = Vec<u8>>>(
    path: &Path,
    records: &mut I,
    meta_values: impl FnOnce(&mut I) -> Vec<(&'static str, Vec<u8>)>,
) -> Result<(), StoreError> {
    let lmdb = lmdb_err(path);
    let (env, meta, db) = open_env(path)?;
    let mut seq = 0u64;
    // Peeking ends at the end of the records, so nothing is lost when `pending` is dropped.
    let mut pending = records.by_ref().peekable();
    let mut txns = 0usize;
    while pending.peek().is_some() {
        txns += 1;
        // Written out as it goes: a large snapshot's writeback all at once at the end would
        // queue the log's fsyncs (and so every write's reply) behind it.
        if txns % TXNS_PER_SYNC == 0 {
            env.force_sync().map_err(&lmdb)?;
        }
        let mut wtxn = env.write_txn().map_err(&lmdb)?;
        let (mut count, mut bytes) = (0, 0);
        while count < RECORDS_PER_TXN && bytes < BYTES_PER_TXN {
            let Some(record) = pending.next() else { break };
            db.put_with_flags(&mut wtxn, PutFlags::APPEND, &seq, &record).map_err(&lmdb)?;
            (seq, count, bytes) = (seq + 1, count + 1, bytes + record.len());
        }
        wtxn.commit().map_err(&lmdb)?;
    }
    // The header goes in last: a snapshot with a header has every record before it.
    let meta_values = meta_values(records);
    let mut wtxn = env.write_txn().map_err(&lmdb)?;
    for (key, value) in &meta_values {
        meta.put(&mut wtxn, key, value).map_err(&lmdb)?;
    }
    meta.put(&mut wtxn, FORMAT_KEY, SNAPSHOT_FORMAT.as_bytes()).map_err(&lmdb)?;
    wtxn.commit().map_err(&lmdb)?;
    env.force_sync().map_err(&lmdb)?;
    close_env(env);
    Ok(())
}

/// A snapshot opened for reading.
pub struct SnapshotReader {
    path: PathBuf,
    env: Env<WithoutTls>,
    meta: Meta,
    records: Records,
}

impl SnapshotReader {
    /// Opens a snapshot, refusing one without a header or with a format it does not know.
    pub fn open(path: &Path) -> Result<SnapshotReader, StoreError> {
        let Some((env, meta, records)) = open_existing(path)? else {
            return Err(StoreError::Incomplete { path: path.to_owned() });
        };
        let reader = SnapshotReader { path: path.to_owned(), env, meta, records };
        let result = match reader.meta(FORMAT_KEY)? {
            Some(found) if found == SNAPSHOT_FORMAT.as_bytes() => return Ok(reader),
            // The header is written last: without it the write never finished.
            None => StoreError::Incomplete { path: path.to_owned() },
            Some(found) => {
                let found = String::from_utf8_lossy(&found).into_owned();
                StoreError::UnknownSnapshotFormat { path: path.to_owned(), found }
            }
        };
        reader.close();
        Err(result)
    }

    fn txn(&self) -> Result<RoTxn<'_, WithoutTls>, StoreError> {
        self.env.read_txn().map_err(lmdb_err(&self.path))
    }

    pub fn meta(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let rtxn = self.txn()?;
        let value = self.meta.get(&rtxn, key).map_err(lmdb_err(&self.path))?;
        Ok(value.map(<[u8]>::to_vec))
    }

    /// Calls `f` with every record in the order written; stops at the first error `f` returns.
    pub fn for_each<E: From<StoreError>>(
        &self,
        mut f: impl FnMut(&[u8]) -> Result<(), E>,
    ) -> Result<(), E> {
        let rtxn = self.txn()?;
        for item in self.records.iter(&rtxn).map_err(lmdb_err(&self.path))? {
            let (_, record) = item.map_err(lmdb_err(&self.path))?;
            f(record)?;
        }
        Ok(())
    }

    pub fn close(self) {
        close_env(self.env);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn records(n: usize) -> impl Iterator<Item = Vec<u8>> {
        (0..n).map(|i| format!("record {i}").into_bytes())
    }

    #[test]
    fn a_written_snapshot_reads_back_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let snaps = SnapshotDir::open(dir.path()).unwrap();
        let file =
            snaps.write(7, &mut records(45_000), |_| vec![("state", b"header".to_vec())]).unwrap();
        let reader = SnapshotReader::open(&file.path).unwrap();
        assert_eq!(reader.meta("state").unwrap().as_deref(), Some(&b"header"[..]));
        let mut seen = Vec::new();
        reader
            .for_each(|r| {
                seen.push(r.to_vec());
                Ok::<_, StoreError>(())
            })
            .unwrap();
        reader.close();
        assert_eq!(seen, records(45_000).collect::<Vec<_>>());
        assert_eq!(snaps.newest().unwrap(), Some(file));
    }

    #[test]
    fn retention_keeps_the_newest_and_temporaries_are_cleared() {
        let dir = tempfile::tempdir().unwrap();
        let snaps = SnapshotDir::open(dir.path()).unwrap();
        for index in [3, 10, 20, 40] {
            snaps.write(index, &mut records(1), |_| vec![]).unwrap();
        }
        std::fs::create_dir(dir.path().join(format!("{TEMP_PREFIX}50"))).unwrap();
        let oldest = snaps.retain_newest(3).unwrap().unwrap();
        assert_eq!(oldest.index, 10);
        let snaps = SnapshotDir::open(dir.path()).unwrap();
        let left: Vec<u64> = snaps.list().unwrap().iter().map(|s| s.index).collect();
        assert_eq!(left, vec![10, 20, 40]);
        assert!(!dir.path().join(format!("{TEMP_PREFIX}50")).exists());
    }

    #[test]
    fn a_snapshot_of_another_format_or_without_header_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let snaps = SnapshotDir::open(dir.path()).unwrap();
        let file = snaps.write(1, &mut records(3), |_| vec![]).unwrap();
        {
            let (env, meta, _) = open_env(&file.path).unwrap();
            let mut wtxn = env.write_txn().unwrap();
            meta.put(&mut wtxn, FORMAT_KEY, b"corral-snapshot-99").unwrap();
            wtxn.commit().unwrap();
            close_env(env);
        }
        let err = SnapshotReader::open(&file.path).err().expect("refused");
        assert!(err.to_string().contains("corral-snapshot-99"), "{err}");
        let bare = dir.path().join("bare");
        std::fs::create_dir(&bare).unwrap();
        let err = SnapshotReader::open(&bare).err().expect("refused");
        assert!(matches!(err, StoreError::Incomplete { .. }), "{err}");
        assert!(!bare.join("data.mdb").exists(), "reading creates nothing");
    }

    #[test]
    fn a_truncated_snapshot_is_refused_before_it_is_read() {
        let dir = tempfile::tempdir().unwrap();
        let snaps = SnapshotDir::open(dir.path()).unwrap();
        let file = snaps.write(9, &mut records(50_000), |_| vec![]).unwrap();
        let data = file.path.join("data.mdb");
        let len = std::fs::metadata(&data).unwrap().len();
        std::fs::OpenOptions::new().write(true).open(&data).unwrap().set_len(len / 2).unwrap();
        let err = SnapshotReader::open(&file.path).err().expect("refused");
        assert!(matches!(err, StoreError::Truncated { .. }), "{err}");
    }

    #[test]
    fn a_snapshot_can_be_adopted_from_elsewhere() {
        let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let file =
            SnapshotDir::open(a.path()).unwrap().write(5, &mut records(10), |_| vec![]).unwrap();
        let adopted = SnapshotDir::open(b.path()).unwrap().adopt(&file.path, 5).unwrap();
        let reader = SnapshotReader::open(&adopted.path).unwrap();
        let mut count = 0;
        reader
            .for_each(|_| {
                count += 1;
                Ok::<_, StoreError>(())
            })
            .unwrap();
        reader.close();
        assert_eq!(count, 10);
    }
}
