//! `corral export`: a stopped corral's state (its newest snapshot and the log after it)
//! written as a ZooKeeper snapshot, `version-2/snapshot.<zxid>`, which ZooKeeper 3.8 and 3.9
//! start on as they would on their own. A member of an ensemble also gets its `myid`.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use super::{
    io_at, lock_data_dir, refuse_if_serving, snapfile, sync_dir, zkdir, MigrateError, Progress,
};
use crate::config::Config;
use crate::metrics::Metrics;
use crate::ops::ApplyConfig;
use crate::replication::offline;
use crate::server::setup::replication_settings;
use crate::tree::acl::AclPolicy;

pub struct ExportOptions {
    /// The ZooKeeper dataDir to write into.
    pub to: PathBuf,
    /// Write even if the directory already holds ZooKeeper data.
    pub replace: bool,
    pub quiet: bool,
}

pub struct ExportSummary {
    pub snapshot: PathBuf,
    pub znodes: usize,
    pub sessions: usize,
    pub zxid: i64,
    pub bytes: u64,
    pub elapsed: Duration,
}

impl std::fmt::Display for ExportSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "exported to {}", self.snapshot.display())?;
        writeln!(f, "  znodes:    {}", self.znodes)?;
        writeln!(f, "  sessions:  {}", self.sessions)?;
        writeln!(f, "  last zxid: {:#x}", self.zxid)?;
        writeln!(f, "  bytes:     {}", self.bytes)?;
        write!(f, "  time:      {:.2}s", self.elapsed.as_secs_f64())
    }
}

/// Exports the storage that `config` names.
pub fn run(config: &Config, options: &ExportOptions) -> Result<ExportSummary, MigrateError> {
    refuse_if_serving(config.client_addr)?;
    let _lock = lock_data_dir(config)?;
    let target = zkdir::version_dir(&options.to);
    let existing = existing_zookeeper_files(&target, options.replace)?;
    let settings = replication_settings(config, &Arc::new(Metrics::default()));
    if !offline::storage_in_use(&settings)? {
        return Err(MigrateError::NoCorralData(settings.dirs.log.clone()));
    }
    let apply_config = ApplyConfig {
        acl: AclPolicy { skip_acl: config.skip_acl, sasl_enabled: config.sasl_enabled },
        extended_types: config.extended_types_enabled,
        enforce_quota: config.enforce_quota,
    };
    let state = offline::load_state(&settings, |state, entry| {
        state.apply(entry, &apply_config);
    })?;
    // Only now that the state is read is anything in the target removed.
    remove(&existing)?;
    std::fs::create_dir_all(&target).map_err(io_at(&target))?;
    let name = format!("snapshot.{:x}", state.last_zxid);
    let (temp, file) = (target.join(format!(".{name}.tmp")), target.join(&name));
    let progress = Progress::new("export", state.tree.node_count() as u64, options.quiet);
    let written = snapfile::write(&temp, &state, &progress);
    progress.finish();
    let bytes = written?;
    std::fs::rename(&temp, &file).map_err(io_at(&file))?;
    sync_dir(&target)?;
    if config.ensemble.is_distributed() {
        write_myid(&options.to, config.server_id)?;
    }
    Ok(ExportSummary {
        snapshot: file,
        znodes: state.tree.node_count() - 1,
        sessions: state.sessions.len(),
        zxid: state.last_zxid,
        bytes,
        elapsed: progress.elapsed(),
    })
}

/// ZooKeeper starts on the newest snapshot and the logs after it: older data in the target
/// would be mixed with the export. Returns what `--replace` will remove (once the export is
/// ready to be written).
fn existing_zookeeper_files(target: &Path, replace: bool) -> Result<Vec<PathBuf>, MigrateError> {
    if !target.exists() {
        return Ok(Vec::new());
    }
    let mut files: Vec<PathBuf> =
        zkdir::list(target, "snapshot")?.into_iter().map(|f| f.path).collect();
    files.extend(zkdir::list(target, "log")?.into_iter().map(|f| f.path));
    if files.is_empty() {
        return Ok(files);
    }
    if !replace {
        return Err(MigrateError::NotEmpty(target.to_owned()));
    }
    files.extend(["currentEpoch", "acceptedEpoch"].map(|name| target.join(name)));
    Ok(files)
}

fn remove(files: &[PathBuf]) -> Result<(), MigrateError> {
    for file in files.iter().filter(|f| f.exists()) {
        std::fs::remove_file(file).map_err(io_at(file))?;
    }
    Ok(())
}

fn write_myid(data_dir: &Path, id: u8) -> Result<(), MigrateError> {
    let path = data_dir.join("myid");
    if !path.exists() {
        std::fs::write(&path, format!("{id}\n")).map_err(io_at(&path))?;
    }
    Ok(())
}
