//! sslh's command line (sslh 2.x's `sslhconf.cfg`, which generates it with
//! argtable3) in portshare's options.
//!
//! As sslh does, it reads the `-F FILE` configuration first; options then
//! replace the file's settings of the same name, `-p` adds a listener, and
//! a protocol option (`--ssh HOST:PORT`) replaces the first protocol of
//! that name, or adds one at the end. The result is the tree the file
//! would have been, handed to `translate.rs`; an option's origin is
//! `sslh argument N`, N counting from 1.

use super::libconfig::{self, Node, Value};
use super::services::{Services, SYSTEM_SERVICES};
use super::translate::translate;
use super::{Notice, NoticeKind, Translation};

/// What an option takes.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Takes {
    Nothing,
    Int,
    Text,
    /// `HOST:PORT` for a listener.
    Listen,
    /// `HOST:PORT` for the protocol of that sslh name.
    Protocol(&'static str),
    /// The configuration file.
    Config,
}

/// sslh's options: short letter, long name, the setting it writes, what
/// it takes.
const OPTIONS: &[(Option<char>, &str, &str, Takes)] = &[
    (Some('F'), "config", "", Takes::Config),
    (Some('v'), "verbose", "verbose", Takes::Int),
    (None, "verbose-config", "verbose-config", Takes::Int),
    (
        None,
        "verbose-config-error",
        "verbose-config-error",
        Takes::Int,
    ),
    (
        None,
        "verbose-connections",
        "verbose-connections",
        Takes::Int,
    ),
    (
        None,
        "verbose-connections-try",
        "verbose-connections-try",
        Takes::Int,
    ),
    (
        None,
        "verbose-connections-error",
        "verbose-connections-error",
        Takes::Int,
    ),
    (None, "verbose-fd", "verbose-fd", Takes::Int),
    (None, "verbose-packets", "verbose-packets", Takes::Int),
    (None, "verbose-probe-info", "verbose-probe-info", Takes::Int),
    (
        None,
        "verbose-probe-error",
        "verbose-probe-error",
        Takes::Int,
    ),
    (
        None,
        "verbose-system-error",
        "verbose-system-error",
        Takes::Int,
    ),
    (None, "verbose-int-error", "verbose-int-error", Takes::Int),
    (Some('V'), "version", "version", Takes::Nothing),
    (Some('f'), "foreground", "foreground", Takes::Nothing),
    (Some('i'), "inetd", "inetd", Takes::Nothing),
    (Some('n'), "numeric", "numeric", Takes::Nothing),
    (None, "transparent", "transparent", Takes::Nothing),
    (Some('t'), "timeout", "timeout", Takes::Int),
    (
        None,
        "udp-max-connections",
        "udp_max_connections",
        Takes::Int,
    ),
    (Some('u'), "user", "user", Takes::Text),
    (Some('P'), "pidfile", "pidfile", Takes::Text),
    (Some('C'), "chroot", "chroot", Takes::Text),
    (None, "syslog-facility", "syslog_facility", Takes::Text),
    (None, "logfile", "logfile", Takes::Text),
    (None, "on-timeout", "on-timeout", Takes::Text),
    (None, "prefix", "prefix", Takes::Text),
    (Some('p'), "listen", "listen", Takes::Listen),
    (None, "ssh", "", Takes::Protocol("ssh")),
    (None, "tls", "", Takes::Protocol("tls")),
    (None, "ssl", "", Takes::Protocol("tls")),
    (None, "openvpn", "", Takes::Protocol("openvpn")),
    (None, "tinc", "", Takes::Protocol("tinc")),
    (None, "wireguard", "", Takes::Protocol("wireguard")),
    (None, "xmpp", "", Takes::Protocol("xmpp")),
    (None, "http", "", Takes::Protocol("http")),
    (None, "adb", "", Takes::Protocol("adb")),
    (None, "socks5", "", Takes::Protocol("socks5")),
    (None, "syslog", "", Takes::Protocol("syslog")),
    (None, "msrdp", "", Takes::Protocol("msrdp")),
    (None, "anyprot", "", Takes::Protocol("anyprot")),
];

