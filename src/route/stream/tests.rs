//! Unit tests of `PeekableStream` over in-memory pairs.

use super::*;
use crate::memory;
use crate::sniff::replay::StreamEnd;

fn arrival() -> Arrival {
    Arrival {
        trace: None,
        proxy_header: None,
        accepted_at: Instant::now(),
        permit: ConnectionPermit::none(),
    }
}

fn stream_with(
    sniffed: &[u8],
    end: Option<StreamEnd>,
) -> (PeekableStream<memory::MemoryStream>, memory::MemoryStream) {
    let (client, server) = memory::pair();
    let replay = Replay::new(sniffed.to_vec(), end);
    (
        PeekableStream::new(server, replay, RouteId(3), arrival()),
        client,
    )
}

#[test]
fn replay_then_socket_in_order() {
    let (mut stream, mut client) = stream_with(b"sniffed-", None);
    client.write_all(b"live").unwrap();
    drop(client);
    let mut got = Vec::new();
    stream.read_to_end(&mut got).unwrap();
    assert_eq!(got, b"sniffed-live");
    assert_eq!(stream.route(), RouteId(3));
}

#[test]
fn eof_seen_during_sniff_comes_after_the_bytes() {
    let (mut stream, _client) = stream_with(b"abc", Some(StreamEnd::Eof));
    let mut got = Vec::new();
    stream.read_to_end(&mut got).unwrap();
    assert_eq!(got, b"abc");
}

#[test]
fn clones_share_the_replay() {
    let (client, server) = memory::pair();
    drop(client);
    let mut original = PeekableStream::new(
        &server,
        Replay::new(b"0123456789".to_vec(), None),
        RouteId(0),
        arrival(),
    );
    let mut first = [0u8; 4];
    original.read_exact(&mut first).unwrap();
    let mut clone = original.clone_with(&server);
    let mut middle = [0u8; 3];
    clone.read_exact(&mut middle).unwrap();
    let mut rest = Vec::new();
    original.read_to_end(&mut rest).unwrap();
    assert_eq!((&first, &middle, &rest[..]), (b"0123", b"456", &b"789"[..]));
    assert_eq!(clone.read(&mut middle).unwrap(), 0);
    assert_eq!(clone.unread_len(), 0);
}

#[test]
fn into_parts_after_partial_read() {
    let (mut stream, _client) = stream_with(b"hello", None);
    let mut two = [0u8; 2];
    stream.read_exact(&mut two).unwrap();
    assert_eq!(stream.unread_len(), 3);
    let parts = stream.into_parts();
    assert_eq!(parts.unread, b"llo");
    assert!(parts.pending_error.is_none());
}

#[test]
fn writes_and_shutdown_reach_the_connection() {
    let (mut stream, mut client) = stream_with(b"", None);
    stream.write_all(b"out").unwrap();
    stream.flush().unwrap();
    stream.shutdown(Shutdown::Write).unwrap();
    let mut got = Vec::new();
    client.read_to_end(&mut got).unwrap();
    assert_eq!(got, b"out");
    stream
        .set_read_timeout(Some(Duration::from_millis(5)))
        .unwrap();
    assert_eq!(
        stream.read(&mut [0u8; 1]).unwrap_err().kind(),
        io::ErrorKind::WouldBlock
    );
}

#[test]
fn reads_through_a_shared_reference_replay_first() {
    let (stream, mut client) = stream_with(b"sniffed-", None);
    client.write_all(b"live").unwrap();
    drop(client);
    let mut got = Vec::new();
    (&stream).read_to_end(&mut got).unwrap();
    assert_eq!(got, b"sniffed-live");
    assert!(stream.replay_drained.load(Ordering::Relaxed));
}

#[test]
fn shared_and_exclusive_reads_take_each_sniffed_byte_once() {
    let (mut stream, client) = stream_with(b"0123456789", None);
    drop(client);
    let mut parts = [[0u8; 3]; 3];
    (&stream).read_exact(&mut parts[0]).unwrap();
    stream.read_exact(&mut parts[1]).unwrap();
    (&stream).read_exact(&mut parts[2]).unwrap();
    assert_eq!(parts.concat(), b"012345678");
    let mut rest = Vec::new();
    stream.read_to_end(&mut rest).unwrap();
    assert_eq!(rest, b"9");
}

#[test]
fn vectored_reads_fill_the_first_nonempty_buffer_from_the_replay() {
    let (mut stream, mut client) = stream_with(b"abc", None);
    client.write_all(b"de").unwrap();
    let (mut empty, mut first, mut second) = ([0u8; 0], [0u8; 2], [0u8; 8]);
    let mut bufs = [
        IoSliceMut::new(&mut empty),
        IoSliceMut::new(&mut first),
        IoSliceMut::new(&mut second),
    ];
    assert_eq!(stream.read_vectored(&mut bufs).unwrap(), 2);
    assert_eq!((&*bufs[1], bufs[2][0]), (&b"ab"[..], 0));
    assert_eq!((&stream).read_vectored(&mut bufs).unwrap(), 1);
    assert_eq!(bufs[1][0], b'c');
    assert_eq!(stream.read_vectored(&mut bufs).unwrap(), 2, "the socket's");
    assert_eq!(&bufs[1][..], b"de");
}

#[test]
fn writes_through_a_shared_reference_reach_the_connection() {
    let (stream, mut client) = stream_with(b"", None);
    (&stream).write_all(b"via &").unwrap();
    (&stream).flush().unwrap();
    stream.shutdown(Shutdown::Write).unwrap();
    let mut got = Vec::new();
    client.read_to_end(&mut got).unwrap();
    assert_eq!(got, b"via &");
}

