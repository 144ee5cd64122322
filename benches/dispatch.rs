//! Dispatch cost without sockets: connections over the in-memory source,
//! each carrying a 4096-byte payload, sniffed, matched and handed to a
//! route whose consumer drains it (cmux's `BenchmarkCMuxConn*` cases).
//!
//! Each case runs in four modes: `[queue]` and `[inline]` go through
//! `serve` (accept loop, sniffer thread, then a route's queue and a
//! consumer thread, or an inline handler on the sniffer thread);
//! `[dispatch]` and `[dispatch inline]` go through a `Dispatcher` called
//! from the bench's own accept loop (then a route's queue and a consumer
//! thread, or an inline handler on the accepting thread).
//!
//! Every case is reported against a baseline run in the same process: the
//! same in-memory connections accepted straight from the listener, first
//! chunk read, no mux. The difference is what the mux costs per
//! connection, in time and in heap allocations (counted by a counting
//! global allocator). Each figure is the best of several rounds.
//!
//! Run: `cargo bench --bench dispatch`. Environment:
//! `DISPATCH_CONNECTIONS` (per round, default 20000), `DISPATCH_ROUNDS`
//! (default 15), `DISPATCH_FILTER` (run only the cases whose
//! `name [mode]` label contains it, e.g. `dispatch inline`),
//! `DISPATCH_PRELOAD` (if set, connect the clients and send their payloads
//! before the clock starts, so that only the serving side is timed: by
//! default the producing thread runs alongside and, on a machine with few
//! cores, can hide serving costs below its own pace).
//!
//! With `DISPATCH_PRELOAD`, the two modes served on one thread, the
//! baseline and `[dispatch inline]`, go in batches of 64: the serving
//! thread makes a batch's connections and sends their payloads, then
//! serves the batch with the clock running. The payloads are then in its
//! cache, as freshly received bytes would be, instead of spread over
//! 20,000 × 4 KiB of cold memory whose misses made the two figures (and
//! so their difference) vary by 2x from run to run. The other modes,
//! served by threads of the mux, have every connection made before the
//! clock starts.

use std::alloc::{GlobalAlloc, Layout, System};
use std::io::{Read, Write};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use connmux::matchers::{http1_fast, http2_preface, HTTP2_PREFACE};
use connmux::memory::{self, MemoryAddr, MemoryConnector, MemoryListener, MemoryStream};
use connmux::{Accept, Listener, Matcher, Mux};

/// Counts heap allocations made by the whole process.
struct CountingAllocator;

static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

// SAFETY: forwards every call unchanged to the system allocator; the
// counter is a relaxed atomic with no effect on memory handed out.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        System.alloc(layout)
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout)
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        System.realloc(ptr, layout, new_size)
    }
}

#[global_allocator]
static GLOBAL: CountingAllocator = CountingAllocator;

/// A benchmark case: its name, how to make its routes, the route the
/// payload should reach, and the payload.
type Case<'a> = (&'a str, fn() -> Vec<Box<dyn Matcher>>, usize, &'a [u8]);

/// A way to run a case: with queue routes or inline routes.
type Runner = fn(Vec<Box<dyn Matcher>>, usize, &[u8], usize) -> (Duration, f64);

fn payload(opening: &[u8]) -> Vec<u8> {
    let mut bytes = opening.to_vec();
    bytes.resize(4096, b'x');
    bytes
}

/// Connects `count` clients that each send `payload` and hang up.
fn produce(connector: &MemoryConnector, payload: &[u8], count: usize) {
    for _ in 0..count {
        let mut client = connector.connect().expect("connect");
        client.write_all(payload).expect("send");
    }
}

/// Whether `DISPATCH_PRELOAD` asks for every connection to be made and
/// filled before the clock starts.
fn preload() -> bool {
    std::env::var_os("DISPATCH_PRELOAD").is_some()
}

/// An in-memory listener for one run; with `DISPATCH_PRELOAD` set, its
/// `count` connections are already waiting in it, payloads sent.
fn listener(payload: &[u8], count: usize) -> (MemoryListener, MemoryConnector) {
    let (source, connector) = memory::listener();
    if preload() {
        produce(&connector, payload, count);
    }
    (source, connector)
}

/// A consumer thread that accepts `count` connections from `listener`
/// and drops each.
fn drain(listener: Listener<MemoryStream, MemoryAddr>, count: usize) -> thread::JoinHandle<()> {
    thread::spawn(move || {
        for _ in 0..count {
            let (stream, _) = listener.accept().expect("routed");
            drop(stream);
        }
    })
}

/// Time and allocations per connection for the mux with `routes`, the
/// payload expected to reach route `target`.
fn run_mux(
    routes: Vec<Box<dyn Matcher>>,
    target: usize,
    payload: &[u8],
    count: usize,
) -> (Duration, f64) {
    let (source, connector) = listener(payload, count);
    let mut mux = Mux::builder()
        .route_queue_capacity(count)
        .build(source)
        .expect("mux");
    let listeners: Vec<_> = routes.into_iter().map(|m| mux.route(m)).collect();
    let handle = mux.handle();
    let server = thread::spawn(move || mux.serve());
    let consumer = drain(listeners[target].clone(), count);
    let per_connection = measure(&connector, payload, count, consumer);
    handle.shutdown();
    server.join().expect("serve thread").expect("serve");
    per_connection
}

