//! Logging: a start-up line, then one line on stdout per connection, as
//! `key=value` text or as one JSON object a line ([`LogFormat`]).
//!
//! A connection's line is written when it ends, in one `writeln!` on the
//! locked stdout, so lines from different threads never interleave:
//!
//! ```text
//! peer=203.0.113.7:41000 route=http1 backend=127.0.0.1:8000 up=78 down=1024 time=1.250ms outcome=ok listener=0.0.0.0:443 host=example.com
//! peer=203.0.113.7:41001 route=ssh backend=127.0.0.1:22 up=21 down=0 time=0.310ms outcome=backend-refused detail="Connection refused (os error 111)" listener=0.0.0.0:443
//! peer=203.0.113.7:41002 route=- backend=- up=3 down=0 time=- outcome=no-match listener=0.0.0.0:443
//! ```
//!
//! `up` counts client-to-backend bytes (the sniffed ones included), `down`
//! backend-to-client; `time` runs from the route's hand-off to the close.
//! Connections that reach no route are logged from the multiplexer's
//! events, `up` then being the bytes sniffed before they were dropped.
//!
//! The text line keeps the fields it always had, in their order, and
//! appends the new ones: `listener=` always, then `sni=`, `alpn=` (the
//! protocols offered, comma-separated) and `host=` (the HTTP/1 Host) only
//! when known. Those three come from the client, so they are hostile: a
//! value is cut to its first [`MAX_VALUE_BYTES`] bytes (marked `...`),
//! every byte outside printable ASCII, and `"` and `\`, is escaped (`\"`,
//! `\\`, `\n`, `\r`, `\t`, else `\xNN`; a comma in an ALPN protocol is
//! `\x2c`), and a value is quoted when it is empty or holds a space, `=`,
//! `,` or an escape: what a client sends can neither end a line nor forge a
//! field. `detail=` is always quoted, and escaped the same way.
//!
//! The JSON line holds the same fields, and `"event":"connection"` first:
//!
//! ```text
//! {"event":"connection","peer":"203.0.113.7:41000","route":"http1","backend":"127.0.0.1:8000","up":78,"down":1024,"time_ms":1.250,"outcome":"ok","listener":"0.0.0.0:443","host":"example.com"}
//! ```
//!
//! Numbers are JSON numbers (`time_ms` in milliseconds); a field that is
//! absent (no route, no time, no detail, no SNI, ...) is left out, never
//! `null`; `alpn` is an array of strings. Strings are escaped as RFC 8259
//! section 7 asks (`\"`, `\\`, `\n`, ..., `\u00XX` for other control
//! characters, and `\u007f`, `\u2028`, `\u2029` besides), invalid UTF-8
//! becomes U+FFFD, and client values are cut as in the text line. The
//! start-up line (`"event":"listening"`) and the lines on stderr (an
//! `accept` that failed, `"event":"accept-failed"`, and the
//! multiplexer's other events) are JSON objects too.

use std::fmt::{self, Write as _};
use std::io::{self, Write};
use std::time::Duration;

use connmux::{DropReason, Event};

use crate::backend::Backend;
use crate::proxy::Route;

/// How many bytes of a value sent by the client (SNI, ALPN, Host) a line
/// keeps: a DNS name's bound (RFC 1035 section 2.3.4), and an ALPN
/// protocol's (RFC 7301 section 3.1).
const MAX_VALUE_BYTES: usize = 255;

/// How the lines are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum LogFormat {
    /// `key=value` pairs separated by spaces.
    Text,
    /// One JSON object a line.
    Json,
}

/// Where the lines go; `quiet` drops the per-connection ones.
pub(crate) struct Log {
    quiet: bool,
    format: LogFormat,
}

