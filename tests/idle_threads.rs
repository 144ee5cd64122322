//! A burst's sniffer threads do not outlive it: under a light load each
//! thread that waited in `accept` longer than the idle timeout exits once
//! it has served the connection that ended its wait, and with no load at
//! all the threads time out in `accept` and `serve`'s own thread accepts,
//! as an idle multiplexer keeps no sniffer thread. (Alone in its test
//! binary: it counts the process's sniffer threads.)

mod common;

use std::io::{Read, Write};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use common::{connect_and_send, eventually, serve, tcp_mux};
use connmux::matchers::prefixes;
use connmux::Mux;

/// The process's threads named as the pool names its threads.
fn sniffer_threads() -> usize {
    std::fs::read_dir("/proc/self/task")
        .unwrap()
        .filter(|task| {
            let comm = task.as_ref().unwrap().path().join("comm");
            std::fs::read_to_string(comm).is_ok_and(|name| name.trim() == "connmux-sniffer")
        })
        .count()
}

#[test]
#[cfg(target_os = "linux")]
fn a_bursts_threads_exit_under_a_light_load() {
    const BURST: usize = 16;
    let idle = Duration::from_millis(100);
    let mut mux = tcp_mux(Mux::builder().idle_sniffer_timeout(idle));
    let gate = Arc::new(Mutex::new(()));
    let held = gate.lock().unwrap();
    let handler_gate = Arc::clone(&gate);
    mux.route_inline(prefixes(["HI"]), move |mut stream, _| {
        drop(handler_gate.lock().unwrap());
        let _ = stream.write_all(b"BYE");
    });
    let running = serve(mux);
    let answered = |mut client: std::net::TcpStream| {
        let mut bye = [0u8; 3];
        client.read_exact(&mut bye).unwrap();
    };

    let burst: Vec<_> = (0..BURST)
        .map(|_| connect_and_send(running.addr, b"HI"))
        .collect();
    eventually("the burst holds its threads", || {
        running.handle.stats().routed == [BURST as u64]
    });
    assert!(
        sniffer_threads() >= BURST,
        "one sniffer thread per held client"
    );
    drop(held);
    burst.into_iter().for_each(answered);

    // A light load: one client at a time, each after the idle timeout.
    for _ in 0..2 * BURST {
        thread::sleep(idle + Duration::from_millis(20));
        answered(connect_and_send(running.addr, b"HI"));
        if sniffer_threads() <= 2 {
            break;
        }
    }
    eventually("the burst's threads gone", || sniffer_threads() <= 2);
    // No load: the last ones time out in `accept`.
    eventually("no sniffer thread left", || sniffer_threads() == 0);
    answered(connect_and_send(running.addr, b"HI"));
    running.stop().unwrap();
}
