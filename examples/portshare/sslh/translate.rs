//! sslh's settings in portshare's options: the second stage of the sslh
//! reader, after `libconfig.rs` has parsed the file (or `flags.rs` has
//! built the same tree from a command line).
//!
//! The schema is sslh 2.x's `sslhconf.cfg`; what each option means comes
//! from sslh's `example.cfg`, `probe.c` and `sslh-main.c`. Three rules of
//! sslh's that portshare must be told explicitly:
//!
//! - a connection no probe matches goes to the last protocol
//!   (`probe_buffer`): always `unmatched-to-last`;
//! - a connection that times out goes to the first protocol named by
//!   `on-timeout`, `"ssh"` by default, or to the first protocol if none
//!   has that name (`timeout_protocol`): always an `on-timeout`;
//! - `timeout` is in seconds.

use std::path::Path;

use super::libconfig::{self, Node, Value};
use super::pcre;
use super::services::{Services, SYSTEM_SERVICES};
use super::{Notice, NoticeKind, Setting, Translation};

/// Reads sslh's configuration file at `path` (and what it includes) and
/// says it in portshare's options.
pub(crate) fn read_config(path: &Path) -> Result<Translation, String> {
    let root = libconfig::parse_file(path).map_err(|error| error.to_string())?;
    translate(&root, &mut Services::from_file(SYSTEM_SERVICES))
}

