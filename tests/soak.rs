//! Soak test: good, slow, silent, garbage and resetting clients against
//! one multiplexer for a fixed time. Good clients must get every byte
//! back exactly, within a bounded time; once the load stops, threads and
//! descriptors must come back to what they were before it (the sniffer
//! pool grows and shrinks with bursts, so counts during the load measure
//! bursts, not leaks); memory must not grow between the first and the
//! last quarter of the run.
//!
//! Ignored by default; `.ci/soak` runs it (`CONNMUX_SOAK_SECS` sets the
//! duration, 20 s by default).

mod common;

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use common::{serve, tcp_mux};
use connmux::matchers::{grpc, http1_header, prefixes, HTTP2_PREFACE};
use connmux::Mux;

/// The longest a good client's round trip may take: far above the
/// milliseconds it takes, below what a stalled multiplexer would cost.
const GOOD_ROUND_TRIP_BOUND: Duration = Duration::from_secs(5);
/// How often each hostile client opens a connection: a steady nuisance,
/// not a flood that would only measure the kernel's SYN backlog.
const HOSTILE_PAUSE: Duration = Duration::from_millis(10);

fn proc_count(dir: &str) -> u64 {
    std::fs::read_dir(dir)
        .map(|d| d.count() as u64)
        .unwrap_or(0)
}

fn resident_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// A small deterministic generator for payload sizes and bytes.
struct Xorshift(u64);

impl Xorshift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn bytes(&mut self, count: usize) -> Vec<u8> {
        (0..count).map(|_| self.next() as u8).collect()
    }
}

/// Sends `ECHO` and a random payload, reads it all back and checks it.
fn good_client(addr: SocketAddr, seed: u64, running: &AtomicBool, done: &AtomicU64) {
    let mut random = Xorshift(seed | 1);
    while running.load(Ordering::SeqCst) {
        let size = (random.next() % 65_536) as usize;
        let mut payload = b"ECHO".to_vec();
        payload.extend(random.bytes(size));
        let started = Instant::now();
        let mut stream = TcpStream::connect(addr).expect("connect");
        stream
            .set_read_timeout(Some(GOOD_ROUND_TRIP_BOUND))
            .unwrap();
        let writer = {
            let mut stream = stream.try_clone().unwrap();
            let payload = payload.clone();
            thread::spawn(move || {
                stream.write_all(&payload).unwrap();
                stream.shutdown(Shutdown::Write).unwrap();
            })
        };
        let mut echoed = Vec::new();
        stream.read_to_end(&mut echoed).expect("good client read");
        writer.join().unwrap();
        assert!(
            echoed == payload,
            "a good client's {} bytes came back altered",
            payload.len()
        );
        let took = started.elapsed();
        assert!(
            took < GOOD_ROUND_TRIP_BOUND,
            "a good round trip took {took:?}"
        );
        done.fetch_add(1, Ordering::Relaxed);
    }
}

/// Slowloris: an HTTP request head that never ends, one byte every
/// 200 ms, until the mux gives up on it.
fn slow_client(addr: SocketAddr, running: &AtomicBool) {
    while running.load(Ordering::SeqCst) {
        let Ok(mut stream) = TcpStream::connect(addr) else {
            continue;
        };
        let head = b"GET / HTTP/1.1\r\nX-Pad: "
            .iter()
            .chain(std::iter::repeat(&b'a'));
        for byte in head {
            if !running.load(Ordering::SeqCst) || stream.write_all(&[*byte]).is_err() {
                break;
            }
            thread::sleep(Duration::from_millis(200));
        }
    }
}

/// Holds ten silent connections at a time until the mux closes them.
fn silent_client(addr: SocketAddr, running: &AtomicBool) {
    while running.load(Ordering::SeqCst) {
        let mut held: Vec<TcpStream> = (0..10)
            .filter_map(|_| TcpStream::connect(addr).ok())
            .collect();
        for stream in &mut held {
            stream
                .set_read_timeout(Some(Duration::from_secs(5)))
                .unwrap();
            let _ = stream.read(&mut [0u8; 1]);
        }
    }
}

/// Random bytes no route accepts.
fn garbage_client(addr: SocketAddr, seed: u64, running: &AtomicBool) {
    let mut random = Xorshift(seed | 1);
    while running.load(Ordering::SeqCst) {
        if let Ok(mut stream) = TcpStream::connect(addr) {
            let length = 1 + (random.next() % 512) as usize;
            let mut garbage = random.bytes(length);
            garbage[0] = 0xff;
            let _ = stream.write_all(&garbage);
            let _ = stream.read(&mut [0u8; 1]);
        }
        thread::sleep(HOSTILE_PAUSE);
    }
}

/// Starts an HTTP/2 gRPC handshake, lets the mux's SETTINGS arrive
/// unread, and closes: unread data makes the kernel send a reset.
fn resetting_client(addr: SocketAddr, running: &AtomicBool) {
    while running.load(Ordering::SeqCst) {
        if let Ok(mut stream) = TcpStream::connect(addr) {
            let _ = stream.write_all(HTTP2_PREFACE);
            let _ = stream.write_all(&[0, 0, 0, 4, 0, 0, 0, 0, 0]);
            thread::sleep(Duration::from_millis(20));
        }
        thread::sleep(HOSTILE_PAUSE);
    }
}

