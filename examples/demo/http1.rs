//! The HTTP/1.x handler (RFC 9112): parses request heads, discards
//! `Content-Length` bodies and answers every request with a short hello,
//! keeping the connection open as the client asks.

use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::time::Duration;

use connmux::PeekableStream;

use crate::conn::{close_gracefully, is_timeout};

const HTTP1_READ_TIMEOUT: Duration = Duration::from_secs(5);
const HTTP1_MAX_HEAD: usize = 64 * 1024;

/// The parts of a request head this server acts on.
struct RequestHead {
    method: String,
    target: String,
    version: String,
    content_length: usize,
    /// A `Transfer-Encoding` was sent: the body's end cannot be found
    /// without decoding it, which this demo does not do.
    transfer_encoded: bool,
    keep_alive: bool,
}

/// How reading the next request head ended.
enum HeadRead {
    Head(Vec<u8>),
    /// The client closed, or stayed idle, between requests.
    Closed,
    TooLarge,
}

pub(crate) fn serve_http1(mut stream: PeekableStream, peer: SocketAddr) -> io::Result<()> {
    stream.set_read_timeout(Some(HTTP1_READ_TIMEOUT))?;
    // Bytes read past the current head: the start of a body, or of the
    // next request when the client pipelines.
    let mut buffered = Vec::new();
    loop {
        let head = match read_request_head(&mut stream, &mut buffered)? {
            HeadRead::Head(head) => head,
            HeadRead::Closed => return Ok(()),
            HeadRead::TooLarge => {
                println!("{peer}  HTTP/1  request head over {HTTP1_MAX_HEAD} bytes, refused");
                return refuse_http1(&mut stream, "431 Request Header Fields Too Large");
            }
        };
        let request = match parse_request_head(&head) {
            Ok(request) => request,
            Err(problem) => {
                println!("{peer}  HTTP/1  bad request: {problem}");
                return refuse_http1(&mut stream, "400 Bad Request");
            }
        };
        println!(
            "{peer}  {}  {} {}",
            request.version, request.method, request.target
        );
        if request.transfer_encoded {
            return refuse_http1(&mut stream, "501 Not Implemented");
        }
        discard_body(&mut stream, &mut buffered, request.content_length)?;
        write_hello_response(&mut stream, &request)?;
        if !request.keep_alive {
            close_gracefully(&mut stream);
            return Ok(());
        }
    }
}

/// Reads up to and including the blank line that ends a request head
/// (RFC 9112 section 2.1), leaving any bytes after it in `buffered`.
fn read_request_head(stream: &mut PeekableStream, buffered: &mut Vec<u8>) -> io::Result<HeadRead> {
    let mut chunk = [0u8; 4096];
    loop {
        if let Some(end) = find(buffered, b"\r\n\r\n") {
            let rest = buffered.split_off(end + 4);
            return Ok(HeadRead::Head(std::mem::replace(buffered, rest)));
        }
        if buffered.len() > HTTP1_MAX_HEAD {
            return Ok(HeadRead::TooLarge);
        }
        match stream.read(&mut chunk) {
            Ok(0) if buffered.is_empty() => return Ok(HeadRead::Closed),
            Ok(0) => {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the client closed in the middle of a request head",
                ))
            }
            Ok(read) => buffered.extend_from_slice(&chunk[..read]),
            Err(error) if is_timeout(&error) && buffered.is_empty() => return Ok(HeadRead::Closed),
            Err(error) => return Err(error),
        }
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
}

fn parse_request_head(head: &[u8]) -> Result<RequestHead, &'static str> {
    let head = String::from_utf8_lossy(head);
    let mut lines = head.split("\r\n");
    let request_line = lines.next().unwrap_or_default();
    let mut parts = request_line.split(' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err("the request line is not METHOD TARGET VERSION");
    };
    if !version.starts_with("HTTP/1.") {
        return Err("not an HTTP/1.x request");
    }
    let mut content_length = 0;
    let mut transfer_encoded = false;
    let (mut close, mut keep_alive) = (false, false);
    for line in lines.filter(|line| !line.is_empty()) {
        let Some((name, value)) = line.split_once(':') else {
            return Err("a header line has no colon");
        };
        let value = value.trim();
        if name.eq_ignore_ascii_case("content-length") {
            content_length = value.parse().map_err(|_| "invalid Content-Length")?;
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            transfer_encoded = true;
        } else if name.eq_ignore_ascii_case("connection") {
            for option in value.split(',').map(str::trim) {
                close |= option.eq_ignore_ascii_case("close");
                keep_alive |= option.eq_ignore_ascii_case("keep-alive");
            }
        }
    }
    // RFC 9112 section 9.3: HTTP/1.1 persists unless told to close;
    // HTTP/1.0 only when the client asks for keep-alive.
    let persistent = if version == "HTTP/1.0" {
        keep_alive && !close
    } else {
        !close
    };
    Ok(RequestHead {
        method: method.to_string(),
        target: target.to_string(),
        version: version.to_string(),
        content_length,
        transfer_encoded,
        keep_alive: persistent,
    })
}

/// Reads and drops a `Content-Length` body, so that the next request on
/// the connection starts where it should.
fn discard_body(
    stream: &mut PeekableStream,
    buffered: &mut Vec<u8>,
    length: usize,
) -> io::Result<()> {
    let from_buffer = length.min(buffered.len());
    buffered.drain(..from_buffer);
    let remaining = (length - from_buffer) as u64;
    let discarded = io::copy(&mut stream.take(remaining), &mut io::sink())?;
    if discarded < remaining {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "the client closed in the middle of a request body",
        ));
    }
    Ok(())
}

fn write_hello_response(stream: &mut PeekableStream, request: &RequestHead) -> io::Result<()> {
    let body = format!(
        "hello from connmux over {}: {} {}\n",
        request.version, request.method, request.target
    );
    let connection = match (request.keep_alive, request.version.as_str()) {
        (true, "HTTP/1.0") => "Connection: keep-alive\r\n",
        (true, _) => "",
        (false, _) => "Connection: close\r\n",
    };
    // A response to HEAD announces its length but carries no body
    // (RFC 9110 section 9.3.2).
    let content = if request.method == "HEAD" { "" } else { &body };
    let response = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n{connection}\r\n{content}",
        body.len()
    );
    stream.write_all(response.as_bytes())
}

/// Answers with an error status and closes, since the connection cannot
/// safely carry another request.
fn refuse_http1(stream: &mut PeekableStream, status: &str) -> io::Result<()> {
    let body = format!("{status}\n");
    let response = format!(
        "HTTP/1.1 {status}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(response.as_bytes())?;
    close_gracefully(stream);
    Ok(())
}
