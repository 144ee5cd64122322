//! The command line: routes to try, a capture file or standard input,
//! whether to explain the decision, or a request for help.

use std::ffi::OsString;
use std::fmt;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use crate::protocols::{default_specs, MAX_INPUT_BYTES};
use crate::spec::{RouteSpec, SPEC_HELP};

/// The help text.
pub(crate) fn usage() -> String {
    let default_order: Vec<String> = default_specs().iter().map(ToString::to_string).collect();
    format!(
        "\
Usage: cargo run --example sniff -- [--explain] [--route SPEC ...] [--routes LIST|CONFIG] [FILE]

Reads the first bytes a client sent (FILE, or standard input when FILE is
absent or '-') and prints one line: the first route whose SPEC matches
them, as portshare routes a connection whose input has ended, with the
facts its parser reads from the bytes, or 'nomatch'. A PROXY protocol
header in front is read and stripped first; its addresses come before the
protocol's facts.

Routes are tried in the order given, as portshare's are; 'SPEC=BACKEND' is
taken too and the BACKEND ignored, so portshare's --route options can be
pasted. Without --route, the routes are
  {default_order}
An empty input is a client that stayed silent: a silence route takes it.
Routes by address (from:, to:) see the addresses of the capture's PROXY
header; a capture without one has none.

--routes takes a whole route table at once: the 'route' lines of a
portshare configuration file, when its value names a file (other lines are
skipped), or else a list of SPECs separated by spaces (a comma ending a
word is dropped: 'ssh, tls-sni:api.example.net, http1' reads as three
routes). It checks a capture against the configuration you deploy.

--explain prints, after the line, how connmux decides (DecisionTrace):
  explain: ROUTE took it, ended by WHAT after N bytes[, waiting on ROUTE]
  ROUTE Match|NoMatch at byte N    the byte at offset N settled the verdict
  ROUTE Match|NoMatch at the end (N bytes)
                                   undecided until the input ended: its
                                   answer about the input as complete
  ROUTE Match before any byte      decided on no bytes (any, from:, to:)
  ROUTE not asked                  after the winner, or behind a route
                                   that held the decision up to the end
Offsets count from the first byte after a PROXY header.

SPEC:
{SPEC_HELP}
The line:
  match ROUTE [key=value ...]
  nomatch [key=value ...]
  nomatch proxy_error=\"...\"      (a malformed PROXY header)

ROUTE is the SPEC as written (tls-sni:*.example.com), as portshare logs it.
A value is written bare when it is non-empty printable ASCII without
spaces, quotes or backslashes; otherwise it is in double quotes, with
\\\" \\' \\\\ \\t \\r \\n and \\xNN escapes (Rust's escape_ascii).

Examples:
  $ cargo run --example sniff -- --explain --routes 'ssh tls-sni:api.example.net http1' tests/fixtures/tls-curl-https-sni.bin
  $ cargo run --example sniff -- --explain --routes portshare.conf capture.bin
  $ cargo run --example sniff -- tests/fixtures/proxy-v1-haproxy.bin
  match http1 proxy_src=127.0.0.1:45782 proxy_dst=127.0.0.1:40843 method=GET host=proxied target=/ version=HTTP/1.1
  $ cargo run --example sniff -- --route ssh=127.0.0.1:22 --route any=127.0.0.1:80 capture.bin

Exits 0 when it printed a line (match or nomatch), 2 when the arguments are
wrong or the input cannot be read. At most {max_input_kib} KiB of input are read.

Options:
  --route SPEC            a route to try; repeat for more, in order
  --routes LIST|CONFIG    routes to try, in order: a portshare configuration
                          file's route lines, or SPECs separated by spaces
  --explain               print how each route decided, and what ended it
  -h, --help              print this help
",
        default_order = default_order.join(", "),
        max_input_kib = MAX_INPUT_BYTES / 1024,
    )
}

