//! The portshare example, run as a user runs it: its command line (bad
//! arguments, `--help`), and real forwarding on loopback to small backends
//! started here (an HTTP responder, echo servers over TCP and UNIX
//! sockets, a server-first banner, a PROXY header checker), with the
//! clients checking exact bytes and the log lines.
//!
//! `cargo test` builds the examples before it runs the tests; the binary
//! is found beside this test's own (`target/<profile>/examples/`).

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::os::unix::net::UnixListener;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use connmux::{parse_proxy_header, ProxyAddr, ProxyParse, ProxyTlv, ProxyVersion};

mod common;

use common::example::{example_binary, RunningExample};
use common::WAIT;

const HTTP_REQUEST: &[u8] = b"GET /hello HTTP/1.1\r\nHost: portshare.test\r\n\r\n";
const HTTP_RESPONSE: &[u8] =
    b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello";
const BANNER: &[u8] = b"220 banner.test ESMTP ready\r\n";
/// What [`bulk_then_wait`] sends: enough for the bulk buffer.
const BULK_DOWNLOAD_BYTES: usize = 48 * 1024 * 1024 + 4321;

fn portshare_binary() -> PathBuf {
    example_binary("portshare")
}

fn run_to_end(args: &[&str]) -> Output {
    let mut child = Command::new(portshare_binary())
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("portshare starts");
    let deadline = Instant::now() + WAIT;
    while child.try_wait().expect("waitable").is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("portshare {args:?} did not exit");
        }
        thread::sleep(Duration::from_millis(10));
    }
    child.wait_with_output().expect("output")
}

/// A running portshare on a free loopback port, killed on drop.
struct Portshare(RunningExample);

impl Portshare {
    /// Starts portshare listening on a free loopback port with `args`, and
    /// reads the bound address from its start-up line.
    fn start(args: &[&str]) -> Portshare {
        let args = [&["--listen", "127.0.0.1:0"], args].concat();
        Portshare(RunningExample::start("portshare", &args))
    }

    /// The next line that contains every one of `parts`, waiting at most
    /// [`WAIT`].
    fn line_with(&self, parts: &[&str]) -> String {
        self.0.line_with(parts)
    }

    fn connect(&self) -> TcpStream {
        connect(self.0.addr)
    }
}

fn connect(addr: SocketAddr) -> TcpStream {
    let stream = TcpStream::connect_timeout(&addr, WAIT).expect("connect");
    stream.set_read_timeout(Some(WAIT)).unwrap();
    stream.set_write_timeout(Some(WAIT)).unwrap();
    stream
}

/// A TCP server on a free loopback port that runs `handle` on a thread per
/// connection.
fn backend(handle: fn(TcpStream) -> io::Result<()>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { return };
            stream.set_read_timeout(Some(WAIT)).unwrap();
            thread::spawn(move || handle(stream));
        }
    });
    addr.to_string()
}

/// An address where nothing listens: bound, then closed.
fn refusing_backend() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().to_string()
}

/// Reads an HTTP request head, answers it and closes.
fn http_responder(mut stream: TcpStream) -> io::Result<()> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        stream.read_exact(&mut byte)?;
        head.push(byte[0]);
    }
    stream.write_all(HTTP_RESPONSE)
}

/// Echoes until the client's end, then ends too.
fn echo(mut stream: TcpStream) -> io::Result<()> {
    io::copy(&mut stream.try_clone()?, &mut stream)?;
    stream.shutdown(Shutdown::Write)
}

/// Reads everything until the client's end, then sends it back reversed:
/// a reply that exists only after a half-close.
fn reverse_after_end(mut stream: TcpStream) -> io::Result<()> {
    let mut request = Vec::new();
    stream.read_to_end(&mut request)?;
    request.reverse();
    stream.write_all(&request)
}

/// Speaks first, then echoes.
fn banner_first(mut stream: TcpStream) -> io::Result<()> {
    stream.write_all(BANNER)?;
    echo(stream)
}

/// Waits for the client's first bytes, then closes without reading them,
/// which makes the kernel reset the connection.
fn reset_after_first_bytes(stream: TcpStream) -> io::Result<()> {
    stream.peek(&mut [0u8; 1])?;
    drop(stream);
    Ok(())
}

/// Reads a PROXY header, answers with what it says, then echoes the rest.
fn proxy_header_checker(mut stream: TcpStream) -> io::Result<()> {
    let mut seen = Vec::new();
    let mut chunk = [0u8; 512];
    let (header, length) = loop {
        match parse_proxy_header(&seen) {
            ProxyParse::Complete { header, length } => break (header, length),
            ProxyParse::Incomplete => {}
            other => {
                return stream.write_all(format!("no header: {other:?}\n").as_bytes());
            }
        }
        let read = stream.read(&mut chunk)?;
        if read == 0 {
            return Ok(());
        }
        seen.extend_from_slice(&chunk[..read]);
    };
    let version = match header.version() {
        ProxyVersion::V1 => "v1",
        _ => "v2",
    };
    let describe = |addr: Option<ProxyAddr>| addr.map_or("none".to_string(), |a| a.to_string());
    let mut summary = format!(
        "{version} src={} dst={}",
        describe(header.source()),
        describe(header.destination())
    );
    if let Some(authority) = header.authority() {
        summary += &format!(" authority={authority}");
    }
    if let Some(alpn) = header.alpn() {
        summary += &format!(" alpn={}", String::from_utf8_lossy(alpn));
    }
    if let Some(id) = header.unique_id() {
        summary += &format!(" unique_id={}", String::from_utf8_lossy(id));
    }
    // The parser verified it: a wrong checksum is no header at all.
    if header.tlvs().any(|tlv| tlv.kind == ProxyTlv::CRC32C) {
        summary += " crc32c=ok";
    }
    summary.push('\n');
    stream.write_all(summary.as_bytes())?;
    stream.write_all(&seen[length..])?;
    echo(stream)
}

/// curl's ClientHello (SNI api.example.net, ALPN h2 and http/1.1), from
/// the fixtures.
fn curl_client_hello() -> Vec<u8> {
    let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    std::fs::read(fixtures.join("tls-curl-https-sni.bin")).unwrap()
}

fn read_line(stream: &mut TcpStream) -> String {
    let mut line = Vec::new();
    let mut byte = [0u8; 1];
    while !line.ends_with(b"\n") {
        stream.read_exact(&mut byte).expect("a whole line");
        line.push(byte[0]);
    }
    String::from_utf8(line).expect("text")
}

/// Reads until the peer's end or a reset, which must come within [`WAIT`].
fn read_until_closed(stream: &mut TcpStream) -> Vec<u8> {
    let mut got = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        match stream.read(&mut chunk) {
            Ok(0) => return got,
            Ok(read) => got.extend_from_slice(&chunk[..read]),
            Err(error) if error.kind() == io::ErrorKind::ConnectionReset => return got,
            Err(error) => panic!("expected the connection to close, got {error}"),
        }
    }
}

/// Deterministic pseudo-random bytes (xorshift64).
fn random_bytes(len: usize, mut state: u64) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(len + 8);
    while bytes.len() < len {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        bytes.extend_from_slice(&state.to_le_bytes());
    }
    bytes.truncate(len);
    bytes
}

