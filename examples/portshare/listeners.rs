//! The listeners and the route table they feed, which a reload replaces
//! without closing a listener or touching a forwarded connection.
//!
//! Each listener (TCP or UNIX) has a thread of its own blocked in
//! `accept`; it hands each connection to the multiplexer of the current
//! route table through a [`connmux::channel`], and the multiplexer sniffs,
//! routes and serves it (inline routes: [`session`](crate::session)).
//! Installing a new table starts one multiplexer per listener with the new
//! routes, points the accept threads at them, and lets the old ones end
//! (their channel's senders dropped): connections handed to them finish
//! their sniff by the old routes, and forwarded connections keep their
//! threads and sockets. So
//! the listening sockets stay open across reloads (no connection is
//! refused while routes change), which stopping a multiplexer that owns
//! its listener would not allow: its shutdown shuts the socket down.

use std::fmt;
use std::fs;
use std::io;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::unix::fs::FileTypeExt;
use std::os::unix::net::{self, UnixListener, UnixStream};
use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};
use std::thread;
use std::time::Duration;

use connmux::{channel, Accept, ChannelSender, Matcher, Mux};

use crate::fallback::{Fallback, FallbackMatcher};
use crate::limit::ConnectionLimit;
use crate::log::LoggedPeer;
use crate::options::{Config, ListenAddr, ListenConfig};
use crate::proxy::{Proxy, Table};
use crate::session::{self, Client};
use crate::spec::RouteSpec;

/// Connections accepted and not yet taken by the multiplexer, per
/// listener: the listen backlog's role between the accept thread and the
/// sniffers. Past it, a connection is closed at once.
const HANDOVER_CAPACITY: usize = 1024;
/// How long an accept thread waits after a failed `accept` (out of file
/// descriptors, say) before it tries again.
const ACCEPT_RETRY: Duration = Duration::from_millis(100);

/// What a connection's session reads of the listener that accepted it.
pub(crate) struct ListenerState {
    /// The address or path, as logged.
    pub(crate) name: Arc<str>,
    /// `listen ADDR max-conns=N`.
    pub(crate) limit: Arc<ConnectionLimit>,
}

/// A listening socket and where its connections go.
struct Listener {
    state: &'static ListenerState,
    config: ListenConfig,
    /// The address bound: `config`'s, with the port a port 0 got.
    local: ListenAddr,
    /// `None` until the first table is installed.
    handover: Mutex<Option<Handover>>,
}

/// The multiplexer the accept thread hands connections to.
enum Handover {
    Tcp(ChannelSender<TcpStream, SocketAddr>),
    Unix(ChannelSender<UnixStream, net::SocketAddr>),
}

/// The running proxy: its listeners and their current route table.
pub(crate) struct Server {
    proxy: &'static Proxy,
    listeners: Vec<Listener>,
}

/// A bound listening socket, before its accept thread starts.
enum Bound {
    Tcp(TcpListener),
    Unix(UnixListener),
}

impl Server {
    /// Binds every listener of `config` and starts serving its routes.
    /// Returns the server and the addresses bound (port 0 resolved).
    pub(crate) fn start(
        proxy: &'static Proxy,
        config: Config,
    ) -> io::Result<(&'static Server, Vec<String>)> {
        let mut bound = Vec::new();
        let mut listeners = Vec::new();
        let mut names = Vec::new();
        for listen in &config.listeners {
            let (socket, local) = bind(&listen.addr)?;
            let name = local.to_string();
            let state: &'static ListenerState = Box::leak(Box::new(ListenerState {
                name: Arc::from(name.as_str()),
                limit: ConnectionLimit::new(listen.max_conns),
            }));
            listeners.push(Listener {
                state,
                config: listen.clone(),
                local,
                handover: Mutex::new(None),
            });
            bound.push(socket);
            names.push(name);
        }
        // Every thread reads this until the process ends: leaking it once
        // saves a reference count per connection.
        let server: &'static Server = Box::leak(Box::new(Server { proxy, listeners }));
        server.install(config)?;
        for (listener, socket) in server.listeners.iter().zip(bound) {
            thread::Builder::new()
                .name(format!("accept {}", listener.state.name))
                .spawn(move || listener.accept_loop(socket))?;
        }
        Ok((server, names))
    }

    /// The listeners as configured, for a reload to compare.
    pub(crate) fn listen_configs(&self) -> Vec<ListenConfig> {
        self.listeners.iter().map(|l| l.config.clone()).collect()
    }

    /// Serves new connections by `config`'s routes from now on; the old
    /// routes finish the sniffs they began. The listeners stay as they
    /// were started; their connection limits take `config`'s values.
    pub(crate) fn install(&'static self, mut config: Config) -> io::Result<()> {
        self.proxy.limit.set_max(config.max_conns);
        for listener in &self.listeners {
            let max = config
                .listeners
                .iter()
                .find(|listen| listen.addr == listener.config.addr)
                .and_then(|listen| listen.max_conns);
            listener.state.limit.set_max(max);
        }
        let plan = Plan::of(&config);
        let settings = MuxSettings::of(&config);
        let table = Arc::new(Table::new(&mut config));
        let mut started = Vec::new();
        for listener in &self.listeners {
            started.push(listener.start_mux(self.proxy, &settings, &plan, &table)?);
        }
        for (listener, handover) in self.listeners.iter().zip(started) {
            // Dropping the old sender ends the old multiplexer once it has
            // taken the connections already handed to it, and they and
            // the others it is sniffing have been routed.
            drop(
                listener
                    .handover
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .replace(handover),
            );
        }
        Ok(())
    }
}