/// Translates sslh's top-level settings.
pub(super) fn translate(root: &[Node], services: &mut Services) -> Result<Translation, String> {
    let mut out = Output::default();
    let mut verbose: Option<(i64, String)> = None;
    let mut verbose_connections: Option<(i64, String)> = None;
    let mut on_timeout: Option<(String, String)> = None;
    let mut protocols: Option<&Node> = None;
    let mut accept_proxy = Vec::new();
    for node in root {
        let name = node.name.as_deref().unwrap_or("");
        let origin = node.origin();
        match name {
            "verbose" => verbose = Some((int_or_bool(node)?, origin)),
            "verbose-connections" => verbose_connections = Some((int(node)?, origin)),
            "verbose-config"
            | "verbose-config-error"
            | "verbose-connections-try"
            | "verbose-connections-error"
            | "verbose-fd"
            | "verbose-packets"
            | "verbose-probe-info"
            | "verbose-probe-error"
            | "verbose-system-error"
            | "verbose-int-error" => {
                int(node)?;
                out.notice(node, name, NoticeKind::Ignored, "sslh's log level for one kind of message; portshare logs a line per connection (unless quiet) and its errors on standard error, whatever it says");
            }
            "version" => {
                boolean(node)?;
                out.notice(
                    node,
                    name,
                    NoticeKind::Ignored,
                    "sslh prints its version and exits; portshare runs",
                );
            }
            "foreground" => {
                let message = if boolean(node)? {
                    "sslh stays in the foreground; so does portshare, always"
                } else {
                    "sslh detaches into the background without it; portshare always stays in the foreground (start it from a service manager)"
                };
                out.notice(node, name, NoticeKind::Ignored, message);
            }
            "inetd" => {
                if boolean(node)? {
                    out.notice(node, name, NoticeKind::Unsupported, "sslh serves the one connection on its standard input (inetd mode); portshare only listens on sockets of its own");
                } else {
                    out.notice(
                        node,
                        name,
                        NoticeKind::Ignored,
                        "false is sslh's default: listen on sockets, as portshare does",
                    );
                }
            }
            "numeric" => {
                boolean(node)?;
                out.notice(node, name, NoticeKind::Ignored, "sslh logs addresses as numbers instead of names; portshare always logs numbers");
            }
            "transparent" => {
                if boolean(node)? {
                    out.notice(node, name, NoticeKind::Unsupported, "sslh connects to every backend from the client's own address (IP_TRANSPARENT); portshare connects from its own: use send-proxy for backends that read a PROXY header");
                } else {
                    out.notice(node, name, NoticeKind::Ignored, "false is sslh's default: connect from sslh's own address, as portshare does");
                }
            }
            "timeout" => {
                let seconds = int(node)?;
                let millis = seconds
                    .checked_mul(1000)
                    .filter(|millis| *millis > 0)
                    .ok_or_else(|| {
                        format!("{origin}: timeout {seconds} is not a positive number of seconds")
                    })?;
                out.setting("timeout", Some(millis.to_string()), origin);
            }
            "udp_max_connections" => {
                int(node)?;
                out.notice(
                    node,
                    name,
                    NoticeKind::Ignored,
                    "sslh's limit on UDP associations; portshare carries no UDP",
                );
            }
            "user" => {
                let user = string(node)?;
                out.notice(node, name, NoticeKind::Unsupported, &format!("sslh switches to user '{user}' after binding; portshare keeps the user it was started as: start it as '{user}' (with cap_net_bind_service for ports below 1024)"));
            }
            "chroot" => {
                let path = string(node)?;
                out.notice(node, name, NoticeKind::Unsupported, &format!("sslh changes its root to {path} after set-up; portshare does not (confine it with the service manager, e.g. systemd's RootDirectory=)"));
            }
            "pidfile" => out.setting("pidfile", Some(string(node)?), origin),
            "syslog_facility" => {
                string(node)?;
                out.notice(
                    node,
                    name,
                    NoticeKind::Ignored,
                    "sslh's syslog facility; portshare logs to standard output and standard error",
                );
            }
            "logfile" => {
                let path = string(node)?;
                out.notice(node, name, NoticeKind::Unsupported, &format!("sslh appends its log to {path}; portshare logs to standard output: redirect it there"));
            }
            "on-timeout" => on_timeout = Some((string(node)?, origin)),
            "prefix" => {
                string(node)?;
                out.notice(
                    node,
                    name,
                    NoticeKind::Ignored,
                    "reserved for sslh's tests (its echo server)",
                );
            }
            "listen" => {
                for entry in list(node)? {
                    listen(entry, services, &mut out, &mut accept_proxy)?;
                }
            }
            "protocols" => protocols = Some(node),
            _ => out.notice(
                node,
                name,
                NoticeKind::Unsupported,
                "unknown to sslh 2.x and to portshare",
            ),
        }
    }

    let mut routes = Vec::new();
    if let Some(node) = protocols {
        for (index, entry) in list(node)?.iter().enumerate() {
            routes.push((index, protocol(entry, services, &mut out)?));
        }
        out.setting(
            "unmatched-to-last",
            None,
            format!(
                "{} (sslh sends what no protocol matches to the last)",
                node.origin()
            ),
        );
        if let Some(last) = routes
            .iter()
            .rev()
            .find(|(_, translated)| !translated.is_udp)
        {
            if last.1.names.is_none() {
                let entry = &list(node)?[last.0];
                out.notice(entry, "protocols", NoticeKind::Unsupported, "sslh sends the connections no protocol matches to this last protocol, which portshare cannot route: portshare sends them to its last route instead");
            }
        }
        timeout_target(node, &routes, on_timeout, &mut out)?;
    } else if let Some((_, origin)) = on_timeout {
        out.notices.push(Notice {
            origin,
            option: "on-timeout".into(),
            kind: NoticeKind::Ignored,
            message: "no protocols are configured here for it to name".into(),
        });
    }

    let connections_level = match (&verbose, &verbose_connections) {
        (Some((level, origin)), _) if *level != 0 => Some((*level, origin.clone())),
        (_, Some((level, origin))) => Some((*level, origin.clone())),
        _ => None,
    };
    if let Some((0, origin)) = connections_level {
        out.setting("quiet", None, origin);
    }
    if let Some((level, origin)) = verbose {
        out.notices.push(Notice {
            origin,
            option: "verbose".into(),
            kind: NoticeKind::Ignored,
            message: if level == 0 {
                "0 is sslh's default: each verbose-* option keeps its own level".into()
            } else {
                format!("sslh sets every log level to {level} (debugging messages included); portshare logs a line per connection (unless quiet) and its errors")
            },
        });
    }
    if !accept_proxy.is_empty() {
        let all = accept_proxy.iter().all(|(wanted, _)| *wanted);
        let origin = accept_proxy
            .iter()
            .find(|(wanted, _)| *wanted)
            .map(|(_, origin)| origin.clone());
        if let Some(origin) = origin {
            if all {
                out.setting("accept-proxy", Some("required".into()), origin);
            } else {
                out.setting("accept-proxy", Some("optional".into()), origin.clone());
                out.notices.push(Notice { origin, option: "listen.proxyprotocol".into(), kind: NoticeKind::Unsupported, message: "sslh expects a PROXY header on some listeners only; portshare's accept-proxy covers every listener, so it accepts one (optional) on all".into() });
            }
        }
    }
    Ok(out.into_translation())
}

