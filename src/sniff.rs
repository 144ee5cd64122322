//! One connection's sniff: read until the routes decide, the deadline
//! passes, the byte limit is reached, or the client stops.
//!
//! The sniffer does all the I/O; matchers only judge bytes. After every
//! read, the route decider looks at the whole prefix received so far. When
//! the input ends without a decision, undecided routes get one last look
//! with the input marked complete.

use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::connection::Connection;
use crate::decide::{Decision, RouteDecider};
use crate::matcher::Matcher;
use crate::replay::StreamEnd;

/// The most a sniff reads before its first decision: enough for typical
/// request heads and ClientHellos, small enough to stay cheap per
/// connection. The buffer doubles from here up to the byte limit.
const FIRST_READ_CAPACITY: usize = 4096;

/// The limits one sniff runs under.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SniffLimits {
    /// Time allowed from the start of the sniff; `None` for no limit.
    pub(crate) deadline: Option<Duration>,
    /// Bytes allowed before the routes must decide.
    pub(crate) max_bytes: usize,
}

/// Where the sniff ended up.
#[derive(Debug)]
pub(crate) enum SniffOutcome {
    /// The route with this index takes the connection.
    Route(usize),
    /// Every route refused (or the input ended before any matched).
    NotMatched,
    /// The deadline passed and no route took the connection.
    TimedOut,
    /// Reading failed and no route took the connection.
    Failed(io::Error),
    /// The multiplexer is shutting down.
    Interrupted,
}

/// The bytes a sniff read, how the stream ended if it did, and the outcome.
#[derive(Debug)]
pub(crate) struct Sniffed {
    pub(crate) bytes: Vec<u8>,
    pub(crate) end: Option<StreamEnd>,
    pub(crate) outcome: SniffOutcome,
}

/// Why the input ended before the routes decided.
enum InputEnd {
    Eof,
    ByteLimit,
    Deadline,
    Error(io::Error),
}

/// Sniffs `conn` against `matchers` (in priority order). `stopping` is the
/// multiplexer's shutdown flag: a sniff that ends while it is set reports
/// `Interrupted`, since shutdown is what closed the connection.
pub(crate) fn sniff<C: Connection, M: Matcher>(
    conn: &C,
    matchers: &[M],
    limits: SniffLimits,
    stopping: &AtomicBool,
) -> Sniffed {
    let deadline = limits.deadline.and_then(|d| Instant::now().checked_add(d));
    let mut decider = RouteDecider::new(matchers);
    let mut buffer = Vec::new();
    let mut filled = 0;
    let mut timeout_set = false;
    let input_end = loop {
        match decider.decide(&buffer[..filled]) {
            Decision::Route(index) => {
                buffer.truncate(filled);
                return finish(conn, timeout_set, buffer, None, SniffOutcome::Route(index));
            }
            Decision::NoRoute => {
                buffer.truncate(filled);
                return finish(conn, timeout_set, buffer, None, SniffOutcome::NotMatched);
            }
            Decision::Undecided => {}
        }
        if filled >= limits.max_bytes {
            break InputEnd::ByteLimit;
        }
        if let Some(deadline) = deadline {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break InputEnd::Deadline;
            }
            if let Err(error) = conn.set_read_timeout(Some(left)) {
                break InputEnd::Error(error);
            }
            timeout_set = true;
        }
        if filled == buffer.len() {
            let grown = (buffer.len() * 2).max(FIRST_READ_CAPACITY);
            buffer.resize(grown.min(limits.max_bytes), 0);
        }
        match conn.read_shared(&mut buffer[filled..]) {
            Ok(0) => break InputEnd::Eof,
            Ok(count) => filled += count,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            Err(error)
                if matches!(
                    error.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) && deadline.is_some() => {}
            Err(error) => break InputEnd::Error(error),
        }
    };
    buffer.truncate(filled);
    if stopping.load(Ordering::SeqCst) {
        return finish(conn, timeout_set, buffer, None, SniffOutcome::Interrupted);
    }
    let outcome = match (decider.decide_at_end(&buffer), input_end) {
        (Decision::Route(index), input_end) => {
            let end = match input_end {
                InputEnd::Eof => Some(StreamEnd::Eof),
                InputEnd::Error(error) => Some(StreamEnd::Error(error)),
                InputEnd::ByteLimit | InputEnd::Deadline => None,
            };
            return finish(conn, timeout_set, buffer, end, SniffOutcome::Route(index));
        }
        (_, InputEnd::Eof | InputEnd::ByteLimit) => SniffOutcome::NotMatched,
        (_, InputEnd::Deadline) => SniffOutcome::TimedOut,
        (_, InputEnd::Error(error)) => SniffOutcome::Failed(error),
    };
    finish(conn, timeout_set, buffer, None, outcome)
}