/// Reads sslh's command line (without the program name) and says it in
/// portshare's options.
pub(crate) fn parse_flags(args: &[String]) -> Result<Translation, String> {
    parse_flags_with(args, &mut Services::from_file(SYSTEM_SERVICES))
}

/// [`parse_flags`] with the services table to name ports by.
pub(super) fn parse_flags_with(
    args: &[String],
    services: &mut Services,
) -> Result<Translation, String> {
    let given = split(args)?;
    let mut root = Vec::new();
    if let Some((_, _, path)) = given
        .iter()
        .find(|(_, option, _)| option.3 == Takes::Config)
    {
        let path = path.as_deref().unwrap_or("");
        root =
            libconfig::parse_file(std::path::Path::new(path)).map_err(|error| error.to_string())?;
    }
    let mut notices = Vec::new();
    // Scalars first, then listeners and protocols, as sslh's generated
    // parser reads them (read_block, then read_compounds).
    for (index, option, value) in &given {
        let origin = format!("sslh argument {index}");
        let value =
            match (option.3, value) {
                (Takes::Nothing, _) => Value::Bool(true),
                (Takes::Int, Some(text)) => Value::Int(text.parse().map_err(|_| {
                    format!("{origin}: --{} takes a number, not '{text}'", option.1)
                })?),
                (Takes::Text, Some(text)) => Value::Str(text.clone().into_bytes()),
                _ => continue,
            };
        set(&mut root, option.2, value, &origin);
    }
    for (index, option, value) in &given {
        let origin = format!("sslh argument {index}");
        let text = value.as_deref().unwrap_or("");
        match option.3 {
            Takes::Listen => {
                let entry = host_port(text, None, &origin)?;
                list_of(&mut root, "listen", &origin).push(entry);
            }
            Takes::Protocol(name) => {
                let entry = host_port(text, Some(name), &origin)?;
                let protocols = list_of(&mut root, "protocols", &origin);
                let existing = protocols.iter().position(|protocol| {
                    protocol.get("name").map(|node| &node.value)
                        == Some(&Value::Str(name.as_bytes().to_vec()))
                });
                match existing {
                    Some(at) if protocols[at].file.starts_with("sslh argument") => notices.push(Notice {
                        origin,
                        option: format!("--{}", option.1),
                        kind: NoticeKind::Ignored,
                        message: format!("sslh 2.x keeps the first target given for '{name}' on its command line and drops this one; so does portshare"),
                    }),
                    Some(at) => protocols[at] = entry,
                    None => protocols.push(entry),
                }
            }
            _ => {}
        }
    }
    let mut translation = translate(&root, services)?;
    translation.notices.extend(notices);
    Ok(translation)
}

type Given = (
    usize,
    &'static (Option<char>, &'static str, &'static str, Takes),
    Option<String>,
);

/// The options in `args`, with their argument numbers and values.
fn split(args: &[String]) -> Result<Vec<Given>, String> {
    let mut given = Vec::new();
    let mut index = 0;
    while index < args.len() {
        let arg = &args[index];
        let number = index + 1;
        index += 1;
        if let Some(long) = arg.strip_prefix("--") {
            let (name, attached) = match long.split_once('=') {
                Some((name, value)) => (name, Some(value.to_owned())),
                None => (long, None),
            };
            let option = OPTIONS
                .iter()
                .find(|option| option.1 == name)
                .ok_or_else(|| format!("sslh argument {number}: unknown sslh option '--{name}'"))?;
            let value = match (option.3, attached) {
                (Takes::Nothing, Some(_)) => {
                    return Err(format!("sslh argument {number}: --{name} takes no value"))
                }
                (Takes::Nothing, None) => None,
                (_, Some(value)) => Some(value),
                (Takes::Int, None) if option.1 == "verbose" => verbose_level(args, &mut index),
                (_, None) => Some(next_value(args, &mut index, number, name)?),
            };
            given.push((number, option, value));
        } else if let Some(cluster) = arg.strip_prefix('-').filter(|cluster| !cluster.is_empty()) {
            for (at, letter) in cluster.char_indices() {
                let option = OPTIONS
                    .iter()
                    .find(|option| option.0 == Some(letter))
                    .ok_or_else(|| {
                        format!("sslh argument {number}: unknown sslh option '-{letter}'")
                    })?;
                if option.3 == Takes::Nothing {
                    given.push((number, option, None));
                    continue;
                }
                let rest = &cluster[at + letter.len_utf8()..];
                let value = if !rest.is_empty() {
                    Some(rest.to_owned())
                } else if letter == 'v' {
                    verbose_level(args, &mut index)
                } else {
                    Some(next_value(args, &mut index, number, &letter.to_string())?)
                };
                given.push((number, option, value));
                break;
            }
        } else {
            return Err(format!(
                "sslh argument {number}: '{arg}' is not an sslh option"
            ));
        }
    }
    Ok(given)
}

