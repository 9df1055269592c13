//! An exclusive lock on a data directory (flock on the directory itself, released when the
//! process ends, however it ends), held by a running server and by `corral import` and
//! `export`, so that none of them works on storage another is using.

use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;
use std::path::Path;

/// Held for as long as it lives.
#[derive(Debug)]
pub struct DirLock {
    _dir: File,
}

impl DirLock {
    /// Locks `dir` (which exists), or says which directory another process holds.
    pub fn acquire(dir: &Path) -> io::Result<DirLock> {
        let at = |e: io::Error| io::Error::new(e.kind(), format!("{}: {e}", dir.display()));
        let handle = File::open(dir).map_err(at)?;
        // SAFETY: flock on a descriptor this function owns; no memory is shared.
        let locked = unsafe { libc::flock(handle.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
        if locked != 0 {
            let error = io::Error::last_os_error();
            return Err(match error.kind() {
                io::ErrorKind::WouldBlock => io::Error::new(
                    io::ErrorKind::WouldBlock,
                    format!("{} is in use by another corral process", dir.display()),
                ),
                _ => at(error),
            });
        }
        Ok(DirLock { _dir: handle })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_is_refused_until_the_first_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let first = DirLock::acquire(dir.path()).unwrap();
        let refused = DirLock::acquire(dir.path()).unwrap_err();
        assert!(refused.to_string().contains("in use"), "{refused}");
        drop(first);
        DirLock::acquire(dir.path()).unwrap();
    }
}
