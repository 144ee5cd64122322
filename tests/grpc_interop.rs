//! gRPC through connmux with real software: a Python grpcio client reaches
//! a Python grpcio server through a multiplexer that routes it with
//! `grpc().send_settings()`, beside plain HTTP/2 and a catch-all on the
//! same port.
//!
//! grpcio's client sends its HEADERS only after the server's SETTINGS
//! (tests/fixtures/grpcio-before-settings.bin), so the sniffer writes an
//! empty SETTINGS frame itself and cuts the client's ACK of it out of the
//! bytes the handler reads. This test checks the result on the wire: the
//! forwarding handler records every byte it passes each way, and the
//! client's SETTINGS ACKs that reached the real server must be exactly as
//! many as the SETTINGS frames that server sent (cmux issue #96: the real
//! server must never see an ACK of a SETTINGS frame it did not send).
//!
//! Needs `python3` with grpcio and `curl`: it is `#[ignore]`d, and
//! tests/interop/grpc.sh installs what it needs and runs it. Set `PYTHON`
//! to use another interpreter.

mod common;

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::process::{Child, ChildStdin, Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::thread;
use std::time::{Duration, Instant};

use common::{connect_and_send, eventually, is_closed_by_peer, read_to_end, serve, tcp_mux, WAIT};
use connmux::matchers::{any, grpc, http2_preface, HTTP2_PREFACE};
use connmux::{Mux, PeekableStream};

const GRPC_SERVER: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/interop/grpc_server.py");
const GRPC_CLIENT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/interop/grpc_client.py");

/// What grpc_client.py prints when every call is answered right.
const CLIENT_OUTPUT: &str = "\
unary Ping(hello) -> pong:hello
unary Ping(262144 bytes) -> 262149 bytes, intact
server-streaming Count(5) -> count:0 count:1 count:2 count:3 count:4
client-streaming Sum(1..10) -> 55
bidi Echo(alpha beta gamma) -> echo:alpha echo:beta echo:gamma
";

/// The body the plain HTTP/2 route answers with.
const PLAIN_H2_BODY: &[u8] = b"plain HTTP/2, answered by connmux route 2\n";

// HTTP/2 frame types and flags (RFC 9113 sections 6 and 11.2).
const DATA: u8 = 0x0;
const HEADERS: u8 = 0x1;
const SETTINGS: u8 = 0x4;
const GOAWAY: u8 = 0x7;
const ACK: u8 = 0x1;
const END_STREAM: u8 = 0x1;
const END_HEADERS: u8 = 0x4;
const FRAME_HEADER_LENGTH: usize = 9;

/// An HTTP/2 frame: 9-byte header (length u24, type, flags, stream id),
/// then `payload`.
fn frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
    let length = u32::try_from(payload.len()).unwrap().to_be_bytes();
    let mut out = vec![length[1], length[2], length[3], kind, flags];
    out.extend(stream.to_be_bytes());
    out.extend(payload);
    out
}

/// The plain HTTP/2 route's whole answer, as a minimal server writes it:
/// its SETTINGS, the ACK of the client's, a 200 response on stream 1 and a
/// GOAWAY (last stream 1, NO_ERROR).
fn plain_h2_response() -> Vec<u8> {
    let mut out = frame(SETTINGS, 0, 0, &[]);
    out.extend(frame(SETTINGS, ACK, 0, &[]));
    out.extend(frame(HEADERS, END_HEADERS, 1, &[0x88])); // :status 200 (static index 8)
    out.extend(frame(DATA, END_STREAM, 1, PLAIN_H2_BODY));
    out.extend(frame(GOAWAY, 0, 0, &[0, 0, 0, 1, 0, 0, 0, 0]));
    out
}

/// What the test's frame walker keeps of an HTTP/2 frame header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Frame {
    kind: u8,
    flags: u8,
}

impl Frame {
    fn is(&self, kind: u8, ack: bool) -> bool {
        self.kind == kind && (self.flags & ACK != 0) == ack
    }

    /// The frame's name, with `_ACK` for SETTINGS and PING
    /// acknowledgements.
    fn name(&self) -> String {
        let name = match self.kind {
            0x0 => "DATA",
            0x1 => "HEADERS",
            0x2 => "PRIORITY",
            0x3 => "RST_STREAM",
            0x4 => "SETTINGS",
            0x5 => "PUSH_PROMISE",
            0x6 => "PING",
            0x7 => "GOAWAY",
            0x8 => "WINDOW_UPDATE",
            0x9 => "CONTINUATION",
            other => return format!("TYPE_{other:#04x}"),
        };
        if matches!(self.kind, 0x4 | 0x6) && self.flags & ACK != 0 {
            format!("{name}_ACK")
        } else {
            name.to_string()
        }
    }
}

