//! No byte lost under concurrent load: hundreds of clients at once send
//! random payloads of random sizes in random chunks, through a queue
//! route and an inline route; every handler reports the length and a
//! checksum of what it read, and every client checks them against what
//! it sent.

mod common;

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::thread;

use common::{serve, tcp_mux, WAIT};
use connmux::matchers::prefixes;
use connmux::{Mux, PeekableStream};

/// FNV-1a over `bytes`.
fn checksum(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &b| {
        (hash ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    })
}

/// Reads the whole stream and answers with its length and checksum.
fn summarize(mut stream: PeekableStream) {
    let mut all = Vec::new();
    if stream.read_to_end(&mut all).is_ok() {
        let summary = format!("{} {:016x}", all.len(), checksum(&all));
        let _ = stream.write_all(summary.as_bytes());
    }
}

fn client(addr: SocketAddr, seed: u64) {
    let mut state = seed | 1;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let opening: &[u8] = if seed.is_multiple_of(2) {
        b"QUEUE"
    } else {
        b"INLINE"
    };
    let size = (next() % 262_144) as usize;
    let mut payload = opening.to_vec();
    payload.extend((0..size).map(|_| next() as u8));
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(WAIT)).unwrap();
    stream.set_nodelay(true).unwrap();
    let mut rest = &payload[..];
    while !rest.is_empty() {
        let chunk = (1 + next() % 8192) as usize;
        let (now, later) = rest.split_at(chunk.min(rest.len()));
        stream.write_all(now).unwrap();
        rest = later;
    }
    stream.shutdown(Shutdown::Write).unwrap();
    let mut summary = String::new();
    stream.read_to_string(&mut summary).unwrap();
    assert_eq!(
        summary,
        format!("{} {:016x}", payload.len(), checksum(&payload)),
        "client {seed}"
    );
}

#[test]
fn every_handler_reads_exactly_what_its_client_sent() {
    let mut mux = tcp_mux(Mux::builder().route_queue_capacity(512));
    mux.route_inline(prefixes(["INLINE"]), |stream, _| summarize(stream));
    let queued = mux.route(prefixes(["QUEUE"]));
    let running = serve(mux);
    let handlers: Vec<_> = (0..8)
        .map(|_| {
            let queued = queued.clone();
            thread::spawn(move || {
                while let Ok((stream, _)) = queued.accept() {
                    thread::spawn(move || summarize(stream));
                }
            })
        })
        .collect();
    let addr = running.addr;
    let clients: Vec<_> = (1..=300u64)
        .map(|seed| thread::spawn(move || client(addr, seed * 2_654_435_761)))
        .collect();
    for client in clients {
        client.join().expect("a client saw different bytes");
    }
    let stats = running.handle.stats();
    assert_eq!(stats.routed_total(), 300);
    assert_eq!(stats.dropped(), 0, "{stats:?}");
    running.stop().unwrap();
    for handler in handlers {
        handler.join().unwrap();
    }
}
