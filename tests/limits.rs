//! Limits: the sniff deadline (on by default), the sniff byte limit, the
//! number of concurrent sniffs, and the counters that account for every
//! connection.
//!
//! The time limits are tested on in-memory connections whose time is a
//! virtual [`Clock`]: the test advances it past a limit instead of
//! sleeping, and checks the limit to the millisecond. The tests over
//! loopback sockets keep the real clock's path covered.

mod common;

use std::io::{Read, Write};
use std::net::Shutdown;
use std::time::Duration;

use common::{
    connect, connect_and_send, eventually, is_closed_by_peer, read_to_end, serve, tcp_mux, within,
    WAIT,
};
use connmux::matchers::{any, http1_fast, prefixes};
use connmux::memory::{Clock, MemoryAddr, MemoryConnector, MemoryListener};
use connmux::{Mux, MuxBuilder, Verdict};

fn never_decides(_: &[u8]) -> Verdict {
    Verdict::NeedMore
}

/// The smallest step of time the limits are checked to.
const TICK: Duration = Duration::from_millis(1);

/// A multiplexer on in-memory connections whose time is `clock`'s.
fn clocked_mux(clock: &Clock, builder: MuxBuilder) -> (Mux<MemoryListener>, MemoryConnector) {
    let (source, connector) = clock.listener();
    (builder.build(source).unwrap(), connector)
}

/// Waits until `sniffs` sniffs sleep on `clock`, having looked at
/// everything that happened: the next advance is seen by all of them at
/// the same virtual time.
fn settle(clock: &Clock, sniffs: usize) {
    assert!(
        clock.wait_for_sleepers(sniffs, WAIT),
        "{} of {sniffs} sniffs wait on the clock",
        clock.sleepers()
    );
}

#[test]
fn a_silent_client_is_closed_by_the_default_first_byte_timeout() {
    let clock = Clock::new();
    let (mut mux, connector) = clocked_mux(&clock, Mux::builder());
    let _http = mux.route(http1_fast());
    let running = serve(mux);
    let mut silent = connector.connect().unwrap();
    settle(&clock, 1);
    clock.advance(MuxBuilder::DEFAULT_FIRST_BYTE_TIMEOUT - TICK);
    settle(&clock, 1);
    assert!(running.drain_events().is_empty(), "a tick early");
    clock.advance(TICK);
    let event = running.next_event();
    assert_eq!((event.kind, event.sniffed_bytes), ("no_first_byte", 0));
    assert_eq!(event.peer, Some(MemoryAddr(1)));
    assert_eq!(silent.read(&mut [0; 1]).unwrap(), 0, "closed");
    running.stop().unwrap();
}

#[test]
fn a_client_that_stalls_is_closed_by_the_default_deadline() {
    let clock = Clock::new();
    let (mut mux, connector) = clocked_mux(&clock, Mux::builder());
    let _http = mux.route(http1_fast());
    let running = serve(mux);
    let mut stalled = connector.connect().unwrap();
    stalled.write_all(b"GE").unwrap();
    settle(&clock, 1);
    clock.advance(MuxBuilder::DEFAULT_SNIFF_DEADLINE - TICK);
    settle(&clock, 1);
    assert!(running.drain_events().is_empty(), "a tick early");
    clock.advance(TICK);
    let event = running.next_event();
    assert_eq!((event.kind, event.sniffed_bytes), ("timed_out", 2));
    assert_eq!(stalled.read(&mut [0; 1]).unwrap(), 0, "closed");
    running.stop().unwrap();
}

#[test]
fn a_catch_all_still_takes_a_client_silent_past_the_first_byte_timeout() {
    let first_byte = Duration::from_millis(100);
    let clock = Clock::new();
    let builder = Mux::builder().first_byte_timeout(Some(first_byte));
    let (mut mux, connector) = clocked_mux(&clock, builder);
    let _http = mux.route(http1_fast());
    let catch_all = mux.route(any());
    let running = serve(mux);
    let _silent = connector.connect().unwrap();
    settle(&clock, 1);
    clock.advance(first_byte - TICK);
    settle(&clock, 1);
    assert_eq!(catch_all.queued(), 0, "a tick early");
    clock.advance(TICK);
    catch_all
        .accept_timeout(WAIT)
        .expect("taken at the first-byte timeout");
    running.stop().unwrap();
}

