//! Moving between ZooKeeper and corral, offline: `corral import` reads a ZooKeeper data
//! directory (its newest snapshot and the logs after it) and writes corral's storage from it;
//! `corral export` writes corral's state as a ZooKeeper snapshot. Neither runs beside a server.

use std::path::{Path, PathBuf};

pub mod export;
pub mod import;
mod progress;
pub mod replay;
pub mod snapfile;
mod stream;
pub mod txnlog;
pub mod zkdir;

#[cfg(test)]
mod tests;

pub use progress::Progress;

use crate::replication::ReplicationError;

/// Something wrong with one file, and where.
#[derive(Debug, thiserror::Error)]
#[error("{}{}: {message}", path.display(), offset.map(|o| format!(" (at byte {o})")).unwrap_or_default())]
pub struct FileError {
    pub path: PathBuf,
    pub offset: Option<u64>,
    pub message: String,
    /// The file is of a format this version does not know (not damage): an older file
    /// must not be taken in its place.
    pub unknown_format: bool,
}

impl FileError {
    pub fn new(path: &Path, message: String) -> FileError {
        FileError { path: path.to_owned(), offset: None, message, unknown_format: false }
    }

    pub fn at(path: &Path, offset: u64, message: String) -> FileError {
        FileError { offset: Some(offset), ..FileError::new(path, message) }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum MigrateError {
    #[error(transparent)]
    File(#[from] FileError),
    #[error("{0} holds no ZooKeeper snapshot (snapshot.<zxid>)")]
    NoSnapshot(PathBuf),
    #[error("no snapshot reads whole: {}", .0.join("; "))]
    NoValidSnapshot(Vec<String>),
    #[error(
        "{}: a gap in the zxids: {found:#x} follows {after:#x} (a log file is missing)",
        file.display()
    )]
    Gap { file: PathBuf, after: i64, found: i64 },
    #[error("{0} already holds data; pass --replace to overwrite it")]
    NotEmpty(PathBuf),
    #[error("{0} holds no corral data to export (is --config the server's zoo.cfg?)")]
    NoCorralData(PathBuf),
    #[error("{0} is not a directory")]
    NotADirectory(PathBuf),
    #[error("a server answers on {0}: stop it first")]
    ServerRunning(std::net::SocketAddr),
    #[error(transparent)]
    Replication(#[from] ReplicationError),
    #[error("{path}: {source}", path = .0.display(), source = .1)]
    Io(PathBuf, std::io::Error),
}

/// Whether a server is listening at `addr` (a migration must not run beside one).
fn refuse_if_serving(addr: std::net::SocketAddr) -> Result<(), MigrateError> {
    let probe = match addr.ip().is_unspecified() {
        true => std::net::SocketAddr::new(std::net::Ipv4Addr::LOCALHOST.into(), addr.port()),
        false => addr,
    };
    let timeout = std::time::Duration::from_millis(300);
    match std::net::TcpStream::connect_timeout(&probe, timeout) {
        Ok(_) => Err(MigrateError::ServerRunning(probe)),
        Err(_) => Ok(()),
    }
}

/// The lock a running server holds on its dataDir (created if missing, as a server does).
fn lock_data_dir(
    config: &crate::config::Config,
) -> Result<crate::store::lock::DirLock, MigrateError> {
    let dir = &config.data_dir;
    std::fs::create_dir_all(dir).map_err(io_at(dir))?;
    crate::store::lock::DirLock::acquire(dir).map_err(io_at(dir))
}

fn io_at(path: &Path) -> impl FnOnce(std::io::Error) -> MigrateError + '_ {
    move |e| MigrateError::Io(path.to_owned(), e)
}

/// Fsyncs a directory, so a rename in it is durable.
fn sync_dir(dir: &Path) -> Result<(), MigrateError> {
    std::fs::File::open(dir).and_then(|d| d.sync_all()).map_err(io_at(dir))
}
