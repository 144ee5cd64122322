//! The HTTP/2 handler, with prior knowledge (RFC 9113) and framing by
//! hand: it answers every request with a fixed reply without decoding
//! HPACK, and ends broken or idle connections with a GOAWAY.

use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::time::Duration;

use connmux::matchers::HTTP2_PREFACE;
use connmux::PeekableStream;

use crate::conn::{close_gracefully, is_timeout};

const HTTP2_IDLE_TIMEOUT: Duration = Duration::from_secs(30);
/// SETTINGS_MAX_FRAME_SIZE, which we leave at its initial value
/// (RFC 9113 section 6.5.2): no client may send a larger payload.
const HTTP2_MAX_FRAME_SIZE: usize = 16_384;
/// Bound on a header block spread over HEADERS and CONTINUATION frames.
const HTTP2_MAX_HEADER_BLOCK: usize = 64 * 1024;

// Frame types (RFC 9113 section 6).
const DATA: u8 = 0x0;
const HEADERS: u8 = 0x1;
const SETTINGS: u8 = 0x4;
const PING: u8 = 0x6;
const GOAWAY: u8 = 0x7;
const WINDOW_UPDATE: u8 = 0x8;
const CONTINUATION: u8 = 0x9;

// Frame flags (RFC 9113 section 6). ACK and END_STREAM share a bit; which
// one it means depends on the frame type.
const ACK: u8 = 0x1;
const END_STREAM: u8 = 0x1;
const END_HEADERS: u8 = 0x4;
const PADDED: u8 = 0x8;
const PRIORITY: u8 = 0x20;

// Error codes (RFC 9113 section 7).
const NO_ERROR: u32 = 0x0;
const PROTOCOL_ERROR: u32 = 0x1;
const FRAME_SIZE_ERROR: u32 = 0x6;

/// The response header block, in HPACK (RFC 7541):
/// - `0x88`: indexed field, static table entry 8, `:status: 200`
///   (section 6.1);
/// - `0x0f 0x10`: literal field without indexing whose name is static
///   entry 31, `content-type` (section 6.2.2; 31 does not fit the 4-bit
///   prefix, so it is 15 plus 16 in the next byte, section 5.1);
/// - `0x0a` then `text/plain`: a 10-byte value, not Huffman-coded
///   (section 5.2).
const RESPONSE_HEADER_BLOCK: &[u8] = b"\x88\x0f\x10\x0atext/plain";

/// The 9-octet header every frame starts with (RFC 9113 section 4.1):
/// a 24-bit payload length, the type, the flags, then one reserved bit and
/// a 31-bit stream identifier.
struct FrameHeader {
    length: usize,
    kind: u8,
    flags: u8,
    stream_id: u32,
}

struct Frame {
    header: FrameHeader,
    payload: Vec<u8>,
}

/// Why the server ends the connection with a GOAWAY: the error code to
/// send (NO_ERROR for an idle connection) and a reason for the log.
struct ConnectionError {
    code: u32,
    reason: &'static str,
}

fn connection_error(code: u32, reason: &'static str) -> ConnectionError {
    ConnectionError { code, reason }
}

/// What to do after a frame.
enum Flow {
    Continue,
    /// The client sent GOAWAY or closed: the connection is done.
    Stop,
    GoAway(ConnectionError),
}

/// One HTTP/2 connection: the stream and the highest stream the client
/// opened, which every GOAWAY we send must name (RFC 9113 section 6.8).
struct Http2Connection {
    stream: PeekableStream,
    peer: SocketAddr,
    last_stream_id: u32,
}

pub(crate) fn serve_http2(mut stream: PeekableStream, peer: SocketAddr) -> io::Result<()> {
    stream.set_read_timeout(Some(HTTP2_IDLE_TIMEOUT))?;
    read_client_preface(&mut stream)?;
    // RFC 9113 section 3.4: the server's preface is a SETTINGS frame,
    // which may be empty (every setting keeps its initial value).
    write_frame(&mut stream, SETTINGS, 0, 0, &[])?;
    let mut connection = Http2Connection {
        stream,
        peer,
        last_stream_id: 0,
    };
    loop {
        let flow = match connection.read_frame() {
            Ok(Ok(Some(frame))) => connection.handle_frame(frame)?,
            Ok(Ok(None)) => Flow::Stop,
            Ok(Err(error)) => Flow::GoAway(error),
            Err(error) if is_timeout(&error) => {
                Flow::GoAway(connection_error(NO_ERROR, "idle timeout"))
            }
            Err(error) => return Err(error),
        };
        match flow {
            Flow::Continue => {}
            Flow::Stop => return Ok(()),
            Flow::GoAway(error) => return connection.go_away(error),
        }
    }
}

/// The mux replays the sniffed preface, so the handler sees the
/// connection from its first byte (RFC 9113 section 3.4).
fn read_client_preface(stream: &mut PeekableStream) -> io::Result<()> {
    let mut preface = [0u8; 24];
    stream.read_exact(&mut preface)?;
    if preface != HTTP2_PREFACE {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "not the HTTP/2 client preface",
        ));
    }
    Ok(())
}

