//! Waking inference workers once per burst of requests, not once per request.
//!
//! A handler on the server's runtime threads does not wake a worker when it
//! queues a request: it notes the ring, and its thread rings when it runs out
//! of work (tokio's `on_thread_park`), that is after it has read, parsed and
//! queued every request that was ready. Under load a burst becomes one ONNX
//! call and one wake-up; a lone request is rung for as soon as its thread goes
//! idle, microseconds later. A queue that reaches `EARLY_RING_JOBS` rings at
//! once, so workers start while the thread is still parsing, and idle workers
//! look at the queue every `RING_FALLBACK` regardless. Threads not set up by
//! `defer_wakeups` (tests, other runtimes) ring at once.

use std::cell::{Cell, RefCell};

use crossbeam_channel::{Receiver, Sender};

/// Queued jobs that wake a worker without waiting for the thread to go idle.
pub(super) const EARLY_RING_JOBS: usize = 16;

/// An idle worker looks at the queue this often even when nobody rang: a
/// runtime thread kept busy by other requests may not go idle for a long
/// time. Measured idle cost with two workers: 1.2 % of a core at 2 ms, so
/// 10 ms: 0.25 % (a bounded delay in that rare case, never a hang).
pub const RING_FALLBACK: std::time::Duration = std::time::Duration::from_millis(10);

/// Rings are buffered tokens (one per worker), so a ring that comes between
/// a worker's last look at the queue and its wait is never lost.
#[derive(Clone)]
pub(super) struct Doorbell {
    tokens: Sender<()>,
    /// Queue length that rings at once: `EARLY_RING_JOBS`, or half a
    /// smaller queue.
    early: usize,
}

pub(super) fn doorbell(workers: usize, queue_capacity: usize) -> (Doorbell, Receiver<()>) {
    let (tokens, wait) = crossbeam_channel::bounded(workers.max(1));
    let early = EARLY_RING_JOBS.min(queue_capacity.div_ceil(2));
    (Doorbell { tokens, early }, wait)
}

impl Doorbell {
    /// A job was queued, leaving `queued` jobs waiting.
    pub(super) fn job_queued(&self, queued: usize) {
        if queued >= self.early {
            self.ring(1);
        } else {
            self.ring_soon();
        }
    }

    /// Wakes up to `n` waiting workers.
    pub(super) fn ring(&self, n: usize) {
        for _ in 0..n {
            if self.tokens.try_send(()).is_err() {
                break; // every worker already has a token
            }
        }
    }

    /// Rings now, or on a deferring thread when it goes idle.
    fn ring_soon(&self) {
        if !DEFERRING.get() {
            return self.ring(1);
        }
        PENDING.with_borrow_mut(|pending| {
            match pending
                .iter_mut()
                .find(|(bell, _)| bell.tokens.same_channel(&self.tokens))
            {
                Some((_, jobs)) => *jobs += 1,
                None => pending.push((self.clone(), 1)),
            }
        });
    }
}

thread_local! {
    /// Set on a runtime thread's first park: only threads that will run the
    /// park hook again may defer.
    static DEFERRING: Cell<bool> = const { Cell::new(false) };
    /// Doorbells this thread owes a ring, with the number of jobs queued.
    static PENDING: RefCell<Vec<(Doorbell, usize)>> = const { RefCell::new(Vec::new()) };
}

/// Installs the hook on the server's runtime: its threads ring for their
/// queued requests when they go idle.
pub fn defer_wakeups(builder: &mut tokio::runtime::Builder) -> &mut tokio::runtime::Builder {
    builder.on_thread_park(|| {
        DEFERRING.set(true);
        for (bell, jobs) in PENDING.take() {
            bell.ring(jobs);
        }
    })
}