#[test]
fn a_slow_client_is_cut_off_by_the_deadline_with_what_it_sent() {
    let deadline = Duration::from_millis(200);
    let clock = Clock::new();
    let (mut mux, connector) = clocked_mux(&clock, Mux::builder().sniff_deadline(Some(deadline)));
    let _never = mux.route(never_decides);
    let running = serve(mux);
    let mut slow = connector.connect().unwrap();
    slow.write_all(b"a").unwrap();
    settle(&clock, 1);
    clock.advance(deadline / 4);
    slow.write_all(b"b").unwrap();
    settle(&clock, 1);
    clock.advance(deadline - deadline / 4 - TICK);
    settle(&clock, 1);
    assert!(running.drain_events().is_empty(), "a tick early");
    clock.advance(TICK);
    let event = running.next_event();
    assert_eq!((event.kind, event.sniffed_bytes), ("timed_out", 2));
    assert_eq!(slow.read(&mut [0; 1]).unwrap(), 0, "closed");
    running.stop().unwrap();
}

#[test]
fn a_byte_a_tick_before_the_first_byte_timeout_is_in_time() {
    let first_byte = Duration::from_millis(100);
    let clock = Clock::new();
    let builder = Mux::builder().first_byte_timeout(Some(first_byte));
    let (mut mux, connector) = clocked_mux(&clock, builder);
    let http = mux.route(http1_fast());
    let running = serve(mux);
    let mut client = connector.connect().unwrap();
    settle(&clock, 1);
    clock.advance(first_byte - TICK);
    settle(&clock, 1);
    client.write_all(b"G").unwrap();
    settle(&clock, 1);
    clock.advance(TICK);
    settle(&clock, 1);
    assert!(
        running.drain_events().is_empty(),
        "the first byte came in time"
    );
    client.write_all(b"ET / HTTP/1.1\r\n").unwrap();
    // The sniff paces its reads: the rest is read after its pause.
    settle(&clock, 1);
    clock.advance(Duration::from_millis(10));
    let (mut conn, _) = http.accept_timeout(WAIT).expect("routed");
    let mut get = [0; 3];
    conn.read_exact(&mut get).unwrap();
    assert_eq!(&get, b"GET");
    running.stop().unwrap();
}

#[test]
fn a_thousand_silent_clients_do_not_delay_a_good_one() {
    // The clock stands still: however slowly a thousand sniffs start, no
    // time limit ends one of them meanwhile.
    let clock = Clock::new();
    // A thousand clients, all from one address here: no per-address limit.
    let builder = Mux::builder().max_sniffs_per_source(None);
    let (mut mux, connector) = clocked_mux(&clock, builder);
    let http = mux.route(http1_fast());
    let running = serve(mux);
    let silent: Vec<_> = (0..1000).map(|_| connector.connect().unwrap()).collect();
    settle(&clock, 1000);
    assert_eq!(running.handle.sniffing(), 1000);
    let mut good = connector.connect().unwrap();
    let started = std::time::Instant::now();
    good.write_all(b"GET / HTTP/1.1\r\n\r\n").unwrap();
    http.accept_timeout(WAIT)
        .expect("the good client is routed");
    let took = started.elapsed();
    assert!(took < Duration::from_secs(1), "routed after {took:?}");
    drop(silent);
    running.stop().unwrap();
}

