//! A load-test server for benches/loopback.sh: connmux with inline routes
//! against the thread-per-connection server it is meant to beat, running
//! the same handlers.
//!
//! ```text
//! $ cargo run --release --example bench_server -- --mode mux --addr 127.0.0.1:0
//! addr=127.0.0.1:40123 pid=4242
//! ```
//!
//! In `mux` mode the routes are, in order: the HTTP/2 preface and the
//! HTTP/1 methods (`http1_fast`) to the mini-HTTP handler, `SINK` to a
//! handler that discards everything (for the bulk transfer), anything else
//! to an echo. Every route is `route_inline`: the sniffer thread that
//! matched a connection serves it, with no queue and no second thread. In
//! `raw` mode a plain `TcpListener` starts one thread per connection. The
//! same binary holds the load clients that wrk and curl cannot play
//! (`--mode idle`, `--mode send`).
//!
//! Files: `args.rs` is the command line, `http.rs` the handlers,
//! `clients.rs` the load clients.

mod args;
mod clients;
mod http;

use std::io::{self, Write};
use std::net::{SocketAddr, TcpListener};
use std::process::ExitCode;
use std::thread;
use std::time::Duration;

use connmux::{matchers, Event, Mux};

use args::{parse_args, Args, ArgsError, Mode, USAGE};
use http::{echo, serve_http, serve_raw, sink, SINK_PREFIX};

/// Longer than any phase of the load test, so idle connections stay in
/// their sniff while they are measured (the first-byte timeout too).
const SNIFF_DEADLINE: Duration = Duration::from_secs(600);

/// Enough for the matchers routed here and the handlers' 4 KiB buffers.
const SNIFFER_STACK_SIZE: usize = 64 * 1024;

/// How long the thread-per-connection server waits after a failed accept
/// (out of descriptors, say) before it tries again.
const ACCEPT_RETRY: Duration = Duration::from_millis(10);

fn main() -> ExitCode {
    let args = match parse_args(std::env::args().skip(1)) {
        Ok(args) => args,
        Err(ArgsError::Help) => {
            print!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(error) => {
            eprintln!("bench_server: {error}\nTry --help for usage.");
            return ExitCode::from(2);
        }
    };
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("bench_server: {error}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: &Args) -> io::Result<()> {
    match args.mode {
        Mode::Mux => serve_mux(&args.addr, args.max_connections),
        Mode::Raw => serve_thread_per_connection(&args.addr),
        Mode::Idle => clients::hold_idle(&args.addr, args.count),
        Mode::Send => clients::send(&args.addr, args.bytes),
    }
}

/// Prints where the server listens and who it is, for the script.
fn announce(addr: SocketAddr) -> io::Result<()> {
    let mut stdout = io::stdout();
    writeln!(stdout, "addr={addr} pid={}", std::process::id())?;
    stdout.flush()
}

/// Serves with room for `max_connections` open connections, all sniffing
/// at once, all from loopback (no per-address limit): the load test's
/// idle connections are silent, and the fresh request measured beside
/// them must still be accepted.
fn serve_mux(addr: &str, max_connections: usize) -> io::Result<()> {
    let mut mux = Mux::builder()
        .max_concurrent_sniffs(max_connections)
        .max_sniffs_per_source(None)
        .max_connections(max_connections)
        .sniff_deadline(Some(SNIFF_DEADLINE))
        .first_byte_timeout(Some(SNIFF_DEADLINE))
        .sniffer_stack_size(SNIFFER_STACK_SIZE)
        .build(TcpListener::bind(addr)?)?;
    mux.route_inline(matchers::http2_preface(), |mut stream, _| {
        serve_http(&mut stream)
    });
    mux.route_inline(matchers::http1_fast(), |mut stream, _| {
        serve_http(&mut stream)
    });
    mux.route_inline(matchers::prefixes([SINK_PREFIX]), |mut stream, _| {
        sink(&mut stream)
    });
    mux.route_inline(matchers::any(), |mut stream, _| echo(&mut stream));
    // The script looks for these: a wait at the thread ceiling or on a
    // failed accept explains an idle phase that stops short.
    mux.on_event(|event| {
        if let Event::ThreadCeiling { .. } | Event::AcceptFailed { .. } = event {
            eprintln!("event: {event}");
        }
    });
    announce(mux.local_addr()?)?;
    mux.serve().map_err(io::Error::other)
}

fn serve_thread_per_connection(addr: &str) -> io::Result<()> {
    let listener = TcpListener::bind(addr)?;
    announce(listener.local_addr()?)?;
    for stream in listener.incoming() {
        match stream {
            Ok(mut stream) => {
                // A thread that cannot start drops its connection, as a
                // server out of threads would.
                let _ = thread::Builder::new().spawn(move || serve_raw(&mut stream));
            }
            Err(_) => thread::sleep(ACCEPT_RETRY),
        }
    }
    Ok(())
}
