//! The teaching examples run as programs, each on a free loopback port,
//! and answered by plain `std` clients: `hello` (HTTP/1 and an echo on one
//! port) and `dispatcher` (the program's own accept loop).

mod common;

use std::io::Write;
use std::net::{Shutdown, TcpStream};

use common::example::RunningExample;
use common::{connect_and_send, is_closed_by_peer, read_to_end};

/// How many worker threads `examples/dispatcher.rs` accepts with.
const DISPATCHER_WORKERS: usize = 4;

/// What `examples/hello.rs` answers every HTTP/1 request with.
const HELLO_RESPONSE: &[u8] =
    b"HTTP/1.1 200 OK\r\nContent-Length: 19\r\nConnection: close\r\n\r\nhello from connmux\n";

#[test]
fn hello_answers_http1_and_echoes_the_rest() {
    let hello = RunningExample::start("hello", &["127.0.0.1:0"]);

    let mut http = connect_and_send(hello.addr, b"GET /x HTTP/1.1\r\nHost: hello.test\r\n\r\n");
    assert_eq!(read_to_end(&mut http), HELLO_RESPONSE);

    let mut other = connect_and_send(hello.addr, b"\x00\x01 echo me\n");
    other.shutdown(Shutdown::Write).unwrap();
    assert_eq!(read_to_end(&mut other), b"\x00\x01 echo me\n");
}

#[test]
fn dispatcher_answers_inline_queues_echo_and_says_why_it_dropped() {
    let dispatcher = RunningExample::start("dispatcher", &["127.0.0.1:0"]);
    let logged = |client: &TcpStream, what: &str| {
        let peer = client.local_addr().unwrap().to_string();
        dispatcher.line_with(&[&format!("{peer}  {what}")]);
    };

    // More echo sessions than workers, all left open: queued, they hold
    // no worker, so an HTTP request is still answered inline.
    let mut echoes: Vec<TcpStream> = (0..=DISPATCHER_WORKERS)
        .map(|_| connect_and_send(dispatcher.addr, b"ECHO "))
        .collect();
    for echo in &echoes {
        logged(echo, "ECHO: queued for the echo route");
    }
    let mut http = connect_and_send(dispatcher.addr, b"GET /hi HTTP/1.1\r\nHost: d.test\r\n\r\n");
    let response = String::from_utf8(read_to_end(&mut http)).unwrap();
    assert!(response.starts_with("HTTP/1.1 200 OK\r\n"), "{response:?}");
    assert!(
        response.ends_with("\r\n\r\nGET /hi HTTP/1.1 answered inline\n"),
        "{response:?}"
    );
    logged(&http, "HTTP/1: answered inline");

    for (number, echo) in echoes.iter_mut().enumerate() {
        write!(echo, "session {number}").unwrap();
        echo.shutdown(Shutdown::Write).unwrap();
        let echoed = String::from_utf8(read_to_end(echo)).unwrap();
        assert_eq!(echoed, format!("ECHO session {number}"));
    }

    let mut refused = connect_and_send(dispatcher.addr, b"HELO\r\n");
    logged(&refused, "closed: no route matched");
    assert!(is_closed_by_peer(&mut refused));
}
