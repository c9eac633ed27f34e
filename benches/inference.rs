//! Raw in-process ONNX Runtime cost of the churn pipeline: one `predict` call
//! (one `Session::run`) at 1, 32 and 1000 rows, on one thread with
//! intra_op_threads = 1. This is the physical limit the HTTP service is
//! measured against (`benches/run.sh`, `benches/results.md`).
//!
//! Run from the repository root (the ONNX Runtime library is found in
//! `.ort/lib`; `bash scripts/install_ort.sh` installs it):
//!     cargo bench --bench inference
//! Environment: BENCH_SECS (measurement time per size, default 3).

// The server's allocator, so that the raw figure is measured like for like.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::hint::black_box;
use std::path::Path;
use std::time::Duration;

use churn_serve::domain::{Coercion, Customer, parse_customer};
use churn_serve::model::{OnnxModel, ort_library};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use serde_json::Value;

const MODEL: &str = "models/churn_pipeline.onnx";
const GOLDEN: &str = "models/golden.jsonl";

/// Golden customers, cycled to `n` rows (so batches are realistic mixes).
fn customers(n: usize) -> Vec<Customer> {
    let text = std::fs::read_to_string(GOLDEN).expect("models/golden.jsonl (run from the repo root)");
    let all: Vec<Customer> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let v: Value = serde_json::from_str(l).expect("golden line is JSON");
            parse_customer(&v["customer"], &[], Coercion::Strict).expect("golden customer is valid")
        })
        .collect();
    all.iter().cycle().take(n).cloned().collect()
}

fn onnx_predict(c: &mut Criterion) {
    let env = ort_library::environment(Path::new("")).expect("ONNX Runtime (run scripts/install_ort.sh)");
    let bytes = std::fs::read(MODEL).expect("model file");
    let mut model = OnnxModel::load(env, &bytes, 1).expect("model loads");
    let secs = std::env::var("BENCH_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3.0);

    let mut group = c.benchmark_group("onnx_predict");
    group
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs_f64(secs))
        .sample_size(30);
    for rows in [1usize, 32, 1000] {
        let batch = customers(rows);
        let refs: Vec<&Customer> = batch.iter().collect();
        group.throughput(Throughput::Elements(rows as u64));
        group.bench_with_input(BenchmarkId::new("rows", rows), &refs, |b, refs| {
            b.iter(|| black_box(model.predict(black_box(refs)).expect("prediction")))
        });
    }
    group.finish();
}

criterion_group!(benches, onnx_predict);
criterion_main!(benches);