/// The frames in `bytes` (which start at a frame boundary), and how many
/// bytes at the end do not make a whole frame.
fn walk_frames(bytes: &[u8]) -> (Vec<Frame>, usize) {
    let mut frames = Vec::new();
    let mut rest = bytes;
    while rest.len() >= FRAME_HEADER_LENGTH {
        let length = usize::from(rest[0]) << 16 | usize::from(rest[1]) << 8 | usize::from(rest[2]);
        if rest.len() < FRAME_HEADER_LENGTH + length {
            break;
        }
        frames.push(Frame {
            kind: rest[3],
            flags: rest[4],
        });
        rest = &rest[FRAME_HEADER_LENGTH + length..];
    }
    (frames, rest.len())
}

/// The frames a client sent: `bytes` after the connection preface.
fn client_frames(bytes: &[u8]) -> (Vec<Frame>, usize) {
    assert!(
        bytes.starts_with(HTTP2_PREFACE),
        "the client's bytes do not start with the HTTP/2 preface: {:?}",
        &bytes[..bytes.len().min(32)]
    );
    walk_frames(&bytes[HTTP2_PREFACE.len()..])
}

fn names(frames: &[Frame]) -> String {
    let names: Vec<String> = frames.iter().map(Frame::name).collect();
    names.join(",")
}

fn count(frames: &[Frame], kind: u8, ack: bool) -> usize {
    frames.iter().filter(|frame| frame.is(kind, ack)).count()
}

/// The Python grpcio server, killed when this is dropped.
struct PythonServer {
    child: Child,
    /// Held open: the server exits when it closes, should this process
    /// die without running `drop`.
    _stdin: ChildStdin,
    addr: SocketAddr,
}

impl PythonServer {
    fn start() -> PythonServer {
        let mut child = Command::new(python())
            .arg(GRPC_SERVER)
            .arg("--exit-on-stdin-eof")
            .arg("0")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("start {} {GRPC_SERVER}: {e}", python()));
        let stdin = child.stdin.take().unwrap();
        let mut stdout = child.stdout.take().unwrap();
        // Until the address is known, a failed start still kills the child.
        let mut server = PythonServer {
            child,
            _stdin: stdin,
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
        };
        let (line_tx, line_rx) = mpsc::channel();
        thread::spawn(move || {
            let mut line = Vec::new();
            let mut byte = [0u8; 1];
            while stdout.read(&mut byte).unwrap_or(0) == 1 && byte[0] != b'\n' {
                line.push(byte[0]);
            }
            let _ = line_tx.send(String::from_utf8_lossy(&line).into_owned());
            // Keep reading so the server never blocks on a full pipe.
            let _ = io::copy(&mut stdout, &mut io::sink());
        });
        let line = line_rx
            .recv_timeout(WAIT)
            .expect("the gRPC server printed its address within the wait bound");
        server.addr = line
            .strip_prefix("listening on ")
            .and_then(|addr| addr.parse().ok())
            .unwrap_or_else(|| panic!("the gRPC server did not start: {line:?}"));
        server
    }
}

impl Drop for PythonServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn python() -> String {
    std::env::var("PYTHON").unwrap_or_else(|_| "python3".to_string())
}

/// Runs `command` to completion, killing it if it takes longer than
/// [`WAIT`].
fn run_bounded(command: &mut Command) -> Output {
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("start {command:?}: {e}"));
    let collect = |mut pipe: Box<dyn Read + Send>| {
        thread::spawn(move || {
            let mut all = Vec::new();
            let _ = pipe.read_to_end(&mut all);
            all
        })
    };
    let stdout = collect(Box::new(child.stdout.take().unwrap()));
    let stderr = collect(Box::new(child.stderr.take().unwrap()));
    let deadline = Instant::now() + WAIT;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "{command:?} took longer than {WAIT:?}; it printed:\n{}{}",
                String::from_utf8_lossy(&stdout.join().unwrap()),
                String::from_utf8_lossy(&stderr.join().unwrap())
            );
        }
        thread::sleep(Duration::from_millis(10));
    };
    Output {
        status,
        stdout: stdout.join().unwrap(),
        stderr: stderr.join().unwrap(),
    }
}

/// Everything that crossed one forwarded connection.
struct Forwarded {
    /// The bytes the sniff read (the client's ACK of connmux's SETTINGS
    /// already cut out).
    sniffed: Vec<u8>,
    client_to_server: Vec<u8>,
    server_to_client: Vec<u8>,
}

