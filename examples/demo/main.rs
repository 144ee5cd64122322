//! A small server that speaks four protocols on one TCP port.
//!
//! One `connmux::Mux` sniffs each connection and routes it, in this order,
//! to an HTTP/2 (prior knowledge) handler, an HTTP/1 handler, a TLS handler
//! that reports the ClientHello and refuses the handshake, and a catch-all
//! echo handler. Every handler is plain blocking `std::io` on its own
//! thread, and each reads its connection from the very first byte, as if
//! it owned the port: the bytes connmux sniffed are replayed to it.
//!
//! Run it with
//!
//! ```text
//! cargo run --example demo                          # listens on 127.0.0.1:7000
//! cargo run --example demo -- --addr 127.0.0.1:0    # any free port
//! ```
//!
//! and try the `curl` and `nc` lines it prints. Connections that never
//! reach a handler are reported on stderr as `event:` lines.

mod args;
mod conn;
mod echo;
mod http1;
mod http2;
mod tls;

use std::env;
use std::io;
use std::net::{SocketAddr, TcpListener};
use std::process::ExitCode;
use std::thread;

use connmux::{matchers, Listener, Mux, PeekableStream};

use args::{parse_args, Command, USAGE};
use conn::is_timeout;
use echo::serve_echo;
use http1::serve_http1;
use http2::serve_http2;
use tls::serve_tls;

/// What a handler does with one connection; it owns the stream and closes
/// it by dropping it.
type Handler = fn(PeekableStream, SocketAddr) -> io::Result<()>;

fn main() -> ExitCode {
    let addr = match parse_args(env::args_os().skip(1)) {
        Ok(Command::Serve(addr)) => addr,
        Ok(Command::Help) => {
            print!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprintln!("demo: {message}");
            eprintln!("Try --help for usage.");
            return ExitCode::from(2);
        }
    };
    match run(&addr) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("demo: {error}");
            ExitCode::FAILURE
        }
    }
}

fn run(addr: &SocketAddr) -> io::Result<()> {
    let listener = TcpListener::bind(addr).map_err(|error| {
        io::Error::new(error.kind(), format!("cannot listen on {addr}: {error}"))
    })?;
    let mut mux = Mux::new(listener)?;
    // Most specific first: a route only wins once every earlier one has
    // ruled the connection out, so the catch-all must come last.
    let http2 = mux.route(matchers::http2_preface());
    let http1 = mux.route(matchers::http1_fast());
    let tls = mux.route(matchers::tls());
    let other = mux.route(matchers::any());
    mux.on_event(|event| eprintln!("event: {event}"));

    print_banner(mux.local_addr()?);
    spawn_route("HTTP/2", http2, serve_http2)?;
    spawn_route("HTTP/1", http1, serve_http1)?;
    spawn_route("TLS", tls, serve_tls)?;
    spawn_route("echo", other, serve_echo)?;
    // Blocks until accepting fails for good; Ctrl-C ends the process.
    Ok(mux.serve()?)
}

fn print_banner(addr: SocketAddr) {
    let (ip, port) = (addr.ip(), addr.port());
    println!("connmux demo listening on {addr}");
    println!("  HTTP/1.1:      curl http://{addr}/hello");
    println!("  HTTP/2:        curl --http2-prior-knowledge http://{addr}/hello");
    println!("  TLS:           curl -k https://{addr}/   (reported, then closed)");
    println!("  anything else: printf 'hi\\n' | nc -q1 {ip} {port}   (echoed back)");
    println!("Ctrl-C to stop.");
}

/// Starts the thread that accepts one route's connections.
fn spawn_route(protocol: &'static str, listener: Listener, handler: Handler) -> io::Result<()> {
    thread::Builder::new()
        .name(format!("{protocol} accept"))
        .spawn(move || accept_connections(protocol, &listener, handler))?;
    Ok(())
}

/// Gives each connection a thread of its own, so that one slow client
/// does not hold up the others on its route.
fn accept_connections(protocol: &'static str, listener: &Listener, handler: Handler) {
    // `accept` (rather than `incoming`) hands over the peer's address as
    // the sniffer saw it, even if the client has reset since.
    while let Ok((stream, peer)) = listener.accept() {
        let spawned = thread::Builder::new()
            .name(format!("{protocol} {peer}"))
            .spawn(move || {
                if let Err(error) = handler(stream, peer) {
                    eprintln!(
                        "{peer}  {protocol}  connection closed: {}",
                        describe(&error)
                    );
                }
            });
        if let Err(error) = spawned {
            eprintln!("{peer}  {protocol}  no thread to serve it, closed: {error}");
        }
    }
}

/// An error as the log should say it: for a timed-out read the OS message
/// ("Resource temporarily unavailable") would only confuse.
fn describe(error: &io::Error) -> String {
    if is_timeout(error) {
        "the client went quiet for too long".into()
    } else {
        error.to_string()
    }
}
