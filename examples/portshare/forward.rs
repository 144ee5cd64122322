//! Forwarding: copies a connection's bytes both ways between the client
//! and its backend, until each side has closed.
//!
//! The sniffed bytes go first ([`send_opening`]). Then the
//! [`first_exchange`], on the one thread that matched the connection:
//! most connections are a request and a quick reply, after which the
//! backend ends, and need no second thread. Once the reply is over, or
//! slow (no progress for [`QUICK_EXCHANGE`]), or large, the exchange ends,
//! and the rest is one thread per direction, each blocking on its own
//! socket reads: [`upload`] copies client to backend, [`download`] backend
//! to client (starting with what the first exchange left). Each runs with
//! its thread's [`BUFFER_BYTES`] buffer; nothing is shared between them
//! but the two sockets, so the copy path takes no lock.
//!
//! The first exchange saves a wake-up of a second thread per connection,
//! and the wake-ups of two threads blocked on one socket: measured with
//! `benches/portshare.sh`, it took a `Connection: close` request from
//! 5.8 context switches to the figures in `benches/README.md`. What it
//! costs: while it lasts nothing reads the client, so bytes a client sends
//! beyond its opening before the reply (an upload, a pipelined request)
//! wait in the kernel for at most twice [`QUICK_EXCHANGE`].
//!
//! A direction that turns out to be a bulk transfer switches to a larger
//! buffer of its own ([`BULK_BUFFER_BYTES`]), freed when it ends: fewer,
//! larger reads and writes made one long transfer over loopback about 1.5
//! times as fast as with the thread's buffer. (Moving the bytes with
//! `splice(2)` through a pipe, as `io::copy` does between a socket and
//! `io::pipe()`, was as fast, but on Linux 6.18 the last pages of a
//! transfer sometimes stayed in the pipe until the connection closed.)
//!
//! Ends are passed on as they come: when one side shuts down its write
//! half, the other side's write half is shut down and the opposite
//! direction carries on (a client may send its request, shut down, and
//! still read the whole response). A failure in either direction (a
//! reset, a write to a closed socket) shuts both sockets down completely,
//! which wakes the other direction's thread, so the connection ends at
//! once on both sides.
//!
//! An [`Idle`] timeout, if one is set, ends a connection on which no byte
//! has moved either way for that long, as a failure does. Each direction
//! blocks in its own read, so each reads with the idle timeout as its read
//! timeout and, woken by it, looks at when a byte last moved either way,
//! which both directions record: a one-way stream (a long download while
//! the client says nothing) keeps the connection alive, and a connection
//! whose only direction left is half-closed is still timed out. A wake-up
//! that finds the connection not yet idle waits the rest of the timeout,
//! so a quiet direction wakes about once per timeout, not per read. Writes
//! wait at most half the timeout, so that a slow reader's progress (a
//! blocking `send` returns only when all is queued) is recorded before the
//! other direction could find the connection idle. Without an idle timeout
//! no timeout is set and nothing is recorded. Bytes already queued in the
//! kernel's socket buffers are not watched: a peer still draining
//! megabytes of them, slower than the idle timeout, after the relay last
//! moved a byte, sees them all, then the end.

use std::fmt;
use std::io;
use std::net::Shutdown;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::backend::BackendStream;
use crate::socket::DuplexSocket;

/// The copy buffer of each direction: large enough that a bulk transfer
/// moves a socket buffer's worth per system call (`io::copy` uses 8 KiB).
pub(crate) const BUFFER_BYTES: usize = 64 * 1024;

/// Reads in a row that fill the whole buffer, after which a direction is
/// taken for a bulk transfer (its sender is ahead of us) and moved to the
/// bulk buffer: 1 MiB. Requests and responses of interactive protocols
/// rarely fill the buffer even once, so they never pay for it.
const BULK_FULL_READS: u32 = 16;

/// The buffer of a bulk transfer: a reader that is behind gets up to this
/// much per system call.
const BULK_BUFFER_BYTES: usize = 4 * 1024 * 1024;