/// The multiplexer settings a table's multiplexers share.
struct MuxSettings {
    deadline: Duration,
    max_sniff_bytes: usize,
    accept_proxy: connmux::ProxyMode,
    trusted_proxies: connmux::TrustedProxies,
    /// Whether a silent client waits for the deadline (to reach the
    /// on-timeout route) rather than being dropped at the first-byte
    /// timeout.
    wait_for_silent: bool,
    /// Whether sniffs are traced: the metrics' sniff durations of
    /// connections no route took come from their traces.
    trace: bool,
}

impl MuxSettings {
    fn of(config: &Config) -> MuxSettings {
        MuxSettings {
            deadline: config.sniff_deadline,
            max_sniff_bytes: config.max_sniff_bytes,
            accept_proxy: config.accept_proxy,
            trusted_proxies: config.trusted_proxies.clone(),
            wait_for_silent: config.on_timeout.is_some(),
            trace: config.metrics.is_some(),
        }
    }

    fn build<S: Accept>(&self, source: S) -> io::Result<Mux<S>> {
        let mut builder = Mux::builder()
            .sniff_deadline(Some(self.deadline))
            .max_sniff_bytes(self.max_sniff_bytes)
            .proxy_protocol(self.accept_proxy)
            .trusted_proxies(self.trusted_proxies.clone())
            .trace_decisions(self.trace);
        if self.wait_for_silent {
            builder = builder.first_byte_timeout(None);
        }
        builder.build(source)
    }
}

/// The routes a table's multiplexers are built with: the configured
/// ones, then the fallbacks.
pub(crate) struct Plan {
    specs: Vec<RouteSpec>,
    silence: Duration,
    on_timeout: Option<usize>,
    unmatched_to_last: bool,
}

impl Plan {
    /// The routes `config` gives each multiplexer.
    pub(crate) fn of(config: &Config) -> Plan {
        Plan {
            specs: config.routes.iter().map(|r| r.spec.clone()).collect(),
            silence: config.silence,
            on_timeout: config.on_timeout,
            unmatched_to_last: config.unmatched_to_last,
        }
    }

    /// Each multiplexer route's matcher and the table route it serves:
    /// the undecided fallback first, the configured routes, the unmatched
    /// fallback last ([`fallback`](crate::fallback) says why).
    pub(crate) fn routes(&self) -> Vec<(Box<dyn Matcher>, usize)> {
        let fresh = || -> Vec<Box<dyn Matcher>> {
            self.specs
                .iter()
                .map(|spec| spec.matcher(self.silence))
                .collect()
        };
        let mut routes: Vec<(Box<dyn Matcher>, usize)> = Vec::new();
        if let Some(route) = self.on_timeout {
            routes.push((
                Box::new(FallbackMatcher::new(Fallback::Undecided, fresh())),
                route,
            ));
        }
        routes.extend(fresh().into_iter().zip(0..));
        if self.unmatched_to_last {
            let last = self.specs.len() - 1;
            routes.push((
                Box::new(FallbackMatcher::new(Fallback::Unmatched, fresh())),
                last,
            ));
        }
        routes
    }
}

impl Listener {
    /// A multiplexer for this listener serving `table`, running.
    fn start_mux(
        &'static self,
        proxy: &'static Proxy,
        settings: &MuxSettings,
        plan: &Plan,
        table: &Arc<Table>,
    ) -> io::Result<Handover> {
        Ok(match self.local {
            ListenAddr::Tcp(addr) => {
                let (sender, source) = channel(addr, HANDOVER_CAPACITY);
                self.serve(proxy, settings.build(source)?, plan, table)?;
                Handover::Tcp(sender)
            }
            ListenAddr::Unix(_) => {
                let (sender, source) = channel(unnamed_unix_addr()?, HANDOVER_CAPACITY);
                self.serve(proxy, settings.build(source)?, plan, table)?;
                Handover::Unix(sender)
            }
        })
    }

