//! Hostile cost (issue 13): what the worst openings an attacker can build
//! cost the sniffer, against the same bytes sent in one write. The issue's
//! premise is that no input, however split or timed, may cost the sniffer
//! more than a small constant times what the same bytes cost in one write;
//! its targets are a worst ratio of at most 10 and no 16 KiB opening above
//! 2 ms of CPU.
//!
//! **Table 1, per matcher.** Every built-in matcher, the extraction
//! functions a stream exposes (`http1_request`, `http2_request`,
//! `http2_request_headers`, `client_hello_info`) and `parse_proxy_header`,
//! each on the worst opening built for it here (the longest input it
//! still says `NeedMore` on, the most fields, one-byte TLS records, sixteen
//! CONTINUATION frames, the HPACK bomb for the HTTP/2 ones), judged as the
//! sniffer judges it:
//!
//! - **one write**: one verdict on the whole opening, and if that is
//!   `NeedMore`, the end-of-input look (`matches_at_end`) a sniff takes
//!   when the input ends;
//! - **paced**: the opening arriving one byte per read, judged at every
//!   length the sniffer's pace allows (`src/sniff/pace.rs`, whose rule this
//!   bench reproduces: a judgement whenever the bytes shown so far stay
//!   within 4 times the input, as for a client that falls silent for a
//!   pause whenever that earns one), stopping at the first decision,
//!   and the end-of-input look if none came. That is the most judgements
//!   any split or timing can get; back-to-back pieces get fewer, as
//!   table 2 shows. `parse_proxy_header` is paced as the matchers are,
//!   and parsed once more when the input ends;
//! - **benign**, for the HTTP/2 bombs: a same-size ordinary request whose
//!   header block the matcher must read to its end, in one write.
//!
//! Extraction functions are judged through a closure matcher that says
//! `Match` once they give their answer and `NeedMore` before, as a route
//! a user builds on them would be (a handler calls them once).
//!
//! **Table 2, the sniff as a whole**, over loopback TCP: a `Mux` with the
//! default settings and the routes `grpc()`, `tls_sni("www.example.com")`,
//! `http1_header("x-route", "blue")`, `redis()` and `any()`, driven by
//! `Mux::dispatcher()` on a thread of the bench (inline routes whose
//! handlers drop the stream), so that the whole sniff runs on a thread
//! whose CPU is measured. A client thread (`set_nodelay(true)`) starts
//! sending once the connection is accepted, each opening in one write, in
//! one write 2 ms later (so that the sniffing thread waits for it, as it
//! does for most clients, and sleeping and waking costs it tens of
//! microseconds on a VM), and then split or timed: one byte (one TLS
//! record, one HTTP/2 frame) per write back to back; one byte per 0.9 ms,
//! under the sniff's 2 ms first pause, for as long as the 5-second
//! deadline allows (5,000 bytes) and for 1,000 bytes; the first byte at
//! 2.9 s (the first-byte timeout is 3 s); the last piece at 4.9 s. Per
//! way, the table gives the route reached (a timing that changes the route
//! shows there), the median CPU of the dispatching thread and its ratios to
//! one write and to the one write waited for (the targets are checked
//! against the latter: a client's bytes come after its connection, so a
//! sniff of one write waits once), how many times that thread waited
//! (blocking reads and pauses: `voluntary_ctxt_switches` in
//! `/proc/thread-self/status`), and the median wall time.
//!
//! **CPU time** is the calling thread's, from the first field of
//! `/proc/thread-self/schedstat` (nanoseconds on CPU), read before and
//! after each measured call. The kernel brings that figure up to date only
//! when the thread passes through the scheduler, so each reading yields
//! first; the file stays open, and the cost of a reading pair (about 2 µs),
//! measured at start, is taken off. CPU, not wall time, because the machine
//! is shared; ratios are within one run.
//!
//! Run: `cargo bench --bench hostile` (add words to run only the rows whose
//! matcher, opening or case contains one: `cargo bench --bench hostile --
//! hpack tls`). Environment: `HOSTILE_RUNS` (repetitions of each
//! measurement, the median shown; default 5), `HOSTILE_MIN_MS` (table 1:
//! CPU milliseconds each repetition runs at least, in batches; default 10).
//! The default run takes about two minutes, most of it in table 2's timed
//! cases, which wait for the clock.

