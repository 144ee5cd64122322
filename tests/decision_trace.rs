//! The decision trace (`MuxBuilder::trace_decisions`): what a dropped
//! connection's event and a routed stream say about how the routes
//! decided, over loopback sockets and in-memory pairs.

mod common;

use std::io::Write;
use std::net::Shutdown;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{connect_and_send, tcp_mux, WAIT};
use connmux::matchers::{http1_fast, prefixes, ssh, tls};
use connmux::{
    memory, DecisionTrace, DropReason, Event, Listener, Matcher, Mux, MuxBuilder, SniffEnd, Verdict,
};

/// The traces of drop events, or `None` for an event without one.
type Traces = Arc<Mutex<Vec<Option<Arc<DecisionTrace>>>>>;

/// Handles of routes nobody accepts on: the tests that use them look at
/// drops.
type Unused = Vec<Listener<memory::MemoryStream, memory::MemoryAddr>>;

/// A multiplexer over an in-memory source with `routes`, whose drop
/// events' traces land in the list returned.
fn memory_mux(
    builder: MuxBuilder,
    routes: Vec<Box<dyn Matcher>>,
) -> (Mux<memory::MemoryListener>, Traces, Unused) {
    let mut mux = builder.build(memory::listener().0).unwrap();
    let unused = routes.into_iter().map(|route| mux.route(route)).collect();
    let traces = Traces::default();
    let seen = Arc::clone(&traces);
    mux.on_event(move |event| {
        if let Event::Dropped { trace, .. } = event {
            seen.lock().unwrap().push(trace.clone());
        }
    });
    (mux, traces, unused)
}

/// (route, verdict, bytes, at_end) of each step.
fn steps(trace: &DecisionTrace) -> Vec<(usize, Verdict, usize, bool)> {
    trace
        .steps()
        .iter()
        .map(|step| (step.route(), step.verdict(), step.bytes(), step.at_end()))
        .collect()
}

#[test]
fn a_connection_dropped_at_the_deadline_shows_the_route_that_held_it_up() {
    let (mut mux, traces, _routes) = memory_mux(
        Mux::builder()
            .trace_decisions(true)
            .sniff_deadline(Some(Duration::from_millis(100))),
        vec![Box::new(prefixes(["ABCD"])), Box::new(prefixes(["X"]))],
    );
    let (mut client, conn) = memory::pair();
    client.write_all(b"ABC").unwrap();
    let dropped = mux.dispatcher().dispatch(conn, memory::MemoryAddr(1));
    assert!(matches!(dropped, Err(DropReason::TimedOut)), "{dropped:?}");
    let trace = traces.lock().unwrap()[0].clone().expect("a trace");
    assert_eq!(trace.ended_by(), SniffEnd::Deadline);
    assert_eq!(trace.waiting_on(), Some(0));
    assert_eq!(trace.route(), None);
    assert_eq!(trace.bytes(), 3);
    assert!(trace.elapsed().unwrap() >= Duration::from_millis(100));
    assert_eq!(
        steps(&trace),
        [
            (0, Verdict::NoMatch, 3, true),
            (1, Verdict::NoMatch, 3, true)
        ]
    );
    let line = trace.to_string();
    assert!(
        line.starts_with("no route took it, ended by the sniff deadline after 3 bytes in "),
        "{line}"
    );
    assert!(
        line.ends_with(
            ", waiting on route 0: route 0 NoMatch at the end (3 bytes), \
             route 1 NoMatch at the end (3 bytes)"
        ),
        "{line}"
    );
}

