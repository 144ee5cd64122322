//! `PeekableStream` over real sockets: replay order, the end seen during
//! the sniff, socket methods, clones and taking the parts back out; and
//! its parity with `TcpStream`, each test doing the same to a plain
//! `TcpStream` pair beside it.

mod common;

use std::io::{self, Read, Write};
use std::net::Shutdown;
#[cfg(unix)]
use std::os::fd::AsRawFd;
use std::time::Duration;

use common::{
    connect, connect_and_send, read_to_end, scripted_source, serve, tcp_mux, FailingConn, Scripted,
    WAIT,
};
use connmux::matchers::{any, http1_fast, prefixes};
use connmux::{Mux, PeekableStream, Verdict};

/// A matcher that wants `count` bytes before refusing, to make the sniff
/// read (and replay) at least that many.
fn wants_bytes(count: usize) -> impl Fn(&[u8]) -> Verdict + Send + Sync {
    move |seen: &[u8]| {
        if seen.len() < count {
            Verdict::NeedMore
        } else {
            Verdict::NoMatch
        }
    }
}

#[test]
fn sniffed_bytes_then_live_bytes_in_order() {
    let mut mux = tcp_mux(Mux::builder());
    let http = mux.route(http1_fast());
    let running = serve(mux);
    let mut client = connect_and_send(running.addr, b"GET /first");
    let (mut conn, _) = http.accept_timeout(WAIT).unwrap();
    client.write_all(b" HTTP/1.1\r\n\r\n").unwrap();
    client.shutdown(Shutdown::Write).unwrap();
    assert_eq!(read_to_end(&mut conn), b"GET /first HTTP/1.1\r\n\r\n");
    running.stop().unwrap();
}

#[test]
fn a_megabyte_after_the_sniff_arrives_byte_exact() {
    let mut mux = tcp_mux(Mux::builder());
    let _sniff_deep = mux.route(wants_bytes(3000));
    let catch_all = mux.route(any());
    let running = serve(mux);
    let payload: Vec<u8> = (0..1_000_000u32).map(|i| (i * 7 % 251) as u8).collect();
    let sent = payload.clone();
    let addr = running.addr;
    let writer = std::thread::spawn(move || {
        let mut client = connect(addr);
        client.write_all(&sent).unwrap();
        client.shutdown(Shutdown::Write).unwrap();
        client
    });
    let (mut conn, _) = catch_all.accept_timeout(WAIT).unwrap();
    assert_eq!(read_to_end(&mut conn), payload);
    drop(writer.join().unwrap());
    running.stop().unwrap();
}

#[test]
fn socket_methods_reach_the_socket() {
    let mut mux = tcp_mux(Mux::builder());
    let catch_all = mux.route(any());
    let running = serve(mux);
    let mut client = connect(running.addr);
    let (mut conn, peer) = catch_all.accept_timeout(WAIT).unwrap();

    assert_eq!(conn.peer_addr().unwrap(), client.local_addr().unwrap());
    assert_eq!(peer, client.local_addr().unwrap());
    assert_eq!(conn.local_addr().unwrap(), running.addr);
    conn.set_nodelay(true).unwrap();
    assert!(conn.nodelay().unwrap());
    conn.set_ttl(42).unwrap();
    assert_eq!(conn.ttl().unwrap(), 42);
    assert_eq!(
        conn.read_timeout().unwrap(),
        None,
        "the sniff's timeout was cleared"
    );
    conn.set_write_timeout(Some(Duration::from_secs(3)))
        .unwrap();
    assert_eq!(conn.write_timeout().unwrap(), Some(Duration::from_secs(3)));
    assert!(conn.take_error().unwrap().is_none());
    #[cfg(unix)]
    assert_eq!(conn.as_raw_fd(), conn.get_ref().as_raw_fd());

    conn.set_read_timeout(Some(Duration::from_millis(20)))
        .unwrap();
    let timed_out = conn.read(&mut [0u8; 1]).unwrap_err();
    assert!(matches!(
        timed_out.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    ));

    conn.write_all(b"pong").unwrap();
    conn.flush().unwrap();
    conn.shutdown(Shutdown::Write).unwrap();
    assert_eq!(read_to_end(&mut client), b"pong");
    running.stop().unwrap();
}