use std::fs::File;
use std::hint::black_box;
use std::io::{Read, Seek, SeekFrom, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::ops::Range;
use std::sync::{mpsc, Arc};
use std::thread;
use std::time::{Duration, Instant};

use connmux::matchers::{
    any, client_hello_info, grpc, http1, http1_fast, http1_header, http1_header_prefix,
    http1_request, http2_header, http2_header_prefix, http2_preface, http2_request,
    http2_request_headers, mqtt, postgres, prefixes, redis, socks4, socks5, ssh, tls, tls_alpn,
    tls_sni, tls_versions, websocket, Http2HeadersError, TlsVersion, HTTP2_PREFACE,
    MAX_REQUEST_LINE_BYTES,
};
use connmux::{parse_proxy_header, Dispatcher, Matcher, Mux, ProxyParse, Verdict};

/// The size of the openings: the sniffer's default byte limit.
const OPENING: usize = 16 * 1024;

/// The targets.
const MAX_RATIO: f64 = 10.0;
const MAX_CPU: Duration = Duration::from_millis(2);

// ---------------------------------------------------------------------
// CPU time

/// The CPU time of the thread that made it (see the module docs).
struct CpuClock {
    /// `/proc/thread-self/schedstat`, opened by the measured thread.
    schedstat: File,
    text: [u8; 128],
    /// What a pair of readings costs, taken off every measurement.
    overhead: Duration,
}

impl CpuClock {
    /// A clock for the calling thread, its reading cost measured.
    fn for_this_thread() -> CpuClock {
        let schedstat = File::open("/proc/thread-self/schedstat").expect("schedstat");
        let mut clock = CpuClock {
            schedstat,
            text: [0; 128],
            overhead: Duration::ZERO,
        };
        let mut empty: Vec<Duration> = (0..21).map(|_| clock.measure(|| ()).0).collect();
        clock.overhead = median(&mut empty);
        clock
    }

    /// This thread's time on CPU so far, brought up to date.
    fn now(&mut self) -> Duration {
        thread::yield_now();
        self.schedstat.seek(SeekFrom::Start(0)).expect("seek");
        let length = self.schedstat.read(&mut self.text).expect("read");
        let text = std::str::from_utf8(&self.text[..length]).expect("text");
        let nanoseconds = text.split_whitespace().next().and_then(|f| f.parse().ok());
        Duration::from_nanos(nanoseconds.expect("schedstat's first field"))
    }

    /// Runs `work`; the CPU time it took on this thread, and its result.
    fn measure<R>(&mut self, work: impl FnOnce() -> R) -> (Duration, R) {
        let start = self.now();
        let result = work();
        let end = self.now();
        (
            end.saturating_sub(start).saturating_sub(self.overhead),
            result,
        )
    }
}

/// How many times this thread has waited (blocked in a read, slept):
/// `voluntary_ctxt_switches` in `/proc/thread-self/status`. Each wait
/// costs a wake-up, which on this machine (a virtual machine) is tens of
/// microseconds of CPU.
fn waits_so_far() -> u64 {
    let status = std::fs::read_to_string("/proc/thread-self/status").expect("status");
    status
        .lines()
        .find_map(|line| line.strip_prefix("voluntary_ctxt_switches:"))
        .and_then(|count| count.trim().parse().ok())
        .expect("voluntary_ctxt_switches")
}

fn median(samples: &mut [Duration]) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

// ---------------------------------------------------------------------
// The sniffer's pace, reproduced (src/sniff/pace.rs)

/// `pace::JUDGE_WHEN_IDLE`: the bytes shown to each matcher while the input
/// grows stay within this many times its length.
const JUDGE_WHEN_IDLE: usize = 4;
/// The lengths at which a sniff judges an opening of `length` bytes that
/// arrives one byte per read, when every judgement the pace allows is
/// taken: each is earned by growth, the lengths judged summing to at most
/// [`JUDGE_WHEN_IDLE`] times the input.
fn paced_lengths(length: usize) -> Vec<usize> {
    let mut shown = 0;
    let mut lengths = Vec::new();
    for seen in 1..=length {
        if shown + seen <= JUDGE_WHEN_IDLE * seen {
            shown += seen;
            lengths.push(seen);
        }
    }
    lengths
}

// ---------------------------------------------------------------------
// Openings

/// The largest `count` for which `build(count)` fits in `limit` bytes
/// (`build` must grow with `count`), and what it built.
fn largest_within(limit: usize, build: impl Fn(usize) -> Vec<u8>) -> Vec<u8> {
    let (mut low, mut high) = (0, limit);
    while low < high {
        let middle = (low + high).div_ceil(2);
        if build(middle).len() <= limit {
            low = middle;
        } else {
            high = middle - 1;
        }
    }
    build(low)
}

/// An HTTP/1 request head of exactly `length` bytes: `GET / HTTP/1.1`,
/// copies of `filler` (one or more whole field lines), one field sized to
/// make up the length, then `last` (field lines and the empty line).
fn http1_head(length: usize, filler: &[u8], last: &[u8]) -> Vec<u8> {
    let mut head = b"GET / HTTP/1.1\r\n".to_vec();
    let pad_line = b"p:\n".len();
    while head.len() + filler.len() + pad_line + last.len() <= length {
        head.extend_from_slice(filler);
    }
    let pad = length - head.len() - last.len() - pad_line;
    head.extend_from_slice(b"p:");
    head.extend(std::iter::repeat_n(b'x', pad));
    head.push(b'\n');
    head.extend_from_slice(last);
    assert_eq!(head.len(), length);
    head
}

const HTTP2_FRAME_HEADERS: u8 = 0x1;
const HTTP2_FRAME_SETTINGS: u8 = 0x4;
const HTTP2_FRAME_CONTINUATION: u8 = 0x9;
const HTTP2_END_HEADERS: u8 = 0x4;
/// The largest frame payload a client may send (RFC 9113 section 4.2).
const HTTP2_MAX_FRAME: usize = 16_384;
/// The preface, an empty SETTINGS frame and one frame header: what a
/// one-frame header block shares its 16 KiB with.
const HTTP2_BLOCK_OVERHEAD: usize = 24 + 9 + 9;

/// An HTTP/2 frame (RFC 9113 section 4.1).
fn http2_frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
    let mut frame = (payload.len() as u32).to_be_bytes()[1..].to_vec();
    frame.extend([kind, flags]);
    frame.extend(stream.to_be_bytes());
    frame.extend_from_slice(payload);
    frame
}

/// The frames of a client's opening: the preface, an empty SETTINGS frame,
/// then `block` on stream 1 in a HEADERS frame and `continuations`
/// CONTINUATION frames (the first fragments one byte each, the last one
/// the rest).
fn http2_frames(block: &[u8], continuations: usize) -> Vec<Vec<u8>> {
    let mut frames = vec![
        HTTP2_PREFACE.to_vec(),
        http2_frame(HTTP2_FRAME_SETTINGS, 0, 0, &[]),
    ];
    let mut fragments: Vec<&[u8]> = block[..continuations].chunks(1).collect();
    fragments.push(&block[continuations..]);
    for (index, fragment) in fragments.iter().enumerate() {
        assert!(fragment.len() <= HTTP2_MAX_FRAME);
        let kind = if index == 0 {
            HTTP2_FRAME_HEADERS
        } else {
            HTTP2_FRAME_CONTINUATION
        };
        let flags = if index == continuations {
            HTTP2_END_HEADERS
        } else {
            0
        };
        frames.push(http2_frame(kind, flags, 1, fragment));
    }
    frames
}

/// An HPACK integer with a `prefix_bits` prefix after the bits `flags`
/// (RFC 7541 section 5.1).
fn hpack_integer(out: &mut Vec<u8>, flags: u8, prefix_bits: u32, value: usize) {
    let prefix_max = (1 << prefix_bits) - 1;
    if value < prefix_max {
        out.push(flags | value as u8);
        return;
    }
    out.push(flags | prefix_max as u8);
    let mut rest = value - prefix_max;
    while rest >= 0x80 {
        out.push(0x80 | (rest & 0x7f) as u8);
        rest >>= 7;
    }
    out.push(rest as u8);
}

/// A plain (not Huffman-coded) HPACK string (RFC 7541 section 5.2).
fn hpack_string(out: &mut Vec<u8>, text: &[u8]) {
    hpack_integer(out, 0, 7, text.len());
    out.extend_from_slice(text);
}

/// A literal field without indexing, its name sent (RFC 7541 section
/// 6.2.2: `0000 0000`, name, value).
fn hpack_literal(out: &mut Vec<u8>, name: &[u8], value: &[u8]) {
    out.push(0);
    hpack_string(out, name);
    hpack_string(out, value);
}