#[test]
fn a_match_over_loopback_shows_the_byte_that_decided_it() {
    let mut mux = tcp_mux(Mux::builder().trace_decisions(true));
    let _ssh = mux.route(ssh());
    let http = mux.route(http1_fast());
    let running = common::serve(mux);
    let _client = connect_and_send(running.addr, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    let (stream, _peer) = http.accept_timeout(WAIT).expect("the HTTP route takes it");
    let trace = stream.decision_trace().expect("a trace");
    assert_eq!(trace.ended_by(), SniffEnd::Matched);
    assert_eq!(trace.route(), Some(1));
    assert_eq!(trace.waiting_on(), None);
    // "GET " is the first method that fits: the space settles it.
    assert_eq!(
        steps(trace),
        [
            (0, Verdict::NoMatch, 1, false),
            (1, Verdict::Match, 4, false)
        ]
    );
    assert!(trace
        .to_string()
        .ends_with(": route 0 NoMatch at byte 0, route 1 Match at byte 3"));
    running.stop().unwrap();
}

#[test]
fn a_match_in_pieces_is_placed_as_in_one_piece() {
    let mut mux = Mux::builder()
        .trace_decisions(true)
        .build(memory::listener().0)
        .unwrap();
    let _ssh = mux.route(ssh());
    let http = mux.route(http1_fast());
    let dispatcher = mux.dispatcher();
    let (client, conn) = memory::pair();
    let writer = std::thread::spawn(move || {
        let mut client = client;
        for byte in b"GET / HTTP/1.1\r\n" {
            client.write_all(&[*byte]).unwrap();
            std::thread::sleep(Duration::from_millis(1));
        }
        client
    });
    dispatcher.dispatch(conn, memory::MemoryAddr(1)).unwrap();
    let (stream, _peer) = http.accept().unwrap();
    let trace = stream.decision_trace().unwrap();
    assert_eq!(
        steps(trace),
        [
            (0, Verdict::NoMatch, 1, false),
            (1, Verdict::Match, 4, false)
        ]
    );
    drop(writer.join().unwrap());
}

#[test]
fn when_every_route_refuses_the_trace_shows_each_refusal() {
    let (mut mux, traces, _routes) = memory_mux(
        Mux::builder().trace_decisions(true),
        vec![
            Box::new(http1_fast()),
            Box::new(prefixes(["\x00\x01\x02"])),
            Box::new(tls()),
        ],
    );
    let (mut client, conn) = memory::pair();
    client.write_all(b"\x00\x01\x03").unwrap();
    let dropped = mux.dispatcher().dispatch(conn, memory::MemoryAddr(1));
    assert!(
        matches!(dropped, Err(DropReason::NotMatched)),
        "{dropped:?}"
    );
    let trace = traces.lock().unwrap()[0].clone().expect("a trace");
    assert_eq!(trace.ended_by(), SniffEnd::AllRefused);
    assert_eq!(trace.waiting_on(), None);
    assert_eq!(
        steps(&trace),
        [
            (0, Verdict::NoMatch, 1, false),
            (1, Verdict::NoMatch, 3, false),
            (2, Verdict::NoMatch, 1, false),
        ]
    );
}

#[test]
fn eof_before_a_decision_is_what_ended_it() {
    let (mut mux, traces, _routes) = memory_mux(
        Mux::builder().trace_decisions(true),
        vec![Box::new(prefixes(["ABCD"]))],
    );
    let (mut client, conn) = memory::pair();
    client.write_all(b"AB").unwrap();
    client.shutdown(Shutdown::Write).unwrap();
    let dropped = mux.dispatcher().dispatch(conn, memory::MemoryAddr(1));
    assert!(
        matches!(dropped, Err(DropReason::NotMatched)),
        "{dropped:?}"
    );
    let trace = traces.lock().unwrap()[0].clone().expect("a trace");
    assert_eq!(trace.ended_by(), SniffEnd::Eof);
    assert_eq!(trace.waiting_on(), Some(0));
    assert_eq!(steps(&trace), [(0, Verdict::NoMatch, 2, true)]);
}

#[test]
fn without_trace_decisions_there_is_no_trace() {
    let (mut mux, traces, _routes) = memory_mux(Mux::builder(), vec![Box::new(http1_fast())]);
    let (mut client, conn) = memory::pair();
    client.write_all(b"\x16\x03\x01").unwrap();
    assert!(mux
        .dispatcher()
        .dispatch(conn, memory::MemoryAddr(1))
        .is_err());
    assert_eq!(traces.lock().unwrap().len(), 1);
    assert!(traces.lock().unwrap()[0].is_none());

    let mut mux = tcp_mux(Mux::builder());
    let http = mux.route(http1_fast());
    let running = common::serve(mux);
    let _client = connect_and_send(running.addr, b"GET / HTTP/1.1\r\n\r\n");
    let (stream, _peer) = http.accept_timeout(WAIT).unwrap();
    assert!(stream.decision_trace().is_none());
    running.stop().unwrap();
}
