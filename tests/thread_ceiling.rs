//! The sniffer pool never starts more threads than the system lets the
//! process create: with `RLIMIT_NPROC` lowered in a child process, silent
//! clients fill the pool up to its ceiling, the accept loop reports it and
//! waits, and every client is still served once threads free up.

#![cfg(target_os = "linux")]

use std::io::Write;
use std::process::Command;
use std::sync::{mpsc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use connmux::{matchers, memory, Event, Mux};

const WAIT: Duration = Duration::from_secs(10);
/// The soft `RLIMIT_NPROC` the child runs under.
const MAX_PROCESSES: usize = 60;
/// Clients: more than the ceiling that limit leaves.
const CLIENTS: usize = 40;
const CHILD: &str = "CONNMUX_THREAD_CEILING_CHILD";

#[test]
fn a_lowered_process_limit_caps_the_sniffer_threads() {
    let output = Command::new("bash")
        .arg("-c")
        .arg(format!("ulimit -Su {MAX_PROCESSES} && exec \"$@\""))
        .arg("bash")
        .arg(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "--ignored",
            "--nocapture",
            "child_at_the_ceiling",
        ])
        .env(CHILD, "1")
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success() && report.contains("1 passed"),
        "the child failed:\n{report}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

fn threads_now() -> usize {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("Threads:")).unwrap();
    line["Threads:".len()..].trim().parse().unwrap()
}

/// Runs only in the child that `a_lowered_process_limit_caps_the_sniffer_threads`
/// starts.
#[test]
#[ignore = "run by a_lowered_process_limit_caps_the_sniffer_threads in a child process"]
fn child_at_the_ceiling() {
    assert!(
        std::env::var_os(CHILD).is_some(),
        "run through the parent test"
    );
    let (source, connector) = memory::listener();
    let mut mux = Mux::builder()
        .first_byte_timeout(None)
        .sniff_deadline(None)
        .max_concurrent_sniffs(1000)
        .build(source)
        .unwrap();
    let xs = mux.route(matchers::prefixes(["X"]));
    let (ceiling_sender, ceiling) = mpsc::channel();
    let ceiling_sender = Mutex::new(ceiling_sender);
    mux.on_event(move |event| {
        if let Event::ThreadCeiling { threads, .. } = event {
            let _ = ceiling_sender.lock().unwrap().send(*threads);
        }
    });
    let handle = mux.handle();
    let server = thread::spawn(move || mux.serve());

    // Silent clients: each holds a sniffer thread until it speaks.
    let clients: Vec<_> = (0..CLIENTS).map(|_| connector.connect().unwrap()).collect();
    let threads = ceiling
        .recv_timeout(WAIT)
        .expect("the ceiling was reported");
    assert!(threads < CLIENTS, "{threads} threads for {CLIENTS} clients");
    let started = Instant::now();
    while handle.sniffing() < threads {
        assert!(started.elapsed() < WAIT, "{} sniffing", handle.sniffing());
        thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(handle.sniffing(), threads, "no sniff beyond the ceiling");
    assert!(threads_now() <= MAX_PROCESSES, "{} threads", threads_now());

    // Every client speaks: each freed thread takes a waiting client.
    for mut client in &clients {
        client.write_all(b"X").unwrap();
    }
    for _ in 0..CLIENTS {
        xs.accept_timeout(WAIT).expect("every client is served");
    }
    assert!(threads_now() <= MAX_PROCESSES);
    handle.shutdown();
    server.join().unwrap().unwrap();
}
