//! Shutdown and handle lifetimes: what `serve`, `accept` and the
//! connections in every state do when the multiplexer stops or a route's
//! handles go away.

mod common;

use std::io::Read;
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use common::{connect_and_send, eventually, is_closed_by_peer, serve, tcp_mux, WAIT};
use connmux::matchers::{any, http1_fast, prefixes};
use connmux::{AcceptError, Matcher, Mux};

#[test]
fn queued_connections_are_handed_out_after_shutdown_then_accept_fails() {
    let mut mux = tcp_mux(Mux::builder());
    let catch_all = mux.route(any());
    let running = serve(mux);
    let _clients: Vec<_> = (0..3u8)
        .map(|i| connect_and_send(running.addr, &[b'0' + i]))
        .collect();
    eventually("three queued connections", || catch_all.queued() == 3);

    running.stop().unwrap();
    let mut firsts = Vec::new();
    for _ in 0..3 {
        let (mut conn, _) = catch_all
            .accept()
            .expect("queued connections survive shutdown");
        let mut byte = [0u8; 1];
        conn.read_exact(&mut byte).unwrap();
        firsts.push(byte[0]);
    }
    firsts.sort_unstable();
    assert_eq!(firsts, b"012");
    assert_eq!(catch_all.accept().unwrap_err(), AcceptError::ShutDown);
    assert_eq!(
        catch_all.accept_timeout(WAIT).unwrap_err(),
        AcceptError::ShutDown
    );
    assert_eq!(catch_all.try_accept().unwrap_err(), AcceptError::ShutDown);
    assert!(catch_all.is_closed());
}

#[test]
fn serve_closes_the_listener_when_it_returns() {
    let mut mux = tcp_mux(Mux::builder());
    let _catch_all = mux.route(any());
    let running = serve(mux);
    running.stop().unwrap();
    assert!(
        TcpStream::connect(running.addr).is_err(),
        "the listening socket is still open after serve returned"
    );
}

#[test]
fn shutdown_before_serve_makes_serve_return_at_once() {
    let mut mux = tcp_mux(Mux::builder());
    let catch_all = mux.route(any());
    let handle = mux.handle();
    handle.shutdown();
    assert!(handle.is_shut_down());
    let served = common::within(WAIT, move || mux.serve().is_ok());
    assert!(served);
    assert_eq!(catch_all.accept().unwrap_err(), AcceptError::ShutDown);
}

#[test]
fn a_mux_dropped_without_serving_releases_its_handles() {
    let mut mux = tcp_mux(Mux::builder());
    let catch_all = mux.route(any());
    let handle = mux.handle();
    drop(mux);
    assert_eq!(catch_all.accept().unwrap_err(), AcceptError::ShutDown);
    assert!(handle.is_shut_down());
}

#[test]
fn shutdown_twice_and_from_several_handles_is_harmless() {
    let mut mux = tcp_mux(Mux::builder());
    let _catch_all = mux.route(any());
    let running = serve(mux);
    let other = running.handle.clone();
    other.shutdown();
    running.handle.shutdown();
    running.wait_served().unwrap();
    other.shutdown();
    assert!(other.is_shut_down());
}

#[test]
fn dropping_the_last_handle_closes_only_its_route() {
    let mut mux = tcp_mux(Mux::builder());
    let alpha = mux.route(prefixes(["A"]));
    let beta = mux.route(prefixes(["B"]));
    let running = serve(mux);

    let alpha_clone = alpha.clone();
    drop(alpha);
    let _client = connect_and_send(running.addr, b"A");
    alpha_clone
        .accept_timeout(WAIT)
        .expect("a clone keeps the route open");

    drop(alpha_clone);
    let mut refused = connect_and_send(running.addr, b"A");
    assert!(is_closed_by_peer(&mut refused));
    assert_eq!(running.next_event().kind, "route_closed");

    let _client = connect_and_send(running.addr, b"B");
    beta.accept_timeout(WAIT)
        .expect("the other route still serves");
    running.stop().unwrap();
}

#[test]
fn several_threads_accept_on_one_listener_and_each_connection_goes_to_one() {
    let mut mux = tcp_mux(Mux::builder().route_queue_capacity(64));
    let http = mux.route(http1_fast());
    let running = serve(mux);
    let seen = Arc::new(Mutex::new(Vec::new()));
    let acceptors: Vec<_> = (0..6)
        .map(|_| {
            let (http, seen) = (http.clone(), Arc::clone(&seen));
            thread::spawn(move || {
                let mut count = 0;
                while let Ok((mut conn, _)) = http.accept() {
                    let mut line = [0u8; 10];
                    conn.read_exact(&mut line).unwrap();
                    seen.lock().unwrap().push(line);
                    count += 1;
                }
                count
            })
        })
        .collect();
    let _clients: Vec<_> = (0..40u8)
        .map(|i| connect_and_send(running.addr, format!("GET /{i:05}").as_bytes()))
        .collect();
    eventually("40 connections accepted", || {
        seen.lock().unwrap().len() == 40
    });
    running.stop().unwrap();
    let per_thread: Vec<usize> = acceptors.into_iter().map(|a| a.join().unwrap()).collect();
    assert_eq!(per_thread.iter().sum::<usize>(), 40);
    let mut lines = seen.lock().unwrap().clone();
    lines.sort_unstable();
    lines.dedup();
    assert_eq!(lines.len(), 40, "a connection was handed out twice");
}

