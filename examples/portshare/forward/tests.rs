//! Forwarding over loopback sockets: the idle timeout, and that a
//! connection without one sets no timeouts. Each connection is relayed as
//! `session` does: the first exchange, then the download on a second
//! thread and the upload on the first.

use std::io::Read;
use std::net::{Shutdown, TcpListener, TcpStream};
use std::os::unix::net::UnixStream;
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use super::*;

/// The longest any test waits for a byte or an end.
const WAIT: Duration = Duration::from_secs(5);

/// The idle timeout the tests forward with.
const IDLE_TIMEOUT: Duration = Duration::from_millis(300);

/// Less than [`IDLE_TIMEOUT`]: the pause between the bytes of a
/// connection that must stay open.
const PAUSE: Duration = Duration::from_millis(100);

/// The two peers of a connection being forwarded, and the relay's result.
struct Forwarded {
    client: TcpStream,
    backend: TcpStream,
    relayed: mpsc::Receiver<Relayed>,
}

impl Forwarded {
    /// A client and a backend connected through a relay with
    /// `idle_timeout`.
    fn start(idle_timeout: Option<Duration>) -> Forwarded {
        let (client, relay_client) = connected_pair();
        let (relay_backend, backend) = connected_pair();
        let relay_backend = BackendStream::Tcp(relay_backend);
        let (sender, relayed) = mpsc::channel();
        thread::spawn(move || {
            let idle = idle_timeout.map(Idle::new);
            let _ = sender.send(relay(&relay_client, &relay_backend, idle.as_ref()));
        });
        Forwarded {
            client,
            backend,
            relayed,
        }
    }

    /// How the relay ended, waiting at most [`WAIT`].
    fn relayed(&self) -> Relayed {
        self.relayed.recv_timeout(WAIT).expect("the relay ends")
    }
}

/// Forwards between `client` and `backend` until both directions end.
fn relay(client: &TcpStream, backend: &BackendStream, idle: Option<&Idle>) -> Relayed {
    let mut buffer = vec![0; BUFFER_BYTES];
    thread::scope(|scope| {
        let downloading = match first_exchange(client, backend, &mut buffer, idle) {
            FirstExchange::Done(flow) => Err(flow),
            FirstExchange::GoesOn(resume) => Ok(scope.spawn(move || {
                download(client, backend, resume, &mut vec![0; BUFFER_BYTES], idle)
            })),
        };
        let up = upload(client, backend, 0, &mut buffer, idle);
        let down = downloading.map_or_else(|flow| flow, |thread| thread.join().unwrap());
        Relayed { up, down }
    })
}

fn connected_pair() -> (TcpStream, TcpStream) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let connecting = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let (accepted, _) = listener.accept().unwrap();
    for stream in [&connecting, &accepted] {
        stream.set_read_timeout(Some(WAIT)).unwrap();
        stream.set_write_timeout(Some(WAIT)).unwrap();
    }
    (connecting, accepted)
}

/// Reads exactly `expected.len()` bytes and checks them.
fn expect(mut stream: &TcpStream, expected: &[u8]) {
    let mut got = vec![0; expected.len()];
    stream.read_exact(&mut got).expect("the bytes within WAIT");
    assert_eq!(got, expected);
}

/// Checks that `stream` is at its end, within [`WAIT`].
fn expect_end(mut stream: &TcpStream) {
    let mut byte = [0u8; 1];
    assert_eq!(stream.read(&mut byte).expect("the end within WAIT"), 0);
}

#[test]
fn an_idle_connection_is_closed_on_both_sides() {
    let forwarded = Forwarded::start(Some(IDLE_TIMEOUT));
    (&forwarded.client).write_all(b"ping").unwrap();
    expect(&forwarded.backend, b"ping");
    (&forwarded.backend).write_all(b"pong").unwrap();
    expect(&forwarded.client, b"pong");
    let last_byte = Instant::now();

    expect_end(&forwarded.client);
    expect_end(&forwarded.backend);
    let idle_for = last_byte.elapsed();
    assert!(idle_for >= IDLE_TIMEOUT, "closed after {idle_for:?}");
    assert!(idle_for < IDLE_TIMEOUT * 3, "closed after {idle_for:?}");
    let relayed = forwarded.relayed();
    let failure = relayed.failure().expect("a failure");
    assert_eq!(failure.operation, Operation::Idle);
    assert_eq!(failure.to_string(), "nothing moved either way for 300 ms");
    assert_eq!((relayed.up.bytes, relayed.down.bytes), (4, 4));
}

#[test]
fn a_connection_that_keeps_talking_stays_open() {
    let forwarded = Forwarded::start(Some(IDLE_TIMEOUT));
    let started = Instant::now();
    while started.elapsed() < IDLE_TIMEOUT * 3 {
        (&forwarded.client).write_all(b"ping").unwrap();
        expect(&forwarded.backend, b"ping");
        thread::sleep(PAUSE);
        (&forwarded.backend).write_all(b"pong").unwrap();
        expect(&forwarded.client, b"pong");
        thread::sleep(PAUSE);
    }
    forwarded.client.shutdown(Shutdown::Write).unwrap();
    expect_end(&forwarded.backend);
    forwarded.backend.shutdown(Shutdown::Write).unwrap();
    expect_end(&forwarded.client);
    assert!(forwarded.relayed().failure().is_none());
}

