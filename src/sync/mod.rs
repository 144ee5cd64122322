//! The small synchronisation primitives the stages share, each on std's
//! `Mutex`, `Condvar` and atomics: a condition variable that skips
//! needless wake-ups, a bounded queue with close, the open-connection
//! limit, the per-address sniff limit, and the shutdown flag a sniff can
//! sleep on.

pub(crate) mod limit;
pub(crate) mod lock;
pub(crate) mod monitor;
pub(crate) mod per_source;
pub(crate) mod queue;
pub(crate) mod stop;
