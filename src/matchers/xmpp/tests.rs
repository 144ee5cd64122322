//! Tests of the XMPP matcher: the stream headers of three clients, each
//! rule byte by byte, the bound, and properties against a naive reading
//! of the header that looks at whole attributes.

use super::*;
use crate::conformance::Conformance;
use crate::matchers::testing::{assert_decides_at_last_byte, assert_settles, near_miss};
use proptest::prelude::*;
use Verdict::{Match, NeedMore, NoMatch};

/// What slixmpp 1.17.0 (PyPI), connecting as `alice@example.com` with TLS
/// off, sent to a listener: no declaration.
const SLIXMPP: &[u8] = b"<stream:stream to='example.com' \
xmlns:stream='http://etherx.jabber.org/streams' xmlns='jabber:client' xml:lang='en' \
version='1.0'>";
/// sendxmpp 1.24 (Debian 12, Net::XMPP 1.05), `-j 127.0.0.1:PORT -o
/// example.com`: a declaration, a `from`, a space before `>`.
const SENDXMPP: &[u8] = b"<?xml version='1.0'?><stream:stream version='1.0' \
xmlns:stream='http://etherx.jabber.org/streams' xmlns='jabber:client' to='example.com' \
from='localhost' xml:lang='en' >";
/// go-sendxmpp 0.5.6 (Debian 12), `-u alice@example.com -j
/// 127.0.0.1:PORT`: a line feed after the declaration and after the header.
const GO_SENDXMPP: &[u8] = b"<?xml version='1.0'?>\n<stream:stream to='example.com' \
xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>\n";

const STREAM_NAMESPACE: &str = "http://etherx.jabber.org/streams";

/// A stream header with `attributes` after `<stream:stream` (each with its
/// leading space), and `>`.
fn header(attributes: &str) -> Vec<u8> {
    format!("<stream:stream{attributes}>").into_bytes()
}

/// [`header`] with the two namespaces, for the client, before `attributes`.
fn client_header(attributes: &str) -> Vec<u8> {
    header(&format!(
        " xmlns='jabber:client' xmlns:stream='{STREAM_NAMESPACE}'{attributes}"
    ))
}

fn is_space(byte: &u8) -> bool {
    b" \t\r\n".contains(byte)
}

fn trim_start(text: &[u8]) -> &[u8] {
    let spaces = text.iter().take_while(|&b| is_space(b)).count();
    &text[spaces..]
}

/// Whether `name` is an XML name as the matcher reads one.
fn is_name(name: &[u8]) -> bool {
    let start = |b: u8| b.is_ascii_alphabetic() || b == b'_' || b == b':' || b >= 0x80;
    name.first().is_some_and(|&b| start(b))
        && name
            .iter()
            .all(|&b| start(b) || b.is_ascii_digit() || b == b'-' || b == b'.')
}

/// Attribute names and values, and the text after them.
type NaiveAttributes<'a> = (Vec<(&'a [u8], &'a [u8])>, &'a [u8]);

/// The attributes at the start of `text`, each after white space, until
/// white space and where `at_end` holds.
fn naive_attributes(
    mut text: &[u8],
    at_end: impl Fn(&[u8]) -> bool,
) -> Option<NaiveAttributes<'_>> {
    let mut attributes = Vec::new();
    loop {
        let trimmed = trim_start(text);
        if at_end(trimmed) {
            return Some((attributes, trimmed));
        }
        let equals = trimmed.iter().position(|&b| b == b'=')?;
        let name = &trimmed[..equals];
        let name = &name[..name.len() - name.iter().rev().take_while(|&b| is_space(b)).count()];
        let (&quote, quoted) = trim_start(&trimmed[equals + 1..]).split_first()?;
        let close = quoted.iter().position(|&b| b == quote)?;
        let value = &quoted[..close];
        let value_ok = !value
            .iter()
            .any(|&b| b == b'<' || (b < 0x20 && !is_space(&b)));
        if trimmed.len() == text.len() || !is_name(name) || !b"'\"".contains(&quote) || !value_ok {
            return None;
        }
        attributes.push((name, value));
        text = &quoted[close + 1..];
    }
}