/// A translated sslh protocol entry.
struct Translated {
    /// The sslh name its routes carry, or `None` if it became no route.
    names: Option<String>,
    is_udp: bool,
}

#[derive(Default)]
struct Output {
    settings: Vec<Setting>,
    notices: Vec<Notice>,
}

impl Output {
    fn setting(&mut self, name: &str, value: Option<String>, origin: String) {
        self.settings.push(Setting {
            name: name.into(),
            value,
            // As portshare's messages begin.
            origin: format!("{origin}: "),
        });
    }

    fn notice(&mut self, node: &Node, option: &str, kind: NoticeKind, message: &str) {
        self.notices.push(Notice {
            origin: node.origin(),
            option: option.into(),
            kind,
            message: message.into(),
        });
    }

    fn into_translation(self) -> Translation {
        Translation {
            settings: self.settings,
            notices: self.notices,
        }
    }
}

/// One `listen` entry: a `listen` setting, or a notice.
fn listen(
    entry: &Node,
    services: &mut Services,
    out: &mut Output,
    accept_proxy: &mut Vec<(bool, String)>,
) -> Result<(), String> {
    let origin = entry.origin();
    group(entry)?;
    if flag(entry, "is_udp")? {
        out.notice(
            entry,
            "listen.is_udp",
            NoticeKind::Unsupported,
            "sslh listens for UDP here; portshare carries TCP only: this listener is left out",
        );
        return Ok(());
    }
    let mut options = String::new();
    for field in fields(entry) {
        let name = field.name.as_deref().unwrap_or("");
        match name {
            "host" | "port" | "is_unix" | "is_udp" => {}
            "max_connections" => options.push_str(&format!(" max-conns={}", positive(field)?)),
            "keepalive" => {
                if boolean(field)? {
                    out.notice(field, "listen.keepalive", NoticeKind::Ignored, "sslh turns TCP keepalive on for accepted connections; portshare does not (a vanished client holds its connection until the backend closes)");
                }
            }
            "proxyprotocol" => accept_proxy.push((boolean(field)?, field.origin())),
            _ => out.notice(
                field,
                &format!("listen.{name}"),
                NoticeKind::Unsupported,
                "unknown to sslh 2.x and to portshare",
            ),
        }
    }
    if entry.get("proxyprotocol").is_none() {
        accept_proxy.push((false, origin.clone()));
    }
    let address = address(entry, services)?;
    out.setting("listen", Some(format!("{address}{options}")), origin);
    Ok(())
}