/// How long the first exchange may go on without the backend's reply
/// progressing (and, in all, twice this): long enough for a backend on the
/// same machine or network to answer, short enough that a client that
/// speaks again before the reply (SSH's key exchange) waits unnoticed.
pub(crate) const QUICK_EXCHANGE: Duration = Duration::from_millis(2);

/// The most reply bytes the first exchange forwards: a larger reply is a
/// transfer, which the download's own thread moves with its bulk buffer.
const QUICK_REPLY_BYTES: u64 = BUFFER_BYTES as u64;

/// One end of a forwarded connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Side {
    Client,
    Backend,
}

/// What failed: reading from a side, or writing to it, or the wait for
/// either.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Operation {
    Read,
    Write,
    /// Nothing moved either way for the [`Idle`] timeout.
    Idle,
}

/// Why a direction stopped before its source's end.
#[derive(Debug)]
pub(crate) struct Failure {
    pub(crate) side: Side,
    pub(crate) operation: Operation,
    pub(crate) error: io::Error,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let side = match self.side {
            Side::Client => "client",
            Side::Backend => "backend",
        };
        let operation = match self.operation {
            Operation::Read => "read",
            Operation::Write => "write",
            // Neither side's doing: the error says what happened.
            Operation::Idle => return write!(f, "{}", self.error),
        };
        write!(f, "{side} {operation}: {}", self.error)
    }
}

/// How one direction went: bytes delivered, and the failure that ended
/// it early, if any.
#[derive(Debug)]
pub(crate) struct Flow {
    pub(crate) bytes: u64,
    pub(crate) failure: Option<Failure>,
}

/// Both directions of a forwarded connection.
#[derive(Debug)]
pub(crate) struct Relayed {
    /// Client to backend (the sniffed bytes included, a PROXY header not).
    pub(crate) up: Flow,
    /// Backend to client.
    pub(crate) down: Flow,
}

impl Relayed {
    /// The failure that ended the connection, if one did. An idle
    /// timeout, then a read failure is preferred: it is the cause (a
    /// reset), while the other direction usually fails only at writing to
    /// the same dead socket.
    pub(crate) fn failure(&self) -> Option<&Failure> {
        let (up, down) = (self.up.failure.as_ref(), self.down.failure.as_ref());
        let is = |operation| move |failure: &&Failure| failure.operation == operation;
        let idle = up
            .filter(is(Operation::Idle))
            .or(down.filter(is(Operation::Idle)));
        let read = up
            .filter(is(Operation::Read))
            .or(down.filter(is(Operation::Read)));
        idle.or(read).or(up).or(down)
    }
}

/// What the client side of a connection has ready for the backend before
/// forwarding starts.
pub(crate) struct Opening {
    /// Written to the backend first: a PROXY header, if one is sent, and
    /// the bytes the sniff read.
    pub(crate) bytes: Vec<u8>,
    /// How many of `bytes` came from the client.
    pub(crate) client_bytes: usize,
    /// A read error the sniff hit after those bytes.
    pub(crate) pending_error: Option<io::Error>,
}

/// Writes the opening to the backend: the client bytes it delivered, or
/// the upload's flow if that failed (both sockets are then shut down).
pub(crate) fn send_opening(
    client: &impl DuplexSocket,
    backend: &BackendStream,
    opening: Opening,
) -> Result<u64, Flow> {
    let Opening {
        bytes,
        client_bytes,
        pending_error,
    } = opening;
    if let Err(error) = backend.write_all(&bytes) {
        return Err(abort(
            client,
            backend,
            Side::Backend,
            Operation::Write,
            error,
            0,
        ));
    }
    let sent = client_bytes as u64;
    match pending_error {
        Some(error) => Err(abort(
            client,
            backend,
            Side::Client,
            Operation::Read,
            error,
            sent,
        )),
        None => Ok(sent),
    }
}