#[test]
fn at_the_connection_limit_the_accept_loop_waits_until_one_closes() {
    let mut mux = tcp_mux(Mux::builder().max_connections(2));
    let http = mux.route(http1_fast());
    let running = serve(mux);
    let _one = connect_and_send(running.addr, b"GET /1 HTTP/1.1\r\n\r\n");
    let _two = connect_and_send(running.addr, b"GET /2 HTTP/1.1\r\n\r\n");
    let (first, _) = http.accept_timeout(WAIT).unwrap();
    let (second, _) = http.accept_timeout(WAIT).unwrap();
    assert_eq!(running.handle.open_connections(), 2, "held by the handler");
    let _three = connect_and_send(running.addr, b"GET /3 HTTP/1.1\r\n\r\n");
    assert!(
        http.accept_timeout(Duration::from_millis(200)).is_err(),
        "a third beyond the limit"
    );
    // The third waits, in the backlog or (if the accept loop was already
    // blocked in `accept`) in the accept loop, holding no place.
    assert_eq!(running.handle.open_connections(), 2);
    assert_eq!(running.handle.sniffing(), 0, "not sniffed yet");
    drop(first);
    http.accept_timeout(WAIT)
        .expect("accepted once a connection closed");
    drop(second);
    // Every place is free: the accept loop, blocked in `accept`, holds none.
    eventually("places freed", || running.handle.open_connections() == 0);
    running.stop().unwrap();
}

#[test]
fn the_byte_limit_ends_the_sniff_and_every_byte_still_reaches_the_handler() {
    let mut mux = tcp_mux(Mux::builder().max_sniff_bytes(16));
    let _never = mux.route(never_decides);
    let catch_all = mux.route(any());
    let running = serve(mux);
    let payload: Vec<u8> = (0..100u8).collect();
    let client = connect_and_send(running.addr, &payload);
    client.shutdown(Shutdown::Write).unwrap();
    let (mut conn, _) = catch_all.accept_timeout(WAIT).unwrap();
    assert!(
        conn.unread_len() <= 16,
        "sniffed {} bytes",
        conn.unread_len()
    );
    assert_eq!(read_to_end(&mut conn), payload);
    running.stop().unwrap();
}

#[test]
fn reaching_the_byte_limit_with_no_match_is_reported() {
    let mut mux = tcp_mux(Mux::builder().max_sniff_bytes(16));
    let _never = mux.route(never_decides);
    let running = serve(mux);
    let mut client = connect_and_send(running.addr, &[b'x'; 64]);
    assert!(is_closed_by_peer(&mut client));
    let event = running.next_event();
    assert_eq!((event.kind, event.sniffed_bytes), ("not_matched", 16));
    running.stop().unwrap();
}

#[test]
fn at_the_concurrency_limit_new_connections_wait_in_the_backlog() {
    let mut mux = tcp_mux(Mux::builder().max_concurrent_sniffs(2).sniff_deadline(None));
    let http = mux.route(http1_fast());
    let running = serve(mux);
    let silent_one = connect(running.addr);
    let _silent_two = connect(running.addr);
    eventually("two sniffs in progress", || running.handle.sniffing() == 2);

    let _waiting = connect_and_send(running.addr, b"GET / HTTP/1.1\r\n\r\n");
    assert!(
        http.accept_timeout(Duration::from_millis(200)).is_err(),
        "a third sniff started beyond the limit"
    );
    assert_eq!(
        running.handle.stats().accepted,
        2,
        "the third is still in the backlog"
    );

    drop(silent_one);
    let (mut conn, _) = http
        .accept_timeout(WAIT)
        .expect("accepted once a sniff ended");
    let mut get = [0u8; 3];
    conn.read_exact(&mut get).unwrap();
    assert_eq!(&get, b"GET");
    assert_eq!(running.next_event().kind, "not_matched");
    running.stop().unwrap();
}

