//! The command line: what to do ([`Command`]), and where the options
//! come from ([`Sources`]), or one sentence saying what is wrong with the
//! arguments.
//!
//! Every option takes its value either as the next argument
//! (`--timeout 3000`) or after an equals sign (`--timeout=3000`). The
//! options shared with the configuration file become [`Setting`]s, checked
//! in [`options`](crate::options) with those of the file.

use std::ffi::OsString;
use std::path::PathBuf;

use crate::config_file;
use crate::options::{self, takes_value, Config, ConfigError, Setting};
use crate::spec::SPEC_HELP;
use crate::sslh::{self, NoticeKind, Translation};

/// The usage text `--help` prints.
pub(crate) fn usage() -> String {
    format!(
        "\
portshare: share one TCP port between several protocols (like sslh).

Usage:
  portshare --listen ADDR --route SPEC=BACKEND [--route SPEC=BACKEND ...] [options]
  portshare --config FILE [options]      (the same options in a file)
  portshare --config FILE --check        (check it, print the routes, exit)
  portshare --control PATH --reload      (make a running portshare reload)
  portshare --sslh-config /etc/sslh.cfg  (sslh's configuration, as it is)
  portshare [options] --sslh SSLH-ARGS   (sslh's command line, as it is)
  cargo run --release --example portshare -- --listen ADDR --route SPEC=BACKEND ...

Each connection is sniffed and forwarded to the backend of the first route
whose SPEC matches it; routes are tried in the order given, so put the
specific ones (websocket, tls-sni:...) before the general ones (http1, tls)
and `any` last. The sniffed bytes are forwarded too: the backend sees the
connection from its first byte. The sniff example tells which route a
capture would take with the same routes.

SPEC (protocol):
{SPEC_HELP}
The silence route takes a client once it has sent nothing for --silence ms.

BACKEND: HOST:PORT (resolved at start-up) or the path of a UNIX socket
(anything containing '/'); several, comma-separated, are tried in order,
one that failed skipped for --backend-retry ms.
After SPEC=BACKEND, in the same argument and separated by spaces:
  name=NAME                  what --on-timeout and the log call the route
                             (default: its SPEC)
  send-proxy=v1|v2|off       this route's PROXY header (default: --send-proxy)
  max-conns=N                this route's connections forwarded at once
  log=off                    leave this route's connections out of the log

Options:
  --listen ADDR [max-conns=N]  address to listen on (port 0: any free port),
                             or a UNIX socket path; repeat for more;
                             max-conns: this listener's connections at once
  --route 'SPEC=BACKEND ...' a route; repeat for more (at least one)
  --timeout MS               sniff deadline: how long a client may take to
                             be matched (default 5000)
  --silence MS               how long a client must stay silent for the
                             silence route (default 2000; below --timeout)
  --max-sniff BYTES          bytes read at most before routes must decide
                             (default 16384)
  --accept-proxy MODE        PROXY protocol header from a load balancer in
                             front: off (default), optional or required
  --proxy-from CIDR          a network whose peers may send that header;
                             repeat for more (default: 127.0.0.0/8 and
                             ::1); others are refused (required) or taken
                             as they are (optional)
  --send-proxy VERSION       send a PROXY header (v1 or v2) to the backend
                             with the real client address (v2: with the
                             SNI or Host, and ALPN, as TLVs)
  --proxy-v2-options LIST    more TLVs for --send-proxy v2, comma-separated:
                             unique-id (an ID for each connection) and
                             crc32c (a checksum of the header)
  --max-conns N              forward at most N connections at once; more
                             are closed at once (default: no limit)
  --on-timeout NAME          the route that takes a connection whose sniff
                             ended undecided: deadline passed (a silent
                             client included), partial opening (sslh's
                             on-timeout; a `timeout` SPEC route is one
                             only this sends to)
  --unmatched-to-last        a connection every route refused goes to the
                             last route (as sslh does), not closed
  --connect-timeout MS       how long a connect to each backend address may
                             take (default 5000)
  --backend-retry MS         how long a backend that failed is skipped while
                             its route has others (default 10000; 0: never)
  --idle-timeout MS          close a forwarded connection on which no byte
                             has moved either way for MS (default: never)
  --metrics ADDR             serve Prometheus metrics on http://ADDR/metrics
  --log-format FORMAT        text (default) or json: one object a line
  --pidfile PATH             write the process ID there at start
  --config FILE              read options from FILE (one a line, without
                             dashes: `route ssh=127.0.0.1:22`); the command
                             line's are applied after; FILE is read again
                             when it changes (a reload)
  --control PATH             a UNIX socket taking `reload` (what --reload
                             sends)
  --sslh-config FILE         read sslh's configuration file (libconfig;
                             read again when it changes)
  --sslh SSLH-ARGS...        the arguments after it are sslh's command line
                             (-p, --ssh, --tls, --http, --openvpn, --anyprot,
                             -t SECONDS, --on-timeout, -F FILE, -P, -f, ...)
  --unsupported MODE         what to do with sslh options portshare cannot
                             honour (transparent, user, chroot, libwrap,
                             UDP, ...): refuse (default: say which, exit 3)
                             or ignore (say which, run without them)
  --check                    check the configuration, print the routes it
                             would use, and exit
  --reload                   with --control PATH: make the portshare that
                             listens there reload its configuration
  -q, --quiet                no per-connection log lines
  -h, --help                 print this help

A reload applies to new connections: forwarded ones are never touched, and
a configuration with a mistake is refused (the old routes stay). Listeners,
--pidfile and --quiet take effect at the next start.

Exit status: 0 (stopped, or --check found no mistake), 1 a runtime error
(cannot listen, ...), 2 a wrong command line, 3 a wrong configuration file.

Each connection is logged on one line when it ends:
  peer=ADDR route=SPEC backend=BACKEND up=BYTES down=BYTES time=MS outcome=WORD
(up: client to backend, down: backend to client). Outcomes: ok, reset,
error, idle-timeout, backend-refused, backend-timeout, backend-error, refused-max-conns,
refused-listener-max-conns, refused-route-max-conns, no-thread, and for connections that reach no route: no-match, timeout,
bad-proxy-header, untrusted-proxy, source-limit, client-error,
queue-full, shutdown.

Examples:
  # HTTPS and SSH on port 443
  portshare --listen 0.0.0.0:443 --route ssh=127.0.0.1:22 --route tls=127.0.0.1:8443
  # Two sites by SNI, HTTP/1 and gRPC on one port, the rest to a UNIX socket
  portshare --listen [::]:8080 --route tls-sni:*.example.com=10.0.0.2:443 \\
      --route tls=10.0.0.3:443 --route grpc=127.0.0.1:50051 \\
      --route http1=127.0.0.1:8000 --route any=/run/fallback.sock
  # Behind HAProxy, telling the backends who the client is
  portshare --listen 127.0.0.1:9000 --accept-proxy required --send-proxy v2 \\
      --route http1=127.0.0.1:8000 --route ssh=127.0.0.1:22
  # SSH from the office network only; HTTP from everyone
  portshare --listen 0.0.0.0:443 --route ssh+from:10.0.0.0/8=127.0.0.1:22 \\
      --route http1=127.0.0.1:8000
  # A server-first protocol (SMTP) beside HTTP
  portshare --listen 0.0.0.0:2525 --route http1=127.0.0.1:8000 \\
      --route silence=127.0.0.1:25 --silence 1500 --timeout 3000
  # sslh's habits: silent or slow clients to SSH, anything else to the last
  portshare --listen 0.0.0.0:443 --route ssh=127.0.0.1:22 \\
      --route 'tls-sni:a.example+tls-alpn:h2=127.0.0.1:8443 send-proxy=v2' \\
      --route http1=127.0.0.1:8080 --on-timeout ssh --unmatched-to-last
"
    )
}

/// What the command line asks for.
pub(crate) enum Command {
    /// Run the proxy.
    Run(Sources),
    /// Check the configuration and print the routes it would use.
    Check(Sources),
    /// Ask the portshare listening on this control socket to reload.
    Reload(PathBuf),
    /// Print the usage text.
    Help,
}

/// Where the configuration comes from: read again at each reload.
pub(crate) struct Sources {
    /// `--config FILE`: portshare's own format.
    pub(crate) config_file: Option<PathBuf>,
    /// `--sslh-config FILE`: sslh's libconfig file.
    pub(crate) sslh_config: Option<PathBuf>,
    /// `--sslh ARGS...`: sslh's command line (which may name a file, `-F`).
    pub(crate) sslh_args: Option<Vec<String>>,
    /// `--unsupported ignore`: run without the sslh options portshare
    /// cannot honour rather than refuse them.
    pub(crate) ignore_unsupported: bool,
    /// The command line's own options, applied after the others.
    pub(crate) settings: Vec<Setting>,
    /// `--control PATH`: the UNIX socket that takes `reload`.
    pub(crate) control: Option<PathBuf>,
}

/// A configuration read, and what of sslh's it leaves out.
pub(crate) struct Loaded {
    pub(crate) config: Config,
    /// One line for each sslh option dropped.
    pub(crate) notices: Vec<String>,
}

impl Sources {
    /// Reads the files and checks every setting.
    pub(crate) fn load(&self) -> Result<Loaded, ConfigError> {
        let in_file = |message| ConfigError {
            message,
            in_file: true,
        };
        let mut settings = Vec::new();
        if let Some(path) = &self.config_file {
            settings.extend(config_file::read(path).map_err(in_file)?);
        }
        let mut translations = Vec::new();
        if let Some(path) = &self.sslh_config {
            translations.push((sslh::read_config(path).map_err(in_file)?, true));
        }
        if let Some(args) = &self.sslh_args {
            // Wrong flags are a usage error; a file they name is a file's.
            let in_file = args
                .iter()
                .any(|arg| arg == "-F" || arg.starts_with("--config"));
            let translation = sslh::parse_flags(args).map_err(|message| ConfigError {
                message: format!("sslh's command line: {message}"),
                in_file,
            })?;
            translations.push((translation, in_file));
        }
        let mut notices = Vec::new();
        let mut unsupported = Vec::new();
        for (translation, in_file) in translations {
            let Translation {
                settings: translated,
                notices: dropped,
            } = translation;
            settings.extend(translated);
            for notice in dropped {
                let line = format!(
                    "{}: sslh's {}: {}",
                    notice.origin, notice.option, notice.message
                );
                match notice.kind {
                    NoticeKind::Unsupported if !self.ignore_unsupported => {
                        unsupported.push((line, in_file))
                    }
                    NoticeKind::Unsupported => notices.push(format!("{line} (ignored)")),
                    NoticeKind::Ignored => notices.push(line),
                }
            }
        }
        if !unsupported.is_empty() {
            let in_file = unsupported.iter().any(|(_, in_file)| *in_file);
            let lines: Vec<String> = unsupported.into_iter().map(|(line, _)| line).collect();
            return Err(ConfigError {
                message: format!(
                    "the sslh configuration asks for what portshare cannot do:\n  {}\n\
                     (--unsupported ignore runs without it)",
                    lines.join("\n  ")
                ),
                in_file,
            });
        }
        let from_file =
            !settings.is_empty() && (self.config_file.is_some() || self.sslh_config.is_some());
        settings.extend(self.settings.iter().cloned());
        let config = options::build(&settings, from_file)?;
        Ok(Loaded { config, notices })
    }

    /// The files a reload reads, to watch for changes.
    pub(crate) fn files(&self) -> Vec<PathBuf> {
        self.config_file
            .iter()
            .chain(&self.sslh_config)
            .cloned()
            .collect()
    }
}

/// The command, or a message saying what is wrong with the arguments.
pub(crate) fn parse_args(args: impl IntoIterator<Item = OsString>) -> Result<Command, String> {
    let mut args = args.into_iter();
    let mut sources = Sources {
        config_file: None,
        sslh_config: None,
        sslh_args: None,
        ignore_unsupported: false,
        settings: Vec::new(),
        control: None,
    };
    let mut check = false;
    let mut reload = false;

    while let Some(arg) = args.next() {
        let arg = arg
            .into_string()
            .map_err(|arg| format!("argument {arg:?} is not valid UTF-8"))?;
        let (name, mut inline_value) = match arg.split_once('=') {
            Some((name, value)) if name.starts_with("--") => (name, Some(value.to_owned())),
            _ => (arg.as_str(), None),
        };
        if name == "--sslh" {
            // The rest is sslh's command line.
            let rest = args
                .by_ref()
                .map(|arg| {
                    arg.into_string()
                        .map_err(|arg| format!("argument {arg:?} is not valid UTF-8"))
                })
                .collect::<Result<Vec<_>, _>>()?;
            sources.sslh_args = Some(rest);
            break;
        }
        let name = match name {
            "-h" | "--help" => return Ok(Command::Help),
            "-q" => "--quiet",
            name => name,
        };
        let Some(option) = name.strip_prefix("--") else {
            return Err(format!(
                "unexpected argument '{arg}' (routes are given as --route SPEC=BACKEND)"
            ));
        };
        let takes = match option {
            "check" | "reload" => false,
            "config" | "control" | "sslh-config" | "unsupported" => true,
            option => takes_value(option).ok_or_else(|| format!("unknown option '{name}'"))?,
        };
        if !takes {
            if inline_value.is_some() {
                return Err(format!("{name} takes no value"));
            }
            match option {
                "check" => check = true,
                "reload" => reload = true,
                _ => sources.settings.push(Setting {
                    name: option.to_owned(),
                    value: None,
                    origin: String::new(),
                }),
            }
            continue;
        }
        let value = match inline_value.take() {
            Some(value) => value,
            None => args
                .next()
                .ok_or_else(|| format!("{name} needs a value"))?
                .into_string()
                .map_err(|value| format!("the value {value:?} of {name} is not valid UTF-8"))?,
        };
        match option {
            "config" => sources.config_file = Some(PathBuf::from(value)),
            "sslh-config" => sources.sslh_config = Some(PathBuf::from(value)),
            "control" => sources.control = Some(PathBuf::from(value)),
            "unsupported" => {
                sources.ignore_unsupported = match value.as_str() {
                    "refuse" => false,
                    "ignore" => true,
                    _ => {
                        return Err(format!(
                            "invalid --unsupported '{value}': expected refuse or ignore"
                        ))
                    }
                }
            }
            _ => sources.settings.push(Setting {
                name: option.to_owned(),
                value: Some(value),
                origin: String::new(),
            }),
        }
    }

    if reload {
        return match (&sources.control, check) {
            (Some(control), false) => Ok(Command::Reload(control.clone())),
            (None, _) => Err("--reload needs --control PATH".into()),
            (Some(_), true) => Err("--reload and --check do not go together".into()),
        };
    }
    Ok(match check {
        true => Command::Check(sources),
        false => Command::Run(sources),
    })
}
