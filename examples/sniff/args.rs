//! The command line: a capture file, standard input, or a request for help.

use std::ffi::OsString;
use std::fmt;
use std::path::PathBuf;

use crate::protocols::{protocol_names, MAX_INPUT_BYTES};

/// The help text.
pub(crate) fn usage() -> String {
    format!(
        "\
Usage: cargo run --example sniff -- [FILE]

Reads the first bytes a client sent (FILE, or standard input when FILE is
absent or '-') and prints one line: the protocol connmux's built-in
matchers recognise, tried in the order
  {order}
with the facts its parser reads from the bytes, or 'nomatch'. A PROXY
protocol header in front is read and stripped first; its addresses come
before the protocol's facts.

  match NAME [key=value ...]
  nomatch [key=value ...]
  nomatch proxy_error=\"...\"      (a malformed PROXY header)

A value is written bare when it is non-empty printable ASCII without
spaces, quotes or backslashes; otherwise it is in double quotes, with
\\\" \\' \\\\ \\t \\r \\n and \\xNN escapes (Rust's escape_ascii).

Example:
  $ cargo run --example sniff -- tests/fixtures/proxy-v1-haproxy.bin
  match http1 proxy_src=127.0.0.1:45782 proxy_dst=127.0.0.1:40843 method=GET host=proxied target=/ version=HTTP/1.1

Exits 0 when it printed a line (match or nomatch), 2 when the arguments are
wrong or the input cannot be read. At most {max_input_kib} KiB of input are read.

Options:
  -h, --help    print this help
",
        order = protocol_names().join(", "),
        max_input_kib = MAX_INPUT_BYTES / 1024,
    )
}

/// What the command line asks for.
pub(crate) enum Command {
    Sniff(Input),
    Help,
}

/// Where the client's bytes come from.
pub(crate) enum Input {
    Stdin,
    File(PathBuf),
}

impl fmt::Display for Input {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Input::Stdin => f.write_str("standard input"),
            Input::File(path) => write!(f, "'{}'", path.display()),
        }
    }
}

/// The command, or a message saying what is wrong with the arguments.
pub(crate) fn parse_args(args: impl Iterator<Item = OsString>) -> Result<Command, String> {
    let mut input = None;
    for arg in args {
        if arg == "-h" || arg == "--help" {
            return Ok(Command::Help);
        }
        let next = if arg == "-" {
            Input::Stdin
        } else if arg.to_string_lossy().starts_with('-') {
            return Err(format!("unknown option '{}'", arg.to_string_lossy()));
        } else {
            Input::File(arg.into())
        };
        if input.replace(next).is_some() {
            return Err("give at most one FILE".into());
        }
    }
    Ok(Command::Sniff(input.unwrap_or(Input::Stdin)))
}
