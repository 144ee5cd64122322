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
use protocols::{classify, routes, MAX_INPUT_BYTES};

fn main() -> ExitCode {
    let (input, specs) = match parse_args(std::env::args_os().skip(1)) {
        Ok(Command::Sniff(input, specs)) => (input, specs),
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
            println!("{}", classify(&seen, &routes(&specs)));
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