#[test]
fn clones_share_the_sniffed_bytes_instead_of_duplicating_them() {
    let mut mux = tcp_mux(Mux::builder());
    let _sniff_deep = mux.route(wants_bytes(11));
    let catch_all = mux.route(any());
    let running = serve(mux);
    let mut client = connect_and_send(running.addr, b"hello world");
    client.shutdown(Shutdown::Write).unwrap();
    let (mut original, _) = catch_all.accept_timeout(WAIT).unwrap();
    assert_eq!(original.unread_len(), 11);

    let mut hello = [0u8; 5];
    original.read_exact(&mut hello).unwrap();
    let mut clone: PeekableStream = original.try_clone().unwrap();
    assert_eq!(clone.route(), original.route());
    let mut rest = Vec::new();
    clone.read_to_end(&mut rest).unwrap();
    assert_eq!((&hello[..], &rest[..]), (&b"hello"[..], &b" world"[..]));
    assert_eq!(
        original.read(&mut hello).unwrap(),
        0,
        "the clone took the rest"
    );

    clone.write_all(b"via clone").unwrap();
    drop((clone, original));
    assert_eq!(read_to_end(&mut client), b"via clone");
    running.stop().unwrap();
}

#[test]
fn into_parts_gives_back_the_socket_and_the_unread_bytes() {
    let mut mux = tcp_mux(Mux::builder());
    let ssh = mux.route(prefixes(["SSH-"]));
    let running = serve(mux);
    let client = connect_and_send(running.addr, b"SSH-2.0-test\r\n");
    let (mut conn, _) = ssh.accept_timeout(WAIT).unwrap();
    let mut first = [0u8; 4];
    conn.read_exact(&mut first).unwrap();
    let sniffed = conn.unread_len();
    let parts = conn.into_parts();
    assert_eq!(parts.unread.len(), sniffed);
    assert!(parts.pending_error.is_none());
    client.shutdown(Shutdown::Write).unwrap();
    let mut socket = parts.conn;
    let mut after = parts.unread;
    socket.read_to_end(&mut after).unwrap();
    assert_eq!(after, b"2.0-test\r\n");
    running.stop().unwrap();
}

#[test]
fn an_error_during_the_sniff_reaches_the_handler_after_the_bytes() {
    let (source, script) = scripted_source();
    let mut mux = Mux::new(source).unwrap();
    let catch_all = mux.route(undecided_until_the_end());
    let running = serve(mux);
    script.push(Scripted::Conn(
        FailingConn::new(b"partial", io::ErrorKind::ConnectionReset),
        1,
    ));
    let (mut conn, _) = catch_all.accept_timeout(WAIT).unwrap();
    let mut got = [0u8; 7];
    conn.read_exact(&mut got).unwrap();
    assert_eq!(&got, b"partial");
    let error = conn.read(&mut got).unwrap_err();
    assert_eq!(error.kind(), io::ErrorKind::ConnectionReset);
    running.stop().unwrap();
}

/// A matcher that never decides on bytes but takes whatever it is given
/// once the input ends: the sniff reads until the connection fails.
fn undecided_until_the_end() -> impl connmux::Matcher {
    struct AtEnd;
    impl connmux::Matcher for AtEnd {
        fn verdict(&self, _: &[u8]) -> Verdict {
            Verdict::NeedMore
        }
        fn matches_at_end(&self, _: &[u8]) -> bool {
            true
        }
    }
    AtEnd
}

#[test]
fn an_error_before_any_route_matches_is_reported() {
    let (source, script) = scripted_source();
    let mut mux = Mux::new(source).unwrap();
    let _http = mux.route(http1_fast());
    let running = serve(mux);
    script.push(Scripted::Conn(
        FailingConn::new(b"GE", io::ErrorKind::ConnectionReset),
        9,
    ));
    let event = running.next_event();
    assert_eq!(
        (event.kind, event.peer, event.sniffed_bytes),
        ("io", Some(9), 2)
    );
    assert!(event.text.contains("scripted failure"), "{}", event.text);
    assert_eq!(running.handle.stats().io_errors, 1);
    running.stop().unwrap();
}