/// Sends `payload` from another thread while reading the reply here, so
/// that neither side's buffers fill up and stall the other for good.
///
/// The reading starts late: until then every socket buffer on the way
/// fills, so portshare's reads come back full, as from a sender faster
/// than the proxy, and it switches both directions to `splice`.
fn send_and_receive(mut client: TcpStream, payload: &[u8], reply_len: usize) -> Vec<u8> {
    let mut writer = client.try_clone().unwrap();
    let payload = payload.to_vec();
    let sender = thread::spawn(move || {
        writer.write_all(&payload).unwrap();
        writer.shutdown(Shutdown::Write).unwrap();
    });
    thread::sleep(Duration::from_millis(200));
    let mut reply = Vec::with_capacity(reply_len);
    client.read_to_end(&mut reply).unwrap();
    sender.join().unwrap();
    reply
}

#[test]
fn bad_arguments_exit_with_2_and_say_why() {
    let route = "any=127.0.0.1:9";
    let cases: &[(&[&str], &str)] = &[
        (&["--route", route], "--listen ADDR is required"),
        (&["--listen", "127.0.0.1:0"], "at least one --route"),
        (
            &["--listen", "127.0.0.1:0", "--route", "any"],
            "expected SPEC=BACKEND",
        ),
        (
            &["--listen", "127.0.0.1:0", "--route", "gopher=127.0.0.1:70"],
            "unknown SPEC 'gopher'",
        ),
        (
            &[
                "--listen",
                "127.0.0.1:0",
                "--route",
                "tls-sni=127.0.0.1:443",
            ],
            "tls-sni needs a value",
        ),
        (
            &[
                "--listen",
                "127.0.0.1:0",
                "--route",
                "tls-alpn:=127.0.0.1:443",
            ],
            "is not an ALPN protocol",
        ),
        (
            &["--listen", "127.0.0.1:0", "--route", "http1="],
            "BACKEND after '=' is empty",
        ),
        (
            &["--listen", "127.0.0.1:0", "--route", "http1=nowhere"],
            "backend 'nowhere'",
        ),
        (
            &["--listen", "localhost", "--route", route],
            "invalid --listen 'localhost'",
        ),
        (
            &[
                "--listen",
                "127.0.0.1:0",
                "--route",
                route,
                "--timeout",
                "soon",
            ],
            "invalid --timeout 'soon'",
        ),
        (
            &[
                "--listen",
                "127.0.0.1:0",
                "--route",
                route,
                "--max-conns",
                "0",
            ],
            "invalid --max-conns '0'",
        ),
        (
            &[
                "--listen",
                "127.0.0.1:0",
                "--route",
                route,
                "--max-sniff",
                "-1",
            ],
            "invalid --max-sniff '-1'",
        ),
        (
            &[
                "--listen",
                "127.0.0.1:0",
                "--route",
                route,
                "--accept-proxy",
                "yes",
            ],
            "invalid --accept-proxy 'yes'",
        ),
        (
            &[
                "--listen",
                "127.0.0.1:0",
                "--route",
                route,
                "--accept-proxy",
                "required",
                "--proxy-from",
                "10.0.0.0/33",
            ],
            "invalid --proxy-from: '10.0.0.0/33' is not an IP network",
        ),
        (
            &[
                "--listen",
                "127.0.0.1:0",
                "--route",
                route,
                "--proxy-from",
                "10.0.0.0/8",
            ],
            "--proxy-from needs --accept-proxy",
        ),
        (
            &[
                "--listen",
                "127.0.0.1:0",
                "--route",
                route,
                "--send-proxy",
                "v3",
            ],
            "invalid --send-proxy 'v3'",
        ),
        (
            &["--listen", "127.0.0.1:0", "--route", route, "--timeout"],
            "--timeout needs a value",
        ),
        (
            &["--listen", "127.0.0.1:0", "--route", route, "--verbose"],
            "unknown option '--verbose'",
        ),
        (
            &["--listen", "127.0.0.1:0", "--route", route, "extra"],
            "unexpected argument 'extra'",
        ),
        (
            &[
                "--listen",
                "127.0.0.1:0",
                "--route",
                "silence=127.0.0.1:25",
                "--silence",
                "5000",
            ],
            "--silence (5000 ms) must be below --timeout (5000 ms)",
        ),
        (
            &[
                "--listen",
                "127.0.0.1:0",
                "--route",
                "silence=127.0.0.1:25",
                "--timeout",
                "1000",
            ],
            "--silence (2000 ms) must be below --timeout (1000 ms)",
        ),
    ];
    for (args, message) in cases {
        let output = run_to_end(args);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(
            stderr.contains(message),
            "{args:?}: {stderr:?} lacks {message:?}"
        );
        assert!(output.stdout.is_empty(), "{args:?}");
    }
    // --silence without a silence route is allowed; --help wins over the rest.
    let output = run_to_end(&["--silence", "9000", "--help"]);
    assert_eq!(output.status.code(), Some(0));
}

#[test]
fn help_lists_every_spec_and_option() {
    for flag in ["--help", "-h"] {
        let output = run_to_end(&[flag]);
        assert_eq!(output.status.code(), Some(0));
        let help = String::from_utf8(output.stdout).unwrap();
        for word in [
            "http1",
            "http2",
            "grpc",
            "websocket",
            "tls",
            "tls-sni:HOST",
            "tls-alpn:PROTO",
            "tls-ja4:FP",
            "ssh",
            "socks5",
            "socks4",
            "redis",
            "postgres",
            "mqtt",
            "silence",
            "any",
            "from:CIDR",
            "to:CIDR",
            "SPEC+SPEC",
            "pattern:TEXT",
            "--listen",
            "--route",
            "--timeout",
            "--silence",
            "--max-sniff",
            "--accept-proxy",
            "--proxy-from",
            "--send-proxy",
            "--proxy-v2-options",
            "--max-conns",
            "--quiet",
            "Examples:",
        ] {
            assert!(help.contains(word), "--help does not mention {word}");
        }
    }
}

#[test]
fn routes_by_protocol_and_logs_each_connection() {
    let http = backend(http_responder);
    let echo = backend(echo);
    let portshare = Portshare::start(&[
        "--route",
        &format!("http1={http}"),
        "--route",
        &format!("ssh={echo}"),
    ]);

    let mut client = portshare.connect();
    client.write_all(HTTP_REQUEST).unwrap();
    assert_eq!(read_until_closed(&mut client), HTTP_RESPONSE);
    let peer = client.local_addr().unwrap();
    // The line is written once both directions have ended.
    drop(client);
    let line = portshare.line_with(&["route=http1", "outcome=ok"]);
    let expected = format!(
        "peer={peer} route=http1 backend={http} up={} down={} time=",
        HTTP_REQUEST.len(),
        HTTP_RESPONSE.len()
    );
    assert!(line.starts_with(&expected), "{line}");

    let mut client = portshare.connect();
    client.write_all(b"SSH-2.0-OpenSSH_9.6\r\n").unwrap();
    let mut banner = [0u8; 21];
    client.read_exact(&mut banner).unwrap();
    assert_eq!(&banner, b"SSH-2.0-OpenSSH_9.6\r\n");
    client.shutdown(Shutdown::Write).unwrap();
    assert_eq!(read_until_closed(&mut client), b"");
    portshare.line_with(&[
        "route=ssh",
        &format!("backend={echo}"),
        "up=21 down=21",
        "outcome=ok",
    ]);

    // No route takes it: logged from the multiplexer's event, then closed.
    let mut client = portshare.connect();
    client.write_all(b"\x00\x01nonsense").unwrap();
    assert_eq!(read_until_closed(&mut client), b"");
    let line = portshare.line_with(&["outcome=no-match"]);
    assert!(
        line.contains("route=- backend=- up=10 down=0 time=-"),
        "{line}"
    );
}

