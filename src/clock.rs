//! The wall clock, read in one place: the proposer stamps entries with it, and sessions ids,
//! four-letter words and the reaper read it. Apply never does.

/// Milliseconds since the Unix epoch; 0 if the clock is before it.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
