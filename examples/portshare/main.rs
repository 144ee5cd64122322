//! portshare: an sslh-style port-sharing proxy built on connmux.
//!
//! It listens on TCP ports or UNIX sockets, sniffs each connection's first bytes,
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
//! How it is put together: the options come from the command line
//! ([`args`]) and a configuration file ([`config_file`]) and are checked
//! together ([`options`]). Each listener's thread accepts and hands the
//! connection to a `connmux::Mux` ([`listeners`]), which sniffs it and
//! serves it on the thread that sniffed it (an inline route,
//! [`session`]): that thread connects to the backend ([`backend`]) and
//! copies client to backend, while a thread from [`pool`] copies backend
//! to client ([`forward`]); the last to finish writes one log line
//! ([`log`]). A reload ([`reload`]) starts new multiplexers with the new
//! routes for new connections. The route specs ([`spec`]) are a file
//! shared with the sniff example, which names the route a capture would
//! take; [`fallback`] adds sslh's on-timeout and unmatched routes.
//! Connections no route takes are logged from the multiplexer's events.
//! Ctrl-C ends the process.

mod args;
mod backend;
mod config_file;
mod fallback;
mod forward;
mod limit;
mod listeners;
mod log;
mod metrics;
mod options;
mod pool;
mod proxy;
mod reload;
mod session;
mod socket;
#[path = "../shared/route_spec.rs"]
mod spec;
mod sslh;
mod unique_id;

use std::env;
use std::fs;
use std::net::TcpListener;
use std::process::ExitCode;
use std::thread;
use std::time::Duration;

use args::{parse_args, usage, Command, Loaded, Sources};
use listeners::{Plan, Server};
use options::{Config, ConfigError};
use proxy::Proxy;
use reload::Reloader;

/// Exit status for a wrong command line.
const EXIT_USAGE: u8 = 2;
/// Exit status for a wrong configuration file.
const EXIT_CONFIG: u8 = 3;

fn main() -> ExitCode {
    let command = match parse_args(env::args_os().skip(1)) {
        Ok(command) => command,
        Err(message) => return usage_error(&message),
    };
    match command {
        Command::Help => {
            print!("{}", usage());
            ExitCode::SUCCESS
        }
        Command::Reload(control) => match reload::request_reload(&control) {
            Ok(message) => {
                println!("portshare: {message}");
                ExitCode::SUCCESS
            }
            Err(message) => {
                eprintln!("portshare: reload: {message}");
                ExitCode::FAILURE
            }
        },
        Command::Check(sources) => match sources.load() {
            Ok(loaded) => {
                for notice in &loaded.notices {
                    println!("note: {notice}");
                }
                check(&loaded.config);
                ExitCode::SUCCESS
            }
            Err(error) => config_error(&error),
        },
        Command::Run(sources) => match sources.load() {
            Ok(loaded) => match run(loaded, sources) {
                Ok(()) => ExitCode::SUCCESS,
                Err(message) => {
                    eprintln!("portshare: {message}");
                    ExitCode::FAILURE
                }
            },
            Err(error) => config_error(&error),
        },
    }
}

fn usage_error(message: &str) -> ExitCode {
    eprintln!("portshare: {message}");
    eprintln!("Try 'portshare --help' for usage.");
    ExitCode::from(EXIT_USAGE)
}

/// A configuration that cannot run: a usage error if the command line
/// said it, else a configuration error.
fn config_error(error: &ConfigError) -> ExitCode {
    if !error.in_file {
        return usage_error(&error.message);
    }
    eprintln!("portshare: {}", error.message);
    ExitCode::from(EXIT_CONFIG)
}

/// `--check`: what the configuration would do, on standard output, after
/// the warnings: the configuration's and the route-table lint's.
fn check(config: &Config) {
    for warning in &config.warnings {
        println!("warning: {warning}");
    }
    // The multiplexers' routes: the on-timeout fallback first, the
    // configured ones, the unmatched fallback last; a fallback gives the
    // configured route it serves (a timeout route, say) its connections.
    let plan = Plan::of(config).routes();
    let first = usize::from(config.on_timeout.is_some());
    let configured = first..first + config.routes.len();
    let names: Vec<&str> = (0..plan.len())
        .map(|index| match index {
            index if configured.contains(&index) => config.routes[index - first].name.as_str(),
            0 => "on-timeout",
            _ => "unmatched-to-last",
        })
        .collect();
    let routes: Vec<&dyn connmux::Matcher> = plan.iter().map(|(m, _)| &**m).collect();
    let findings = connmux::lint::lint(&routes);
    let wins = |index: usize| {
        !findings
            .iter()
            .any(|f| f.never_wins() && f.route().index() == index)
    };
    let fed_by_fallback = |route: usize| {
        (0..plan.len())
            .any(|index| !configured.contains(&index) && plan[index].1 == route && wins(index))
    };
    for finding in &findings {
        let index = finding.route().index();
        let is_fed = finding.never_wins() && fed_by_fallback(plan[index].1);
        if configured.contains(&index) && !is_fed {
            println!("warning: {}", finding.named(&names));
        }
    }
    for listen in &config.listeners {
        match listen.max_conns {
            Some(max) => println!("listen {} max-conns={max}", listen.addr),
            None => println!("listen {}", listen.addr),
        }
    }
    for route in config.describe_routes() {
        println!("route {route}");
    }
}

/// Listens, routes and forwards until the process is stopped.
fn run(loaded: Loaded, sources: Sources) -> Result<(), String> {
    let Loaded { config, notices } = loaded;
    for notice in &notices {
        eprintln!("portshare: note: {notice}");
    }
    for warning in &config.warnings {
        eprintln!("portshare: warning: {warning}");
    }
    let pidfile = config.pidfile.clone();
    let metrics_addr = config.metrics;
    let routes = config.describe_routes();
    // Every thread reads these until the process ends: leaking them once
    // saves a reference count per connection.
    let proxy: &'static Proxy = Box::leak(Box::new(Proxy::new(&config)));
    let (server, listening) = Server::start(proxy, config).map_err(|error| error.to_string())?;
    let reloader: &'static Reloader = Box::leak(Box::new(Reloader::new(proxy, server, sources)));
    let control = reloader.sources_control();
    if let Some(path) = &control {
        reloader
            .serve_control(path)
            .map_err(|error| error.to_string())?;
    }
    reloader
        .watch_files()
        .map_err(|error| format!("cannot watch the configuration: {error}"))?;
    if let Some(addr) = metrics_addr {
        let listener = TcpListener::bind(addr)
            .map_err(|error| format!("cannot serve metrics on {addr}: {error}"))?;
        metrics::serve(listener, &proxy.metrics)
            .map_err(|error| format!("cannot serve metrics: {error}"))?;
    }
    if let Some(path) = &pidfile {
        fs::write(path, format!("{}\n", std::process::id()))
            .map_err(|error| format!("cannot write the pid file {}: {error}", path.display()))?;
    }
    proxy.log.startup(&listening, &routes);
    // The listeners' threads serve; this one has nothing left to do.
    loop {
        thread::park_timeout(Duration::from_secs(3600));
    }
}
