//! No thread and no descriptor outlives the multiplexer: counts from
//! `/proc/self` before and after 1,000 connections with every outcome
//! (routed, not matched, timed out, queue full, route closed, reset,
//! interrupted by shutdown).
//!
//! This file holds a single test so that no other test's threads or
//! sockets run in the same process while it counts.

mod common;

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::thread;
use std::time::Duration;

use common::{eventually, serve, tcp_mux, WAIT};
use connmux::matchers::{http1_fast, prefixes};
use connmux::Mux;

fn count_entries(dir: &str) -> usize {
    std::fs::read_dir(dir).map(|d| d.count()).unwrap_or(0)
}

fn threads() -> usize {
    count_entries("/proc/self/task")
}

fn descriptors() -> usize {
    count_entries("/proc/self/fd")
}

/// One client with one of seven behaviours, chosen by `kind`.
fn client(addr: SocketAddr, kind: usize) {
    let Ok(mut stream) = TcpStream::connect(addr) else {
        return;
    };
    stream.set_read_timeout(Some(WAIT)).unwrap();
    let mut sink = Vec::new();
    match kind {
        // Routed to HTTP, answered, closed.
        0 | 1 => {
            let _ = stream.write_all(b"GET / HTTP/1.1\r\n\r\n");
            let _ = stream.read_to_end(&mut sink);
        }
        // Not matched.
        2 => {
            let _ = stream.write_all(b"\x00garbage");
            let _ = stream.read_to_end(&mut sink);
        }
        // Silent: timed out.
        3 => {
            let _ = stream.read_to_end(&mut sink);
        }
        // Matched by a route nobody accepts on: queued or queue full.
        4 => {
            let _ = stream.write_all(b"IGNORED");
            let _ = stream.shutdown(Shutdown::Write);
        }
        // Matched by a closed route.
        5 => {
            let _ = stream.write_all(b"CLOSED");
            let _ = stream.read_to_end(&mut sink);
        }
        // Gone mid-sniff.
        _ => {
            let _ = stream.write_all(b"GE");
        }
    }
}

#[test]
fn a_thousand_mixed_connections_leave_no_thread_or_descriptor_behind() {
    let threads_before = threads();
    let descriptors_before = descriptors();
    assert!(
        threads_before > 0 && descriptors_before > 0,
        "/proc/self is readable"
    );

    let mut mux = tcp_mux(
        Mux::builder()
            .sniff_deadline(Some(Duration::from_millis(50)))
            .route_queue_capacity(4)
            .idle_sniffer_timeout(Duration::from_millis(100)),
    );
    let http = mux.route(http1_fast());
    let ignored = mux.route(prefixes(["IGNORED"]));
    let closed = mux.route(prefixes(["CLOSED"]));
    closed.close();
    let running = serve(mux);
    let server = thread::spawn(move || {
        for stream in http.incoming() {
            let mut stream = stream.unwrap();
            let mut request = [0u8; 18];
            if stream.read_exact(&mut request).is_ok() {
                let _ = stream.write_all(b"HTTP/1.1 204 No Content\r\n\r\n");
            }
        }
    });

    let addr = running.addr;
    for batch in 0..20 {
        let clients: Vec<_> = (0..50)
            .map(|i| thread::spawn(move || client(addr, (batch * 50 + i) % 7)))
            .collect();
        for c in clients {
            c.join().unwrap();
        }
    }
    eventually("every connection accounted for", || {
        let stats = running.handle.stats();
        stats.accepted == 1000 && stats.routed_total() + stats.dropped() == 1000
    });
    let stats = running.handle.stats();
    // 143 clients of each kind but the last (142); HTTP and IGNORED
    // clients are either routed or dropped because the small queues fill.
    assert_eq!(
        (stats.not_matched, stats.timed_out, stats.route_closed),
        (143 + 142, 143, 143),
        "{stats:?}"
    );
    assert_eq!(
        stats.routed[0] + stats.routed[1] + stats.queue_full,
        286 + 143,
        "{stats:?}"
    );
    assert!(stats.routed[0] > 0 && stats.queue_full > 0, "{stats:?}");

    running.stop().unwrap();
    server.join().unwrap();
    drop((ignored, closed));
    eventually("threads back to the start", || threads() == threads_before);
    eventually("descriptors back to the start", || {
        descriptors() == descriptors_before
    });
}
