//! Tests of the sslh reader: libconfig syntax and its errors, PCRE
//! rewriting, and the translation of sslh's own example configurations
//! and of Debian's sslh command line, setting by setting.

use std::fs;
use std::path::{Path, PathBuf};

use proptest::prelude::*;

use super::libconfig::{parse_bytes, parse_file, Node, Value, MAX_INCLUDE_DEPTH, MAX_NESTING};
use super::services::Services;
use super::translate::translate;
use super::{flags, pcre, read_config, NoticeKind, Setting, Translation};

/// Where a setting was given, without the `: ` messages add.
fn origin_of(setting: &Setting) -> &str {
    setting.origin.strip_suffix(": ").expect("an origin")
}

/// The services(5) entries the fixtures name, as Debian 12's /etc/services has them.
const SERVICES: &str = "ssh\t\t22/tcp\t\t\t\t# SSH Remote Login Protocol
https\t\t443/tcp\t\t\t\t# http protocol over TLS/SSL
daytime\t\t13/tcp
daytime\t\t13/udp
xmpp-client\t5222/tcp\tjabber-client\t# Jabber Client Connection
";

/// A translation as lines a reader can check: settings as portshare's
/// command line spells them, then notices; fixture paths shortened.
fn render(translation: &Translation) -> String {
    let mut lines = Vec::new();
    for setting in &translation.settings {
        match &setting.value {
            Some(value) => lines.push(format!(
                "--{} {value}  @ {}",
                setting.name,
                origin_of(setting)
            )),
            None => lines.push(format!("--{}  @ {}", setting.name, origin_of(setting))),
        }
    }
    for notice in &translation.notices {
        let kind = match notice.kind {
            NoticeKind::Ignored => "ignored",
            NoticeKind::Unsupported => "UNSUPPORTED",
        };
        lines.push(format!(
            "{kind} {} @ {}: {}",
            notice.option, notice.origin, notice.message
        ));
    }
    let text = lines.join("\n") + "\n";
    text.replace(&format!("{}/", fixtures().display()), "")
}

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/sslh")
}

fn translate_fixture(name: &str, services: &str) -> Result<Translation, String> {
    let root = parse_file(&fixtures().join(name)).map_err(|error| error.to_string())?;
    translate(&root, &mut Services::from_text("services", services))
}

fn parse(text: &str) -> Vec<Node> {
    parse_bytes("t.cfg", text.as_bytes()).unwrap_or_else(|error| panic!("{text:?}: {error}"))
}

/// The value of the single setting `text` holds.
fn value(text: &str) -> Value {
    let nodes = parse(text);
    assert_eq!(nodes.len(), 1, "{text:?}");
    nodes[0].value.clone()
}

fn error(text: &str) -> String {
    match parse_bytes("t.cfg", text.as_bytes()) {
        Ok(nodes) => panic!("{text:?} parsed: {nodes:?}"),
        Err(error) => error.to_string(),
    }
}

fn str_value(text: &str) -> Value {
    Value::Str(text.as_bytes().to_vec())
}

// ---- libconfig syntax ----

