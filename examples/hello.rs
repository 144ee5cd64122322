//! The smallest connmux program: HTTP/1 and an echo service on one port.
//!
//! ```text
//! cargo run --example hello                     # a free port on 127.0.0.1
//! cargo run --example hello -- 127.0.0.1:7000   # or the address given
//! curl http://ADDR/                             # "hello from connmux"
//! printf 'hi\n' | nc -q1 HOST PORT              # anything else: echoed back
//! ```
//!
//! Its first line says where it listens: `listening on ADDR`.

use std::io::{self, BufRead, BufReader, Write};
use std::net::TcpListener;
use std::thread;

use connmux::{matchers, Listener, Mux, PeekableStream};

fn main() -> io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:0".into());
    let mut mux = Mux::new(TcpListener::bind(addr)?)?;
    // Most specific first: the catch-all gets what HTTP/1 ruled out.
    let http = mux.route(matchers::http1_fast());
    let other = mux.route(matchers::any());
    println!("listening on {}", mux.local_addr()?);

    spawn_route(http, answer_http);
    spawn_route(other, echo);
    Ok(mux.serve()?)
}

/// Accepts a route's connections like a `TcpListener`'s: a thread each.
fn spawn_route(route: Listener, serve: fn(PeekableStream) -> io::Result<()>) {
    thread::spawn(move || {
        for stream in route.incoming().flatten() {
            thread::spawn(move || serve(stream));
        }
    });
}

const RESPONSE: &[u8] =
    b"HTTP/1.1 200 OK\r\nContent-Length: 19\r\nConnection: close\r\n\r\nhello from connmux\n";

/// Reads the request head, from its first byte (connmux replays what it
/// sniffed), to the empty line that ends it; then answers.
fn answer_http(stream: PeekableStream) -> io::Result<()> {
    let mut request = BufReader::new(stream);
    for line in (&mut request).lines() {
        if line?.is_empty() {
            break;
        }
    }
    request.get_mut().write_all(RESPONSE)
}

/// Echoes every byte back, the sniffed ones first, until the client stops.
fn echo(mut stream: PeekableStream) -> io::Result<()> {
    io::copy(&mut stream.try_clone()?, &mut stream)?;
    Ok(())
}
