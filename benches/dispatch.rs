//! Dispatch cost without sockets: connections over the in-memory source,
//! each carrying a 4096-byte payload, sniffed, matched and handed to a
//! route whose consumer drains it (cmux's `BenchmarkCMuxConn*` cases).
//!
//! Every case is reported against a baseline run in the same process: the
//! same in-memory connections accepted straight from the listener, first
//! chunk read, no mux. The difference is what the mux costs per
//! connection, in time and in heap allocations (counted by a counting
//! global allocator).
//!
//! Run: `cargo bench --bench dispatch` (set `DISPATCH_CONNECTIONS` to
//! change the count, default 20000).

use std::alloc::{GlobalAlloc, Layout, System};
use std::io::{Read, Write};
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use connmux::matchers::{http1_fast, http2_preface, HTTP2_PREFACE};
use connmux::memory::{self, MemoryConnector};
use connmux::{Accept, Matcher, Mux};

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

/// A benchmark case: its name, its routes, the route the payload should
/// reach, and the payload.
type Case<'a> = (&'a str, Vec<Box<dyn Matcher>>, usize, &'a [u8]);

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

/// Time and allocations per connection for the mux with `routes`, the
/// payload expected to reach route `target`.
fn run_mux(
    routes: Vec<Box<dyn Matcher>>,
    target: usize,
    payload: &[u8],
    count: usize,
) -> (Duration, f64) {
    let (source, connector) = memory::listener();
    let mut mux = Mux::builder()
        .route_queue_capacity(count)
        .build(source)
        .expect("mux");
    let listeners: Vec<_> = routes.into_iter().map(|m| mux.route(m)).collect();
    let handle = mux.handle();
    let server = thread::spawn(move || mux.serve());
    let consumer = {
        let listener = listeners[target].clone();
        thread::spawn(move || {
            for _ in 0..count {
                let (stream, _) = listener.accept().expect("routed");
                drop(stream);
            }
        })
    };
    let per_connection = measure(&connector, payload, count, consumer);
    handle.shutdown();
    server.join().expect("serve thread").expect("serve");
    per_connection
}

/// Produces `count` connections, waits for `consumer` to take them all, and
/// returns the time and allocations per connection.
fn measure(
    connector: &MemoryConnector,
    payload: &[u8],
    count: usize,
    consumer: thread::JoinHandle<()>,
) -> (Duration, f64) {
    let allocations = ALLOCATIONS.load(Ordering::Relaxed);
    let started = Instant::now();
    produce(connector, payload, count);
    consumer.join().expect("consumer");
    let elapsed = started.elapsed();
    let allocations = ALLOCATIONS.load(Ordering::Relaxed) - allocations;
    (elapsed / count as u32, allocations as f64 / count as f64)
}

/// The same connections with no mux: accepted, first chunk read, dropped.
fn run_baseline(payload: &[u8], count: usize) -> (Duration, f64) {
    let (source, connector) = memory::listener();
    let consumer = thread::spawn(move || {
        let mut first = vec![0u8; 4096];
        for _ in 0..count {
            let (mut stream, _) = source.accept().expect("accept");
            let _ = stream.read(&mut first).expect("read");
        }
    });
    measure(&connector, payload, count, consumer)
}

fn main() {
    let count: usize = std::env::var("DISPATCH_CONNECTIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_000);
    let http1 = payload(b"GET http://www.w3.org/ HTTP/1.1\r\n");
    let http2 = payload(HTTP2_PREFACE);
    let h1 = || -> Box<dyn Matcher> { Box::new(http1_fast()) };
    let h2 = || -> Box<dyn Matcher> { Box::new(http2_preface()) };
    let cases: Vec<Case> = vec![
        ("HTTP/1-fast alone", vec![h1()], 0, &http1),
        ("HTTP/2 alone", vec![h2()], 0, &http2),
        (
            "HTTP/1-fast then HTTP/2, HTTP/2 payload",
            vec![h1(), h2()],
            1,
            &http2,
        ),
        (
            "HTTP/2 then HTTP/1-fast, HTTP/1 payload",
            vec![h2(), h1()],
            1,
            &http1,
        ),
    ];
    println!("{count} in-memory connections per case, 4096-byte payloads");
    let (base_time, base_allocations) = run_baseline(&http1, count);
    println!(
        "{:<42} {:>8.0} ns/conn {:>6.2} allocs/conn",
        "baseline: accept + read, no mux",
        base_time.as_nanos() as f64,
        base_allocations
    );
    for (name, routes, target, payload) in cases {
        let (time, allocations) = run_mux(routes, target, payload, count);
        println!(
            "{name:<42} {:>8.0} ns/conn {:>6.2} allocs/conn   mux adds {:>6.0} ns, {:>5.2} allocs ({:.2}x baseline time)",
            time.as_nanos() as f64,
            allocations,
            time.as_nanos() as f64 - base_time.as_nanos() as f64,
            allocations - base_allocations,
            time.as_secs_f64() / base_time.as_secs_f64(),
        );
    }
}