/// One connection's line.
pub(crate) struct Record<'a> {
    /// The client: the PROXY header's source when there was one.
    pub(crate) peer: &'a dyn fmt::Display,
    /// The address of the listener that accepted the connection.
    pub(crate) listener: &'a dyn fmt::Display,
    /// The route, or `None` when no route took the connection.
    pub(crate) route: Option<&'a Route>,
    /// The backend the connection reached; `None`: the route's backends
    /// are logged (it reached none, or no route took it).
    pub(crate) backend: Option<&'a Backend>,
    pub(crate) up: u64,
    pub(crate) down: u64,
    /// From hand-off to close; `None` when unknown.
    pub(crate) time: Option<Duration>,
    /// One word: `ok`, `reset`, `backend-refused`, `no-match`, ...
    pub(crate) outcome: &'static str,
    /// The error behind the outcome, if any.
    pub(crate) detail: Option<&'a dyn fmt::Display>,
    /// The TLS server name the client asked for, if it sent one.
    pub(crate) sni: Option<&'a str>,
    /// The ALPN protocols the client offered, in its order; empty when
    /// it offered none or sent no ClientHello.
    pub(crate) alpn: &'a [String],
    /// The Host of an HTTP/1 request, if it had one.
    pub(crate) host: Option<&'a str>,
}

impl<'a> Record<'a> {
    /// The line in `format`, without its newline.
    pub(crate) fn display(&self, format: LogFormat) -> Line<'_, 'a> {
        Line {
            record: self,
            format,
        }
    }

    /// The backend reached, else the route's list.
    fn backend_text(&self, route: &Route) -> String {
        match self.backend {
            Some(backend) => backend.to_string(),
            None => route.backends_text(),
        }
    }

    fn write_text(&self, f: &mut dyn fmt::Write) -> fmt::Result {
        write!(f, "peer={}", self.peer)?;
        match self.route {
            Some(route) => write!(
                f,
                " route={} backend={}",
                route.name,
                self.backend_text(route)
            )?,
            None => f.write_str(" route=- backend=-")?,
        }
        write!(f, " up={} down={}", self.up, self.down)?;
        match self.time {
            Some(time) => write!(f, " time={:.3}ms", time.as_secs_f64() * 1000.0)?,
            None => f.write_str(" time=-")?,
        }
        write!(f, " outcome={}", self.outcome)?;
        if let Some(detail) = self.detail {
            f.write_str(" detail=\"")?;
            write!(Escape::text(f, false, usize::MAX), "{detail}")?;
            f.write_str("\"")?;
        }
        write!(f, " listener={}", self.listener)?;
        if let Some(sni) = self.sni {
            f.write_str(" sni=")?;
            text_value(f, &[sni.as_bytes()], false)?;
        }
        if !self.alpn.is_empty() {
            f.write_str(" alpn=")?;
            let protocols: Vec<&[u8]> = self.alpn.iter().map(|p| p.as_bytes()).collect();
            text_value(f, &protocols, true)?;
        }
        if let Some(host) = self.host {
            f.write_str(" host=")?;
            text_value(f, &[host.as_bytes()], false)?;
        }
        Ok(())
    }

    fn write_json(&self, f: &mut dyn fmt::Write) -> fmt::Result {
        let mut object = JsonObject::new(f)?;
        object.string("event", "connection")?;
        object.display("peer", self.peer)?;
        if let Some(route) = self.route {
            object.display("route", &route.name)?;
            object.display("backend", &self.backend_text(route))?;
        }
        object.number("up", &self.up)?;
        object.number("down", &self.down)?;
        if let Some(time) = self.time {
            object.number(
                "time_ms",
                &format_args!("{:.3}", time.as_secs_f64() * 1000.0),
            )?;
        }
        object.string("outcome", self.outcome)?;
        if let Some(detail) = self.detail {
            object.display("detail", detail)?;
        }
        object.display("listener", self.listener)?;
        if let Some(sni) = self.sni {
            object.client_strings("sni", &[sni.as_bytes()], false)?;
        }
        if !self.alpn.is_empty() {
            let protocols: Vec<&[u8]> = self.alpn.iter().map(|p| p.as_bytes()).collect();
            object.client_strings("alpn", &protocols, true)?;
        }
        if let Some(host) = self.host {
            object.client_strings("host", &[host.as_bytes()], false)?;
        }
        object.finish()
    }
}