/// An entry's `host` and `port` as portshare writes an address: `HOST:PORT`,
/// `[V6]:PORT`, or a UNIX socket's path.
fn address(entry: &Node, services: &mut Services) -> Result<String, String> {
    let host = entry
        .get("host")
        .ok_or_else(|| format!("{}: this entry has no host", entry.origin()))?;
    let host_text = string(host)?;
    if flag(entry, "is_unix")? {
        return Ok(if host_text.contains('/') {
            host_text
        } else {
            format!("./{host_text}")
        });
    }
    let port = entry
        .get("port")
        .ok_or_else(|| format!("{}: this entry has no port", entry.origin()))?;
    let port_text = match &port.value {
        Value::Int(number) => number.to_string(),
        _ => string(port)?,
    };
    let number = services
        .tcp_port(&port_text)
        .map_err(|error| format!("{}: {error}", port.origin()))?;
    if host_text.is_empty() {
        return Err(format!("{}: an empty host", host.origin()));
    }
    Ok(if host_text.contains(':') && !host_text.starts_with('[') {
        format!("[{host_text}]:{number}")
    } else {
        format!("{host_text}:{number}")
    })
}

/// One `protocols` entry: a `route` setting per route it becomes, and notices.
fn protocol(entry: &Node, services: &mut Services, out: &mut Output) -> Result<Translated, String> {
    group(entry)?;
    let origin = entry.origin();
    let name_node = entry
        .get("name")
        .ok_or_else(|| format!("{origin}: this protocol has no name"))?;
    let name = string(name_node)?;
    if flag(entry, "is_udp")? {
        out.notice(entry, "protocols.is_udp", NoticeKind::Unsupported, &format!("sslh forwards UDP datagrams matching '{name}'; portshare carries TCP only: this protocol is left out"));
        return Ok(Translated {
            names: None,
            is_udp: true,
        });
    }
    let skipped = Translated {
        names: None,
        is_udp: false,
    };
    let mut specs: Vec<String> = match name.as_str() {
        "ssh" => vec!["ssh".into()],
        "http" => vec!["http1".into()],
        "tls" => match tls_spec(entry, out)? {
            Some(spec) => vec![spec],
            None => return Ok(skipped),
        },
        "openvpn" | "tinc" | "xmpp" | "adb" | "socks5" | "syslog" => vec![name.clone()],
        "msrdp" => vec!["rdp".into()],
        "anyprot" => vec!["any".into()],
        "timeout" => vec!["timeout".into()],
        "regex" => regex_specs(entry, out)?,
        "wireguard" | "teamspeak" => {
            out.notice(entry, "protocols.name", NoticeKind::Unsupported, &format!("sslh's '{name}' probe has no portshare matcher (and is meant for UDP): this protocol is left out"));
            return Ok(skipped);
        }
        _ => {
            return Err(format!(
                "{}: '{name}' is not an sslh probe (sslh stops with \"probe unknown\")",
                name_node.origin()
            ))
        }
    };
    if specs.is_empty() {
        return Ok(skipped);
    }
    let backend = address(entry, services)?;
    let mut options = format!(" name={name}");
    for field in fields(entry) {
        let option = field.name.as_deref().unwrap_or("");
        let label = format!("protocols.{option}");
        match option {
            "name" | "host" | "port" | "is_unix" | "is_udp" | "sni_hostnames"
            | "alpn_protocols" | "regex_patterns" => {}
            "service" => {
                let service = string(field)?;
                out.notice(field, &label, NoticeKind::Unsupported, &format!("sslh checks the client against /etc/hosts.allow and hosts.deny (libwrap, service '{service}'); portshare does not: filter with a firewall, or route by from:CIDR"));
            }
            "fork" => {
                boolean(field)?;
                out.notice(field, &label, NoticeKind::Ignored, "sslh-select and sslh-ev fork a process per connection for it; portshare serves every connection on threads");
            }
            "tfo_ok" => {
                boolean(field)?;
                out.notice(field, &label, NoticeKind::Ignored, "sslh may connect to the backend with TCP Fast Open; portshare connects normally (a round trip more, nothing else)");
            }
            "transparent" => {
                if boolean(field)? {
                    out.notice(field, &label, NoticeKind::Unsupported, "sslh connects to this backend from the client's own address (IP_TRANSPARENT); portshare connects from its own: use send-proxy if the backend reads a PROXY header");
                } else {
                    out.notice(
                        field,
                        &label,
                        NoticeKind::Ignored,
                        "false is sslh's default, and what portshare does",
                    );
                }
            }
            "resolve_on_forward" => {
                if boolean(field)? {
                    out.notice(field, &label, NoticeKind::Unsupported, "sslh resolves the backend's name again for every connection; portshare resolves it once, at start-up");
                } else {
                    out.notice(
                        field,
                        &label,
                        NoticeKind::Ignored,
                        "false is sslh's default: resolve once at start-up, as portshare does",
                    );
                }
            }
            "log_level" => {
                if int(field)? == 0 {
                    options.push_str(" log=off");
                }
            }
            "keepalive" => {
                if boolean(field)? {
                    out.notice(field, &label, NoticeKind::Ignored, "sslh turns TCP keepalive on towards this backend; portshare does not (a vanished backend holds its connection until the client closes)");
                }
            }
            "max_connections" => options.push_str(&format!(" max-conns={}", positive(field)?)),
            "minlength" => {
                let bytes = int(field)?;
                if bytes > 0 {
                    let bytes = u16::try_from(bytes)
                        .ok()
                        .filter(|bytes| *bytes <= pcre::SEARCH_WINDOW)
                        .ok_or_else(|| {
                            format!(
                                "{}: minlength {bytes} is above the {} bytes portshare can require",
                                field.origin(),
                                pcre::SEARCH_WINDOW
                            )
                        })?;
                    // sslh does not probe before that many bytes have
                    // arrived; a route that also needs them waits the same.
                    for spec in specs.iter_mut().filter(|spec| *spec != "timeout") {
                        *spec = format!("{spec}+pattern:?{{{bytes}}}");
                    }
                }
            }
            "proxyprotocol" => match int(field)? {
                1 => options.push_str(" send-proxy=v1"),
                2 => options.push_str(" send-proxy=v2"),
                other => {
                    return Err(format!(
                        "{}: proxyprotocol {other}: sslh sends a PROXY header of version 1 or 2",
                        field.origin()
                    ))
                }
            },
            "udp_timeout" => {
                int(field)?;
                out.notice(
                    field,
                    &label,
                    NoticeKind::Ignored,
                    "sslh forgets a UDP association after it; this protocol is TCP",
                );
            }
            _ => out.notice(
                field,
                &label,
                NoticeKind::Unsupported,
                "unknown to sslh 2.x and to portshare",
            ),
        }
    }
    for (label, applies) in [
        ("sni_hostnames", "tls"),
        ("alpn_protocols", "tls"),
        ("regex_patterns", "regex"),
    ] {
        if let Some(field) = entry.get(label) {
            if name != applies {
                out.notice(
                    field,
                    &format!("protocols.{label}"),
                    NoticeKind::Ignored,
                    &format!("sslh applies it to '{applies}' protocols only and ignores it here"),
                );
            }
        }
    }
    // Patterns that came out the same (two regexes C cuts at the same
    // NUL) make one route.
    let mut written: Vec<&String> = Vec::new();
    for spec in &specs {
        if !written.contains(&spec) {
            written.push(spec);
            out.setting(
                "route",
                Some(format!("{spec}={backend}{options}")),
                origin.clone(),
            );
        }
    }
    Ok(Translated {
        names: Some(name),
        is_udp: false,
    })
}

