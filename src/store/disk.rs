//! How much disk the server's files take: the `dirs` answers and snapshot sizes.

use std::path::Path;

/// The bytes of `path` (a file), or of every file under it (a directory), leaving out what
/// is under `skip`; 0 for what cannot be read.
pub fn bytes_under(path: &Path, skip: Option<&Path>) -> u64 {
    let Ok(entries) = std::fs::read_dir(path) else {
        return std::fs::metadata(path).map_or(0, |m| if m.is_file() { m.len() } else { 0 });
    };
    entries
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|p| Some(p.as_path()) != skip)
        .map(|p| bytes_under(&p, skip))
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_files_below_and_leaves_out_what_it_is_told_to() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("a/b")).unwrap();
        std::fs::create_dir_all(dir.path().join("skip")).unwrap();
        std::fs::write(dir.path().join("top"), [0u8; 3]).unwrap();
        std::fs::write(dir.path().join("a/b/deep"), [0u8; 5]).unwrap();
        std::fs::write(dir.path().join("skip/x"), [0u8; 100]).unwrap();
        let skip = dir.path().join("skip");
        assert_eq!(bytes_under(dir.path(), Some(&skip)), 8);
        assert_eq!(bytes_under(dir.path(), None), 108);
        assert_eq!(bytes_under(&dir.path().join("top"), None), 3);
        assert_eq!(bytes_under(&dir.path().join("missing"), None), 0);
    }
}