/// The HPACK bomb of issue 13, `length` bytes at most: a literal with
/// incremental indexing whose Huffman-coded name decodes to 4,064 octets
/// (an entry of exactly 4,096, the whole table), then two-octet literals
/// with incremental indexing naming that newest dynamic entry (`0x7e`:
/// index 62; `0x00`: an empty value). Each evicts the entry before it, and
/// knowing what to evict takes the size of the name, decoded.
fn hpack_bomb(length: usize) -> Vec<u8> {
    // RFC 7541 Appendix B: 'a' is `00011`, five bits; eight of them are
    // these five octets.
    const EIGHT_A: [u8; 5] = [0x18, 0xc6, 0x31, 0x8c, 0x63];
    let coded: Vec<u8> = EIGHT_A.iter().copied().cycle().take(4064 / 8 * 5).collect();
    let mut block = Vec::new();
    hpack_integer(&mut block, 0x40, 6, 0);
    hpack_integer(&mut block, 0x80, 7, coded.len());
    block.extend(coded);
    hpack_string(&mut block, b"");
    while block.len() + 2 <= length {
        block.extend([0x7e, 0x00]);
    }
    block
}

/// An ordinary gRPC request's header block of exactly `length` bytes: the
/// pseudo-header fields, metadata fields, then `content-type` and
/// `x-tenant: blue` last, so that a matcher for either reads it all.
fn hpack_grpc_request(length: usize) -> Vec<u8> {
    let mut block = vec![0x83, 0x86]; // :method POST, :scheme http (static table)
    hpack_integer(&mut block, 0x00, 4, 4); // :path, by name index
    hpack_string(&mut block, b"/connmux.bench.Echo/Call");
    hpack_integer(&mut block, 0x00, 4, 1); // :authority, by name index
    hpack_string(&mut block, b"www.example.com");
    hpack_literal(&mut block, b"te", b"trailers");
    let mut last = Vec::new();
    hpack_literal(&mut last, b"content-type", b"application/grpc+proto");
    hpack_literal(&mut last, b"x-tenant", b"blue");
    let value = b"3f1c9a7e-52d4-4b8e-a0f6-1d2c3b4a5e6f;v=1;sampled=true;region=eu-west";
    let metadata = |block: &mut Vec<u8>, index: usize, value: &[u8]| {
        hpack_literal(
            block,
            format!("x-request-meta-{index:03}").as_bytes(),
            value,
        )
    };
    let field_length = {
        let mut field = Vec::new();
        metadata(&mut field, 0, value);
        field.len()
    };
    let mut index = 0;
    // The last metadata field takes the bytes left: its value is shorter
    // than a whole field, so its length fits in one octet.
    let overhead = field_length - value.len();
    while block.len() + field_length + last.len() + overhead <= length {
        metadata(&mut block, index, value);
        index += 1;
    }
    let left = length - block.len() - last.len() - overhead;
    let padding: Vec<u8> = value.iter().copied().cycle().take(left).collect();
    metadata(&mut block, index, &padding);
    block.extend(last);
    assert_eq!(block.len(), length);
    block
}

/// A header block of `length` bytes at most whose fields all have names
/// as long as `x-tenant` but not it (`x-tenanz`, empty values): a matcher
/// for `x-tenant` compares every name, and each comparison reads the
/// name from the start of the block, through every fragment before it.
fn hpack_same_length_names(length: usize) -> Vec<u8> {
    let mut block = Vec::new();
    loop {
        let mut field = Vec::new();
        hpack_literal(&mut field, b"x-tenanz", b"");
        if block.len() + field.len() > length {
            break block;
        }
        block.extend(field);
    }
}

const TLS_EXTENSION_SERVER_NAME: u16 = 0;
const TLS_EXTENSION_ALPN: u16 = 16;
const TLS_EXTENSION_SUPPORTED_VERSIONS: u16 = 43;
/// An extension type connmux does not read (a GREASE value, RFC 8701).
const TLS_EXTENSION_GREASE: u16 = 0x0a0a;

/// A TLS extension (RFC 8446 section 4.2).
fn tls_extension(kind: u16, data: &[u8]) -> Vec<u8> {
    let mut extension = kind.to_be_bytes().to_vec();
    extension.extend((data.len() as u16).to_be_bytes());
    extension.extend_from_slice(data);
    extension
}

/// A server_name extension for `host_name` (RFC 6066 section 3).
fn tls_server_name(host_name: &[u8]) -> Vec<u8> {
    let mut entry = vec![0];
    entry.extend((host_name.len() as u16).to_be_bytes());
    entry.extend_from_slice(host_name);
    let mut list = (entry.len() as u16).to_be_bytes().to_vec();
    list.extend(entry);
    tls_extension(TLS_EXTENSION_SERVER_NAME, &list)
}

/// An ALPN extension listing `protocols` (RFC 7301 section 3.1).
fn tls_alpn_list<'p>(protocols: impl IntoIterator<Item = &'p [u8]>) -> Vec<u8> {
    let mut names = Vec::new();
    for protocol in protocols {
        names.push(protocol.len() as u8);
        names.extend_from_slice(protocol);
    }
    let mut list = (names.len() as u16).to_be_bytes().to_vec();
    list.extend(names);
    tls_extension(TLS_EXTENSION_ALPN, &list)
}

/// A supported_versions extension offering TLS 1.3 and 1.2 (RFC 8446
/// section 4.2.1).
fn tls_supported_versions() -> Vec<u8> {
    tls_extension(
        TLS_EXTENSION_SUPPORTED_VERSIONS,
        &[4, 0x03, 0x04, 0x03, 0x03],
    )
}

/// A ClientHello handshake message with `extensions` (RFC 8446 section
/// 4.1.2): TLS 1.2 legacy version, a zero random, no session id, one
/// cipher suite, null compression.
fn tls_client_hello(extensions: &[u8]) -> Vec<u8> {
    let mut body = vec![0x03, 0x03];
    body.extend([0; 32]);
    body.extend([0x00, 0x00, 0x02, 0x13, 0x01, 0x01, 0x00]);
    body.extend((extensions.len() as u16).to_be_bytes());
    body.extend_from_slice(extensions);
    let mut hello = vec![1];
    hello.extend(&(body.len() as u32).to_be_bytes()[1..]);
    hello.extend(body);
    hello
}

/// `handshake` in handshake records of `fragment` bytes each (RFC 8446
/// section 5.1).
fn tls_records(handshake: &[u8], fragment: usize) -> Vec<u8> {
    let mut records = Vec::new();
    for piece in handshake.chunks(fragment) {
        records.extend([22, 0x03, 0x01]);
        records.extend((piece.len() as u16).to_be_bytes());
        records.extend_from_slice(piece);
    }
    records
}

/// A ClientHello within [`OPENING`] bytes in records of `fragment` bytes:
/// as many copies of `filler` as fit, then `last`.
fn tls_opening(fragment: usize, filler: &[u8], last: &[u8]) -> Vec<u8> {
    largest_within(OPENING, |count| {
        let mut extensions = filler.repeat(count);
        extensions.extend_from_slice(last);
        tls_records(&tls_client_hello(&extensions), fragment)
    })
}