/// A record in one format, for `write!`.
pub(crate) struct Line<'r, 'a> {
    record: &'r Record<'a>,
    format: LogFormat,
}

impl fmt::Display for Line<'_, '_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.format {
            LogFormat::Text => self.record.write_text(f),
            LogFormat::Json => self.record.write_json(f),
        }
    }
}

impl Log {
    /// A log that writes connection lines in `format` unless `quiet`.
    pub(crate) fn new(quiet: bool, format: LogFormat) -> Log {
        Log { quiet, format }
    }

    /// The start-up line, written even when quiet: it says which
    /// addresses were bound (useful with port 0) and how connections are
    /// routed.
    pub(crate) fn startup(&self, listening: &[String], routes: &[String]) {
        let line = Routes {
            format: self.format,
            event: "listening",
            listening,
            routes,
        };
        let _ = writeln!(io::stdout().lock(), "{line}");
    }

    /// A reload's line, written even when quiet: the routes now used.
    pub(crate) fn reloaded(&self, routes: &[String]) {
        let line = Routes {
            format: self.format,
            event: "reloaded",
            listening: &[],
            routes,
        };
        let _ = writeln!(io::stdout().lock(), "{line}");
    }

    /// Whether connection lines are written (not `quiet`).
    pub(crate) fn writes_connections(&self) -> bool {
        !self.quiet
    }

    /// One connection's line. A full or closed stdout is not worth
    /// stopping the proxy for, so write errors are ignored.
    pub(crate) fn connection(&self, record: &Record<'_>) {
        if !self.quiet {
            let _ = writeln!(io::stdout().lock(), "{}", record.display(self.format));
        }
    }

    /// Logs an event of the multiplexer serving `listener`: a connection
    /// dropped before it reached a route (as a connection line), or a
    /// failed `accept` and the like (on stderr, quiet or not).
    pub(crate) fn event<A: LoggedPeer + fmt::Debug>(
        &self,
        event: &Event<A>,
        listener: &dyn fmt::Display,
        routes: &[Route],
    ) {
        match event {
            Event::Dropped {
                peer,
                reason,
                sniffed_bytes,
                ..
            } => {
                let route = match reason {
                    DropReason::QueueFull(route) | DropReason::RouteClosed(route) => {
                        routes.get(route.index())
                    }
                    _ => None,
                };
                let detail: Option<&dyn fmt::Display> = match reason {
                    DropReason::Io(error) | DropReason::NoSnifferThread(error) => Some(error),
                    DropReason::ProxyHeader(error) => Some(error),
                    _ => None,
                };
                self.connection(&Record {
                    peer: &LocalPeer(peer.logged(), listener),
                    listener,
                    route,
                    backend: None,
                    up: *sniffed_bytes as u64,
                    down: 0,
                    time: None,
                    outcome: drop_outcome(reason),
                    detail,
                    sni: None,
                    alpn: &[],
                    host: None,
                });
            }
            other => {
                let _ = writeln!(
                    io::stderr().lock(),
                    "{}",
                    EventLine(self.format, other, listener)
                );
            }
        }
    }
}

/// The start-up line (with the listeners) or a reload's (without).
struct Routes<'a> {
    format: LogFormat,
    /// `listening` or `reloaded`.
    event: &'static str,
    listening: &'a [String],
    /// As `--check` shows them: `SPEC=BACKEND [OPTION...]`.
    routes: &'a [String],
}

