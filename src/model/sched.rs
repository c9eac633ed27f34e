//! A short scheduler slice for the inference threads.
//!
//! When the cores are busy (HTTP threads reading and answering, a load
//! generator, other pods), a worker that is rung must wait for a core. With
//! the kernel's default slice (0.7 ms × (1 + log2 cores)) the running thread
//! keeps its core to the end of its slice, the queue fills meanwhile, and
//! requests that could have been served get 503. Since Linux 6.12 (EEVDF),
//! a thread may ask for a shorter slice through `sched_setattr(2)`'s
//! `sched_runtime`, and a waking thread with a shorter slice preempts the
//! running one. No privilege is needed and the thread's share of the CPU
//! (its nice value) does not change; only *when* it runs does.
//!
//! Older kernels accept the call and ignore the value, which is why the
//! slice is read back.

use std::io;
use std::time::Duration;

/// What became of a slice request for the calling thread.
#[derive(Debug)]
pub enum SliceOutcome {
    /// The kernel uses the requested slice.
    Applied,
    /// The call succeeded but the kernel reports another slice (before
    /// Linux 6.12, or a value outside the kernel's 0.1–100 ms clamp).
    Ignored { kernel_reports: Duration },
    /// The call failed, e.g. denied by a seccomp profile.
    Failed(io::Error),
    /// Not Linux.
    Unsupported,
}

/// Asks for `slice` on the calling thread, keeping its policy and nice value.
pub fn request_slice(slice: Duration) -> SliceOutcome {
    imp::request_slice(slice)
}

/// The slice the kernel reports for the calling thread, when it reports one.
pub fn current_slice() -> io::Result<Option<Duration>> {
    imp::current_slice()
}

/// Whether the running kernel honours a requested slice: Linux 6.12 or later
/// (older ones accept the call and ignore it).
pub fn kernel_has_custom_slices() -> bool {
    if !cfg!(target_os = "linux") {
        return false;
    }
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let mut parts = release
        .split(|c: char| !c.is_ascii_digit())
        .filter_map(|p| p.parse::<u32>().ok());
    (parts.next().unwrap_or(0), parts.next().unwrap_or(0)) >= (6, 12)
}

#[cfg(target_os = "linux")]
mod imp {
    use super::*;

    fn get() -> io::Result<libc::sched_attr> {
        // SAFETY: an all-zero `sched_attr` is a valid value (plain integers).
        let mut attr: libc::sched_attr = unsafe { std::mem::zeroed() };
        let size = std::mem::size_of::<libc::sched_attr>() as libc::c_uint;
        // SAFETY: the kernel writes at most `size` bytes into `attr`; pid 0
        // is the calling thread.
        let rc = unsafe { libc::syscall(libc::SYS_sched_getattr, 0, &mut attr, size, 0) };
        if rc == 0 {
            Ok(attr)
        } else {
            Err(io::Error::last_os_error())
        }
    }

    pub fn current_slice() -> io::Result<Option<Duration>> {
        let runtime = get()?.sched_runtime;
        Ok((runtime != 0).then(|| Duration::from_nanos(runtime)))
    }

    pub fn request_slice(slice: Duration) -> SliceOutcome {
        let mut attr = match get() {
            Ok(attr) => attr,
            Err(e) => return SliceOutcome::Failed(e),
        };
        attr.sched_runtime = u64::try_from(slice.as_nanos()).unwrap_or(u64::MAX);
        // SAFETY: `attr` came from the kernel (its `size` field is set) and
        // is only read; pid 0 is the calling thread.
        let rc = unsafe { libc::syscall(libc::SYS_sched_setattr, 0, &attr, 0) };
        if rc != 0 {
            return SliceOutcome::Failed(io::Error::last_os_error());
        }
        match current_slice() {
            Ok(Some(now)) if now == slice => SliceOutcome::Applied,
            Ok(now) => SliceOutcome::Ignored {
                kernel_reports: now.unwrap_or_default(),
            },
            Err(e) => SliceOutcome::Failed(e),
        }
    }
}

#[cfg(not(target_os = "linux"))]
mod imp {
    use super::*;

    pub fn current_slice() -> io::Result<Option<Duration>> {
        Ok(None)
    }

    pub fn request_slice(_: Duration) -> SliceOutcome {
        SliceOutcome::Unsupported
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs `f` on a fresh thread, so the test thread keeps its own slice.
    fn on_new_thread<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
        std::thread::spawn(f).join().unwrap()
    }

    #[test]
    fn a_thread_gets_the_slice_it_asks_for_on_kernels_that_support_custom_slices() {
        let slice = Duration::from_micros(300);
        let (outcome, after) = on_new_thread(move || (request_slice(slice), current_slice().unwrap()));
        if kernel_has_custom_slices() {
            assert!(matches!(outcome, SliceOutcome::Applied), "{outcome:?}");
            assert_eq!(after, Some(slice));
        } else {
            assert!(!matches!(outcome, SliceOutcome::Applied), "{outcome:?}");
        }
    }

    #[test]
    fn a_slice_outside_the_kernels_range_is_reported_as_not_applied() {
        if !kernel_has_custom_slices() {
            return;
        }
        // The kernel clamps to 0.1–100 ms; 20 µs comes back as 100 µs.
        let outcome = on_new_thread(|| request_slice(Duration::from_micros(20)));
        match outcome {
            SliceOutcome::Ignored { kernel_reports } => assert_eq!(kernel_reports, Duration::from_micros(100)),
            other => panic!("expected Ignored, got {other:?}"),
        }
    }
}