/// A ClientHello within [`OPENING`] bytes in records of `fragment` bytes
/// whose ALPN extension lists as many one-byte protocols as fit, then
/// `last`; the server name `www.example.com` comes first.
fn tls_alpn_opening(fragment: usize, last: &[u8]) -> Vec<u8> {
    largest_within(OPENING, |count| {
        let names = std::iter::repeat_n(&b"x"[..], count).chain([last]);
        let mut extensions = tls_server_name(b"www.example.com");
        extensions.extend(tls_alpn_list(names));
        tls_records(&tls_client_hello(&extensions), fragment)
    })
}

/// A PROXY protocol v2 header of `length` bytes (at most 4096): TCP over
/// IPv4, then empty TLVs (type, u16 length 0) filling the rest.
fn proxy_v2_tlvs(length: usize) -> Vec<u8> {
    let mut header = b"\r\n\r\n\0\r\nQUIT\n".to_vec();
    header.extend([0x21, 0x11]);
    header.extend(((length - 16) as u16).to_be_bytes());
    header.extend([192, 0, 2, 1, 198, 51, 100, 1, 0x30, 0x39, 0x01, 0xbb]);
    while header.len() + 3 <= length {
        header.extend([0xe0, 0, 0]);
    }
    assert_eq!(header.len(), length, "TLVs fill the header exactly");
    header
}

/// A PROXY protocol v1 line that stays incomplete to its 107-byte bound:
/// `PROXY UNKNOWN ` and bytes with no line end.
fn proxy_v1_unknown() -> Vec<u8> {
    let mut line = b"PROXY UNKNOWN ".to_vec();
    line.resize(106, b'x');
    line
}

// ---------------------------------------------------------------------
// Table 1: per matcher

/// What table 1 judges.
enum Subject {
    Matcher(Box<dyn Matcher>),
    ProxyHeader,
}

/// One row of table 1.
struct MatcherCase {
    name: String,
    opening_name: &'static str,
    opening: Arc<Vec<u8>>,
    /// A same-size ordinary input, for bombs.
    benign: Option<Arc<Vec<u8>>>,
    subject: Subject,
}

fn matcher_case(
    name: impl Into<String>,
    matcher: impl Matcher + 'static,
    opening_name: &'static str,
    opening: &Arc<Vec<u8>>,
) -> MatcherCase {
    MatcherCase {
        name: name.into(),
        opening_name,
        opening: Arc::clone(opening),
        benign: None,
        subject: Subject::Matcher(Box::new(matcher)),
    }
}

impl MatcherCase {
    fn benign(mut self, benign: &Arc<Vec<u8>>) -> MatcherCase {
        self.benign = Some(Arc::clone(benign));
        self
    }

    /// Judges `input` in one write.
    fn one_write(&self, input: &[u8]) -> Outcome {
        match &self.subject {
            Subject::Matcher(matcher) => match matcher.verdict(input) {
                Verdict::NeedMore => Outcome::AtEnd(matcher.matches_at_end(input)),
                verdict => Outcome::Decided(verdict),
            },
            Subject::ProxyHeader => Outcome::Parsed(match parse_proxy_header(input) {
                ProxyParse::Complete { .. } => "Complete",
                ProxyParse::Incomplete => "Incomplete",
                ProxyParse::Absent => "Absent",
                ProxyParse::Malformed(_) => "Malformed",
            }),
        }
    }

    /// The lengths at which [`MatcherCase::paced`] judges `input`.
    fn paced_lengths(&self, input: &[u8]) -> Vec<usize> {
        paced_lengths(input.len())
    }

    /// Judges `input` as it arrives one byte per read, at `lengths` (the
    /// pace's, worked out beforehand) until a decision, then at the end if
    /// none came; how many calls that made.
    fn paced(&self, input: &[u8], lengths: &[usize]) -> usize {
        match &self.subject {
            Subject::Matcher(matcher) => {
                for (calls, &length) in lengths.iter().enumerate() {
                    if black_box(matcher.verdict(&input[..length])) != Verdict::NeedMore {
                        return calls + 1;
                    }
                }
                black_box(matcher.matches_at_end(input));
                lengths.len() + 1
            }
            Subject::ProxyHeader => {
                for (calls, &length) in lengths.iter().enumerate() {
                    let parsed = black_box(parse_proxy_header(&input[..length]));
                    if !matches!(parsed, ProxyParse::Incomplete) {
                        return calls + 1;
                    }
                }
                black_box(parse_proxy_header(input));
                lengths.len() + 1
            }
        }
    }
}

/// What a one-write judgement came to.
#[derive(Debug, Clone, Copy)]
enum Outcome {
    /// The verdict on the whole opening.
    Decided(Verdict),
    /// `NeedMore`, then the end-of-input look: whether it matched.
    AtEnd(bool),
    /// What `parse_proxy_header` said.
    Parsed(&'static str),
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Outcome::Decided(verdict) => write!(f, "{verdict:?}"),
            Outcome::AtEnd(true) => f.write_str("NeedMore, end Match"),
            Outcome::AtEnd(false) => f.write_str("NeedMore, end NoMatch"),
            Outcome::Parsed(parse) => f.write_str(parse),
        }
    }
}

/// The CPU time per call of each of `calls` in `runs` repetitions, the
/// calls taking turns within each repetition so that they see the same
/// machine. A repetition runs a call in a batch lasting at least
/// `min_time`; a call that takes that long alone is its own batch, and the
/// run that sized the batches counts as its first repetition.
fn cpu_per_call(
    clock: &mut CpuClock,
    runs: usize,
    min_time: Duration,
    calls: &mut [&mut dyn FnMut()],
) -> Vec<Vec<Duration>> {
    let mut samples = vec![Vec::new(); calls.len()];
    let mut batches = Vec::new();
    for (call, samples) in calls.iter_mut().zip(&mut samples) {
        let (once, ()) = clock.measure(&mut **call);
        if once >= min_time {
            samples.push(once);
            batches.push(1);
        } else {
            batches.push((min_time.as_nanos() / once.as_nanos().max(1)).clamp(1, 1 << 24) as u32);
        }
    }
    for run in 0..runs {
        for ((call, samples), &batch) in calls.iter_mut().zip(&mut samples).zip(&batches) {
            if samples.len() > run {
                continue;
            }
            let (took, ()) = clock.measure(|| {
                for _ in 0..batch {
                    call();
                }
            });
            samples.push(took / batch);
        }
    }
    samples
}

/// The median of the ratios `numerators[i] / denominators[i]`.
fn median_ratio(numerators: &[Duration], denominators: &[Duration]) -> f64 {
    let mut ratios: Vec<f64> = numerators
        .iter()
        .zip(denominators)
        .map(|(n, d)| n.as_secs_f64() / d.as_secs_f64().max(1e-9))
        .collect();
    ratios.sort_by(f64::total_cmp);
    ratios[ratios.len() / 2]
}

