//! Running out of descriptors: a multiplexer in a child process with a
//! low `ulimit -n` is flooded with connections until `accept` fails with
//! EMFILE; it reports each failure, backs off, and once the clients leave
//! it accepts again by itself and answers a fresh request.
//!
//! The child is this same test binary, re-run under `sh -c 'ulimit -n ..'`
//! with an environment variable that makes its one ignored test serve.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use common::WAIT;
use connmux::matchers::http1_fast;
use connmux::{Event, Mux};

const CHILD_FLAG: &str = "CONNMUX_EMFILE_CHILD";
const CHILD_DESCRIPTOR_LIMIT: u32 = 48;

/// The child's side: serve until standard input closes, printing the
/// bound port and one line per accept failure.
#[test]
#[ignore = "run as a child process by accepting_resumes_after_descriptors_run_out"]
fn emfile_child() {
    if std::env::var_os(CHILD_FLAG).is_none() {
        return;
    }
    let mut mux = Mux::builder()
        .sniff_deadline(Some(Duration::from_secs(60)))
        .first_byte_timeout(None)
        .build(std::net::TcpListener::bind("127.0.0.1:0").unwrap())
        .unwrap();
    mux.route_inline(http1_fast(), |mut stream, _| {
        let mut request = [0u8; 4];
        if stream.read_exact(&mut request).is_ok() {
            let _ = stream.write_all(b"OK");
        }
    });
    mux.on_event(|event| {
        if let Event::AcceptFailed { error, .. } = event {
            println!("accept failed: {error}");
        }
    });
    println!("port {}", mux.local_addr().unwrap().port());
    let handle = mux.handle();
    thread::spawn(move || {
        let _ = std::io::stdin().read_to_end(&mut Vec::new());
        handle.shutdown();
    });
    mux.serve().unwrap();
    println!("served");
}

/// Kills the child if the test fails half-way.
struct ChildGuard(Child);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn accepting_resumes_after_descriptors_run_out() {
    let test_binary = std::env::current_exe().unwrap();
    let mut child = ChildGuard(
        Command::new("sh")
            .arg("-c")
            .arg(format!(
                "ulimit -n {CHILD_DESCRIPTOR_LIMIT} && exec \"$0\" --exact emfile_child --ignored --nocapture --test-threads 1"
            ))
            .arg(&test_binary)
            .env(CHILD_FLAG, "1")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the child"),
    );
    let (lines_tx, lines) = mpsc::channel();
    let stdout = BufReader::new(child.0.stdout.take().unwrap());
    thread::spawn(move || {
        for line in stdout.lines().map_while(Result::ok) {
            let _ = lines_tx.send(line);
        }
    });
    // The child's lines may follow the test harness's own text on a line.
    let next_line = |what: &str| -> String {
        loop {
            let line = lines
                .recv_timeout(WAIT)
                .unwrap_or_else(|_| panic!("child: no {what}"));
            if let Some(at) = line.find(what) {
                return line[at..].to_owned();
            }
        }
    };
    let port: u16 = next_line("port ")[5..].parse().unwrap();
    let addr: SocketAddr = ([127, 0, 0, 1], port).into();

    // Silent clients hold one child descriptor each, more than it has.
    let flood: Vec<TcpStream> = (0..2 * CHILD_DESCRIPTOR_LIMIT)
        .filter_map(|_| TcpStream::connect(addr).ok())
        .collect();
    let failure = next_line("accept failed");
    assert!(failure.contains("os error 24"), "{failure}");

    drop(flood);
    let answered = (0..50).any(|_| {
        let Ok(mut client) = TcpStream::connect(addr) else {
            thread::sleep(Duration::from_millis(100));
            return false;
        };
        client.set_read_timeout(Some(WAIT)).unwrap();
        let mut reply = [0u8; 2];
        let ok = client.write_all(b"GET / HTTP/1.1\r\n\r\n").is_ok()
            && client.read_exact(&mut reply).is_ok()
            && &reply == b"OK";
        if !ok {
            thread::sleep(Duration::from_millis(100));
        }
        ok
    });
    assert!(
        answered,
        "the child never accepted again after EMFILE cleared"
    );

    drop(child.0.stdin.take());
    next_line("served");
}