#[test]
fn every_accepted_connection_is_counted_once() {
    let mut mux = tcp_mux(
        Mux::builder()
            .sniff_deadline(Some(Duration::from_millis(100)))
            .route_queue_capacity(1),
    );
    let ssh = mux.route(prefixes(["SSH-"]));
    let http = mux.route(http1_fast());
    let running = serve(mux);

    let _ssh_clients: Vec<_> = (0..3)
        .map(|_| connect_and_send(running.addr, b"SSH-2.0-x\r\n"))
        .collect();
    let _http_client = connect_and_send(running.addr, b"GET / HTTP/1.1\r\n");
    let _garbage = connect_and_send(running.addr, b"\x00\x01\x02");
    let _silent = connect(running.addr);
    http.accept_timeout(WAIT).unwrap();
    eventually("every connection accounted for", || {
        let stats = running.handle.stats();
        stats.accepted == 6 && stats.routed_total() + stats.dropped() == 6
    });
    let stats = running.handle.stats();
    assert_eq!(stats.routed, vec![1, 1]);
    assert_eq!(
        (stats.queue_full, stats.not_matched, stats.timed_out),
        (2, 1, 1)
    );
    drop(ssh);
    running.stop().unwrap();
}

#[test]
fn the_byte_limit_holds_when_the_thread_has_a_larger_spare_buffer() {
    use connmux::memory::{self, MemoryAddr};
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    // A mux with the default 16 KiB limit leaves this thread a large
    // spare buffer: its inline handler drops a 10,000-byte stream here.
    let (source, _unused) = memory::listener();
    let mut large = Mux::new(source).unwrap();
    large.route_inline(
        |seen: &[u8]| match seen.len() {
            10_000.. => Verdict::Match,
            _ => Verdict::NeedMore,
        },
        |_, _| {},
    );
    let (mut client, conn) = memory::pair();
    client.write_all(&[b'x'; 10_000]).unwrap();
    large.dispatcher().dispatch(conn, MemoryAddr(1)).unwrap();

    // A mux limited to 100 bytes, dispatching on the same thread.
    let longest_seen = Arc::new(AtomicUsize::new(0));
    let (source, _unused) = memory::listener();
    let mut small = MuxBuilder::new()
        .max_sniff_bytes(100)
        .build(source)
        .unwrap();
    let seen_by_matcher = Arc::clone(&longest_seen);
    small.route_inline(
        move |seen: &[u8]| {
            seen_by_matcher.fetch_max(seen.len(), Ordering::Relaxed);
            Verdict::NeedMore
        },
        |_, _| {},
    );
    let (mut client, conn) = memory::pair();
    client.write_all(&[b'y'; 10_000]).unwrap();
    let refused = small.dispatcher().dispatch(conn, MemoryAddr(2));
    assert!(matches!(refused, Err(connmux::DropReason::NotMatched)));
    assert_eq!(longest_seen.load(Ordering::Relaxed), 100);
}

#[test]
fn an_idle_serving_mux_holds_no_place_and_a_dispatcher_beside_it_gets_one() {
    use connmux::memory::{self, MemoryAddr};

    let (source, _connector) = memory::listener();
    let mut mux = MuxBuilder::new().max_connections(1).build(source).unwrap();
    mux.route_inline(prefixes(["PING"]), |mut stream, _| {
        let mut ping = [0u8; 4];
        if stream.read_exact(&mut ping).is_ok() {
            let _ = stream.write_all(b"PONG");
        }
    });
    // The dispatcher fixes the routes and the (absent) event callback, so
    // the mux is served without `serve`'s event recorder.
    let dispatcher = mux.dispatcher();
    let handle = mux.handle();
    let server = std::thread::spawn(move || mux.serve());
    // The accept loop is blocked in `accept`: it holds no place.
    thread_sleep_briefly();
    assert_eq!(handle.open_connections(), 0);
    let (mut client, conn) = memory::pair();
    client.write_all(b"PING").unwrap();
    dispatcher
        .dispatch(conn, MemoryAddr(7))
        .expect("the only place is free");
    let mut pong = [0u8; 4];
    client.read_exact(&mut pong).unwrap();
    assert_eq!(&pong, b"PONG");
    handle.shutdown();
    within(WAIT, move || server.join().unwrap()).unwrap();
}