/// A closure matcher over an extraction function: `Match` once it gives
/// its answer.
fn extraction<T>(extract: fn(&[u8]) -> Option<T>) -> impl Matcher {
    move |seen: &[u8]| match extract(seen) {
        Some(_) => Verdict::Match,
        None => Verdict::NeedMore,
    }
}

fn matcher_cases() -> Vec<MatcherCase> {
    let share = |bytes: Vec<u8>| Arc::new(bytes);
    let x_route_last = b"X-Route: blue\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n";
    let http1_tiny_fields = share(http1_head(OPENING, b"a:\n", x_route_last));
    let http1_same_length = share(http1_head(OPENING, b"x-routf:\n", x_route_last));
    let http1_upgrade_lists = share(http1_head(
        OPENING,
        b"upgrade:,,,,,,,,,,,,,,\n",
        x_route_last,
    ));
    let host_last = share(http1_head(
        OPENING,
        b"a:\n",
        b"Host: www.example.com\r\n\r\n",
    ));
    let request_line = share({
        let mut line = b"GET /".to_vec();
        line.resize(MAX_REQUEST_LINE_BYTES - 1, b'a');
        line
    });

    let h2_block_room = OPENING - HTTP2_BLOCK_OVERHEAD;
    let h2_bomb = share(http2_frames(&hpack_bomb(h2_block_room), 0).concat());
    let h2_benign = share(http2_frames(&hpack_grpc_request(h2_block_room), 0).concat());
    let continuation_room = h2_block_room - 16 * 9;
    let h2_extension_frames = share({
        let mut block = Vec::new();
        hpack_literal(&mut block, b"x-tenant", b"blue");
        let headers = http2_frame(HTTP2_FRAME_HEADERS, HTTP2_END_HEADERS, 1, &block);
        let mut opening = http2_frames(&[], 0)[..2].concat();
        // An empty frame of a type no one defined (RFC 9113 section 5.5).
        let extension = http2_frame(0xfa, 0, 0, &[]);
        while opening.len() + extension.len() + headers.len() <= OPENING {
            opening.extend_from_slice(&extension);
        }
        opening.extend(headers);
        opening
    });
    let h2_continuations =
        share(http2_frames(&hpack_same_length_names(continuation_room), 16).concat());

    let grease = tls_extension(TLS_EXTENSION_GREASE, b"");
    let sni = tls_server_name(b"www.example.com");
    let tls_empty_extensions_1 = share(tls_opening(1, &grease, &sni));
    let tls_empty_extensions = share(tls_opening(OPENING, &grease, &sni));
    let tls_padding_1 = share(largest_within(OPENING, |length| {
        let mut extensions = tls_extension(TLS_EXTENSION_GREASE, &vec![0; length]);
        extensions.extend_from_slice(&sni);
        tls_records(&tls_client_hello(&extensions), 1)
    }));
    let tls_versions_last = share(tls_opening(1, &grease, &tls_supported_versions()));
    let tls_alpn_1 = share(tls_alpn_opening(1, b"h2"));
    let tls_alpn_one_record = share(tls_alpn_opening(OPENING, b"h2"));

    let socks4a = share({
        let mut request = vec![4, 1, 0x01, 0xbb, 0, 0, 0, 1];
        request.extend([b'u'; 255]);
        request.push(0);
        request.extend([b'd'; 255]);
        request
    });
    let socks5_methods = share({
        let mut greeting = vec![5, 255];
        greeting.extend([1; 254]);
        greeting
    });
    let long_prefix = vec![b'x'; OPENING];
    let prefix_opening = share(long_prefix[..OPENING - 1].to_vec());

    vec![
        matcher_case(
            "http1_fast",
            http1_fast(),
            "longest method, no space",
            &share(b"UPDATEREDIRECTREF".to_vec()),
        ),
        matcher_case(
            "http1",
            http1(),
            "8 KiB request line, no end",
            &request_line,
        ),
        matcher_case(
            "http1_header(x-route)",
            http1_header("x-route", "blue"),
            "`a:` fields, x-route last",
            &http1_tiny_fields,
        ),
        matcher_case(
            "http1_header(x-route)",
            http1_header("x-route", "blue"),
            "`x-routf:` fields, x-route last",
            &http1_same_length,
        ),
        matcher_case(
            "http1_header_prefix(x-route)",
            http1_header_prefix("x-route", "bl"),
            "`a:` fields, x-route last",
            &http1_tiny_fields,
        ),
        matcher_case(
            "websocket",
            websocket(),
            "`a:` fields, upgrade last",
            &http1_tiny_fields,
        ),
        matcher_case(
            "websocket",
            websocket(),
            "`upgrade:,,,` fields",
            &http1_upgrade_lists,
        ),
        matcher_case(
            "http1_request",
            extraction(|seen| http1_request(seen)?.host),
            "`a:` fields, host last",
            &host_last,
        ),
        matcher_case(
            "http2_preface",
            http2_preface(),
            "preface but its last byte",
            &share(HTTP2_PREFACE[..23].to_vec()),
        ),
        matcher_case(
            "http2_header(x-tenant)",
            http2_header("x-tenant", "blue"),
            "HPACK bomb",
            &h2_bomb,
        )
        .benign(&h2_benign),
        matcher_case(
            "http2_header(x-tenant)",
            http2_header("x-tenant", "blue"),
            "16 CONTINUATION, x-tenanz fields",
            &h2_continuations,
        )
        .benign(&h2_benign),
        matcher_case(
            "http2_header(x-tenant)",
            http2_header("x-tenant", "blue"),
            "~1,800 empty frames, then HEADERS",
            &h2_extension_frames,
        )
        .benign(&h2_benign),
        matcher_case(
            "http2_header_prefix(x-tenant)",
            http2_header_prefix("x-tenant", "bl"),
            "HPACK bomb",
            &h2_bomb,
        )
        .benign(&h2_benign),
        matcher_case("grpc", grpc(), "HPACK bomb", &h2_bomb).benign(&h2_benign),
        matcher_case(
            "http2_request",
            extraction(http2_request),
            "HPACK bomb",
            &h2_bomb,
        )
        .benign(&h2_benign),
        matcher_case(
            "http2_request_headers",
            |seen: &[u8]| match http2_request_headers(seen, |name, value| {
                black_box((name, value));
            }) {
                Ok(()) => Verdict::Match,
                Err(Http2HeadersError::Incomplete) => Verdict::NeedMore,
                Err(_) => Verdict::NoMatch,
            },
            "HPACK bomb",
            &h2_bomb,
        )
        .benign(&h2_benign),
        matcher_case(
            "tls",
            tls(),
            "1-byte records, SNI last",
            &tls_empty_extensions_1,
        ),
        matcher_case(
            "tls_sni",
            tls_sni("www.example.com"),
            "1-byte records, empty exts, SNI last",
            &tls_empty_extensions_1,
        ),
        matcher_case(
            "tls_sni",
            tls_sni("www.example.com"),
            "1 record, empty exts, SNI last",
            &tls_empty_extensions,
        ),
        matcher_case(
            "tls_sni",
            tls_sni("www.example.com"),
            "1-byte records, padding, SNI last",
            &tls_padding_1,
        ),
        matcher_case(
            "tls_alpn(h2)",
            tls_alpn("h2"),
            "1-byte records, 1-byte ALPNs, h2 last",
            &tls_alpn_1,
        ),
        matcher_case(
            "tls_alpn(h2)",
            tls_alpn("h2"),
            "1 record, 1-byte ALPNs, h2 last",
            &tls_alpn_one_record,
        ),
        matcher_case(
            "tls_versions(1.3)",
            tls_versions(TlsVersion::TLS1_3..=TlsVersion::TLS1_3),
            "1-byte records, versions last",
            &tls_versions_last,
        ),
        matcher_case(
            "client_hello_info",
            extraction(client_hello_info),
            "1-byte records, 1-byte ALPNs",
            &tls_alpn_1,
        ),
        matcher_case(
            "client_hello_info",
            extraction(client_hello_info),
            "1 record, 1-byte ALPNs",
            &tls_alpn_one_record,
        ),
        matcher_case(
            "ssh",
            ssh(),
            "SSH-1.99- and nothing more",
            &share(b"SSH-1.99-".to_vec()),
        ),
        matcher_case("socks4", socks4(), "4a, longest user and domain", &socks4a),
        matcher_case("socks5", socks5(), "255 methods but one", &socks5_methods),
        matcher_case(
            "redis",
            redis(),
            "inline GET, 1 KiB, no line end",
            &share({
                let mut line = b"GET ".to_vec();
                line.resize(1023, b'k');
                line
            }),
        ),
        matcher_case(
            "postgres",
            postgres(),
            "SSLRequest but its last byte",
            &share(vec![0, 0, 0, 8, 0x04, 0xd2, 0x16]),
        ),
        matcher_case(
            "mqtt",
            mqtt(),
            "CONNECT up to its flags",
            &share(vec![
                0x10, 0xff, 0xff, 0xff, 0x7f, 0, 4, b'M', b'Q', b'T', b'T', 5,
            ]),
        ),
        matcher_case(
            "prefixes(16 KiB)",
            prefixes([long_prefix]),
            "16 KiB prefix but its last byte",
            &prefix_opening,
        ),
        matcher_case(
            "any",
            any(),
            "`a:` fields, x-route last",
            &http1_tiny_fields,
        ),
        MatcherCase {
            name: "parse_proxy_header".into(),
            opening_name: "v2, 4 KiB of empty TLVs",
            opening: share(proxy_v2_tlvs(4096)),
            benign: None,
            subject: Subject::ProxyHeader,
        },
        MatcherCase {
            name: "parse_proxy_header".into(),
            opening_name: "v1 UNKNOWN, 106 bytes, no end",
            opening: share(proxy_v1_unknown()),
            benign: None,
            subject: Subject::ProxyHeader,
        },
    ]
}

