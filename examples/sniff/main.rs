//! Which protocol do these bytes open? A tour of connmux's matchers.
//!
//! `sniff` reads the first bytes a client sent (a capture file, or standard
//! input) and prints one line: the first route that takes them, with what
//! that protocol's parser finds in the bytes, or `nomatch`. Routes are
//! portshare's route specs, given with `--route` in portshare's order or,
//! by default, every protocol (`protocols::default_specs`), so the tool
//! says which route portshare would take.
//!
//! ```text
//! $ cargo run --example sniff -- tests/fixtures/tls13-openssl-sni-alpn.bin
//! match tls version=TLS1.3 sni=www.example.com alpn=h2,http/1.1
//! $ printf 'SSH-2.0-OpenSSH_9.2p1\r\n' | cargo run --example sniff
//! match ssh software=OpenSSH_9.2p1
//! ```
//!
//! It judges the bytes as connmux does once a connection's input has ended
//! (the client stopped sending, the sniff deadline passed, or the byte limit
//! was reached): the routes are tried in order and the first whose matcher
//! accepts the complete input wins. A PROXY protocol header in front of the
//! bytes is read and stripped first, as `ProxyMode::Optional` does.
//!
//! With `--explain` it also prints how connmux decides, route by route:
//! which route said what at which byte, and what ended the decision (a
//! `DecisionTrace`, as a multiplexer built with `trace_decisions(true)`
//! records for each connection). `--routes` takes a whole route table:
//! a portshare configuration file's `route` lines, or a list of specs.
//!
//! ```text
//! $ cargo run --example sniff -- --explain --routes 'ssh tls-sni:api.example.net http1' \
//!     tests/fixtures/tls-curl-https-sni.bin
//! match tls-sni:api.example.net version=TLS1.3 sni=api.example.net ...
//! explain: tls-sni:api.example.net took it, ended by a match after 517 bytes
//!   ssh NoMatch at byte 0
//!   tls-sni:api.example.net Match at byte 516
//!   http1 not asked
//! ```
//!
//! Files: `args.rs` is the command line, `protocols.rs` the routes and
//! what to print for each, `line.rs` the output format; the route specs
//! are portshare's own, `examples/shared/route_spec.rs`.

mod args;
mod line;
mod protocols;
#[path = "../shared/route_spec.rs"]
mod spec;

use std::fs::File;
use std::io::{self, Read};
use std::process::ExitCode;

use args::{parse_args, usage, Command, Input};
use protocols::{classify, explain, explanation, routes, MAX_INPUT_BYTES};

fn main() -> ExitCode {
    let (input, specs, explaining) = match parse_args(std::env::args_os().skip(1)) {
        Ok(Command::Sniff {
            input,
            specs,
            explain,
        }) => (input, specs, explain),
        Ok(Command::Help) => {
            print!("{}", usage());
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprintln!("sniff: {message}");
            eprintln!("Try --help for usage.");
            return ExitCode::from(2);
        }
    };
    match read_input(&input) {
        Ok(seen) => {
            let routes = routes(&specs);
            println!("{}", classify(&seen, &routes));
            if explaining {
                // A malformed PROXY header leaves nothing to explain: the
                // line says why.
                if let Some(trace) = explain(&seen, &specs) {
                    for line in explanation(&trace, &routes) {
                        println!("{line}");
                    }
                }
            }
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("sniff: cannot read {input}: {error}");
            ExitCode::from(2)
        }
    }
}

/// The first [`MAX_INPUT_BYTES`] of the input; a sniffer stops at its byte
/// limit too, so what lies beyond never changes the answer.
fn read_input(input: &Input) -> io::Result<Vec<u8>> {
    let source: Box<dyn Read> = match input {
        Input::Stdin => Box::new(io::stdin().lock()),
        Input::File(path) => Box::new(File::open(path)?),
    };
    let mut seen = Vec::new();
    source.take(MAX_INPUT_BYTES as u64).read_to_end(&mut seen)?;
    Ok(seen)
}
