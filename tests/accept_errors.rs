//! Accept errors: transient ones (EMFILE, ENFILE, ECONNABORTED, ENOMEM)
//! are reported, backed off and retried, and accepting resumes by itself;
//! a fatal one ends `serve` with the error.

mod common;

use std::io::{self, Read, Write};
use std::time::Duration;

use common::{scripted_source, serve, Scripted, WAIT};
use connmux::matchers::any;
use connmux::memory::pair;
use connmux::{AcceptError, Mux, ServeError};

const EMFILE: i32 = 24;
const ENFILE: i32 = 23;
const ENOMEM: i32 = 12;
const EBADF: i32 = 9;

#[test]
fn transient_errors_back_off_and_accepting_resumes() {
    let (source, script) = scripted_source();
    let mut mux = Mux::new(source).unwrap();
    let catch_all = mux.route(any());
    let running = serve(mux);

    for code in [EMFILE, ENFILE, ENOMEM] {
        script.push(Scripted::Error(io::Error::from_raw_os_error(code)));
    }
    script.push(Scripted::Error(io::Error::from(
        io::ErrorKind::ConnectionAborted,
    )));
    let (mut client, server) = pair();
    script.push(Scripted::Conn(server, 7));
    client.write_all(b"after the storm").unwrap();

    let (mut conn, peer) = catch_all.accept_timeout(WAIT).expect("accepting resumed");
    assert_eq!(peer, 7);
    let mut got = [0u8; 15];
    conn.read_exact(&mut got).unwrap();
    assert_eq!(&got, b"after the storm");

    let events: Vec<_> = (0..4).map(|_| running.next_event()).collect();
    assert!(events
        .iter()
        .all(|e| e.kind == "accept_failed" && e.peer.is_none()));
    assert!(
        events[0].text.contains("retrying in 5ms"),
        "{}",
        events[0].text
    );
    assert!(
        events[1].text.contains("retrying in 10ms"),
        "{}",
        events[1].text
    );
    assert!(
        events[3].text.contains("retrying in 40ms"),
        "{}",
        events[3].text
    );
    let stats = running.handle.stats();
    assert_eq!((stats.accept_errors, stats.accepted), (4, 1));
    running.stop().unwrap();
}

#[test]
fn the_back_off_restarts_after_a_successful_accept() {
    let (source, script) = scripted_source();
    let mut mux = Mux::new(source).unwrap();
    let catch_all = mux.route(any());
    let running = serve(mux);
    script.push(Scripted::Error(io::Error::from_raw_os_error(EMFILE)));
    script.push(Scripted::Error(io::Error::from_raw_os_error(EMFILE)));
    script.push(Scripted::Conn(pair().1, 1));
    script.push(Scripted::Error(io::Error::from_raw_os_error(EMFILE)));
    catch_all.accept_timeout(WAIT).unwrap();
    let texts: Vec<_> = (0..3).map(|_| running.next_event().text).collect();
    assert!(texts[1].contains("retrying in 10ms"), "{texts:?}");
    assert!(texts[2].contains("retrying in 5ms"), "{texts:?}");
    running.stop().unwrap();
}

#[test]
fn a_fatal_error_ends_serve_with_that_error() {
    let (source, script) = scripted_source::<connmux::memory::MemoryStream>();
    let mut mux = Mux::new(source).unwrap();
    let catch_all = mux.route(any());
    let running = serve(mux);
    script.push(Scripted::Error(io::Error::from_raw_os_error(EBADF)));
    match running.wait_served() {
        Err(ServeError::Accept(error)) => assert_eq!(error.raw_os_error(), Some(EBADF)),
        other => panic!("serve ended with {other:?}"),
    }
    assert!(running.handle.is_shut_down());
    assert_eq!(catch_all.accept().unwrap_err(), AcceptError::ShutDown);
    assert!(running.event_within(Duration::from_millis(50)).is_none());
}

#[test]
fn shutdown_interrupts_a_back_off() {
    let (source, script) = scripted_source::<connmux::memory::MemoryStream>();
    let mut mux = Mux::new(source).unwrap();
    let _catch_all = mux.route(any());
    let running = serve(mux);
    for _ in 0..12 {
        script.push(Scripted::Error(io::Error::from_raw_os_error(EMFILE)));
    }
    common::eventually("a long back-off", || {
        running.handle.stats().accept_errors >= 10
    });
    running.stop().unwrap();
}