    /// Adds `plan`'s routes to `mux` and serves it on a thread.
    fn serve<S>(
        &'static self,
        proxy: &'static Proxy,
        mut mux: Mux<S>,
        plan: &Plan,
        table: &Arc<Table>,
    ) -> io::Result<()>
    where
        S: Accept + Send + 'static,
        S::Conn: Client + Send + 'static,
        S::Addr: LoggedPeer + fmt::Debug + Send + 'static,
    {
        for (matcher, route) in plan.routes() {
            let table = Arc::clone(table);
            mux.route_inline(matcher, move |stream, _peer| {
                session::serve(proxy, Arc::clone(&table), route, self.state, stream)
            });
        }
        let table = Arc::clone(table);
        mux.on_event(move |event| {
            if let connmux::Event::Dropped {
                reason,
                sniffed_bytes,
                trace,
                ..
            } = event
            {
                let outcome = crate::log::drop_outcome(reason);
                let metrics = &proxy.metrics;
                metrics.dropped(&self.state.name, outcome, *sniffed_bytes as u64);
                if let Some(elapsed) = trace.as_ref().and_then(|trace| trace.elapsed()) {
                    metrics.sniffed(None, elapsed);
                }
                if matches!(reason, connmux::DropReason::SourceLimit) {
                    metrics.refused(&self.state.name, "source");
                }
            }
            proxy.log.event(event, &self.state.name, &table.routes)
        });
        let name = &self.state.name;
        thread::Builder::new()
            .name(format!("mux {name}"))
            .spawn(move || {
                if let Err(error) = mux.serve() {
                    eprintln!("portshare: routing on {name} stopped: {error}");
                }
            })?;
        Ok(())
    }

    /// Accepts for ever, handing each connection to the current
    /// multiplexer.
    fn accept_loop(&self, socket: Bound) {
        loop {
            let accepted = match &socket {
                Bound::Tcp(listener) => listener.accept().map(|(conn, peer)| {
                    self.hand_over(|handover| match handover {
                        Handover::Tcp(sender) => sender.send(conn, peer).is_ok(),
                        Handover::Unix(_) => false,
                    })
                }),
                Bound::Unix(listener) => listener.accept().map(|(conn, peer)| {
                    self.hand_over(|handover| match handover {
                        Handover::Unix(sender) => sender.send(conn, peer).is_ok(),
                        Handover::Tcp(_) => false,
                    })
                }),
            };
            match accepted {
                Ok(true) => {}
                Ok(false) => eprintln!(
                    "portshare: {}: {HANDOVER_CAPACITY} connections wait for a sniffer; \
                     closed one",
                    self.state.name
                ),
                Err(error) => {
                    eprintln!(
                        "portshare: accept failed on {} ({error}); retrying in {ACCEPT_RETRY:?}",
                        self.state.name
                    );
                    thread::sleep(ACCEPT_RETRY);
                }
            }
        }
    }

    /// Runs `send` on the current handover, under its lock so that a
    /// reload waits for it (sending never blocks).
    fn hand_over(&self, send: impl FnOnce(&Handover) -> bool) -> bool {
        let handover = self.handover.lock().unwrap_or_else(PoisonError::into_inner);
        handover.as_ref().is_some_and(send)
    }
}

/// Binds `addr`; the address bound (the port a port 0 got).
fn bind(addr: &ListenAddr) -> io::Result<(Bound, ListenAddr)> {
    let failed = |error: io::Error| {
        io::Error::new(error.kind(), format!("cannot listen on {addr}: {error}"))
    };
    match addr {
        ListenAddr::Tcp(addr) => {
            let listener = TcpListener::bind(addr).map_err(failed)?;
            let local = listener.local_addr()?;
            Ok((Bound::Tcp(listener), ListenAddr::Tcp(local)))
        }
        ListenAddr::Unix(path) => {
            let listener = bind_unix(path).map_err(failed)?;
            Ok((Bound::Unix(listener), ListenAddr::Unix(path.clone())))
        }
    }
}

/// Binds a UNIX socket at `path`, first removing a socket file left there
/// by a process that ended without removing it (no one accepts on it). A
/// file anything still listens on, or that is no socket, is left alone.
pub(crate) fn bind_unix(path: &Path) -> io::Result<UnixListener> {
    match UnixListener::bind(path) {
        Err(error) if error.kind() == io::ErrorKind::AddrInUse => {
            let is_socket = fs::symlink_metadata(path)?.file_type().is_socket();
            let stale = is_socket
                && UnixStream::connect(path)
                    .is_err_and(|error| error.kind() == io::ErrorKind::ConnectionRefused);
            if !stale {
                return Err(error);
            }
            fs::remove_file(path)?;
            UnixListener::bind(path)
        }
        bound => bound,
    }
}

/// An unnamed UNIX socket address, the local address a UNIX listener's
/// channel reports (the multiplexer reads it only for its events).
fn unnamed_unix_addr() -> io::Result<net::SocketAddr> {
    let (one, _other) = UnixStream::pair()?;
    one.local_addr()
}
