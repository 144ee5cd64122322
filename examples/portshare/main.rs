//! portshare: an sslh-style port-sharing proxy built on connmux.
//!
//! It listens on one TCP port, sniffs each connection's first bytes,
//! picks the first route whose protocol matches (HTTP/1, HTTP/2, gRPC,
//! WebSocket, TLS by SNI or ALPN, SSH, SOCKS, Redis, PostgreSQL, MQTT, a
//! silent client, anything) and forwards the connection, sniffed bytes
//! first, to that route's backend over TCP or a UNIX socket.
//!
//! ```text
//! cargo run --release --example portshare -- --listen 0.0.0.0:443 \
//!     --route ssh=127.0.0.1:22 --route tls=127.0.0.1:8443
//! cargo run --example portshare -- --help
//! ```
//!
//! How it is put together: `connmux::Mux` accepts and sniffs, and serves
//! each matched connection on the thread that sniffed it (an inline
//! route, [`session`]): that thread connects to the backend ([`backend`])
//! and copies client to backend, while a thread from [`pool`] copies
//! backend to client ([`forward`]); the last to finish writes one log line
//! ([`log`]). The route specs ([`spec`]) are a file shared with the
//! sniff example, which names the route a capture would take.
//! Connections no route takes are logged from the multiplexer's events.
//! Ctrl-C ends the process.

mod args;
mod backend;
mod forward;
mod limit;
mod log;
mod metrics;
mod pool;
mod proxy;
mod session;
mod socket;
#[path = "../shared/route_spec.rs"]
mod spec;
mod unique_id;

use std::env;
use std::io;
use std::net::TcpListener;
use std::process::ExitCode;

use connmux::Mux;

use args::{parse_args, usage, Command, Config};
use proxy::Proxy;

fn main() -> ExitCode {
    let config = match parse_args(env::args_os().skip(1)) {
        Ok(Command::Run(config)) => config,
        Ok(Command::Help) => {
            print!("{}", usage());
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprintln!("portshare: {message}");
            eprintln!("Try 'portshare --help' for usage.");
            return ExitCode::from(2);
        }
    };
    match run(config) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("portshare: {error}");
            ExitCode::FAILURE
        }
    }
}

/// Listens, routes and forwards until accepting fails for good.
fn run(config: Config) -> io::Result<()> {
    let listener = TcpListener::bind(config.listen).map_err(|error| {
        io::Error::new(
            error.kind(),
            format!("cannot listen on {}: {error}", config.listen),
        )
    })?;
    let mut mux = Mux::builder()
        .sniff_deadline(Some(config.sniff_deadline))
        .max_sniff_bytes(config.max_sniff_bytes)
        .proxy_protocol(config.accept_proxy)
        .trusted_proxies(config.trusted_proxies.clone())
        .build(listener)?;
    let matchers: Vec<_> = config
        .routes
        .iter()
        .map(|route| route.spec.matcher(config.silence))
        .collect();
    // Every thread reads this until the process ends: leaking it once
    // saves a reference count per connection.
    let listen = mux.local_addr()?;
    let proxy: &'static Proxy = Box::leak(Box::new(Proxy::new(config, listen)));
    for (route, matcher) in proxy.routes.iter().zip(matchers) {
        mux.route_inline(matcher, move |stream, peer| {
            session::serve(proxy, route, stream, peer)
        });
    }
    mux.on_event(move |event| proxy.log.event(event, &proxy.routes, &proxy.listen));
    proxy.log.startup(listen, &proxy.routes);
    Ok(mux.serve()?)
}
