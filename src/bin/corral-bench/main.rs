//! corral-bench: drives N sessions with D requests in flight each against any ZooKeeper
//! host list (corral or Apache ZooKeeper), and prints throughput and latency as JSON.
//! Failed requests are counted as errors, never as throughput.

mod report;
mod session;
mod workload;

use std::time::Duration;

use clap::Parser;

use report::Report;
use workload::Workload;

#[derive(Parser, Debug, Clone)]
#[command(about = "Load generator for ZooKeeper-protocol servers")]
pub struct Args {
    /// Comma-separated host:port list; sessions are spread over it.
    #[arg(long, default_value = "127.0.0.1:2181")]
    hosts: String,
    /// Concurrent sessions (one connection each).
    #[arg(long, default_value_t = 32)]
    sessions: usize,
    /// Requests each session keeps in flight.
    #[arg(long, default_value_t = 8)]
    inflight: usize,
    #[arg(long, value_enum, default_value_t = Workload::Get)]
    workload: Workload,
    /// Seconds of measurement.
    #[arg(long, default_value_t = 10.0)]
    duration: f64,
    /// Seconds of load before measuring.
    #[arg(long, default_value_t = 1.0)]
    warmup: f64,
    /// Data size in bytes for creates and sets.
    #[arg(long, default_value_t = 100)]
    size: usize,
    /// Leave the nodes the run created (to measure a server holding them, e.g. its restart).
    #[arg(long)]
    keep: bool,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let hosts: Vec<String> = args.hosts.split(',').map(str::to_owned).collect();
    let root = format!("/bench-{}-{}", std::process::id(), args.workload.name());
    session::prepare(&hosts[0], &root, args.sessions, args.size).await?;
    let plan = session::Plan {
        workload: args.workload,
        inflight: args.inflight,
        size: args.size,
        warmup: Duration::from_secs_f64(args.warmup),
        measure: Duration::from_secs_f64(args.duration),
        root: root.clone(),
    };
    let mut tasks = Vec::new();
    for index in 0..args.sessions {
        let host = hosts[index % hosts.len()].clone();
        tasks.push(tokio::spawn(session::run(host, index, plan.clone())));
    }
    let mut report = Report::default();
    for task in tasks {
        report.merge(task.await??);
    }
    let json = report.finish_json(&args.workload, args.sessions, args.inflight, args.duration);
    println!("{json}");
    if !args.keep {
        session::cleanup(&hosts[0], &root).await;
    }
    Ok(())
}