#[test]
fn large_random_payload_is_echoed_byte_exact() {
    let echo = backend(echo);
    let socket_dir = std::env::temp_dir().join(format!("portshare-test-{}", std::process::id()));
    std::fs::create_dir_all(&socket_dir).unwrap();
    let socket_path = socket_dir.join("echo.sock");
    let _ = std::fs::remove_file(&socket_path);
    let unix_echo = UnixListener::bind(&socket_path).unwrap();
    thread::spawn(move || {
        for stream in unix_echo.incoming() {
            let Ok(mut stream) = stream else { return };
            thread::spawn(move || {
                io::copy(&mut stream.try_clone()?, &mut stream)?;
                stream.shutdown(Shutdown::Write)
            });
        }
    });
    let portshare = Portshare::start(&[
        "--route",
        &format!("redis={}", socket_path.display()),
        "--route",
        &format!("any={echo}"),
    ]);

    // Several MB: long enough to switch to the bulk buffer both ways.
    let payload = random_bytes(8 * 1024 * 1024 + 123, 0x5eed_cafe_f00d_d00d);
    let reply = send_and_receive(portshare.connect(), &payload, payload.len());
    assert!(
        reply == payload,
        "echo differs ({} bytes back)",
        reply.len()
    );
    portshare.line_with(&[&format!("up={0} down={0}", payload.len()), "outcome=ok"]);

    // The same over a UNIX socket backend, starting with a Redis command.
    let mut payload = b"*1\r\n$4\r\nPING\r\n".to_vec();
    payload.extend(random_bytes(3 * 1024 * 1024, 42));
    let reply = send_and_receive(portshare.connect(), &payload, payload.len());
    assert!(
        reply == payload,
        "echo over UNIX differs ({} bytes back)",
        reply.len()
    );
    portshare.line_with(&[
        "route=redis",
        &format!("up={0} down={0}", payload.len()),
        "outcome=ok",
    ]);
    let _ = std::fs::remove_dir_all(&socket_dir);
}

/// Sends [`BULK_DOWNLOAD_BYTES`] of a known pattern, then keeps the
/// connection open until the client closes it, as a keep-alive HTTP
/// server does after a response.
fn bulk_then_wait(mut stream: TcpStream) -> io::Result<()> {
    stream.write_all(&random_bytes(BULK_DOWNLOAD_BYTES, 99))?;
    stream.set_read_timeout(None)?;
    io::copy(&mut stream, &mut io::sink()).map(drop)
}

#[test]
fn a_bulk_download_arrives_whole_while_the_connection_stays_open() {
    // The last bytes must not wait for the backend's end (splice through a
    // pipe once left the last pages of such a transfer behind until the
    // connection closed).
    let server = backend(bulk_then_wait);
    let portshare = Portshare::start(&["--route", &format!("any={server}")]);
    for _ in 0..3 {
        let mut client = portshare.connect();
        client.write_all(b"GET /big HTTP/1.1\r\n\r\n").unwrap();
        let mut received = vec![0u8; BULK_DOWNLOAD_BYTES];
        client
            .read_exact(&mut received)
            .expect("the whole download, before the backend closes");
        assert!(received == random_bytes(BULK_DOWNLOAD_BYTES, 99));
        drop(client);
        portshare.line_with(&[&format!("down={BULK_DOWNLOAD_BYTES}"), "outcome=ok"]);
    }
}

/// Answers only once it has both halves of a ten-byte request.
fn answer_after_ten_bytes(mut stream: TcpStream) -> io::Result<()> {
    let mut request = [0u8; 10];
    stream.read_exact(&mut request)?;
    stream.write_all(b"OK:")?;
    stream.write_all(&request)
}

#[test]
fn a_client_that_speaks_again_before_the_reply_is_heard() {
    // portshare waits for the reply on the thread that sniffed, reading
    // nothing more from the client meanwhile; a backend that needs more
    // gets it once that wait gives up.
    let server = backend(answer_after_ten_bytes);
    let portshare = Portshare::start(&["--route", &format!("any={server}")]);
    for _ in 0..3 {
        let mut client = portshare.connect();
        client.write_all(b"HELLO").unwrap();
        thread::sleep(Duration::from_millis(30));
        client.write_all(b"WORLD").unwrap();
        assert_eq!(read_until_closed(&mut client), b"OK:HELLOWORLD");
        drop(client);
        portshare.line_with(&["up=10 down=13", "outcome=ok"]);
    }
}

#[test]
fn half_close_still_gets_the_whole_response() {
    let reverse = backend(reverse_after_end);
    let portshare = Portshare::start(&["--route", &format!("any={reverse}")]);
    let mut client = portshare.connect();
    let request = random_bytes(300_000, 7);
    client.write_all(&request).unwrap();
    client.shutdown(Shutdown::Write).unwrap();
    let mut reply = Vec::new();
    client.read_to_end(&mut reply).unwrap();
    let mut expected = request.clone();
    expected.reverse();
    assert!(reply == expected, "{} bytes back", reply.len());
    portshare.line_with(&["up=300000 down=300000", "outcome=ok"]);
}

#[test]
fn backend_failures_close_the_client_promptly() {
    let refused = refusing_backend();
    let resetting = backend(reset_after_first_bytes);
    let portshare = Portshare::start(&[
        "--route",
        &format!("http1={refused}"),
        "--route",
        &format!("any={resetting}"),
    ]);

    let started = Instant::now();
    let mut client = portshare.connect();
    client.write_all(HTTP_REQUEST).unwrap();
    assert_eq!(read_until_closed(&mut client), b"");
    assert!(started.elapsed() < Duration::from_secs(5));
    let line = portshare.line_with(&["outcome=backend-refused"]);
    assert!(
        line.contains(&format!("route=http1 backend={refused} up=0 down=0")),
        "{line}"
    );

    let mut client = portshare.connect();
    client.write_all(b"hello?").unwrap();
    assert_eq!(read_until_closed(&mut client), b"");
    portshare.line_with(&["route=any", "outcome=reset"]);
}

#[test]
fn a_route_with_several_backends_reaches_the_first_that_answers() {
    let refused = refusing_backend();
    let http = backend(http_responder);
    let portshare = Portshare::start(&["--route", &format!("http1={refused},{http}")]);
    for _ in 0..2 {
        let mut client = portshare.connect();
        client.write_all(HTTP_REQUEST).unwrap();
        assert_eq!(read_until_closed(&mut client), HTTP_RESPONSE);
        drop(client);
        portshare.line_with(&[&format!("route=http1 backend={http} up="), "outcome=ok"]);
    }
}