/// Clears the read timeout the sniff set, so the handler starts with the
/// socket as accept returned it, and packs the result.
fn finish<C: Connection>(
    conn: &C,
    timeout_set: bool,
    bytes: Vec<u8>,
    end: Option<StreamEnd>,
    outcome: SniffOutcome,
) -> Sniffed {
    if timeout_set {
        // A socket that refuses this is failing anyway; its handler will
        // see the error on its own first read.
        let _ = conn.set_read_timeout(None);
    }
    Sniffed {
        bytes,
        end,
        outcome,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::matcher::Verdict;
    use crate::matchers::{any, http1_fast, prefixes};
    use crate::memory::{pair, MemoryStream};
    use std::io::Write;
    use std::net::Shutdown;
    use std::sync::Arc;
    use std::thread;

    fn limits(deadline_ms: Option<u64>, max_bytes: usize) -> SniffLimits {
        SniffLimits {
            deadline: deadline_ms.map(Duration::from_millis),
            max_bytes,
        }
    }

    fn run(conn: &MemoryStream, matchers: &[Box<dyn Matcher>], limits: SniffLimits) -> Sniffed {
        sniff(conn, matchers, limits, &AtomicBool::new(false))
    }

    fn boxed(m: impl Matcher + 'static) -> Box<dyn Matcher> {
        Box::new(m)
    }

    #[test]
    fn decides_as_soon_as_bytes_allow() {
        let (mut client, server) = pair();
        client.write_all(b"GET / HTTP/1.1\r\n").unwrap();
        let sniffed = run(
            &server,
            &[boxed(http1_fast()), boxed(any())],
            limits(Some(10_000), 1024),
        );
        assert!(matches!(sniffed.outcome, SniffOutcome::Route(0)));
        assert_eq!(sniffed.bytes, b"GET / HTTP/1.1\r\n");
        assert!(sniffed.end.is_none());
        assert_eq!(
            server.read_timeout(),
            None,
            "the sniff's timeout is cleared"
        );
    }

    #[test]
    fn routes_that_need_no_bytes_decide_without_reading() {
        let (_client, server) = pair();
        let sniffed = run(&server, &[boxed(any())], limits(None, 1024));
        assert!(matches!(sniffed.outcome, SniffOutcome::Route(0)));
        assert!(sniffed.bytes.is_empty());
    }

    #[test]
    fn the_deadline_settles_undecided_routes() {
        let (_client, server) = pair();
        let sniffed = run(
            &server,
            &[boxed(http1_fast()), boxed(any())],
            limits(Some(30), 1024),
        );
        assert!(matches!(sniffed.outcome, SniffOutcome::Route(1)));
        let sniffed = run(&server, &[boxed(http1_fast())], limits(Some(30), 1024));
        assert!(matches!(sniffed.outcome, SniffOutcome::TimedOut));
    }

    #[test]
    fn eof_is_kept_for_the_handler() {
        let (mut client, server) = pair();
        client.write_all(b"GE").unwrap();
        client.shutdown(Shutdown::Write).unwrap();
        let sniffed = run(
            &server,
            &[boxed(http1_fast()), boxed(any())],
            limits(None, 1024),
        );
        assert!(matches!(sniffed.outcome, SniffOutcome::Route(1)));
        assert_eq!(sniffed.bytes, b"GE");
        assert!(matches!(sniffed.end, Some(StreamEnd::Eof)));
        let sniffed = run(&server, &[boxed(http1_fast())], limits(None, 1024));
        assert!(matches!(sniffed.outcome, SniffOutcome::NotMatched));
    }

    #[test]
    fn the_byte_limit_ends_the_input() {
        let (mut client, server) = pair();
        client.write_all(&[b'A'; 100]).unwrap();
        let never = |_: &[u8]| Verdict::NeedMore;
        let sniffed = run(&server, &[boxed(never), boxed(any())], limits(None, 10));
        assert!(matches!(sniffed.outcome, SniffOutcome::Route(1)));
        assert_eq!(sniffed.bytes, [b'A'; 10]);
        let sniffed = run(&server, &[boxed(never)], limits(None, 0));
        assert!(matches!(sniffed.outcome, SniffOutcome::NotMatched));
    }

    #[test]
    fn byte_by_byte_input_still_decides() {
        let (client, server) = pair();
        let writer = thread::spawn(move || {
            let mut client = client;
            for byte in b"SSH-2.0-x\r\n" {
                client.write_all(&[*byte]).unwrap();
                thread::sleep(Duration::from_millis(1));
            }
            client
        });
        let sniffed = run(
            &server,
            &[boxed(http1_fast()), boxed(prefixes(["SSH-2.0-"]))],
            limits(None, 1024),
        );
        assert!(matches!(sniffed.outcome, SniffOutcome::Route(1)));
        assert!(sniffed.bytes.starts_with(b"SSH-2.0-"));
        drop(writer.join().unwrap());
    }

    #[test]
    fn shutdown_interrupts_a_sniff_without_deadline() {
        let (_client, server) = pair();
        let server = Arc::new(server);
        let stopping = Arc::new(AtomicBool::new(false));
        let sniffer = {
            let (server, stopping) = (Arc::clone(&server), Arc::clone(&stopping));
            thread::spawn(move || {
                let routes = [boxed(http1_fast())];
                sniff(&*server, &routes, limits(None, 1024), &stopping).outcome
            })
        };
        thread::sleep(Duration::from_millis(20));
        stopping.store(true, Ordering::SeqCst);
        server.shutdown(Shutdown::Both).unwrap();
        assert!(matches!(sniffer.join().unwrap(), SniffOutcome::Interrupted));
    }
}