/// The idle timeout of one forwarded connection, shared by its two
/// directions: how long it may go with no byte moving either way, and
/// when one last moved.
pub(crate) struct Idle {
    timeout: Duration,
    started: Instant,
    /// When a byte last moved either way, in milliseconds since `started`.
    last_moved: AtomicU64,
}

impl Idle {
    /// The idle timeout of a connection starting now: `timeout`, of at
    /// least a millisecond (a socket timeout cannot be zero).
    pub(crate) fn new(timeout: Duration) -> Idle {
        Idle {
            timeout: timeout.max(Duration::from_millis(1)),
            started: Instant::now(),
            last_moved: AtomicU64::new(0),
        }
    }

    /// Records that bytes moved now.
    fn moved(&self) {
        // A race with the other direction may store a slightly older time
        // last: a millisecond or so of slack on a timeout, no more.
        self.last_moved
            .store(millis(self.started.elapsed()), Ordering::Relaxed);
    }

    /// How much longer the connection may stay idle; `None`: it has been
    /// idle for its timeout.
    fn left(&self) -> Option<Duration> {
        let idle_for =
            millis(self.started.elapsed()).saturating_sub(self.last_moved.load(Ordering::Relaxed));
        match millis(self.timeout).saturating_sub(idle_for) {
            0 => None,
            left => Some(Duration::from_millis(left)),
        }
    }

