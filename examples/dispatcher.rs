//! Your own accept loop with connmux's routing: a `Dispatcher`.
//!
//! Worker threads accept on the program's own `TcpListener` and give each
//! connection to `Dispatcher::dispatch`, which sniffs it on the worker's
//! thread, then runs the inline route's handler right there (HTTP/1),
//! queues it for a route's `Listener` (lines starting `ECHO`), or closes it
//! and returns why as an `Err(DropReason)` (anything else).
//!
//! ```text
//! cargo run --example dispatcher                     # a free port on 127.0.0.1
//! cargo run --example dispatcher -- 127.0.0.1:7000   # or the address given
//! curl http://ADDR/hi                                # answered inline
//! printf 'ECHO hi\n' | nc -q1 HOST PORT              # queued, echoed back
//! printf 'HELO\n' | nc -q1 HOST PORT                 # closed: "no route matched"
//! ```
//!
//! It prints `listening on ADDR`, then a line for each connection.

use std::io::{self, BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener};
use std::thread;
use std::time::Duration;

use connmux::{matchers, Dispatcher, Mux, PeekableStream, RouteId};

/// How many connections are sniffed, or served inline, at once.
const WORKERS: usize = 4;

fn main() -> io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:0".into());
    let listener = TcpListener::bind(addr)?;
    // A Mux needs a source, but accepts from it only in `serve`, which
    // this program never calls: a channel nobody feeds will do (not a
    // clone of `listener`: on Linux, shutting the Mux down would shut the
    // shared socket down). Dropping the Mux stops its dispatchers: it
    // lives until `main` returns.
    let (_unfed, source) = connmux::channel(listener.local_addr()?, 1);
    let mut mux = Mux::new(source)?;
    // Short requests: answered on the worker that sniffed them.
    let http = mux.route_inline(matchers::http1_fast(), answer_http);
    // Echo sessions last as long as the client likes: queued, so the
    // worker is free again at once.
    let echo = mux.route(matchers::prefixes(["ECHO"]));
    let dispatcher = mux.dispatcher(); // fixes the routes: register them first
    println!("listening on {}", listener.local_addr()?);

    for _ in 0..WORKERS {
        let (listener, dispatcher) = (listener.try_clone()?, dispatcher.clone());
        thread::spawn(move || accept_loop(&listener, &dispatcher, http));
    }
    // The queued route is served as a `TcpListener` would be.
    for stream in echo.incoming().flatten() {
        thread::spawn(move || echo_back(stream));
    }
    Ok(())
}

fn accept_loop(listener: &TcpListener, dispatcher: &Dispatcher, http: RouteId) {
    loop {
        let (conn, peer) = match listener.accept() {
            Ok(accepted) => accepted,
            Err(error) => {
                // Out of file descriptors, say: retrying at once would spin.
                eprintln!("accept failed: {error}");
                thread::sleep(Duration::from_millis(100));
                continue;
            }
        };
        match dispatcher.dispatch(conn, peer) {
            Ok(route) if route == http => println!("{peer}  HTTP/1: answered inline"),
            Ok(_) => println!("{peer}  ECHO: queued for the echo route"),
            // Already closed, counted and reported to `Mux::on_event`; the
            // reason is an enum to match on (NotMatched, TimedOut, ...).
            Err(reason) => println!("{peer}  closed: {reason}"),
        }
    }
}

/// The inline route's handler: it runs on the worker that sniffed the
/// connection, before `dispatch` returns, so it must not take long.
fn answer_http(stream: PeekableStream, _peer: SocketAddr) {
    // The stream knows the request line from the bytes the sniff read.
    let request_line = stream.http1_request().map(|request| request.to_string());
    let body = format!("{} answered inline\n", request_line.unwrap_or_default());
    let mut request = BufReader::new(stream);
    // Read the head, to the empty line that ends it, before answering.
    let head_read = (&mut request)
        .lines()
        .map_while(Result::ok)
        .any(|line| line.is_empty());
    if head_read {
        // A handler has nobody to report to: a failed write ends the connection.
        let _ = write!(
            request.get_mut(),
            "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
    }
}

/// Echoes every byte back, the sniffed ones first, until the client stops.
fn echo_back(mut stream: PeekableStream) -> io::Result<u64> {
    io::copy(&mut stream.try_clone()?, &mut stream)
}