impl fmt::Display for Routes<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.format {
            LogFormat::Text => {
                match self.event {
                    "listening" => {
                        write!(f, "portshare listening on {}", self.listening.join(" "))?
                    }
                    event => write!(f, "portshare {event}")?,
                }
                write!(f, " routes: {}", self.routes.join(" "))
            }
            LogFormat::Json => {
                let mut object = JsonObject::new(f)?;
                object.string("event", self.event)?;
                for (key, list) in [("listeners", self.listening), ("routes", self.routes)] {
                    if key == "listeners" && self.event != "listening" {
                        continue;
                    }
                    object.key(key)?;
                    object.out.write_char('[')?;
                    for (i, item) in list.iter().enumerate() {
                        if i > 0 {
                            object.out.write_char(',')?;
                        }
                        object.out.write_char('"')?;
                        write!(Escape::json(&mut *object.out, usize::MAX), "{item}")?;
                        object.out.write_char('"')?;
                    }
                    object.out.write_char(']')?;
                }
                object.finish()
            }
        }
    }
}

/// A line on stderr for an event that is not a connection.
struct EventLine<'a, A>(LogFormat, &'a Event<A>, &'a dyn fmt::Display);

impl<A: fmt::Debug> fmt::Display for EventLine<'_, A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let EventLine(format, event, listener) = *self;
        match (format, event) {
            (
                LogFormat::Text,
                Event::AcceptFailed {
                    error, retry_in, ..
                },
            ) => write!(
                f,
                "portshare: accept failed on {listener} ({error}); retrying in {retry_in:?}"
            ),
            (LogFormat::Text, other) => write!(f, "portshare: {other}"),
            (
                LogFormat::Json,
                Event::AcceptFailed {
                    error, retry_in, ..
                },
            ) => {
                let mut object = JsonObject::new(f)?;
                object.string("event", "accept-failed")?;
                object.display("listener", listener)?;
                object.display("error", error)?;
                object.number("retry_in_ms", &retry_in.as_millis())?;
                object.finish()
            }
            (LogFormat::Json, other) => {
                let mut object = JsonObject::new(f)?;
                object.string("event", event_word(other))?;
                object.display("listener", listener)?;
                object.display("message", other)?;
                object.finish()
            }
        }
    }
}

/// The `event` word of a JSON line on stderr.
fn event_word<A>(event: &Event<A>) -> &'static str {
    match event {
        Event::AcceptFailed { .. } => "accept-failed",
        Event::ThreadCeiling { .. } => "thread-ceiling",
        Event::Dropped { .. } => "dropped",
        _ => "other",
    }
}

/// A client address as the log shows it; `None` for a UNIX socket's
/// client, which the log names by its listener.
pub(crate) trait LoggedPeer {
    fn logged(&self) -> Option<&dyn fmt::Display>;
}

impl LoggedPeer for std::net::SocketAddr {
    fn logged(&self) -> Option<&dyn fmt::Display> {
        Some(self)
    }
}

impl LoggedPeer for std::os::unix::net::SocketAddr {
    fn logged(&self) -> Option<&dyn fmt::Display> {
        None
    }
}

/// A peer as logged: its address, else `unix:` and the listener's path.
struct LocalPeer<'a>(Option<&'a dyn fmt::Display>, &'a dyn fmt::Display);

impl fmt::Display for LocalPeer<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(peer) => peer.fmt(f),
            None => write!(f, "unix:{}", self.1),
        }
    }
}

/// The outcome word for a connection the multiplexer dropped.
pub(crate) fn drop_outcome(reason: &DropReason) -> &'static str {
    match reason {
        DropReason::NotMatched => "no-match",
        DropReason::TimedOut => "timeout",
        DropReason::ProxyHeader(_) => "bad-proxy-header",
        DropReason::UntrustedProxy => "untrusted-proxy",
        DropReason::SourceLimit => "source-limit",
        DropReason::Io(_) => "client-error",
        DropReason::QueueFull(_) => "queue-full",
        DropReason::RouteClosed(_) => "route-closed",
        DropReason::ShutDown => "shutdown",
        DropReason::NoSnifferThread(_) => "no-thread",
        DropReason::TooManyConnections => "too-many-connections",
        _ => "dropped",
    }
}