    /// How long a write may wait for the peer to make room: half the idle
    /// timeout, so that a slow peer's progress is recorded before the
    /// other direction's wake-up could find the connection idle.
    fn write_timeout(&self) -> Duration {
        (self.timeout / 2).max(Duration::from_millis(1))
    }
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

/// How the first exchange ended.
pub(crate) enum FirstExchange {
    /// The download is over: the backend ended its reply (and the end was
    /// passed on), or failed.
    Done(Flow),
    /// The reply goes on: the download continues from here.
    GoesOn(Resume),
}

/// Where a download that the first exchange began resumes.
#[derive(Default)]
pub(crate) struct Resume {
    /// Reply bytes delivered to the client so far.
    bytes: u64,
    /// Reply bytes read and not yet delivered: a write to the client
    /// that made no progress for a while.
    unsent: Vec<u8>,
}

impl Resume {
    /// Reply bytes delivered so far.
    pub(crate) fn bytes(&self) -> u64 {
        self.bytes
    }
}

/// Forwards the backend's reply to the client on this thread for as long
/// as it is small and quick; see the module's documentation. Leaves the
/// backend's read timeout and the client's write timeout as the download
/// needs them: those of `idle`, if set, else none.
pub(crate) fn first_exchange(
    client: &impl DuplexSocket,
    backend: &BackendStream,
    buffer: &mut [u8],
    idle: Option<&Idle>,
) -> FirstExchange {
    let quick = Some(QUICK_EXCHANGE);
    if backend.set_read_timeout(quick).is_err() || client.set_write_timeout(quick).is_err() {
        return finish_exchange(
            client,
            backend,
            idle,
            FirstExchange::GoesOn(Resume::default()),
        );
    }
    let started = Instant::now();
    let mut bytes = 0u64;
    let exchange = loop {
        if bytes >= QUICK_REPLY_BYTES || started.elapsed() >= QUICK_EXCHANGE {
            break FirstExchange::GoesOn(Resume {
                bytes,
                unsent: Vec::new(),
            });
        }
        let read = match backend.read_some(buffer) {
            Ok(0) => {
                let _ = client.shutdown(Shutdown::Write);
                break FirstExchange::Done(Flow {
                    bytes,
                    failure: None,
                });
            }
            Ok(read) => read,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
            Err(error) if is_timeout(&error) => {
                break FirstExchange::GoesOn(Resume {
                    bytes,
                    unsent: Vec::new(),
                })
            }
            Err(error) => {
                let flow = abort(
                    backend,
                    client,
                    Side::Backend,
                    Operation::Read,
                    error,
                    bytes,
                );
                break FirstExchange::Done(flow);
            }
        };
        if let Some(idle) = idle {
            idle.moved();
        }
        let mut written = 0;
        while written < read {
            match client.write_some(&buffer[written..read]) {
                Ok(count) if count > 0 => {
                    written += count;
                    bytes += count as u64;
                }
                Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                Err(error) if is_timeout(&error) => {
                    let unsent = buffer[written..read].to_vec();
                    let resume = Resume { bytes, unsent };
                    return finish_exchange(client, backend, idle, FirstExchange::GoesOn(resume));
                }
                failed => {
                    let error = failed
                        .err()
                        .unwrap_or_else(|| io::ErrorKind::WriteZero.into());
                    let flow = abort(
                        client,
                        backend,
                        Side::Client,
                        Operation::Write,
                        error,
                        bytes,
                    );
                    return finish_exchange(client, backend, idle, FirstExchange::Done(flow));
                }
            }
        }
    };
    finish_exchange(client, backend, idle, exchange)
}

/// Replaces the first exchange's timeouts with the download's. If that
/// fails, the copies could not wait as they must: the connection is
/// aborted.
fn finish_exchange(
    client: &impl DuplexSocket,
    backend: &BackendStream,
    idle: Option<&Idle>,
    exchange: FirstExchange,
) -> FirstExchange {
    let reset = backend
        .set_read_timeout(idle.map(|idle| idle.timeout))
        .and_then(|()| client.set_write_timeout(idle.map(Idle::write_timeout)));
    match (reset, exchange) {
        (Err(error), FirstExchange::GoesOn(resume)) => FirstExchange::Done(abort(
            backend,
            client,
            Side::Backend,
            Operation::Read,
            error,
            resume.bytes,
        )),
        (_, exchange) => exchange,
    }
}

fn is_timeout(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

/// The client-to-backend direction after the opening (`sent` bytes of
/// it from the client), until the client's end or a failure.
pub(crate) fn upload(
    client: &impl DuplexSocket,
    backend: &BackendStream,
    sent: u64,
    buffer: &mut [u8],
    idle: Option<&Idle>,
) -> Flow {
    if let Some(idle) = idle {
        let timeouts = client
            .set_read_timeout(Some(idle.timeout))
            .and_then(|()| backend.set_write_timeout(Some(idle.write_timeout())));
        if let Err(error) = timeouts {
            return abort(client, backend, Side::Client, Operation::Read, error, sent);
        }
    }
    copy(
        client,
        Side::Client,
        backend,
        Side::Backend,
        sent,
        buffer,
        idle,
    )
}

/// The backend-to-client direction from where the first exchange left
/// it (and with the timeouts it set), until the backend's end or a
/// failure.
pub(crate) fn download(
    client: &impl DuplexSocket,
    backend: &BackendStream,
    resume: Resume,
    buffer: &mut [u8],
    idle: Option<&Idle>,
) -> Flow {
    let Resume { mut bytes, unsent } = resume;
    if !unsent.is_empty() {
        if let Err(stop) = send(client, &unsent, idle) {
            return stop.flow(client, backend, Side::Client, bytes);
        }
        bytes += unsent.len() as u64;
    }
    copy(
        backend,
        Side::Backend,
        client,
        Side::Client,
        bytes,
        buffer,
        idle,
    )
}

/// Copies `from` to `to` until `from` ends, then shuts down `to`'s write
/// half; `bytes` counts what was already sent. With an idle timeout,
/// `from`'s read timeout and `to`'s write timeout are already `idle`'s.
fn copy(
    from: &impl DuplexSocket,
    from_side: Side,
    to: &impl DuplexSocket,
    to_side: Side,
    mut bytes: u64,
    buffer: &mut [u8],
    idle: Option<&Idle>,
) -> Flow {
    let mut bulk_buffer: Option<Vec<u8>> = None;
    let mut full_reads = 0;
    // Set while `from`'s read timeout is what was left of the idle
    // timeout at a wake-up, until the next read restores the whole.
    let mut read_timeout_shortened = false;
    loop {
        let buffer = match &mut bulk_buffer {
            Some(bulk) => bulk.as_mut_slice(),
            None => &mut *buffer,
        };
        let read = match from.read_some(buffer) {
            Ok(0) => break,
            Ok(read) => read,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
            Err(error) => match idle.filter(|_| is_timeout(&error)) {
                Some(idle) => match idle.left() {
                    None => return Stop::Idle(idle.timeout).flow(from, to, from_side, bytes),
                    Some(left) => {
                        if let Err(error) = from.set_read_timeout(Some(left)) {
                            return abort(from, to, from_side, Operation::Read, error, bytes);
                        }
                        read_timeout_shortened = true;
                        continue;
                    }
                },
                None => return abort(from, to, from_side, Operation::Read, error, bytes),
            },
        };
        if let Some(idle) = idle {
            idle.moved();
            if read_timeout_shortened {
                if let Err(error) = from.set_read_timeout(Some(idle.timeout)) {
                    return abort(from, to, from_side, Operation::Read, error, bytes);
                }
                read_timeout_shortened = false;
            }
        }
        if let Err(stop) = send(to, &buffer[..read], idle) {
            return stop.flow(from, to, to_side, bytes);
        }
        bytes += read as u64;
        full_reads = if read == buffer.len() {
            full_reads + 1
        } else {
            0
        };
        if full_reads == BULK_FULL_READS && bulk_buffer.is_none() {
            bulk_buffer = Some(vec![0; BULK_BUFFER_BYTES]);
        }
    }
    // The peer reads the end, and may still answer: a half-close. If `to`
    // is already gone there is nobody to tell, so the error is moot.
    let _ = to.shutdown(Shutdown::Write);
    Flow {
        bytes,
        failure: None,
    }
}

/// Why a write stopped short.
enum Stop {
    /// Nothing moved either way for this idle timeout.
    Idle(Duration),
    Failed(io::Error),
}

impl Stop {
    /// Ends the connection on both sides, as [`abort`] does; `side` is
    /// the one being written to, or read from.
    fn flow(
        self,
        one: &impl DuplexSocket,
        other: &impl DuplexSocket,
        side: Side,
        bytes: u64,
    ) -> Flow {
        match self {
            Stop::Idle(timeout) => {
                let why = format!("nothing moved either way for {} ms", timeout.as_millis());
                let error = io::Error::new(io::ErrorKind::TimedOut, why);
                abort(one, other, side, Operation::Idle, error, bytes)
            }
            Stop::Failed(error) => abort(one, other, side, Operation::Write, error, bytes),
        }
    }
}

/// Writes all of `bytes`; with an idle timeout, records each write's
/// progress, and stops once the connection has been idle for it.
fn send(to: &impl DuplexSocket, mut bytes: &[u8], idle: Option<&Idle>) -> Result<(), Stop> {
    let Some(idle) = idle else {
        return to.write_all(bytes).map_err(Stop::Failed);
    };
    let most = to.timed_write_bytes();
    while !bytes.is_empty() {
        match to.write_some(&bytes[..bytes.len().min(most)]) {
            Ok(0) => return Err(Stop::Failed(io::ErrorKind::WriteZero.into())),
            Ok(written) => {
                idle.moved();
                bytes = &bytes[written..];
            }
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            Err(error) if is_timeout(&error) => {
                if idle.left().is_none() {
                    return Err(Stop::Idle(idle.timeout));
                }
            }
            Err(error) => return Err(Stop::Failed(error)),
        }
    }
    Ok(())
}

/// Ends a broken connection on both sides: shutting both sockets down
/// also wakes the other direction's thread from its blocking read.
fn abort(
    one: &impl DuplexSocket,
    other: &impl DuplexSocket,
    side: Side,
    operation: Operation,
    error: io::Error,
    bytes: u64,
) -> Flow {
    // Either may already be shut down; there is nothing more to do then.
    let _ = one.shutdown(Shutdown::Both);
    let _ = other.shutdown(Shutdown::Both);
    Flow {
        bytes,
        failure: Some(Failure {
            side,
            operation,
            error,
        }),
    }
}

#[cfg(test)]
mod tests;