/// Whether `seen` starts with a header the matcher takes, read naively:
/// the declaration found by its `?>`, attributes whole, then the rules
/// checked on the list.
fn naive_match(seen: &[u8]) -> bool {
    let mut rest = &seen[..seen.len().min(XMPP_MAX_HEADER_BYTES)];
    if let Some(after) = rest.strip_prefix(b"<?xml") {
        let Some(end) = after.windows(2).position(|pair| pair == b"?>") else {
            return false;
        };
        let Some((pseudo, _)) = naive_attributes(&after[..end], <[u8]>::is_empty) else {
            return false;
        };
        let names: Vec<&[u8]> = pseudo.iter().map(|&(name, _)| name).collect();
        let order_ok = [
            &[&b"version"[..]][..],
            &[b"version", b"encoding"],
            &[b"version", b"standalone"],
            &[b"version", b"encoding", b"standalone"],
        ]
        .contains(&&names[..]);
        let values_ok = pseudo.iter().all(|&(name, value)| match name {
            b"version" => value == b"1.0",
            b"encoding" => value.eq_ignore_ascii_case(b"utf-8"),
            _ => value == b"yes" || value == b"no",
        });
        if !order_ok || !values_ok {
            return false;
        }
        rest = trim_start(&after[end + 2..]);
    }
    let Some(tag) = rest.strip_prefix(b"<stream:stream") else {
        return false;
    };
    let Some((attributes, _)) = naive_attributes(tag, |t| t.starts_with(b">")) else {
        return false;
    };
    let value = |name: &[u8]| {
        let mut values = attributes.iter().filter(|&&(n, _)| n == name);
        match (values.next(), values.next()) {
            (_, Some(_)) => Err(()),
            (found, None) => Ok(found.map(|&(_, value)| value)),
        }
    };
    let known = ["xmlns", "xmlns:stream", "to", "from", "version", "xml:lang"];
    let Ok(values) = known
        .iter()
        .map(|name| value(name.as_bytes()))
        .collect::<Result<Vec<_>, _>>()
    else {
        return false;
    };
    let version_ok = values[4].is_none_or(|v| {
        let text = String::from_utf8_lossy(v);
        let parts: Vec<&str> = text.split('.').collect();
        parts.len() == 2
            && parts
                .iter()
                .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
    });
    matches!(values[0], Some(b"jabber:client" | b"jabber:server"))
        && values[1] == Some(STREAM_NAMESPACE.as_bytes())
        && version_ok
        && values[2..]
            .iter()
            .flatten()
            .all(|v| std::str::from_utf8(v).is_ok())
}

#[test]
fn client_captures() {
    let cases = [
        (SLIXMPP, SLIXMPP.len(), None),
        (SENDXMPP, SENDXMPP.len(), Some("localhost")),
        (GO_SENDXMPP, GO_SENDXMPP.len() - 1, None),
    ];
    for (capture, header_end, from) in cases {
        assert_decides_at_last_byte(&xmpp(), &capture[..header_end], Match);
        assert_eq!(xmpp().verdict(capture), Match);
        assert!(naive_match(capture));
        let header = xmpp_stream_header(capture).unwrap();
        assert_eq!(header.namespace, XmppNamespace::Client);
        assert_eq!(header.to, Some("example.com"));
        assert_eq!(header.from, from);
        assert_eq!(header.version, Some("1.0"));
        assert_settles(capture, xmpp_stream_header);
    }
}