/// Long enough for a thread just started to block where it will block.
fn thread_sleep_briefly() {
    std::thread::sleep(Duration::from_millis(50));
}

#[test]
fn a_route_nobody_accepts_on_does_not_take_the_places_of_the_others() {
    // Two places, eight queued connections per route: the "A" route's
    // handle never accepts, yet "B" clients still get through.
    let mut mux = tcp_mux(Mux::builder().max_connections(2).route_queue_capacity(8));
    let never_accepted = mux.route(prefixes(["A"]));
    let served = mux.route(prefixes(["B"]));
    let running = serve(mux);
    let _waiting: Vec<_> = (0..5)
        .map(|_| connect_and_send(running.addr, b"A"))
        .collect();
    eventually("five queued", || never_accepted.queued() == 5);
    assert_eq!(running.handle.open_connections(), 0, "queued hold no place");
    let _b = connect_and_send(running.addr, b"B");
    let (stream, _) = served.accept_timeout(WAIT).expect("B is served");
    assert_eq!(running.handle.open_connections(), 1, "accepted holds one");
    drop(stream);
    // Accepting from the full route still works: a place is taken even
    // past the limit, and the accept loop waits until it is back under.
    let held: Vec<_> = (0..3)
        .map(|_| never_accepted.accept_timeout(WAIT).unwrap())
        .collect();
    assert_eq!(running.handle.open_connections(), 3);
    let _b2 = connect_and_send(running.addr, b"B");
    assert!(served.accept_timeout(Duration::from_millis(200)).is_err());
    drop(held);
    served
        .accept_timeout(WAIT)
        .expect("served once under the limit");
    running.stop().unwrap();
}

