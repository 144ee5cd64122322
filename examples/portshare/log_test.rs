//! The log lines in both formats, with hostile client values: each line is
//! parsed back (a `key=value` reader and a small JSON parser below) and
//! its values compared with what the client sent.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use super::*;
use crate::backend::Backend;

fn route() -> Route {
    Route {
        name: "tls-sni:example.com".to_owned(),
        backends: vec![Backend::parse("127.0.0.1:8443").unwrap()],
        alpn: Vec::new(),
        send_proxy: None,
        limit: crate::limit::ConnectionLimit::new(None),
        log: true,
    }
}

/// A connection line with these client values.
fn line(format: LogFormat, sni: Option<&str>, alpn: &[String], host: Option<&str>) -> String {
    let route = route();
    let peer = "203.0.113.7:41000";
    let listener = "0.0.0.0:443";
    let record = Record {
        peer: &peer,
        listener: &listener,
        route: Some(&route),
        backend: None,
        up: 78,
        down: 1024,
        time: Some(Duration::from_micros(1250)),
        outcome: "ok",
        detail: None,
        sni,
        alpn,
        host,
    };
    record.display(format).to_string()
}

/// The line of a connection no route took, from `[::1]:1`, after `up`
/// bytes were sniffed.
fn unrouted<'a>(
    outcome: &'static str,
    up: u64,
    detail: Option<&'a dyn fmt::Display>,
) -> Record<'a> {
    Record {
        peer: &"[::1]:1",
        listener: &"[::]:443",
        route: None,
        backend: None,
        up,
        down: 0,
        time: None,
        outcome,
        detail,
        sni: None,
        alpn: &[],
        host: None,
    }
}

/// Values a client may send: quotes, newlines, NUL, DEL, a field forged
/// after a space, non-ASCII, and 10 KB.
fn hostile() -> Vec<String> {
    vec![
        String::new(),
        "example.com".to_owned(),
        "a\"b".to_owned(),
        "evil\nperoutcome=ok".to_owned(),
        "x outcome=forged".to_owned(),
        "nul\0del\x7fesc\x1b[31m".to_owned(),
        "back\\slash".to_owned(),
        "b\u{fc}cher.example\u{2028}".to_owned(),
        "a,b".to_owned(),
        "h".repeat(10 * 1024),
        "\u{e9}".repeat(200),
    ]
}

// --- text -------------------------------------------------------------------

#[test]
fn text_line_keeps_its_old_fields_first() {
    let alpn = ["h2".to_owned(), "http/1.1".to_owned()];
    assert_eq!(
        line(
            LogFormat::Text,
            Some("example.com"),
            &alpn,
            Some("example.com:443")
        ),
        "peer=203.0.113.7:41000 route=tls-sni:example.com backend=127.0.0.1:8443 \
         up=78 down=1024 time=1.250ms outcome=ok listener=0.0.0.0:443 \
         sni=example.com alpn=h2,http/1.1 host=example.com:443"
    );
    assert_eq!(
        line(LogFormat::Text, None, &[], None),
        "peer=203.0.113.7:41000 route=tls-sni:example.com backend=127.0.0.1:8443 \
         up=78 down=1024 time=1.250ms outcome=ok listener=0.0.0.0:443"
    );
}

#[test]
fn text_values_are_quoted_and_escaped() {
    for (value, written) in [
        ("", "\"\""),
        ("a\"b", "\"a\\\"b\""),
        ("x y", "\"x y\""),
        ("k=v", "\"k=v\""),
        ("a\nb\r\tc", "\"a\\nb\\r\\tc\""),
        ("\0\x7f\x1b", "\"\\x00\\x7f\\x1b\""),
        ("\\", "\"\\\\\""),
        ("\u{fc}", "\"\\xc3\\xbc\""),
    ] {
        let text = line(LogFormat::Text, None, &[], Some(value));
        assert!(
            text.ends_with(&format!(" host={written}")),
            "{value:?}: {text}"
        );
    }
    // A comma is a protocol's own only in a list.
    let alpn = ["a,b".to_owned(), "c".to_owned()];
    let text = line(LogFormat::Text, None, &alpn, None);
    assert!(text.ends_with(" alpn=\"a\\x2cb,c\""), "{text}");
}

#[test]
fn text_hostile_values_read_back() {
    for value in hostile() {
        let alpn = [value.clone(), "h2".to_owned()];
        let text = line(LogFormat::Text, Some(&value), &alpn, Some(&value));
        assert!(
            text.bytes().all(|b| (b' '..=b'~').contains(&b)),
            "one line of printable ASCII: {text:?}"
        );
        let fields = parse_text(&text);
        assert_eq!(fields["outcome"], b"ok", "{text}");
        assert_eq!(fields["listener"], b"0.0.0.0:443");
        for key in ["sni", "host"] {
            assert_eq!(fields[key], cut(value.as_bytes()), "{key} of {value:?}");
        }
        let joined = [value.as_bytes(), b",h2"].concat();
        assert_eq!(fields["alpn"], cut(&joined), "alpn of {value:?}");
        assert!(
            text.len() < 4 * 4 * MAX_VALUE_BYTES + 200,
            "bounded: {}",
            text.len()
        );
    }
}

