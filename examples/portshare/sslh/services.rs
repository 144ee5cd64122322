//! Port names, as sslh resolves them with getaddrinfo(3): a number, or a
//! TCP service named in `/etc/services` (services(5): `name port/proto
//! [aliases...] [# comment]`).

use std::fs;

/// Where the system keeps its service names.
pub(super) const SYSTEM_SERVICES: &str = "/etc/services";

/// A services(5) table, read when a port first needs a name resolved.
pub(super) struct Services {
    path: String,
    /// `None` until read; then the text, or why it could not be read.
    text: Option<Result<String, String>>,
}

impl Services {
    /// The table in the file at `path`, read on first use.
    pub(super) fn from_file(path: &str) -> Services {
        Services {
            path: path.to_owned(),
            text: None,
        }
    }

    /// A table given as text (for tests).
    #[cfg(test)]
    pub(super) fn from_text(name: &str, text: &str) -> Services {
        Services {
            path: name.to_owned(),
            text: Some(Ok(text.to_owned())),
        }
    }

    /// The TCP port `port` names: itself if it is a number, else the
    /// service of that name or alias.
    pub(super) fn tcp_port(&mut self, port: &str) -> Result<u16, String> {
        if !port.is_empty() && port.bytes().all(|byte| byte.is_ascii_digit()) {
            return port
                .parse()
                .map_err(|_| format!("port '{port}' is above 65535"));
        }
        let path = self.path.clone();
        let text = self
            .text
            .get_or_insert_with(|| fs::read_to_string(&path).map_err(|error| error.to_string()));
        let text = text.as_ref().map_err(|error| {
            format!("port '{port}' is not a number, and {path} cannot be read: {error}")
        })?;
        lookup(text, port).ok_or_else(|| {
            format!("port '{port}' is neither a number nor a TCP service named in {path}")
        })
    }
}

fn lookup(text: &str, name: &str) -> Option<u16> {
    text.lines().find_map(|line| {
        let line = line.split('#').next().unwrap_or("");
        let mut fields = line.split_whitespace();
        let service = fields.next()?;
        let (port, protocol) = fields.next()?.split_once('/')?;
        let named = service == name || fields.any(|alias| alias == name);
        if named && protocol == "tcp" {
            port.parse().ok()
        } else {
            None
        }
    })
}
