//! Running jobs on every core: job(0), ..., job(n - 1), each once, with
//! one result slot per job. pthreads directly: std::thread brings 20 KB
//! (thread names, spawn hooks, its stack-overflow bookkeeping) that a
//! counter loop never uses.

use std::cell::UnsafeCell;
use std::ffi::{c_ulong, c_void};
use std::sync::atomic::{AtomicUsize, Ordering};

/// One result per job, each written by the one thread that ran the job.
pub struct Slots<T>(Vec<UnsafeCell<T>>);

// SAFETY: `put` writes a slot from one thread only (parallel() hands out
// each index once) and `into_vec` reads after every thread was joined.
unsafe impl<T: Send> Sync for Slots<T> {}

impl<T: Default> Slots<T> {
    pub fn new(n: usize) -> Slots<T> {
        Slots((0..n).map(|_| UnsafeCell::new(T::default())).collect())
    }

    /// # Safety
    /// No other thread may use slot `i` (parallel() guarantees it for job i).
    pub unsafe fn put(&self, i: usize, v: T) {
        *self.0[i].get() = v;
    }

    pub fn into_vec(self) -> Vec<T> {
        self.0.into_iter().map(UnsafeCell::into_inner).collect()
    }
}

/// What the threads of parallel() share: the next job and the job itself.
struct Jobs<'a> {
    next: AtomicUsize,
    n: usize,
    job: &'a (dyn Fn(usize) + Sync),
}

/// Runs job(0), ..., job(n - 1), each once, on every core this process may
/// use (the calling thread is one of them); returns when all are done.
/// pthreads directly: std::thread brings 20 KB (thread names, spawn hooks,
/// its stack-overflow bookkeeping) that a counter loop never uses.
pub fn parallel(n: usize, job: &(dyn Fn(usize) + Sync)) {
    let jobs = Jobs { next: AtomicUsize::new(0), n, job };
    let cores = rustix::thread::sched_getaffinity(None).map_or(1, |s| s.count() as usize);
    let mut threads = Vec::new();
    for _ in 1..cores.clamp(1, 16).min(n) {
        let mut t: PthreadT = 0;
        let mut attr = [0u64; 8];
        // SAFETY: `jobs` outlives every thread (all are joined below) and
        // is only read through shared references and its atomic counter.
        let ok = unsafe {
            pthread_attr_init(attr.as_mut_ptr().cast()) == 0
                && pthread_attr_setstacksize(attr.as_mut_ptr().cast(), 1 << 20) == 0
                && pthread_create(&mut t, attr.as_ptr().cast(), worker, (&jobs as *const Jobs).cast_mut().cast()) == 0
        };
        // A thread that could not start leaves its share to the others.
        if ok {
            threads.push(t);
        }
    }
    run_jobs(&jobs);
    for t in threads {
        // SAFETY: a thread created above, joined once.
        unsafe { pthread_join(t, std::ptr::null_mut()) };
    }
}

fn run_jobs(jobs: &Jobs) {
    loop {
        let i = jobs.next.fetch_add(1, Ordering::Relaxed);
        if i >= jobs.n {
            return;
        }
        (jobs.job)(i);
    }
}

extern "C" fn worker(arg: *mut c_void) -> *mut c_void {
    // SAFETY: `arg` is the &Jobs parallel() keeps alive until the join.
    run_jobs(unsafe { &*arg.cast::<Jobs>() });
    std::ptr::null_mut()
}

/// pthread_t: C's `unsigned long` in musl and glibc, so 32 bits wide on
/// 32-bit targets (declaring it u64 would pass pthread_join() the wrong
/// argument there).
type PthreadT = c_ulong;

extern "C" {
    fn pthread_attr_init(attr: *mut c_void) -> i32;
    fn pthread_attr_setstacksize(attr: *mut c_void, size: usize) -> i32;
    fn pthread_create(
        t: *mut PthreadT,
        attr: *const c_void,
        f: extern "C" fn(*mut c_void) -> *mut c_void,
        arg: *mut c_void,
    ) -> i32;
    fn pthread_join(t: PthreadT, ret: *mut *mut c_void) -> i32;
}
