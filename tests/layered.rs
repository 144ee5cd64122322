//! Connections with a layer set up before the sniff (`handshake`): where
//! the set-up runs, what a stalled or failed one costs, and that shutdown
//! interrupts one blocked in a read.

use std::io::{self, Read, Write};
use std::sync::{mpsc, Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use connmux::memory::{self, MemoryStream};
use connmux::{handshake, matchers, DropReason, Event, Mux, Socket};

/// The toy layer of these tests: the client sends `HELLO\n` first; the
/// server answers `OK\n`. Records the thread each set-up ran on.
fn greeting(
    threads: &Arc<Mutex<Vec<Option<String>>>>,
) -> impl Fn(Socket<MemoryStream>) -> io::Result<Socket<MemoryStream>> + Send + Sync + 'static {
    let threads = Arc::clone(threads);
    move |mut socket| {
        threads
            .lock()
            .unwrap()
            .push(thread::current().name().map(str::to_owned));
        let mut hello = [0u8; 6];
        socket.read_exact(&mut hello)?;
        if &hello != b"HELLO\n" {
            return Err(io::Error::new(io::ErrorKind::InvalidData, "no HELLO"));
        }
        socket.write_all(b"OK\n")?;
        Ok(socket)
    }
}

#[test]
fn set_up_runs_on_the_sniffer_thread_and_a_stalled_one_holds_up_nobody() {
    let threads = Arc::default();
    let (source, connector) = memory::listener();
    let mut mux = Mux::builder()
        .first_byte_timeout(None)
        .sniff_deadline(Some(Duration::from_millis(300)))
        .build(handshake(source, greeting(&threads)))
        .unwrap();
    let pings = mux.route(matchers::prefixes(["PING"]));
    let drops = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&drops);
    mux.on_event(move |event| {
        if let Event::Dropped { reason, .. } = event {
            seen.lock().unwrap().push(reason.to_string());
        }
    });
    let handle = mux.handle();
    let server = thread::spawn(move || mux.serve());

    // Connects and never says HELLO: its set-up blocks in a read.
    let _stalled = connector.connect().unwrap();
    let mut client = connector.connect().unwrap();
    client.write_all(b"HELLO\nPING").unwrap();
    let (mut stream, _) = pings.accept_timeout(Duration::from_secs(10)).unwrap();
    let mut ping = [0u8; 4];
    stream.read_exact(&mut ping).unwrap();
    assert_eq!(&ping, b"PING");
    let mut ok = [0u8; 3];
    client.read_exact(&mut ok).unwrap();
    assert_eq!(&ok, b"OK\n");

    // The stalled one ends at the sniff deadline, as a silent client would.
    let started = Instant::now();
    while drops.lock().unwrap().is_empty() {
        assert!(started.elapsed() < Duration::from_secs(10), "never dropped");
        thread::sleep(Duration::from_millis(10));
    }
    handle.shutdown();
    server.join().unwrap().unwrap();
    let threads = threads.lock().unwrap();
    assert_eq!(threads.len(), 2);
    assert!(
        threads
            .iter()
            .all(|name| name.as_deref() == Some("connmux-sniffer")),
        "{threads:?}"
    );
    assert_eq!(handle.stats().timed_out, 1, "{:?}", drops.lock().unwrap());
}

#[test]
fn a_failed_set_up_drops_the_connection_with_its_error() {
    let threads = Arc::default();
    let (source, connector) = memory::listener();
    let mut mux = Mux::new(handshake(source, greeting(&threads))).unwrap();
    let _any = mux.route(matchers::any());
    let reasons = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&reasons);
    mux.on_event(move |event| {
        if let Event::Dropped { reason, .. } = event {
            let io_kind = match reason {
                DropReason::Io(error) => Some(error.kind()),
                _ => None,
            };
            seen.lock().unwrap().push(io_kind);
        }
    });
    let handle = mux.handle();
    let server = thread::spawn(move || mux.serve());
    let mut client = connector.connect().unwrap();
    client.write_all(b"HOWDY\n").unwrap();
    let mut rest = Vec::new();
    client.read_to_end(&mut rest).unwrap();
    assert!(rest.is_empty(), "closed without an answer");
    handle.shutdown();
    server.join().unwrap().unwrap();
    assert_eq!(*reasons.lock().unwrap(), [Some(io::ErrorKind::InvalidData)]);
}

#[test]
fn shutdown_interrupts_a_set_up_blocked_in_a_read() {
    let threads = Arc::default();
    let (source, connector) = memory::listener();
    let mut mux = Mux::builder()
        .first_byte_timeout(None)
        .sniff_deadline(None)
        .build(handshake(source, greeting(&threads)))
        .unwrap();
    let _any = mux.route(matchers::any());
    let handle = mux.handle();
    let server = thread::spawn(move || mux.serve());
    let _silent = connector.connect().unwrap();
    while threads.lock().unwrap().is_empty() {
        thread::sleep(Duration::from_millis(5));
    }
    handle.shutdown();
    // With no deadline, only the interrupt can end the set-up's read.
    let (done, joined) = mpsc::channel();
    thread::spawn(move || done.send(server.join().unwrap().is_ok()));
    assert_eq!(joined.recv_timeout(Duration::from_secs(10)), Ok(true));
    assert_eq!(handle.stats().shut_down, 1);
}
