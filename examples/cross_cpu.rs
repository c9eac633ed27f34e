//! How far apart two CPUs are, as `scripts/bench.sh` sees it: two threads,
//! pinned to two CPUs, pass one cache line back and forth, and the round
//! trip is timed in 20 ms windows.
//!
//! Why the benchmark needs it: on this kind of VM the host moves the two
//! vCPUs between places that share a cache (a round trip of about 100 ns)
//! and places that do not (about 370 ns), every few seconds. Loopback TCP
//! between a load generator and a server moves socket and packet data
//! between the CPUs on every request, so HTTP throughput follows that state
//! (single @64 by about 1.6×) while the raw in-process ONNX rate, which
//! shares nothing between CPUs, does not move. Each paired round records
//! the state it ran in.
//!
//!     cargo run --release --example cross_cpu -- [SECONDS (default 0.5)] [CPU_A CPU_B]
//!
//! CPUs default to the first two this process may run on. Prints one line:
//!     cross_cpu cpus=0,1 secs=0.50 windows=25 p50_ns=... min_ns=... max_ns=...
//! (per-window medians of the round trip; `unavailable=...` when fewer than
//! two CPUs are allowed or pinning fails).

use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

const WINDOW: Duration = Duration::from_millis(20);

/// The bounced value, alone on its cache lines (128 bytes: adjacent-line
/// prefetch pairs lines).
#[repr(align(128))]
struct Ball(AtomicU64);

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let secs: f64 = args.first().and_then(|s| s.parse().ok()).unwrap_or(0.5);
    let cpus = match args.get(1..3) {
        Some([a, b]) => match (a.parse(), b.parse()) {
            (Ok(a), Ok(b)) => Some([a, b]),
            _ => None,
        },
        _ => pin::first_two_allowed(),
    };
    let Some([a, b]) = cpus else {
        println!("cross_cpu unavailable=fewer_than_two_cpus");
        return ExitCode::SUCCESS;
    };
    match measure(a, b, Duration::from_secs_f64(secs)) {
        Ok(mut windows) if !windows.is_empty() => {
            windows.sort_unstable();
            let (min, max) = (windows[0], windows[windows.len() - 1]);
            let p50 = windows[windows.len() / 2];
            println!(
                "cross_cpu cpus={a},{b} secs={secs:.2} windows={} p50_ns={p50} min_ns={min} max_ns={max}",
                windows.len()
            );
        }
        Ok(_) => println!("cross_cpu unavailable=no_complete_window"),
        Err(e) => println!("cross_cpu unavailable=pinning_failed error={e}"),
    }
    ExitCode::SUCCESS
}

/// Nanoseconds per round trip, one figure per window.
fn measure(a: usize, b: usize, secs: Duration) -> std::io::Result<Vec<u64>> {
    let ball = Arc::new(Ball(AtomicU64::new(0)));
    let stop = Arc::new(AtomicBool::new(false));
    let responder = {
        let (ball, stop) = (ball.clone(), stop.clone());
        std::thread::spawn(move || -> std::io::Result<()> {
            let pinned = pin::to(b).map(|()| respond(&ball.0, &stop));
            // Ends the other side's wait too when pinning failed here.
            stop.store(true, Ordering::Release);
            pinned
        })
    };
    let result = pin::to(a).map(|()| serve(&ball.0, &stop, secs));
    stop.store(true, Ordering::Release);
    let answered = responder.join().unwrap_or(Ok(()));
    answered.and(result)
}

/// Odd values are served by this side, even ones answered by the other. A
/// busy wait without a pause hint: the hint alone costs more than the
/// transfer being timed on some CPUs.
fn serve(ball: &AtomicU64, stop: &AtomicBool, secs: Duration) -> Vec<u64> {
    let (started, mut window_start) = (Instant::now(), Instant::now());
    let (mut value, mut trips, mut windows) = (0u64, 0u64, Vec::new());
    while started.elapsed() < secs {
        ball.store(value + 1, Ordering::Release);
        while ball.load(Ordering::Acquire) != value + 2 {
            if stop.load(Ordering::Relaxed) {
                return windows;
            }
        }
        value += 2;
        trips += 1;
        if trips % 256 == 0 && window_start.elapsed() >= WINDOW {
            windows.push(window_start.elapsed().as_nanos() as u64 / trips);
            (window_start, trips) = (Instant::now(), 0);
        }
    }
    windows
}

fn respond(ball: &AtomicU64, stop: &AtomicBool) {
    let mut expect = 1u64;
    while !stop.load(Ordering::Acquire) {
        if ball.load(Ordering::Acquire) == expect {
            ball.store(expect + 1, Ordering::Release);
            expect += 2;
        }
    }
}

#[cfg(target_os = "linux")]
mod pin {
    use std::io;
    use std::mem::{size_of, zeroed};

    fn allowed() -> io::Result<libc::cpu_set_t> {
        // SAFETY: an all-zero cpu_set_t is the empty set; the kernel fills at
        // most size_of bytes for the calling thread (pid 0).
        let mut set: libc::cpu_set_t = unsafe { zeroed() };
        let rc = unsafe { libc::sched_getaffinity(0, size_of::<libc::cpu_set_t>(), &mut set) };
        if rc == 0 {
            Ok(set)
        } else {
            Err(io::Error::last_os_error())
        }
    }

    pub fn first_two_allowed() -> Option<[usize; 2]> {
        let set = allowed().ok()?;
        // SAFETY: CPU_ISSET reads a bit of an initialised set; cpu < CPU_SETSIZE.
        let mut cpus = (0..libc::CPU_SETSIZE as usize).filter(|&cpu| unsafe { libc::CPU_ISSET(cpu, &set) });
        Some([cpus.next()?, cpus.next()?])
    }

    /// Pins the calling thread to `cpu`.
    pub fn to(cpu: usize) -> io::Result<()> {
        // SAFETY: as above; CPU_SET writes one bit of a local set.
        let mut set: libc::cpu_set_t = unsafe { zeroed() };
        unsafe { libc::CPU_SET(cpu, &mut set) };
        let rc = unsafe { libc::sched_setaffinity(0, size_of::<libc::cpu_set_t>(), &set) };
        if rc == 0 {
            Ok(())
        } else {
            Err(io::Error::last_os_error())
        }
    }
}

#[cfg(not(target_os = "linux"))]
mod pin {
    pub fn first_two_allowed() -> Option<[usize; 2]> {
        None
    }

    pub fn to(_cpu: usize) -> std::io::Result<()> {
        Err(std::io::Error::new(
            std::io::ErrorKind::Unsupported,
            "pinning is Linux-only here",
        ))
    }
}
