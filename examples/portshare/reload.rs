//! Reloading: the configuration read again, checked, and its routes
//! installed for new connections, when a configuration file changes or
//! a `reload` arrives on the control socket (`--control PATH`, which
//! `portshare --control PATH --reload` writes to).
//!
//! std has no file-change notification, so the files are polled: their
//! length and modification time, once a second. A configuration with a
//! mistake is refused with the reason, on standard error and to the
//! control socket's client, and the routes in use stay.

use std::fs;
use std::io::{self, BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};
use std::thread;
use std::time::{Duration, SystemTime};

use crate::args::Sources;
use crate::listeners::{bind_unix, Server};
use crate::proxy::Proxy;

/// How often the configuration files are looked at.
const POLL_INTERVAL: Duration = Duration::from_secs(1);
/// How long a control client may take to send its command.
const CONTROL_READ_TIMEOUT: Duration = Duration::from_secs(2);
/// The longest command line read from a control client.
const MAX_COMMAND_BYTES: u64 = 64;

/// Reloads `server`'s configuration from `sources`, one reload at a time.
pub(crate) struct Reloader {
    proxy: &'static Proxy,
    server: &'static Server,
    sources: Sources,
    /// Held while a reload runs: the watcher and the control socket may
    /// ask at once.
    running: Mutex<()>,
}

impl Reloader {
    pub(crate) fn new(proxy: &'static Proxy, server: &'static Server, sources: Sources) -> Self {
        Reloader {
            proxy,
            server,
            sources,
            running: Mutex::new(()),
        }
    }

    /// Reads and checks the configuration and installs its routes; what
    /// is wrong with it otherwise, the routes in use staying.
    pub(crate) fn reload(&self) -> Result<(), String> {
        let _one_at_a_time = self.running.lock().unwrap_or_else(PoisonError::into_inner);
        let config = self.sources.load().map_err(|error| error.message)?.config;
        if config.listeners != self.server.listen_configs() {
            // New sockets would need the privileges the process may have
            // dropped, and closing old ones would cut their clients off.
            eprintln!(
                "portshare: reload: the listeners changed; they take effect at the next start"
            );
        }
        for warning in &config.warnings {
            eprintln!("portshare: warning: {warning}");
        }
        let routes = config.describe_routes();
        self.server
            .install(config)
            .map_err(|error| format!("cannot start the new routes: {error}"))?;
        self.proxy.log.reloaded(&routes);
        Ok(())
    }

    /// The control socket's path, if one was asked for.
    pub(crate) fn sources_control(&self) -> Option<PathBuf> {
        self.sources.control.clone()
    }

    /// Reloads whenever a configuration file changes, from a thread.
    pub(crate) fn watch_files(&'static self) -> io::Result<()> {
        let files = self.sources.files();
        if files.is_empty() {
            return Ok(());
        }
        let mut seen: Vec<Option<Stamp>> = files.iter().map(|file| stamp(file)).collect();
        thread::Builder::new()
            .name("config watcher".into())
            .spawn(move || loop {
                thread::sleep(POLL_INTERVAL);
                let now: Vec<Option<Stamp>> = files.iter().map(|file| stamp(file)).collect();
                if now != seen {
                    seen = now;
                    self.report(self.reload());
                }
            })?;
        Ok(())
    }

    /// Serves the control socket at `path` from a thread: each client
    /// sends one command line and reads one reply line.
    pub(crate) fn serve_control(&'static self, path: &Path) -> io::Result<()> {
        let listener = bind_unix(path).map_err(|error| {
            io::Error::new(
                error.kind(),
                format!(
                    "cannot listen on control socket {}: {error}",
                    path.display()
                ),
            )
        })?;
        thread::Builder::new()
            .name("control".into())
            .spawn(move || {
                for client in listener.incoming().flatten() {
                    // One client's failure (it went away) is its own.
                    let _ = self.answer(client);
                }
            })?;
        Ok(())
    }

    fn answer(&self, client: UnixStream) -> io::Result<()> {
        client.set_read_timeout(Some(CONTROL_READ_TIMEOUT))?;
        let mut command = String::new();
        BufReader::new(io::Read::take(&client, MAX_COMMAND_BYTES)).read_line(&mut command)?;
        let reply = match command.trim() {
            "reload" => {
                let result = self.reload();
                self.report(result.clone());
                match result {
                    Ok(()) => "ok".to_owned(),
                    Err(message) => format!("error: {message}"),
                }
            }
            other => format!("error: unknown command '{other}' (known: reload)"),
        };
        writeln!(&client, "{reply}")
    }

    fn report(&self, result: Result<(), String>) {
        self.proxy.metrics.reloaded(result.is_ok());
        if let Err(message) = result {
            eprintln!("portshare: reload refused, the routes in use stay: {message}");
        }
    }
}

/// What tells a file changed.
#[derive(PartialEq, Eq)]
struct Stamp {
    len: u64,
    modified: Option<SystemTime>,
}

fn stamp(path: &Path) -> Option<Stamp> {
    let metadata = fs::metadata(path).ok()?;
    Some(Stamp {
        len: metadata.len(),
        modified: metadata.modified().ok(),
    })
}

/// `portshare --control PATH --reload`: asks the portshare listening on
/// `path` to reload; its reply, or why it could not be asked.
pub(crate) fn request_reload(path: &PathBuf) -> Result<String, String> {
    let cannot = |error: io::Error| format!("cannot reach {}: {error}", path.display());
    let client = UnixStream::connect(path).map_err(cannot)?;
    writeln!(&client, "reload").map_err(cannot)?;
    let mut reply = String::new();
    BufReader::new(&client)
        .read_line(&mut reply)
        .map_err(cannot)?;
    match reply.trim_end().strip_prefix("error: ") {
        None if reply.trim_end() == "ok" => Ok("reloaded".into()),
        None => Err(format!("unexpected reply {reply:?}")),
        Some(message) => Err(message.to_owned()),
    }
}