/// The same with every route inline: the handler runs on the sniffer
/// thread and drops the stream, with no queue and no consumer thread.
fn run_mux_inline(
    routes: Vec<Box<dyn Matcher>>,
    target: usize,
    payload: &[u8],
    count: usize,
) -> (Duration, f64) {
    let (source, connector) = listener(payload, count);
    let mut mux = Mux::new(source).expect("mux");
    let handled = Arc::new(AtomicUsize::new(0));
    for (index, matcher) in routes.into_iter().enumerate() {
        let handled = Arc::clone(&handled);
        mux.route_inline(matcher, move |_stream, _| {
            assert_eq!(index, target, "routed elsewhere");
            handled.fetch_add(1, Ordering::Relaxed);
        });
    }
    let handle = mux.handle();
    let server = thread::spawn(move || mux.serve());
    let waiter = thread::spawn(move || {
        while handled.load(Ordering::Relaxed) < count {
            thread::sleep(Duration::from_micros(100));
        }
    });
    let per_connection = measure(&connector, payload, count, waiter);
    handle.shutdown();
    server.join().expect("serve thread").expect("serve");
    per_connection
}

/// A mux whose listener stays unused: the dispatch modes bring their own
/// accept loop. A dispatcher refuses connections beyond the open limit
/// rather than waiting, so the limit covers every connection a slow
/// consumer may leave queued.
fn dispatch_mux(count: usize) -> Mux<MemoryListener> {
    Mux::builder()
        .route_queue_capacity(count)
        .max_connections(count)
        .build(memory::listener().0)
        .expect("mux")
}

/// Through a dispatcher, from the bench's own accept loop, to a queue
/// route drained by a consumer thread.
fn run_dispatch(
    routes: Vec<Box<dyn Matcher>>,
    target: usize,
    payload: &[u8],
    count: usize,
) -> (Duration, f64) {
    let (source, connector) = listener(payload, count);
    let mut mux = dispatch_mux(count);
    let listeners: Vec<_> = routes.into_iter().map(|m| mux.route(m)).collect();
    let dispatcher = mux.dispatcher();
    let consumer = drain(listeners[target].clone(), count);
    let accept_loop = thread::spawn(move || {
        for _ in 0..count {
            let (conn, peer) = source.accept().expect("accept");
            let route = dispatcher.dispatch(conn, peer).expect("dispatched");
            assert_eq!(route.index(), target, "routed elsewhere");
        }
        consumer.join().expect("consumer");
    });
    let per_connection = measure(&connector, payload, count, accept_loop);
    drop(mux);
    per_connection
}

/// Through a dispatcher to inline routes: the handler runs on the bench's
/// accepting thread and drops the stream.
fn run_dispatch_inline(
    routes: Vec<Box<dyn Matcher>>,
    target: usize,
    payload: &[u8],
    count: usize,
) -> (Duration, f64) {
    let mut mux = dispatch_mux(count);
    for (index, matcher) in routes.into_iter().enumerate() {
        mux.route_inline(matcher, move |_stream, _| {
            assert_eq!(index, target, "routed elsewhere");
        });
    }
    let dispatcher = mux.dispatcher();
    if preload() {
        let per_connection = in_batches(payload, count, |conn, peer| {
            dispatcher.dispatch(conn, peer).expect("dispatched");
        });
        drop(mux);
        return per_connection;
    }
    let (source, connector) = listener(payload, count);
    let accept_loop = thread::spawn(move || {
        for _ in 0..count {
            let (conn, peer) = source.accept().expect("accept");
            dispatcher.dispatch(conn, peer).expect("dispatched");
        }
    });
    let per_connection = measure(&connector, payload, count, accept_loop);
    drop(mux);
    per_connection
}

/// Time and allocations per connection.
type PerConnection = (Duration, f64);

/// The best of `rounds` runs of `run` and of `baseline`, interleaved so
/// that both see the same machine: for each, the least time and the
/// fewest allocations per connection.
fn best_of(
    rounds: usize,
    mut baseline: impl FnMut() -> PerConnection,
    mut run: impl FnMut() -> PerConnection,
) -> (PerConnection, PerConnection) {
    let best = |(time, allocations): PerConnection, (t, a): PerConnection| {
        (time.min(t), f64::min(allocations, a))
    };
    let worst = (Duration::MAX, f64::INFINITY);
    (0..rounds.max(1)).fold((worst, worst), |(base, case), _| {
        (best(base, baseline()), best(case, run()))
    })
}

/// Produces `count` connections (unless preloaded), waits for `consumer`
/// to take them all, and returns the time and allocations per connection.
fn measure(
    connector: &MemoryConnector,
    payload: &[u8],
    count: usize,
    consumer: thread::JoinHandle<()>,
) -> (Duration, f64) {
    let allocations = ALLOCATIONS.load(Ordering::Relaxed);
    let started = Instant::now();
    if !preload() {
        produce(connector, payload, count);
    }
    consumer.join().expect("consumer");
    let elapsed = started.elapsed();
    let allocations = ALLOCATIONS.load(Ordering::Relaxed) - allocations;
    (elapsed / count as u32, allocations as f64 / count as f64)
}