#[test]
fn text_detail_is_escaped() {
    let detail = "bad \"header\"\nnext, line";
    let record = unrouted("bad-proxy-header", 3, Some(&detail));
    assert_eq!(
        record.display(LogFormat::Text).to_string(),
        "peer=[::1]:1 route=- backend=- up=3 down=0 time=- outcome=bad-proxy-header \
         detail=\"bad \\\"header\\\"\\nnext, line\" listener=[::]:443"
    );
}

/// A value cut as the log cuts it: [`MAX_VALUE_BYTES`] bytes, then `...`.
fn cut(value: &[u8]) -> Vec<u8> {
    match value.len() > MAX_VALUE_BYTES {
        true => [&value[..MAX_VALUE_BYTES], b"..."].concat(),
        false => value.to_vec(),
    }
}

/// Reads a text line back: `key=value` fields separated by spaces, a
/// quoted value unescaped. Panics on a malformed line.
fn parse_text(line: &str) -> BTreeMap<String, Vec<u8>> {
    let mut fields = BTreeMap::new();
    let mut rest = line.as_bytes();
    while !rest.is_empty() {
        let equals = rest.iter().position(|&b| b == b'=').expect("a key");
        let key = String::from_utf8(rest[..equals].to_vec()).unwrap();
        assert!(!key.contains([' ', '"']), "key {key:?} in {line}");
        rest = &rest[equals + 1..];
        let mut value = Vec::new();
        if rest.first() == Some(&b'"') {
            let mut i = 1;
            loop {
                match rest[i] {
                    b'"' => break,
                    b'\\' => {
                        i += 1;
                        match rest[i] {
                            b'n' => value.push(b'\n'),
                            b'r' => value.push(b'\r'),
                            b't' => value.push(b'\t'),
                            b'x' => {
                                let hex = std::str::from_utf8(&rest[i + 1..i + 3]).unwrap();
                                value.push(u8::from_str_radix(hex, 16).unwrap());
                                i += 2;
                            }
                            other => value.push(other),
                        }
                    }
                    other => value.push(other),
                }
                i += 1;
            }
            rest = &rest[i + 1..];
        } else {
            let end = rest.iter().position(|&b| b == b' ').unwrap_or(rest.len());
            value.extend_from_slice(&rest[..end]);
            assert!(!value.contains(&b'"'), "a bare quote in {line}");
            rest = &rest[end..];
        }
        match rest.first() {
            None => {}
            Some(b' ') => rest = &rest[1..],
            Some(_) => panic!("no space after {key} in {line}"),
        }
        assert!(fields.insert(key, value).is_none(), "a field twice: {line}");
    }
    fields
}

// --- JSON -------------------------------------------------------------------

#[test]
fn json_line_has_numbers_and_leaves_absent_fields_out() {
    let alpn = ["h2".to_owned(), "http/1.1".to_owned()];
    assert_eq!(
        line(LogFormat::Json, Some("example.com"), &alpn, None),
        "{\"event\":\"connection\",\"peer\":\"203.0.113.7:41000\",\
         \"route\":\"tls-sni:example.com\",\"backend\":\"127.0.0.1:8443\",\
         \"up\":78,\"down\":1024,\"time_ms\":1.250,\"outcome\":\"ok\",\
         \"listener\":\"0.0.0.0:443\",\"sni\":\"example.com\",\"alpn\":[\"h2\",\"http/1.1\"]}"
    );
    let record = unrouted("no-match", 3, None);
    assert_eq!(
        record.display(LogFormat::Json).to_string(),
        "{\"event\":\"connection\",\"peer\":\"[::1]:1\",\"up\":3,\"down\":0,\
         \"outcome\":\"no-match\",\"listener\":\"[::]:443\"}"
    );
}

#[test]
fn json_hostile_values_read_back() {
    for value in hostile() {
        let alpn = [value.clone(), "h2".to_owned()];
        let text = line(LogFormat::Json, Some(&value), &alpn, Some(&value));
        assert!(
            !text.contains(['\n', '\r', '\u{2028}']),
            "one line: {text:?}"
        );
        let Json::Object(fields) = parse_json(&text) else {
            panic!("an object: {text}")
        };
        assert_eq!(fields["up"], Json::Number(78.0));
        assert_eq!(fields["time_ms"], Json::Number(1.25));
        let expected = cut_str(&value);
        for key in ["sni", "host"] {
            assert_eq!(
                fields[key],
                Json::String(expected.clone()),
                "{key} of {value:?}"
            );
        }
        let Json::Array(protocols) = &fields["alpn"] else {
            panic!("an array: {text}")
        };
        assert_eq!(protocols[0], Json::String(expected.clone()));
        match value.len() {
            len if len < MAX_VALUE_BYTES => assert_eq!(protocols[1], Json::String("h2".into())),
            // The cut took the whole budget: "h2" is left out.
            _ => assert_eq!(
                protocols.len(),
                1 + (expected.len() == MAX_VALUE_BYTES) as usize
            ),
        }
    }
}

