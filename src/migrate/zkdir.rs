//! A ZooKeeper data directory as its server reads it at start-up: the newest snapshot that
//! reads whole (`snapshot.<zxid>` in dataDir/version-2), then every logged txn after its zxid
//! (`log.<zxid>` in dataLogDir/version-2, in zxid order), replayed onto it. Gaps, damage and
//! formats this version does not know are refused, naming the file.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::snapfile::{self, ZxidDigest};
use super::txnlog::LogFile;
use super::{replay, FileError, MigrateError, Progress};
use crate::state::ZkState;

/// The longest log record ZooKeeper reads by default: jute.maxbuffer and 1 KiB more.
pub const DEFAULT_MAX_RECORD: usize = jute::DEFAULT_MAX_FRAME_BYTES + 1024;

/// Where ZooKeeper keeps its files under a dataDir or dataLogDir.
const VERSION_DIR: &str = "version-2";

/// A file of the directory and the zxid its name gives.
#[derive(Debug, Clone)]
pub struct NamedFile {
    pub zxid: i64,
    pub path: PathBuf,
}

/// What loading found, for the summary.
#[derive(Debug, Default)]
pub struct LoadReport {
    pub snapshot: Option<PathBuf>,
    pub logs: Vec<PathBuf>,
    pub txns: u64,
    /// Logged digests compared with the replayed tree, and how many differed.
    pub digests_checked: u64,
    pub digest_mismatches: u64,
    pub warnings: Vec<String>,
    /// Time reading the snapshot, and replaying the logs.
    pub snapshot_time: Duration,
    pub replay_time: Duration,
}

/// `dir/version-2`, or `dir` itself if it is already that.
pub fn version_dir(dir: &Path) -> PathBuf {
    if dir.file_name().is_some_and(|n| n == VERSION_DIR) {
        dir.to_owned()
    } else {
        dir.join(VERSION_DIR)
    }
}

/// The files named `<prefix>.<hex zxid>` in `dir`, oldest first. Compressed snapshots are
/// named too, so they can be refused by name.
pub fn list(dir: &Path, prefix: &str) -> Result<Vec<NamedFile>, MigrateError> {
    let entries = std::fs::read_dir(dir).map_err(|e| FileError::new(dir, e.to_string()))?;
    let mut files = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| FileError::new(dir, e.to_string()))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let mut parts = name.split('.');
        if parts.next() != Some(prefix) {
            continue;
        }
        let zxid = parts
            .next()
            .filter(|hex| !hex.is_empty() && hex.bytes().all(|b| b.is_ascii_hexdigit()))
            .and_then(|hex| i64::from_str_radix(hex, 16).ok());
        // A FIFO or device would block or never end; ZooKeeper reads plain files.
        let is_file = std::fs::metadata(entry.path()).is_ok_and(|m| m.is_file());
        if let (Some(zxid), true) = (zxid, is_file) {
            files.push(NamedFile { zxid, path: entry.path() });
        }
    }
    files.sort_by_key(|f| f.zxid);
    Ok(files)
}

/// Total bytes of the files a load would read, for progress.
pub fn bytes_to_read(snap_dir: &Path, log_dir: &Path) -> u64 {
    let size = |f: &NamedFile| std::fs::metadata(&f.path).map_or(0, |m| m.len());
    let snap = list(snap_dir, "snapshot").ok().and_then(|s| s.last().map(size)).unwrap_or(0);
    let logs: u64 = list(log_dir, "log").map(|l| l.iter().map(size).sum()).unwrap_or(0);
    snap + logs
}

/// Loads the state ZooKeeper would start with from `snap_dir` and `log_dir` (each a
/// `version-2` directory).
pub fn load(
    snap_dir: &Path,
    log_dir: &Path,
    max_record: usize,
    progress: &Progress,
) -> Result<(ZkState, LoadReport), MigrateError> {
    let mut report = LoadReport::default();
    let started = Instant::now();
    let (mut state, digest, snap_bytes) = newest_snapshot(snap_dir, progress, &mut report)?;
    let added = state.tree.ensure_system_nodes();
    if !added.is_empty() {
        report.warnings.push(format!("the snapshot lacked {}; added", added.join(", ")));
    }
    replay::recompute_quotas(&mut state.tree);
    report.snapshot_time = started.elapsed();
    let started = Instant::now();
    let snapshot_zxid = state.last_zxid;
    let logs = logs_after(log_dir, snapshot_zxid)?;
    let base = snap_bytes;
    let mut replayer = Replayer { state, digest, report, base, last: snapshot_zxid, max_record };
    replayer.check_snapshot_digest(snapshot_zxid);
    for log in &logs {
        replayer.replay_file(log, progress)?;
    }
    if let Some(d) = replayer.digest {
        replayer.report.warnings.push(format!(
            "the logs end at zxid {:#x}, before {:#x}, the last change the snapshot holds: \
             the tree may be missing changes (were the logs in another directory? see \
             --zookeeper-log-dir)",
            replayer.last, d.zxid
        ));
    }
    let Replayer { mut state, mut report, .. } = replayer;
    report.replay_time = started.elapsed();
    let dead = replay::drop_dead_ephemerals(&mut state);
    if dead > 0 {
        report.warnings.push(format!(
            "the ephemerals of {dead} session(s) that the data no longer lists were deleted, as \
             ZooKeeper deletes them when it starts"
        ));
    }
    Ok((state, report))
}

