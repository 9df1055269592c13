//! Gives freed heap back to the system after a burst. glibc keeps what is freed in its arenas
//! (one per thread that allocated, spread over the heap), so RSS stays at a burst's peak
//! (10,000 sessions, a slow reader's replies) long after the burst. A job beside the server
//! compares every few seconds the process's anonymous RSS with the bytes it has allocated
//! and, when much of the RSS is freed memory, trims.

use std::time::Duration;

use tokio_util::sync::CancellationToken;

/// How often the free share of the heap is looked at.
const INTERVAL: Duration = Duration::from_secs(5);

/// Trim once this much resident memory is not allocated and it is at least `MIN_IDLE_SHARE`
/// of the resident memory (so a large steady tree is not walked for the little it would give
/// back)...
const MIN_IDLE_BYTES: usize = 16 << 20;
const MIN_IDLE_SHARE: f64 = 0.125;
/// ...or once this much is idle, whatever the share.
const ALWAYS_IDLE_BYTES: usize = 64 << 20;

/// Whether `resident` bytes of anonymous memory, of which `allocated` are in use, are worth a
/// trim. After a trim, resident falls back towards allocated, so trims do not repeat.
fn worth_trimming(resident: usize, allocated: usize) -> bool {
    let idle = resident.saturating_sub(allocated);
    idle >= ALWAYS_IDLE_BYTES
        || (idle >= MIN_IDLE_BYTES && idle as f64 >= resident as f64 * MIN_IDLE_SHARE)
}

/// The process's anonymous resident memory (heap, stacks), in bytes.
fn resident_anonymous() -> Option<usize> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("RssAnon:"))?;
    let kib: usize = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// Runs until `shutdown`. The trim itself runs on a blocking thread: it walks the arenas.
pub async fn run_trimmer(shutdown: CancellationToken) {
    let mut ticker = tokio::time::interval(INTERVAL);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            () = shutdown.cancelled() => return,
        }
        let _ = tokio::task::spawn_blocking(trim_if_worth_it).await;
    }
}

/// Trims glibc's heap if enough of it is free; true when it trimmed.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
pub fn trim_if_worth_it() -> bool {
    use std::sync::atomic::{AtomicUsize, Ordering};
    /// The idle memory a trim could not give back (partly used pages): the next trim waits
    /// until that much more than this is idle, so fragmentation does not trim every interval.
    static LEFT_AFTER_TRIM: AtomicUsize = AtomicUsize::new(0);
    let idle = || -> Option<(usize, usize)> {
        let resident = resident_anonymous()?;
        // SAFETY: mallinfo2 takes no pointers and is thread-safe in glibc.
        let info = unsafe { libc::mallinfo2() };
        Some((resident, info.uordblks + info.hblkhd))
    };
    let Some((resident, allocated)) = idle() else { return false };
    let left = LEFT_AFTER_TRIM.load(Ordering::Relaxed);
    if !worth_trimming(resident.saturating_sub(left), allocated) {
        return false;
    }
    let started = std::time::Instant::now();
    // SAFETY: malloc_trim takes no pointers and is thread-safe in glibc.
    unsafe { libc::malloc_trim(0) };
    let took = started.elapsed();
    if let Some((after, allocated)) = idle() {
        LEFT_AFTER_TRIM.store(after.saturating_sub(allocated), Ordering::Relaxed);
    }
    tracing::debug!(resident, allocated, ?took, "gave freed heap back");
    true
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn trim_if_worth_it() -> bool {
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_large_free_share_is_trimmed() {
        assert!(!worth_trimming(10 << 20, 2 << 20), "too little to bother");
        assert!(!worth_trimming(1 << 30, (1 << 30) - (32 << 20)), "a small share of a large heap");
        assert!(worth_trimming(1 << 30, (1 << 30) - (100 << 20)), "but not a small amount");
        assert!(worth_trimming(100 << 20, 20 << 20));
    }
}