#[cfg(unix)]
#[test]
fn unix_sockets_are_a_source_too() {
    use std::os::unix::net::{UnixListener, UnixStream};
    let dir = std::env::temp_dir().join(format!("connmux-test-{}-unix", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("mux.sock");
    let _ = std::fs::remove_file(&path);
    let mut mux = Mux::new(UnixListener::bind(&path).unwrap()).unwrap();
    let http = mux.route(http1_fast());
    let running = serve(mux);

    let mut client = UnixStream::connect(&path).unwrap();
    client.set_read_timeout(Some(WAIT)).unwrap();
    client.write_all(b"HEAD / HTTP/1.1\r\n\r\n").unwrap();
    let (mut conn, peer) = http.accept_timeout(WAIT).unwrap();
    assert!(peer.is_unnamed());
    assert_eq!(
        conn.local_addr().unwrap().as_pathname(),
        Some(path.as_path())
    );
    assert!(conn.peer_addr().unwrap().is_unnamed());
    let mut clone = conn.try_clone().unwrap();
    let mut head = [0u8; 5];
    clone.read_exact(&mut head).unwrap();
    assert_eq!(&head, b"HEAD ");
    conn.write_all(b"ok").unwrap();
    conn.shutdown(Shutdown::Write).unwrap();
    assert_eq!(read_to_end(&mut client), b"ok");
    running.stop().unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_read_timeout_the_source_set_survives_the_sniff() {
    use std::net::{TcpListener, TcpStream};

    // An accept source that gives each connection a read timeout: the
    // handler gets the connection with that timeout, not the sniff's.
    let (source, script) = scripted_source::<TcpStream>();
    let mut mux = Mux::new(source).unwrap();
    let http = mux.route(http1_fast());
    let running = serve(mux);
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let mut client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let (conn, _) = listener.accept().unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(7))).unwrap();
    script.push(Scripted::Conn(conn, 1));
    client.write_all(b"GET / HTTP/1.1\r\n\r\n").unwrap();
    let (stream, _) = http.accept_timeout(WAIT).unwrap();
    assert_eq!(
        stream.get_ref().read_timeout().unwrap(),
        Some(Duration::from_secs(7))
    );
    running.stop().unwrap();
}

/// A plain loopback connection, the reference the parity tests compare
/// with: (client, server).
fn std_pair() -> (std::net::TcpStream, std::net::TcpStream) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let client = connect(listener.local_addr().unwrap());
    let (server, _) = listener.accept().unwrap();
    server.set_read_timeout(Some(WAIT)).unwrap();
    (client, server)
}

/// A multiplexed connection whose replay is exactly `sniffed` (the sniff
/// cannot read more than the client sent): (client, server, the running
/// mux).
fn mux_pair(
    sniffed: &[u8],
) -> (
    std::net::TcpStream,
    PeekableStream,
    common::Running<std::net::SocketAddr>,
) {
    let mut mux = tcp_mux(Mux::builder());
    let _sniff_deep = mux.route(wants_bytes(sniffed.len()));
    let catch_all = mux.route(any());
    let running = serve(mux);
    let client = connect_and_send(running.addr, sniffed);
    let (server, _) = catch_all.accept_timeout(WAIT).unwrap();
    assert_eq!(server.unread_len(), sniffed.len());
    (client, server, running)
}

#[test]
fn peek_is_tcp_streams_peek_with_the_sniffed_bytes_first() {
    let (mut std_client, std_server) = std_pair();
    std_client.write_all(b"hello").unwrap();
    let (mut client, mut conn, running) = mux_pair(b"hello");

    // Peeking leaves the bytes for the read, on both.
    let (mut peeked, mut std_peeked) = ([0u8; 16], [0u8; 16]);
    assert_eq!(std_server.peek(&mut std_peeked).unwrap(), 5);
    assert_eq!(conn.peek(&mut peeked).unwrap(), 5);
    assert_eq!(conn.peek(&mut peeked[..2]).unwrap(), 2);
    assert_eq!(
        (&peeked[..5], &std_peeked[..5]),
        (&b"hello"[..], &b"hello"[..])
    );
    let mut read = [0u8; 5];
    conn.read_exact(&mut read).unwrap();
    assert_eq!(&read, b"hello");

    // Past the sniffed bytes, peek is the socket's own.
    std_client.write_all(b" world").unwrap();
    client.write_all(b" world").unwrap();
    assert_eq!(std_server.peek(&mut std_peeked).unwrap(), 11);
    assert_eq!(conn.peek(&mut peeked).unwrap(), 6);
    assert_eq!(&peeked[..6], b" world");
    let mut rest = [0u8; 6];
    conn.read_exact(&mut rest).unwrap();
    assert_eq!(&rest, b" world");

    // Nothing to peek at, in non-blocking mode: WouldBlock from both.
    std_server.set_nonblocking(true).unwrap();
    conn.set_nonblocking(true).unwrap();
    let mut std_read = [0u8; 11];
    (&std_server).read_exact(&mut std_read).unwrap();
    let std_error = std_server.peek(&mut std_peeked).unwrap_err();
    let error = conn.peek(&mut peeked).unwrap_err();
    assert_eq!(std_error.kind(), io::ErrorKind::WouldBlock);
    assert_eq!(error.kind(), std_error.kind());
    running.stop().unwrap();
}

