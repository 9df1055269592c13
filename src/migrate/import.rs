//! `corral import`: a ZooKeeper data directory becomes corral's storage. The tree is loaded
//! and replayed as ZooKeeper would load it, then written as the seed of new storage in a
//! staging directory beside the real one, which is renamed into place only when complete.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::zkdir::{self, LoadReport};
use super::{io_at, lock_data_dir, refuse_if_serving, sync_dir, MigrateError, Progress};
use crate::config::Config;
use crate::metrics::Metrics;
use crate::replication::{offline, Settings};
use crate::server::setup::{ensemble_settings, replication_settings};
use crate::state::ZkState;

const STAGING: &str = "corral.import-tmp";
const REPLACED: &str = "corral.replaced-tmp";

pub struct ImportOptions {
    /// ZooKeeper's dataDir (or its version-2 directory).
    pub data_dir: PathBuf,
    /// ZooKeeper's dataLogDir, when it is not the dataDir.
    pub log_dir: Option<PathBuf>,
    /// Overwrite corral storage that already holds data.
    pub replace: bool,
    pub quiet: bool,
}

/// What an import did, for its summary.
pub struct ImportSummary {
    pub znodes: usize,
    pub sessions: usize,
    pub zxid: i64,
    pub report: LoadReport,
    /// Writing corral's storage.
    pub write_time: Duration,
    pub elapsed: Duration,
}

impl std::fmt::Display for ImportSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let r = &self.report;
        let snapshot = r.snapshot.as_deref().unwrap_or(Path::new("-")).display();
        writeln!(f, "imported {snapshot} and {} log file(s)", r.logs.len())?;
        writeln!(f, "  znodes:        {}", self.znodes)?;
        writeln!(f, "  txns replayed: {}", r.txns)?;
        writeln!(f, "  sessions:      {}", self.sessions)?;
        writeln!(f, "  last zxid:     {:#x}", self.zxid)?;
        writeln!(
            f,
            "  digests:       {} checked, {} differ",
            r.digests_checked, r.digest_mismatches
        )?;
        let secs = |d: Duration| d.as_secs_f64();
        write!(
            f,
            "  time:          {:.2}s (snapshot {:.2}s, logs {:.2}s, writing {:.2}s)",
            secs(self.elapsed),
            secs(r.snapshot_time),
            secs(r.replay_time),
            secs(self.write_time)
        )
    }
}

/// Imports into the storage that `config` names.
pub fn run(config: &Config, options: &ImportOptions) -> Result<ImportSummary, MigrateError> {
    refuse_if_serving(config.client_addr)?;
    let _lock = lock_data_dir(config)?;
    let metrics = Arc::new(Metrics::default());
    let settings = replication_settings(config, &metrics);
    if offline::storage_in_use(&settings)? && !options.replace {
        return Err(MigrateError::NotEmpty(settings.dirs.log.clone()));
    }
    for dir in std::iter::once(&options.data_dir).chain(&options.log_dir) {
        if !dir.is_dir() {
            return Err(MigrateError::NotADirectory(dir.clone()));
        }
    }
    let snap_dir = zkdir::version_dir(&options.data_dir);
    let log_dir = zkdir::version_dir(options.log_dir.as_deref().unwrap_or(&options.data_dir));
    let total = zkdir::bytes_to_read(&snap_dir, &log_dir);
    let progress = Progress::new("import", total, options.quiet);
    let max_record = config.max_frame_bytes + 1024;
    let loaded = zkdir::load(&snap_dir, &log_dir, max_record, &progress);
    progress.finish();
    let (state, report) = loaded?;
    let ensemble = config.ensemble.is_distributed().then(|| ensemble_settings(config));
    let started = Instant::now();
    let staged = Staged::new(config);
    staged.clear()?;
    let seeded = Settings { dirs: staged.dirs(&settings), ..settings.clone() };
    if let Err(e) = offline::seed(&seeded, ensemble.as_ref(), &state) {
        // Nothing was replaced; what was written must not fill the disk.
        let _ = staged.clear();
        return Err(e.into());
    }
    staged.commit(&settings)?;
    let summary = summary(&state, report, started.elapsed(), &progress);
    // The command ends here: freeing a million nodes one by one would cost a tenth of it.
    std::mem::forget(state);
    Ok(summary)
}

fn summary(
    state: &ZkState,
    report: LoadReport,
    write_time: Duration,
    progress: &Progress,
) -> ImportSummary {
    ImportSummary {
        write_time,
        // Without ZooKeeper's double count of the root.
        znodes: state.tree.node_count() - 1,
        sessions: state.sessions.len(),
        zxid: state.last_zxid,
        report,
        elapsed: progress.elapsed(),
    }
}

/// Where the new storage is written before it is renamed into place: beside the real
/// directories, so the rename stays on one file system.
struct Staged {
    data: PathBuf,
    /// `None` when the log lives under the data directory.
    log: Option<PathBuf>,
}

impl Staged {
    fn new(config: &Config) -> Staged {
        let data = config.data_dir.join(STAGING);
        let log =
            (config.data_log_dir != config.data_dir).then(|| config.data_log_dir.join(STAGING));
        Staged { data, log }
    }

    /// Removes what an interrupted import left.
    fn clear(&self) -> Result<(), MigrateError> {
        for dir in std::iter::once(&self.data).chain(&self.log) {
            if dir.exists() {
                std::fs::remove_dir_all(dir).map_err(io_at(dir))?;
            }
        }
        Ok(())
    }

    /// The staged counterparts of the real directories in `settings`.
    fn dirs(&self, settings: &Settings) -> crate::replication::StorageDirs {
        let log = self.log.clone().unwrap_or_else(|| self.data.clone());
        crate::replication::StorageDirs {
            log,
            snapshots: self.data.join("snapshots"),
            log_map_size: settings.dirs.log_map_size,
        }
    }

    /// Renames the staged directories over the real ones: the log first, then the
    /// snapshots, so a crash in between leaves a log purged past any snapshot, which the
    /// server refuses to start on, rather than an empty tree.
    fn commit(&self, settings: &Settings) -> Result<(), MigrateError> {
        let real_data = settings.dirs.snapshots.parent().expect("snapshots has a parent");
        if let Some(staged_log) = &self.log {
            swap_in(staged_log, &settings.dirs.log)?;
        }
        swap_in(&self.data, real_data)
    }
}

/// Replaces `real` with `staged` (one rename when `real` does not exist).
fn swap_in(staged: &Path, real: &Path) -> Result<(), MigrateError> {
    let parent = real.parent().expect("storage has a parent");
    sync_tree(staged)?;
    if real.exists() {
        let old = parent.join(REPLACED);
        if old.exists() {
            std::fs::remove_dir_all(&old).map_err(io_at(&old))?;
        }
        std::fs::rename(real, &old).map_err(io_at(real))?;
        std::fs::rename(staged, real).map_err(io_at(real))?;
        sync_dir(parent)?;
        std::fs::remove_dir_all(&old).map_err(io_at(&old))?;
    } else {
        std::fs::rename(staged, real).map_err(io_at(real))?;
    }
    sync_dir(parent)
}

/// Fsyncs every file and directory under `dir`.
fn sync_tree(dir: &Path) -> Result<(), MigrateError> {
    for entry in std::fs::read_dir(dir).map_err(io_at(dir))? {
        let path = entry.map_err(io_at(dir))?.path();
        if path.is_dir() {
            sync_tree(&path)?;
        } else {
            std::fs::File::open(&path).and_then(|f| f.sync_all()).map_err(io_at(&path))?;
        }
    }
    sync_dir(dir)
}