#[test]
fn decides_at_the_first_byte_that_tells() {
    let ns = format!("xmlns='jabber:client' xmlns:stream='{STREAM_NAMESPACE}'");
    let with = |text: String| text.into_bytes();
    let cases: Vec<(Vec<u8>, Verdict)> = vec![
        // Whole headers: Match at their ">".
        (client_header(""), Match),
        (
            header(&format!(
                " xmlns:stream='{STREAM_NAMESPACE}' xmlns='jabber:server'"
            )),
            Match,
        ),
        (
            header(&format!(
                " xmlns=\"jabber:client\" xmlns:stream=\"{STREAM_NAMESPACE}\""
            )),
            Match,
        ),
        (
            header(&format!(
                "\n\txmlns = 'jabber:client'\r\nxmlns:stream=\t'{STREAM_NAMESPACE}' "
            )),
            Match,
        ),
        (
            client_header(" to='example.com' version='1.0' xml:lang='en' id='x'"),
            Match,
        ),
        (
            client_header(" xmlns:db='jabber:server:dialback' from='a.example'"),
            Match,
        ),
        (client_header(" to='a>b' x='\"'"), Match),
        (client_header(" version='10.20'"), Match),
        (client_header(" _x-1.y='' \u{e9}t\u{e9}='caf\u{e9}'"), Match),
        (
            with(format!("<?xml version='1.0'?><stream:stream {ns}>")),
            Match,
        ),
        (
            with(format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<stream:stream {ns}>"
            )),
            Match,
        ),
        (
            with(format!(
                "<?xml version='1.0' encoding='utf-8' standalone='yes' ?> <stream:stream {ns}>"
            )),
            Match,
        ),
        (
            with(format!(
                "<?xml version = '1.0' standalone='no'?><stream:stream {ns}>"
            )),
            Match,
        ),
        // The first bytes.
        (b"x".to_vec(), NoMatch),
        (b" ".to_vec(), NoMatch),
        (b"\xef".to_vec(), NoMatch),
        (b"<x".to_vec(), NoMatch),
        (b"<h".to_vec(), NoMatch),
        (b"<1".to_vec(), NoMatch),
        (b"<!".to_vec(), NoMatch),
        (b"<stream:streaM".to_vec(), NoMatch),
        (b"<stream:stream:".to_vec(), NoMatch),
        (b"<S".to_vec(), NoMatch),
        // The declaration: version 1.0 first, then encoding UTF-8 and
        // standalone in order.
        (b"<?xm ".to_vec(), NoMatch),
        (b"<?xml?".to_vec(), NoMatch),
        (b"<?xmlv".to_vec(), NoMatch),
        (b"<?xml ?".to_vec(), NoMatch),
        (b"<?xml e".to_vec(), NoMatch),
        (b"<?xml versiom".to_vec(), NoMatch),
        (b"<?xml version=1".to_vec(), NoMatch),
        (b"<?xml version='1.1".to_vec(), NoMatch),
        (b"<?xml version='1.0\"".to_vec(), NoMatch),
        (b"<?xml version='1.0'e".to_vec(), NoMatch),
        (b"<?xml version='1.0' v".to_vec(), NoMatch),
        (b"<?xml version='1.0' encoding='l".to_vec(), NoMatch),
        (b"<?xml version='1.0' encoding='UTF-8' ?".to_vec(), NeedMore),
        (b"<?xml version='1.0' encoding='UTF-8' ?x".to_vec(), NoMatch),
        (b"<?xml version='1.0' standalone='yes' e".to_vec(), NoMatch),
        (b"<?xml version='1.0' standalone='m".to_vec(), NoMatch),
        (b"<?xml version='1.0'?>x".to_vec(), NoMatch),
        (b"<?xml version='1.0'?><!".to_vec(), NoMatch),
        (b"<?xml version='1.0'?><h".to_vec(), NoMatch),
        // Attributes: white space before each, a name, "=", a quote, no
        // "<" or control byte in the value.
        (b"<stream:stream>".to_vec(), NoMatch),
        (b"<stream:stream/".to_vec(), NoMatch),
        (b"<stream:stream /".to_vec(), NoMatch),
        (b"<stream:stream 1".to_vec(), NoMatch),
        (b"<stream:stream -".to_vec(), NoMatch),
        (b"<stream:stream to'".to_vec(), NoMatch),
        (b"<stream:stream to=e".to_vec(), NoMatch),
        (b"<stream:stream to='a'f".to_vec(), NoMatch),
        (b"<stream:stream to='a<".to_vec(), NoMatch),
        (b"<stream:stream to='a\x01".to_vec(), NoMatch),
        (b"<stream:stream to='a' to=".to_vec(), NoMatch),
        // The namespaces, at the first byte that departs from both.
        (b"<stream:stream xmlns='jabber:co".to_vec(), NoMatch),
        (b"<stream:stream xmlns='jabber:clients".to_vec(), NoMatch),
        (b"<stream:stream xmlns='jabber:clien'".to_vec(), NoMatch),
        (b"<stream:stream xmlns='J".to_vec(), NoMatch),
        (
            b"<stream:stream xmlns='jabber:client' xmlns=".to_vec(),
            NoMatch,
        ),
        (b"<stream:stream xmlns:stream='https".to_vec(), NoMatch),
        (
            b"<stream:stream xmlns:stream='http://etherx.jabber.org/stream'".to_vec(),
            NoMatch,
        ),
        // At ">": both namespaces, a version of digits, a dot, digits.
        (b"<stream:stream xmlns='jabber:client'>".to_vec(), NoMatch),
        (
            with(format!("<stream:stream xmlns:stream='{STREAM_NAMESPACE}'>")),
            NoMatch,
        ),
        (client_header(" version='1'"), NoMatch),
        (client_header(" version='1.0.0'"), NoMatch),
        (client_header(" version='a.b'"), NoMatch),
        (client_header(" version=''"), NoMatch),
        (
            [&b"<stream:stream to='\xc3' "[..], ns.as_bytes(), b">"].concat(),
            NoMatch,
        ),
        (with(format!("<stream:stream {ns}/")), NoMatch),
    ];
    for (seen, want) in cases {
        assert_decides_at_last_byte(&xmpp(), &seen, want);
        assert_eq!(
            naive_match(&seen),
            want == Match,
            "naive {:?}",
            String::from_utf8_lossy(&seen)
        );
    }
}

