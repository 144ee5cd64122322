//! The `Connection` implementation for `TcpStream`, over loopback.

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::time::Duration;

use connmux::Connection;

fn connected_pair() -> (TcpStream, TcpStream) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let (server, _) = listener.accept().unwrap();
    server
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    (client, server)
}

#[test]
fn waiting_for_input_consumes_nothing() {
    let (mut client, server) = connected_pair();
    client.write_all(b"hello").unwrap();
    server.wait_for_input().unwrap();
    server.wait_for_input().unwrap();
    let mut read = [0; 16];
    let count = server.read_shared(&mut read).unwrap();
    assert_eq!(&read[..count], b"hello");
}

#[test]
fn waiting_for_input_honours_the_read_timeout() {
    let (_client, server) = connected_pair();
    Connection::set_read_timeout(&server, Some(Duration::from_millis(20))).unwrap();
    let error = server.wait_for_input().unwrap_err();
    assert!(
        matches!(error.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut),
        "{error:?}"
    );
}

#[test]
fn the_end_of_the_stream_is_input() {
    let (client, mut server) = connected_pair();
    client.shutdown(Shutdown::Write).unwrap();
    server.wait_for_input().unwrap();
    assert_eq!(server.read(&mut [0; 4]).unwrap(), 0);
}
