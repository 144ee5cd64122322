//! `PeekableStream` over real sockets: replay order, the end seen during
//! the sniff, socket methods, clones and taking the parts back out.

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