#[derive(Debug, Clone, Copy)]
struct Sample {
    threads: u64,
    descriptors: u64,
    resident_kib: u64,
}

fn sample() -> Sample {
    Sample {
        threads: proc_count("/proc/self/task"),
        descriptors: proc_count("/proc/self/fd"),
        resident_kib: resident_kib(),
    }
}

fn average(samples: &[Sample]) -> Sample {
    let n = samples.len().max(1) as u64;
    Sample {
        threads: samples.iter().map(|s| s.threads).sum::<u64>() / n,
        descriptors: samples.iter().map(|s| s.descriptors).sum::<u64>() / n,
        resident_kib: samples.iter().map(|s| s.resident_kib).sum::<u64>() / n,
    }
}

/// How long, once the load stops, the counts may take to come back: idle
/// sniffer threads exit after the soak's 0.5 s idle timeout, and the last
/// connections close at their 1 s deadline.
const SETTLE_BOUND: Duration = Duration::from_secs(10);

/// Samples until threads and descriptors are back to `before`, or
/// [`SETTLE_BOUND`] has passed; returns the last sample.
fn settled(before: Sample) -> Sample {
    let started = Instant::now();
    loop {
        let now = sample();
        let back = now.threads <= before.threads && now.descriptors <= before.descriptors;
        if back || started.elapsed() >= SETTLE_BOUND {
            return now;
        }
        thread::sleep(Duration::from_millis(100));
    }
}

#[test]
#[ignore = "long-running; .ci/soak runs it"]
fn mixed_clients_for_a_fixed_time() {
    let seconds: u64 = std::env::var("CONNMUX_SOAK_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20);
    let mut mux = tcp_mux(
        Mux::builder()
            .sniff_deadline(Some(Duration::from_secs(1)))
            .first_byte_timeout(Some(Duration::from_millis(500)))
            .idle_sniffer_timeout(Duration::from_millis(500)),
    );
    mux.route_inline(prefixes(["ECHO"]), |mut stream, _| {
        let Ok(mut writer) = stream.try_clone() else {
            return;
        };
        let _ = std::io::copy(&mut stream, &mut writer);
    });
    let _grpc = mux.route(grpc().send_settings());
    let _tagged_http = mux.route(http1_header("x-soak", "1"));
    let running_mux = serve(mux);
    let addr = running_mux.addr;

    let before = sample();
    let running = Arc::new(AtomicBool::new(true));
    let good_done = Arc::new(AtomicU64::new(0));
    let mut clients = Vec::new();
    for seed in 1..=4u64 {
        let (running, done) = (Arc::clone(&running), Arc::clone(&good_done));
        clients.push(thread::spawn(move || {
            good_client(addr, seed * 7919, &running, &done)
        }));
    }
    for _ in 0..2 {
        let slow_running = Arc::clone(&running);
        clients.push(thread::spawn(move || slow_client(addr, &slow_running)));
        let silent_running = Arc::clone(&running);
        clients.push(thread::spawn(move || silent_client(addr, &silent_running)));
    }
    let garbage_running = Arc::clone(&running);
    clients.push(thread::spawn(move || {
        garbage_client(addr, 4242, &garbage_running)
    }));
    let reset_running = Arc::clone(&running);
    clients.push(thread::spawn(move || {
        resetting_client(addr, &reset_running)
    }));

    let mut samples = Vec::new();
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(seconds) {
        thread::sleep(Duration::from_millis(250));
        samples.push(sample());
        assert!(
            clients.iter().all(|c| !c.is_finished()),
            "a client thread failed"
        );
    }
    running.store(false, Ordering::SeqCst);
    for client in clients {
        client.join().expect("client thread");
    }
    let stats = running_mux.handle.stats();
    let after = settled(before);
    running_mux.stop().unwrap();

    let quarter = (samples.len() / 4).max(1);
    let first = average(&samples[..quarter]);
    let last = average(&samples[samples.len() - quarter..]);
    println!(
        "soak {seconds} s: {} good round trips; before {before:?}, first quarter {first:?}, \
         last quarter {last:?}, settled {after:?}; {stats:?}",
        good_done.load(Ordering::Relaxed)
    );
    assert!(
        good_done.load(Ordering::Relaxed) > 0,
        "no good client got through"
    );
    assert!(
        stats.no_first_byte > 0 && stats.timed_out > 0,
        "silent and slow clients were not cut off: {stats:?}"
    );
    assert!(stats.not_matched > 0, "garbage was not refused: {stats:?}");
    assert!(
        after.threads <= before.threads && after.descriptors <= before.descriptors,
        "threads or descriptors leaked: {before:?} before the load, {after:?} after"
    );
    assert!(
        last.resident_kib <= first.resident_kib + first.resident_kib / 4 + 4096,
        "memory grew: {first:?} -> {last:?}"
    );
}
