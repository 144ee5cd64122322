//! The handlers both servers run: a minimal keep-alive HTTP/1 responder,
//! a sink that discards everything, and an echo.

use std::io::{Read, Write};

/// The one response: 200 with a six-byte body.
pub(crate) const RESPONSE: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nhello\n";

/// Room for one request head (wrk and curl send well under 200 bytes).
const HEAD_CAPACITY: usize = 4096;

/// What the sink reads at a time.
const SINK_CHUNK: usize = 64 * 1024;

/// The first word of a connection the servers discard.
pub(crate) const SINK_PREFIX: &[u8] = b"SINK";

/// Reads request heads (up to the blank line) and answers each with
/// [`RESPONSE`], until the client closes, sends `Connection: close`, or
/// sends a head too big for the buffer.
pub(crate) fn serve_http(stream: &mut impl ReadWrite) {
    serve_http_after(stream, [0; HEAD_CAPACITY], 0);
}

/// [`serve_http`] for a connection whose first `filled` bytes are already
/// in `buffer`.
fn serve_http_after(
    stream: &mut impl ReadWrite,
    mut buffer: [u8; HEAD_CAPACITY],
    mut filled: usize,
) {
    loop {
        let head_length = loop {
            if let Some(length) = head_length(&buffer[..filled]) {
                break length;
            }
            if filled == buffer.len() {
                return;
            }
            match stream.read(&mut buffer[filled..]) {
                Ok(0) | Err(_) => return,
                Ok(count) => filled += count,
            }
        };
        let close = asks_to_close(&buffer[..head_length]);
        if stream.write_all(RESPONSE).is_err() || close {
            return;
        }
        buffer.copy_within(head_length..filled, 0);
        filled -= head_length;
    }
}

/// The thread-per-connection server's handler: a connection that starts
/// with [`SINK_PREFIX`] is discarded, any other is served as HTTP.
pub(crate) fn serve_raw(stream: &mut impl ReadWrite) {
    let mut buffer = [0; HEAD_CAPACITY];
    let filled = match stream.read(&mut buffer) {
        Ok(0) | Err(_) => return,
        Ok(count) => count,
    };
    if buffer[..filled].starts_with(SINK_PREFIX) {
        sink(stream);
    } else {
        serve_http_after(stream, buffer, filled);
    }
}

/// Reads and discards everything until the client closes.
pub(crate) fn sink(stream: &mut impl Read) {
    let mut chunk = vec![0; SINK_CHUNK];
    while let Ok(count) = stream.read(&mut chunk) {
        if count == 0 {
            return;
        }
    }
}

/// Sends back whatever arrives until the client closes.
pub(crate) fn echo(stream: &mut impl ReadWrite) {
    let mut chunk = [0; HEAD_CAPACITY];
    while let Ok(count) = stream.read(&mut chunk) {
        if count == 0 || stream.write_all(&chunk[..count]).is_err() {
            return;
        }
    }
}

/// A readable and writable stream.
pub(crate) trait ReadWrite: Read + Write {}

impl<S: Read + Write> ReadWrite for S {}

/// The length of the request head at the start of `bytes`, blank line
/// included, once it has all arrived.
fn head_length(bytes: &[u8]) -> Option<usize> {
    bytes
        .windows(4)
        .position(|window| window == b"\r\n\r\n")
        .map(|at| at + 4)
}

/// Whether a header line of `head` is `Connection: close` (RFC 9110
/// section 7.6.1: a list of tokens, compared case-insensitively).
fn asks_to_close(head: &[u8]) -> bool {
    head.split(|&byte| byte == b'\n').skip(1).any(|line| {
        let Some(colon) = line.iter().position(|&byte| byte == b':') else {
            return false;
        };
        let (name, value) = (&line[..colon], &line[colon + 1..]);
        name.eq_ignore_ascii_case(b"connection")
            && value
                .split(|&byte| byte == b',')
                .any(|token| token.trim_ascii().eq_ignore_ascii_case(b"close"))
    })
}