#[test]
fn silent_clients_meet_server_first_backends() {
    let http = backend(http_responder);
    let banner = backend(banner_first);
    let portshare = Portshare::start(&[
        "--route",
        &format!("http1={http}"),
        "--route",
        &format!("silence={banner}"),
        "--silence",
        "200",
        "--timeout",
        "3000",
    ]);
    let mut client = portshare.connect();
    let mut greeting = vec![0u8; BANNER.len()];
    client.read_exact(&mut greeting).unwrap();
    assert_eq!(greeting, BANNER);
    client.write_all(b"QUIT\r\n").unwrap();
    let mut echoed = [0u8; 6];
    client.read_exact(&mut echoed).unwrap();
    assert_eq!(&echoed, b"QUIT\r\n");
    drop(client);
    portshare.line_with(&["route=silence", "outcome="]);
}

#[test]
fn send_proxy_tells_the_backend_who_the_client_is() {
    let checker = backend(proxy_header_checker);
    for version in ["v1", "v2"] {
        let portshare = Portshare::start(&[
            "--send-proxy",
            version,
            "--route",
            &format!("any={checker}"),
        ]);
        let mut client = portshare.connect();
        client.write_all(b"ping").unwrap();
        let summary = read_line(&mut client);
        let expected = format!(
            "{version} src={} dst={}\n",
            client.local_addr().unwrap(),
            portshare.0.addr
        );
        assert_eq!(summary, expected);
        let mut echoed = [0u8; 4];
        client.read_exact(&mut echoed).unwrap();
        assert_eq!(&echoed, b"ping");
        client.shutdown(Shutdown::Write).unwrap();
        assert_eq!(read_until_closed(&mut client), b"");
        // The header is not counted as client bytes.
        portshare.line_with(&["route=any", "up=4 down=", "outcome=ok"]);
    }
}

#[test]
fn accepted_proxy_header_is_relayed_to_the_backend() {
    let checker = backend(proxy_header_checker);
    let portshare = Portshare::start(&[
        "--accept-proxy",
        "required",
        "--send-proxy",
        "v2",
        "--route",
        &format!("http1={checker}"),
    ]);
    let mut client = portshare.connect();
    client
        .write_all(b"PROXY TCP4 203.0.113.7 192.0.2.1 41000 443\r\n")
        .unwrap();
    client.write_all(HTTP_REQUEST).unwrap();
    assert_eq!(
        read_line(&mut client),
        "v2 src=203.0.113.7:41000 dst=192.0.2.1:443 authority=portshare.test\n"
    );
    let mut echoed = vec![0u8; HTTP_REQUEST.len()];
    client.read_exact(&mut echoed).unwrap();
    assert_eq!(echoed, HTTP_REQUEST);
    client.shutdown(Shutdown::Write).unwrap();
    assert_eq!(read_until_closed(&mut client), b"");
    portshare.line_with(&["peer=203.0.113.7:41000 route=http1", "outcome=ok"]);

    // Without the header the connection is refused, and the reason logged.
    let mut client = portshare.connect();
    client.write_all(HTTP_REQUEST).unwrap();
    assert_eq!(read_until_closed(&mut client), b"");
    portshare.line_with(&["route=- backend=-", "outcome=bad-proxy-header"]);
}

#[test]
fn a_header_from_outside_proxy_from_is_not_believed() {
    let checker = backend(proxy_header_checker);
    let spoofed = b"PROXY TCP4 6.6.6.6 192.0.2.1 41000 443\r\n";
    // Required: this client (127.0.0.1) is refused before it is read.
    let portshare = Portshare::start(&[
        "--accept-proxy",
        "required",
        "--proxy-from",
        "10.0.0.0/8",
        "--route",
        &format!("any={checker}"),
    ]);
    let mut client = portshare.connect();
    client.write_all(spoofed).unwrap();
    assert_eq!(read_until_closed(&mut client), b"");
    portshare.line_with(&[
        "peer=127.0.0.1:",
        "route=- backend=-",
        "outcome=untrusted-proxy",
    ]);

    // Optional: the header is the client's own bytes, passed on whole,
    // and the backend hears of the real peer.
    let portshare = Portshare::start(&[
        "--accept-proxy",
        "optional",
        "--proxy-from",
        "10.0.0.0/8",
        "--proxy-from",
        "192.168.0.0/16",
        "--send-proxy",
        "v1",
        "--route",
        &format!("any={checker}"),
    ]);
    let mut client = portshare.connect();
    client.write_all(spoofed).unwrap();
    let told = read_line(&mut client);
    let peer = client.local_addr().unwrap();
    assert!(told.starts_with(&format!("v1 src={peer} ")), "{told}");
    let mut echoed = vec![0u8; spoofed.len()];
    client.read_exact(&mut echoed).unwrap();
    assert_eq!(echoed, spoofed, "passed on as the client's bytes");
    client.shutdown(Shutdown::Write).unwrap();
    assert_eq!(read_until_closed(&mut client), b"");
    portshare.line_with(&[&format!("peer={peer} route=any"), "outcome=ok"]);
}

#[test]
fn send_proxy_v2_tells_the_backend_the_sni_and_alpn_the_client_sent() {
    let checker = backend(proxy_header_checker);
    let portshare = Portshare::start(&["--send-proxy", "v2", "--route", &format!("tls={checker}")]);
    let hello = curl_client_hello();
    let mut client = portshare.connect();
    client.write_all(&hello).unwrap();
    let summary = read_line(&mut client);
    let expected = format!(
        "v2 src={} dst={} authority=api.example.net alpn=h2\n",
        client.local_addr().unwrap(),
        portshare.0.addr
    );
    assert_eq!(summary, expected);
}

#[test]
fn proxy_v2_options_add_a_unique_id_and_a_checksum_and_alpn_is_the_route_s() {
    let checker = backend(proxy_header_checker);
    let portshare = Portshare::start(&[
        "--send-proxy",
        "v2",
        "--proxy-v2-options",
        "unique-id,crc32c",
        "--route",
        &format!("tls-alpn:http/1.1={checker}"),
    ]);
    let hello = curl_client_hello();
    let mut ids = Vec::new();
    for _ in 0..2 {
        let mut client = portshare.connect();
        client.write_all(&hello).unwrap();
        let summary = read_line(&mut client);
        // curl offered h2 first; the route matched on http/1.1.
        let prefix = format!(
            "v2 src={} dst={} authority=api.example.net alpn=http/1.1 unique_id=",
            client.local_addr().unwrap(),
            portshare.0.addr
        );
        let id = summary
            .strip_prefix(&prefix)
            .and_then(|rest| rest.strip_suffix(" crc32c=ok\n"))
            .unwrap_or_else(|| panic!("{summary}"));
        assert!(
            !id.is_empty() && id.len() <= ProxyTlv::UNIQUE_ID_MAX_BYTES,
            "{id}"
        );
        ids.push(id.to_owned());
    }
    assert_ne!(ids[0], ids[1], "one ID per connection");
}