#[test]
fn shutdown_closes_connections_stuck_mid_sniff_with_a_deadline_too() {
    let mut mux = tcp_mux(Mux::builder().sniff_deadline(Some(Duration::from_secs(3600))));
    let longest_seen = Arc::new(AtomicUsize::new(0));
    let recorder = Arc::clone(&longest_seen);
    let _http = mux.route(move |seen: &[u8]| {
        recorder.fetch_max(seen.len(), Ordering::SeqCst);
        http1_fast().verdict(seen)
    });
    let running = serve(mux);
    let mut stuck = connect_and_send(running.addr, b"PO");
    eventually("the sniff to read both bytes", || {
        longest_seen.load(Ordering::SeqCst) == 2
    });
    running.stop().unwrap();
    assert!(is_closed_by_peer(&mut stuck));
    let event = running.next_event();
    assert_eq!((event.kind, event.sniffed_bytes), ("shut_down", 2));
    assert_eq!(event.peer, Some(stuck.local_addr().unwrap()));
}

#[test]
fn ipv6_loopback_serves_and_shuts_down() {
    let listener = TcpListener::bind("[::1]:0").expect("IPv6 loopback");
    let mut mux = Mux::new(listener).unwrap();
    let catch_all = mux.route(any());
    let running = serve(mux);
    let _client = connect_and_send(running.addr, b"v6");
    let (_, peer) = catch_all.accept_timeout(WAIT).unwrap();
    assert!(peer.is_ipv6());
    running.stop().unwrap();
}

#[test]
fn graceful_shutdown_lets_sniffs_in_progress_finish_then_closes_the_listener() {
    let mut mux = tcp_mux(Mux::builder().sniff_deadline(None).first_byte_timeout(None));
    let http = mux.route(http1_fast());
    let running = serve(mux);
    let mut slow = connect_and_send(running.addr, b"GE");
    eventually("the sniff to start", || running.handle.sniffing() == 1);

    running.handle.shutdown_graceful(WAIT);
    std::thread::sleep(Duration::from_millis(50));
    assert!(!running.handle.is_shut_down(), "still draining");
    std::io::Write::write_all(&mut slow, b"T / HTTP/1.1\r\n\r\n").unwrap();
    let (mut conn, _) = http
        .accept_timeout(WAIT)
        .expect("the sniff finished and was routed");
    let mut request = [0u8; 6];
    conn.read_exact(&mut request).unwrap();
    assert_eq!(&request, b"GET / ");
    running.wait_served().unwrap();
    assert!(
        TcpStream::connect(running.addr).is_err(),
        "no longer listening"
    );
    assert_eq!(http.accept().unwrap_err(), AcceptError::ShutDown);
}

#[test]
fn graceful_shutdown_gives_up_on_sniffs_after_the_grace() {
    let mut mux = tcp_mux(Mux::builder().sniff_deadline(None).first_byte_timeout(None));
    let _http = mux.route(http1_fast());
    let running = serve(mux);
    let mut stuck = connect_and_send(running.addr, b"GE");
    eventually("the sniff to start", || running.handle.sniffing() == 1);
    let started = std::time::Instant::now();
    running.handle.shutdown_graceful(Duration::from_millis(100));
    running.wait_served().unwrap();
    assert!(
        started.elapsed() >= Duration::from_millis(100),
        "gave up before the grace"
    );
    assert!(is_closed_by_peer(&mut stuck));
    assert_eq!(running.next_event().kind, "shut_down");
}

#[test]
fn an_immediate_shutdown_cuts_a_graceful_one_short() {
    let mut mux = tcp_mux(Mux::builder().sniff_deadline(None).first_byte_timeout(None));
    let _http = mux.route(http1_fast());
    let running = serve(mux);
    let _stuck = connect_and_send(running.addr, b"GE");
    eventually("the sniff to start", || running.handle.sniffing() == 1);
    running.handle.shutdown_graceful(Duration::from_secs(3600));
    std::thread::sleep(Duration::from_millis(50));
    running.stop().unwrap();
}

/// An accept source whose shutdown wake-up lets one last client through
/// first, as a client that connects at the instant of shutdown does.
struct RacedSource {
    backlog: Mutex<std::sync::mpsc::Receiver<Option<connmux::memory::MemoryStream>>>,
    push: std::sync::mpsc::Sender<Option<connmux::memory::MemoryStream>>,
    /// The client end of the racing connection.
    racer: Arc<Mutex<Option<connmux::memory::MemoryStream>>>,
    /// Set once the accept loop waits in `accept`.
    accepting: Arc<std::sync::atomic::AtomicBool>,
}

impl connmux::Accept for RacedSource {
    type Conn = connmux::memory::MemoryStream;
    type Addr = u64;

