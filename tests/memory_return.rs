//! Memory freed after a burst goes back to the system (its own test binary: it reads this
//! process's RSS).

fn rss() -> usize {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse::<usize>().unwrap() * 1024
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[test]
fn a_burst_of_small_allocations_is_given_back() {
    // 64 MiB in small blocks, the last one kept so the heap's top cannot simply shrink: the
    // free space is in the middle, where only a trim gives it back.
    let mut blocks: Vec<Vec<u8>> = (0..65_536).map(|i| vec![i as u8; 1000]).collect();
    let keep = blocks.pop();
    drop(blocks);
    let before = rss();
    assert!(corral::memory::trim_if_worth_it(), "64 MiB free is worth a trim");
    let after = rss();
    assert!(before - after > 32 << 20, "RSS went from {before} to {after}");
    assert!(!corral::memory::trim_if_worth_it(), "nothing left worth a trim");
    drop(keep);
}
