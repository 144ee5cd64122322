//! sslh compatibility: reads sslh's configuration file and command line
//! and says the same thing in portshare's options, so portshare can stand
//! in for sslh without its configuration being rewritten.
//!
//! The path: [`libconfig`] parses the file's syntax into a tree;
//! [`translate`] reads sslh's meaning off that tree (sslh 2.x's
//! `sslhconf.cfg` is the schema) and writes portshare [`Setting`]s, with a
//! [`Notice`] for every sslh option portshare drops or cannot honour;
//! [`flags`] does the same for sslh's command line, reading `-F FILE`
//! first as sslh does. What each sslh option becomes is tabled in
//! portshare's README, "Migrating from sslh".

mod flags;
mod libconfig;
mod pcre;
mod services;
mod translate;

#[cfg(test)]
mod tests;

pub(crate) use flags::parse_flags;
pub(crate) use translate::read_config;

use crate::options::Setting;

/// What portshare does with an sslh option it does not translate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NoticeKind {
    /// Meaningless for portshare and safe to drop: how sslh logs, forks or
    /// daemonizes, or an option set to what it is anyway.
    Ignored,
    /// Something portshare cannot do (transparent proxying, dropping
    /// privileges, libwrap, UDP, a probe it has no matcher for): running
    /// without it changes what the service does.
    Unsupported,
}

/// An sslh option portshare does not carry out, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Notice {
    /// Where sslh was told it.
    pub(crate) origin: String,
    /// The option as sslh names it: `user`, `protocols.service`, `--chroot`.
    pub(crate) option: String,
    pub(crate) kind: NoticeKind,
    /// One line: what sslh does with it and what portshare does instead.
    pub(crate) message: String,
}

/// sslh's configuration in portshare's terms.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Translation {
    /// The options, in the order portshare should read them.
    pub(crate) settings: Vec<Setting>,
    /// What was dropped, in the order sslh would have read it.
    pub(crate) notices: Vec<Notice>,
}