/// Writes a text value sent by the client: `parts` joined by `,` (one
/// part unless a `list`, ALPN's, whose parts' own commas are escaped), cut
/// to [`MAX_VALUE_BYTES`], escaped, and quoted when it must be.
fn text_value(out: &mut dyn fmt::Write, parts: &[&[u8]], list: bool) -> fmt::Result {
    let mut budget = MAX_VALUE_BYTES;
    let mut quoted = parts.iter().all(|part| part.is_empty());
    for part in parts {
        let kept = &part[..part.len().min(budget)];
        quoted |= kept
            .iter()
            .any(|&b| matches!(b, b' ' | b'=' | b',') || text_escape(b).is_some());
        budget = budget.saturating_sub(part.len() + 1);
    }
    if quoted {
        out.write_char('"')?;
    }
    // Lists (ALPN) are joined by commas: one in a value is escaped.
    let mut escape = Escape::text(out, list, MAX_VALUE_BYTES);
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            escape.separator(b',')?;
        }
        escape.bytes(part)?;
    }
    escape.finish()?;
    if quoted {
        out.write_char('"')?;
    }
    Ok(())
}

/// How the text format escapes `byte` inside a client value or a detail,
/// or `None` when it stands for itself.
fn text_escape(byte: u8) -> Option<&'static str> {
    Some(match byte {
        b'"' => "\\\"",
        b'\\' => "\\\\",
        b'\n' => "\\n",
        b'\r' => "\\r",
        b'\t' => "\\t",
        b' '..=b'~' => return None,
        // Any other byte: written as \xNN by the caller.
        _ => "",
    })
}

/// An escaping writer: what passes through it is written to `out` escaped
/// for one format, keeping at most `budget` bytes of it, and `...` at
/// the end when it was cut.
struct Escape<'a> {
    out: &'a mut dyn fmt::Write,
    json: bool,
    /// Text only: escape `,` too, for a value from a list.
    commas: bool,
    budget: usize,
    cut: bool,
}

impl<'a> Escape<'a> {
    fn text(out: &'a mut dyn fmt::Write, commas: bool, budget: usize) -> Escape<'a> {
        Escape {
            out,
            json: false,
            commas,
            budget,
            cut: false,
        }
    }

    fn json(out: &'a mut dyn fmt::Write, budget: usize) -> Escape<'a> {
        Escape {
            out,
            json: true,
            commas: false,
            budget,
            cut: false,
        }
    }

    /// A separator of ours between two parts, counted in the budget but
    /// not escaped.
    fn separator(&mut self, byte: u8) -> fmt::Result {
        if self.cut {
            return Ok(());
        }
        if self.budget == 0 {
            self.cut = true;
            return Ok(());
        }
        self.budget -= 1;
        self.out.write_char(byte as char)
    }

    /// Writes `bytes`, which need not be UTF-8, escaped.
    fn bytes(&mut self, bytes: &[u8]) -> fmt::Result {
        if self.cut {
            return Ok(());
        }
        if self.json {
            for chunk in bytes.utf8_chunks() {
                self.json_str(chunk.valid())?;
                if self.cut {
                    return Ok(());
                }
                if !chunk.invalid().is_empty() {
                    let taken = chunk.invalid().len();
                    if taken > self.budget {
                        self.cut = true;
                        return Ok(());
                    }
                    self.budget -= taken;
                    self.out.write_str("\\ufffd")?;
                }
            }
            return Ok(());
        }
        for &byte in bytes {
            if self.budget == 0 {
                self.cut = true;
                return Ok(());
            }
            self.budget -= 1;
            match text_escape(byte) {
                None if byte == b',' && self.commas => self.out.write_str("\\x2c")?,
                None => self.out.write_char(byte as char)?,
                Some("") => write!(self.out, "\\x{byte:02x}")?,
                Some(escaped) => self.out.write_str(escaped)?,
            }
        }
        Ok(())
    }

    /// Writes `value` escaped as JSON, cut at a character boundary.
    fn json_str(&mut self, value: &str) -> fmt::Result {
        for c in value.chars() {
            if c.len_utf8() > self.budget {
                self.cut = true;
                return Ok(());
            }
            self.budget -= c.len_utf8();
            match c {
                '"' => self.out.write_str("\\\"")?,
                '\\' => self.out.write_str("\\\\")?,
                '\n' => self.out.write_str("\\n")?,
                '\r' => self.out.write_str("\\r")?,
                '\t' => self.out.write_str("\\t")?,
                // Control characters must be escaped (RFC 8259 section
                // 7); DEL and the two line separators JavaScript treats
                // as line ends are, so that a line stays one line.
                '\0'..='\x1f' | '\x7f' | '\u{2028}' | '\u{2029}' => {
                    write!(self.out, "\\u{:04x}", c as u32)?
                }
                c => self.out.write_char(c)?,
            }
        }
        Ok(())
    }

    /// Marks a cut, if there was one.
    fn finish(self) -> fmt::Result {
        if self.cut {
            self.out.write_str("...")?;
        }
        Ok(())
    }
}

impl fmt::Write for Escape<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.bytes(s.as_bytes())
    }
}