/// A `tls` entry's spec, or `None` (with a notice) if its server names
/// cannot be said in portshare's.
fn tls_spec(entry: &Node, out: &mut Output) -> Result<Option<String>, String> {
    let mut parts = Vec::new();
    if let Some(field) = entry.get("sni_hostnames") {
        let mut hosts = Vec::new();
        for host in strings(field)? {
            match sni_name(&host) {
                Some(host) => hosts.push(host),
                None => {
                    out.notice(field, "protocols.sni_hostnames", NoticeKind::Unsupported, &format!("sslh matches '{host}' as a glob(7) pattern; portshare's server names take only a leading '*.' or '.': this protocol is left out"));
                    return Ok(None);
                }
            }
        }
        if !hosts.is_empty() {
            parts.push(format!("tls-sni:{}", hosts.join(",")));
        }
    }
    if let Some(field) = entry.get("alpn_protocols") {
        let protocols = strings(field)?;
        if protocols
            .iter()
            .any(|protocol| protocol.is_empty() || protocol.contains([',', '+', '=', ' ']))
        {
            out.notice(field, "protocols.alpn_protocols", NoticeKind::Unsupported, "an ALPN protocol that is empty or holds ',', '+', '=' or a space cannot be written in a portshare route: this protocol is left out");
            return Ok(None);
        }
        if !protocols.is_empty() {
            parts.push(format!("tls-alpn:{}", protocols.join(",")));
        }
    }
    Ok(Some(if parts.is_empty() {
        "tls".into()
    } else {
        parts.join("+")
    }))
}