/// Copies `from` to `to` until `from` ends, then half-closes `to` (on
/// EOF: the peer sees the same half-close) or closes it (on an error, so
/// that the other direction ends too). Returns the bytes copied.
fn copy_recording(
    mut from: impl Read,
    mut to: impl Write,
    close: impl Fn(Shutdown) -> io::Result<()>,
) -> Vec<u8> {
    let mut copied = Vec::new();
    let mut buffer = [0u8; 16 * 1024];
    loop {
        match from.read(&mut buffer) {
            Ok(0) => {
                let _ = close(Shutdown::Write);
                return copied;
            }
            Ok(count) => {
                copied.extend_from_slice(&buffer[..count]);
                if to.write_all(&buffer[..count]).is_err() {
                    let _ = close(Shutdown::Both);
                    return copied;
                }
            }
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => {
                let _ = close(Shutdown::Both);
                return copied;
            }
        }
    }
}

/// Connects `client` to the real server and copies bytes both ways, a
/// thread per direction, until both directions have ended.
fn forward(client: PeekableStream<TcpStream>, server_addr: SocketAddr) -> io::Result<Forwarded> {
    let sniffed = client.with_sniffed(<[u8]>::to_vec);
    let server = TcpStream::connect(server_addr)?;
    for socket in [client.get_ref(), &server] {
        socket.set_read_timeout(Some(WAIT))?;
        socket.set_write_timeout(Some(WAIT))?;
    }
    let (client_reader, server_reader) = (client.try_clone()?, server.try_clone()?);
    let upstream = thread::spawn(move || {
        let to = server.try_clone().expect("clone the server socket");
        copy_recording(client_reader, to, move |how| server.shutdown(how))
    });
    let downstream = thread::spawn(move || {
        let to = client.try_clone().expect("clone the client stream");
        copy_recording(server_reader, to, move |how| client.shutdown(how))
    });
    Ok(Forwarded {
        sniffed,
        client_to_server: upstream.join().expect("client-to-server copy"),
        server_to_client: downstream.join().expect("server-to-client copy"),
    })
}

/// Answers one plain HTTP/2 connection: waits for the request's HEADERS,
/// writes [`plain_h2_response`], and reads on until the client closes.
fn answer_plain_h2(mut conn: PeekableStream<TcpStream>) {
    conn.set_read_timeout(Some(WAIT)).unwrap();
    let mut request = Vec::new();
    let mut buffer = [0u8; 4096];
    while request.len() < HTTP2_PREFACE.len()
        || !walk_frames(&request[HTTP2_PREFACE.len()..])
            .0
            .iter()
            .any(|frame| frame.kind == HEADERS)
    {
        match conn.read(&mut buffer) {
            Ok(0) | Err(_) => return,
            Ok(count) => request.extend_from_slice(&buffer[..count]),
        }
    }
    if conn.write_all(&plain_h2_response()).is_ok() {
        let _ = conn.shutdown(Shutdown::Write);
        // Closing with unread bytes would reset the connection.
        let _ = io::copy(&mut conn, &mut io::sink());
    }
}