#[test]
fn headers_are_bounded() {
    let opening = client_header(" to='");
    let mut longest = opening[..opening.len() - 1].to_vec();
    longest.resize(XMPP_MAX_HEADER_BYTES - 2, b'a');
    longest.extend(b"'>");
    assert_eq!(longest.len(), XMPP_MAX_HEADER_BYTES);
    assert_decides_at_last_byte(&xmpp(), &longest, Match);
    let to = xmpp_stream_header(&longest).unwrap().to.unwrap();
    assert_eq!(to.len(), XMPP_MAX_HEADER_BYTES - opening.len() - 1);
    let mut too_long = longest[..longest.len() - 2].to_vec();
    too_long.extend(b"a'>");
    assert_decides_at_last_byte(&xmpp(), &too_long[..XMPP_MAX_HEADER_BYTES], NoMatch);
    let spaces = [
        &b"<?xml version='1.0'?>"[..],
        &[b' '; XMPP_MAX_HEADER_BYTES],
    ]
    .concat();
    assert_decides_at_last_byte(&xmpp(), &spaces[..XMPP_MAX_HEADER_BYTES], NoMatch);
}

#[test]
fn header_attributes() {
    let cases: &[(&[u8], Option<XmppStreamHeader>)] = &[
        (
            b"<stream:stream xmlns='jabber:server' xmlns:stream='http://etherx.jabber.org/streams' \
            from='a.example' to='b.example' version='1.0' xml:lang='de'>",
            Some(XmppStreamHeader {
                namespace: XmppNamespace::Server,
                to: Some("b.example"),
                from: Some("a.example"),
                version: Some("1.0"),
                lang: Some("de"),
            }),
        ),
        (
            b"<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' \
            to=\"caf\xc3\xa9.example\" from='j&apos;s@x'>",
            Some(XmppStreamHeader {
                namespace: XmppNamespace::Client,
                to: Some("caf\u{e9}.example"),
                from: Some("j&apos;s@x"),
                version: None,
                lang: None,
            }),
        ),
        (b"<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'", None),
        (b"<stream:stream xmlns='jabber:client'>", None),
        (b"<html>", None),
    ];
    for (seen, want) in cases {
        assert_eq!(
            xmpp_stream_header(seen),
            *want,
            "{:?}",
            String::from_utf8_lossy(seen)
        );
    }
}

#[test]
fn other_protocols_do_not_match() {
    for seen in [
        &b"GET / HTTP/1.1\r\n"[..],
        b"<13>1 2026-12-06T13:11:45Z vm root - - - hello\n",
        b"<html><body>",
        b"<?xml version='1.0'?><soap:Envelope>",
        b"<open xmlns='urn:ietf:params:xml:ns:xmpp-framing' to='example.com' version='1.0'/>",
        b"<stream:stream xmlns='jabber:component:accept' xmlns:stream='http://etherx.jabber.org/streams' to='c.example'>",
        b"SSH-2.0-OpenSSH_9.2p1\r\n",
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",
    ] {
        assert_eq!(xmpp().verdict(seen), NoMatch, "{:?}", String::from_utf8_lossy(seen));
    }
}

/// What a generated stream header says: server or client, `to`, `from`,
/// `version`, `xml:lang`.
type Fields = (
    bool,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
);