fn next_value(
    args: &[String],
    index: &mut usize,
    number: usize,
    name: &str,
) -> Result<String, String> {
    let value = args
        .get(*index)
        .ok_or_else(|| format!("sslh argument {number}: {name} needs a value"))?;
    *index += 1;
    Ok(value.clone())
}

/// `-v`'s level: the next argument if it is a number (sslh 2.x), else 1
/// (sslh 1.x's `-v` took none).
fn verbose_level(args: &[String], index: &mut usize) -> Option<String> {
    match args.get(*index) {
        Some(next) if !next.is_empty() && next.bytes().all(|byte| byte.is_ascii_digit()) => {
            *index += 1;
            Some(next.clone())
        }
        _ => Some("1".into()),
    }
}

/// Replaces the top-level setting `name`, or adds it.
fn set(root: &mut Vec<Node>, name: &str, value: Value, origin: &str) {
    let node = Node {
        name: Some(name.into()),
        value,
        file: origin.into(),
        line: 0,
    };
    match root
        .iter_mut()
        .find(|node| node.name.as_deref() == Some(name))
    {
        Some(existing) => *existing = node,
        None => root.push(node),
    }
}

/// The top-level list `name`, made if missing.
fn list_of<'r>(root: &'r mut Vec<Node>, name: &str, origin: &str) -> &'r mut Vec<Node> {
    let at = match root
        .iter()
        .position(|node| node.name.as_deref() == Some(name))
    {
        Some(at) => at,
        None => {
            root.push(Node {
                name: Some(name.into()),
                value: Value::List(Vec::new()),
                file: origin.into(),
                line: 0,
            });
            root.len() - 1
        }
    };
    if !matches!(root[at].value, Value::List(_)) {
        root[at].value = Value::List(Vec::new());
    }
    match &mut root[at].value {
        Value::List(nodes) => nodes,
        _ => unreachable!("made a list just above"),
    }
}

/// A `HOST:PORT` argument as a listen or protocol group. sslh splits it
/// with the regex `(.+):(\w+)`: the port is the word after the last colon.
fn host_port(text: &str, name: Option<&str>, origin: &str) -> Result<Node, String> {
    let (host, port) = text
        .rsplit_once(':')
        .filter(|(host, port)| {
            !host.is_empty()
                && !port.is_empty()
                && port
                    .bytes()
                    .all(|byte| byte.is_ascii_alphanumeric() || byte == b'_')
        })
        .ok_or_else(|| format!("{origin}: '{text}' is not HOST:PORT"))?;
    let field = |field: &str, value: &str| Node {
        name: Some(field.into()),
        value: Value::Str(value.as_bytes().to_vec()),
        file: origin.into(),
        line: 0,
    };
    let mut fields = Vec::new();
    if let Some(name) = name {
        fields.push(field("name", name));
    }
    fields.push(field("host", host));
    fields.push(field("port", port));
    Ok(Node {
        name: None,
        value: Value::Group(fields),
        file: origin.into(),
        line: 0,
    })
}