#[test]
#[ignore = "needs python3 with grpcio, and curl: run tests/interop/grpc.sh"]
fn grpcio_through_send_settings_and_plain_http2_beside_it() {
    let python_server = PythonServer::start();
    let server_addr = python_server.addr;
    println!("grpcio server on {server_addr}");

    let mut mux = tcp_mux(Mux::builder());
    let grpc_route = mux.route(grpc().send_settings());
    let h2_route = mux.route(http2_preface());
    let other_route = mux.route(any());
    let running = serve(mux);
    let mux_addr = running.addr;
    println!("connmux on {mux_addr}");

    let accepted = Arc::new(AtomicUsize::new(0));
    let (forwarded_tx, forwarded) = mpsc::channel();
    {
        let accepted = Arc::clone(&accepted);
        thread::spawn(move || {
            for client in grpc_route.incoming().flatten() {
                accepted.fetch_add(1, Ordering::SeqCst);
                let forwarded_tx = forwarded_tx.clone();
                thread::spawn(move || {
                    let _ = forwarded_tx.send(forward(client, server_addr));
                });
            }
        });
    }
    thread::spawn(move || {
        for conn in h2_route.incoming().flatten() {
            thread::spawn(move || answer_plain_h2(conn));
        }
    });
    thread::spawn(move || for _closed_at_once in other_route.incoming() {});

    // 1. The real gRPC client, every kind of call.
    let client = run_bounded(
        Command::new(python())
            .arg(GRPC_CLIENT)
            .arg(mux_addr.to_string()),
    );
    let client_stdout = String::from_utf8_lossy(&client.stdout).into_owned();
    let client_stderr = String::from_utf8_lossy(&client.stderr).into_owned();
    println!("grpc_client.py printed:\n{client_stdout}{client_stderr}");

    // 2. What crossed each forwarded connection, once the client is gone.
    let mut connections = Vec::new();
    eventually("every forwarded gRPC connection to end", || {
        for connection in forwarded.try_iter() {
            connections.push(connection.expect("connect to the gRPC server"));
        }
        !connections.is_empty() && connections.len() == accepted.load(Ordering::SeqCst)
    });
    for (number, connection) in connections.iter().enumerate() {
        check_settings_acks(number, connection, &client_stdout);
    }
    assert!(
        client.status.success(),
        "grpc_client.py failed ({}):\n{client_stdout}{client_stderr}",
        client.status
    );
    assert_eq!(client_stdout, CLIENT_OUTPUT);

    // 3. Plain HTTP/2 on the same port goes to the second route: a raw
    // client (preface, empty SETTINGS, GET / on stream 1)...
    let mut request = HTTP2_PREFACE.to_vec();
    request.extend(frame(SETTINGS, 0, 0, &[]));
    // :method GET, :scheme http, :path / (static indexes 2, 6, 4)
    request.extend(frame(
        HEADERS,
        END_STREAM | END_HEADERS,
        1,
        &[0x82, 0x86, 0x84],
    ));
    let mut raw = connect_and_send(mux_addr, &request);
    raw.shutdown(Shutdown::Write).unwrap();
    let answer = read_to_end(&mut raw);
    let (frames, partial) = walk_frames(&answer);
    println!("raw HTTP/2 client got: {}", names(&frames));
    // Had the sniff read the request in two parts, the gRPC route would
    // have sent its empty SETTINGS first (the request's end cut the wait
    // for an ACK short).
    let answered_by_route_2 = answer == plain_h2_response()
        || answer == [frame(SETTINGS, 0, 0, &[]), plain_h2_response()].concat();
    assert!(
        answered_by_route_2,
        "plain HTTP/2 got {} (+{partial} bytes), not the second route's answer",
        names(&frames)
    );

    // ... and curl.
    let curl = run_bounded(
        Command::new("curl")
            .args(["-sS", "--http2-prior-knowledge", "--max-time", "10"])
            .arg(format!("http://{mux_addr}/")),
    );
    println!(
        "curl --http2-prior-knowledge printed: {:?} {}",
        String::from_utf8_lossy(&curl.stdout),
        String::from_utf8_lossy(&curl.stderr)
    );
    assert!(curl.status.success(), "curl failed: {}", curl.status);
    assert_eq!(curl.stdout, PLAIN_H2_BODY);

    // 4. Anything else goes to the catch-all, which closes it.
    let mut other = connect_and_send(mux_addr, b"HELLO\r\n");
    assert!(
        is_closed_by_peer(&mut other),
        "the catch-all kept a connection"
    );

    assert_eq!(running.drain_events(), Vec::new(), "no connection dropped");
    running.stop().expect("the multiplexer stops cleanly");
    drop(python_server);
}

/// The check for cmux issue #96: the client's SETTINGS ACKs that reached
/// the real server are exactly as many as the SETTINGS frames the real
/// server sent, so the ACK of connmux's own SETTINGS never got through.
fn check_settings_acks(number: usize, connection: &Forwarded, client_output: &str) {
    let (sniffed, _) = client_frames(&connection.sniffed);
    let (upstream, upstream_partial) = client_frames(&connection.client_to_server);
    let (downstream, downstream_partial) = walk_frames(&connection.server_to_client);
    let server_settings = count(&downstream, SETTINGS, false);
    let client_acks = count(&upstream, SETTINGS, true);
    println!(
        "connection {number}: sniffed (as replayed) {}",
        names(&sniffed)
    );
    println!(
        "connection {number}: client -> server {} frames, {} bytes: {}",
        upstream.len(),
        connection.client_to_server.len(),
        names(&upstream)
    );
    println!(
        "connection {number}: server -> client {} frames, {} bytes: {}",
        downstream.len(),
        connection.server_to_client.len(),
        names(&downstream)
    );
    println!(
        "connection {number}: SETTINGS from the real server: {server_settings}, \
         SETTINGS ACKs from the client that reached it: {client_acks}"
    );
    assert!(
        sniffed.iter().any(|frame| frame.kind == HEADERS),
        "connection {number} was routed before its HEADERS: {}",
        names(&sniffed)
    );
    assert!(
        server_settings > 0,
        "connection {number}: the real server sent no SETTINGS: {}",
        names(&downstream)
    );
    assert_eq!(
        client_acks,
        server_settings,
        "connection {number}: the real gRPC server sent {server_settings} SETTINGS frame(s) \
         but received {client_acks} SETTINGS ACK(s) from the client{}\n\
         client -> server: {} (+{upstream_partial} bytes)\n\
         server -> client: {} (+{downstream_partial} bytes)\n\
         client printed:\n{client_output}",
        if client_acks > server_settings {
            ": the client's ACK of connmux's injected SETTINGS was not cut out (cmux issue #96)"
        } else {
            ""
        },
        names(&upstream),
        names(&downstream),
    );
    assert_eq!(
        (upstream_partial, downstream_partial),
        (0, 0),
        "connection {number} ended mid-frame"
    );
}
