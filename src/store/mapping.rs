//! The log's memory map as this process sees it, so pages that LMDB only read once (at start-up,
//! or while purging) can be let go instead of staying in the RSS. LMDB does not say where its
//! map is (its `mdb_env_info` reports only a fixed address), so the kernel's list of mappings is
//! asked for the one of the data file.

use std::path::Path;

/// One read-only shared mapping of a file.
#[derive(Debug, Clone, Copy)]
pub struct FileMapping {
    start: usize,
    len: usize,
}

impl FileMapping {
    /// The mapping of `file` in this process, if there is exactly one.
    pub fn find(file: &Path) -> Option<FileMapping> {
        let file = std::fs::canonicalize(file).ok()?;
        let maps = std::fs::read_to_string("/proc/self/maps").ok()?;
        let mut found = maps.lines().filter_map(|line| parse(line, &file));
        let mapping = found.next()?;
        found.next().is_none().then_some(mapping)
    }

    /// Drops this process's page table entries for the whole mapping; the pages stay in the
    /// kernel's file cache.
    pub fn release(&self) {
        // SAFETY: the mapping is LMDB's map of its data file, shared and read-only: LMDB
        // (without WRITEMAP) writes with pwrite, never through the map. MADV_DONTNEED on such
        // a mapping changes no byte anyone reads: the next access faults the page in again
        // from the file cache, with what the file holds.
        let rc = unsafe {
            libc::madvise(self.start as *mut libc::c_void, self.len, libc::MADV_DONTNEED)
        };
        if rc != 0 {
            let error = std::io::Error::last_os_error();
            tracing::debug!(%error, "could not release the log's mapped pages");
        }
    }
}

/// A `/proc/self/maps` line: `start-end perms offset dev inode path`.
fn parse(line: &str, file: &Path) -> Option<FileMapping> {
    let mut fields = line.splitn(6, ' ');
    let range = fields.next()?;
    let perms = fields.next()?;
    let path = fields.nth(3)?.trim_start();
    if !perms.starts_with("r--s") || Path::new(path) != file {
        return None;
    }
    let (start, end) = range.split_once('-')?;
    let start = usize::from_str_radix(start, 16).ok()?;
    let end = usize::from_str_radix(end, 16).ok()?;
    Some(FileMapping { start, len: end.checked_sub(start)? })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_data_files_shared_read_only_mapping_is_picked() {
        let file = Path::new("/data/corral/log/data.mdb");
        let line = "7f3380000000-7f4380000000 r--s 00000000 fe:00 10010916                   /data/corral/log/data.mdb";
        let mapping = parse(line, file).expect("found");
        assert_eq!((mapping.start, mapping.len), (0x7f3380000000, 0x1000000000));
        let private = line.replace("r--s", "rw-p");
        assert!(parse(&private, file).is_none());
        assert!(parse(line, Path::new("/data/corral/log/lock.mdb")).is_none());
        assert!(parse("7f43-7f44 rw-p 00000000 00:00 0 ", file).is_none());
    }

    /// The mapping's resident KiB, from this process's smaps.
    fn resident_kib(mapping: &FileMapping) -> u64 {
        let smaps = std::fs::read_to_string("/proc/self/smaps").unwrap();
        let header = format!("{:x}-", mapping.start);
        let block = smaps.split_once(&*header).expect("listed").1;
        let rss = block.lines().find(|l| l.starts_with("Rss:")).expect("Rss line");
        rss.split_whitespace().nth(1).unwrap().parse().unwrap()
    }

    #[test]
    fn read_pages_leave_the_rss_when_released_and_read_again_after() {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::store::LogStore::open(dir.path()).unwrap();
        let entries: Vec<(u64, Vec<u8>)> =
            (1..=256).map(|i| (i, vec![i as u8; 64 << 10])).collect();
        for chunk in entries.chunks(64) {
            store.append(chunk, None).unwrap();
        }
        let mapping = FileMapping::find(&store.path().join("data.mdb")).expect("mapped");
        let read = store.range(1, 257, usize::MAX).unwrap();
        assert_eq!(read, entries);
        assert!(resident_kib(&mapping) >= 16 << 10, "reading 16 MiB maps it");
        mapping.release();
        assert!(resident_kib(&mapping) < 1 << 10, "{} KiB left", resident_kib(&mapping));
        assert_eq!(store.range(1, 257, usize::MAX).unwrap(), entries, "the same bytes read again");
    }
}
