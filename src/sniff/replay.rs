//! The replay buffer: the bytes a sniff read, handed to the handler first.
//!
//! A sniff reads bytes until the routes decide, then the connection moves
//! to a handler that must see those bytes exactly once, in order, followed
//! by what the sniff saw after them: nothing (the client is still sending),
//! an end of stream, or an error. This module is that small state machine,
//! kept apart from sockets so it can be tested byte by byte.

use std::io;
use std::ops::Range;

use crate::sniff::buffer;

/// How the client's stream ended during the sniff, if it did.
#[derive(Debug)]
pub(crate) enum StreamEnd {
    /// The client shut down its sending side.
    Eof,
    /// Reading failed; the handler gets this error after the bytes.
    Error(io::Error),
}

/// The sniffed bytes not yet read, and the end that follows them.
///
/// The bytes may sit in a sniff buffer larger than they are; dropping the
/// replay gives that buffer to the dropping thread for its next sniff.
#[derive(Debug)]
pub(crate) struct Replay {
    buffer: Vec<u8>,
    /// Where the sniffed bytes are in `buffer`.
    sniffed: Range<usize>,
    /// The next byte to read, an index into `buffer`.
    position: usize,
    end: Option<StreamEnd>,
}

impl Replay {
    /// A replay of `bytes`, followed by `end` if the stream ended.
    pub(crate) fn new(bytes: Vec<u8>, end: Option<StreamEnd>) -> Self {
        Replay {
            sniffed: 0..bytes.len(),
            buffer: bytes,
            position: 0,
            end,
        }
    }

    /// A replay of the bytes at `sniffed` in a sniff's `buffer`: the
    /// buffer itself when they fill at least half of it, otherwise a copy
    /// (and the buffer goes back to this thread for its next sniff).
    // Always inlined: passed through memory, the buffer is stored in one
    // shape and loaded in another, and the CPU stalls on the reload
    // (`perf annotate` on the dispatch bench: inlining took ~10 ns off a
    // dispatched connection).
    #[inline(always)]
    pub(crate) fn from_sniff(
        buffer: Vec<u8>,
        sniffed: Range<usize>,
        end: Option<StreamEnd>,
    ) -> Self {
        if buffer::worth_handing_over(sniffed.len(), buffer.len()) {
            return Replay {
                position: sniffed.start,
                sniffed,
                buffer,
                end,
            };
        }
        let bytes = buffer.get(sniffed).unwrap_or_default().to_vec();
        buffer::give_back(buffer);
        Replay::new(bytes, end)
    }

    /// Serves one read from the replay: `Some` with the result, or `None`
    /// once the bytes and the end have all been delivered, meaning further
    /// reads go to the connection itself.
    ///
    /// A read never mixes replayed bytes with an end: the bytes come in one
    /// or more reads, then `Ok(0)` or the error in the next one. A zero-length
    /// read returns `Ok(0)` and consumes nothing.
    pub(crate) fn read(&mut self, buf: &mut [u8]) -> Option<io::Result<usize>> {
        let unread = self.unread();
        if !unread.is_empty() || (self.end.is_some() && buf.is_empty()) {
            let count = unread.len().min(buf.len());
            buf[..count].copy_from_slice(&self.unread()[..count]);
            self.position += count;
            return Some(Ok(count));
        }
        match self.end.take()? {
            StreamEnd::Eof => Some(Ok(0)),
            StreamEnd::Error(error) => Some(Err(error)),
        }
    }

    /// What [`read`](Self::read) would serve now, without consuming it: the
    /// next unread bytes, then the end (as a copy of the error: its kind
    /// and message, since `io::Error` is not `Clone`), then `None`.
    pub(crate) fn peek(&self, buf: &mut [u8]) -> Option<io::Result<usize>> {
        let unread = self.unread();
        if !unread.is_empty() || (self.end.is_some() && buf.is_empty()) {
            let count = unread.len().min(buf.len());
            buf[..count].copy_from_slice(&unread[..count]);
            return Some(Ok(count));
        }
        match self.end.as_ref()? {
            StreamEnd::Eof => Some(Ok(0)),
            StreamEnd::Error(error) => Some(Err(io::Error::new(error.kind(), error.to_string()))),
        }
    }

    /// The bytes not yet read.
    pub(crate) fn unread(&self) -> &[u8] {
        &self.buffer[self.position..self.sniffed.end]
    }

    /// Every sniffed byte, read or not: what the routes judged.
    pub(crate) fn sniffed(&self) -> &[u8] {
        &self.buffer[self.sniffed.clone()]
    }

    /// Takes the unread bytes and the pending error out; an end of stream
    /// is left to the connection, which reports it again on its next read.
    pub(crate) fn into_parts(mut self) -> (Vec<u8>, Option<io::Error>) {
        let mut bytes = std::mem::take(&mut self.buffer);
        bytes.truncate(self.sniffed.end);
        bytes.drain(..self.position);
        let pending_error = match self.end.take() {
            Some(StreamEnd::Error(error)) => Some(error),
            Some(StreamEnd::Eof) | None => None,
        };
        (bytes, pending_error)
    }
}