/// A server name as portshare writes it, from sslh's fnmatch(3) pattern
/// (no flags: `*` also matches dots). `*.rest` is any name ending in
/// `.rest`, which portshare writes `.rest`; other wildcards have no
/// portshare form.
fn sni_name(glob: &str) -> Option<String> {
    let plain =
        |text: &str| !text.is_empty() && !text.contains(['*', '?', '[', ',', '+', '=', ' ', '\\']);
    match glob.strip_prefix("*.") {
        Some(rest) if plain(rest) => Some(format!(".{rest}")),
        _ if plain(glob) => Some(glob.to_owned()),
        _ => None,
    }
}

/// A `regex` entry's specs, one per pattern portshare can say.
fn regex_specs(entry: &Node, out: &mut Output) -> Result<Vec<String>, String> {
    let Some(field) = entry.get("regex_patterns") else {
        // No pattern matches nothing: the route is still the last one, or
        // the on-timeout one, for what sslh sends there.
        return Ok(vec!["timeout".into()]);
    };
    let (Value::Array(elements) | Value::List(elements)) = &field.value else {
        return Err(format!(
            "{}: regex_patterns must be an array of strings, not {}",
            field.origin(),
            field.value.kind()
        ));
    };
    let mut specs = Vec::new();
    for element in elements {
        let Value::Str(bytes) = &element.value else {
            return Err(format!(
                "{}: regex_patterns must hold strings, not {}",
                element.origin(),
                element.value.kind()
            ));
        };
        match pcre::rewrite(bytes) {
            Ok(rewritten) => {
                for (kind, caveat) in rewritten.caveats {
                    out.notice(element, "protocols.regex_patterns", kind, &caveat);
                }
                specs.push(rewritten.spec);
            }
            Err(reason) => out.notice(
                element,
                "protocols.regex_patterns",
                NoticeKind::Unsupported,
                &format!(
                    "/{}/ has no portshare form: {reason}; this pattern is left out",
                    pcre::printable(bytes)
                ),
            ),
        }
    }
    if elements.is_empty() {
        specs.push("timeout".into());
    }
    Ok(specs)
}

/// The `on-timeout` setting: the protocol sslh's `timeout_protocol` picks.
fn timeout_target(
    protocols: &Node,
    routes: &[(usize, Translated)],
    on_timeout: Option<(String, String)>,
    out: &mut Output,
) -> Result<(), String> {
    let entries = list(protocols)?;
    let (wanted, origin) = on_timeout.unwrap_or_else(|| {
        (
            "ssh".into(),
            format!("{} (sslh's default on-timeout is ssh)", protocols.origin()),
        )
    });
    let mut target = None;
    for (index, entry) in entries.iter().enumerate() {
        if let Some(name) = entry.get("name") {
            if string(name)? == wanted {
                target = Some(index);
                break;
            }
        }
    }
    let (index, origin) = match target {
        Some(index) => (index, origin),
        None if entries.is_empty() => return Ok(()),
        None => (
            0,
            format!("{origin} (no protocol is named '{wanted}', so sslh takes the first)"),
        ),
    };
    match routes.iter().find(|(at, _)| *at == index).and_then(|(_, translated)| translated.names.clone()) {
        Some(name) => out.setting("on-timeout", Some(name), origin),
        None => out.notices.push(Notice {
            origin,
            option: "on-timeout".into(),
            kind: NoticeKind::Unsupported,
            message: format!("sslh sends connections that time out to the protocol at {}, which portshare cannot route: portshare closes them", entries[index].origin()),
        }),
    }
    Ok(())
}

