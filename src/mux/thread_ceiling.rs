//! How many sniffer threads the operating system will let this process
//! start, read from what the process may really create.
//!
//! Past that point std cannot set a new thread up, and on Linux it may
//! fail in a way no caller can catch: a thread that cannot map its signal
//! stack aborts the whole process. Each thread takes about
//! [`MAPS_PER_THREAD`] memory maps (its stack and guard page, its signal
//! stack and guard page) against `vm.max_map_count`, one task against
//! `kernel.threads-max` and `kernel.pid_max` (shared by the whole system),
//! and one process against the user's `RLIMIT_NPROC`. The pool starts no
//! thread past the smallest of these, less a reserve for the rest of the
//! program; accepting then waits, as at its other limits, and says
//! so with an [`Event::ThreadCeiling`](crate::Event::ThreadCeiling).
//!
//! The ceiling is read once, when serving starts: threads the program
//! starts later come out of the reserve.

use std::fs;

/// Memory maps one thread takes: its stack and its guard page, its signal
/// stack and its guard page.
const MAPS_PER_THREAD: usize = 4;

/// The share of each limit left to the rest of the program (its heap,
/// files and other threads): one eighth, and at least this many.
const MIN_RESERVE: usize = 32;

/// What the system and the process allow, and what they use now; `None`
/// where it could not be read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct SystemLimits {
    pub(crate) max_map_count: Option<usize>,
    pub(crate) maps_in_use: Option<usize>,
    pub(crate) threads_max: Option<usize>,
    pub(crate) pid_max: Option<usize>,
    /// Tasks on the whole system.
    pub(crate) tasks_in_use: Option<usize>,
    /// The soft `RLIMIT_NPROC`; `None` when unlimited.
    pub(crate) max_processes: Option<usize>,
    /// This process's threads.
    pub(crate) threads_in_use: Option<usize>,
}

impl SystemLimits {
    /// Reads them from `/proc` (Linux); elsewhere every one is `None`.
    pub(crate) fn read() -> Self {
        let number = |path: &str| fs::read_to_string(path).ok().and_then(|text| parse(&text));
        let limits = fs::read_to_string("/proc/self/limits").unwrap_or_default();
        let status = fs::read_to_string("/proc/self/status").unwrap_or_default();
        SystemLimits {
            max_map_count: number("/proc/sys/vm/max_map_count"),
            maps_in_use: fs::read("/proc/self/maps")
                .ok()
                .map(|maps| maps.iter().filter(|&&byte| byte == b'\n').count()),
            threads_max: number("/proc/sys/kernel/threads-max"),
            pid_max: number("/proc/sys/kernel/pid_max"),
            // The fourth field of /proc/loadavg: running/total tasks.
            tasks_in_use: fs::read_to_string("/proc/loadavg").ok().and_then(|text| {
                let field = text.split_whitespace().nth(3)?;
                parse(field.split('/').nth(1)?)
            }),
            max_processes: limits
                .lines()
                .find(|line| line.starts_with("Max processes"))
                .and_then(|line| line.split_whitespace().nth(2))
                .and_then(parse),
            threads_in_use: status
                .lines()
                .find_map(|line| line.strip_prefix("Threads:"))
                .and_then(parse),
        }
    }

    /// How many more threads the pool may start; `None` if no limit could
    /// be read.
    pub(crate) fn thread_ceiling(&self) -> Option<usize> {
        let left = |limit: Option<usize>, used: Option<usize>| {
            let limit = limit?;
            let reserve = (limit / 8).max(MIN_RESERVE);
            Some(
                limit
                    .saturating_sub(used.unwrap_or(0))
                    .saturating_sub(reserve),
            )
        };
        let by_maps = left(self.max_map_count, self.maps_in_use).map(|maps| maps / MAPS_PER_THREAD);
        let system_tasks = match (self.threads_max, self.pid_max) {
            (Some(threads), Some(pids)) => Some(threads.min(pids)),
            (threads, pids) => threads.or(pids),
        };
        let by_tasks = left(system_tasks, self.tasks_in_use);
        // Other processes of the same user count too, but cannot be known
        // cheaply: the reserve stands for them.
        let by_processes = left(self.max_processes, self.threads_in_use);
        [by_maps, by_tasks, by_processes]
            .into_iter()
            .flatten()
            .min()
    }
}

fn parse(text: &str) -> Option<usize> {
    text.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_smallest_limit_less_its_reserve_wins() {
        let limits = SystemLimits {
            max_map_count: Some(65_530),
            maps_in_use: Some(1_530),
            threads_max: Some(192_735),
            pid_max: Some(32_768),
            tasks_in_use: Some(400),
            max_processes: None,
            threads_in_use: Some(3),
        };
        // Maps: (65,530 - 1,530 - 8,191) / 4 = 13,952; tasks: 32,768 - 400 - 4,096.
        assert_eq!(limits.thread_ceiling(), Some(13_952));
        let nproc = SystemLimits {
            max_processes: Some(100),
            ..limits
        };
        assert_eq!(nproc.thread_ceiling(), Some(100 - 3 - MIN_RESERVE));
        let used_up = SystemLimits {
            max_processes: Some(20),
            ..limits
        };
        assert_eq!(used_up.thread_ceiling(), Some(0));
        assert_eq!(SystemLimits::default().thread_ceiling(), None);
    }

    #[test]
    fn this_process_limits_are_read_on_linux() {
        let limits = SystemLimits::read();
        if cfg!(target_os = "linux") {
            assert!(limits.max_map_count.is_some() && limits.maps_in_use.is_some());
            assert!(limits.threads_in_use.is_some_and(|threads| threads >= 1));
            assert!(limits.thread_ceiling().is_some_and(|ceiling| ceiling > 0));
        }
    }
}
