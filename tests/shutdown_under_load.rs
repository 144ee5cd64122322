//! Shutdown under load: with 1,000 connections in every state (waiting in
//! the backlog, being sniffed, queued for a route, held by an inline
//! handler, held by a queue route's handler), both an immediate and a
//! graceful shutdown return within their bound, close what they must, and
//! leave no thread or descriptor behind.
//!
//! One test in this file, so that no other test's threads or sockets run
//! in the process while it counts.

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use common::{eventually, serve, tcp_mux, WAIT};
use connmux::matchers::prefixes;
use connmux::Mux;

fn count_entries(dir: &str) -> usize {
    std::fs::read_dir(dir).map(|d| d.count()).unwrap_or(0)
}

/// Connections in each state; returns the client sockets and the threads
/// serving the queue route.
struct Load {
    clients: Vec<TcpStream>,
    queue_handlers: Vec<thread::JoinHandle<()>>,
    release_handlers: Arc<AtomicBool>,
}

fn load_up(graceful: bool) -> Load {
    let mut mux = tcp_mux(
        Mux::builder()
            .sniff_deadline(None)
            .first_byte_timeout(None)
            .max_concurrent_sniffs(300)
            // Three hundred clients, all from 127.0.0.1 here.
            .max_sniffs_per_source(None)
            .route_queue_capacity(300)
            .idle_sniffer_timeout(Duration::from_millis(100)),
    );
    let release_handlers = Arc::new(AtomicBool::new(false));
    let release = Arc::clone(&release_handlers);
    mux.route_inline(prefixes(["HOLD"]), move |mut stream, _| {
        // Inline handlers hold their connection until released.
        stream
            .set_read_timeout(Some(Duration::from_millis(20)))
            .unwrap();
        while !release.load(Ordering::SeqCst) {
            let _ = stream.read(&mut [0u8; 64]);
        }
    });
    let queued = mux.route(prefixes(["QUEUE"]));
    let served = mux.route(prefixes(["SERVE"]));
    let running = serve(mux);
    let addr: SocketAddr = running.addr;

    let mut clients = Vec::new();
    let mut open = |bytes: &[u8], count: usize| {
        for _ in 0..count {
            let mut client = TcpStream::connect(addr).unwrap();
            client.set_read_timeout(Some(WAIT)).unwrap();
            if !bytes.is_empty() {
                client.write_all(bytes).unwrap();
            }
            clients.push(client);
        }
    };
    // 200 held by inline handlers, 200 by queue-route handler threads,
    // 200 queued unaccepted, 300 sniffing (the sniff limit), and 100
    // more waiting in the backlog behind them.
    open(b"HOLD", 200);
    eventually("200 inline handlers", || {
        running.handle.stats().routed.first() == Some(&200)
    });
    let queue_handlers: Vec<_> = (0..200)
        .map(|_| {
            let served = served.clone();
            let release = Arc::clone(&release_handlers);
            thread::spawn(move || {
                if let Ok((mut stream, _)) = served.accept() {
                    stream
                        .set_read_timeout(Some(Duration::from_millis(20)))
                        .unwrap();
                    while !release.load(Ordering::SeqCst) {
                        let _ = stream.read(&mut [0u8; 64]);
                    }
                }
            })
        })
        .collect();
    open(b"SERVE", 200);
    open(b"QUEUE", 200);
    eventually("200 queued", || queued.queued() == 200);
    open(b"HOL", 300);
    eventually("300 sniffing", || running.handle.sniffing() == 300);
    open(b"", 100);
    assert_eq!(clients.len(), 1000);

    let started = Instant::now();
    if graceful {
        running.handle.shutdown_graceful(Duration::from_millis(300));
    } else {
        running.handle.shutdown();
    }
    running.wait_served().expect("serve returned");
    let took = started.elapsed();
    assert!(took < WAIT, "shutdown took {took:?}");
    assert!(
        !graceful || took >= Duration::from_millis(300),
        "a graceful shutdown waited for the sniffs in progress ({took:?})"
    );
    // Sniffing and backlog clients were closed; queued ones are handed
    // out, then accept fails.
    let mut handed_out = 0;
    while queued.accept().is_ok() {
        handed_out += 1;
    }
    assert_eq!(handed_out, 200);
    Load {
        clients,
        queue_handlers,
        release_handlers,
    }
}

#[test]
fn immediate_and_graceful_shutdown_with_a_thousand_connections() {
    let threads_before = count_entries("/proc/self/task");
    let descriptors_before = count_entries("/proc/self/fd");
    for graceful in [false, true] {
        let load = load_up(graceful);
        // Handlers still run after serve returned; release them.
        load.release_handlers.store(true, Ordering::SeqCst);
        for handler in load.queue_handlers {
            handler.join().unwrap();
        }
        for mut client in load.clients {
            let _ = client.read(&mut [0u8; 1]);
        }
        eventually("threads back to the start", || {
            count_entries("/proc/self/task") == threads_before
        });
        eventually("descriptors back to the start", || {
            count_entries("/proc/self/fd") == descriptors_before
        });
    }
}