#[test]
fn json_escapes_control_characters_and_replaces_invalid_utf8() {
    let mut out = String::new();
    let mut escape = Escape::json(&mut out, MAX_VALUE_BYTES);
    escape
        .bytes(b"q\"b\\n\nr\rt\t\x00\x01\x1f\x7f\xff\xfe ok\xe2\x80\xa8")
        .unwrap();
    escape.finish().unwrap();
    assert_eq!(
        out,
        "q\\\"b\\\\n\\nr\\rt\\t\\u0000\\u0001\\u001f\\u007f\\ufffd\\ufffd ok\\u2028"
    );
    // Invalid UTF-8 at the cut, and 10 KB of it.
    for bytes in [[b'a'; 254].as_slice(), &[0xc3; 10 * 1024]] {
        let mut out = String::new();
        let mut escape = Escape::json(&mut out, MAX_VALUE_BYTES);
        escape.bytes(bytes).unwrap();
        escape.bytes(&[0xc3, 0xbc, 0xff]).unwrap();
        escape.finish().unwrap();
        let Json::String(decoded) = parse_json(&format!("\"{out}\"")) else {
            panic!("a string: {out}")
        };
        assert!(
            decoded.len() <= MAX_VALUE_BYTES * 3 + 3,
            "{}",
            decoded.len()
        );
    }
}

#[test]
fn text_escapes_invalid_utf8_byte_by_byte() {
    let mut out = String::new();
    let mut escape = Escape::text(&mut out, false, 8);
    escape.bytes(b"\xff\xc3a\"\\b,cdef").unwrap();
    escape.finish().unwrap();
    assert_eq!(out, "\\xff\\xc3a\\\"\\\\b,c...");
}

#[test]
fn startup_and_reload_lines() {
    let listening = ["127.0.0.1:443".to_owned(), "/run/front.sock".to_owned()];
    let routes = [
        "tls-sni:example.com=127.0.0.1:8443".to_owned(),
        "ssh=\"quoted\"".to_owned(),
    ];
    let line = |format, event, listening| {
        Routes {
            format,
            event,
            listening,
            routes: &routes,
        }
        .to_string()
    };
    assert_eq!(
        line(LogFormat::Text, "listening", &listening),
        "portshare listening on 127.0.0.1:443 /run/front.sock routes: \
         tls-sni:example.com=127.0.0.1:8443 ssh=\"quoted\""
    );
    assert_eq!(
        line(LogFormat::Text, "reloaded", &[]),
        "portshare reloaded routes: tls-sni:example.com=127.0.0.1:8443 ssh=\"quoted\""
    );
    let json = line(LogFormat::Json, "listening", &listening);
    assert_eq!(
        json,
        "{\"event\":\"listening\",\"listeners\":[\"127.0.0.1:443\",\"/run/front.sock\"],\
         \"routes\":[\"tls-sni:example.com=127.0.0.1:8443\",\"ssh=\\\"quoted\\\"\"]}"
    );
    parse_json(&json);
    let json = line(LogFormat::Json, "reloaded", &[]);
    assert!(
        json.starts_with("{\"event\":\"reloaded\",\"routes\":["),
        "{json}"
    );
    parse_json(&json);
}

/// The lines on stderr, from events `Mux` reports: `accept` failing on a
/// listener whose descriptors ran out would take a process-wide limit to
/// provoke, so the line is checked from a `Display` of the same shape.
#[test]
fn accept_failed_line_in_json() {
    let mut out = String::new();
    let mut object = JsonObject::new(&mut out).unwrap();
    object.string("event", "accept-failed").unwrap();
    object.display("listener", &"0.0.0.0:443").unwrap();
    let error = std::io::Error::other("Too many \"open\" files\n");
    object.display("error", &error).unwrap();
    object.number("retry_in_ms", &100u128).unwrap();
    object.finish().unwrap();
    let Json::Object(fields) = parse_json(&out) else {
        panic!("{out}")
    };
    assert_eq!(
        fields["error"],
        Json::String("Too many \"open\" files\n".into())
    );
}

fn cut_str(value: &str) -> String {
    if value.len() <= MAX_VALUE_BYTES {
        return value.to_owned();
    }
    let mut end = MAX_VALUE_BYTES;
    while !value.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", &value[..end])
}

