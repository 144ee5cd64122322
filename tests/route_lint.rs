//! The route-table lint as a running multiplexer reports it: one
//! `Event::RouteLint` per finding when `serve` starts, none for a table
//! without findings.

mod common;

use std::sync::mpsc;
use std::thread;

use common::WAIT;
use connmux::lint::Finding;
use connmux::matchers::{any, http1, http1_fast, tls};
use connmux::{memory, Event, Mux};

/// A multiplexer over an in-memory source, and the source's connector,
/// which must live while it serves.
fn memory_mux() -> (Mux<memory::MemoryListener>, memory::MemoryConnector) {
    let (source, connector) = memory::listener();
    (Mux::new(source).unwrap(), connector)
}

/// Serves `mux` until its lint events are in, and returns their texts and
/// findings.
fn lint_events(
    (mut mux, _connector): (Mux<memory::MemoryListener>, memory::MemoryConnector),
) -> Vec<(String, Finding)> {
    let (events_tx, events) = mpsc::channel();
    mux.on_event(move |event| {
        if let Event::RouteLint { finding, .. } = event {
            let _ = events_tx.send((event.to_string(), finding.clone()));
        }
    });
    let expected = mux.lint().len();
    let handle = mux.handle();
    let server = thread::spawn(move || mux.serve());
    let seen: Vec<_> = (0..expected)
        .map(|_| events.recv_timeout(WAIT).expect("a lint event"))
        .collect();
    handle.shutdown();
    server.join().unwrap().unwrap();
    assert!(events.try_recv().is_err(), "one event per finding");
    seen
}

#[test]
fn a_route_after_any_is_reported_when_serving_starts() {
    let (mut mux, connector) = memory_mux();
    let _any = mux.route(any());
    let http = mux.route(http1());
    let seen = lint_events((mux, connector));
    assert_eq!(seen.len(), 1, "{seen:?}");
    let (text, finding) = &seen[0];
    assert!(matches!(finding, Finding::Shadowed { .. }));
    assert_eq!(finding.route(), http.route());
    assert_eq!(
        text,
        "route table: route 1 never wins: route 0 matches every input, the empty one included"
    );
}

#[test]
fn a_table_without_findings_reports_nothing() {
    let (mut mux, connector) = memory_mux();
    let _http = mux.route(http1_fast());
    let _tls = mux.route(tls());
    assert_eq!(mux.lint(), []);
    assert_eq!(lint_events((mux, connector)), []);
}