#[test]
fn a_relayed_unique_id_is_kept() {
    let checker = backend(proxy_header_checker);
    let portshare = Portshare::start(&[
        "--accept-proxy",
        "required",
        "--send-proxy",
        "v2",
        "--proxy-v2-options",
        "unique-id",
        "--route",
        &format!("any={checker}"),
    ]);
    let header = connmux::ProxyHeader::tcp(
        "203.0.113.7:41000".parse().unwrap(),
        "192.0.2.1:443".parse().unwrap(),
    )
    .with_tlv(ProxyTlv::UNIQUE_ID, b"from-the-balancer")
    .unwrap();
    let mut client = portshare.connect();
    client.write_all(&header.encode_v2()).unwrap();
    client.write_all(b"hello").unwrap();
    assert_eq!(
        read_line(&mut client),
        "v2 src=203.0.113.7:41000 dst=192.0.2.1:443 unique_id=from-the-balancer\n"
    );
}

#[test]
fn max_conns_refuses_connections_beyond_the_limit() {
    let echo = backend(echo);
    let portshare = Portshare::start(&["--max-conns", "1", "--route", &format!("any={echo}")]);

    let mut first = portshare.connect();
    first.write_all(b"one").unwrap();
    let mut echoed = [0u8; 3];
    first.read_exact(&mut echoed).unwrap();
    assert_eq!(&echoed, b"one");

    let mut second = portshare.connect();
    second.write_all(b"two").unwrap();
    assert_eq!(read_until_closed(&mut second), b"");
    portshare.line_with(&["route=any", "up=0 down=0", "outcome=refused-max-conns"]);

    // Once the first is done, its place is free again.
    first.shutdown(Shutdown::Write).unwrap();
    assert_eq!(read_until_closed(&mut first), b"");
    portshare.line_with(&["up=3 down=3", "outcome=ok"]);
    // (Its place is given back just after its line is written.)
    let deadline = Instant::now() + WAIT;
    loop {
        let mut third = portshare.connect();
        // Refused while the place is still taken: the close may come
        // before the write, which then fails.
        let sent = third.write_all(b"three").is_ok() && third.shutdown(Shutdown::Write).is_ok();
        if sent && read_until_closed(&mut third) == b"three" {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no connection served after the first ended"
        );
        thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn quiet_keeps_only_the_startup_line() {
    let echo = backend(echo);
    let portshare = Portshare::start(&["--quiet", "--route", &format!("any={echo}")]);
    let mut client = portshare.connect();
    client.write_all(b"hush").unwrap();
    client.shutdown(Shutdown::Write).unwrap();
    assert_eq!(read_until_closed(&mut client), b"hush");
    if let Some(line) = portshare.0.next_line_within(Duration::from_millis(300)) {
        panic!("a line in quiet mode: {line:?}");
    }
}

/// What the `sniff` example prints for `opening` with `routes`, the same
/// `--route` arguments portshare takes.
fn sniff(routes: &[&str], opening: &[u8]) -> String {
    let mut child = Command::new(example_binary("sniff"))
        .args(routes)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("sniff starts");
    child
        .stdin
        .take()
        .expect("piped stdin")
        .write_all(opening)
        .expect("sniff reads its input");
    let output = child.wait_with_output().expect("sniff ends");
    assert!(
        output.status.success(),
        "sniff {routes:?}: {:?}",
        output.status
    );
    String::from_utf8(output.stdout).expect("one line of text")
}

#[test]
fn sniff_names_the_route_portshare_takes() {
    let echo = backend(echo);
    let routes: Vec<String> = ["websocket", "http1", "ssh", "redis"]
        .iter()
        .map(|spec| format!("{spec}={echo}"))
        .collect();
    let args: Vec<&str> = routes
        .iter()
        .flat_map(|route| ["--route", route.as_str()])
        .collect();
    let portshare = Portshare::start(&args);
    let openings: &[&[u8]] = &[
        b"GET /chat HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n",
        // http1 is http1_fast in both: decided at the method, so an
        // unfinished request line is HTTP/1 and an unlisted method is not.
        b"GET /unfinished",
        b"PURGE /cache HTTP/1.1\r\n\r\n",
        b"SSH-2.0 hello\r\n",
        b"PING\r\n",
        b"hello world\n",
        b"\x00\x01nonsense",
    ];
    for &opening in openings {
        let mut client = portshare.connect();
        let peer = client.local_addr().unwrap();
        client.write_all(opening).unwrap();
        client.shutdown(Shutdown::Write).unwrap();
        read_until_closed(&mut client);
        let logged = portshare.line_with(&[&format!("peer={peer} ")]);
        let route = logged
            .split(' ')
            .find_map(|field| field.strip_prefix("route="))
            .expect("a route= field");
        let line = sniff(&args, opening);
        let named = match line.trim_end().strip_prefix("match ") {
            Some(rest) => rest.split(' ').next().unwrap(),
            None => "-",
        };
        assert_eq!(
            named,
            route,
            "{:?}: sniff says {line:?}, portshare {logged:?}",
            opening.escape_ascii().to_string()
        );
    }
}

#[test]
fn routes_by_client_address_combine_with_protocols() {
    let (office, others) = (backend(proxy_header_checker), backend(proxy_header_checker));
    let office_route = format!("http1+from:10.0.0.0/8,2001:db8::/32={office}");
    let portshare = Portshare::start(&[
        "--accept-proxy",
        "optional",
        "--send-proxy",
        "v1",
        "--route",
        &office_route,
        "--route",
        &format!("http1={others}"),
    ]);
    for (header, route, told) in [
        (
            "PROXY TCP4 10.1.2.3 192.0.2.1 41000 80\r\n",
            "route=http1+from:10.0.0.0/8,2001:db8::/32 ",
            "v1 src=10.1.2.3:41000 ",
        ),
        (
            "PROXY TCP6 2001:db8::7 2001:db8::1 41000 80\r\n",
            "route=http1+from:10.0.0.0/8,2001:db8::/32 ",
            "v1 src=[2001:db8::7]:41000 ",
        ),
        (
            "PROXY TCP4 192.0.2.9 192.0.2.1 41000 80\r\n",
            "route=http1 ",
            "v1 src=192.0.2.9:41000 ",
        ),
        // No header: the client is the peer, 127.0.0.1.
        ("", "route=http1 ", "v1 src=127.0.0.1:"),
    ] {
        let mut client = portshare.connect();
        client.write_all(header.as_bytes()).unwrap();
        client.write_all(HTTP_REQUEST).unwrap();
        let line = read_line(&mut client);
        assert!(line.starts_with(told), "{header:?}: {line}");
        client.shutdown(Shutdown::Write).unwrap();
        read_until_closed(&mut client);
        portshare.line_with(&[route, "outcome=ok"]);
    }
}

#[test]
fn bad_address_routes_exit_with_2_and_say_why() {
    for (spec, why) in [
        ("from:10.0.0.0/33", "'10.0.0.0/33' is not an IP network"),
        ("from:", "'' is not an IP network"),
        ("to", "to needs a value"),
        ("http1+", "an empty SPEC"),
        ("silence+from:10.0.0.0/8", "silence cannot be combined"),
        ("http1+gopher", "unknown SPEC 'gopher'"),
    ] {
        let route = format!("{spec}=127.0.0.1:9");
        let output = run_to_end(&["--listen", "127.0.0.1:0", "--route", &route]);
        assert_eq!(output.status.code(), Some(2), "{spec}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(why), "{spec}: {stderr}");
    }
}

#[test]
fn bad_proxy_v2_options_exit_with_2_and_say_why() {
    let route = "any=127.0.0.1:9";
    for (args, why) in [
        (
            &["--send-proxy", "v2", "--proxy-v2-options", "unique-id,ssl"][..],
            "'ssl' is not one of unique-id, crc32c",
        ),
        (
            &["--send-proxy", "v1", "--proxy-v2-options", "crc32c"],
            "--proxy-v2-options needs --send-proxy v2",
        ),
        (
            &["--proxy-v2-options", "crc32c"],
            "--proxy-v2-options needs --send-proxy v2",
        ),
    ] {
        let args = [&["--listen", "127.0.0.1:0", "--route", route], args].concat();
        let output = run_to_end(&args);
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(why), "{args:?}: {stderr}");
    }
}

/// A scratch folder for one test's files, removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new(test: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!("portshare-{test}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }

    fn path(&self, name: &str) -> String {
        self.0.join(name).to_string_lossy().into_owned()
    }

    /// Writes `text` to `name` at once (a rename, so a watcher never reads
    /// half of it); its path.
    fn write(&self, name: &str, text: &str) -> String {
        let partial = self.0.join(format!(".{name}.partial"));
        std::fs::write(&partial, text).unwrap();
        std::fs::rename(&partial, self.0.join(name)).unwrap();
        self.path(name)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Sends `bytes`, half-closes, and reads the reply to the end.
fn exchange(addr: SocketAddr, bytes: &[u8]) -> Vec<u8> {
    let mut client = connect(addr);
    client.write_all(bytes).unwrap();
    client.shutdown(Shutdown::Write).unwrap();
    read_until_closed(&mut client)
}

/// A backend that answers every connection with `name`, then closes.
fn named_backend(name: &'static str) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let _ = stream.write_all(name.as_bytes());
        }
    });
    addr.to_string()
}

