//! The teaching examples run as programs, each on a free loopback port,
//! and answered by plain `std` clients: `hello` (HTTP/1 and an echo on one
//! port).

mod common;

use std::net::Shutdown;

use common::example::RunningExample;
use common::{connect_and_send, read_to_end};

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