#[test]
fn a_one_way_download_stays_open() {
    let forwarded = Forwarded::start(Some(IDLE_TIMEOUT));
    let started = Instant::now();
    let mut sent = 0;
    while started.elapsed() < IDLE_TIMEOUT * 3 {
        (&forwarded.backend).write_all(&[7; 1000]).unwrap();
        expect(&forwarded.client, &[7; 1000]);
        sent += 1000;
        thread::sleep(PAUSE);
    }
    forwarded.backend.shutdown(Shutdown::Write).unwrap();
    expect_end(&forwarded.client);
    forwarded.client.shutdown(Shutdown::Write).unwrap();
    expect_end(&forwarded.backend);
    let relayed = forwarded.relayed();
    assert!(relayed.failure().is_none());
    assert_eq!((relayed.up.bytes, relayed.down.bytes), (0, sent));
}

#[test]
fn a_slow_reader_of_a_bulk_upload_stays_open() {
    // Bulk writes of 4 MiB to a backend reading 64 KiB every 25 ms (2.6
    // MB/s): one blocking send would outlast the idle timeout. The
    // backend is a UNIX socket, whose small buffer (unlike loopback
    // TCP's megabytes) the relay's progress cannot hide in for long.
    const TOTAL: usize = 6 << 20;
    let (client, relay_client) = connected_pair();
    let (relay_backend, backend) = UnixStream::pair().unwrap();
    backend.set_read_timeout(Some(WAIT)).unwrap();
    let (sender, relayed) = mpsc::channel();
    thread::spawn(move || {
        let idle = Idle::new(IDLE_TIMEOUT);
        let relay_backend = BackendStream::Unix(relay_backend);
        let _ = sender.send(relay(&relay_client, &relay_backend, Some(&idle)));
    });
    let uploader = client.try_clone().unwrap();
    let uploading = thread::spawn(move || {
        (&uploader).write_all(&vec![7; TOTAL]).unwrap();
        uploader.shutdown(Shutdown::Write).unwrap();
    });
    let mut buffer = vec![0; 64 * 1024];
    let mut received = 0;
    loop {
        match (&backend).read(&mut buffer).expect("bytes within WAIT") {
            0 => break,
            read => received += read,
        }
        thread::sleep(Duration::from_millis(25));
    }
    assert_eq!(received, TOTAL);
    uploading.join().unwrap();
    (&backend).write_all(b"done").unwrap();
    backend.shutdown(Shutdown::Write).unwrap();
    expect(&client, b"done");
    expect_end(&client);
    let relayed = relayed.recv_timeout(WAIT).expect("the relay ends");
    assert!(relayed.failure().is_none(), "{:?}", relayed.failure());
}

#[test]
fn a_half_closed_connection_is_timed_out_only_when_idle() {
    let forwarded = Forwarded::start(Some(IDLE_TIMEOUT));
    // The client sends its request and its end, then reads a reply that
    // comes slowly: only the download is left, and it moves.
    (&forwarded.client).write_all(b"request").unwrap();
    forwarded.client.shutdown(Shutdown::Write).unwrap();
    expect(&forwarded.backend, b"request");
    expect_end(&forwarded.backend);
    for _ in 0..6 {
        thread::sleep(PAUSE);
        (&forwarded.backend).write_all(b"part").unwrap();
        expect(&forwarded.client, b"part");
    }
    let last_byte = Instant::now();
    expect_end(&forwarded.client);
    assert!(last_byte.elapsed() >= IDLE_TIMEOUT);
    let failure = forwarded
        .relayed()
        .failure()
        .map(|failure| failure.operation);
    assert_eq!(failure, Some(Operation::Idle));
}

#[test]
fn without_an_idle_timeout_no_socket_timeout_is_left_set() {
    let (_client, relay_client) = connected_pair();
    let (relay_backend, _backend) = connected_pair();
    for stream in [&relay_client, &relay_backend] {
        stream.set_read_timeout(None).unwrap();
        stream.set_write_timeout(None).unwrap();
    }
    let relay_backend = BackendStream::Tcp(relay_backend);
    let mut buffer = vec![0; BUFFER_BYTES];
    assert!(matches!(
        first_exchange(&relay_client, &relay_backend, &mut buffer, None),
        FirstExchange::GoesOn(_)
    ));
    let BackendStream::Tcp(relay_backend) = &relay_backend else {
        unreachable!()
    };
    assert_eq!(relay_backend.read_timeout().unwrap(), None);
    assert_eq!(relay_client.write_timeout().unwrap(), None);
}