    fn accept(&self) -> std::io::Result<(Self::Conn, u64)> {
        self.accepting.store(true, Ordering::SeqCst);
        match self.backlog.lock().unwrap().recv() {
            Ok(Some(conn)) => Ok((conn, 99)),
            Ok(None) | Err(_) => Err(std::io::ErrorKind::Interrupted.into()),
        }
    }

    fn local_addr(&self) -> std::io::Result<u64> {
        Ok(0)
    }

    fn wake_handle(&self) -> std::io::Result<connmux::WakeAccept> {
        let push = Mutex::new(self.push.clone());
        let racer = Arc::clone(&self.racer);
        Ok(Box::new(move || {
            let (client, server) = connmux::memory::pair();
            *racer.lock().unwrap() = Some(client);
            let push = push.lock().unwrap();
            let _ = push.send(Some(server));
            let _ = push.send(None);
        }))
    }
}

#[test]
fn a_client_accepted_in_the_race_with_shutdown_is_counted_and_reported() {
    let (push, backlog) = std::sync::mpsc::channel();
    let racer = Arc::new(Mutex::new(None));
    let accepting = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let source = RacedSource {
        backlog: Mutex::new(backlog),
        push,
        racer: Arc::clone(&racer),
        accepting: Arc::clone(&accepting),
    };
    let mut mux = Mux::new(source).unwrap();
    let _catch_all = mux.route(any());
    let running = serve(mux);
    eventually("the accept loop waits", || accepting.load(Ordering::SeqCst));
    running.stop().unwrap();
    let event = running.next_event();
    assert_eq!((event.kind, event.peer), ("shut_down", Some(99)));
    assert_eq!(running.handle.stats().accepted, 1);
    let mut client = racer.lock().unwrap().take().expect("the racer connected");
    assert_eq!(client.read(&mut [0u8; 1]).unwrap(), 0, "closed");
}

#[test]
fn the_listener_closes_with_the_mux_though_handles_outlive_it() {
    for serve_first in [false, true] {
        let mut mux = tcp_mux(Mux::builder());
        let catch_all = mux.route(any());
        let handle = mux.handle();
        let addr = mux.local_addr().unwrap();
        if serve_first {
            let running = serve(mux);
            running.stop().unwrap();
        } else {
            drop(mux);
        }
        let refused = TcpStream::connect(addr).unwrap_err();
        assert_eq!(refused.kind(), std::io::ErrorKind::ConnectionRefused);
        drop((catch_all, handle));
    }
}

#[test]
fn a_graceful_shutdown_hands_inline_routes_the_sniffs_it_waited_for() {
    // Many connections finish their sniff during the grace, each racing the
    // stop that ends it: every one must reach its handler.
    for _ in 0..20 {
        let mut mux = tcp_mux(Mux::builder().sniff_deadline(None).first_byte_timeout(None));
        let served = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&served);
        mux.route_inline(http1_fast(), move |_stream, _peer| {
            counter.fetch_add(1, Ordering::SeqCst);
        });
        let running = serve(mux);
        let mut slow: Vec<TcpStream> = (0..4)
            .map(|_| connect_and_send(running.addr, b"GE"))
            .collect();
        eventually("the sniffs to start", || running.handle.sniffing() == 4);
        running.handle.shutdown_graceful(WAIT);
        for client in &mut slow {
            std::io::Write::write_all(client, b"T / HTTP/1.1\r\n\r\n").unwrap();
        }
        running.wait_served().unwrap();
        // `serve` does not wait for inline handlers: they may still be
        // starting.
        eventually("every handler to run", || {
            served.load(Ordering::SeqCst) == 4
        });
        assert_eq!(running.drain_events(), []);
    }
}

#[test]
fn a_channel_whose_senders_are_gone_ends_its_mux_after_the_sniffs_it_took() {
    let (sender, source) = connmux::channel(connmux::memory::MemoryAddr(0), 8);
    let mut mux = Mux::builder()
        .sniff_deadline(None)
        .first_byte_timeout(None)
        .build(source)
        .unwrap();
    let served = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&served);
    mux.route_inline(prefixes(["PING"]), move |_stream, _peer| {
        counter.fetch_add(1, Ordering::SeqCst);
    });
    let handle = mux.handle();
    let server = thread::spawn(move || mux.serve());
    // One connection mid-sniff, one still in the backlog when the last
    // sender goes.
    let (mut first, conn) = connmux::memory::pair();
    std::io::Write::write_all(&mut first, b"PI").unwrap();
    sender.send(conn, connmux::memory::MemoryAddr(1)).unwrap();
    eventually("the sniff to start", || handle.sniffing() == 1);
    let (mut second, conn) = connmux::memory::pair();
    std::io::Write::write_all(&mut second, b"PING").unwrap();
    sender.send(conn, connmux::memory::MemoryAddr(2)).unwrap();
    drop(sender);
    std::io::Write::write_all(&mut first, b"NG").unwrap();
    server
        .join()
        .unwrap()
        .expect("the end of a channel is no error");
    // `serve` does not wait for inline handlers: they may still be
    // starting.
    eventually("both handlers to run", || {
        served.load(Ordering::SeqCst) == 2
    });
}