fn fields(entry: &Node) -> &[Node] {
    match &entry.value {
        Value::Group(fields) => fields,
        _ => &[],
    }
}

fn group(node: &Node) -> Result<(), String> {
    match node.value {
        Value::Group(_) => Ok(()),
        _ => Err(format!(
            "{}: expected a group {{ ... }}, not {}",
            node.origin(),
            node.value.kind()
        )),
    }
}

fn list(node: &Node) -> Result<&[Node], String> {
    match &node.value {
        Value::List(nodes) | Value::Array(nodes) => Ok(nodes),
        _ => Err(format!(
            "{}: '{}' must be a list ( ... ), not {}",
            node.origin(),
            node.name.as_deref().unwrap_or(""),
            node.value.kind()
        )),
    }
}

fn int(node: &Node) -> Result<i64, String> {
    match node.value {
        Value::Int(value) => Ok(value),
        _ => Err(format!(
            "{}: '{}' must be an integer, not {}",
            node.origin(),
            node.name.as_deref().unwrap_or(""),
            node.value.kind()
        )),
    }
}

/// sslh 1.x's `verbose` was a boolean, 2.x's is a level.
fn int_or_bool(node: &Node) -> Result<i64, String> {
    match node.value {
        Value::Bool(value) => Ok(i64::from(value)),
        _ => int(node),
    }
}

fn positive(node: &Node) -> Result<i64, String> {
    match int(node)? {
        value if value > 0 => Ok(value),
        value => Err(format!(
            "{}: '{}' must be above 0, not {value}",
            node.origin(),
            node.name.as_deref().unwrap_or("")
        )),
    }
}

fn boolean(node: &Node) -> Result<bool, String> {
    match node.value {
        Value::Bool(value) => Ok(value),
        _ => Err(format!(
            "{}: '{}' must be true or false, not {}",
            node.origin(),
            node.name.as_deref().unwrap_or(""),
            node.value.kind()
        )),
    }
}

/// A boolean field of a group, false when absent.
fn flag(entry: &Node, name: &str) -> Result<bool, String> {
    entry.get(name).map_or(Ok(false), boolean)
}

/// A string, as C reads it: up to its first NUL byte.
fn string(node: &Node) -> Result<String, String> {
    match &node.value {
        Value::Str(bytes) => {
            let end = bytes
                .iter()
                .position(|&byte| byte == 0)
                .unwrap_or(bytes.len());
            String::from_utf8(bytes[..end].to_vec()).map_err(|_| {
                format!(
                    "{}: '{}' is not UTF-8",
                    node.origin(),
                    node.name.as_deref().unwrap_or("")
                )
            })
        }
        _ => Err(format!(
            "{}: '{}' must be a string, not {}",
            node.origin(),
            node.name.as_deref().unwrap_or(""),
            node.value.kind()
        )),
    }
}

fn strings(node: &Node) -> Result<Vec<String>, String> {
    match &node.value {
        Value::Array(elements) | Value::List(elements) => elements.iter().map(string).collect(),
        _ => Err(format!(
            "{}: '{}' must be an array of strings, not {}",
            node.origin(),
            node.name.as_deref().unwrap_or(""),
            node.value.kind()
        )),
    }
}