#[test]
fn a_configuration_file_gives_the_options_and_check_prints_the_routes() {
    let scratch = Scratch::new("check");
    let echo = backend(echo);
    let socket = scratch.path("front.sock");
    let file = scratch.write(
        "portshare.conf",
        &format!(
            "# two listeners, three routes\n\
             listen 127.0.0.1:0\n\
             listen {socket} max-conns=5\n\
             \n\
             route ssh={echo} name=shell\n  \
             route tls-sni:a.example+tls-alpn:h2={echo},{echo} send-proxy=v2 max-conns=7 log=off\n\
             route timeout={echo}\n\
             on-timeout timeout\n\
             unmatched-to-last\n\
             timeout 1500\n"
        ),
    );
    let output = run_to_end(&["--config", &file, "--check"]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{output:?}");
    let expected = [
        "listen 127.0.0.1:0".to_owned(),
        format!("listen {socket} max-conns=5"),
        format!("route ssh={echo} name=shell"),
        format!(
            "route tls-sni:a.example+tls-alpn:h2={echo},{echo} send-proxy=v2 max-conns=7 log=off"
        ),
        format!("route timeout={echo}"),
        "route unmatched -> timeout".to_owned(),
        "route timeout -> timeout".to_owned(),
    ];
    assert_eq!(stdout.lines().collect::<Vec<_>>(), expected, "{stdout}");

    // The command line's options come after the file's.
    let output = run_to_end(&[
        "--config",
        &file,
        "--check",
        "--route",
        &format!("http1={echo}"),
    ]);
    assert!(String::from_utf8_lossy(&output.stdout).contains(&format!("route http1={echo}")));

    // A mistake in the file: exit status 3, and the line.
    let bad = scratch.write(
        "bad.conf",
        "listen 127.0.0.1:0\nroute ssh=127.0.0.1:22 colour=blue\n",
    );
    let output = run_to_end(&["--config", &bad, "--check"]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains(&format!("{bad}:2: invalid route")) && stderr.contains("colour=blue"),
        "{stderr}"
    );
    for (text, says) in [
        (
            "listen 127.0.0.1:0\n--route any=127.0.0.1:1\n",
            "write options without their dashes",
        ),
        (
            "listen 127.0.0.1:0\nroute any=127.0.0.1:1\non-timeout ssh\n",
            "--on-timeout 'ssh' names no route",
        ),
        ("route any=127.0.0.1:1\n", "--listen ADDR is required"),
    ] {
        let file = scratch.write("mistake.conf", text);
        let output = run_to_end(&["--config", &file, "--check"]);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(3), "{text:?}: {stderr}");
        assert!(stderr.contains(says), "{text:?}: {stderr}");
    }
    let output = run_to_end(&["--config", &scratch.path("missing.conf"), "--check"]);
    assert_eq!(output.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&output.stderr).contains("cannot read"));
    // The same mistakes on the command line are usage errors.
    let output = run_to_end(&[
        "--listen",
        "127.0.0.1:0",
        "--route",
        "any=127.0.0.1:1",
        "--on-timeout",
        "ssh",
    ]);
    assert_eq!(output.status.code(), Some(2));
    let output = run_to_end(&["--reload"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("--reload needs --control PATH"));
}

