//! The one line `sniff` prints: `match NAME key=value ...` or
//! `nomatch key=value ...`.
//!
//! Keys are fixed lower-case words. A value is written bare when it is
//! non-empty and every byte is printable ASCII other than space, `"`, `'`
//! and `\`; otherwise it is written in double quotes, escaped by
//! `<[u8]>::escape_ascii`: `\"`, `\'`, `\\`, `\t`, `\r`, `\n`, and `\xNN`
//! for any other byte outside printable ASCII (each byte of non-ASCII UTF-8
//! included). So the line never breaks, splits on the spaces outside
//! quotes, and every word splits at its first `=`. An empty value is `""`;
//! a fact that is absent is left out.

use std::fmt;

/// A verdict and the facts found behind it, in the order they are printed.
#[derive(Debug, Default)]
pub(crate) struct Line {
    /// The winning route's name, its spec as written; `None` prints
    /// `nomatch`.
    pub(crate) protocol: Option<String>,
    facts: Vec<(&'static str, Vec<u8>)>,
}

impl Line {
    /// Adds `key=value`.
    pub(crate) fn fact(&mut self, key: &'static str, value: impl AsRef<[u8]>) {
        self.facts.push((key, value.as_ref().to_vec()));
    }

    /// Adds `key=value` when there is a value; absent facts are left out
    /// rather than printed empty, which would say "present but empty".
    pub(crate) fn fact_if(&mut self, key: &'static str, value: Option<impl AsRef<[u8]>>) {
        if let Some(value) = value {
            self.fact(key, value);
        }
    }
}

impl fmt::Display for Line {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.protocol {
            Some(name) => write!(f, "match {name}")?,
            None => f.write_str("nomatch")?,
        }
        for (key, value) in &self.facts {
            let bare = !value.is_empty()
                && value
                    .iter()
                    .all(|&byte| byte.is_ascii_graphic() && !matches!(byte, b'"' | b'\'' | b'\\'));
            if bare {
                write!(f, " {key}={}", value.escape_ascii())?;
            } else {
                write!(f, " {key}=\"{}\"", value.escape_ascii())?;
            }
        }
        Ok(())
    }
}