#[test]
fn scalars() {
    let table: &[(&str, Value)] = &[
        ("a = 1;", Value::Int(1)),
        ("a: 1;", Value::Int(1)),
        ("a = 1,", Value::Int(1)),
        ("a = 1", Value::Int(1)),
        ("a = -42;", Value::Int(-42)),
        ("a = +7;", Value::Int(7)),
        ("a = 0x1F;", Value::Int(31)),
        ("a = 0XffL;", Value::Int(255)),
        ("a = 12L;", Value::Int(12)),
        ("a = 12LL;", Value::Int(12)),
        ("a = 4294967296;", Value::Int(4_294_967_296)),
        ("a = -9223372036854775808;", Value::Int(i64::MIN)),
        ("a = 0xFFFFFFFFFFFFFFFF;", Value::Int(-1)),
        ("a = 1.5;", Value::Float(1.5)),
        ("a = .5;", Value::Float(0.5)),
        ("a = 2.;", Value::Float(2.0)),
        ("a = 1e3;", Value::Float(1000.0)),
        ("a = -2.5e-3;", Value::Float(-0.0025)),
        ("a = true;", Value::Bool(true)),
        ("a = TRUE;", Value::Bool(true)),
        ("a = False;", Value::Bool(false)),
        (r#"a = "x";"#, str_value("x")),
        (r#"a = "";"#, str_value("")),
        (r#"a = "q\"b\\s\n\r\t\f";"#, str_value("q\"b\\s\n\r\t\x0C")),
        (r#"a = "\x41\x00\xff";"#, Value::Str(vec![0x41, 0x00, 0xFF])),
        // A backslash that starts no escape stays (libconfig's scanner).
        (r#"a = "\d\x4";"#, str_value("\\d\\x4")),
        (
            r#"a = "con" "cat"  /* c */ "enated";"#,
            str_value("concatenated"),
        ),
        ("a = \"two\"\n    \"lines\";", str_value("twolines")),
    ];
    for (text, expected) in table {
        assert_eq!(value(text), *expected, "{text}");
    }
}

#[test]
fn groups_lists_arrays_and_lines() {
    let text = "# sslh-like\n\
                top: {\n\
                  inner = ( 1, \"two\", { x = true; }, [ 3, 4 ], () );\n\
                  empty = {};\n\
                  arr = [ \"a\", \"b\", ];\n\
                };\n\
                // trailing comment\n\
                last = [];\n";
    let nodes = parse(text);
    assert_eq!(nodes.len(), 2);
    assert_eq!((nodes[0].name.as_deref(), nodes[0].line), (Some("top"), 2));
    assert_eq!((nodes[1].name.as_deref(), nodes[1].line), (Some("last"), 8));
    assert_eq!(nodes[1].value, Value::Array(Vec::new()));
    let inner = nodes[0].get("inner").expect("inner");
    assert_eq!(inner.line, 3);
    let Value::List(elements) = &inner.value else {
        panic!("{inner:?}")
    };
    assert_eq!(elements.len(), 5);
    assert_eq!(elements[0].value, Value::Int(1));
    assert_eq!(elements[1].value, str_value("two"));
    assert_eq!(
        elements[2].get("x").map(|node| &node.value),
        Some(&Value::Bool(true))
    );
    assert!(matches!(&elements[3].value, Value::Array(numbers) if numbers.len() == 2));
    assert_eq!(elements[4].value, Value::List(Vec::new()));
    assert_eq!(
        nodes[0].get("empty").map(|node| &node.value),
        Some(&Value::Group(Vec::new()))
    );
    let Some(Value::Array(strings)) = nodes[0].get("arr").map(|node| &node.value) else {
        panic!()
    };
    assert_eq!(strings.len(), 2);
    assert_eq!(
        nodes[0].get("arr").map(Node::origin).as_deref(),
        Some("t.cfg:5")
    );
}

#[test]
fn names_and_comments() {
    let nodes = parse("on-timeout: \"x\"; syslog_facility = \"auth\"\n*star: 1 /* multi\nline */ b: 2 # end\nc: 3 // end\n");
    let names: Vec<_> = nodes
        .iter()
        .map(|node| (node.name.clone().unwrap_or_default(), node.line))
        .collect();
    assert_eq!(
        names,
        [
            ("on-timeout".into(), 1),
            ("syslog_facility".into(), 1),
            ("*star".into(), 2),
            ("b".into(), 3),
            ("c".into(), 4)
        ]
    );
}

#[test]
fn errors_say_where_and_what() {
    let table: &[(&str, &str)] = &[
        ("a 1;", "t.cfg:1:3: expected '=' or ':' after 'a', found an integer"),
        ("a = ;", "t.cfg:1:5: expected a value, found ';'"),
        ("a = 1;\nb = \"open", "t.cfg:2:5: unterminated string: expected '\"'"),
        ("a = 1.2.3;", "t.cfg:1:5: '1.2.3' is not a number"),
        ("a = 12x;", "t.cfg:1:5: '12x' is not a number"),
        ("a = 99999999999999999999;", "t.cfg:1:5: '99999999999999999999' does not fit in 64 bits"),
        ("a = 1; a = 2;", "t.cfg:1:8: duplicate setting 'a' in the same group"),
        ("a = [1, \"x\"];", "t.cfg:1:1: an array holds one kind of scalar: a string after an integer"),
        ("a = [ {} ];", "t.cfg:1:1: an array holds scalars, not a group"),
        ("a = { b = 1;", "t.cfg:1:13: expected a setting name or '}', found the end of the file"),
        ("a = ( 1 2 );", "t.cfg:1:9: expected ',' or ')', found an integer"),
        ("a = 1; }", "t.cfg:1:8: expected a setting name, found '}'"),
        ("a = 1; /* open", "t.cfg:1:8: unterminated /* comment"),
        ("a = 1 @", "t.cfg:1:7: unexpected character '@'"),
        ("\n  a = \x01;", "t.cfg:2:7: unexpected character 0x01"),
        ("@include \"/nonexistent/sslh.cfg\"", "t.cfg:1:1: cannot include '/nonexistent/sslh.cfg': No such file or directory (os error 2)"),
        ("@inclued \"x\"", "t.cfg:1:1: expected @include \"FILE\""),
    ];
    for (text, expected) in table {
        assert_eq!(error(text), *expected, "{text:?}");
    }
}

#[test]
fn nesting_is_bounded() {
    let deep = |levels: usize| format!("a = {}1{};", "(".repeat(levels), ")".repeat(levels));
    assert!(parse_bytes("t.cfg", deep(MAX_NESTING).as_bytes()).is_ok());
    assert_eq!(
        error(&deep(MAX_NESTING + 1)),
        format!(
            "t.cfg:1:{}: nested deeper than {MAX_NESTING} levels",
            MAX_NESTING + 5
        )
    );
    // Far deeper input fails at the limit, without recursing further.
    assert!(error(&format!("a = {}", "(".repeat(100_000))).contains("nested deeper"));
}

/// A fresh directory for include tests.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("portshare-sslh-{name}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(dir.join("conf.d")).expect("scratch directory");
    dir
}

#[test]
fn include_reads_relative_to_the_including_file() {
    let dir = scratch("include");
    fs::write(
        dir.join("main.cfg"),
        "a = 1;\n  @include \"conf.d/more.cfg\"\nc = 3;\n",
    )
    .unwrap();
    fs::write(dir.join("conf.d/more.cfg"), "# more\nb = { x = 2; };\n").unwrap();
    let nodes = parse_file(&dir.join("main.cfg")).expect("parses");
    let places: Vec<_> = nodes
        .iter()
        .map(|node| (node.name.clone().unwrap_or_default(), node.origin()))
        .collect();
    let main = dir.join("main.cfg").display().to_string();
    let more = dir.join("conf.d/more.cfg").display().to_string();
    assert_eq!(
        places,
        [
            ("a".into(), format!("{main}:1")),
            ("b".into(), format!("{more}:2")),
            ("c".into(), format!("{main}:3"))
        ]
    );
    // An error in the included file names it.
    fs::write(dir.join("conf.d/more.cfg"), "b = ;\n").unwrap();
    assert_eq!(
        parse_file(&dir.join("main.cfg")).unwrap_err().to_string(),
        format!("{more}:1:5: expected a value, found ';'")
    );
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn include_cycles_and_depth_are_refused() {
    let dir = scratch("cycle");
    fs::write(dir.join("a.cfg"), "@include \"conf.d/b.cfg\"\n").unwrap();
    fs::write(dir.join("conf.d/b.cfg"), "@include \"../a.cfg\"\n").unwrap();
    let message = parse_file(&dir.join("a.cfg")).unwrap_err().to_string();
    assert!(
        message.ends_with("includes itself (an @include cycle)"),
        "{message}"
    );
    assert!(
        message.starts_with(&format!("{}:1:1: ", dir.join("conf.d/b.cfg").display())),
        "{message}"
    );

    // A chain: n0 includes n1 ... includes nK.
    for files in [MAX_INCLUDE_DEPTH + 1, MAX_INCLUDE_DEPTH + 2] {
        for index in 0..files {
            let text = if index + 1 < files {
                format!("@include \"n{}.cfg\"\n", index + 1)
            } else {
                "leaf = 1;\n".into()
            };
            fs::write(dir.join(format!("n{index}.cfg")), text).unwrap();
        }
        let result = parse_file(&dir.join("n0.cfg"));
        if files == MAX_INCLUDE_DEPTH + 1 {
            assert_eq!(result.expect("at the limit").len(), 1);
        } else {
            assert!(result.unwrap_err().message.contains("nested deeper than"));
        }
    }
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn a_missing_file_is_an_error() {
    let message = read_config(Path::new("/nonexistent/sslh.cfg")).unwrap_err();
    assert_eq!(
        message,
        "/nonexistent/sslh.cfg: cannot read: No such file or directory (os error 2)"
    );
}

// ---- PCRE rewriting ----

#[test]
fn regexes_become_patterns() {
    let table: &[(&[u8], &str)] = &[
        (b"^SSH-", "pattern:SSH\\x2D"),
        (b"jabber", "pattern:?{0,1024}jabber"),
        (b"^GET |^POST ", "pattern:GET\\x20|POST\\x20"),
        (b"^a|b|c", "pattern:a|?{0,1024}(b|c)"),
        (b"\\x51\\x30", "pattern:?{0,1024}Q0"),
        (b"^[\x40-\x7F\xC0-\xFF]", "pattern:[\\x40-\\x7F\\xC0-\\xFF]"),
        (
            b"^\\x16\\x03[\\x00-\\x03]",
            "pattern:\\x16\\x03[\\x00-\\x03]",
        ),
        (b"^a.c", "pattern:a[^\\x0A]c"),
        (b"^[^a-c]", "pattern:[^\\x61-\\x63]"),
        (b"^\\d{2,4}x", "pattern:[\\x30-\\x39]{2,4}x"),
        (b"^[\\d_]", "pattern:[\\x5F\\x30-\\x39]"),
        (b"^\\S", "pattern:[^\\x09-\\x0D\\x20]"),
        (b"^ab?c", "pattern:ab{0,1}c"),
        (b"^(?:ab)+?c", "pattern:(ab){1,1024}c"),
        (b"^(GET|HEAD) /", "pattern:(GET|HEAD)\\x20\\x2F"),
        (b"^a{3}", "pattern:a{3}"),
        (b"^a{,3}", "pattern:a\\x7B\\x2C3\\x7D"),
        (b"^\\.\\*\\$", "pattern:\\x2E\\x2A\\x24"),
        (b"^x=y+z", "pattern:x\\x3Dy{1,1024}z"),
        // Anything an alternative of which matches nothing matches all.
        (b"", "any"),
        (b"^", "any"),
        (b"a|", "any"),
        (b"x*", "any"),
        (b"^(a|)", "any"),
    ];
    for (regex, expected) in table {
        let rewritten = pcre::rewrite(regex)
            .unwrap_or_else(|error| panic!("{:?}: {error}", pcre::printable(regex)));
        assert_eq!(rewritten.spec, *expected, "{}", pcre::printable(regex));
        if let Some(pattern) = expected.strip_prefix("pattern:") {
            assert!(connmux::matchers::pattern(pattern).is_ok(), "{pattern}");
        }
    }
}

#[test]
fn regex_caveats() {
    let rewritten = pcre::rewrite(b"^a+b*").expect("rewrites");
    assert_eq!(rewritten.spec, "pattern:a{1,1024}b{0,1024}");
    assert_eq!(
        rewritten.caveats,
        [
            (
                NoticeKind::Unsupported,
                "'+' repeats at most 1024 times in portshare (in sslh, any number)".to_owned()
            ),
            (
                NoticeKind::Unsupported,
                "'*' repeats at most 1024 times in portshare (in sslh, any number)".to_owned()
            ),
        ]
    );
    let rewritten = pcre::rewrite(b"^\x00[\x0D-\xFF]$").expect("rewrites");
    assert_eq!(rewritten.spec, "any");
    assert_eq!(
        rewritten.caveats,
        [(NoticeKind::Ignored, "sslh reads the pattern as a C string, up to its \\x00 byte: it matches /^/, and portshare does the same".to_owned())]
    );
}

#[test]
fn regexes_refused() {
    let table: &[(&[u8], &str)] = &[
        (b"^abc$", "'$' is refused: sslh tests it against the bytes that have arrived so far, so whether it matches depends on how the client's packets are cut (at byte 5 of /^abc$/)"),
        (b"a^b", "'^' is only understood at the start of an alternative (at byte 2 of /a^b/)"),
        (b"(a)\\1", "'\\1' (a back-reference, anchor or PCRE-specific escape) is refused (at byte 5 of /(a)\\1/)"),
        (b"\\bword", "'\\b' (a back-reference, anchor or PCRE-specific escape) is refused (at byte 2 of /\\bword/)"),
        (b"(?i)get", "'(?' groups (options, look-arounds, named groups) are refused (at byte 1 of /(?i)get/)"),
        (b"(?=a)", "'(?' groups (options, look-arounds, named groups) are refused (at byte 1 of /(?=a)/)"),
        (b"[[:alpha:]]", "POSIX classes ([:alpha:]) are refused (at byte 1 of /[[:alpha:]]/)"),
        (b"*a", "a repetition with nothing to repeat (at byte 1 of /*a/)"),
        (b"(ab", "a '(' without its ')' (at byte 3 of /(ab/)"),
        (b"ab)", "an unmatched ')' (at byte 2 of /ab)/)"),
        (b"[ab", "a '[' without its ']' (at byte 3 of /[ab/)"),
        (b"[z-a]", "a class range whose end is below its start (at byte 4 of /[z-a]/)"),
        (b"a{2000}", "a repetition count above 1024 (at byte 7 of /a{2000}/)"),
        (b"a{3,2}", "a repetition {m,n} with m above n (at byte 6 of /a{3,2}/)"),
        (b"\\x{100}", "a character above \\xFF (at byte 7 of /\\x{100}/)"),
    ];
    for (regex, expected) in table {
        assert_eq!(
            pcre::rewrite(regex).unwrap_err(),
            *expected,
            "{}",
            pcre::printable(regex)
        );
    }
    // Within every bound alone, too large together.
    let message = pcre::rewrite(b"^x(abcd)*(efgh)*").unwrap_err();
    assert!(
        message.starts_with(
            "its rewrite 'x(abcd){0,1024}(efgh){0,1024}' is not a portshare pattern: "
        ),
        "{message}"
    );
}

// ---- translation of whole configurations ----

/// Debian's packaged example (sslh 1.20-1+deb12u1,
/// /usr/share/doc/sslh/examples/example.cfg).
#[test]
fn debian_example_cfg() {
    let translation = translate_fixture("example.cfg", SERVICES).expect("translates");
    assert_eq!(
        render(&translation),
        r"--timeout 2000  @ example.cfg:11
--pidfile /var/run/sslh.pid  @ example.cfg:13
--listen thelonious:443  @ example.cfg:26
--listen thelonious:8080  @ example.cfg:27
--route ssh=localhost:22 name=ssh  @ example.cfg:69
--route http1=localhost:80 name=http  @ example.cfg:70
--route tls-sni:im.somethingelse.net+tls-alpn:xmpp-client=localhost:5223 name=tls log=off  @ example.cfg:73
--route tls-alpn:h2,http/1.1,spdy/1,spdy/2,spdy/3=localhost:443 name=tls log=off  @ example.cfg:76
--route tls-alpn:xmpp-client=localhost:5222 name=tls log=off  @ example.cfg:77
--route tls-sni:mail.rutschle.net,mail.englishintoulouse.com=localhost:993 name=tls log=off  @ example.cfg:80
--route tls-sni:im.rutschle.net,im.englishintoulouse.com=localhost:5222 name=tls log=off  @ example.cfg:81
--route tls=localhost:443 name=tls  @ example.cfg:87
--route any=localhost:1194 name=regex  @ example.cfg:91
--route pattern:?{0,1024}jabber=localhost:5222 name=regex  @ example.cfg:93
--route any=localhost:443 name=regex  @ example.cfg:96
--route timeout=localhost:13 name=timeout  @ example.cfg:99
--unmatched-to-last  @ example.cfg:67 (sslh sends what no protocol matches to the last)
--on-timeout timeout  @ example.cfg:108
ignored foreground @ example.cfg:7: sslh stays in the foreground; so does portshare, always
ignored inetd @ example.cfg:8: false is sslh's default: listen on sockets, as portshare does
ignored numeric @ example.cfg:9: sslh logs addresses as numbers instead of names; portshare always logs numbers
ignored transparent @ example.cfg:10: false is sslh's default: connect from sslh's own address, as portshare does
UNSUPPORTED user @ example.cfg:12: sslh switches to user 'nobody' after binding; portshare keeps the user it was started as: start it as 'nobody' (with cap_net_bind_service for ports below 1024)
UNSUPPORTED chroot @ example.cfg:14: sslh changes its root to /var/empty after set-up; portshare does not (confine it with the service manager, e.g. systemd's RootDirectory=)
ignored syslog_facility @ example.cfg:20: sslh's syslog facility; portshare logs to standard output and standard error
ignored listen.keepalive @ example.cfg:27: sslh turns TCP keepalive on for accepted connections; portshare does not (a vanished client holds its connection until the backend closes)
UNSUPPORTED protocols.service @ example.cfg:69: sslh checks the client against /etc/hosts.allow and hosts.deny (libwrap, service 'ssh'); portshare does not: filter with a firewall, or route by from:CIDR
ignored protocols.keepalive @ example.cfg:69: sslh turns TCP keepalive on towards this backend; portshare does not (a vanished backend holds its connection until the client closes)
ignored protocols.fork @ example.cfg:69: sslh-select and sslh-ev fork a process per connection for it; portshare serves every connection on threads
UNSUPPORTED protocols.sni_hostnames @ example.cfg:84: sslh matches '*.*.acme.invalid' as a glob(7) pattern; portshare's server names take only a leading '*.' or '.': this protocol is left out
ignored protocols.regex_patterns @ example.cfg:91: sslh reads the pattern as a C string, up to its \x00 byte: it matches /^/, and portshare does the same
ignored protocols.regex_patterns @ example.cfg:91: sslh reads the pattern as a C string, up to its \x00 byte: it matches /^/, and portshare does the same
UNSUPPORTED protocols.service @ example.cfg:99: sslh checks the client against /etc/hosts.allow and hosts.deny (libwrap, service 'daytime'); portshare does not: filter with a firewall, or route by from:CIDR
ignored verbose @ example.cfg:6: sslh sets every log level to 1 (debugging messages included); portshare logs a line per connection (unless quiet) and its errors
"
    );
}

/// sslh's basic.cfg, read through the public entry point (its ports are
/// numbers, so /etc/services is not needed).
#[test]
fn upstream_basic_cfg() {
    let translation = read_config(&fixtures().join("basic.cfg")).expect("translates");
    assert_eq!(
        render(&translation),
        r"--timeout 2000  @ basic.cfg:7
--pidfile /var/run/sslh.pid  @ basic.cfg:9
--listen 0.0.0.0:443  @ basic.cfg:19
--listen [::]:443  @ basic.cfg:20
--route ssh=localhost:22 name=ssh  @ basic.cfg:29
--route openvpn=localhost:1194 name=openvpn  @ basic.cfg:30
--route tls=localhost:443 name=tls log=off  @ basic.cfg:31
--route any=localhost:443 name=anyprot  @ basic.cfg:32
--unmatched-to-last  @ basic.cfg:27 (sslh sends what no protocol matches to the last)
--on-timeout ssh  @ basic.cfg:27 (sslh's default on-timeout is ssh)
UNSUPPORTED user @ basic.cfg:8: sslh switches to user 'nobody' after binding; portshare keeps the user it was started as: start it as 'nobody' (with cap_net_bind_service for ports below 1024)
UNSUPPORTED protocols.service @ basic.cfg:29: sslh checks the client against /etc/hosts.allow and hosts.deny (libwrap, service 'ssh'); portshare does not: filter with a firewall, or route by from:CIDR
ignored protocols.fork @ basic.cfg:29: sslh-select and sslh-ev fork a process per connection for it; portshare serves every connection on threads
"
    );
}

/// sslh 2.x's example.cfg names a port no services(5) table has.
#[test]
fn upstream_example_cfg_needs_its_service_names() {
    assert_eq!(
        translate_fixture("example-2.x.cfg", SERVICES).unwrap_err(),
        format!(
            "{}:148: port 'letsencrypt-client' is neither a number nor a TCP service named in services",
            fixtures().join("example-2.x.cfg").display()
        )
    );
}

/// sslh 2.x's example.cfg: UDP, UNIX sockets, max_connections, minlength.
#[test]
fn upstream_example_cfg() {
    let services = format!("{SERVICES}letsencrypt-client 4443/tcp\n");
    let translation = translate_fixture("example-2.x.cfg", &services).expect("translates");
    let rendered = render(&translation);
    let settings: Vec<&str> = rendered
        .lines()
        .filter(|line| line.starts_with("--"))
        .collect();
    assert_eq!(
        settings,
        [
            "--timeout 2000  @ example-2.x.cfg:10",
            "--pidfile /var/run/sslh.pid  @ example-2.x.cfg:12",
            "--listen thelonious:443 max-conns=5  @ example-2.x.cfg:63",
            "--listen thelonious:8080  @ example-2.x.cfg:64",
            "--listen /tmp/unix_socket  @ example-2.x.cfg:66",
            "--route ssh=localhost:22 name=ssh  @ example-2.x.cfg:130",
            "--route http1=/tmp/nginx.sock name=http  @ example-2.x.cfg:134",
            "--route tls-sni:im.somethingelse.net+tls-alpn:xmpp-client=localhost:5223 name=tls log=off  @ example-2.x.cfg:137",
            "--route tls-alpn:h2,http/1.1,spdy/1,spdy/2,spdy/3=localhost:443 name=tls log=off  @ example-2.x.cfg:140",
            "--route tls-alpn:xmpp-client=localhost:5222 name=tls log=off  @ example-2.x.cfg:141",
            "--route tls-sni:mail.rutschle.net,mail.englishintoulouse.com=localhost:993 name=tls log=off  @ example-2.x.cfg:144",
            "--route tls-sni:im.rutschle.net,im.englishintoulouse.com=localhost:5222 name=tls log=off  @ example-2.x.cfg:145",
            "--route tls-alpn:acme-tls/1=localhost:4443 name=tls log=off  @ example-2.x.cfg:148",
            "--route tls=localhost:443 name=tls  @ example-2.x.cfg:151",
            "--route any=localhost:1194 name=regex  @ example-2.x.cfg:168",
            "--route pattern:?{0,1024}jabber+pattern:?{60}=localhost:5222 name=regex  @ example-2.x.cfg:170",
            "--route any=localhost:443 name=regex  @ example-2.x.cfg:175",
            "--route timeout=localhost:13 name=timeout  @ example-2.x.cfg:178",
            "--unmatched-to-last  @ example-2.x.cfg:128 (sslh sends what no protocol matches to the last)",
            "--on-timeout timeout  @ example-2.x.cfg:187",
        ]
    );
    let unsupported: Vec<&str> = rendered
        .lines()
        .filter(|line| line.starts_with("UNSUPPORTED"))
        .collect();
    assert_eq!(
        unsupported,
        [
            "UNSUPPORTED user @ example-2.x.cfg:11: sslh switches to user 'nobody' after binding; portshare keeps the user it was started as: start it as 'nobody' (with cap_net_bind_service for ports below 1024)",
            "UNSUPPORTED chroot @ example-2.x.cfg:13: sslh changes its root to /var/empty after set-up; portshare does not (confine it with the service manager, e.g. systemd's RootDirectory=)",
            "UNSUPPORTED listen.is_udp @ example-2.x.cfg:65: sslh listens for UDP here; portshare carries TCP only: this listener is left out",
            "UNSUPPORTED protocols.service @ example-2.x.cfg:130: sslh checks the client against /etc/hosts.allow and hosts.deny (libwrap, service 'ssh'); portshare does not: filter with a firewall, or route by from:CIDR",
            "UNSUPPORTED protocols.is_udp @ example-2.x.cfg:154: sslh forwards UDP datagrams matching 'regex'; portshare carries TCP only: this protocol is left out",
            "UNSUPPORTED protocols.is_udp @ example-2.x.cfg:158: sslh forwards UDP datagrams matching 'teamspeak'; portshare carries TCP only: this protocol is left out",
            "UNSUPPORTED protocols.is_udp @ example-2.x.cfg:161: sslh forwards UDP datagrams matching 'regex'; portshare carries TCP only: this protocol is left out",
            "UNSUPPORTED protocols.is_udp @ example-2.x.cfg:163: sslh forwards UDP datagrams matching 'regex'; portshare carries TCP only: this protocol is left out",
            "UNSUPPORTED protocols.service @ example-2.x.cfg:178: sslh checks the client against /etc/hosts.allow and hosts.deny (libwrap, service 'daytime'); portshare does not: filter with a firewall, or route by from:CIDR",
        ]
    );
    assert_eq!(
        rendered
            .lines()
            .filter(|line| line.starts_with("ignored"))
            .count(),
        28
    );
}

fn translate_text(text: &str) -> Result<String, String> {
    let root = parse_bytes("s.cfg", text.as_bytes()).map_err(|error| error.to_string())?;
    translate(&root, &mut Services::from_text("services", SERVICES))
        .map(|translation| render(&translation))
}

#[test]
fn protocol_options() {
    let text = r#"
listen: ( { host: "::"; port: "443"; proxyprotocol: true; } );
protocols: (
  { name: "tls"; host: "::1"; port: 8443; sni_hostnames: [ "*.example.com", "a.example.net" ];
    proxyprotocol: 2; max_connections: 10; },
  { name: "msrdp"; host: "rdp"; port: "3389"; minlength: 7; },
  { name: "socks5"; host: "s"; port: "1080"; proxyprotocol: 1; transparent: true; resolve_on_forward: true; },
  { name: "wireguard"; host: "w"; port: "51820"; },
  { name: "regex"; host: "r"; port: "7"; regex_patterns: [ "^a$", "^b" ]; tfo_ok: false; odd: 1; }
);
verbose-connections: 0;
"#;
    assert_eq!(
        translate_text(text).expect("translates"),
        r"--listen [::]:443  @ s.cfg:2
--route tls-sni:.example.com,a.example.net=[::1]:8443 name=tls send-proxy=v2 max-conns=10  @ s.cfg:4
--route rdp+pattern:?{7}=rdp:3389 name=msrdp  @ s.cfg:6
--route socks5=s:1080 name=socks5 send-proxy=v1  @ s.cfg:7
--route pattern:b=r:7 name=regex  @ s.cfg:9
--unmatched-to-last  @ s.cfg:3 (sslh sends what no protocol matches to the last)
--on-timeout tls  @ s.cfg:3 (sslh's default on-timeout is ssh) (no protocol is named 'ssh', so sslh takes the first)
--quiet  @ s.cfg:11
--accept-proxy required  @ s.cfg:2
UNSUPPORTED protocols.transparent @ s.cfg:7: sslh connects to this backend from the client's own address (IP_TRANSPARENT); portshare connects from its own: use send-proxy if the backend reads a PROXY header
UNSUPPORTED protocols.resolve_on_forward @ s.cfg:7: sslh resolves the backend's name again for every connection; portshare resolves it once, at start-up
UNSUPPORTED protocols.name @ s.cfg:8: sslh's 'wireguard' probe has no portshare matcher (and is meant for UDP): this protocol is left out
UNSUPPORTED protocols.regex_patterns @ s.cfg:9: /^a$/ has no portshare form: '$' is refused: sslh tests it against the bytes that have arrived so far, so whether it matches depends on how the client's packets are cut (at byte 3 of /^a$/); this pattern is left out
ignored protocols.tfo_ok @ s.cfg:9: sslh may connect to the backend with TCP Fast Open; portshare connects normally (a round trip more, nothing else)
UNSUPPORTED protocols.odd @ s.cfg:9: unknown to sslh 2.x and to portshare
"
    );
}

#[test]
fn entries_of_few_words() {
    let text = r#"
listen: ( { host: "sslh.sock"; is_unix: true; port: ""; keepalive: false; } );
protocols: (
  { name: "regex"; host: "/run/a.sock"; is_unix: true; port: ""; },
  { name: "regex"; host: "h"; port: "1"; regex_patterns: []; },
  { name: "http"; host: "h"; port: "80"; regex_patterns: [ "x" ]; fork: false; }
);
on-timeout: "regex";
"#;
    assert_eq!(
        translate_text(text).expect("translates"),
        r"--listen ./sslh.sock  @ s.cfg:2
--route timeout=/run/a.sock name=regex  @ s.cfg:4
--route timeout=h:1 name=regex  @ s.cfg:5
--route http1=h:80 name=http  @ s.cfg:6
--unmatched-to-last  @ s.cfg:3 (sslh sends what no protocol matches to the last)
--on-timeout regex  @ s.cfg:8
ignored protocols.fork @ s.cfg:6: sslh-select and sslh-ev fork a process per connection for it; portshare serves every connection on threads
ignored protocols.regex_patterns @ s.cfg:6: sslh applies it to 'regex' protocols only and ignores it here
"
    );
}

#[test]
fn include_inside_a_group() {
    let dir = scratch("group");
    fs::write(
        dir.join("main.cfg"),
        "protocols: (\n @include \"conf.d/ssh.cfg\"\n);\n",
    )
    .unwrap();
    fs::write(
        dir.join("conf.d/ssh.cfg"),
        "{ name: \"ssh\"; host: \"h\"; port: \"22\"; }\n",
    )
    .unwrap();
    let root = parse_file(&dir.join("main.cfg")).expect("parses");
    let translation =
        translate(&root, &mut Services::from_text("services", SERVICES)).expect("translates");
    assert_eq!(
        translation.settings[0].value.as_deref(),
        Some("ssh=h:22 name=ssh")
    );
    assert_eq!(
        origin_of(&translation.settings[0]),
        format!("{}:1", dir.join("conf.d/ssh.cfg").display())
    );
    let _ = fs::remove_dir_all(&dir);
}

/// Every SPEC the fixtures translate to is one portshare's route parser
/// takes (`timeout` aside: that spec arrives with the new option parser).
#[test]
fn translated_specs_parse_as_route_specs() {
    let services = format!("{SERVICES}letsencrypt-client 4443/tcp\n");
    for name in ["example.cfg", "basic.cfg", "example-2.x.cfg"] {
        let translation = translate_fixture(name, &services).expect("translates");
        for setting in translation
            .settings
            .iter()
            .filter(|setting| setting.name == "route")
        {
            let value = setting.value.as_deref().unwrap_or("");
            let (spec, _) = value.split_once('=').expect("SPEC=BACKEND");
            if spec != "timeout" {
                let parsed = spec.parse::<crate::spec::RouteSpec>();
                assert!(parsed.is_ok(), "{name}: {spec}: {parsed:?}");
            }
        }
    }
}

#[test]
fn timeout_targets() {
    let cases: &[(&str, &str)] = &[
        // The default names ssh, wherever it is.
        (r#"protocols: ( { name: "tls"; host: "h"; port: "1"; }, { name: "ssh"; host: "h"; port: "2"; } );"#, "--on-timeout ssh"),
        // A name no protocol has: the first protocol.
        (r#"on-timeout: "nope"; protocols: ( { name: "http"; host: "h"; port: "1"; } );"#, "--on-timeout http"),
        // The protocol sslh would pick became no route.
        (r#"on-timeout: "wireguard"; protocols: ( { name: "wireguard"; host: "h"; port: "1"; }, { name: "ssh"; host: "h"; port: "2"; } );"#, "UNSUPPORTED on-timeout @ s.cfg:1: sslh sends connections that time out to the protocol at s.cfg:1, which portshare cannot route: portshare closes them"),
        // The last protocol became no route.
        (r#"protocols: ( { name: "ssh"; host: "h"; port: "2"; }, { name: "teamspeak"; host: "h"; port: "1"; } );"#, "UNSUPPORTED protocols @ s.cfg:1: sslh sends the connections no protocol matches to this last protocol, which portshare cannot route: portshare sends them to its last route instead"),
    ];
    for (text, expected) in cases {
        let rendered = translate_text(text).expect("translates");
        assert!(
            rendered.lines().any(|line| line.starts_with(expected)),
            "{text}\n{rendered}"
        );
    }
}

#[test]
fn translation_errors() {
    let cases: &[(&str, &str)] = &[
        (
            "timeout: \"5\";",
            "s.cfg:1: 'timeout' must be an integer, not a string",
        ),
        (
            "timeout: 0;",
            "s.cfg:1: timeout 0 is not a positive number of seconds",
        ),
        (
            "protocols: ( { name: \"gopher\"; host: \"h\"; port: \"70\"; } );",
            "s.cfg:1: 'gopher' is not an sslh probe (sslh stops with \"probe unknown\")",
        ),
        (
            "protocols: ( { name: \"ssh\"; host: \"h\"; port: \"nosuch\"; } );",
            "s.cfg:1: port 'nosuch' is neither a number nor a TCP service named in services",
        ),
        (
            "protocols: ( { name: \"ssh\"; host: \"h\"; port: \"70000\"; } );",
            "s.cfg:1: port '70000' is above 65535",
        ),
        (
            "protocols: ( { name: \"ssh\"; port: \"22\"; } );",
            "s.cfg:1: this entry has no host",
        ),
        (
            "protocols: ( { name: \"ssh\"; host: \"h\"; port: \"22\"; proxyprotocol: 3; } );",
            "s.cfg:1: proxyprotocol 3: sslh sends a PROXY header of version 1 or 2",
        ),
        (
            "protocols: { };",
            "s.cfg:1: 'protocols' must be a list ( ... ), not a group",
        ),
        (
            "listen: ( { host: \"h\"; port: \"1\"; max_connections: 0; } );",
            "s.cfg:1: 'max_connections' must be above 0, not 0",
        ),
    ];
    for (text, expected) in cases {
        assert_eq!(translate_text(text).unwrap_err(), *expected, "{text}");
    }
}

#[test]
fn service_names_resolve_by_alias_and_protocol() {
    let mut services = Services::from_text("services", SERVICES);
    assert_eq!(services.tcp_port("ssh"), Ok(22));
    assert_eq!(services.tcp_port("jabber-client"), Ok(5222));
    assert_eq!(services.tcp_port("443"), Ok(443));
    assert!(Services::from_text("services", "dns 53/udp\n")
        .tcp_port("dns")
        .is_err());
}

// ---- sslh's command line ----

fn args(line: &str) -> Vec<String> {
    line.split_whitespace().map(str::to_owned).collect()
}

fn flags_render(line: &str) -> Result<String, String> {
    flags::parse_flags_with(&args(line), &mut Services::from_text("services", SERVICES))
        .map(|translation| render(&translation))
}

/// Debian's DAEMON_OPTS (/etc/default/sslh), `<change-me>` filled in.
#[test]
fn debian_daemon_opts() {
    assert_eq!(
        flags_render("--user sslh --listen 0.0.0.0:443 --ssh 127.0.0.1:22 --ssl 127.0.0.1:443 --pidfile /var/run/sslh/sslh.pid")
            .expect("translates"),
        r"--pidfile /var/run/sslh/sslh.pid  @ sslh argument 9
--listen 0.0.0.0:443  @ sslh argument 3
--route ssh=127.0.0.1:22 name=ssh  @ sslh argument 5
--route tls=127.0.0.1:443 name=tls  @ sslh argument 7
--unmatched-to-last  @ sslh argument 5 (sslh sends what no protocol matches to the last)
--on-timeout ssh  @ sslh argument 5 (sslh's default on-timeout is ssh)
UNSUPPORTED user @ sslh argument 1: sslh switches to user 'sslh' after binding; portshare keeps the user it was started as: start it as 'sslh' (with cap_net_bind_service for ports below 1024)
"
    );
}

#[test]
fn flag_forms() {
    let rendered = flags_render("-fn -t3 -p [::1]:https -p 127.0.0.1:8443 --on-timeout=tls --tls=h:443 -v 0 --verbose-connections 0 --ssh h:22 --ssh h:2222 -P/run/p.pid --transparent")
        .expect("translates");
    assert_eq!(
        rendered,
        r"--timeout 3000  @ sslh argument 2
--pidfile /run/p.pid  @ sslh argument 17
--listen [::1]:443  @ sslh argument 3
--listen 127.0.0.1:8443  @ sslh argument 5
--route tls=h:443 name=tls  @ sslh argument 8
--route ssh=h:22 name=ssh  @ sslh argument 13
--unmatched-to-last  @ sslh argument 8 (sslh sends what no protocol matches to the last)
--on-timeout tls  @ sslh argument 7
--quiet  @ sslh argument 11
ignored foreground @ sslh argument 1: sslh stays in the foreground; so does portshare, always
ignored numeric @ sslh argument 1: sslh logs addresses as numbers instead of names; portshare always logs numbers
UNSUPPORTED transparent @ sslh argument 18: sslh connects to every backend from the client's own address (IP_TRANSPARENT); portshare connects from its own: use send-proxy for backends that read a PROXY header
ignored verbose @ sslh argument 9: 0 is sslh's default: each verbose-* option keeps its own level
ignored --ssh @ sslh argument 15: sslh 2.x keeps the first target given for 'ssh' on its command line and drops this one; so does portshare
"
    );
}

#[test]
fn flags_override_the_config_file() {
    let config = fixtures().join("basic.cfg").display().to_string();
    let rendered = flags_render(&format!(
        "-F {config} -t 7 --ssh 10.0.0.1:2222 --http 10.0.0.2:80 -p 192.0.2.1:443"
    ))
    .expect("translates");
    let settings: Vec<&str> = rendered
        .lines()
        .filter(|line| line.starts_with("--"))
        .collect();
    assert_eq!(
        settings,
        [
            "--timeout 7000  @ sslh argument 3",
            "--pidfile /var/run/sslh.pid  @ basic.cfg:9",
            "--listen 0.0.0.0:443  @ basic.cfg:19",
            "--listen [::]:443  @ basic.cfg:20",
            "--listen 192.0.2.1:443  @ sslh argument 9",
            "--route ssh=10.0.0.1:2222 name=ssh  @ sslh argument 5",
            "--route openvpn=localhost:1194 name=openvpn  @ basic.cfg:30",
            "--route tls=localhost:443 name=tls log=off  @ basic.cfg:31",
            "--route any=localhost:443 name=anyprot  @ basic.cfg:32",
            "--route http1=10.0.0.2:80 name=http  @ sslh argument 7",
            "--unmatched-to-last  @ basic.cfg:27 (sslh sends what no protocol matches to the last)",
            "--on-timeout ssh  @ basic.cfg:27 (sslh's default on-timeout is ssh)",
        ]
    );
}

#[test]
fn flag_errors() {
    let cases: &[(&str, &str)] = &[
        ("--bogus", "sslh argument 1: unknown sslh option '--bogus'"),
        ("-x", "sslh argument 1: unknown sslh option '-x'"),
        ("-f stray", "sslh argument 2: 'stray' is not an sslh option"),
        ("--ssh", "sslh argument 1: ssh needs a value"),
        (
            "--ssh localhost",
            "sslh argument 1: 'localhost' is not HOST:PORT",
        ),
        (
            "--ssh h:xmpp-client",
            "sslh argument 1: 'h:xmpp-client' is not HOST:PORT",
        ),
        (
            "--foreground=yes",
            "sslh argument 1: --foreground takes no value",
        ),
        (
            "-t soon",
            "sslh argument 1: --timeout takes a number, not 'soon'",
        ),
        (
            "-F /nonexistent/sslh.cfg",
            "/nonexistent/sslh.cfg: cannot read: No such file or directory (os error 2)",
        ),
    ];
    for (line, expected) in cases {
        assert_eq!(flags_render(line).unwrap_err(), *expected, "{line}");
    }
    // The public entry point reads the same way.
    assert!(super::parse_flags(&args("--bogus")).is_err());
}

// ---- nothing panics ----

/// One edit to a configuration's bytes.
fn mutate(mut bytes: Vec<u8>, edits: &[(usize, u8, u8)]) -> Vec<u8> {
    const TOKENS: &[u8] = b"{}()[];,:=\"\\#/*@ \n0xL.-tfe";
    for &(at, kind, byte) in edits {
        let at = if bytes.is_empty() {
            0
        } else {
            at % (bytes.len() + 1)
        };
        let token = TOKENS[usize::from(byte) % TOKENS.len()];
        match kind % 4 {
            0 => bytes.insert(at, token),
            1 if at < bytes.len() => {
                bytes.remove(at);
            }
            2 if at < bytes.len() => bytes[at] = byte,
            _ => bytes.truncate(at),
        }
    }
    bytes
}

fn no_panic(bytes: &[u8]) {
    if let Ok(root) = parse_bytes("p.cfg", bytes) {
        let _ = translate(&root, &mut Services::from_text("services", SERVICES));
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        no_panic(&bytes);
        let _ = pcre::rewrite(&bytes);
    }

    #[test]
    fn mutated_configs_never_panic(
        which in 0usize..3,
        edits in proptest::collection::vec((any::<usize>(), any::<u8>(), any::<u8>()), 1..8),
    ) {
        let name = ["example.cfg", "basic.cfg", "example-2.x.cfg"][which];
        let bytes = fs::read(fixtures().join(name)).expect("fixture");
        no_panic(&mutate(bytes, &edits));
    }

    #[test]
    fn regex_like_text_never_panics(text in "[\\^$.*+?()\\[\\]{}|\\\\a-c0-9,xdDsSwW:=-]{0,40}") {
        let _ = pcre::rewrite(text.as_bytes());
    }

    #[test]
    fn command_lines_never_panic(words in proptest::collection::vec("(-[a-zA-Z]{1,3}|--[a-z-]{1,12}(=[a-z0-9:.]{0,8})?|[a-z0-9:.\\[\\]]{0,10})", 0..8)) {
        let _ = flags::parse_flags_with(&words, &mut Services::from_text("services", SERVICES));
    }
}

#[test]
fn a_file_past_a_mebibyte_is_refused_unread() {
    let dir = std::env::temp_dir().join(format!("portshare-sslh-large-{}", std::process::id()));
    fs::create_dir_all(&dir).unwrap();
    let path = dir.join("huge.cfg");
    // Comments only: what a parser would take its time over is never read.
    let line = "# padding padding padding padding padding padding padding\n";
    fs::write(&path, line.repeat(1024 * 1024 / line.len() + 1)).unwrap();
    let error = parse_file(&path).unwrap_err();
    assert!(
        error.to_string().contains("larger than 1048576 bytes"),
        "{error}"
    );
    let _ = fs::remove_dir_all(&dir);
}