/// A JSON value (RFC 8259), as the strict parser below reads it.
#[derive(Debug, PartialEq)]
enum Json {
    Null,
    Bool(bool),
    Number(f64),
    String(String),
    Array(Vec<Json>),
    Object(BTreeMap<String, Json>),
}

/// Parses one JSON text strictly; panics on anything RFC 8259 refuses
/// (raw control characters in strings, lone surrogates, trailing bytes).
fn parse_json(text: &str) -> Json {
    let mut parser = JsonParser {
        bytes: text.as_bytes(),
        at: 0,
    };
    let value = parser.value();
    assert_eq!(parser.at, text.len(), "trailing bytes in {text}");
    value
}

struct JsonParser<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl JsonParser<'_> {
    fn peek(&self) -> u8 {
        self.bytes[self.at]
    }

    fn expect(&mut self, byte: u8) {
        assert_eq!(self.peek() as char, byte as char, "at {}", self.at);
        self.at += 1;
    }

    /// After an opening `{` or `[`: items separated by commas, each read
    /// by `item`, up to `close`.
    fn items(&mut self, close: u8, mut item: impl FnMut(&mut Self)) {
        self.at += 1;
        if self.peek() == close {
            self.at += 1;
            return;
        }
        loop {
            item(self);
            match self.peek() {
                b',' => self.at += 1,
                _ => break,
            }
        }
        self.expect(close);
    }

    fn value(&mut self) -> Json {
        match self.peek() {
            b'{' => {
                let mut object = BTreeMap::new();
                self.items(b'}', |parser| {
                    let Json::String(key) = parser.value() else {
                        panic!("a key at {}", parser.at)
                    };
                    parser.expect(b':');
                    let value = parser.value();
                    assert!(object.insert(key, value).is_none(), "a key twice");
                });
                Json::Object(object)
            }
            b'[' => {
                let mut array = Vec::new();
                self.items(b']', |parser| array.push(parser.value()));
                Json::Array(array)
            }
            b'"' => Json::String(self.string()),
            b't' | b'f' | b'n' => {
                for (word, value) in [
                    ("true", Json::Bool(true)),
                    ("false", Json::Bool(false)),
                    ("null", Json::Null),
                ] {
                    if self.bytes[self.at..].starts_with(word.as_bytes()) {
                        self.at += word.len();
                        return value;
                    }
                }
                panic!("a bad word at {}", self.at)
            }
            _ => {
                let start = self.at;
                while self.at < self.bytes.len()
                    && matches!(self.peek(), b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9')
                {
                    self.at += 1;
                }
                let number = std::str::from_utf8(&self.bytes[start..self.at]).unwrap();
                assert!(
                    !number.starts_with('+') && !number.starts_with('.') && !number.ends_with('.'),
                    "{number}"
                );
                Json::Number(number.parse().expect("a number"))
            }
        }
    }

    fn string(&mut self) -> String {
        self.expect(b'"');
        let mut out = String::new();
        loop {
            let rest = std::str::from_utf8(&self.bytes[self.at..]).expect("UTF-8");
            let c = rest.chars().next().expect("a closing quote");
            self.at += c.len_utf8();
            match c {
                '"' => return out,
                '\0'..='\x1f' => panic!("a raw control character {c:?}"),
                '\\' => {
                    let escape = self.peek();
                    self.at += 1;
                    out.push(match escape {
                        b'"' => '"',
                        b'\\' => '\\',
                        b'/' => '/',
                        b'b' => '\x08',
                        b'f' => '\x0c',
                        b'n' => '\n',
                        b'r' => '\r',
                        b't' => '\t',
                        b'u' => {
                            let hex = std::str::from_utf8(&self.bytes[self.at..self.at + 4]);
                            self.at += 4;
                            let unit = u32::from_str_radix(hex.unwrap(), 16).unwrap();
                            char::from_u32(unit).expect("no surrogates")
                        }
                        other => panic!("a bad escape \\{}", other as char),
                    });
                }
                c => out.push(c),
            }
        }
    }
}

/// Displays as the client's bytes would, to feed `detail` hostile text.
struct Raw(&'static str);

impl fmt::Display for Raw {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

#[test]
fn json_detail_is_escaped() {
    let detail = Raw("line\nbreak \"quoted\" \u{1}");
    let mut record = unrouted("client-error", 0, Some(&detail));
    record.time = Some(Duration::ZERO);
    let Json::Object(fields) = parse_json(&record.display(LogFormat::Json).to_string()) else {
        panic!()
    };
    assert_eq!(
        fields["detail"],
        Json::String("line\nbreak \"quoted\" \u{1}".into())
    );
    assert_eq!(fields["time_ms"], Json::Number(0.0));
}
