//! The command line: which server or load client to run, and where.

use std::fmt;

/// The help text.
pub(crate) const USAGE: &str = "\
Usage: cargo run --release --example bench_server -- --mode MODE [options]

Servers (print 'addr=ADDR pid=PID' on one line, then nothing more; the mux
server reports on standard error when it waits at the thread ceiling or
after a failed accept):
  --mode mux    connmux: HTTP/2 preface and HTTP/1 methods to the mini-HTTP
                handler, 'SINK' to a discarding handler, anything else to
                echo; every route served inline on its sniffer thread
  --mode raw    a plain TcpListener and one thread per connection running
                the same handlers (a connection starting with 'SINK' is
                discarded, any other is mini-HTTP)

Load clients for benches/loopback.sh:
  --mode idle   opens --count connections that send nothing, prints
                'held N', then holds them until killed
  --mode send   sends 'SINK' and --bytes zero bytes on one connection, waits
                for the server to close, prints 'bytes=N seconds=S MBps=R'

Options:
  --addr ADDR   address to listen on or connect to (default 127.0.0.1:0)
  --max-connections N
                mux server: connections it may hold open and sniff at once
                (default 20000)
  --count N     idle connections to hold (default 10000)
  --bytes N     bytes to send (default 4294967296)
  -h, --help    print this help
";

/// What to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    Mux,
    Raw,
    Idle,
    Send,
}

/// The parsed command line.
#[derive(Debug, Clone)]
pub(crate) struct Args {
    pub(crate) mode: Mode,
    pub(crate) addr: String,
    pub(crate) max_connections: usize,
    pub(crate) count: usize,
    pub(crate) bytes: u64,
}

/// Why the command line was not run.
#[derive(Debug)]
pub(crate) enum ArgsError {
    Help,
    Invalid(String),
}

impl fmt::Display for ArgsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ArgsError::Help => f.write_str("help requested"),
            ArgsError::Invalid(message) => f.write_str(message),
        }
    }
}

/// Parses `args` (without the program name).
pub(crate) fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Args, ArgsError> {
    let mut mode = None;
    let mut parsed = Args {
        mode: Mode::Mux,
        addr: "127.0.0.1:0".to_owned(),
        max_connections: 20_000,
        count: 10_000,
        bytes: 4 << 30,
    };
    while let Some(arg) = args.next() {
        if arg == "-h" || arg == "--help" {
            return Err(ArgsError::Help);
        }
        let mut value = || {
            args.next()
                .ok_or_else(|| ArgsError::Invalid(format!("{arg} needs a value")))
        };
        match arg.as_str() {
            "--mode" => {
                mode = Some(match value()?.as_str() {
                    "mux" => Mode::Mux,
                    "raw" => Mode::Raw,
                    "idle" => Mode::Idle,
                    "send" => Mode::Send,
                    other => return Err(ArgsError::Invalid(format!("unknown mode '{other}'"))),
                })
            }
            "--addr" => parsed.addr = value()?,
            "--max-connections" => parsed.max_connections = number(&arg, &value()?)?,
            "--count" => parsed.count = number(&arg, &value()?)?,
            "--bytes" => parsed.bytes = number(&arg, &value()?)?,
            other => return Err(ArgsError::Invalid(format!("unknown option '{other}'"))),
        }
    }
    parsed.mode = mode.ok_or_else(|| ArgsError::Invalid("--mode is required".to_owned()))?;
    Ok(parsed)
}

fn number<T: std::str::FromStr>(option: &str, value: &str) -> Result<T, ArgsError> {
    value
        .parse()
        .map_err(|_| ArgsError::Invalid(format!("{option}: '{value}' is not a number")))
}
