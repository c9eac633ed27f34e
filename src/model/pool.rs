//! A fixed pool of inference threads, each owning its own ONNX session, fed
//! by one bounded queue. A free worker takes everything waiting (up to
//! `max_batch_rows`) and runs it as one ONNX call: at low load a request runs
//! alone at once; under load, batching makes per-row cost small. A request
//! larger than one worker's share is split into chunks that run on different
//! workers, never merged back into one call.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender, TrySendError};
use tokio::sync::oneshot;

use super::{ModelError, OnnxModel, PredictError, PredictFuture, Predictor};
use crate::domain::Customer;
use crate::metrics::Metrics;

#[derive(Debug, Clone)]
pub struct PoolConfig {
    /// Jobs (requests or chunks) that may wait; beyond it callers get `Overloaded`.
    pub queue_capacity: usize,
    /// Rows one ONNX call may take.
    pub max_batch_rows: usize,
    /// Optional wait for more work after the first job; zero = never wait.
    pub batch_wait: Duration,
}

/// What a worker runs: one model call over a batch of rows. `OnnxModel` in
/// production; a fake in tests, so the pool's logic is tested without ORT.
pub trait Scorer: Send + 'static {
    fn score(&mut self, rows: &[&Customer]) -> Result<Vec<f64>, ModelError>;
}

impl Scorer for OnnxModel {
    fn score(&mut self, rows: &[&Customer]) -> Result<Vec<f64>, ModelError> {
        self.predict(rows)
    }
}

type Reply = oneshot::Sender<Result<Vec<f64>, PredictError>>;

struct Job {
    rows: Vec<Customer>,
    reply: Reply,
    queued_at: Instant,
    /// One chunk of a split request: sized as one worker's share, so it runs
    /// alone. Gathered together, the chunks of a lone large request all went
    /// to the first worker to wake while the others stayed idle.
    chunk: bool,
}

pub struct InferencePool {
    queue: Sender<Job>,
    chunk_rows: usize,
    workers: usize,
}

impl InferencePool {
    /// Starts one thread per model; threads end when the pool is dropped.
    pub fn start<S: Scorer>(models: Vec<S>, config: PoolConfig, metrics: Arc<Metrics>) -> Self {
        let (queue, jobs) = crossbeam_channel::bounded(config.queue_capacity);
        let workers = models.len();
        for (i, model) in models.into_iter().enumerate() {
            let (jobs, config, metrics) = (jobs.clone(), config.clone(), metrics.clone());
            std::thread::Builder::new()
                .name(format!("inference-{i}"))
                .spawn(move || {
                    Worker {
                        model,
                        jobs,
                        config,
                        metrics,
                    }
                    .run()
                })
                .expect("spawning an inference thread");
        }
        InferencePool {
            queue,
            chunk_rows: config.max_batch_rows,
            workers,
        }
    }

    /// Large requests are split so that every worker takes a share; chunks
    /// hold whole groups.
    fn chunk_size(&self, rows: usize, group: usize) -> usize {
        let share = rows.div_ceil(self.workers.max(1)).clamp(1, self.chunk_rows);
        share.div_ceil(group) * group
    }

    fn enqueue(
        &self,
        rows: Vec<Customer>,
        chunk: bool,
    ) -> Result<oneshot::Receiver<Result<Vec<f64>, PredictError>>, PredictError> {
        let (reply, answer) = oneshot::channel();
        match self.queue.try_send(Job {
            rows,
            reply,
            queued_at: Instant::now(),
            chunk,
        }) {
            Ok(()) => Ok(answer),
            Err(TrySendError::Full(_)) => Err(PredictError::Overloaded),
            Err(TrySendError::Disconnected(_)) => Err(PredictError::Stopped),
        }
    }
}

impl Predictor for InferencePool {
    fn predict(&self, rows: Vec<Customer>) -> PredictFuture {
        self.predict_grouped(rows, 1)
    }

    fn predict_grouped(&self, mut rows: Vec<Customer>, group: usize) -> PredictFuture {
        let size = self.chunk_size(rows.len(), group.max(1));
        let chunked = size < rows.len();
        let mut answers = Vec::new();
        while !rows.is_empty() {
            let rest = rows.split_off(size.min(rows.len()));
            match self.enqueue(std::mem::replace(&mut rows, rest), chunked) {
                Ok(answer) => answers.push(answer),
                Err(e) => return Box::pin(async move { Err(e) }),
            }
        }
        Box::pin(async move {
            let mut probabilities = Vec::new();
            for answer in answers {
                probabilities.extend(answer.await.map_err(|_| PredictError::Stopped)??);
            }
            Ok(probabilities)
        })
    }
}

struct Worker<S> {
    model: S,
    jobs: Receiver<Job>,
    config: PoolConfig,
    metrics: Arc<Metrics>,
}

impl<S: Scorer> Worker<S> {
    /// Blocks until a job is queued, takes what else is waiting, scores it;
    /// returns when the pool (every sender) is gone.
    fn run(mut self) {
        let mut carry = None;
        loop {
            let Some(first) = carry.take().or_else(|| self.jobs.recv().ok()) else {
                return;
            };
            let batch = self.gather(first, &mut carry);
            self.serve(batch);
        }
    }

    /// Takes waiting jobs until the row budget is spent; a job that does not
    /// fit, or a chunk (which runs alone), is carried to the next batch
    /// rather than put back.
    fn gather(&self, first: Job, carry: &mut Option<Job>) -> Vec<Job> {
        if first.chunk {
            return vec![first];
        }
        let deadline = Instant::now() + self.config.batch_wait;
        let mut rows = first.rows.len();
        let mut batch = vec![first];
        while rows < self.config.max_batch_rows {
            let next = if self.config.batch_wait.is_zero() {
                self.jobs.try_recv().ok()
            } else {
                self.jobs.recv_deadline(deadline).ok()
            };
            let Some(job) = next else { break };
            if job.chunk || rows + job.rows.len() > self.config.max_batch_rows {
                *carry = Some(job);
                break;
            }
            rows += job.rows.len();
            batch.push(job);
        }
        batch
    }

    fn serve(&mut self, mut batch: Vec<Job>) {
        // Callers that gave up (timeout, disconnect) are not worth computing.
        batch.retain(|job| !job.reply.is_closed());
        if batch.is_empty() {
            return;
        }
        let now = Instant::now();
        for job in &batch {
            self.metrics
                .queue_wait
                .observe(now.duration_since(job.queued_at).as_secs_f64());
        }
        let rows: Vec<&Customer> = batch.iter().flat_map(|job| job.rows.iter()).collect();
        self.metrics.batch_rows.observe(rows.len() as f64);
        let started = Instant::now();
        let result = catch_unwind(AssertUnwindSafe(|| self.model.score(&rows)))
            .unwrap_or_else(|_| Err(ModelError::Inference("inference panicked".into())));
        self.metrics.inference_duration.observe(started.elapsed().as_secs_f64());
        match result {
            Ok(all) => {
                let mut all = all.into_iter();
                for job in batch {
                    let mine: Vec<f64> = all.by_ref().take(job.rows.len()).collect();
                    let _ = job.reply.send(Ok(mine));
                }
            }
            Err(e) => {
                tracing::error!(error = %e, rows = rows.len(), "inference failed");
                for job in batch {
                    let _ = job.reply.send(Err(PredictError::Failed(e.to_string())));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests;