/// A stream header as clients and servers write it: an optional
/// declaration, the attributes in any order and either quote, optional
/// ones present or not, varied white space, then anything; with what it
/// says.
fn stream_header_with_fields() -> impl Strategy<Value = (Vec<u8>, Fields)> {
    let space = || prop::sample::select(vec![" ", "  ", "\n", "\t", "\r\n "]);
    let optional_space = || prop::sample::select(vec!["", "", " ", "\n"]);
    let quote = || prop::sample::select(vec!['\'', '"']);
    let declaration = prop::option::of((
        quote(),
        prop::option::of(prop::sample::select(vec!["UTF-8", "utf-8"])),
        prop::option::of(prop::sample::select(vec!["yes", "no"])),
        optional_space(),
    ))
    .prop_map(|declaration| match declaration {
        None => String::new(),
        Some((q, encoding, standalone, after)) => {
            let encoding = encoding.map_or(String::new(), |e| format!(" encoding={q}{e}{q}"));
            let standalone = standalone.map_or(String::new(), |s| format!(" standalone={q}{s}{q}"));
            format!("<?xml version={q}1.0{q}{encoding}{standalone}?>{after}")
        }
    });
    let fields = (
        any::<bool>(),
        prop::option::of("[a-z0-9.-]{1,30}"),
        prop::option::of("[a-z0-9]{1,10}@[a-z0-9.-]{1,20}(/[a-z]{1,8})?"),
        prop::option::of("[0-9]{1,2}\\.[0-9]{1,2}"),
        prop::option::of("[a-z]{2}(-[A-Z]{2})?"),
    );
    (fields, any::<bool>())
        .prop_flat_map(|(fields, dialback)| {
            let (server, to, from, version, lang) = fields.clone();
            let namespace = if server {
                "jabber:server"
            } else {
                "jabber:client"
            };
            let mut attributes = vec![
                ("xmlns", namespace.to_string()),
                ("xmlns:stream", STREAM_NAMESPACE.to_string()),
            ];
            let optional = [
                ("to", to),
                ("from", from),
                ("version", version),
                ("xml:lang", lang),
            ];
            attributes.extend(optional.into_iter().filter_map(|(n, v)| v.map(|v| (n, v))));
            if dialback {
                attributes.push(("xmlns:db", "jabber:server:dialback".to_string()));
            }
            (Just(fields), Just(attributes).prop_shuffle())
        })
        .prop_flat_map(move |(fields, attributes)| {
            (
                Just(fields),
                Just(attributes),
                declaration.clone(),
                prop::collection::vec((space(), quote(), optional_space()), 8),
                optional_space(),
                prop::collection::vec(any::<u8>(), 0..16),
            )
        })
        .prop_map(|(fields, attributes, declaration, styles, end, rest)| {
            let mut header = format!("{declaration}<stream:stream");
            for ((name, value), (before, q, around)) in attributes.iter().zip(styles) {
                header.push_str(&format!("{before}{name}{around}={around}{q}{value}{q}"));
            }
            (
                [format!("{header}{end}>").as_bytes(), &rest].concat(),
                fields,
            )
        })
}

fn stream_header() -> impl Strategy<Value = Vec<u8>> {
    stream_header_with_fields().prop_map(|(header, _)| header)
}

proptest! {
    #[test]
    fn stream_headers_match_with_their_attributes(
        (data, (server, to, from, version, lang)) in stream_header_with_fields(),
    ) {
        prop_assert_eq!(xmpp().verdict(&data), Match);
        prop_assert!(naive_match(&data));
        let header = xmpp_stream_header(&data).unwrap();
        let namespace = if server { XmppNamespace::Server } else { XmppNamespace::Client };
        prop_assert_eq!(header.namespace, namespace);
        prop_assert_eq!(header.to, to.as_deref());
        prop_assert_eq!(header.from, from.as_deref());
        prop_assert_eq!(header.version, version.as_deref());
        prop_assert_eq!(header.lang, lang.as_deref());
        assert_settles(&data, xmpp_stream_header);
    }

    #[test]
    fn monotone_and_naive_near_headers(data in near_miss(stream_header())) {
        Conformance::new(&xmpp()).assert(&data);
        prop_assert_eq!(xmpp().verdict(&data) == Match, naive_match(&data));
        if xmpp_stream_header(&data).is_some() {
            prop_assert_eq!(xmpp().verdict(&data), Match);
        }
        assert_settles(&data, xmpp_stream_header);
    }

    #[test]
    fn monotone_on_arbitrary_bytes(data in prop::collection::vec(any::<u8>(), 0..64)) {
        Conformance::new(&xmpp()).assert(&data);
        prop_assert_eq!(xmpp().verdict(&data) == Match, naive_match(&data));
        let _ = xmpp_stream_header(&data);
    }

    #[test]
    fn chunk_invariant(
        data in prop_oneof![stream_header(), near_miss(stream_header())],
        chunk_sizes in prop::collection::vec(1usize..=256, 1..8),
    ) {
        Conformance::new(&xmpp()).assert_chunking(&data, &chunk_sizes);
    }

    #[test]
    fn decides_within_the_bound(
        opening in prop_oneof![stream_header(), near_miss(stream_header())],
        filler in prop::collection::vec(prop::sample::select(&b" ='\"<>?xmlns:abc"[..]), XMPP_MAX_HEADER_BYTES),
    ) {
        let data = [&opening[..], &filler].concat();
        Conformance::new(&xmpp()).bound(XMPP_MAX_HEADER_BYTES).fuzz(&data);
    }
}