#[test]
fn nonblocking_reads_give_the_sniffed_bytes_then_would_block_as_tcp_stream_does() {
    let (mut std_client, mut std_server) = std_pair();
    let (mut client, mut conn, running) = mux_pair(b"early");
    std_server.set_nonblocking(true).unwrap();
    conn.set_nonblocking(true).unwrap();
    let mut buf = [0u8; 16];

    assert_eq!(
        conn.read(&mut buf).unwrap(),
        5,
        "the sniffed bytes come first"
    );
    assert_eq!(&buf[..5], b"early");
    let std_error = std_server.read(&mut buf).unwrap_err();
    let error = conn.read(&mut buf).unwrap_err();
    assert_eq!(std_error.kind(), io::ErrorKind::WouldBlock);
    assert_eq!(error.kind(), std_error.kind());

    // Then bytes as they arrive, and back to blocking reads.
    std_client.write_all(b"late").unwrap();
    client.write_all(b"late").unwrap();
    std_server.set_nonblocking(false).unwrap();
    conn.set_nonblocking(false).unwrap();
    let (mut late, mut std_late) = ([0u8; 4], [0u8; 4]);
    std_server.read_exact(&mut std_late).unwrap();
    conn.read_exact(&mut late).unwrap();
    assert_eq!((&late, &std_late), (b"late", b"late"));
    running.stop().unwrap();
}

#[test]
fn reads_and_writes_through_a_shared_reference_as_with_tcp_stream() {
    // An echo served by two threads sharing one stream, one reading and
    // one writing, which `&TcpStream` allows. Called with no type
    // argument on purpose: a blanket `Read for &PeekableStream<C>` over
    // `for<'a> &'a C: Read` made rustc overflow (E0275) on such a call,
    // for any `S`.
    fn echo_through_shared<S>(stream: &S)
    where
        for<'a> &'a S: Read + Write,
        S: Sync,
    {
        let (tx, rx) = std::sync::mpsc::channel::<Vec<u8>>();
        std::thread::scope(|scope| {
            scope.spawn(move || {
                let mut buf = [0u8; 64];
                loop {
                    match (&*stream).read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => tx.send(buf[..n].to_vec()).unwrap(),
                    }
                }
            });
            scope.spawn(move || {
                for chunk in rx {
                    (&*stream).write_all(&chunk).unwrap();
                }
                (&*stream).flush().unwrap();
            });
        });
    }

    let (mut std_client, std_server) = std_pair();
    let (mut client, conn, running) = mux_pair(b"sniffed|");
    for client in [&mut std_client, &mut client] {
        client.write_all(b"live").unwrap();
        client.shutdown(Shutdown::Write).unwrap();
    }
    echo_through_shared(&std_server);
    echo_through_shared(&conn);
    drop((std_server, conn));
    assert_eq!(read_to_end(&mut std_client), b"live");
    assert_eq!(read_to_end(&mut client), b"sniffed|live");
    running.stop().unwrap();
}

#[test]
fn into_inner_gives_the_tcp_stream_back_once_the_sniffed_bytes_are_read() {
    use std::net::TcpStream;
    let (mut client, conn, running) = mux_pair(b"head");
    let refused = TcpStream::try_from(conn).unwrap_err();
    assert_eq!(
        refused.to_string(),
        "4 sniffed bytes have not been read yet"
    );
    let mut conn = refused.into_stream();
    let mut head = [0u8; 4];
    conn.read_exact(&mut head).unwrap();
    let mut socket = TcpStream::try_from(conn).unwrap();

    // The plain socket, as the client sees it.
    assert_eq!(socket.peer_addr().unwrap(), client.local_addr().unwrap());
    client.write_all(b"body").unwrap();
    socket.read_exact(&mut head).unwrap();
    assert_eq!(&head, b"body");
    #[cfg(unix)]
    {
        // The descriptor, through into_inner, as IntoRawFd would give it.
        let fd = std::os::fd::OwnedFd::from(socket);
        socket = TcpStream::from(fd);
    }
    socket.write_all(b"bye").unwrap();
    socket.shutdown(Shutdown::Write).unwrap();
    assert_eq!(read_to_end(&mut client), b"bye");
    running.stop().unwrap();
}