impl Http2Connection {
    /// The next frame; `Ok(Ok(None))` when the client closed between
    /// frames, `Ok(Err(_))` when the frame breaks the protocol.
    fn read_frame(&mut self) -> io::Result<Result<Option<Frame>, ConnectionError>> {
        let mut bytes = [0u8; 9];
        if !read_exact_or_eof(&mut self.stream, &mut bytes)? {
            return Ok(Ok(None));
        }
        let header = FrameHeader {
            length: usize::from(bytes[0]) << 16
                | usize::from(bytes[1]) << 8
                | usize::from(bytes[2]),
            kind: bytes[3],
            flags: bytes[4],
            stream_id: u32::from_be_bytes([bytes[5], bytes[6], bytes[7], bytes[8]]) & 0x7fff_ffff,
        };
        // RFC 9113 section 4.2: a frame larger than SETTINGS_MAX_FRAME_SIZE
        // is a FRAME_SIZE_ERROR; refuse it before buffering it.
        if header.length > HTTP2_MAX_FRAME_SIZE {
            return Ok(Err(connection_error(
                FRAME_SIZE_ERROR,
                "frame larger than 16384 bytes",
            )));
        }
        let mut payload = vec![0u8; header.length];
        self.stream.read_exact(&mut payload)?;
        Ok(Ok(Some(Frame { header, payload })))
    }

    fn handle_frame(&mut self, frame: Frame) -> io::Result<Flow> {
        let FrameHeader { kind, flags, .. } = frame.header;
        match kind {
            HEADERS => self.handle_headers(frame),
            DATA => {
                self.return_flow_control_credit(&frame)?;
                Ok(Flow::Continue)
            }
            // RFC 9113 section 6.5.3: acknowledge the client's settings.
            SETTINGS if flags & ACK == 0 => {
                if !frame.payload.len().is_multiple_of(6) {
                    return Ok(Flow::GoAway(connection_error(
                        FRAME_SIZE_ERROR,
                        "SETTINGS length not a multiple of 6",
                    )));
                }
                write_frame(&mut self.stream, SETTINGS, ACK, 0, &[])?;
                Ok(Flow::Continue)
            }
            // RFC 9113 section 6.7: answer with the same 8 octets.
            PING if flags & ACK == 0 => {
                if frame.payload.len() != 8 {
                    return Ok(Flow::GoAway(connection_error(
                        FRAME_SIZE_ERROR,
                        "PING payload is not 8 bytes",
                    )));
                }
                write_frame(&mut self.stream, PING, ACK, 0, &frame.payload)?;
                Ok(Flow::Continue)
            }
            GOAWAY => Ok(Flow::Stop),
            CONTINUATION => Ok(Flow::GoAway(connection_error(
                PROTOCOL_ERROR,
                "CONTINUATION without a HEADERS frame before it",
            ))),
            // SETTINGS and PING acknowledgements, PRIORITY, RST_STREAM,
            // WINDOW_UPDATE (our replies are far below the initial window)
            // and, per RFC 9113 section 4.1, unknown frame types.
            _ => Ok(Flow::Continue),
        }
    }

    /// Answers a request as soon as its header block is complete, without
    /// decoding it: every request gets the same reply.
    fn handle_headers(&mut self, frame: Frame) -> io::Result<Flow> {
        let stream_id = frame.header.stream_id;
        // RFC 9113 section 5.1.1: clients open odd-numbered streams.
        if stream_id == 0 || stream_id.is_multiple_of(2) {
            return Ok(Flow::GoAway(connection_error(
                PROTOCOL_ERROR,
                "HEADERS on a stream a client cannot open",
            )));
        }
        let mut block = match header_block_fragment(&frame) {
            Ok(fragment) => fragment.to_vec(),
            Err(error) => return Ok(Flow::GoAway(error)),
        };
        if frame.header.flags & END_HEADERS == 0 {
            if let Err(error) = self.read_continuations(stream_id, &mut block)? {
                return Ok(Flow::GoAway(error));
            }
        }
        // A stream we have already answered is sending trailers (RFC 9113
        // section 8.1): nothing to reply.
        if stream_id <= self.last_stream_id {
            return Ok(Flow::Continue);
        }
        self.last_stream_id = stream_id;
        println!(
            "{}  HTTP/2  request on stream {stream_id} ({}-byte HPACK header block, not decoded)",
            self.peer,
            block.len()
        );
        self.write_response(stream_id)?;
        Ok(Flow::Continue)
    }