/// How many connections a batch has (see the module's documentation).
const BATCH: usize = 64;

/// Makes `count` connections that send `payload`, `BATCH` at a time, and
/// accepts and serves each batch with `serve`, all on this thread; returns
/// the time and allocations per connection of the serving alone.
fn in_batches(
    payload: &[u8],
    count: usize,
    mut serve: impl FnMut(MemoryStream, MemoryAddr),
) -> (Duration, f64) {
    let (source, connector) = memory::listener();
    let (mut serving, mut allocations) = (Duration::ZERO, 0);
    let mut left = count;
    while left > 0 {
        let batch = left.min(BATCH);
        produce(&connector, payload, batch);
        let allocated = ALLOCATIONS.load(Ordering::Relaxed);
        let started = Instant::now();
        serve_batch(&source, batch, &mut serve);
        serving += started.elapsed();
        allocations += ALLOCATIONS.load(Ordering::Relaxed) - allocated;
        left -= batch;
    }
    (serving / count as u32, allocations as f64 / count as f64)
}

/// Accepts `count` connections from `source` and serves each with
/// `serve`: the timed part of a batch. Never inlined, so that a profiler
/// can count it apart, once for the baseline's `serve` and once for the
/// mux's (`valgrind --tool=callgrind`, then `callgrind_annotate
/// --inclusive=yes` lists both `serve_batch` instances).
#[inline(never)]
fn serve_batch(
    source: &MemoryListener,
    count: usize,
    serve: &mut impl FnMut(MemoryStream, MemoryAddr),
) {
    for _ in 0..count {
        let (conn, peer) = source.accept().expect("accept");
        serve(conn, peer);
    }
}

/// The same connections with no mux: accepted, first chunk read, dropped;
/// in batches if `batched`.
fn run_baseline(payload: &[u8], count: usize, batched: bool) -> (Duration, f64) {
    if batched {
        let mut first = vec![0u8; 4096];
        return in_batches(payload, count, |mut stream, _| {
            let _ = stream.read(&mut first).expect("read");
        });
    }
    let (source, connector) = listener(payload, count);
    let consumer = thread::spawn(move || {
        let mut first = vec![0u8; 4096];
        for _ in 0..count {
            let (mut stream, _) = source.accept().expect("accept");
            let _ = stream.read(&mut first).expect("read");
        }
    });
    measure(&connector, payload, count, consumer)
}

/// A number from the environment, or `default`.
fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    let count = env_number("DISPATCH_CONNECTIONS", 20_000);
    let rounds = env_number("DISPATCH_ROUNDS", 15);
    let filter = std::env::var("DISPATCH_FILTER").unwrap_or_default();
    let http1 = payload(b"GET http://www.w3.org/ HTTP/1.1\r\n");
    let http2 = payload(HTTP2_PREFACE);
    let cases: Vec<Case> = vec![
        (
            "HTTP/1-fast alone",
            || vec![Box::new(http1_fast())],
            0,
            &http1,
        ),
        (
            "HTTP/2 alone",
            || vec![Box::new(http2_preface())],
            0,
            &http2,
        ),
        (
            "HTTP/1-fast then HTTP/2, HTTP/2 payload",
            || vec![Box::new(http1_fast()), Box::new(http2_preface())],
            1,
            &http2,
        ),
        (
            "HTTP/2 then HTTP/1-fast, HTTP/1 payload",
            || vec![Box::new(http2_preface()), Box::new(http1_fast())],
            1,
            &http1,
        ),
    ];
    println!(
        "{count} in-memory connections per case, 4096-byte payloads, best of {rounds} rounds; \
         each case against its own baseline (accept + read, no mux) run between its rounds"
    );
    for (name, routes, target, payload) in cases {
        for (mode, run) in [
            ("queue", run_mux as Runner),
            ("inline", run_mux_inline as Runner),
            ("dispatch", run_dispatch as Runner),
            ("dispatch inline", run_dispatch_inline as Runner),
        ] {
            let label = format!("{name} [{mode}]");
            if !label.contains(&filter) {
                continue;
            }
            let ((base_time, base_allocations), (time, allocations)) = best_of(
                rounds,
                || run_baseline(payload, count, preload() && mode == "dispatch inline"),
                || run(routes(), target, payload, count),
            );
            println!(
                "{:<58} {:>6.0} ns/conn (baseline {:>5.0}) {:>5.2} allocs/conn   mux adds {:>5.0} ns, {:>5.2} allocs ({:.2}x baseline time)",
                label,
                time.as_nanos() as f64,
                base_time.as_nanos() as f64,
                allocations,
                time.as_nanos() as f64 - base_time.as_nanos() as f64,
                allocations - base_allocations,
                time.as_secs_f64() / base_time.as_secs_f64(),
            );
        }
    }
}
