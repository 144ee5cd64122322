//! The `openings` target: the matchers of protocols read by one opening
//! message (OpenVPN, RDP, tinc, adb, syslog, DNS over TCP, XMPP), and
//! their field functions, on arbitrary bytes.

use std::fmt::Debug;

use crate::matcher::{Matcher, Verdict};
use crate::matchers;

use super::sample::{check_route_table_sampled, check_settles_sampled};

/// The `openings` target. Each matcher is prefix-monotone on the input;
/// the seven, as one route table, decide the same whole and in chunks;
/// each field function, once it reads a value, reads that same value on
/// every longer prefix, and only from an opening its matcher takes.
pub fn openings(data: &[u8]) {
    let routes: Vec<Box<dyn Matcher>> = vec![
        Box::new(matchers::openvpn()),
        Box::new(matchers::rdp()),
        Box::new(matchers::tinc()),
        Box::new(matchers::adb()),
        Box::new(matchers::syslog()),
        Box::new(matchers::dns()),
        Box::new(matchers::xmpp()),
    ];
    check_route_table_sampled(&routes, data);
    check_fields("openvpn_reset", &*routes[0], data, matchers::openvpn_reset);
    check_fields("rdp_request", &*routes[1], data, matchers::rdp_request);
    check_fields("tinc_id", &*routes[2], data, matchers::tinc_id);
    check_fields("adb_connect", &*routes[3], data, matchers::adb_connect);
    check_fields(
        "syslog_message",
        &*routes[4],
        data,
        matchers::syslog_message,
    );
    check_fields("dns_question", &*routes[5], data, matchers::dns_question);
    check_fields(
        "xmpp_stream_header",
        &*routes[6],
        data,
        matchers::xmpp_stream_header,
    );
}

/// `extract` settles on `data`, and reads fields only from bytes `matcher`
/// takes.
fn check_fields<'a, T: PartialEq + Debug>(
    what: &str,
    matcher: &dyn Matcher,
    data: &'a [u8],
    extract: impl Fn(&'a [u8]) -> Option<T>,
) {
    check_settles_sampled(
        what,
        data,
        |prefix| extract(&data[..prefix.len()]),
        Option::is_some,
    );
    if extract(data).is_some() {
        assert_eq!(
            matcher.verdict(data),
            Verdict::Match,
            "{what} read fields its matcher does not take: {data:02x?}"
        );
    }
}