/// The index of the one stream of `streams` its peer closes (waiting up
/// to [`WAIT`] for it), after checking that the others stay open.
fn the_one_closed_by_peer(streams: &mut [std::net::TcpStream]) -> usize {
    let deadline = std::time::Instant::now() + WAIT;
    for stream in streams.iter() {
        stream.set_nonblocking(true).unwrap();
    }
    let closed = loop {
        let closed: Vec<usize> = (0..streams.len())
            .filter(|&index| is_closed_by_peer(&mut streams[index]))
            .collect();
        if !closed.is_empty() || std::time::Instant::now() > deadline {
            break closed;
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    // A second refusal would come at once, as the first did.
    std::thread::sleep(Duration::from_millis(50));
    let still_open = (0..streams.len())
        .filter(|&index| !closed.contains(&index))
        .filter(|&index| !is_closed_by_peer(&mut streams[index]))
        .count();
    for stream in streams.iter() {
        stream.set_nonblocking(false).unwrap();
    }
    assert_eq!(closed.len(), 1, "closed by the peer: {closed:?}");
    assert_eq!(still_open, streams.len() - 1);
    closed[0]
}

#[test]
fn one_address_cannot_take_the_sniff_slots_of_the_others() {
    // Dual-stack, so that ::1 is a second client address beside 127.0.0.1.
    let listener = std::net::TcpListener::bind("[::]:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let mut mux = Mux::builder()
        .max_sniffs_per_source(Some(3))
        .first_byte_timeout(None)
        .sniff_deadline(None)
        .build(listener)
        .unwrap();
    let http = mux.route(http1_fast());
    let running = serve(mux);
    let v4: std::net::SocketAddr = ([127, 0, 0, 1], port).into();
    let mut held: Vec<_> = (0..3).map(|_| connect(v4)).collect();
    eventually("three sniffs from 127.0.0.1", || {
        running.handle.sniffing() == 3
    });

    // `sniffing` counts a connection from its accept, a place from when
    // its sniff starts: the fourth may take the place of the third. One
    // of the four is refused, the others keep theirs.
    held.push(connect(v4));
    let refused = the_one_closed_by_peer(&mut held);
    held.remove(refused);
    let event = running.next_event();
    assert_eq!((event.kind, event.sniffed_bytes), ("source_limit", 0));
    assert!(event.text.contains("127.0.0.1"), "{}", event.text);

    // Another address still gets through.
    let v6: std::net::SocketAddr = (std::net::Ipv6Addr::LOCALHOST, port).into();
    let _other = connect_and_send(v6, b"GET / HTTP/1.1\r\n\r\n");
    let (_, peer) = http
        .accept_timeout(WAIT)
        .expect("::1 is not limited by 127.0.0.1");
    assert_eq!(peer.ip(), std::net::Ipv6Addr::LOCALHOST);

    // A place freed is a place for the same address again.
    drop(held);
    eventually("the sniffs ended", || running.handle.sniffing() == 0);
    let _again = connect_and_send(v4, b"GET / HTTP/1.1\r\n\r\n");
    http.accept_timeout(WAIT).expect("127.0.0.1 again");
    assert_eq!(running.handle.stats().source_limit, 1);
    running.stop().unwrap();
}

#[test]
fn a_trusted_load_balancer_speaks_for_many_clients_and_is_not_limited() {
    let mut mux = tcp_mux(
        Mux::builder()
            .proxy_protocol(connmux::ProxyMode::Required)
            .max_sniffs_per_source(Some(1))
            .first_byte_timeout(None)
            .sniff_deadline(None),
    );
    let _http = mux.route(http1_fast());
    let running = serve(mux);
    // Loopback is trusted by default: three sniffs from it at once.
    let held: Vec<_> = (0..3).map(|_| connect(running.addr)).collect();
    eventually("three sniffs from the balancer", || {
        running.handle.sniffing() == 3
    });
    assert_eq!(running.handle.stats().source_limit, 0);
    drop(held);
    running.stop().unwrap();
}

#[test]
fn one_address_cannot_hold_more_open_connections_than_its_share() {
    let listener = std::net::TcpListener::bind("[::]:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let mut mux = Mux::builder()
        .max_connections_per_source(Some(2))
        .build(listener)
        .unwrap();
    mux.route_inline(prefixes(["HOLD"]), |mut stream, _| {
        // Held until the client hangs up.
        let _ = std::io::copy(&mut stream, &mut std::io::sink());
    });
    let running = serve(mux);
    let v4: std::net::SocketAddr = ([127, 0, 0, 1], port).into();
    let held: Vec<_> = (0..2).map(|_| connect_and_send(v4, b"HOLD")).collect();
    eventually("two held", || running.handle.stats().routed == [2]);

    let mut third = connect_and_send(v4, b"HOLD");
    assert!(
        is_closed_by_peer(&mut third),
        "a third from the same address"
    );
    let event = running.next_event();
    assert_eq!((event.kind, event.sniffed_bytes), ("source_limit", 0));

    let v6: std::net::SocketAddr = (std::net::Ipv6Addr::LOCALHOST, port).into();
    let _other = connect_and_send(v6, b"HOLD");
    eventually("::1 held too", || running.handle.stats().routed == [3]);

    drop(held);
    eventually("the two closed", || running.handle.open_connections() == 1);
    let _again = connect_and_send(v4, b"HOLD");
    eventually("127.0.0.1 held again", || {
        running.handle.stats().routed == [4]
    });
    assert_eq!(running.handle.stats().source_limit, 1);
    running.stop().unwrap();
}

#[test]
fn connections_waiting_in_a_queue_or_held_by_a_handler_count_for_their_address() {
    let mut mux = tcp_mux(Mux::builder().max_connections_per_source(Some(2)));
    let held = mux.route(prefixes(["HOLD"]));
    let running = serve(mux);
    let _clients: Vec<_> = (0..2)
        .map(|_| connect_and_send(running.addr, b"HOLD"))
        .collect();
    eventually("two routed", || running.handle.stats().routed == [2]);
    // Both wait in the queue, accepted by nobody: still open.
    let mut third = connect_and_send(running.addr, b"HOLD");
    assert!(is_closed_by_peer(&mut third), "a third while two wait");
    assert_eq!(running.next_event().kind, "source_limit");

    // Accepted and held by the handler: still open.
    let first = held.accept_timeout(WAIT).unwrap();
    let _second = held.accept_timeout(WAIT).unwrap();
    let mut fourth = connect_and_send(running.addr, b"HOLD");
    assert!(is_closed_by_peer(&mut fourth), "a third while two are held");
    assert_eq!(running.next_event().kind, "source_limit");

    // The handler closes one: the address has a place again.
    drop(first);
    let _fifth = connect_and_send(running.addr, b"HOLD");
    held.accept_timeout(WAIT).expect("a place again");
    assert_eq!(running.handle.stats().source_limit, 2);
    running.stop().unwrap();
}

#[test]
fn behind_a_trusted_proxy_the_client_its_header_names_is_counted() {
    let mut mux = tcp_mux(
        Mux::builder()
            .proxy_protocol(connmux::ProxyMode::Required)
            .max_connections_per_source(Some(1)),
    );
    let held = mux.route(prefixes(["HOLD"]));
    let running = serve(mux);
    let from = |client: &str| {
        let mut bytes = format!("PROXY TCP4 {client} 192.0.2.1 40000 80\r\n").into_bytes();
        bytes.extend_from_slice(b"HOLD");
        connect_and_send(running.addr, &bytes)
    };
    let _first = from("10.0.0.1");
    let _first_held = held.accept_timeout(WAIT).unwrap();
    // The same client again, through the same trusted proxy: refused,
    // and the event names the client.
    let mut again = from("10.0.0.1");
    assert!(is_closed_by_peer(&mut again));
    let event = running.next_event();
    assert_eq!(event.kind, "source_limit");
    assert!(event.text.contains("10.0.0.1"), "{}", event.text);
    // Another client of the proxy, and the proxy's own health check.
    let _other = from("10.0.0.2");
    held.accept_timeout(WAIT).expect("another client");
    let mut check = b"\r\n\r\n\0\r\nQUIT\n\x20\x00\x00\x00".to_vec();
    check.extend_from_slice(b"HOLD");
    let _health = connect_and_send(running.addr, &check);
    held.accept_timeout(WAIT)
        .expect("a health check is not a client");
    assert_eq!(running.handle.stats().source_limit, 1);
    running.stop().unwrap();
}

#[test]
fn behind_a_trusted_proxy_the_client_its_header_names_has_its_share_of_sniffs() {
    let mut mux = tcp_mux(
        Mux::builder()
            .proxy_protocol(connmux::ProxyMode::Required)
            .max_sniffs_per_source(Some(1))
            .first_byte_timeout(None)
            .sniff_deadline(None),
    );
    let _http = mux.route(http1_fast());
    let running = serve(mux);
    let header = |client: &str| format!("PROXY TCP4 {client} 192.0.2.1 40000 80\r\n");
    // A client of the proxy that says nothing after the header holds a sniff.
    let _first = connect_and_send(running.addr, header("10.0.0.1").as_bytes());
    eventually("one sniff", || running.handle.sniffing() == 1);
    let mut again = connect_and_send(running.addr, header("10.0.0.1").as_bytes());
    assert!(
        is_closed_by_peer(&mut again),
        "the same client's second sniff"
    );
    let event = running.next_event();
    assert_eq!(event.kind, "source_limit");
    assert!(event.text.contains("10.0.0.1"), "{}", event.text);
    // Another client of the same proxy, and the proxy's own sniffs.
    let _other = connect_and_send(running.addr, header("10.0.0.2").as_bytes());
    let _silent = connect(running.addr);
    eventually("three sniffs", || running.handle.sniffing() == 3);
    assert_eq!(running.handle.stats().source_limit, 1);
    running.stop().unwrap();
}