/// The newest snapshot that reads whole; a damaged one is passed over for an older one, as
/// ZooKeeper does, with a warning. A format this version does not know is refused.
fn newest_snapshot(
    dir: &Path,
    progress: &Progress,
    report: &mut LoadReport,
) -> Result<(ZkState, Option<ZxidDigest>, u64), MigrateError> {
    let files = list(dir, "snapshot")?;
    if files.is_empty() {
        return Err(MigrateError::NoSnapshot(dir.to_owned()));
    }
    let mut problems = Vec::new();
    for file in files.iter().rev() {
        let name = file.path.file_name().unwrap_or_default().to_string_lossy();
        if name.ends_with(".gz") || name.ends_with(".snappy") {
            return Err(FileError::new(
                &file.path,
                "a compressed snapshot (zookeeper.snapshot.compression.method), which corral \
                 cannot read: start ZooKeeper once without compression so it writes a plain one"
                    .into(),
            )
            .into());
        }
        match snapfile::read(&file.path, file.zxid, progress) {
            Ok(loaded) => {
                report.warnings.extend(problems.iter().map(|p| format!("skipped {p}")));
                report.snapshot = Some(file.path.clone());
                let bytes = std::fs::metadata(&file.path).map_or(0, |m| m.len());
                return Ok((loaded.state, loaded.digest, bytes));
            }
            Err(e) if e.unknown_format => return Err(e.into()),
            Err(e) => problems.push(e.to_string()),
        }
    }
    Err(MigrateError::NoValidSnapshot(problems))
}

/// The log files that may hold txns after `zxid`: those starting after it, and the last one
/// starting at or before it.
fn logs_after(dir: &Path, zxid: i64) -> Result<Vec<NamedFile>, MigrateError> {
    let all = match list(dir, "log") {
        Ok(all) => all,
        Err(_) if !dir.exists() => Vec::new(),
        Err(e) => return Err(e),
    };
    // A snapshot's own directory may hold no logs (they live in dataLogDir).
    let first = all.iter().rposition(|f| f.zxid <= zxid).unwrap_or(0);
    Ok(all.into_iter().skip(first).collect())
}

struct Replayer {
    state: ZkState,
    /// The snapshot's digest, until the replay reaches its zxid (the snapshot is fuzzy
    /// before then, and the logged digests cannot match yet).
    digest: Option<ZxidDigest>,
    report: LoadReport,
    /// Bytes of the files already read, for progress.
    base: u64,
    last: i64,
    max_record: usize,
}

impl Replayer {
    fn replay_file(&mut self, named: &NamedFile, progress: &Progress) -> Result<(), MigrateError> {
        let mut log = LogFile::open(&named.path, self.max_record)?;
        self.report.logs.push(named.path.clone());
        while let Some(logged) = log.next_txn()? {
            let zxid = logged.header.zxid;
            if zxid <= self.last {
                continue;
            }
            self.check_contiguous(&log, zxid)?;
            replay::apply(&mut self.state, &logged);
            self.last = zxid;
            self.report.txns += 1;
            self.check_digest(zxid, logged.digest);
            progress.txn();
            progress.at(self.base + log.offset());
        }
        if let Some(why) = &log.ended_early {
            self.report
                .warnings
                .push(format!("{}: {why}; later files continue", log.path().display()));
        }
        self.base += log.file_len();
        Ok(())
    }

    /// Within an epoch, zxids follow one another; a new epoch may start anywhere.
    fn check_contiguous(&self, log: &LogFile, zxid: i64) -> Result<(), MigrateError> {
        let (epoch, last_epoch) = (zxid >> 32, self.last >> 32);
        if epoch == last_epoch && zxid != self.last + 1 {
            return Err(MigrateError::Gap {
                file: log.path().to_owned(),
                after: self.last,
                found: zxid,
            });
        }
        Ok(())
    }

    fn check_snapshot_digest(&mut self, zxid: i64) {
        if let Some(d) = self.digest.filter(|d| d.zxid == zxid) {
            self.compare(zxid, d.digest);
            self.digest = None;
        } else if self.digest.is_some_and(|d| d.zxid < zxid) {
            self.digest = None;
        }
    }

    fn check_digest(&mut self, zxid: i64, logged: Option<i64>) {
        if self.digest.is_some() {
            self.check_snapshot_digest(zxid);
        } else if let Some(expected) = logged {
            self.compare(zxid, expected);
        }
    }

    fn compare(&mut self, zxid: i64, expected: i64) {
        self.report.digests_checked += 1;
        let actual = self.state.tree.digest();
        if actual != expected {
            self.report.digest_mismatches += 1;
            if self.report.digest_mismatches == 1 {
                self.report.warnings.push(format!(
                    "the tree digest after zxid {zxid:#x} is {actual}, where ZooKeeper logged \
                     {expected}"
                ));
            }
        }
    }
}
