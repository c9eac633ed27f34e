//! Raw in-process inference rate: N threads, each owning its own ONNX session
//! (intra_op_threads = 1, like the server's workers), each calling
//! `OnnxModel::predict` with R rows in a loop for a fixed duration. This is
//! the ceiling the HTTP server is compared with in `benches/run.sh`.
//!
//!     cargo run --release --example raw_rate -- --threads 2 --rows 1 --secs 5
//!
//! Prints one machine-readable line per run:
//!     raw threads=2 rows=1 secs=5.00 calls=... calls_per_sec=... rows_per_sec=... p50_us=... p99_us=...
//!         cpu_us_per_call=...
//! (all on one line; cpu_us_per_call is process CPU time per call, which a
//! busy machine disturbs far less than calls_per_sec).
//! Run from the repository root (finds .ort/lib, models/).

// The server's allocator, so that the raw figure is measured like for like.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::path::Path;
use std::process::ExitCode;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use churn_serve::domain::{Coercion, Customer, parse_customer};
use churn_serve::model::{OnnxModel, ort_library};
use serde_json::Value;

struct Args {
    threads: usize,
    rows: Vec<usize>,
    secs: f64,
    warmup_secs: f64,
    model: String,
    golden: String,
}

fn usage() -> &'static str {
    "usage: raw_rate [--threads N (0 = nproc)] [--rows R[,R...]] [--secs S] [--warmup S] [--model PATH] [--golden PATH]"
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        threads: 0,
        rows: vec![1],
        secs: 5.0,
        warmup_secs: 1.0,
        model: "models/churn_pipeline.onnx".into(),
        golden: "models/golden.jsonl".into(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{flag} needs a value\n{}", usage()));
        let bad = |e: &dyn std::fmt::Display| format!("bad value for {flag}: {e}");
        match flag.as_str() {
            "--threads" => args.threads = value()?.parse().map_err(|e| bad(&e))?,
            "--rows" => {
                args.rows = value()?
                    .split(',')
                    .map(|r| r.trim().parse::<usize>())
                    .collect::<Result<_, _>>()
                    .map_err(|e| bad(&e))?
            }
            "--secs" => args.secs = value()?.parse().map_err(|e| bad(&e))?,
            "--warmup" => args.warmup_secs = value()?.parse().map_err(|e| bad(&e))?,
            "--model" => args.model = value()?,
            "--golden" => args.golden = value()?,
            "-h" | "--help" => return Err(usage().into()),
            other => return Err(format!("unknown argument {other}\n{}", usage())),
        }
    }
    if args.threads == 0 {
        args.threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    }
    if args.rows.contains(&0) || args.secs.is_nan() || args.secs <= 0.0 {
        return Err(format!("rows and secs must be positive\n{}", usage()));
    }
    Ok(args)
}

fn load_customers(path: &str) -> Result<Vec<Customer>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let v: Value = serde_json::from_str(l).map_err(|e| format!("{path}: {e}"))?;
            parse_customer(&v["customer"], &[], Coercion::Strict)
                .map_err(|e| format!("{path}: invalid customer: {e:?}"))
        })
        .collect()
}

struct ThreadResult {
    calls: u64,
    /// Per-call latencies in microseconds (every call, capped at 4M).
    latencies_us: Vec<u32>,
}

fn run(args: &Args, rows: usize, models: &mut [OnnxModel], customers: &[Customer]) -> Result<(), String> {
    let batch: Vec<Customer> = customers.iter().cycle().take(rows).cloned().collect();
    let warmup = Duration::from_secs_f64(args.warmup_secs);
    let measure = Duration::from_secs_f64(args.secs);
    // The main thread joins the barrier too, to read the process CPU time
    // when every worker has finished its warm-up.
    let barrier = Arc::new(Barrier::new(models.len() + 1));
    let mut cpu_start = 0.0;
    let results: Vec<Result<ThreadResult, String>> = std::thread::scope(|s| {
        let handles: Vec<_> = models
            .iter_mut()
            .map(|model| {
                let (batch, barrier) = (&batch, barrier.clone());
                s.spawn(move || {
                    let refs: Vec<&Customer> = batch.iter().collect();
                    let call = |m: &mut OnnxModel| m.predict(&refs).map_err(|e| e.to_string());
                    let start = Instant::now();
                    let mut warm = Ok(());
                    while warm.is_ok() && start.elapsed() < warmup {
                        warm = call(model).map(drop);
                    }
                    barrier.wait();
                    warm?;
                    let start = Instant::now();
                    let mut calls = 0u64;
                    let mut latencies_us = Vec::with_capacity(1 << 16);
                    loop {
                        let t = Instant::now();
                        call(model)?;
                        let done = Instant::now();
                        calls += 1;
                        if latencies_us.len() < 4_000_000 {
                            latencies_us.push((done - t).as_micros().min(u32::MAX as u128) as u32);
                        }
                        if done - start >= measure {
                            break;
                        }
                    }
                    Ok(ThreadResult { calls, latencies_us })
                })
            })
            .collect();
        barrier.wait();
        cpu_start = process_cpu_seconds();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|_| Err("worker thread panicked".into())))
            .collect()
    });
    let cpu = process_cpu_seconds() - cpu_start;
    let mut calls = 0u64;
    let mut lat = Vec::new();
    for r in results {
        let r = r?;
        calls += r.calls;
        lat.extend(r.latencies_us);
    }
    lat.sort_unstable();
    let pct = |p: f64| {
        lat.get(((lat.len() as f64 - 1.0) * p).round() as usize)
            .copied()
            .unwrap_or(0)
    };
    let calls_per_sec = calls as f64 / args.secs;
    println!(
        "raw threads={} rows={} secs={:.2} calls={} calls_per_sec={:.1} rows_per_sec={:.1} p50_us={} p99_us={} \
         cpu_us_per_call={:.2}",
        models.len(),
        rows,
        args.secs,
        calls,
        calls_per_sec,
        calls_per_sec * rows as f64,
        pct(0.50),
        pct(0.99),
        cpu * 1e6 / calls.max(1) as f64,
    );
    Ok(())
}

/// utime + stime of this process (all threads), from /proc/self/stat; 0 when
/// unavailable (non-Linux), which only blanks the cpu_us_per_call figure.
fn process_cpu_seconds() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return 0.0;
    };
    // Fields after the parenthesised command name; utime and stime are the
    // 14th and 15th fields of the whole line, in clock ticks (USER_HZ = 100).
    let rest = stat.rsplit_once(") ").map_or("", |(_, r)| r);
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) + ticks(12)) / 100.0
}

fn main() -> ExitCode {
    let result = (|| -> Result<(), String> {
        let args = parse_args()?;
        let env = ort_library::environment(Path::new("")).map_err(|e| e.to_string())?;
        let bytes = std::fs::read(&args.model).map_err(|e| format!("{}: {e}", args.model))?;
        let customers = load_customers(&args.golden)?;
        if customers.is_empty() {
            return Err(format!("{}: no customers", args.golden));
        }
        let mut models = (0..args.threads)
            .map(|_| OnnxModel::load(env, &bytes, 1).map_err(|e| e.to_string()))
            .collect::<Result<Vec<_>, _>>()?;
        for &rows in &args.rows {
            run(&args, rows, &mut models, &customers)?;
        }
        Ok(())
    })();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