#[test]
fn peek_replay_shows_bytes_then_the_end_and_consumes_nothing() {
    let error = io::Error::new(io::ErrorKind::ConnectionReset, "reset");
    let (mut stream, _client) = stream_with(b"abc", Some(StreamEnd::Error(error)));
    let mut two = [0u8; 2];
    assert_eq!(stream.peek_replay(&mut two).unwrap().unwrap(), 2);
    assert_eq!(&two, b"ab");
    let mut all = [0u8; 3];
    stream.read_exact(&mut all).unwrap();
    assert_eq!(&all, b"abc", "the peek consumed nothing");
    let peeked = stream.peek_replay(&mut two).unwrap().unwrap_err();
    assert_eq!(peeked.kind(), io::ErrorKind::ConnectionReset);
    let read = stream.read(&mut two).unwrap_err();
    assert_eq!(read.kind(), io::ErrorKind::ConnectionReset);
    assert!(stream.peek_replay(&mut two).is_none());
    assert!(
        stream.peek_replay(&mut []).is_none(),
        "nothing left to replay"
    );
}

#[test]
fn nonblocking_reads_serve_the_replay_then_would_block() {
    let (mut stream, _client) = stream_with(b"hi", None);
    stream.set_nonblocking(true).unwrap();
    let mut buf = [0u8; 8];
    assert_eq!(stream.read(&mut buf).unwrap(), 2);
    let error = stream.read(&mut buf).unwrap_err();
    assert_eq!(error.kind(), io::ErrorKind::WouldBlock);
    stream.set_nonblocking(false).unwrap();
}

#[test]
fn into_inner_waits_for_the_replay_to_be_read() {
    let (stream, mut client) = stream_with(b"hello", None);
    let refused = stream.into_inner().unwrap_err();
    assert_eq!(
        refused.to_string(),
        "5 sniffed bytes have not been read yet"
    );
    let mut stream = refused.into_stream();
    let mut four = [0u8; 4];
    stream.read_exact(&mut four).unwrap();
    let refused = stream.into_inner().unwrap_err();
    assert_eq!(refused.to_string(), "1 sniffed byte has not been read yet");
    let mut stream = refused.into_stream();
    assert_eq!(stream.unread_len(), 1, "handed back unchanged");
    stream.read_exact(&mut four[..1]).unwrap();
    let mut conn = stream.into_inner().unwrap();
    client.write_all(b"!").unwrap();
    conn.read_exact(&mut four[..1]).unwrap();
    assert_eq!(four[0], b'!');
}

#[test]
fn into_inner_needs_no_read_to_drain_an_empty_replay_or_a_pending_eof() {
    let (stream, _client) = stream_with(b"", None);
    assert!(stream.into_inner().is_ok());
    let (mut stream, _client) = stream_with(b"ab", Some(StreamEnd::Eof));
    stream.read_exact(&mut [0u8; 2]).unwrap();
    assert!(
        stream.into_inner().is_ok(),
        "the connection reports EOF again"
    );
}

#[test]
fn into_inner_refuses_while_a_sniff_error_is_unreported() {
    let error = io::Error::new(io::ErrorKind::ConnectionReset, "reset");
    let (stream, _client) = stream_with(b"", Some(StreamEnd::Error(error)));
    let refused = stream.into_inner().unwrap_err();
    assert_eq!(
        refused.to_string(),
        "a read error the sniff hit (connection reset) has not been read yet"
    );
    let as_io = io::Error::from(refused);
    assert_eq!(as_io.kind(), io::ErrorKind::Other);
}

#[test]
fn the_stream_can_be_read_and_formatted_inside_with_sniffed() {
    let (stream, mut client) = stream_with(b"GET / HTTP/1.1\r\n\r\n", None);
    client.write_all(b"after").unwrap();
    drop(client);
    let (formatted, nested, unread, read) = stream.with_sniffed(|sniffed| {
        let formatted = format!("{stream:?}");
        let nested = stream.http1_request().map(|request| request.method);
        let unread = stream.unread_len();
        let mut read = Vec::new();
        (&stream).read_to_end(&mut read).unwrap();
        assert_eq!(read.len(), sniffed.len() + 5);
        (formatted, nested, unread, read)
    });
    assert!(formatted.contains("unread_len: 18"), "{formatted}");
    assert_eq!(nested.as_deref(), Some("GET"));
    assert_eq!(unread, 18);
    assert!(read.ends_with(b"after"));
    assert_eq!(stream.unread_len(), 0);
    assert!(stream.with_sniffed(|sniffed| sniffed.starts_with(b"GET /")));
}

#[test]
fn debug_never_waits_for_the_replay_lock() {
    let (stream, _client) = stream_with(b"abc", None);
    let held = lock(&stream.replay);
    let formatted = format!("{stream:?}");
    drop(held);
    assert!(formatted.contains("unread_len: <locked>"), "{formatted}");
    assert!(format!("{stream:?}").contains("unread_len: 3"));
    let (clone_source, _client) = stream_with(b"abc", None);
    let clone = clone_source.clone_with(memory::pair().0);
    let shared = match &*lock(&clone.replay) {
        ReplaySlot::Shared(shared) => Arc::clone(shared),
        ReplaySlot::Owned(_) => panic!("a clone shares its replay"),
    };
    let held = lock(&shared);
    assert!(format!("{clone:?}").contains("unread_len: <locked>"));
    drop(held);
    assert!(format!("{clone_source:?}").contains("unread_len: 3"));
}