impl Drop for Replay {
    fn drop(&mut self) {
        buffer::give_back(std::mem::take(&mut self.buffer));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_all(replay: &mut Replay, chunk: usize) -> (Vec<u8>, Option<io::Result<usize>>) {
        let mut got = Vec::new();
        let mut buf = vec![0u8; chunk];
        loop {
            match replay.read(&mut buf) {
                Some(Ok(n)) if n > 0 => got.extend_from_slice(&buf[..n]),
                other => return (got, other),
            }
        }
    }

    #[test]
    fn bytes_then_nothing() {
        let mut replay = Replay::new(b"hello".to_vec(), None);
        let (got, after) = read_all(&mut replay, 2);
        assert_eq!(got, b"hello");
        assert!(after.is_none());
        assert_eq!(replay.sniffed(), b"hello", "kept for inspection");
    }

    #[test]
    fn bytes_then_eof_once() {
        let mut replay = Replay::new(b"abc".to_vec(), Some(StreamEnd::Eof));
        let (got, after) = read_all(&mut replay, 10);
        assert_eq!(got, b"abc");
        assert_eq!(after.unwrap().unwrap(), 0);
        assert!(replay.read(&mut [0u8; 4]).is_none());
    }

    #[test]
    fn bytes_then_error_never_early() {
        let error = io::Error::new(io::ErrorKind::ConnectionReset, "reset");
        let mut replay = Replay::new(b"xy".to_vec(), Some(StreamEnd::Error(error)));
        assert_eq!(replay.read(&mut []).unwrap().unwrap(), 0);
        let mut one = [0u8; 1];
        assert_eq!(replay.read(&mut one).unwrap().unwrap(), 1);
        assert_eq!(replay.read(&mut one).unwrap().unwrap(), 1);
        assert_eq!(replay.read(&mut []).unwrap().unwrap(), 0);
        let failed = replay.read(&mut one).unwrap().unwrap_err();
        assert_eq!(failed.kind(), io::ErrorKind::ConnectionReset);
        assert!(replay.read(&mut one).is_none());
    }

    #[test]
    fn peek_shows_what_read_serves_next_and_consumes_nothing() {
        let error = io::Error::new(io::ErrorKind::ConnectionReset, "reset");
        let mut replay = Replay::new(b"abc".to_vec(), Some(StreamEnd::Error(error)));
        let mut two = [0u8; 2];
        assert_eq!(replay.peek(&mut two).unwrap().unwrap(), 2);
        assert_eq!(&two, b"ab");
        assert_eq!(replay.peek(&mut []).unwrap().unwrap(), 0);
        let (got, _) = read_all(&mut replay, 8);
        assert_eq!(got, b"abc", "the peek consumed nothing");
        let replay = Replay::new(b"x".to_vec(), Some(StreamEnd::Eof));
        let mut one = [0u8; 1];
        assert_eq!(replay.peek(&mut one).unwrap().unwrap(), 1);
        let mut replay = Replay::new(Vec::new(), None);
        assert!(replay.peek(&mut one).is_none());
        assert!(replay.read(&mut one).is_none());
    }

    #[test]
    fn peek_at_the_end_reports_it_and_leaves_it_for_the_read() {
        let error = io::Error::new(io::ErrorKind::ConnectionReset, "reset by peer");
        let mut replay = Replay::new(Vec::new(), Some(StreamEnd::Error(error)));
        let mut one = [0u8; 1];
        let peeked = replay.peek(&mut one).unwrap().unwrap_err();
        assert_eq!(
            (peeked.kind(), peeked.to_string()),
            (io::ErrorKind::ConnectionReset, "reset by peer".to_string())
        );
        let read = replay.read(&mut one).unwrap().unwrap_err();
        assert_eq!(read.kind(), io::ErrorKind::ConnectionReset);
        assert!(replay.peek(&mut one).is_none());
        let replay = Replay::new(Vec::new(), Some(StreamEnd::Eof));
        assert_eq!(replay.peek(&mut one).unwrap().unwrap(), 0);
    }

    #[test]
    fn into_parts_returns_what_is_left() {
        let error = io::Error::new(io::ErrorKind::ConnectionReset, "reset");
        let mut replay = Replay::new(b"abcdef".to_vec(), Some(StreamEnd::Error(error)));
        replay.read(&mut [0u8; 2]).unwrap().unwrap();
        assert_eq!(replay.unread(), b"cdef");
        let (unread, pending) = replay.into_parts();
        assert_eq!(unread, b"cdef");
        assert_eq!(pending.unwrap().kind(), io::ErrorKind::ConnectionReset);
        let (unread, pending) = Replay::new(Vec::new(), Some(StreamEnd::Eof)).into_parts();
        assert!(unread.is_empty() && pending.is_none());
    }

    #[test]
    fn a_mostly_full_sniff_buffer_is_handed_over_a_sparse_one_copied() {
        let mut buffer = b"PROXY..hello world".to_vec();
        buffer.resize(22, 0);
        let pointer = buffer.as_ptr();
        let mut replay = Replay::from_sniff(buffer, 7..18, Some(StreamEnd::Eof));
        assert_eq!(
            replay.sniffed().as_ptr(),
            pointer.wrapping_add(7),
            "no copy"
        );
        let (got, after) = read_all(&mut replay, 4);
        assert_eq!(got, b"hello world");
        assert_eq!(after.unwrap().unwrap(), 0);
        let replay = Replay::from_sniff(vec![b'x'; 64], 0..3, None);
        assert_eq!(replay.sniffed(), b"xxx");
        let (unread, _) = replay.into_parts();
        assert_eq!(unread.capacity(), 3, "a copy of the bytes alone");
        assert_eq!(buffer::take().len(), 64, "the buffer went back");
        let mut replay = Replay::from_sniff(b"abcdef".to_vec(), 1..5, None);
        replay.read(&mut [0u8; 1]).unwrap().unwrap();
        assert_eq!(replay.into_parts().0, b"cde");
    }
}