#[test]
fn check_warns_of_a_route_after_one_that_takes_everything() {
    let scratch = Scratch::new("lint");
    let file = scratch.write(
        "portshare.conf",
        "listen 127.0.0.1:0\n\
         route any=127.0.0.1:1\n\
         route ssh=127.0.0.1:2 name=shell\n",
    );
    let output = run_to_end(&["--config", &file, "--check"]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{output:?}");
    let warnings: Vec<&str> = stdout
        .lines()
        .filter(|line| line.starts_with("warning: "))
        .collect();
    assert_eq!(
        warnings,
        [
            "warning: route 1 (shell) never wins: route 0 (any) matches every input, \
          the empty one included"
        ],
        "{stdout}"
    );
    // In the usual order, only a note of when a silent client gets to
    // the catch-all; with a silence route for them, nothing.
    let usual = [
        "--listen",
        "127.0.0.1:0",
        "--check",
        "--route",
        "ssh=127.0.0.1:2",
    ];
    let output = run_to_end(&[&usual[..], &["--route", "any=127.0.0.1:1"]].concat());
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{output:?}");
    assert!(
        stdout.starts_with(
            "warning: route 1 (any) takes a client that sends nothing only when the sniff ends"
        ),
        "{stdout}"
    );
    let output = run_to_end(&[&usual[..], &["--route", "silence=127.0.0.1:1"]].concat());
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{output:?}");
    assert!(!stdout.contains("warning"), "{stdout}");
    // A timeout route gets its connections through the on-timeout
    // fallback, which is asked before the routes when the sniff ends, so
    // a catch-all before it takes none of them (sslh's example.cfg).
    let on_timeout = ["--route", "timeout=127.0.0.1:1", "--on-timeout", "timeout"];
    let output = run_to_end(&[&usual[..], &on_timeout[..]].concat());
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(!stdout.contains("warning"), "{stdout}");
    let output = run_to_end(&[&usual[..], &["--route", "any=127.0.0.1:3"], &on_timeout].concat());
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(!stdout.contains("timeout) never wins"), "{stdout}");
}

#[test]
fn tcp_and_unix_listeners_share_the_routes_and_their_limits() {
    let scratch = Scratch::new("listeners");
    let echo = backend(echo);
    let socket = scratch.path("front.sock");
    // A socket file left by a process that is gone is replaced.
    drop(std::os::unix::net::UnixListener::bind(&socket).unwrap());
    let portshare = Portshare::start(&[
        "--listen",
        &format!("{socket} max-conns=1"),
        "--route",
        &format!("any={echo}"),
    ]);
    assert_eq!(exchange(portshare.0.addr, b"over tcp"), b"over tcp");
    portshare.line_with(&[
        "route=any",
        "outcome=ok",
        &format!("listener={}", portshare.0.addr),
    ]);

    let mut unix = std::os::unix::net::UnixStream::connect(&socket).unwrap();
    unix.set_read_timeout(Some(WAIT)).unwrap();
    unix.write_all(b"over unix").unwrap();
    let mut echoed = [0u8; 9];
    unix.read_exact(&mut echoed).unwrap();
    assert_eq!(&echoed, b"over unix");
    // The UNIX listener takes one connection at a time; TCP has no limit.
    let mut second = std::os::unix::net::UnixStream::connect(&socket).unwrap();
    second.set_read_timeout(Some(WAIT)).unwrap();
    // Refused, it may be closed before the write: the write may fail.
    let _ = second.write_all(b"second");
    let mut rest = Vec::new();
    let _ = second.read_to_end(&mut rest);
    assert_eq!(rest, b"");
    portshare.line_with(&[
        "outcome=refused-listener-max-conns",
        &format!("listener={socket}"),
    ]);
    assert_eq!(exchange(portshare.0.addr, b"still tcp"), b"still tcp");
    unix.shutdown(Shutdown::Write).unwrap();
    let _ = unix.read_to_end(&mut rest);
    portshare.line_with(&["peer=unix:", "up=9 down=9", "outcome=ok"]);
}

#[test]
fn each_route_has_its_own_proxy_header_and_limit() {
    let checker = backend(proxy_header_checker);
    let echo = backend(echo);
    let portshare = Portshare::start(&[
        "--send-proxy",
        "v1",
        "--route",
        &format!("http1={echo} send-proxy=off max-conns=1"),
        "--route",
        &format!("any={checker} send-proxy=v2"),
    ]);
    // The second route's v2 overrides the global v1.
    let mut client = portshare.connect();
    client.write_all(b"ping").unwrap();
    let summary = read_line(&mut client);
    assert!(summary.starts_with("v2 src="), "{summary}");
    drop(client);
    // The first route sends no header, and takes one connection at once.
    let mut first = portshare.connect();
    first.write_all(HTTP_REQUEST).unwrap();
    let mut echoed = vec![0u8; HTTP_REQUEST.len()];
    first.read_exact(&mut echoed).unwrap();
    assert_eq!(echoed, HTTP_REQUEST);
    let mut second = portshare.connect();
    second.write_all(HTTP_REQUEST).unwrap();
    assert_eq!(read_until_closed(&mut second), b"");
    portshare.line_with(&["route=http1", "outcome=refused-route-max-conns"]);
}

#[test]
fn undecided_openings_go_to_the_on_timeout_route_and_refused_ones_to_the_last() {
    let timeout_backend = named_backend("timeout-backend");
    let last = named_backend("last-backend");
    let http = named_backend("http-backend");
    let portshare = Portshare::start(&[
        "--timeout",
        "300",
        "--route",
        &format!("http1={http}"),
        "--route",
        &format!("timeout={timeout_backend}"),
        "--route",
        &format!("ssh={last}"),
        "--on-timeout",
        "timeout",
        "--unmatched-to-last",
    ]);
    // A partial opening (the start of an HTTP request) at the deadline.
    let mut partial = portshare.connect();
    partial.write_all(b"GE").unwrap();
    assert_eq!(read_until_closed(&mut partial), b"timeout-backend");
    drop(partial);
    // A client that says nothing: SSH's habit, sslh's reason for on-timeout.
    let mut silent = portshare.connect();
    assert_eq!(read_until_closed(&mut silent), b"timeout-backend");
    drop(silent);
    // Bytes every route refuses: to the last route, at once.
    let mut garbage = portshare.connect();
    let sent = Instant::now();
    garbage.write_all(b"\x00\x01garbage").unwrap();
    assert_eq!(read_until_closed(&mut garbage), b"last-backend");
    drop(garbage);
    assert!(
        sent.elapsed() < Duration::from_millis(300),
        "waited for the deadline"
    );
    // A whole opening still goes by its protocol.
    assert_eq!(exchange(portshare.0.addr, HTTP_REQUEST), b"http-backend");
    portshare.line_with(&["route=timeout", "up=2 "]);
    portshare.line_with(&["route=timeout", "up=0 "]);
    portshare.line_with(&["route=ssh", "up=9 "]);
}

#[test]
fn a_reload_changes_the_routes_of_new_connections_only() {
    let scratch = Scratch::new("reload");
    let echo = backend(echo);
    let first = named_backend("first");
    let second = named_backend("second");
    let control = scratch.path("control.sock");
    let pidfile = scratch.path("portshare.pid");
    let config =
        |backend: &str| format!("listen 127.0.0.1:0\nroute http1={echo}\nroute any={backend}\n");
    let file = scratch.write("portshare.conf", &config(&first));
    let portshare = Portshare(RunningExample::start(
        "portshare",
        &[
            "--config",
            &file,
            "--control",
            &control,
            "--pidfile",
            &pidfile,
        ],
    ));
    let pid = std::fs::read_to_string(&pidfile).unwrap();
    assert_eq!(pid.trim().parse::<u32>().unwrap(), portshare.0.child_id());
    assert_eq!(exchange(portshare.0.addr, b"x"), b"first");

    // A connection forwarded before the reload keeps every byte.
    let mut long_lived = portshare.connect();
    long_lived.write_all(HTTP_REQUEST).unwrap();
    let mut echoed = vec![0u8; HTTP_REQUEST.len()];
    long_lived.read_exact(&mut echoed).unwrap();

    // A changed file is read again.
    scratch.write("portshare.conf", &config(&second));
    portshare.line_with(&["portshare reloaded routes:", &second]);
    assert_eq!(exchange(portshare.0.addr, b"x"), b"second");
    long_lived.write_all(b"after the reload").unwrap();
    let mut more = [0u8; 16];
    long_lived.read_exact(&mut more).unwrap();
    assert_eq!(&more, b"after the reload");

    // A file with a mistake is refused; the routes in use stay.
    scratch.write(
        "portshare.conf",
        "listen 127.0.0.1:0\nroute gopher=127.0.0.1:70\n",
    );
    let output = run_to_end(&["--control", &control, "--reload"]);
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("unknown SPEC 'gopher'"),
        "{output:?}"
    );
    assert_eq!(exchange(portshare.0.addr, b"x"), b"second");

    // Fixed, and asked for through the control socket.
    std::fs::write(&file, config(&first)).unwrap();
    let output = run_to_end(&["--control", &control, "--reload"]);
    assert!(output.status.success(), "{output:?}");
    assert_eq!(exchange(portshare.0.addr, b"x"), b"first");
    long_lived.shutdown(Shutdown::Write).unwrap();
    assert_eq!(read_until_closed(&mut long_lived), b"");
    portshare.line_with(&[
        "route=http1",
        &format!("up={}", HTTP_REQUEST.len() + 16),
        "outcome=ok",
    ]);
}