    /// Collects the rest of a header block: RFC 9113 section 6.10 says
    /// only CONTINUATION frames on the same stream may follow until one
    /// carries END_HEADERS.
    fn read_continuations(
        &mut self,
        stream_id: u32,
        block: &mut Vec<u8>,
    ) -> io::Result<Result<(), ConnectionError>> {
        loop {
            let frame = match self.read_frame()? {
                Ok(Some(frame)) => frame,
                Ok(None) => {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "the client closed in the middle of a header block",
                    ))
                }
                Err(error) => return Ok(Err(error)),
            };
            if frame.header.kind != CONTINUATION || frame.header.stream_id != stream_id {
                return Ok(Err(connection_error(
                    PROTOCOL_ERROR,
                    "header block interrupted by another frame",
                )));
            }
            if block.len() + frame.payload.len() > HTTP2_MAX_HEADER_BLOCK {
                return Ok(Err(connection_error(
                    PROTOCOL_ERROR,
                    "header block larger than 64 KiB",
                )));
            }
            block.extend_from_slice(&frame.payload);
            if frame.header.flags & END_HEADERS != 0 {
                return Ok(Ok(()));
            }
        }
    }

    /// Our reply: HEADERS then DATA with END_STREAM, in one write.
    fn write_response(&mut self, stream_id: u32) -> io::Result<()> {
        let body = format!("hello from connmux over HTTP/2 (stream {stream_id})\n");
        let mut frames = Vec::new();
        encode_frame(
            &mut frames,
            HEADERS,
            END_HEADERS,
            stream_id,
            RESPONSE_HEADER_BLOCK,
        );
        encode_frame(&mut frames, DATA, END_STREAM, stream_id, body.as_bytes());
        self.stream.write_all(&frames)
    }

    /// Gives back the flow-control window a request body used (RFC 9113
    /// section 6.9), so that a client uploading more than the initial
    /// 65,535 bytes is not left waiting. The stream's own window only
    /// matters while the client is still sending on it.
    fn return_flow_control_credit(&mut self, frame: &Frame) -> io::Result<()> {
        let Ok(used) = u32::try_from(frame.payload.len()) else {
            return Ok(());
        };
        if used == 0 {
            return Ok(());
        }
        let increment = used.to_be_bytes();
        write_frame(&mut self.stream, WINDOW_UPDATE, 0, 0, &increment)?;
        if frame.header.flags & END_STREAM == 0 {
            write_frame(
                &mut self.stream,
                WINDOW_UPDATE,
                0,
                frame.header.stream_id,
                &increment,
            )?;
        }
        Ok(())
    }

    /// Ends the connection with a GOAWAY (RFC 9113 section 6.8): the last
    /// stream we processed, then the error code.
    fn go_away(mut self, error: ConnectionError) -> io::Result<()> {
        eprintln!(
            "{}  HTTP/2  closing with GOAWAY: {}",
            self.peer, error.reason
        );
        let mut payload = self.last_stream_id.to_be_bytes().to_vec();
        payload.extend_from_slice(&error.code.to_be_bytes());
        write_frame(&mut self.stream, GOAWAY, 0, 0, &payload)?;
        close_gracefully(&mut self.stream);
        Ok(())
    }
}

/// The header block fragment of a HEADERS frame, without the padding and
/// priority fields its flags announce (RFC 9113 section 6.2).
fn header_block_fragment(frame: &Frame) -> Result<&[u8], ConnectionError> {
    let malformed = || connection_error(PROTOCOL_ERROR, "HEADERS padding longer than the frame");
    let payload = frame.payload.as_slice();
    let flags = frame.header.flags;
    let (mut start, mut end) = (0, payload.len());
    if flags & PADDED != 0 {
        let padding = usize::from(*payload.first().ok_or_else(malformed)?);
        start = 1;
        end = end.checked_sub(padding).ok_or_else(malformed)?;
    }
    if flags & PRIORITY != 0 {
        // Exclusive bit and stream dependency (4 octets), weight (1).
        start += 5;
    }
    payload.get(start..end).ok_or_else(malformed)
}

/// Fills `buf`, or returns `false` if the client closed before sending any
/// of it: the clean end of a connection, between two frames.
fn read_exact_or_eof(stream: &mut PeekableStream, buf: &mut [u8]) -> io::Result<bool> {
    let mut filled = 0;
    while filled < buf.len() {
        match stream.read(&mut buf[filled..]) {
            Ok(0) if filled == 0 => return Ok(false),
            Ok(0) => {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the client closed in the middle of a frame header",
                ))
            }
            Ok(read) => filled += read,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            Err(error) => return Err(error),
        }
    }
    Ok(true)
}

fn write_frame(
    stream: &mut PeekableStream,
    kind: u8,
    flags: u8,
    stream_id: u32,
    payload: &[u8],
) -> io::Result<()> {
    let mut frame = Vec::with_capacity(9 + payload.len());
    encode_frame(&mut frame, kind, flags, stream_id, payload);
    stream.write_all(&frame)
}

/// Appends one frame (RFC 9113 section 4.1) to `out`. Our payloads are
/// all far below the 16,384-byte maximum frame size.
fn encode_frame(out: &mut Vec<u8>, kind: u8, flags: u8, stream_id: u32, payload: &[u8]) {
    let length = payload.len().to_be_bytes();
    out.extend_from_slice(&length[length.len() - 3..]);
    out.push(kind);
    out.push(flags);
    out.extend_from_slice(&(stream_id & 0x7fff_ffff).to_be_bytes());
    out.extend_from_slice(payload);
}
