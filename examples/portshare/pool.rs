//! Forwarding threads, kept for reuse: each owns its copy buffer for its
//! whole life, and takes a new job when it finishes one.
//!
//! Starting a thread and allocating its buffer costs far more than
//! forwarding a short connection (tens of microseconds to start the
//! thread, page faults for a fresh stack and a fresh 64 KiB buffer), so a
//! thread that is done waits a while for the next job instead of exiting.
//! A job handed to the pool runs at once: on an idle thread if there is
//! one, else on a thread started for it. There is no limit here on the
//! number of threads: every job is a connection direction that must run
//! now (`--max-conns` is the limit).
//!
//! The queue is a `Mutex<VecDeque>` and a `Condvar`, taken once to hand a
//! job over and once when a thread goes idle; never while forwarding.

use std::collections::VecDeque;
use std::io;
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

use crate::forward::BUFFER_BYTES;

/// The stack of forwarding threads; their buffers are on the heap.
const THREAD_STACK_BYTES: usize = 256 * 1024;

/// A job for a pool thread, run with that thread's copy buffer.
pub(crate) trait Work: Send + 'static {
    /// Does the job; `buffer` is [`BUFFER_BYTES`] long.
    fn run(self, buffer: &mut [u8]);
}

/// Threads that run [`Work`], each with its own buffer.
pub(crate) struct Pool<J> {
    queue: Mutex<Queue<J>>,
    job_queued: Condvar,
    idle_timeout: Duration,
}

struct Queue<J> {
    jobs: VecDeque<J>,
    /// Threads waiting for a job. Each takes one queued job, if there is
    /// one, before it may exit; so while `jobs.len() < idle`, a job pushed
    /// is sure to be taken.
    idle: usize,
}

impl<J: Work> Pool<J> {
    /// A pool whose threads exit after `idle_timeout` without a job.
    pub(crate) fn new(idle_timeout: Duration) -> Pool<J> {
        Pool {
            queue: Mutex::new(Queue {
                jobs: VecDeque::new(),
                idle: 0,
            }),
            job_queued: Condvar::new(),
            idle_timeout,
        }
    }

    /// Runs `job` on an idle thread, or on a new one if none is idle.
    ///
    /// Fails if no thread can be started; `job` is dropped then.
    pub(crate) fn run(&'static self, job: J) -> io::Result<()> {
        let mut queue = self.lock();
        if queue.jobs.len() < queue.idle {
            queue.jobs.push_back(job);
            drop(queue);
            self.job_queued.notify_one();
            return Ok(());
        }
        drop(queue);
        thread::Builder::new()
            .name("portshare forward".into())
            .stack_size(THREAD_STACK_BYTES)
            .spawn(move || self.work(job))
            .map(drop)
    }

    /// A pool thread's life: jobs until none comes for `idle_timeout`.
    fn work(&self, first: J) {
        let mut buffer = vec![0u8; BUFFER_BYTES];
        let mut job = first;
        loop {
            job.run(&mut buffer);
            match self.next_job() {
                Some(next) => job = next,
                None => return,
            }
        }
    }

    fn next_job(&self) -> Option<J> {
        let deadline = Instant::now() + self.idle_timeout;
        let mut queue = self.lock();
        queue.idle += 1;
        loop {
            if let Some(job) = queue.jobs.pop_front() {
                queue.idle -= 1;
                return Some(job);
            }
            let now = Instant::now();
            if now >= deadline {
                queue.idle -= 1;
                return None;
            }
            queue = self
                .job_queued
                .wait_timeout(queue, deadline - now)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }

    fn lock(&self) -> MutexGuard<'_, Queue<J>> {
        // Nothing panics while holding the lock; a poisoned one is intact.
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
