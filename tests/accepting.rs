//! Sniffer threads take turns accepting: each connection is sniffed and
//! served on the thread that accepted it (but those `serve`'s own thread
//! accepts while no sniffer thread exists), and shutdown reaches every
//! thread blocked in `accept`, whether the source's wake-up wakes all of
//! them (a shut-down socket) or one (an in-memory listener).

mod common;

use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::sync::{Arc, Mutex};
use std::thread::{self, ThreadId};

use common::{connect_and_send, eventually, serve, tcp_mux, within, WAIT};
use connmux::matchers::prefixes;
use connmux::memory::{self, MemoryAddr, MemoryListener, MemoryStream};
use connmux::{Accept, Mux, WakeAccept};

/// Which thread accepted each peer, and which served it.
type Threads = Arc<Mutex<HashMap<MemoryAddr, ThreadId>>>;

/// An in-memory listener that notes the thread each connection was
/// accepted on.
struct Noting {
    listener: MemoryListener,
    accepted_on: Threads,
}

impl Accept for Noting {
    type Conn = MemoryStream;
    type Addr = MemoryAddr;

    fn accept(&self) -> io::Result<(MemoryStream, MemoryAddr)> {
        let (conn, peer) = self.listener.accept()?;
        let previous = self
            .accepted_on
            .lock()
            .unwrap()
            .insert(peer, thread::current().id());
        assert!(previous.is_none(), "{peer} accepted twice");
        Ok((conn, peer))
    }

    fn local_addr(&self) -> io::Result<MemoryAddr> {
        self.listener.local_addr()
    }

    fn wake_handle(&self) -> io::Result<WakeAccept> {
        self.listener.wake_handle()
    }
}

#[test]
fn each_connection_is_sniffed_and_served_on_the_thread_that_accepted_it() {
    const CLIENTS: u64 = 64;
    let (listener, connector) = memory::listener();
    let accepted_on = Threads::default();
    let served_on = Threads::default();
    let mut mux = Mux::new(Noting {
        listener,
        accepted_on: Arc::clone(&accepted_on),
    })
    .unwrap();
    let noted = Arc::clone(&served_on);
    mux.route_inline(prefixes(["PING"]), move |mut stream, peer| {
        noted.lock().unwrap().insert(peer, thread::current().id());
        let _ = stream.write_all(b"PONG");
    });
    let running = serve(mux);
    // Eight at a time, so that several threads accept at once.
    let clients: Vec<_> = (0..8)
        .map(|_| {
            let connector = connector.clone();
            thread::spawn(move || {
                for _ in 0..CLIENTS / 8 {
                    let mut client = connector.connect().unwrap();
                    client.write_all(b"PING").unwrap();
                    let mut pong = [0u8; 4];
                    client.read_exact(&mut pong).unwrap();
                    assert_eq!(&pong, b"PONG");
                }
            })
        })
        .collect();
    for client in clients {
        client.join().unwrap();
    }
    eventually("every connection served", || {
        served_on.lock().unwrap().len() == CLIENTS as usize
    });
    let accepted_on = accepted_on.lock().unwrap();
    let served_on = served_on.lock().unwrap();
    // Those that changed threads were accepted by `serve`'s thread, which
    // serves none, while no sniffer thread existed: at the start.
    let moved: Vec<_> = accepted_on
        .iter()
        .filter(|(peer, thread)| served_on[peer] != **thread)
        .map(|(_, thread)| thread)
        .collect();
    let serve_thread = moved.first().copied();
    assert!(
        moved.len() <= 8 && moved.iter().all(|thread| Some(*thread) == serve_thread),
        "{} of {CLIENTS} connections changed threads",
        moved.len()
    );
    assert!(serve_thread.is_none_or(|serve| !served_on.values().any(|t| t == serve)));
    let threads: std::collections::HashSet<_> = served_on.values().collect();
    assert!(threads.len() > 1, "several threads took turns");
    running.stop().unwrap();
}

/// Holds `count` connections in inline handlers at once, so that the pool
/// grows to at least that many threads, then lets them all go back to
/// accepting, and shuts down: `serve` returns only once every thread has
/// left `accept`.
fn shutdown_after_a_burst<S: Accept>(
    mut mux: Mux<S>,
    count: usize,
    connect: impl Fn() -> Box<dyn ReadWrite>,
) {
    let release = Arc::new(Mutex::new(()));
    let held = release.lock().unwrap();
    let gate = Arc::clone(&release);
    mux.route_inline(prefixes(["HOLD"]), move |mut stream, _| {
        drop(gate.lock().unwrap());
        let _ = stream.write_all(b"BYE");
    });
    let running = serve(mux);
    let mut clients: Vec<_> = (0..count)
        .map(|_| {
            let mut client = connect();
            client.write_all(b"HOLD").unwrap();
            client
        })
        .collect();
    eventually("every handler holding its thread", || {
        running.handle.stats().routed == [count as u64]
    });
    drop(held);
    for client in &mut clients {
        let mut bye = [0u8; 3];
        client.read_exact(&mut bye).unwrap();
    }
    // The threads are back, in `accept` or waiting for a turn.
    eventually("nothing in flight", || running.handle.sniffing() == 0);
    thread::sleep(std::time::Duration::from_millis(50));
    within(WAIT, move || running.stop()).unwrap();
}

trait ReadWrite: Read + Write {}
impl<T: Read + Write> ReadWrite for T {}

#[test]
fn shutdown_wakes_every_thread_a_memory_listener_has_in_accept() {
    let (listener, connector) = memory::listener();
    let mux = Mux::new(listener).unwrap();
    // The listener's wake-up wakes one thread: each passes it on.
    shutdown_after_a_burst(mux, 24, move || Box::new(connector.connect().unwrap()));
}

#[test]
fn shutdown_wakes_every_thread_a_tcp_listener_has_in_accept() {
    let mux = tcp_mux(Mux::builder());
    let addr = mux.local_addr().unwrap();
    shutdown_after_a_burst(mux, 24, move || Box::new(connect_and_send(addr, b"")));
}
