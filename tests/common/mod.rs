//! Helpers shared by the socket tests: start a multiplexer on a loopback
//! port, collect its events, connect clients with bounded waits, and stop
//! it with a bounded wait; and run an example program (`example`).

#![allow(dead_code)] // each test file uses its own subset of the helpers

pub mod example;

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::mpsc::{self, Receiver};
use std::sync::Mutex;
use std::thread;
use std::time::{Duration, Instant};

use connmux::{Accept, DropReason, Event, Mux, MuxBuilder, MuxHandle, ServeError};

/// The longest any single wait in a test may take before it fails.
pub const WAIT: Duration = Duration::from_secs(10);

/// What a test needs to know about an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen<A> {
    /// The peer, for connection events.
    pub peer: Option<A>,
    /// `not_matched`, `timed_out`, `queue_full`, `route_closed`, `io`,
    /// `shut_down`, `no_sniffer_thread` or `accept_failed`.
    pub kind: &'static str,
    pub sniffed_bytes: usize,
    /// The event's Display text.
    pub text: String,
}

fn summarize<A: Clone + std::fmt::Debug>(event: &Event<A>) -> Seen<A> {
    let text = event.to_string();
    match event {
        Event::Dropped {
            peer,
            reason,
            sniffed_bytes,
            ..
        } => Seen {
            peer: Some(peer.clone()),
            kind: match reason {
                DropReason::NotMatched => "not_matched",
                DropReason::TimedOut => "timed_out",
                DropReason::NoFirstByte => "no_first_byte",
                DropReason::QueueFull(_) => "queue_full",
                DropReason::RouteClosed(_) => "route_closed",
                DropReason::Io(_) => "io",
                DropReason::ShutDown => "shut_down",
                DropReason::NoSnifferThread(_) => "no_sniffer_thread",
                DropReason::ProxyHeader(_) => "proxy_header",
                DropReason::UntrustedProxy => "untrusted_proxy",
                DropReason::SourceLimit => "source_limit",
                DropReason::MatcherPanicked(_) => "matcher_panicked",
                DropReason::TooManyConnections => "too_many_connections",
                _ => "other",
            },
            sniffed_bytes: *sniffed_bytes,
            text,
        },
        Event::AcceptFailed { .. } => Seen {
            peer: None,
            kind: "accept_failed",
            sniffed_bytes: 0,
            text,
        },
        _ => Seen {
            peer: None,
            kind: "other",
            sniffed_bytes: 0,
            text,
        },
    }
}

/// A multiplexer serving on its own thread.
pub struct Running<A> {
    pub addr: A,
    pub handle: MuxHandle,
    events: Receiver<Seen<A>>,
    served: Receiver<Result<(), ServeError>>,
}

/// Installs an event recorder on `mux` and serves it on a new thread.
pub fn serve<S: Accept>(mut mux: Mux<S>) -> Running<S::Addr> {
    let (event_tx, events) = mpsc::channel();
    mux.on_event(move |event| {
        // The route-table lint's findings, reported as serving starts, are
        // tested in route_lint.rs; the tests here wait for connections'.
        if !matches!(event, Event::RouteLint { .. }) {
            let _ = event_tx.send(summarize(event));
        }
    });
    let addr = mux.local_addr().expect("local address");
    let handle = mux.handle();
    let (served_tx, served) = mpsc::channel();
    thread::spawn(move || {
        let _ = served_tx.send(mux.serve());
    });
    Running {
        addr,
        handle,
        events,
        served,
    }
}

impl<A> Running<A> {
    /// The next event, waiting at most [`WAIT`].
    pub fn next_event(&self) -> Seen<A> {
        self.events
            .recv_timeout(WAIT)
            .expect("an event within the wait bound")
    }

    /// The next event if one comes within `wait`.
    pub fn event_within(&self, wait: Duration) -> Option<Seen<A>> {
        self.events.recv_timeout(wait).ok()
    }

    /// Every event reported so far, without waiting.
    pub fn drain_events(&self) -> Vec<Seen<A>> {
        self.events.try_iter().collect()
    }

    /// Waits (at most [`WAIT`]) for `serve` to return on its own.
    pub fn wait_served(&self) -> Result<(), ServeError> {
        self.served
            .recv_timeout(WAIT)
            .expect("serve returned within the wait bound")
    }

    /// Shuts the multiplexer down and waits (at most [`WAIT`]) for `serve`
    /// to return.
    pub fn stop(&self) -> Result<(), ServeError> {
        self.handle.shutdown();
        self.wait_served()
    }
}

/// A multiplexer over a fresh loopback listener on a free port.
pub fn tcp_mux(builder: MuxBuilder) -> Mux<TcpListener> {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    builder.build(listener).expect("build the multiplexer")
}

/// A client connection whose reads and writes give up after [`WAIT`].
pub fn connect(addr: SocketAddr) -> TcpStream {
    let stream = TcpStream::connect(addr).expect("connect to the multiplexer");
    stream.set_read_timeout(Some(WAIT)).unwrap();
    stream.set_write_timeout(Some(WAIT)).unwrap();
    stream
}