#[test]
fn connections_forwarded_during_reloads_keep_every_byte() {
    let scratch = Scratch::new("reload-load");
    let echo = backend(echo);
    let control = scratch.path("control.sock");
    let config = |timeout: u32| {
        format!("listen 127.0.0.1:0\nroute http1={echo}\nroute any={echo}\ntimeout {timeout}\n")
    };
    let file = scratch.write("portshare.conf", &config(3000));
    let portshare = Portshare(RunningExample::start(
        "portshare",
        &["--config", &file, "--control", &control, "--quiet"],
    ));
    let addr = portshare.0.addr;
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let clients: Vec<_> = (0..4u64)
        .map(|seed| {
            let stop = std::sync::Arc::clone(&stop);
            thread::spawn(move || {
                let mut exchanges = 0;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    // Each client sends in pieces, so reloads land in the
                    // middle of its connections as well as between them.
                    let payload = random_bytes(64 * 1024, seed * 1000 + exchanges);
                    let mut client = connect(addr);
                    for piece in payload.chunks(16 * 1024) {
                        client.write_all(piece).unwrap();
                        thread::sleep(Duration::from_millis(2));
                    }
                    client.shutdown(Shutdown::Write).unwrap();
                    assert_eq!(
                        read_until_closed(&mut client),
                        payload,
                        "exchange {exchanges}"
                    );
                    exchanges += 1;
                }
                exchanges
            })
        })
        .collect();
    for round in 0..20 {
        // Alternately through the control socket and by changing the file.
        if round % 2 == 0 {
            let output = run_to_end(&["--control", &control, "--reload"]);
            assert!(output.status.success(), "{output:?}");
        } else {
            scratch.write("portshare.conf", &config(3000 + round));
        }
        thread::sleep(Duration::from_millis(50));
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let exchanges: u64 = clients.into_iter().map(|c| c.join().unwrap()).sum();
    assert!(exchanges >= 4, "only {exchanges} exchanges");
}

#[test]
fn idle_timeout_closes_a_connection_where_nothing_moves() {
    let echo = backend(echo);
    let portshare = Portshare::start(&["--idle-timeout", "300", "--route", &format!("any={echo}")]);
    let mut client = portshare.connect();
    // Bytes every 100 ms keep it open past the timeout.
    for _ in 0..6 {
        client.write_all(b"tick").unwrap();
        let mut echoed = [0u8; 4];
        client.read_exact(&mut echoed).unwrap();
        thread::sleep(Duration::from_millis(100));
    }
    // Then silence: both ends are closed.
    let quiet_from = Instant::now();
    assert_eq!(read_until_closed(&mut client), b"");
    assert!(
        quiet_from.elapsed() >= Duration::from_millis(200),
        "closed early"
    );
    portshare.line_with(&["up=24 down=24", "outcome=idle-timeout"]);
}

/// The body of `GET /metrics` from `addr`.
fn scrape(addr: &str) -> String {
    let mut client = connect(addr.parse().unwrap());
    client
        .write_all(b"GET /metrics HTTP/1.1\r\nHost: portshare\r\n\r\n")
        .unwrap();
    let reply = String::from_utf8(read_until_closed(&mut client)).unwrap();
    let (head, body) = reply.split_once("\r\n\r\n").expect("an HTTP reply");
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    body.to_owned()
}

#[test]
fn metrics_count_connections_by_route_and_outcome_and_logs_can_be_json() {
    let echo = backend(echo);
    let metrics = refusing_backend();
    let portshare = Portshare::start(&[
        "--metrics",
        &metrics,
        "--log-format",
        "json",
        "--route",
        &format!("tls={echo} name=web"),
        "--route",
        &format!("ssh={echo}"),
    ]);
    let hello = curl_client_hello();
    assert_eq!(exchange(portshare.0.addr, &hello), hello);
    assert_eq!(exchange(portshare.0.addr, b"GET / HTTP/1.1\r\n\r\n"), b"");
    let line = portshare.line_with(&["\"event\":\"connection\"", "\"route\":\"web\""]);
    for part in [
        "\"outcome\":\"ok\"",
        "\"sni\":\"api.example.net\"",
        "\"alpn\":[\"h2\",\"http/1.1\"]",
        &format!("\"up\":{}", hello.len()),
    ] {
        assert!(line.contains(part), "{part} in {line}");
    }
    portshare.line_with(&["\"outcome\":\"no-match\""]);
    let listener = portshare.0.addr.to_string();
    let body = scrape(&metrics);
    for sample in [
        format!(
            "portshare_connections_total{{listener=\"{listener}\",route=\"web\",outcome=\"ok\"}} 1"
        ),
        format!(
            "portshare_bytes_total{{listener=\"{listener}\",route=\"web\",direction=\"up\"}} {}",
            hello.len()
        ),
        format!("portshare_dropped_total{{listener=\"{listener}\",outcome=\"no-match\"}} 1"),
        format!("portshare_open_connections{{listener=\"{listener}\",route=\"web\"}} 0"),
        "portshare_sniff_duration_seconds_count{route=\"web\"} 1".to_owned(),
        "portshare_sniff_duration_seconds_count{route=\"-\"} 1".to_owned(),
    ] {
        assert!(
            body.lines().any(|line| line == sample),
            "{sample} in\n{body}"
        );
    }
}

#[test]
fn on_timeout_comes_before_a_catch_all_for_undecided_clients_as_in_sslh() {
    // sslh's example.cfg in small: ssh, a catch-all, and a timeout route.
    let ssh_backend = named_backend("ssh-backend");
    let catch_all = named_backend("catch-all");
    let timeout_backend = named_backend("timeout-backend");
    let portshare = Portshare::start(&[
        "--timeout",
        "300",
        "--route",
        &format!("ssh={ssh_backend}"),
        "--route",
        &format!("any={catch_all}"),
        "--route",
        &format!("timeout={timeout_backend}"),
        "--on-timeout",
        "timeout",
    ]);
    for opening in [&b""[..], b"SSH-2"] {
        let mut client = portshare.connect();
        client.write_all(opening).unwrap();
        assert_eq!(
            read_until_closed(&mut client),
            b"timeout-backend",
            "{opening:?}"
        );
    }
    assert_eq!(exchange(portshare.0.addr, b"\x00\x01"), b"catch-all");
    assert_eq!(exchange(portshare.0.addr, b"SSH-2.0-x\r\n"), b"ssh-backend");
}
