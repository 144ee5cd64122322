//! Forwarding: copies a connection's bytes both ways between the client
//! and its backend, until each side has closed.
//!
//! One thread per direction, each blocking on its own socket reads:
//! [`upload`] copies client to backend (after the sniffed bytes, which go
//! first), [`download`] backend to client. Each runs with its thread's
//! [`BUFFER_BYTES`] buffer; nothing is shared between them but the two
//! sockets, so the copy path takes no lock.
//!
//! A direction that turns out to be a bulk transfer switches to
//! `splice(2)` through a pipe (see [`crate::socket`]), with a second
//! thread emptying the pipe: the bytes then never pass through user
//! space, which made one long transfer over loopback about 1.5 times as
//! fast as copying it through the buffer.
//!
//! Ends are passed on as they come: when one side shuts down its write
//! half, the other side's write half is shut down and the opposite
//! direction carries on (a client may send its request, shut down, and
//! still read the whole response). A failure in either direction (a
//! reset, a write to a closed socket) shuts both sockets down completely,
//! which wakes the other direction's thread, so the connection ends at
//! once on both sides.

use std::fmt;
use std::io;
use std::net::{Shutdown, TcpStream};
use std::thread;

use crate::backend::BackendStream;
use crate::socket::DuplexSocket;

/// The copy buffer of each direction: large enough that a bulk transfer
/// moves a socket buffer's worth per system call (`io::copy` uses 8 KiB).
pub(crate) const BUFFER_BYTES: usize = 64 * 1024;

/// Reads in a row that fill the whole buffer, after which a direction is
/// taken for a bulk transfer (its sender is ahead of us) and moved to
/// `splice`: 1 MiB. Requests and responses of interactive protocols
/// rarely fill the buffer even once, so they never pay for the pipe and
/// the extra thread.
const BULK_FULL_READS: u32 = 16;

/// How many bytes the pipe-emptying thread moves between two updates of
/// its count (which an error can lose, at most this many bytes of it).
const SPLICE_COUNT_STEP: u64 = 1 << 20;

/// The stack of the pipe-emptying thread, which needs no buffer.
const DRAIN_STACK_BYTES: usize = 128 * 1024;

/// One end of a forwarded connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Side {
    Client,
    Backend,
}

/// What failed: reading from a side, or writing to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Operation {
    Read,
    Write,
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
    /// The failure that ended the connection, if one did. A read failure
    /// is preferred: it is the cause (a reset), while the other direction
    /// usually fails only at writing to the same dead socket.
    pub(crate) fn failure(&self) -> Option<&Failure> {
        let (up, down) = (self.up.failure.as_ref(), self.down.failure.as_ref());
        let is_read = |failure: &&Failure| failure.operation == Operation::Read;
        up.filter(is_read).or(down.filter(is_read)).or(up).or(down)
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

/// The client-to-backend direction: the opening bytes, then the copy,
/// until the client's end or a failure.
pub(crate) fn upload(
    client: &TcpStream,
    backend: &BackendStream,
    opening: Opening,
    buffer: &mut [u8],
) -> Flow {
    let Opening {
        bytes,
        client_bytes,
        pending_error,
    } = opening;
    if let Err(error) = backend.write_all(&bytes) {
        return abort(client, backend, Side::Backend, Operation::Write, error, 0);
    }
    drop(bytes);
    let sent = client_bytes as u64;
    if let Some(error) = pending_error {
        return abort(client, backend, Side::Client, Operation::Read, error, sent);
    }
    copy(client, Side::Client, backend, Side::Backend, sent, buffer)
}

/// The backend-to-client direction, until the backend's end or a
/// failure.
pub(crate) fn download(client: &TcpStream, backend: &BackendStream, buffer: &mut [u8]) -> Flow {
    copy(backend, Side::Backend, client, Side::Client, 0, buffer)
}

/// Copies `from` to `to` until `from` ends, then shuts down `to`'s write
/// half; `bytes` counts what was already sent.
fn copy(
    from: &impl DuplexSocket,
    from_side: Side,
    to: &impl DuplexSocket,
    to_side: Side,
    mut bytes: u64,
    buffer: &mut [u8],
) -> Flow {
    let mut full_reads = 0;
    let mut may_splice = true;
    loop {
        let read = match from.read_some(buffer) {
            Ok(0) => break,
            Ok(read) => read,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
            Err(error) => return abort(from, to, from_side, Operation::Read, error, bytes),
        };
        if let Err(error) = to.write_all(&buffer[..read]) {
            return abort(from, to, to_side, Operation::Write, error, bytes);
        }
        bytes += read as u64;
        full_reads = if read == buffer.len() {
            full_reads + 1
        } else {
            0
        };
        if may_splice && full_reads >= BULK_FULL_READS {
            match splice_rest(from, from_side, to, to_side, bytes) {
                Some(flow) => return flow,
                None => may_splice = false,
            }
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

/// Forwards the rest of a direction through a pipe with `splice`: this
/// thread fills the pipe from `from` while a second one empties it into
/// `to`. `None`, with nothing moved, if no pipe or thread could be had.
fn splice_rest(
    from: &impl DuplexSocket,
    from_side: Side,
    to: &impl DuplexSocket,
    to_side: Side,
    bytes: u64,
) -> Option<Flow> {
    let (mut pipe_out, mut pipe_in) = io::pipe().ok()?;
    thread::scope(|scope| {
        let drain = thread::Builder::new()
            .name("portshare splice".into())
            .stack_size(DRAIN_STACK_BYTES)
            .spawn_scoped(scope, move || drain_pipe(&mut pipe_out, to, from))
            .ok()?;
        let filled = from.receive_into(&mut pipe_in);
        // The drain reads the end of the pipe once it has sent the rest.
        drop(pipe_in);
        let (sent, drained) = drain
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        let bytes = bytes + sent;
        // A failure to send is the cause when both fail: the fill then
        // only saw the pipe close behind the failed drain.
        Some(match (drained, filled) {
            (Err(error), _) => abort(from, to, to_side, Operation::Write, error, bytes),
            (Ok(()), Err(error)) => abort(from, to, from_side, Operation::Read, error, bytes),
            (Ok(()), Ok(_)) => {
                let _ = to.shutdown(Shutdown::Write);
                Flow {
                    bytes,
                    failure: None,
                }
            }
        })
    })
}

/// Sends everything from `pipe` to `to` until the pipe ends; returns the
/// bytes sent and how it ended. On a failure it shuts both sockets down,
/// which stops the thread filling the pipe from `from`.
fn drain_pipe(
    pipe: &mut impl io::Read,
    to: &impl DuplexSocket,
    from: &impl DuplexSocket,
) -> (u64, io::Result<()>) {
    let mut sent = 0;
    loop {
        match to.send_from(pipe, SPLICE_COUNT_STEP) {
            Ok(0) => return (sent, Ok(())),
            Ok(step) => sent += step,
            Err(error) => {
                let _ = to.shutdown(Shutdown::Both);
                let _ = from.shutdown(Shutdown::Both);
                return (sent, Err(error));
            }
        }
    }
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