/// Connects and sends `bytes`.
pub fn connect_and_send(addr: SocketAddr, bytes: &[u8]) -> TcpStream {
    let mut stream = connect(addr);
    stream.write_all(bytes).expect("send");
    stream
}

/// Reads until EOF, failing the test if that takes longer than [`WAIT`].
pub fn read_to_end(stream: &mut impl Read) -> Vec<u8> {
    let mut all = Vec::new();
    stream
        .read_to_end(&mut all)
        .expect("read to EOF within the wait bound");
    all
}

/// Whether the peer closed `stream`: a read returns EOF or a reset
/// (within [`WAIT`]) rather than data or a timeout.
pub fn is_closed_by_peer(stream: &mut TcpStream) -> bool {
    let mut byte = [0u8; 1];
    match stream.read(&mut byte) {
        Ok(0) => true,
        Ok(_) => false,
        Err(e) => matches!(
            e.kind(),
            io::ErrorKind::ConnectionReset
                | io::ErrorKind::ConnectionAborted
                | io::ErrorKind::BrokenPipe
        ),
    }
}

/// Polls `condition` until it holds, failing the test after [`WAIT`].
pub fn eventually(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + WAIT;
    while !condition() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        thread::sleep(Duration::from_millis(2));
    }
}

/// Runs `f` on a thread and fails the test if it takes longer than `bound`.
pub fn within<T: Send + 'static>(bound: Duration, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(bound).expect("finished within the bound")
}

/// What a [`ScriptedSource`] returns from its next `accept`.
pub enum Scripted<C> {
    /// A connection, with a peer number.
    Conn(C, u64),
    /// An accept error.
    Error(io::Error),
}

enum ScriptItem<C> {
    Next(Scripted<C>),
    Wake,
}

/// An `Accept` source that returns exactly what the test scripts, in
/// order: connections of any type, and accept errors. (The threads
/// accepting take turns at the receiver.)
pub struct ScriptedSource<C> {
    items: Mutex<Receiver<ScriptItem<C>>>,
    waker: mpsc::Sender<ScriptItem<C>>,
}

/// Feeds a [`ScriptedSource`].
pub struct Script<C> {
    items: mpsc::Sender<ScriptItem<C>>,
}

impl<C> Script<C> {
    pub fn push(&self, next: Scripted<C>) {
        self.items
            .send(ScriptItem::Next(next))
            .expect("source alive");
    }
}

pub fn scripted_source<C>() -> (ScriptedSource<C>, Script<C>) {
    let (tx, rx) = mpsc::channel();
    (
        ScriptedSource {
            items: Mutex::new(rx),
            waker: tx.clone(),
        },
        Script { items: tx },
    )
}

impl<C: connmux::Connection> Accept for ScriptedSource<C> {
    type Conn = C;
    type Addr = u64;

    fn accept(&self) -> io::Result<(C, u64)> {
        match self.items.lock().unwrap().recv() {
            Ok(ScriptItem::Next(Scripted::Conn(conn, peer))) => Ok((conn, peer)),
            Ok(ScriptItem::Next(Scripted::Error(error))) => Err(error),
            Ok(ScriptItem::Wake) => Err(io::Error::from(io::ErrorKind::Interrupted)),
            Err(_) => Err(io::Error::from(io::ErrorKind::NotConnected)),
        }
    }

    fn local_addr(&self) -> io::Result<u64> {
        Ok(0)
    }

    fn wake_handle(&self) -> io::Result<connmux::WakeAccept> {
        let waker = Mutex::new(self.waker.clone());
        Ok(Box::new(move || {
            let _ = waker.lock().unwrap().send(ScriptItem::Wake);
        }))
    }
}

/// A connection that yields `bytes` and then fails every read with
/// `error`, as a client whose connection is reset mid-sniff.
pub struct FailingConn {
    state: Mutex<(Vec<u8>, io::ErrorKind)>,
}

impl FailingConn {
    pub fn new(bytes: &[u8], error: io::ErrorKind) -> Self {
        FailingConn {
            state: Mutex::new((bytes.to_vec(), error)),
        }
    }
}

impl connmux::Connection for FailingConn {
    fn write_shared(&self, buf: &[u8]) -> io::Result<usize> {
        Ok(buf.len())
    }

    fn read_shared(&self, buf: &mut [u8]) -> io::Result<usize> {
        let mut state = self.state.lock().unwrap();
        if state.0.is_empty() {
            return Err(io::Error::new(state.1, "scripted failure"));
        }
        let count = buf.len().min(state.0.len());
        buf[..count].copy_from_slice(&state.0[..count]);
        state.0.drain(..count);
        Ok(count)
    }

    fn set_read_timeout(&self, _: Option<Duration>) -> io::Result<()> {
        Ok(())
    }

    fn read_timeout(&self) -> io::Result<Option<Duration>> {
        Ok(None)
    }

    fn set_nonblocking(&self, _: bool) -> io::Result<()> {
        Ok(())
    }

    fn shutdown(&self, _: std::net::Shutdown) -> io::Result<()> {
        Ok(())
    }
}

impl Read for FailingConn {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        connmux::Connection::read_shared(self, buf)
    }
}

impl Write for FailingConn {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        connmux::Connection::write_shared(self, buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
