//! One summary as ZooKeeper's default metrics provider keeps it for `mntr` and the admin
//! `monitor` command: count, sum, min and max since the last reset and, for an "advanced"
//! summary, percentiles from a log-linear histogram (about 6% relative error, fixed size).

use std::sync::atomic::{AtomicU64, Ordering};

/// Values below this have a bucket each; above, each power of two has `SUB_BUCKETS`.
const LINEAR: u64 = 16;
const SUB_BUCKETS: u32 = 16;
const SUB_BITS: u32 = 4;
/// 16 linear buckets, then 16 per power of two from 2^4 to 2^63.
const BUCKETS: usize = LINEAR as usize + (64 - SUB_BITS as usize) * SUB_BUCKETS as usize;

/// What `mntr` prints for one summary.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SummarySnapshot {
    pub count: u64,
    pub sum: u64,
    pub min: u64,
    pub max: u64,
    /// p50, p95, p99, p999 (advanced summaries only).
    pub percentiles: Option<[u64; 4]>,
}

impl SummarySnapshot {
    pub fn avg(&self) -> f64 {
        if self.count == 0 {
            0.0
        } else {
            self.sum as f64 / self.count as f64
        }
    }
}

#[derive(Debug)]
pub struct SummaryCell {
    count: AtomicU64,
    sum: AtomicU64,
    min: AtomicU64,
    max: AtomicU64,
    buckets: Option<Box<[AtomicU64]>>,
}

impl SummaryCell {
    pub fn new(advanced: bool) -> SummaryCell {
        SummaryCell {
            count: AtomicU64::new(0),
            sum: AtomicU64::new(0),
            min: AtomicU64::new(u64::MAX),
            max: AtomicU64::new(0),
            buckets: advanced.then(|| (0..BUCKETS).map(|_| AtomicU64::new(0)).collect()),
        }
    }

    pub fn record(&self, value: u64) {
        self.count.fetch_add(1, Ordering::Relaxed);
        self.sum.fetch_add(value, Ordering::Relaxed);
        self.min.fetch_min(value, Ordering::Relaxed);
        self.max.fetch_max(value, Ordering::Relaxed);
        if let Some(buckets) = &self.buckets {
            buckets[bucket_of(value)].fetch_add(1, Ordering::Relaxed);
        }
    }

    pub fn reset(&self) {
        self.count.store(0, Ordering::Relaxed);
        self.sum.store(0, Ordering::Relaxed);
        self.min.store(u64::MAX, Ordering::Relaxed);
        self.max.store(0, Ordering::Relaxed);
        for bucket in self.buckets.iter().flat_map(|b| b.iter()) {
            bucket.store(0, Ordering::Relaxed);
        }
    }

    pub fn snapshot(&self) -> SummarySnapshot {
        SummarySnapshot {
            percentiles: self.buckets.as_ref().map(|b| {
                let counts: Vec<u64> = b.iter().map(|c| c.load(Ordering::Relaxed)).collect();
                [0.5, 0.95, 0.99, 0.999].map(|q| quantile(&counts, q))
            }),
            ..self.brief()
        }
    }

    /// Count, sum, min and max only (no walk of the histogram).
    pub fn brief(&self) -> SummarySnapshot {
        let min = self.min.load(Ordering::Relaxed);
        SummarySnapshot {
            count: self.count.load(Ordering::Relaxed),
            sum: self.sum.load(Ordering::Relaxed),
            // ZooKeeper prints 0, not its sentinel, before the first value.
            min: if min == u64::MAX { 0 } else { min },
            max: self.max.load(Ordering::Relaxed),
            percentiles: None,
        }
    }
}

fn bucket_of(value: u64) -> usize {
    if value < LINEAR {
        return value as usize;
    }
    let power = 63 - value.leading_zeros();
    let sub = (value >> (power - SUB_BITS)) & u64::from(SUB_BUCKETS - 1);
    LINEAR as usize + (power - SUB_BITS) as usize * SUB_BUCKETS as usize + sub as usize
}

/// The middle of a bucket's range, as the value reported for it.
fn value_of(bucket: usize) -> u64 {
    if bucket < LINEAR as usize {
        return bucket as u64;
    }
    let offset = bucket - LINEAR as usize;
    let power = offset as u32 / SUB_BUCKETS + SUB_BITS;
    let sub = (offset as u32 % SUB_BUCKETS) as u64;
    let width = 1u64 << (power - SUB_BITS);
    let low = (1u64 << power) + sub * width;
    low + width / 2
}

/// The value below which a `q` share of the recorded values lie; 0 when none were.
fn quantile(counts: &[u64], q: f64) -> u64 {
    let total: u64 = counts.iter().sum();
    if total == 0 {
        return 0;
    }
    let rank = ((q * total as f64).ceil() as u64).clamp(1, total);
    let mut seen = 0;
    for (bucket, count) in counts.iter().enumerate() {
        seen += count;
        if seen >= rank {
            return value_of(bucket);
        }
    }
    0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_cover_every_value_in_order() {
        assert_eq!(bucket_of(0), 0);
        assert_eq!(bucket_of(15), 15);
        assert_eq!(bucket_of(16), 16);
        assert_eq!(bucket_of(u64::MAX), BUCKETS - 1);
        let mut last = 0;
        for v in (0..100_000u64).chain([1 << 40, 1 << 62, u64::MAX]) {
            let b = bucket_of(v);
            assert!(b >= last, "bucket of {v} went back");
            last = b;
        }
    }

    #[test]
    fn a_bucket_reports_a_value_within_its_range() {
        for v in [0u64, 7, 16, 17, 100, 999, 123_456, 1 << 50] {
            let reported = value_of(bucket_of(v));
            let error = (reported as f64 - v as f64).abs() / (v.max(1) as f64);
            assert!(error <= 1.0 / 16.0, "{v} reported as {reported}");
        }
    }

    #[test]
    fn percentiles_of_one_to_a_thousand() {
        let cell = SummaryCell::new(true);
        (1..=1000).for_each(|v| cell.record(v));
        let s = cell.snapshot();
        assert_eq!((s.count, s.sum, s.min, s.max), (1000, 500_500, 1, 1000));
        let [p50, p95, p99, p999] = s.percentiles.unwrap();
        for (got, want) in [(p50, 500.0), (p95, 950.0), (p99, 990.0), (p999, 999.0)] {
            assert!((got as f64 - want).abs() / want <= 0.07, "got {got}, want about {want}");
        }
    }

    #[test]
    fn an_empty_or_reset_summary_reads_zero() {
        let cell = SummaryCell::new(false);
        assert_eq!(cell.snapshot().min, 0);
        cell.record(5);
        cell.reset();
        let s = cell.snapshot();
        assert_eq!((s.count, s.sum, s.min, s.max, s.percentiles), (0, 0, 0, 0, None));
        assert_eq!(s.avg(), 0.0);
    }
}
