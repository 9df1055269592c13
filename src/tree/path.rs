//! Znode path rules (ZooKeeper's PathUtils): validation, parents, child names and the
//! sequential suffix. Pure functions used by ops before and during apply.

/// Validates a path as ZooKeeper does for create (after the sequential suffix is appended),
/// setData, setACL and check.
pub fn validate(path: &str) -> bool {
    match path.strip_prefix('/') {
        None => false,
        Some("") => true,
        Some(rest) => rest.split('/').all(valid_component),
    }
}

fn valid_component(name: &str) -> bool {
    !name.is_empty() && name != "." && name != ".." && name.chars().all(allowed_char)
}

/// Characters ZooKeeper forbids, tested per UTF-16 code unit: controls, the C1 range, every
/// surrogate (so every non-BMP character), the private-use area, and U+FFF0..U+FFFF.
fn allowed_char(c: char) -> bool {
    let code = c as u32;
    !(code <= 0x1f
        || (0x7f..=0x9f).contains(&code)
        || (0xd800..=0xf8ff).contains(&code)
        || (0xfff0..=0xffff).contains(&code)
        || code > 0xffff)
}

/// The parent of `path`: `/` for top-level nodes, `None` for the root or a path without `/`.
pub fn parent(path: &str) -> Option<&str> {
    if path == "/" {
        return None;
    }
    let cut = path.rfind('/')?;
    Some(if cut == 0 { "/" } else { &path[..cut] })
}

/// The last component of `path` (what the parent lists as its child).
pub fn child_name(path: &str) -> &str {
    path.rfind('/').map_or(path, |cut| &path[cut + 1..])
}

/// Joins a parent path and a child name.
pub fn join(parent: &str, child: &str) -> String {
    if parent == "/" {
        format!("/{child}")
    } else {
        format!("{parent}/{child}")
    }
}

/// The sequential suffix: the counter formatted like Java's `%010d`, sign first, so negative
/// counters after a wrap are 11 characters (`-000000001`).
pub fn sequence_suffix(counter: i32) -> String {
    if counter < 0 {
        format!("-{:09}", (counter as i64).unsigned_abs())
    } else {
        format!("{counter:010}")
    }
}

/// True when `path` is `prefix` or lies below it.
pub fn is_within(path: &str, prefix: &str) -> bool {
    prefix == "/"
        || path == prefix
        || (path.starts_with(prefix) && path.as_bytes().get(prefix.len()) == Some(&b'/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_follows_path_utils() {
        for ok in ["/", "/a", "/a/b", "/.a", "/a..b", "/a b", "/ü"] {
            assert!(validate(ok), "{ok}");
        }
        for bad in ["", "a", "/a/", "//", "/a//b", "/.", "/a/..", "/a\0", "/\u{1}", "/\u{7f}"] {
            assert!(!validate(bad), "{bad:?}");
        }
        for bad in ["/\u{fffd}", "/\u{e000}", "/😀", "/\u{9f}"] {
            assert!(!validate(bad), "{bad:?}");
        }
    }

    #[test]
    fn parents_and_names() {
        assert_eq!(parent("/"), None);
        assert_eq!(parent("/a"), Some("/"));
        assert_eq!(parent("/a/b"), Some("/a"));
        assert_eq!(parent("a"), None);
        assert_eq!(child_name("/a/b"), "b");
        assert_eq!(join("/", "a"), "/a");
        assert_eq!(join("/a", "b"), "/a/b");
    }

    #[test]
    fn sequence_suffix_matches_java_format() {
        assert_eq!(sequence_suffix(1), "0000000001");
        assert_eq!(sequence_suffix(i32::MAX), "2147483647");
        assert_eq!(sequence_suffix(-1), "-000000001");
        assert_eq!(sequence_suffix(i32::MIN), "-2147483648");
    }

    #[test]
    fn within() {
        assert!(is_within("/a/b", "/a"));
        assert!(is_within("/a", "/a"));
        assert!(!is_within("/ab", "/a"));
        assert!(is_within("/x", "/"));
    }
}
