use std::sync::mpsc;

use serde_json::json;

use super::*;
use crate::domain::{Coercion, Feature, FeatureValue, parse_customer};

const TIMEOUT: Duration = Duration::from_secs(10);

/// Answers each row's credit score / 1000, after reporting the batch size
/// and waiting for permission on `gate`.
struct Gated {
    sizes: mpsc::Sender<usize>,
    gate: mpsc::Receiver<()>,
}

impl Scorer for Gated {
    fn score(&mut self, rows: &[&Customer]) -> Result<Vec<f64>, ModelError> {
        self.sizes.send(rows.len()).unwrap();
        self.gate.recv().unwrap();
        Ok(rows
            .iter()
            .map(|c| match c.get(Feature::CreditScore) {
                FeatureValue::Number(n) => n / 1000.0,
                FeatureValue::Category(_) => f64::NAN,
            })
            .collect())
    }
}

fn customer(score: u32) -> Customer {
    let body = json!({
        "credit_score": score, "geography": "France", "gender": "Male", "age": 40, "tenure": 1,
        "balance": 0.0, "num_of_products": 1, "has_cr_card": 1, "is_active_member": 1,
        "estimated_salary": 1.0
    });
    parse_customer(&body, &[], Coercion::Strict).unwrap()
}

/// No batch wait, 1024 rows per call.
fn config(queue_capacity: usize) -> PoolConfig {
    PoolConfig {
        queue_capacity,
        max_batch_rows: 1024,
        batch_wait: Duration::ZERO,
    }
}

fn pool(capacity: usize) -> (InferencePool, mpsc::Receiver<usize>, mpsc::Sender<()>) {
    let (sizes_tx, sizes) = mpsc::channel();
    let (gate, gate_rx) = mpsc::channel();
    let config = config(capacity);
    let pool = InferencePool::start(
        vec![Gated {
            sizes: sizes_tx,
            gate: gate_rx,
        }],
        config,
        Arc::new(Metrics::new()),
    );
    (pool, sizes, gate)
}

#[tokio::test]
async fn waiting_requests_run_as_one_batch_and_each_gets_its_own_rows() {
    let (pool, sizes, gate) = pool(64);
    let first = pool.predict(vec![customer(300)]);
    assert_eq!(sizes.recv().unwrap(), 1, "a lone request runs at once, alone");
    let waiting: Vec<_> = (0..5).map(|i| pool.predict(vec![customer(400 + i)])).collect();
    gate.send(()).unwrap();
    assert_eq!(first.await.unwrap(), [0.3]);
    assert_eq!(sizes.recv().unwrap(), 5, "the five waiting requests share one call");
    gate.send(()).unwrap();
    for (i, answer) in waiting.into_iter().enumerate() {
        assert_eq!(answer.await.unwrap(), [(400 + i) as f64 / 1000.0]);
    }
}

/// Reports `(worker, batch size)`, then waits for its own gate.
struct Tagged {
    id: usize,
    sizes: mpsc::Sender<(usize, usize)>,
    gate: mpsc::Receiver<()>,
}

impl Scorer for Tagged {
    fn score(&mut self, rows: &[&Customer]) -> Result<Vec<f64>, ModelError> {
        self.sizes.send((self.id, rows.len())).unwrap();
        self.gate.recv().unwrap();
        Ok(rows.iter().map(|_| self.id as f64).collect())
    }
}

#[tokio::test]
async fn the_chunks_of_a_large_request_run_on_different_workers_not_as_one_call() {
    let (sizes_tx, sizes) = mpsc::channel();
    let (gates, workers): (Vec<_>, Vec<_>) = (0..2)
        .map(|id| {
            let (gate, gate_rx) = mpsc::channel();
            let sizes = sizes_tx.clone();
            (
                gate,
                Tagged {
                    id,
                    sizes,
                    gate: gate_rx,
                },
            )
        })
        .unzip();
    let pool = InferencePool::start(workers, config(64), Arc::new(Metrics::new()));
    // Both workers busy, one single-row request each.
    let first = pool.predict(vec![customer(300)]);
    let (x, _) = sizes.recv_timeout(TIMEOUT).unwrap();
    let second = pool.predict(vec![customer(301)]);
    let (y, _) = sizes.recv_timeout(TIMEOUT).unwrap();
    assert_ne!(x, y);
    // 1000 rows fit one call (1024) but are queued as two chunks of 500.
    let large = pool.predict((0..1000).map(|_| customer(400)).collect());
    gates[x].send(()).unwrap();
    assert_eq!(
        sizes.recv_timeout(TIMEOUT).unwrap(),
        (x, 500),
        "the freed worker takes one chunk"
    );
    gates[y].send(()).unwrap();
    assert_eq!(
        sizes.recv_timeout(TIMEOUT).unwrap(),
        (y, 500),
        "the other worker takes the other"
    );
    gates[x].send(()).unwrap();
    gates[y].send(()).unwrap();
    let answers = large.await.unwrap();
    assert_eq!(answers.len(), 1000);
    assert_eq!(answers[0], x as f64, "the first chunk answers the first rows");
    assert_eq!(answers[999], y as f64);
    assert_eq!(first.await.unwrap(), [x as f64]);
    assert_eq!(second.await.unwrap(), [y as f64]);
}

#[tokio::test]
async fn a_full_queue_rejects_at_once() {
    let (pool, sizes, gate) = pool(1);
    let busy = pool.predict(vec![customer(300)]);
    sizes.recv().unwrap(); // the worker holds the first job
    let queued = pool.predict(vec![customer(301)]);
    let rejected = pool.predict(vec![customer(302)]);
    assert!(matches!(rejected.await, Err(PredictError::Overloaded)));
    gate.send(()).unwrap();
    gate.send(()).unwrap();
    assert_eq!(busy.await.unwrap(), [0.3]);
    assert_eq!(queued.await.unwrap(), [0.301]);
}

#[tokio::test]
async fn requests_queued_on_a_dropped_pool_still_get_their_answers() {
    // What a model swap relies on: the old pool is dropped once the new one
    // serves, and what was already queued on it is answered by it.
    let (pool, sizes, gate) = pool(64);
    let busy = pool.predict(vec![customer(300)]);
    sizes.recv_timeout(TIMEOUT).unwrap();
    let queued = pool.predict(vec![customer(301)]);
    drop(pool);
    gate.send(()).unwrap();
    gate.send(()).unwrap();
    assert_eq!(busy.await.unwrap(), [0.3]);
    assert_eq!(queued.await.unwrap(), [0.301]);
}

#[tokio::test]
async fn a_pool_without_workers_reports_stopped() {
    let config = PoolConfig {
        max_batch_rows: 8,
        ..config(4)
    };
    let pool = InferencePool::start(Vec::<Gated>::new(), config, Arc::new(Metrics::new()));
    assert!(matches!(
        pool.predict(vec![customer(300)]).await,
        Err(PredictError::Stopped)
    ));
}

#[test]
fn chunks_hold_whole_groups_and_share_work_between_workers() {
    let pool = InferencePool {
        queue: crossbeam_channel::bounded(1).0,
        chunk_rows: 100,
        workers: 2,
    };
    assert_eq!(pool.chunk_size(1, 1), 1);
    assert_eq!(pool.chunk_size(1000, 1), 100);
    assert_eq!(pool.chunk_size(50, 1), 25);
    assert_eq!(pool.chunk_size(11, 11), 11);
    assert_eq!(pool.chunk_size(33, 11), 22);
}