/// What the command line asks for.
pub(crate) enum Command {
    /// Classify the input with these routes, and explain the decision if
    /// asked.
    Sniff {
        input: Input,
        specs: Vec<RouteSpec>,
        explain: bool,
    },
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
pub(crate) fn parse_args(mut args: impl Iterator<Item = OsString>) -> Result<Command, String> {
    let mut input = None;
    let mut specs = Vec::new();
    let mut explain = false;
    while let Some(arg) = args.next() {
        if arg == "-h" || arg == "--help" {
            return Ok(Command::Help);
        }
        if arg == "--explain" {
            explain = true;
            continue;
        }
        let text = arg.to_string_lossy();
        if let Some(routes) = text.strip_prefix("--routes") {
            let routes = match routes.strip_prefix('=') {
                Some(routes) => routes.to_owned(),
                None if routes.is_empty() => args
                    .next()
                    .ok_or("--routes needs a value")?
                    .to_string_lossy()
                    .into_owned(),
                None => return Err(format!("unknown option '{text}'")),
            };
            specs.extend(parse_routes(&routes)?);
            continue;
        }
        if let Some(route) = text.strip_prefix("--route") {
            let route = match route.strip_prefix('=') {
                Some(route) => route.to_owned(),
                None if route.is_empty() => args
                    .next()
                    .ok_or("--route needs a value")?
                    .to_string_lossy()
                    .into_owned(),
                None => return Err(format!("unknown option '{text}'")),
            };
            specs.push(parse_route(&route)?);
            continue;
        }
        let next = if arg == "-" {
            Input::Stdin
        } else if text.starts_with('-') {
            return Err(format!("unknown option '{text}'"));
        } else {
            Input::File(arg.into())
        };
        if input.replace(next).is_some() {
            return Err("give at most one FILE".into());
        }
    }
    if specs.is_empty() {
        specs = default_specs();
    }
    Ok(Command::Sniff {
        input: input.unwrap_or(Input::Stdin),
        specs,
        explain,
    })
}

/// The largest configuration file read: portshare's own limit.
const MAX_CONFIG_BYTES: u64 = 1024 * 1024;

/// The routes of `--routes VALUE`: a portshare configuration file's
/// `route` lines when VALUE names a file, else SPECs separated by spaces.
fn parse_routes(value: &str) -> Result<Vec<RouteSpec>, String> {
    let routes: Vec<String> = if Path::new(value).is_file() {
        config_routes(Path::new(value))?
    } else {
        value
            .split_whitespace()
            .map(|word| word.strip_suffix(',').unwrap_or(word).to_owned())
            .collect()
    };
    if routes.is_empty() {
        return Err(format!("--routes '{value}' names no route"));
    }
    routes.iter().map(|route| parse_route(route)).collect()
}

/// The `route` lines' `SPEC=BACKEND` of the portshare configuration file
/// at `path` (`route SPEC=BACKEND [OPTION...]`), in order.
fn config_routes(path: &Path) -> Result<Vec<String>, String> {
    let cannot = |why: String| format!("cannot read {}: {why}", path.display());
    let mut text = String::new();
    fs::File::open(path)
        .and_then(|file| file.take(MAX_CONFIG_BYTES).read_to_string(&mut text))
        .map_err(|error| cannot(error.to_string()))?;
    Ok(text
        .lines()
        .filter_map(|line| {
            let (option, value) = line.trim().split_once(char::is_whitespace)?;
            let route = value.split_whitespace().next()?;
            (option == "route").then(|| route.to_owned())
        })
        .collect())
}

/// `SPEC` or portshare's `SPEC=BACKEND`, whose BACKEND is not needed here.
fn parse_route(text: &str) -> Result<RouteSpec, String> {
    let spec = text.split_once('=').map_or(text, |(spec, _backend)| spec);
    spec.parse()
        .map_err(|why| format!("invalid --route '{text}': {why}"))
}
