//! The AdminServer's `environment` and `system_properties`: ZooKeeper reports its JVM's; corral
//! reports the same keys from the process and the machine, with `<NA>` (Java's own word for
//! an unset property) where a key names a JVM that corral does not have.

use std::collections::BTreeMap;

use super::commands::{Answer, Call};
use crate::four_letter::full_version;

const NOT_APPLICABLE: &str = "<NA>";

/// The environment's rows that are JVM system properties corral can answer too.
const STANDARD_PROPERTIES: &[&str] =
    &["java.io.tmpdir", "os.name", "os.arch", "os.version", "user.name", "user.home", "user.dir"];

/// ZooKeeper's `Environment.list()`, key for key (the admin `environment`, the `envi` word).
pub fn rows() -> Vec<(&'static str, String)> {
    let (free, max, total) = memory_mb();
    vec![
        ("zookeeper.version", full_version()),
        ("host.name", host_name()),
        ("java.version", NOT_APPLICABLE.into()),
        ("java.vendor", NOT_APPLICABLE.into()),
        ("java.home", NOT_APPLICABLE.into()),
        ("java.class.path", NOT_APPLICABLE.into()),
        ("java.library.path", NOT_APPLICABLE.into()),
        ("java.io.tmpdir", temp_dir()),
        ("java.compiler", NOT_APPLICABLE.into()),
        ("os.name", "Linux".into()),
        ("os.arch", java_arch().into()),
        ("os.version", os_release()),
        ("user.name", user_name()),
        ("user.home", home()),
        ("user.dir", current_dir()),
        ("os.memory.free", format!("{free}MB")),
        ("os.memory.max", format!("{max}MB")),
        ("os.memory.total", format!("{total}MB")),
    ]
}

pub fn environment(_: &Call, answer: &mut Answer) {
    for (key, value) in rows() {
        answer.fields.put(key, value);
    }
}

/// The `-D` properties corral was started with, and the standard ones it can answer, sorted.
pub fn system_properties(call: &Call, answer: &mut Answer) {
    let mut properties: BTreeMap<String, String> = rows()
        .into_iter()
        .filter(|(key, _)| STANDARD_PROPERTIES.contains(key))
        .map(|(key, value)| (key.to_owned(), value))
        .collect();
    for (key, value) in [("file.separator", "/"), ("line.separator", "\n"), ("path.separator", ":")]
    {
        properties.insert(key.to_owned(), value.to_owned());
    }
    properties.extend(call.node.config.jvm_properties.clone());
    for (key, value) in properties {
        answer.fields.put(key, value);
    }
}

/// Java's `os.arch` names: amd64 where Rust says x86_64.
fn java_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        other => other,
    }
}

fn host_name() -> String {
    let name = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
    name.trim().to_owned()
}

fn os_release() -> String {
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    release.trim().to_owned()
}

fn user_name() -> String {
    std::env::var("USER").or_else(|_| std::env::var("LOGNAME")).unwrap_or_else(|_| {
        // SAFETY: geteuid has no preconditions.
        let uid = unsafe { libc::geteuid() };
        if uid == 0 {
            "root".to_owned()
        } else {
            uid.to_string()
        }
    })
}

fn temp_dir() -> String {
    std::env::temp_dir().display().to_string()
}

fn home() -> String {
    std::env::var("HOME").unwrap_or_default()
}

fn current_dir() -> String {
    std::env::current_dir().map(|d| d.display().to_string()).unwrap_or_default()
}

/// Java's heap figures mapped onto the process: free is what the machine has available,
/// max what it has in all, total what this process holds (its resident set), in MiB.
fn memory_mb() -> (u64, u64, u64) {
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let field = |name: &str| {
        let line = meminfo.lines().find(|l| l.starts_with(name));
        let kb = line.and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok());
        kb.unwrap_or(0) / 1024
    };
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let rss = status.lines().find(|l| l.starts_with("VmRSS:"));
    let rss_kb = rss.and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok());
    (field("MemAvailable:"), field("MemTotal:"), rss_kb.unwrap_or(0) / 1024)
}