/// Whether a row is asked for by the filter words (none: every row),
/// compared without regard to case.
fn selected(filters: &[String], labels: &[&str]) -> bool {
    filters.is_empty()
        || filters.iter().any(|word| {
            let word = word.to_lowercase();
            labels
                .iter()
                .any(|label| label.to_lowercase().contains(&word))
        })
}

/// The targets a row misses.
fn flags(ratio: f64, worst: Duration) -> String {
    let mut flags = Vec::new();
    if ratio > MAX_RATIO {
        flags.push("RATIO>10");
    }
    if worst > MAX_CPU {
        flags.push(">2ms");
    }
    flags.join(" ")
}

fn run_matcher_table(filters: &[String], runs: usize, min_time: Duration) {
    println!(
        "Table 1: each matcher on its worst opening; CPU ns per judgement schedule, \
         and ratios, median of {runs}"
    );
    println!(
        "{:<30} {:<38} {:>6} {:<22} {:>12} {:>12} {:>6} {:>7} {:>12} {:>9}  targets",
        "matcher",
        "opening",
        "bytes",
        "one write",
        "one write ns",
        "paced ns",
        "calls",
        "paced/1",
        "benign ns",
        "bomb/ben."
    );
    let mut clock = CpuClock::for_this_thread();
    for case in matcher_cases() {
        if !selected(filters, &[&case.name, case.opening_name]) {
            continue;
        }
        let opening = &case.opening[..];
        let verdict = case.one_write(opening);
        let lengths = case.paced_lengths(opening);
        let calls = case.paced(opening, &lengths);
        let benign = case.benign.as_deref().map(Vec::as_slice);
        let mut one_write = || {
            black_box(case.one_write(black_box(opening)));
        };
        let mut paced = || {
            black_box(case.paced(black_box(opening), &lengths));
        };
        let mut benign_write = || {
            black_box(benign.map(|benign| case.one_write(black_box(benign))));
        };
        let mut schedules: Vec<&mut dyn FnMut()> = vec![&mut one_write, &mut paced];
        if benign.is_some() {
            schedules.push(&mut benign_write);
        }
        let mut samples = cpu_per_call(&mut clock, runs, min_time, &mut schedules);
        let ratio = median_ratio(&samples[1], &samples[0]);
        let (benign, bomb_ratio) = match samples.get(2) {
            Some(benign) => (
                median(&mut benign.clone()).as_nanos().to_string(),
                format!("{:.1}", median_ratio(&samples[0], benign)),
            ),
            None => (String::new(), String::new()),
        };
        let one_write = median(&mut samples[0]);
        let paced = median(&mut samples[1]);
        println!(
            "{:<30} {:<38} {:>6} {:<22} {:>12} {:>12} {:>6} {:>7.2} {:>12} {:>9}  {}",
            case.name,
            case.opening_name,
            opening.len(),
            verdict.to_string(),
            one_write.as_nanos(),
            paced.as_nanos(),
            calls,
            ratio,
            benign,
            bomb_ratio,
            flags(ratio, paced.max(one_write)),
        );
    }
}

// ---------------------------------------------------------------------
// Table 2: the sniff as a whole

/// One write of a client: `range` of the opening, sent `at` after
/// connecting (or as soon as the write before it is done).
#[derive(Clone)]
struct Piece {
    at: Duration,
    range: Range<usize>,
}

/// The whole opening at once.
fn one_write(length: usize) -> Vec<Piece> {
    at_once(length, Duration::ZERO)
}

