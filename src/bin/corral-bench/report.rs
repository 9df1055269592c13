//! Latency samples and counts from every session, merged into one JSON report.

use super::workload::Workload;

#[derive(Debug, Default)]
pub struct Report {
    /// Latencies of successful requests in the measured window, in microseconds.
    pub latencies_us: Vec<u32>,
    pub errors: u64,
}

impl Report {
    pub fn merge(&mut self, other: Report) {
        self.latencies_us.extend(other.latencies_us);
        self.errors += other.errors;
    }

    fn percentile(sorted: &[u32], p: f64) -> u32 {
        if sorted.is_empty() {
            return 0;
        }
        let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
        sorted[rank.clamp(1, sorted.len()) - 1]
    }

    pub fn finish_json(
        &mut self,
        workload: &Workload,
        sessions: usize,
        inflight: usize,
        seconds: f64,
    ) -> String {
        self.latencies_us.sort_unstable();
        let ops = self.latencies_us.len();
        let p = |q| Self::percentile(&self.latencies_us, q);
        format!(
            "{{\"workload\":\"{}\",\"sessions\":{sessions},\"inflight\":{inflight},\"seconds\":{seconds},\
             \"ops\":{ops},\"errors\":{},\"ops_per_sec\":{:.1},\"latency_us\":{{\"p50\":{},\"p99\":{},\
             \"p999\":{},\"max\":{}}}}}",
            workload.name(),
            self.errors,
            ops as f64 / seconds,
            p(50.0),
            p(99.0),
            p(99.9),
            self.latencies_us.last().copied().unwrap_or(0)
        )
    }
}
