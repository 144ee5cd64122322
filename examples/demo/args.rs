//! The command line: where to listen, or a request for help.

use std::ffi::OsString;
use std::net::{SocketAddr, ToSocketAddrs};

const DEFAULT_ADDR: &str = "127.0.0.1:7000";

pub(crate) const USAGE: &str = "\
Usage: cargo run --example demo -- [--addr ADDR]

Serves HTTP/1.1, HTTP/2 (prior knowledge), TLS (reported, then refused)
and a TCP echo on one port, routed by connmux.

Options:
  --addr ADDR   address to listen on (default 127.0.0.1:7000;
                port 0 picks a free port)
  -h, --help    print this help
";

/// What the command line asks for.
pub(crate) enum Command {
    Serve(SocketAddr),
    Help,
}

/// The command, or a message saying what is wrong with the arguments.
pub(crate) fn parse_args(args: impl Iterator<Item = OsString>) -> Result<Command, String> {
    let mut addr = DEFAULT_ADDR.to_string();
    let mut args = args.map(|arg| {
        arg.into_string()
            .map_err(|arg| format!("argument {arg:?} is not valid UTF-8"))
    });
    while let Some(arg) = args.next() {
        let arg = arg?;
        match arg.as_str() {
            "-h" | "--help" => return Ok(Command::Help),
            "--addr" => match args.next() {
                Some(value) => addr = value?,
                None => return Err("--addr needs a value, such as 127.0.0.1:7000".into()),
            },
            _ => match arg.strip_prefix("--addr=") {
                Some(value) => addr = value.to_string(),
                None => return Err(format!("unexpected argument '{arg}'")),
            },
        }
    }
    resolve(&addr).map(Command::Serve)
}

/// Resolves `addr` here, so that a typo is reported as a usage error
/// rather than as a failure to listen.
fn resolve(addr: &str) -> Result<SocketAddr, String> {
    let invalid = |why: String| format!("invalid --addr '{addr}': {why} (expected HOST:PORT)");
    addr.to_socket_addrs()
        .map_err(|error| invalid(error.to_string()))?
        .next()
        .ok_or_else(|| invalid("it resolves to no address".into()))
}