/// The whole opening in one write, `at` after connecting.
fn at_once(length: usize, at: Duration) -> Vec<Piece> {
    vec![Piece {
        at,
        range: 0..length,
    }]
}

/// Pieces of `size` bytes, each `gap` after the one before (back to back
/// for a zero gap).
fn pieces(length: usize, size: usize, gap: Duration) -> Vec<Piece> {
    (0..length)
        .step_by(size)
        .enumerate()
        .map(|(index, start)| Piece {
            at: gap * index as u32,
            range: start..(start + size).min(length),
        })
        .collect()
}

/// One piece per frame (or other unit), back to back.
fn units(lengths: impl IntoIterator<Item = usize>) -> Vec<Piece> {
    let mut start = 0;
    lengths
        .into_iter()
        .map(|length| {
            let piece = Piece {
                at: Duration::ZERO,
                range: start..start + length,
            };
            start += length;
            piece
        })
        .collect()
}

/// All but the last `last` bytes at once, those `at` after connecting.
fn last_piece_at(length: usize, last: usize, at: Duration) -> Vec<Piece> {
    vec![
        Piece {
            at: Duration::ZERO,
            range: 0..length - last,
        },
        Piece {
            at,
            range: length - last..length,
        },
    ]
}

/// Table 2's second way of sending each opening, the second base of its
/// ratios: one write that comes once the sniff is waiting for it, as a
/// client's first segment usually does, so the sniffing thread sleeps and
/// wakes once, which costs tens of microseconds on a VM.
const WAITED: &str = "one write, waited for";

/// When that write is sent, after accept.
const WAITED_AFTER: Duration = Duration::from_millis(2);

/// An opening and the ways table 2 sends it; the first is one write, the
/// second the same write waited for.
struct SniffCase {
    name: &'static str,
    opening: Arc<Vec<u8>>,
    ways: Vec<(String, Vec<Piece>)>,
}

fn sniff_cases() -> Vec<SniffCase> {
    let x_route_last = b"X-Route: blue\r\n\r\n";
    let http1 = Arc::new(http1_head(OPENING, b"a:\n", x_route_last));
    // One byte per 0.9 ms, under the sniff's 2 ms first pause: 5000 bytes take
    // 4.5 s, as long as the 5-second deadline allows; 1000 bytes, 0.9 s.
    let trickle_gap = Duration::from_micros(900);
    let http1_trickle = Arc::new(http1_head(5000, b"a:\n", x_route_last));
    let http1_short_trickle = Arc::new(http1_head(1000, b"a:\n", x_route_last));
    let grease = tls_extension(TLS_EXTENSION_GREASE, b"");
    let tls = Arc::new(tls_opening(
        1,
        &grease,
        &tls_server_name(b"www.example.com"),
    ));
    let continuation_room = OPENING - HTTP2_BLOCK_OVERHEAD - 16 * 9;
    let h2_frames = http2_frames(&hpack_grpc_request(continuation_room), 16);
    let h2_frame_lengths: Vec<usize> = h2_frames.iter().map(Vec::len).collect();
    let h2 = Arc::new(h2_frames.concat());
    let h2_bomb = Arc::new(http2_frames(&hpack_bomb(OPENING - HTTP2_BLOCK_OVERHEAD), 0).concat());
    let one_byte = |length| pieces(length, 1, Duration::ZERO);
    vec![
        SniffCase {
            name: "HTTP/1 head, x-route last",
            ways: vec![
                ("one write".into(), one_write(http1.len())),
                (WAITED.into(), at_once(http1.len(), WAITED_AFTER)),
                ("1 byte per write".into(), one_byte(http1.len())),
                (
                    "first byte at 2.9 s".into(),
                    at_once(http1.len(), Duration::from_millis(2900)),
                ),
                (
                    "last 16 bytes at 4.9 s".into(),
                    last_piece_at(http1.len(), 16, Duration::from_millis(4900)),
                ),
            ],
            opening: http1,
        },
        SniffCase {
            name: "HTTP/1 head, 5000 bytes",
            ways: vec![
                ("one write".into(), one_write(http1_trickle.len())),
                (WAITED.into(), at_once(http1_trickle.len(), WAITED_AFTER)),
                (
                    "1 byte per 0.9 ms".into(),
                    pieces(http1_trickle.len(), 1, trickle_gap),
                ),
            ],
            opening: http1_trickle,
        },
        SniffCase {
            name: "HTTP/1 head, 1000 bytes",
            ways: vec![
                ("one write".into(), one_write(http1_short_trickle.len())),
                (
                    WAITED.into(),
                    at_once(http1_short_trickle.len(), WAITED_AFTER),
                ),
                (
                    "1 byte per 0.9 ms".into(),
                    pieces(http1_short_trickle.len(), 1, trickle_gap),
                ),
            ],
            opening: http1_short_trickle,
        },
        SniffCase {
            name: "TLS, 1-byte records, SNI last",
            ways: vec![
                ("one write".into(), one_write(tls.len())),
                (WAITED.into(), at_once(tls.len(), WAITED_AFTER)),
                ("1 byte per write".into(), one_byte(tls.len())),
                (
                    "1 record per write".into(),
                    units(std::iter::repeat_n(6, tls.len() / 6)),
                ),
            ],
            opening: tls,
        },
        SniffCase {
            name: "HTTP/2 gRPC, 16 CONTINUATION",
            ways: vec![
                ("one write".into(), one_write(h2.len())),
                (WAITED.into(), at_once(h2.len(), WAITED_AFTER)),
                ("1 frame per write".into(), units(h2_frame_lengths)),
                ("1 byte per write".into(), one_byte(h2.len())),
            ],
            opening: h2,
        },
        SniffCase {
            name: "HTTP/2 HPACK bomb",
            ways: vec![
                ("one write".into(), one_write(h2_bomb.len())),
                (WAITED.into(), at_once(h2_bomb.len(), WAITED_AFTER)),
                ("1 byte per write".into(), one_byte(h2_bomb.len())),
            ],
            opening: h2_bomb,
        },
    ]
}

/// The routes of table 2, by index.
const ROUTE_NAMES: [&str; 5] = ["grpc", "tls_sni", "http1_header", "redis", "any"];

/// A multiplexer with the default settings and table 2's routes, inline,
/// their handlers dropping the stream; its listener stays unused.
fn sniffing_mux() -> Mux {
    let mut mux = Mux::new(TcpListener::bind("127.0.0.1:0").expect("bind")).expect("mux");
    let routes: [Box<dyn Matcher>; 5] = [
        Box::new(grpc()),
        Box::new(tls_sni("www.example.com")),
        Box::new(http1_header("x-route", "blue")),
        Box::new(redis()),
        Box::new(any()),
    ];
    for matcher in routes {
        mux.route_inline(matcher, |stream, _| drop(stream));
    }
    mux
}

