//! The process's own numbers, read from /proc when asked: open and allowed file descriptors
//! (mntr's and Prometheus's), and the `process_*` family ZooKeeper's Prometheus provider
//! exports from its JVM, under the same names.

/// Seconds, bytes and counts of this process; zero where /proc cannot be read.
#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub struct ProcessSample {
    pub cpu_seconds: f64,
    pub start_time_seconds: f64,
    pub open_fds: u64,
    pub max_fds: u64,
    pub virtual_memory_bytes: u64,
    pub resident_memory_bytes: u64,
}

pub fn open_fds() -> u64 {
    std::fs::read_dir("/proc/self/fd").map(|d| d.count() as u64).unwrap_or(0)
}

/// The soft limit on open files (`Max open files` in /proc/self/limits).
pub fn max_fds() -> u64 {
    let limits = std::fs::read_to_string("/proc/self/limits").unwrap_or_default();
    limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .and_then(|l| l.split_whitespace().nth(3))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

pub fn sample() -> ProcessSample {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let fields = stat_fields(&stat);
    let field = |n: usize| fields.get(n).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    // SAFETY: sysconf only reads a constant of the running system.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
    // SAFETY: as above.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) }.max(1) as u64;
    ProcessSample {
        // Fields are numbered from 1 in proc(5); `fields` starts at field 3 (state).
        cpu_seconds: (field(14 - 3) + field(15 - 3)) as f64 / ticks,
        start_time_seconds: boot_time() as f64 + field(22 - 3) as f64 / ticks,
        open_fds: open_fds(),
        max_fds: max_fds(),
        virtual_memory_bytes: field(23 - 3),
        resident_memory_bytes: field(24 - 3) * page,
    }
}

/// The fields after the command name, which may itself hold spaces and parentheses.
fn stat_fields(stat: &str) -> Vec<&str> {
    stat.rfind(')').map(|end| stat[end + 1..].split_whitespace().collect()).unwrap_or_default()
}

fn boot_time() -> u64 {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let line = stat.lines().find(|l| l.starts_with("btime "));
    line.and_then(|l| l[6..].trim().parse().ok()).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_command_name_with_spaces_and_parentheses_is_skipped() {
        let stat = "42 (a (b) c) S 1 2 3";
        assert_eq!(stat_fields(stat), vec!["S", "1", "2", "3"]);
    }

    #[test]
    fn this_process_has_memory_files_and_a_start_time() {
        let s = sample();
        assert!(s.resident_memory_bytes > 0 && s.virtual_memory_bytes >= s.resident_memory_bytes);
        assert!(s.open_fds > 0 && s.max_fds >= s.open_fds);
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap();
        assert!(s.start_time_seconds > 1.0e9 && s.start_time_seconds <= now.as_secs_f64() + 1.0);
    }
}