/// A JSON object being written: `{`, then `"key":value` pairs.
struct JsonObject<'a> {
    out: &'a mut dyn fmt::Write,
    empty: bool,
}

impl<'a> JsonObject<'a> {
    fn new(out: &'a mut dyn fmt::Write) -> Result<JsonObject<'a>, fmt::Error> {
        out.write_char('{')?;
        Ok(JsonObject { out, empty: true })
    }

    /// `"key":`, after a comma unless first. Keys are ours: no escaping.
    fn key(&mut self, key: &str) -> fmt::Result {
        if !self.empty {
            self.out.write_char(',')?;
        }
        self.empty = false;
        write!(self.out, "\"{key}\":")
    }

    /// A string of ours, escaped but not cut.
    fn display(&mut self, key: &str, value: &dyn fmt::Display) -> fmt::Result {
        self.key(key)?;
        self.out.write_char('"')?;
        write!(Escape::json(&mut *self.out, usize::MAX), "{value}")?;
        self.out.write_char('"')
    }

    fn string(&mut self, key: &str, value: &str) -> fmt::Result {
        self.display(key, &value)
    }

    /// A number, written as it displays.
    fn number(&mut self, key: &str, value: &dyn fmt::Display) -> fmt::Result {
        self.key(key)?;
        write!(self.out, "{value}")
    }

    /// Strings from the client, cut to [`MAX_VALUE_BYTES`] together: one
    /// string, or an array of them when `array`. A cut string ends with
    /// `...`; parts left out for the cut are one `"..."` element.
    fn client_strings(&mut self, key: &str, parts: &[&[u8]], array: bool) -> fmt::Result {
        self.key(key)?;
        if array {
            self.out.write_char('[')?;
        }
        let mut budget = MAX_VALUE_BYTES;
        for (i, part) in parts.iter().enumerate() {
            if i > 0 {
                self.out.write_char(',')?;
            }
            self.out.write_char('"')?;
            if budget == 0 {
                self.out.write_str("...\"")?;
                break;
            }
            let mut escape = Escape::json(&mut *self.out, budget);
            escape.bytes(part)?;
            budget = escape.budget;
            let cut = escape.cut;
            escape.finish()?;
            self.out.write_char('"')?;
            if cut {
                break;
            }
        }
        if array {
            self.out.write_char(']')?;
        }
        Ok(())
    }

    fn finish(self) -> fmt::Result {
        self.out.write_char('}')
    }
}

#[cfg(test)]
#[path = "log_test.rs"]
mod tests;