/// A client that connects to `address`, waits for `go`, sends `pieces` of
/// `opening` on time (counted from `go`), then waits for the server to
/// close the connection.
fn client(
    address: SocketAddr,
    go: mpsc::Receiver<()>,
    opening: Arc<Vec<u8>>,
    pieces: Vec<Piece>,
) -> thread::JoinHandle<()> {
    thread::spawn(move || {
        let mut stream = TcpStream::connect(address).expect("connect");
        stream.set_nodelay(true).expect("nodelay");
        go.recv().expect("go");
        let started = Instant::now();
        for piece in pieces {
            if let Some(wait) = piece.at.checked_sub(started.elapsed()) {
                thread::sleep(wait);
            }
            // The server may close early (a route decided before the end).
            if stream.write_all(&opening[piece.range]).is_err() {
                return;
            }
        }
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .expect("timeout");
        let mut sink = [0; 64];
        while matches!(stream.read(&mut sink), Ok(1..)) {}
    })
}

/// What one sniff came to.
#[derive(Clone)]
struct Sniffed {
    /// The route it reached, or why none did.
    route: String,
    cpu: Duration,
    wall: Duration,
    /// How many times the dispatching thread waited (see [`waits_so_far`]).
    waits: u64,
}

/// One sniff of `opening` sent as `pieces`. The client starts sending once
/// the connection is accepted, so that its pieces arrive while the sniff
/// reads rather than pile up before it starts.
fn sniff_once(
    clock: &mut CpuClock,
    listener: &TcpListener,
    dispatcher: &Dispatcher,
    opening: &Arc<Vec<u8>>,
    pieces: &[Piece],
) -> Sniffed {
    let address = listener.local_addr().expect("address");
    let (go, wait_for_go) = mpsc::channel();
    let sender = client(address, wait_for_go, Arc::clone(opening), pieces.to_vec());
    let (conn, peer) = listener.accept().expect("accept");
    go.send(()).expect("client");
    let waits_before = waits_so_far();
    let (cpu, (route, wall)) = clock.measure(|| {
        let started = Instant::now();
        let route = dispatcher.dispatch(conn, peer);
        (route, started.elapsed())
    });
    let waits = waits_so_far() - waits_before;
    sender.join().expect("client");
    let route = match route {
        Ok(route) => ROUTE_NAMES.get(route.index()).map_or_else(
            || format!("route {}", route.index()),
            |name| name.to_string(),
        ),
        Err(reason) => format!("{reason:?}"),
    };
    Sniffed {
        route,
        cpu,
        wall,
        waits,
    }
}

/// The medians of several sniffs, and every route they reached.
fn medians(sniffs: &[Sniffed]) -> Sniffed {
    let mut routes: Vec<&str> = sniffs.iter().map(|sniff| sniff.route.as_str()).collect();
    routes.sort();
    routes.dedup();
    let mut cpu: Vec<Duration> = sniffs.iter().map(|sniff| sniff.cpu).collect();
    let mut wall: Vec<Duration> = sniffs.iter().map(|sniff| sniff.wall).collect();
    let mut waits: Vec<u64> = sniffs.iter().map(|sniff| sniff.waits).collect();
    waits.sort();
    Sniffed {
        route: routes.join("/"),
        cpu: median(&mut cpu),
        wall: median(&mut wall),
        waits: waits[waits.len() / 2],
    }
}

fn run_sniff_table(filters: &[String], runs: usize) {
    println!();
    println!(
        "Table 2: the sniff as a whole over loopback TCP (default settings); \
         the dispatching thread's CPU and waits, median of {runs}"
    );
    println!(
        "{:<30} {:<24} {:>6} {:>6} {:<13} {:>9} {:>6} {:>7} {:>6} {:>9}  targets",
        "opening",
        "sent as",
        "bytes",
        "writes",
        "route",
        "CPU µs",
        "ratio",
        "waited",
        "waits",
        "wall ms"
    );
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let mut mux = sniffing_mux();
    let dispatcher = mux.dispatcher();
    let mut clock = CpuClock::for_this_thread();
    for case in sniff_cases() {
        let wanted: Vec<bool> = case
            .ways
            .iter()
            .map(|(way, _)| selected(filters, &[case.name, way]))
            .collect();
        if !wanted.contains(&true) {
            continue;
        }
        // Every way of a case is measured, one write included (the
        // ratios' base), the runs alternating between the ways so that
        // each sees the machine as the others do.
        let mut sniffs: Vec<Vec<Sniffed>> = vec![Vec::new(); case.ways.len()];
        for _ in 0..runs {
            for ((_, pieces), sniffs) in case.ways.iter().zip(&mut sniffs) {
                sniffs.push(sniff_once(
                    &mut clock,
                    &listener,
                    &dispatcher,
                    &case.opening,
                    pieces,
                ));
            }
        }
        let medians: Vec<Sniffed> = sniffs.iter().map(|sniffs| medians(sniffs)).collect();
        let one_write = medians[0].cpu.as_secs_f64();
        let waited_for = medians[1].cpu.as_secs_f64();
        for (((way, pieces), sniffed), wanted) in case.ways.iter().zip(&medians).zip(wanted) {
            if !wanted {
                continue;
            }
            let ratio = sniffed.cpu.as_secs_f64() / one_write.max(1e-9);
            let ratio_waited = sniffed.cpu.as_secs_f64() / waited_for.max(1e-9);
            println!(
                "{:<30} {:<24} {:>6} {:>6} {:<13} {:>9.1} {:>6.2} {:>7.2} {:>6} {:>9.1}  {}",
                case.name,
                way,
                case.opening.len(),
                pieces.len(),
                sniffed.route,
                sniffed.cpu.as_secs_f64() * 1e6,
                ratio,
                ratio_waited,
                sniffed.waits,
                sniffed.wall.as_secs_f64() * 1e3,
                flags(ratio_waited, sniffed.cpu),
            );
        }
    }
    drop(mux);
}

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(default)
}

fn main() {
    let filters: Vec<String> = std::env::args()
        .skip(1)
        .filter(|arg| !arg.starts_with("--"))
        .collect();
    let runs = env_number("HOSTILE_RUNS", 5).max(1) as usize;
    let min_time = Duration::from_millis(env_number("HOSTILE_MIN_MS", 10));
    let started = Instant::now();
    run_matcher_table(&filters, runs, min_time);
    run_sniff_table(&filters, runs);
    println!();
    println!(
        "targets: paced/1 and ratio at most {MAX_RATIO}, CPU at most {} ms; run took {:.0} s",
        MAX_CPU.as_millis(),
        started.elapsed().as_secs_f64()
    );
}
