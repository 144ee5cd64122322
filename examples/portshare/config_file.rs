//! portshare's configuration file: the command line's options, one a
//! line, without their dashes.
//!
//! ```text
//! # HTTPS and SSH on port 443; SSH's clients wait for the server, so a
//! # client silent until the deadline is taken to be one.
//! listen 0.0.0.0:443
//! listen /run/portshare.sock max-conns=100
//! route ssh=127.0.0.1:22
//! route tls-sni:a.example+tls-alpn:h2=10.0.0.2:443,10.0.0.3:443 send-proxy=v2
//! route tls=127.0.0.1:8443 name=web max-conns=500
//! timeout 2000
//! on-timeout ssh
//! ```
//!
//! A line is an option's name and, after spaces, its value (the rest of
//! the line); a flag (`quiet`) has none. Empty lines and lines whose first
//! non-space character is `#` are skipped. Every option of the command
//! line but those about files and the process (`--config`, `--check`,
//! `--control`, `--reload`, the sslh ones) may be given, with the same
//! values; `portshare --help` lists them.

use std::fs;
use std::io::Read;
use std::path::Path;

use crate::options::{takes_value, Setting};

/// The largest file read: a configuration is a few hundred lines.
const MAX_FILE_BYTES: u64 = 1024 * 1024;

/// The settings of the file at `path`, or what is wrong with it (the
/// values are checked later, with the command line's).
pub(crate) fn read(path: &Path) -> Result<Vec<Setting>, String> {
    let text = read_text(path)?;
    parse(&path.display().to_string(), &text)
}

/// The text of a configuration file, refused if it is too large or not
/// UTF-8.
pub(crate) fn read_text(path: &Path) -> Result<String, String> {
    let cannot = |why: String| format!("cannot read {}: {why}", path.display());
    let file = fs::File::open(path).map_err(|error| cannot(error.to_string()))?;
    let mut bytes = Vec::new();
    file.take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|error| cannot(error.to_string()))?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(cannot(format!("larger than {MAX_FILE_BYTES} bytes")));
    }
    String::from_utf8(bytes).map_err(|error| {
        cannot(format!(
            "not UTF-8 at byte {}",
            error.utf8_error().valid_up_to()
        ))
    })
}

/// The settings of `text`, the file `name`.
fn parse(name: &str, text: &str) -> Result<Vec<Setting>, String> {
    let mut settings = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let origin = format!("{name}:{}: ", index + 1);
        let (option, value) = match line.split_once(char::is_whitespace) {
            Some((option, value)) => (option, Some(value.trim().to_owned())),
            None => (line, None),
        };
        match takes_value(option) {
            None => {
                let hint = if option.starts_with('-') {
                    " (write options without their dashes)"
                } else {
                    ""
                };
                return Err(format!("{origin}unknown option '{option}'{hint}"));
            }
            Some(true) if value.is_none() => {
                return Err(format!("{origin}{option} needs a value"));
            }
            Some(false) if value.is_some() => {
                return Err(format!("{origin}{option} takes no value"));
            }
            _ => {}
        }
        settings.push(Setting {
            name: option.to_owned(),
            value,
            origin,
        });
    }
    Ok(settings)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names_and_values(text: &str) -> Vec<(String, Option<String>)> {
        parse("test.conf", text)
            .unwrap()
            .into_iter()
            .map(|setting| (setting.name, setting.value))
            .collect()
    }

    #[test]
    fn options_one_a_line_with_comments_and_blank_lines() {
        let text = "# a comment\n\n  listen 127.0.0.1:0\nroute  ssh=127.0.0.1:22 name=ssh  \n\tquiet\n   # indented comment\n";
        assert_eq!(
            names_and_values(text),
            vec![
                ("listen".into(), Some("127.0.0.1:0".into())),
                ("route".into(), Some("ssh=127.0.0.1:22 name=ssh".into())),
                ("quiet".into(), None),
            ]
        );
        let origins: Vec<String> = parse("test.conf", text)
            .unwrap()
            .into_iter()
            .map(|setting| setting.origin)
            .collect();
        assert_eq!(origins, ["test.conf:3: ", "test.conf:4: ", "test.conf:5: "]);
    }

    #[test]
    fn a_file_past_a_mebibyte_or_not_utf8_is_refused() {
        let dir = std::env::temp_dir().join(format!("portshare-conf-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let large = dir.join("large.conf");
        std::fs::write(&large, "#".repeat(1024 * 1024 + 1)).unwrap();
        assert!(read(&large)
            .unwrap_err()
            .contains("larger than 1048576 bytes"));
        let binary = dir.join("binary.conf");
        std::fs::write(&binary, b"quiet\n\xff\n").unwrap();
        assert!(read(&binary).unwrap_err().contains("not UTF-8 at byte 6"));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn mistakes_name_the_line() {
        for (text, error) in [
            (
                "listen 127.0.0.1:0\nroutes x=y\n",
                "test.conf:2: unknown option 'routes'",
            ),
            (
                "--listen 127.0.0.1:0\n",
                "write options without their dashes",
            ),
            ("timeout\n", "test.conf:1: timeout needs a value"),
            ("quiet yes\n", "test.conf:1: quiet takes no value"),
            ("config other.conf\n", "unknown option 'config'"),
        ] {
            let message = parse("test.conf", text).unwrap_err();
            assert!(message.contains(error), "{text:?}: {message}");
        }
    }
}
